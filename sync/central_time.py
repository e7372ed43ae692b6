"""Times as the store hands them out. SQLite gives back the naive UTC datetimes it stored;
PostgreSQL gives back aware ones. Everything the store compares or shows goes through here,
so both databases read the same."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """The same instant with a time zone: a naive value is UTC, as the store wrote it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """An ISO 8601 UTC time for a program to read, or None."""
    return aware(value).isoformat() if value is not None else None


def clock_words(seconds: int) -> str:
    """A clock difference as a person says it: "3 days ahead", "12 minutes behind"."""
    direction = "ahead of" if seconds > 0 else "behind"
    size = abs(seconds)
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if size >= length:
            count = size // length
            return f"{count} {unit}{'s' if count != 1 else ''} {direction}"
    return f"{size} seconds {direction}"
