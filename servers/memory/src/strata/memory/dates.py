"""Dates a question names ("on October 13, 2023", "in July 2023", "in June", "in 2022"), and dates it names
relative to now ("yesterday", "last week", "last May", "two weeks ago"), as windows that recall lifts the
memories inside of: a question about what happened on a day is about the memories of that day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["DateWindow", "DaySpan", "date_windows", "spoken_date"]

# English whatever the locale: what questions are read in, and what memories are indexed with (spoken_date).
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")  # fmt: skip
_MONTHS = {name.lower(): number for number, name in enumerate(_MONTH_NAMES, start=1)}
_MONTHS |= {name[:3].lower(): number for number, name in enumerate(_MONTH_NAMES, start=1)}
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


def spoken_date(when: datetime) -> str:
    """``when`` as people write a day ("8 May 2023"): what a memory is indexed with, so that a question naming
    the day finds it by its words."""
    return f"{when.day} {_MONTH_NAMES[when.month - 1]} {when.year}"


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


@dataclass(frozen=True)
class DaySpan:
    """The days from ``first`` to ``last``, both included."""

    first: date
    last: date

    def holds(self, when: datetime) -> bool:
        return self.first <= when.date() <= self.last


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10, "a couple of": 2, "a few": 3}  # fmt: skip
_COUNT = r"(?P<count>\d{1,3}|" + "|".join(sorted(_COUNTS, key=len, reverse=True)) + ")"
_RELATIVE = (
    re.compile(r"\b(?P<word>today|yesterday)\b", re.IGNORECASE),
    re.compile(r"\b(?P<which>this|last|past)\s+(?P<unit>week|month|year)\b", re.IGNORECASE),
    re.compile(rf"\blast\s+{_MONTH}\b", re.IGNORECASE),
    re.compile(r"\blast\s+(?P<weekday>" + "|".join(_WEEKDAYS) + r")\b", re.IGNORECASE),
    re.compile(rf"\b{_COUNT}\s+(?P<unit>day|week|month|year)s?\s+ago\b", re.IGNORECASE),
)
Window = DateWindow | DaySpan


def date_windows(question: str, now: datetime | None = None) -> list[Window]:
    """The dates ``question`` names, most precise first, and with ``now`` those it names relative to it; a span
    already matched by a more precise pattern is not read again ("October 2023" inside "October 13, 2023")."""
    taken: list[tuple[int, int]] = []
    found: dict[Window, None] = {}
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
    if now is not None:
        for pattern in _RELATIVE:
            for match in pattern.finditer(question):
                if any(start < match.end() and match.start() < end for start, end in taken):
                    continue
                window = _relative(match.groupdict(), now.date())
                if window is not None:
                    taken.append(match.span())
                    found.setdefault(window, None)
    return list(found)


def _relative(parts: dict[str, str | None], today: date) -> Window | None:
    """The window one relative phrase names, seen from ``today``."""
    if word := parts.get("word"):
        day = today if word.lower() == "today" else today - timedelta(days=1)
        return DaySpan(day, day)
    unit = (parts.get("unit") or "").lower()
    if which := (parts.get("which") or "").lower():
        if which == "past":
            return DaySpan(today - timedelta(days={"week": 7, "month": 31, "year": 366}[unit]), today)
        back = int(which == "last")
        if unit == "week":
            monday = today - timedelta(days=today.weekday()) - timedelta(weeks=back)
            return DaySpan(monday, min(monday + timedelta(days=6), today))
        if unit == "month":
            year, month = (today.year, today.month - 1) if back else (today.year, today.month)
            return DateWindow(year - 1, 12) if month == 0 else DateWindow(year, month)
        return DateWindow(today.year - back)
    if month_word := parts.get("month"):
        if month_word == "may":
            return None  # "the last may be": the verb, unless written as the month
        month = _MONTHS[month_word.lower()]
        return DateWindow(today.year if month < today.month else today.year - 1, month)
    if weekday := parts.get("weekday"):
        days_back = (today.weekday() - _WEEKDAYS.index(weekday.lower())) % 7 or 7
        day = today - timedelta(days=days_back)
        return DaySpan(day, day)
    count = parts.get("count")
    if count is None:
        return None
    n = _COUNTS.get(count.lower()) or int(count)
    if unit == "day":
        day = today - timedelta(days=n)
        return DaySpan(day - timedelta(days=1), day + timedelta(days=1))
    if unit == "week":
        day = today - timedelta(weeks=n)
        return DaySpan(day - timedelta(days=3), day + timedelta(days=3))
    if unit == "month":
        day = today - timedelta(days=round(30.44 * n))
        return DaySpan(day - timedelta(days=15), day + timedelta(days=15))
    return DateWindow(today.year - n)
