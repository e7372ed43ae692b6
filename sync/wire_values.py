"""The values a sync request may carry, checked at the service's door (docs/architecture.md,
"Values at the door"): times, dates, whole numbers, quantities and text. Each is one
annotated type that `sync.protocol` and the supervisor bodies use for every field of that
kind, so nothing behind the door sees a time without its offset, a time or date no database
and no Python can hold, a number read from `true` or `"1_000"`, or text that could drive a
terminal.

The request bodies are validated from the Python values `json.loads` gives (FastAPI does
so), where pydantic's strict mode would refuse a UUID or a time written as text; so each
type says itself what it takes. A handheld builds the same models from its own rows, so
these types also take the Python values it holds (`datetime`, `date`, `Decimal`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from annotated_types import Gt
from pydantic import AfterValidator, BeforeValidator, Strict
from pydantic_core import PydanticCustomError, PydanticKnownError

from scanner.plain_text import character_name, control_character

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest time the store takes. Before any clock a handheld could show: a clock
whose battery ran out reads 1970 (or, as a 32-bit clock, no earlier than December 1901),
and its queue must still go through."""
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""The latest time the store takes. Far past any plant's; far inside what Python (year 9999
at any offset) and PostgreSQL can hold."""

_TIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?",
    re.ASCII,
)
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", re.ASCII)
_DIGITS = re.compile(r"-?[0-9]{1,20}", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")

_TIME_EXAMPLE = "like 2026-11-02T08:30:00Z"
_RANGE = f"{EARLIEST.date()} and {LATEST.date()}"


def _written_time(value: Any) -> Any:
    """A time as RFC 3339 text (or a `datetime`): never a number of seconds."""
    if isinstance(value, datetime) or (isinstance(value, str) and _TIME_TEXT.fullmatch(value)):
        return value
    raise PydanticCustomError("time_text", f"must be a date and time {_TIME_EXAMPLE}")


def _utc_in_range(moment: datetime) -> datetime:
    """The same instant in UTC, if it has an offset and lies in the store's range. The range
    is checked before converting: at the ends of Python's range a conversion overflows."""
    if moment.utcoffset() is None:
        raise PydanticCustomError(
            "time_without_offset", f"must give its offset from UTC, {_TIME_EXAMPLE}"
        )
    if not EARLIEST <= moment <= LATEST:
        raise PydanticCustomError("time_range", f"must be between {_RANGE} (UTC)")
    return moment.astimezone(UTC)


def _written_date(value: Any) -> Any:
    """A date as `YYYY-MM-DD` text (or a `date`): no time, no number of seconds."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        return value
    raise PydanticCustomError("date_text", "must be a date like 2026-11-02")


def _date_in_range(day: date) -> date:
    if not EARLIEST.date() <= day <= LATEST.date():
        raise PydanticCustomError("date_range", f"must be between {_RANGE}")
    return day


def _written_number(value: Any) -> Any:
    """A quantity as a JSON number or as text in ASCII digits (`"12.5"`): not `true`, not
    `"1_000"`, not another script's digits, which Python's `Decimal` would read."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise PydanticCustomError("number_text", "must be a number like 12.5")
    if isinstance(value, str) and not _NUMBER_TEXT.fullmatch(value):
        raise PydanticCustomError("number_text", "must be a number like 12.5")
    return value


MAX_DIGITS = 15
PLACES = 3
"""What a quantity on the wire may have: at most 15 digits, 3 of them after the point. The
store keeps whole thousandths (`scanner.quantity`)."""


def _fits_the_store(value: Decimal) -> Decimal:
    """At most `MAX_DIGITS` digits, `PLACES` of them after the point, judged as pydantic's
    `max_digits` and `decimal_places` judge them (a value passes when it fits as written or
    with its trailing zeros stripped), with the same errors. One check, not pydantic's two,
    and none for a plain quantity: a push checks five hundred."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # pydantic refused NaN and infinity before
    if exponent >= -PLACES and len(digits) + exponent <= MAX_DIGITS - PLACES:
        return value  # at most 3 places and 12 whole digits, as written
    written = _places_and_digits(len(digits), exponent)
    zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    stripped = (
        (0, 1)
        if zeros == len(digits)
        else _places_and_digits(len(digits) - zeros, exponent + zeros)
    )
    if min(written[1], stripped[1]) > MAX_DIGITS:
        raise PydanticKnownError("decimal_max_digits", {"max_digits": MAX_DIGITS})
    if min(written[0], stripped[0]) > PLACES:
        raise PydanticKnownError("decimal_max_places", {"decimal_places": PLACES})
    whole = MAX_DIGITS - PLACES
    if written[1] - written[0] > whole and stripped[1] - stripped[0] > whole:
        raise PydanticKnownError("decimal_whole_digits", {"whole_digits": whole})
    return value


def _places_and_digits(count: int, exponent: int) -> tuple[int, int]:
    """Places after the point and digits in all of `count` digits times 10**`exponent`."""
    if exponent >= 0:
        return 0, count + exponent
    return -exponent, max(count, -exponent)


def _written_whole(value: Any) -> Any:
    """A whole number in a query string: ASCII digits only (pydantic would read `1_000`)."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise PydanticCustomError("whole_text", "must be a whole number")
    return value


def _plain(text: str) -> str:
    """Text that holds no control character (`scanner.plain_text`) and no half of a UTF-16
    pair (`"\\ud800"` in JSON), which no database can store as text. Printable ASCII, nearly
    every value, holds neither, and is answered first: a push checks thousands of values."""
    if text.isascii() and text.isprintable():
        return text
    half = _SURROGATE.search(text)
    if half is not None:
        raise PydanticCustomError(
            "lone_surrogate",
            "holds {code}, half of a UTF-16 pair and no character",
            {"code": f"U+{ord(half.group()):04X}"},
        )
    found = control_character(text)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            "holds {character}, a control character: it takes plain text on one line",
            {"character": character_name(found)},
        )
    return text


Moment = Annotated[datetime, BeforeValidator(_written_time), AfterValidator(_utc_in_range)]
"""A time on the wire: RFC 3339 with an offset, normalised to UTC, within the store's range."""

Day = Annotated[date, BeforeValidator(_written_date), AfterValidator(_date_in_range)]
"""A date on the wire (a lot's expiry), within the store's range."""

Quantity = Annotated[Decimal, BeforeValidator(_written_number), AfterValidator(_fits_the_store)]
"""A quantity on the wire: a JSON number, or ASCII digits as text (what a handheld sends),
of at most 15 digits, 3 after the point."""

PositiveQuantity = Annotated[
    Decimal, BeforeValidator(_written_number), Gt(0), AfterValidator(_fits_the_store)
]
"""A `Quantity` more than 0, which pydantic checks in its own code (as `PLAIN` says)."""


def text_problem(text: str) -> str | None:
    """What `PlainText` says of `text`, if it refuses it."""
    try:
        _plain(text)
    except PydanticCustomError as problem:
        return problem.message()
    return None


PLAIN = AfterValidator(_plain)
"""The check of `PlainText`, for text with a length or a pattern, written after them:
`Annotated[str, StringConstraints(strict=True, max_length=40), PLAIN]`. pydantic then
checks the length in its own code, where `Annotated[PlainText, Field(max_length=40)]` has it
call two Python functions after the check (a pushed movement has three to six such fields).
pydantic cannot measure text that holds half of a UTF-16 pair, and refuses it as
`string_unicode` before the check: `text_problem` says why in the check's words."""

PlainText = Annotated[str, Strict(), PLAIN]
"""Text on the wire: a JSON string with no control character."""

Whole = Annotated[int, Strict()]
"""A whole number on the wire: a JSON integer, never `true`, `1.0` or `"1"`."""

Flag = Annotated[bool, Strict()]
"""`true` or `false`, never 1 or "yes"."""

QueryWhole = Annotated[int, BeforeValidator(_written_whole)]
"""A whole number in a query string."""
