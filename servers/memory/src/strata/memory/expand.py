"""Query expansion for recall's keyword channel: the other words of a synonym group (data/synonyms.toml) join a
question that uses one of them, at a lower weight than the question's own words."""

from __future__ import annotations

import itertools
import re
import tomllib
from functools import cache
from importlib import resources

__all__ = ["EXPANSION_WEIGHT", "expansions"]

EXPANSION_WEIGHT = 0.5  # an added word counts half as much as one the question used
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@cache
def _groups() -> tuple[tuple[str, ...], ...]:
    text = resources.files("strata.memory").joinpath("data", "synonyms.toml").read_text(encoding="utf-8")
    return tuple(tuple(word.lower() for word in group) for group in tomllib.loads(text)["groups"])


@cache
def _index() -> dict[str, tuple[int, ...]]:
    """Word or phrase -> the groups it belongs to."""
    index: dict[str, list[int]] = {}
    for number, group in enumerate(_groups()):
        for member in group:
            index.setdefault(member, []).append(number)
    return {member: tuple(groups) for member, groups in index.items()}


def expansions(query: str) -> list[str]:
    """The synonyms to add to ``query``: every other member of each group one of its words or two-word phrases
    belongs to, in group order, without the words it already has."""
    words = _WORD.findall(query.lower())
    present = set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}
    index = _index()
    groups = sorted({g for term in present for g in index.get(term, ())})
    out: dict[str, None] = {}
    for number in groups:
        for member in _groups()[number]:
            if member not in present:
                out.setdefault(member, None)
    return list(out)
