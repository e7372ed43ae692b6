"""Quantities: exact decimals with up to three places, stored as whole thousandths.

Floating point would let a balance drift away from a replay of the ledger; an integer count of
thousandths sums exactly on SQLite and PostgreSQL alike.
"""

import re
from decimal import Decimal, InvalidOperation

from scanner.errors import RuleViolation

SCALE = 1000
PLACES = Decimal("0.001")
LIMIT = Decimal(10) ** 15
MOST_MOVED = Decimal(10) ** 9
"""The most one movement carries: a billion of anything (units, kilograms, metres) is more
than any scan or pallet on a plant floor."""
MOST_HELD = Decimal(10) ** 12
"""The most one balance (or one job's use of one lot) holds, either way: a thousand full
movements. Kept far below what a column of whole thousandths can hold (about 9.2 * 10**15
units), so no sum of balances or movements that the store and the handheld compute can
overflow 64 bits, and no balance silently becomes a float on SQLite."""


_WRITTEN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
"""A quantity as people type or write one: digits, maybe a point and more digits. Not
`1e3`, `1_000` or another script's digits, which Python's `Decimal` would read."""


def to_quantity(value: Decimal | int | str) -> Decimal:
    """Reads a quantity, refusing anything that is not a number with at most three decimals."""
    if isinstance(value, str) and not _WRITTEN.fullmatch(value.strip()):
        raise RuleViolation(f"{value!r} is not a quantity")
    try:
        qty = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise RuleViolation(f"{value!r} is not a quantity") from None
    if not qty.is_finite():
        raise RuleViolation(f"{value!r} is not a quantity")
    if abs(qty) >= LIMIT:
        raise RuleViolation(f"Quantity {value} is too large")
    if qty != qty.quantize(PLACES):
        raise RuleViolation(f"Quantity {value} has more than three decimal places")
    return _tidy(qty)


def number_shaped(text: str) -> bool:
    """Whether `text` is written as a quantity is, whatever its size or places."""
    return _WRITTEN.fullmatch(text.strip()) is not None


def within_holding(total: Decimal) -> bool:
    """Whether a balance of `total` is one a plant can have (see `MOST_HELD`)."""
    return -MOST_HELD <= total <= MOST_HELD


def _tidy(qty: Decimal) -> Decimal:
    """Drops trailing zeros without switching to exponent notation (10, not 1E+1)."""
    if qty == qty.to_integral_value():
        return qty.quantize(Decimal(1))
    return qty.normalize()


def format_quantity(qty: Decimal) -> str:
    """A quantity as people write it: 12, 2.5, 0.125."""
    return format(_tidy(qty), "f")


def from_stored(thousandths: int) -> Decimal:
    """A quantity from the whole thousandths a column keeps: 2500 is 2.5, 10000 is 10."""
    if thousandths % SCALE == 0:
        return Decimal(thousandths // SCALE)  # most quantities: whole units, quickly
    return (Decimal(thousandths) / SCALE).normalize()


def json_quantity(qty: Decimal) -> int | float:
    """A quantity as a JSON number: an int when whole (12), else a float (2.5).

    Scripts reading the JSON compare and add quantities, so they get numbers, not strings.
    Quantities have at most three decimals, so the float's shortest form prints back as the
    same digits for anything below a trillion units; nothing on a shop floor comes near.
    """
    if qty == qty.to_integral_value():
        return int(qty)
    return float(qty)
