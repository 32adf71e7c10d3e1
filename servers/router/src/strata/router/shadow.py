"""Shadow evaluation: measure a route's answers against another model's on the route's own traffic.

A route with ``[router.routes.<name>.shadow]`` sends a sample of its answered requests, after the client has its
answer, to the shadow model too, and compares the two answers:

- ``exact``: the same text once case and whitespace are normalised (tool calls: same names and arguments);
- ``json``: the same value once both are parsed as JSON (an answer that does not parse disagrees);
- ``embedding``: the local embedder's cosine of the two texts at or above ``threshold``;
- ``judge``: a judge model's verdict on the two answers (prompt: ``prompts/shadow_judge.md``).

Verdicts, both costs and both latencies go to the ledger's ``shadow`` table; :func:`agreement_interval` is what the
quality report shows beside each agreement rate.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from strata.router.types import ChatRequest, Completion

__all__ = ["Verdict", "agreement_interval", "compare", "judge_prompt", "request_kind"]

MAX_SHOWN_CHARS = 8000
MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class Verdict:
    agreed: bool
    detail: str = ""


def judge_prompt() -> str:
    return resources.files("strata.router").joinpath("prompts", "shadow_judge.md").read_text(encoding="utf-8").strip()


def request_kind(request: ChatRequest) -> str:
    """What a request asks for, as the quality report splits it: ``tools``, ``json`` or ``text``."""
    if request.tools:
        return "tools"
    return "json" if request.wants_json else "text"


def _shown(answer: Completion) -> str:
    if answer.tool_calls:
        calls = [(c.get("function") or {}) for c in answer.tool_calls]
        return json.dumps([[c.get("name"), _parsed(c.get("arguments"))] for c in calls], sort_keys=True)
    return answer.text


def _parsed(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _json_value(text: str) -> tuple[bool, Any]:
    stripped = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    try:
        return True, json.loads(stripped)
    except ValueError:
        return False, None


async def compare(
    how: str,
    request: ChatRequest,
    served: Completion,
    shadow: Completion,
    *,
    embed: Callable[[list[str]], Awaitable[list[list[float]]]] | None = None,
    threshold: float = 0.9,
    ask_judge: Callable[[list[dict[str, Any]]], Awaitable[str]] | None = None,
) -> Verdict:
    """Whether the served answer agrees with the shadow model's, by ``how``."""
    left, right = _shown(served), _shown(shadow)
    if how == "exact":
        same = _normal(left) == _normal(right)
        return Verdict(same, "" if same else "the texts differ")
    if how == "json":
        (ok_left, value_left), (ok_right, value_right) = _json_value(left), _json_value(right)
        if not ok_left or not ok_right:
            which = "served" if not ok_left else "shadow"
            return Verdict(False, f"the {which} answer is not JSON")
        same = value_left == value_right
        return Verdict(same, "" if same else "the JSON values differ")
    if how == "embedding":
        assert embed is not None
        first, second = await embed([left[:MAX_SHOWN_CHARS], right[:MAX_SHOWN_CHARS]])
        cosine = sum(a * b for a, b in zip(first, second, strict=True)) / (
            math.sqrt(sum(a * a for a in first)) * math.sqrt(sum(b * b for b in second)) or 1.0
        )
        return Verdict(cosine >= threshold, f"cosine {cosine:.3f} (threshold {threshold})")
    assert ask_judge is not None
    question = next((m.text() for m in reversed(request.messages) if m.role == "user"), "")
    verdict = (
        await ask_judge(
            [
                {"role": "system", "content": judge_prompt()},
                {
                    "role": "user",
                    "content": f"Request:\n{question[:MAX_SHOWN_CHARS]}\n\nAnswer A:\n{left[:MAX_SHOWN_CHARS]}"
                    f"\n\nAnswer B:\n{right[:MAX_SHOWN_CHARS]}",
                },
            ]
        )
    ).strip()
    same = verdict.upper().startswith("SAME")
    return Verdict(same, "" if same else f"judge: {verdict[:MAX_DETAIL_CHARS] or 'no verdict'}")


def agreement_interval(agreed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of an agreement rate of ``agreed`` out of ``n``."""
    if n == 0:
        return 0.0, 1.0
    p = agreed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
