"""The kind of memory a question asks for: "what did we decide about X" wants the ``decision``, "what does she
prefer" the ``preference``, "how did the migration go" the ``outcome``. Recall lifts memories of that kind
(``kind_boost``); a question with no such cue, or a store whose memories are all one kind, ranks as before."""

from __future__ import annotations

import re

__all__ = ["asked_kinds"]

_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "decision",
        re.compile(
            r"\b(?:decid\w*|decision\w*|chose|choose|chosen|choice|pick(?:ed)?|agreed?|settled?|opt(?:ed)?\s+for|"
            r"go(?:ing)?\s+with|went\s+with|ruled?\s+out)\b",
            re.IGNORECASE,
        ),
    ),
    ("preference", re.compile(r"\b(?:prefer\w*|favou?rite|dislikes?|rather)\b", re.IGNORECASE)),
    (
        "outcome",
        re.compile(
            r"\b(?:outcome|result(?:ed|s)?|turn(?:ed)?\s+out|how\s+did\s+(?:\w+\s+){1,4}go|work(?:ed)?\s+out|"
            r"did\s+it\s+work|fixed|resolved|broke|failed)\b",
            re.IGNORECASE,
        ),
    ),
)


def asked_kinds(question: str) -> frozenset[str]:
    """The memory kinds ``question`` asks for, by its words (none when it gives no cue)."""
    return frozenset(kind for kind, cue in _CUES if cue.search(question))
