"""Dates a question names ("on October 13, 2023", "in July 2023", "in June", "in 2022"), as windows that recall
lifts the memories inside of: a question about what happened on a day is about the memories of that day."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime

__all__ = ["DateWindow", "date_windows"]

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_PATTERNS = (
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),  # October 13, 2023
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),  # 13 October 2023
    re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),  # October 2023
    re.compile(rf"\b(?:in|during|since|by|of|early|late|mid)\s+{_MONTH}\b(?!\s+\d)", re.IGNORECASE),  # in June
    re.compile(rf"\b(?:in|during|of)\s+{_YEAR}\b", re.IGNORECASE),  # in 2022
)
_MAY = re.compile(r"\bmay\b", re.IGNORECASE)


@dataclass(frozen=True)
class DateWindow:
    """A day, a month (of one year, or of any year when ``year`` is None) or a year."""

    year: int | None
    month: int | None = None
    day: int | None = None

    def holds(self, when: datetime) -> bool:
        return (
            (self.year is None or when.year == self.year)
            and (self.month is None or when.month == self.month)
            and (self.day is None or when.day == self.day)
        )


def date_windows(question: str) -> list[DateWindow]:
    """The dates ``question`` names, most precise first; a span already matched by a more precise pattern is not
    read again ("October 2023" inside "October 13, 2023")."""
    taken: list[tuple[int, int]] = []
    found: dict[DateWindow, None] = {}
    for pattern in _PATTERNS:
        for match in pattern.finditer(question):
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            parts = match.groupdict()
            month_word = parts.get("month")
            if month_word is not None and _MAY.fullmatch(month_word) and parts.get("year") is None:
                continue  # "in may" is as often the verb as the month
            month = _MONTHS[month_word.lower()] if month_word else None
            day = int(parts["day"]) if parts.get("day") else None
            year = int(parts["year"]) if parts.get("year") else None
            if day is not None and month is not None and year is not None:
                try:
                    datetime(year, month, day)
                except ValueError:
                    continue
            taken.append(match.span())
            found.setdefault(DateWindow(year, month, day), None)
    return list(found)
