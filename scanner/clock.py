"""Time, as every part of lotscan reads it: the clock a ledger or a store takes its times
from (a function, so a test can set it), and the one way a stored time becomes an aware UTC
time. SQLite gives back the naive UTC datetimes it stored; PostgreSQL gives back aware ones:
everything compared, sent or shown goes through `aware`, so both databases read the same."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import overload

Clock = Callable[[], datetime]

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
"""The days a person may ask about (an export's period, say): the store's range of times
(`sync.wire_values`), far inside what Python can count days past."""


def day_range_problem(day: date) -> str | None:
    """What is wrong with `day` as a day to ask about, if anything: beyond the range."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"{day.isoformat()} is not a day lotscan keeps (it keeps {FIRST_DAY} to {LAST_DAY})"


def written_day(text: str) -> date:
    """A day written YYYY-MM-DD, as every door that takes a day says it takes one. Python
    also reads `20261101` and `2026-W44-1`, which a person typing the other form meant
    otherwise; ValueError for anything else."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not written YYYY-MM-DD")
    return date.fromisoformat(text)


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def utc_now() -> datetime:
    return datetime.now(UTC)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
@overload
def aware(moment: datetime | None) -> datetime | None: ...
def aware(moment: datetime | None) -> datetime | None:
    """The same instant in UTC, with its time zone: a naive value is UTC, as it was stored."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """An ISO 8601 UTC time for a program to read, or None."""
    return aware(moment).isoformat() if moment is not None else None


def clock_words(seconds: int) -> str:
    """A clock difference as a person says it: "3 days ahead of", "12 minutes behind"."""
    direction = "ahead of" if seconds > 0 else "behind"
    size = abs(seconds)
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if size >= length:
            count = size // length
            return f"{count} {unit}{'s' if count != 1 else ''} {direction}"
    return f"{size} seconds {direction}"
