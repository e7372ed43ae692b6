"""Lot and serial numbers: filling a range, minting new ones from a pattern (checking one is
`scanner.movement_rules.check_number`, kept here too for its callers).

A number goes on GS1 labels as (10) or (21): 1 to 20 characters of GS1 character set 82.
A range is given by its first and last numbers (`LOT0098`..`LOT0102`); the numbers in it share
everything but the last run of digits, which counts up keeping the first number's width.

Numbers minted without a range come from the part's pattern. Every pattern carries the
device's id and a counter kept in that device's database, so two devices minting offline can
never produce the same number.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.errors import RuleViolation
from scanner.models import Lot, Part, Serial
from scanner.movement_rules import MAX_LENGTH, check_number
from scanner.plain_text import CSET82
from scanner.settings import device_id, number_counter, read_setting, write_setting

__all__ = [
    "CSET82",
    "MAX_LENGTH",
    "check_number",
    "check_pattern",
    "mint_numbers",
    "number_range",
]

DEFAULT_PATTERN = "{device}{yy}{mm}{dd}-{seq:03}"
PATTERN_FIELDS = frozenset({"part", "device", "yy", "yyyy", "mm", "dd", "seq"})

_LAST_DIGITS = re.compile(r"(\d+)(\D*)$")


@dataclass(frozen=True)
class _Split:
    head: str
    digits: str
    tail: str


def _split(number: str) -> _Split:
    match = _LAST_DIGITS.search(number)
    if match is None:
        raise RuleViolation(f"{number} has no digits to count up from")
    return _Split(number[: match.start()], match.group(1), match.group(2))


def number_range(first: str, last: str, expected: int | None = None) -> list[str]:
    """Every number from `first` to `last`: `number_range("A-9", "A-11")` is A-9, A-10, A-11.

    With `expected`, the count must match: the operator is numbering that many containers.
    """
    check_number(first)
    check_number(last)
    start, end = _split(first), _split(last)
    if (start.head, start.tail) != (end.head, end.tail):
        raise RuleViolation(f"{first} and {last} differ in more than their last number")
    low, high = int(start.digits), int(end.digits)
    width = len(start.digits)
    if f"{high:0{width}d}" != end.digits:
        raise RuleViolation(f"{first} and {last} do not share a number format")
    if high < low:
        raise RuleViolation(f"{last} comes before {first}")
    count = high - low + 1
    if expected is not None and count != expected:
        needed = "1 is" if expected == 1 else f"{expected} are"
        raise RuleViolation(f"{first}..{last} is {count} numbers, but {needed} needed")
    numbers = [f"{start.head}{n:0{width}d}{start.tail}" for n in range(low, high + 1)]
    for number in numbers:
        check_number(number)
    return numbers


def check_pattern(pattern: str) -> str:
    """A numbering pattern must carry `{device}` and `{seq}`, so minted numbers never collide."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as error:
        raise RuleViolation(f"Numbering pattern {pattern!r} is malformed: {error}") from None
    unknown = fields - PATTERN_FIELDS
    if unknown:
        raise RuleViolation(
            f"Numbering pattern {pattern!r} has unknown fields: {', '.join(sorted(unknown))}"
            f" (known: {', '.join(sorted(PATTERN_FIELDS))})"
        )
    missing = {"device", "seq"} - fields
    if missing:
        raise RuleViolation(
            f"Numbering pattern {pattern!r} needs {{device}} and {{seq}} so that two handhelds"
            " never mint the same number"
        )
    return pattern


def _render(pattern: str, part: str, device: str, today: date, seq: int) -> str:
    return pattern.format(
        part=part,
        device=device,
        yy=f"{today:%y}",
        yyyy=f"{today:%Y}",
        mm=f"{today:%m}",
        dd=f"{today:%d}",
        seq=seq,
    )


def mint_numbers(
    session: Session, part: Part, count: int, today: date, what: str = "lot"
) -> list[str]:
    """`count` new lot (or serial) numbers for `part` from its pattern, unused in this database.

    The counter is per device and part and only ever goes up; it is kept in the same
    transaction as the movements that use the numbers.
    """
    pattern = check_pattern(part.lot_pattern or DEFAULT_PATTERN)
    device = device_id(session)
    counter = number_counter(what, part.number)
    seq = read_setting(session, counter)
    table = Lot if what == "lot" else Serial
    numbers: list[str] = []
    while len(numbers) < count:
        seq += 1
        number = check_number(_render(pattern, part.number, device, today, seq), what.capitalize())
        taken = session.scalar(
            select(table.number).where(table.part == part.number, table.number == number)
        )
        if taken is None and number not in numbers:
            numbers.append(number)
    write_setting(session, counter, seq)
    return numbers
