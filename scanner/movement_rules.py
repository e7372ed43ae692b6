"""The shape rules of a movement, one set for the handheld's ledger and the central store
(docs/architecture.md, "Ledger rules").

A movement's facts (its kind, part, lot, serial, quantity, locations, reason, the movement
it reverses) either fit these rules or they do not, whatever else the database holds: a
serial is one unit, a lot-tracked part names its lot, a receipt has no source, a move goes
somewhere else. `scanner.ledger.Ledger` raises the first rule its facts break as a
`BrokenMovementRule` and records nothing; the store judges every pushed movement by the
same functions, and applies none that breaks one (`sync.central.evaluate`).

The rules come in two parts, because the store treats them differently:

- `shape_rule`: what no data can make true (a quantity, a lot or serial's characters, a
  serial's one unit, each kind's locations, an adjustment's reason, what a reversal names).
  The store rejects such a movement.
- `tracking_rule`: whether the lot and serial fit the part's tracking. That depends on the
  part as a database has it: the store holds a movement whose part it tracks otherwise, for
  a supervisor to correct the part or void the movement.

Every function here is pure: facts in, the first broken rule (or None) out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from scanner.describing import described
from scanner.errors import RuleViolation
from scanner.models import MovementKind, Tracking
from scanner.plain_text import CSET82, clipped, shown
from scanner.quantity import MOST_MOVED, format_quantity

MAX_LENGTH = 20


@dataclass(frozen=True)
class BrokenRule:
    """A rule a movement's facts break: which rule, the movement's field that breaks it,
    and the words a floor worker reads (the ledger raises them as they are)."""

    rule: str
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Facts:
    """A movement's facts before any ledger holds them (`MovementFacts`)."""

    kind: str
    part: str
    lot: str | None
    serial: str | None
    qty: Decimal
    from_location: str | None
    to_location: str | None
    reason: str | None
    reverses: uuid.UUID | None


class BrokenMovementRule(RuleViolation):
    """The ledger refused a movement for one of these rules (`broken` says which)."""

    def __init__(self, broken: BrokenRule) -> None:
        super().__init__(broken.message)
        self.broken = broken


class MovementFacts(Protocol):
    """What a movement says, as the ledger's rows and the pushed movements both name it."""

    @property
    def kind(self) -> str: ...
    @property
    def part(self) -> str: ...
    @property
    def lot(self) -> str | None: ...
    @property
    def serial(self) -> str | None: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def from_location(self) -> str | None: ...
    @property
    def to_location(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def reverses(self) -> uuid.UUID | None: ...


class PartFacts(Protocol):
    """What the rules read of a part: its tracking and whether a completion backflushes it."""

    @property
    def number(self) -> str: ...
    @property
    def tracking(self) -> str: ...
    @property
    def backflush(self) -> bool: ...


def refuse(broken: BrokenRule | None) -> None:
    """Raises a broken rule for the person holding the scanner; nothing when there is none."""
    if broken is not None:
        raise BrokenMovementRule(broken)


# ---- numbers ------------------------------------------------------------------------------


def number_rule(number: str, what: str = "Lot") -> BrokenRule | None:
    """Whether `number` can go on a GS1 label as a lot or serial: 1 to 20 characters of
    character set 82. `what` is "Lot" or "Serial"."""
    field = what.lower()
    if not number:
        return BrokenRule("number-gs1", field, f"{what} number is empty")
    bad = sorted({c for c in number if c not in CSET82})
    if len(number) > MAX_LENGTH and not bad:
        return BrokenRule(
            "number-gs1",
            field,
            f"{what} number {clipped(number)} is {len(number)} characters; GS1 labels allow"
            f" {MAX_LENGTH}",
        )
    if bad:
        named = " ".join("space" if c == " " else repr(c) for c in bad)
        return BrokenRule(
            "number-gs1",
            field,
            f"{what} number {number!r} has characters a GS1 label cannot carry: {named}",
        )
    return None


def check_number(number: str, what: str = "Lot") -> str:
    """Returns `number` if it can go on a GS1 label as a lot or serial, else says why not."""
    refuse(number_rule(number, what))
    return number


# ---- what no data makes true --------------------------------------------------------------

_ARRIVING = (MovementKind.RECEIVE.value, MovementKind.PRODUCE.value)
_LEAVING = (MovementKind.ISSUE.value, MovementKind.SHIP.value)
_ONE_SIDE = (MovementKind.ADJUST.value, MovementKind.RETURN.value)
_WORDS = {
    MovementKind.RECEIVE.value: "A receipt",
    MovementKind.PRODUCE.value: "A completion",
    MovementKind.ISSUE.value: "An issue",
    MovementKind.SHIP.value: "A shipment",
    MovementKind.ADJUST.value: "An adjustment",
    MovementKind.RETURN.value: "A return",
}


def quantity_rule(qty: Decimal) -> BrokenRule | None:
    if qty <= 0:
        return BrokenRule(
            "quantity-positive",
            "qty",
            f"Quantity must be more than zero, not {format_quantity(qty)}",
        )
    if qty > MOST_MOVED:
        return BrokenRule(
            "quantity-bounded",
            "qty",
            f"Quantity {format_quantity(qty)} is more than one movement carries"
            f" (at most {format_quantity(MOST_MOVED)}): check the quantity",
        )
    return None


def serial_unit_rule(part: str, qty: Decimal, serial: str | None) -> BrokenRule | None:
    """A serial names one unit, whatever the part."""
    if serial is not None and qty != 1:
        return BrokenRule(
            "serial-one-unit", "qty", f"A serial is one unit: {part} quantity must be 1"
        )
    return None


def numbers_rule(lot: str | None, serial: str | None) -> BrokenRule | None:
    if serial is not None and (broken := number_rule(serial, "Serial")) is not None:
        return broken
    return number_rule(lot, "Lot") if lot is not None else None


def places_rule(facts: MovementFacts) -> BrokenRule | None:
    """Each kind's locations (docs/architecture.md, "Movement kinds"): a movement goes
    from a location, to one, or both, as its kind says."""
    source, destination, kind = facts.from_location, facts.to_location, facts.kind
    if source is None and destination is None:
        return BrokenRule(
            "needs-location",
            "to_location",
            "A movement needs a location: where the stock was or went",
        )
    if kind in _ARRIVING and source is not None:
        return BrokenRule(
            "arrives-from-nowhere",
            "from_location",
            f"{_WORDS[kind]} brings stock in: it has no source location, not {source}",
        )
    if kind in _ARRIVING and destination is None:
        return BrokenRule(
            "arrives-somewhere", "to_location", f"{_WORDS[kind]} needs the location it arrives at"
        )
    if kind in _LEAVING and destination is not None:
        return BrokenRule(
            "leaves-to-nowhere",
            "to_location",
            f"{_WORDS[kind]} takes stock away: it has no destination, not {destination}",
        )
    if kind in _LEAVING and source is None:
        return BrokenRule(
            "leaves-from-somewhere",
            "from_location",
            f"{_WORDS[kind]} needs the location it takes from",
        )
    if kind in _ONE_SIDE and source is not None and destination is not None:
        return BrokenRule(
            "one-side",
            "to_location",
            f"{_WORDS[kind]} is at one location, from {source} or to {destination}, not both",
        )
    if kind == MovementKind.MOVE and (source is None or destination is None):
        missing = "from_location" if source is None else "to_location"
        return BrokenRule("move-both-sides", missing, "A move needs where from and where to")
    if kind == MovementKind.MOVE and source == destination:
        return BrokenRule(
            "move-elsewhere",
            "to_location",
            f"{described(facts.part, facts.lot, facts.serial)} is already at {destination}",
        )
    return None


def reason_rule(kind: str, reason: str | None) -> BrokenRule | None:
    if kind == MovementKind.ADJUST and not (reason or "").strip():
        return BrokenRule("adjust-reason", "reason", "An adjustment needs a reason")
    return None


def reverses_rule(kind: str, reverses: uuid.UUID | None) -> BrokenRule | None:
    if kind == MovementKind.REVERSE and reverses is None:
        return BrokenRule(
            "reversal-names-original", "reverses", "A reversal names the movement it reverses"
        )
    if kind != MovementKind.REVERSE and reverses is not None:
        return BrokenRule(
            "only-reversal-reverses", "reverses", f"Only a reversal undoes a movement, not a {kind}"
        )
    return None


def shape_rule(facts: MovementFacts) -> BrokenRule | None:
    """The first rule the facts break whatever the part's data, or None."""
    return (
        quantity_rule(facts.qty)
        or reason_rule(facts.kind, facts.reason)
        or numbers_rule(facts.lot, facts.serial)
        or serial_unit_rule(facts.part, facts.qty, facts.serial)
        or places_rule(facts)
        or reverses_rule(facts.kind, facts.reverses)
    )


# ---- what the part's data decides -----------------------------------------------------------


def lot_names_shipment(kind: str, from_location: str | None, *, lot_control: bool) -> bool:
    """Whether a lot on a part that is not lot-tracked may name the movement
    (docs/architecture.md, "Tracking and quantities"): a shipment on a sales line that asks
    for lot control, a customer's return of it (to a location), and their reversals."""
    return (
        (kind == MovementKind.SHIP and lot_control)
        or (kind == MovementKind.RETURN and from_location is None)
        or kind == MovementKind.REVERSE
    )


def tracking_rule(
    part: PartFacts, lot: str | None, serial: str | None, *, naming_shipment: bool = False
) -> BrokenRule | None:
    """Whether the lot and serial fit the part's tracking: a lot-tracked part names its lot,
    a serial-tracked one its serial, an untracked one neither (but a lot that names a
    shipment, `naming_shipment`)."""
    if part.tracking == Tracking.LOT and lot is None:
        return BrokenRule(
            "lot-needed", "lot", f"{part.number} is lot-tracked: scan or type its lot"
        )
    if part.tracking == Tracking.SERIAL and serial is None:
        return BrokenRule(
            "serial-needed", "serial", f"{part.number} is serial-tracked: scan or type its serial"
        )
    if part.tracking != Tracking.SERIAL and serial is not None:
        return BrokenRule(
            "no-serials", "serial", f"{part.number} is not serial-tracked: it has no serials"
        )
    if part.tracking == Tracking.NONE and lot is not None and not naming_shipment:
        backflush = " a backflush part," if part.backflush else ""
        return BrokenRule(
            "no-lots", "lot", f"{part.number} is{backflush} not lot-tracked: it has no lots"
        )
    return None


def movement_rule(
    facts: MovementFacts, part: PartFacts, *, lot_control: bool = False
) -> BrokenRule | None:
    """The first rule a movement breaks, its shape first, then its part's tracking; None
    when it breaks none. `lot_control`: the movement's sales line asks for lot control."""
    return shape_rule(facts) or tracking_rule(
        part,
        facts.lot,
        facts.serial,
        naming_shipment=lot_names_shipment(
            facts.kind, facts.from_location, lot_control=lot_control
        ),
    )


# ---- a reversal and its original --------------------------------------------------------------

_MIRRORED = ("part", "lot", "serial", "qty", "job", "po", "po_line", "so", "so_line")


class Referencing(MovementFacts, Protocol):
    """A movement with the job and order line it belongs to."""

    @property
    def job(self) -> str | None: ...
    @property
    def po(self) -> str | None: ...
    @property
    def po_line(self) -> int | None: ...
    @property
    def so(self) -> str | None: ...
    @property
    def so_line(self) -> int | None: ...


class Recorded(Referencing, Protocol):
    """A movement already in a ledger, as a reversal's original."""

    @property
    def device_id(self) -> str: ...


def reversal_rule(device: str, original: Recorded) -> BrokenRule | None:
    """Whether `device` may reverse `original`: a device undoes only its own movements, and
    never a reversal."""
    if original.kind == MovementKind.REVERSE:
        return BrokenRule(
            "no-reversal-of-reversal",
            "reverses",
            "A reversal cannot be reversed: record the movement again",
        )
    if original.device_id != device:
        return BrokenRule(
            "reverse-own-movement",
            "reverses",
            f"That {original.kind} was recorded on device {original.device_id}: only that"
            " device may reverse it",
        )
    return None


def mirror_rule(reversal: Referencing, original: Referencing) -> BrokenRule | None:
    """A reversal is its original the other way: the same goods and references, its
    locations swapped."""
    for field in _MIRRORED:
        if getattr(reversal, field) != getattr(original, field):
            return BrokenRule(
                "reversal-mirrors-original",
                field,
                f"A reversal undoes its {original.kind} exactly: its {field} must be"
                f" {_value(getattr(original, field))}, not {_value(getattr(reversal, field))}",
            )
    swapped = (original.to_location, original.from_location)
    if (reversal.from_location, reversal.to_location) != swapped:
        return BrokenRule(
            "reversal-mirrors-original",
            "from_location",
            f"A reversal takes its {original.kind} back: from {_value(swapped[0])} to"
            f" {_value(swapped[1])}",
        )
    return None


def _value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, Decimal):
        return format_quantity(value)
    return shown(str(value))
