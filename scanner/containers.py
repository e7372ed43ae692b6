"""Sharing one line's quantity among its containers, one lot each (RECEIVE, SHIP).

The containers share the quantity as evenly as it allows: in whole units for a part counted
in units, else in thousandths, the odd units going one each to the last containers (10 ea
over 3 containers: 3, 3, 4; 10 kg over 3: 3.333, 3.333, 3.334). The shares always add up
to the whole exactly, so the labels and the ledger agree with what was counted.
"""

from __future__ import annotations

from decimal import Decimal

from scanner.errors import RuleViolation
from scanner.quantity import PLACES, format_quantity, to_quantity

COUNTED_UNITS = frozenset({"ea", "each", "pc", "pcs"})
"""Units that count things: a container holds a whole number of them."""


def smallest_share(qty: Decimal, uom: str) -> Decimal:
    """The least a container may hold: one unit of a part counted in units (a whole
    quantity of it), else a thousandth, the finest a quantity is kept in."""
    if uom.lower() in COUNTED_UNITS and qty == qty.to_integral_value():
        return Decimal(1)
    return PLACES


def most_containers(qty: Decimal, uom: str) -> int:
    """How many containers `qty` can fill with at least `smallest_share` each."""
    return int(qty / smallest_share(qty, uom))


def container_shares(qty: Decimal, containers: int, uom: str) -> list[Decimal]:
    """What each of `containers` containers holds, first to last; they add up to `qty`.
    Refuses a quantity too small to give each container something."""
    step = smallest_share(qty, uom)
    units = int(qty / step)
    if containers < 1 or containers > units:
        raise RuleViolation(
            f"{format_quantity(qty)} {uom} cannot fill {containers} containers: at most {units}"
        )
    each, odd = divmod(units, containers)
    plain = containers - odd  # the first containers hold `each` units, the rest one more
    return [to_quantity(step * (each + (index >= plain))) for index in range(containers)]
