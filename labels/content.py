"""What a label carries, built from the database: lot labels, serial labels, location labels
and assembly labels (a job's pre-assigned lot, printed before it completes); see
docs/architecture.md, "Labels and the print queue".

An item label's barcode data is GS1: the part by (01) GTIN, or by (240) its part number when
it has none (the site's own labels), then (17) expiry, (10) lot or (21) serial, and (30) the
count. A location label carries the site's location prefix and the code (`LOC:A-01`) as
plain Code 128, so a scan of it reads as a location.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from labels.errors import LabelError
from scanner.errors import NotFound, RuleViolation
from scanner.gs1 import Element, GS1Error, check_field
from scanner.models import Job, Location, Lot, Part
from scanner.quantity import format_quantity, to_quantity
from scanner.scan import scan_config
from scanner.spelling import known_lot, known_serial

if TYPE_CHECKING:
    from scanner.workflows.base import LabelDue

MAX_COUNT = 99_999_999
"""The largest count a label's (30) carries: 8 digits."""


class LabelKind(StrEnum):
    LOT = "lot"
    SERIAL = "serial"
    LOCATION = "location"
    ASSEMBLY = "assembly"


@dataclass(frozen=True)
class Label:
    """Everything one label shows. Which fields are set follows from the kind: an item label
    has a part, a location label a location."""

    kind: LabelKind
    part: str | None = None
    description: str | None = None
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    qty: Decimal | None = None
    uom: str | None = None
    job: str | None = None
    location: str | None = None
    location_name: str | None = None
    location_prefix: str = "LOC:"

    @property
    def quantity_text(self) -> str | None:
        if self.qty is None:
            return None
        return f"{format_quantity(self.qty)} {self.uom or ''}".strip()

    def elements(self) -> tuple[Element, ...]:
        """The GS1 element strings of an item label, in print order; none for a location.
        Raises LabelError for data a GS1 barcode cannot carry."""
        if self.kind == LabelKind.LOCATION:
            return ()
        if self.part is None:
            raise LabelError(f"A {self.kind.value} label needs a part")
        found = [_identity(self.part, self.gtin)]
        if self.expiry is not None:
            found.append(_expiry(self.expiry))
        if self.lot is not None and self.kind != LabelKind.SERIAL:
            found.append(check_field("10", self.lot))
        if self.serial is not None:
            found.append(check_field("21", self.serial))
        if self.qty is not None and self.qty == int(self.qty) and 0 < self.qty <= MAX_COUNT:
            # A fractional quantity is a measure, not a count: printed, never put in (30).
            found.append(Element("30", str(int(self.qty))))
        return tuple(found)

    def location_scan(self) -> str | None:
        """What a location label's barcode carries: the site's prefix and the code."""
        if self.kind != LabelKind.LOCATION or self.location is None:
            return None
        return f"{self.location_prefix}{self.location}"


def label_for_lot(
    session: Session,
    part: str,
    lot: str,
    qty: Decimal | int | str | None = None,
    expiry: date | None = None,
) -> Label:
    """A label for one container of a lot. `expiry` may fill in a lot that has none, never
    contradict one it has; `qty` is what the container holds."""
    item = _part(session, part)
    record = known_lot(session, item.number, lot)
    if record is None:
        raise NotFound(f"Unknown lot {lot} of {item.number}")
    if expiry is not None and record.expiry not in (None, expiry):
        raise RuleViolation(
            f"Lot {record.number} of {item.number} expires {record.expiry}, not {expiry}"
        )
    return _checked(
        _item_label(
            LabelKind.LOT,
            item,
            lot=record.number,
            expiry=expiry or record.expiry,
            qty=_label_quantity(qty),
        )
    )


def label_for_serial(session: Session, part: str, serial: str) -> Label:
    """A label for one serialized unit; its lot, if it has one, is printed but not encoded."""
    item = _part(session, part)
    record = known_serial(session, item.number, serial)
    if record is None:
        raise NotFound(f"Unknown serial {serial} of {item.number}")
    lot = session.get(Lot, (item.number, record.lot)) if record.lot else None
    return _checked(
        _item_label(
            LabelKind.SERIAL,
            item,
            lot=record.lot,
            serial=record.number,
            expiry=lot.expiry if lot else None,
        )
    )


def label_for_location(session: Session, code: str) -> Label:
    location = session.get(Location, code)
    if location is None:
        raise NotFound(f"Unknown location {code}")
    return _checked(
        Label(
            LabelKind.LOCATION,
            location=location.code,
            location_name=location.name,
            location_prefix=scan_config(session).location,
        )
    )


def label_for_assembly(session: Session, job: str, lot: str | None = None) -> Label:
    """The label of a job's pre-assigned lot, to travel with the work in process. A job with
    several assigned lots needs `lot` to say which."""
    order = session.get(Job, job)
    if order is None:
        raise NotFound(f"Unknown job {job}")
    assigned = session.scalars(
        select(Lot).where(Lot.assigned_job == order.number).order_by(Lot.number)
    ).all()
    if lot is not None:
        chosen = [each for each in assigned if each.number == lot]
        chosen = chosen or [each for each in assigned if each.number.lower() == lot.lower()]
        if not chosen:
            raise NotFound(f"Lot {lot} is not assigned to job {order.number}")
    elif not assigned:
        raise NotFound(f"Job {order.number} has no lot assigned yet: assign one (CMD:ASSIGN)")
    elif len(assigned) > 1:
        numbers = ", ".join(each.number for each in assigned)
        raise RuleViolation(f"Job {order.number} has lots {numbers}: say which one to label")
    else:
        chosen = list(assigned)
    record = chosen[0]
    item = _part(session, record.part)
    return _checked(
        _item_label(
            LabelKind.ASSEMBLY, item, lot=record.number, expiry=record.expiry, job=order.number
        )
    )


def label_for_due(session: Session, due: LabelDue) -> Label:
    """The label a workflow said is due (`Response.labels`), read from the database with
    the workflow's own quantity and expiry."""
    if due.kind == LabelKind.SERIAL and due.serial is not None:
        return label_for_serial(session, due.part, due.serial)
    if due.kind == LabelKind.LOT and due.lot is not None:
        return label_for_lot(session, due.part, due.lot, qty=due.qty, expiry=due.expiry)
    if due.kind == LabelKind.ASSEMBLY and due.job is not None:
        return label_for_assembly(session, due.job, lot=due.lot)
    raise LabelError(f"Cannot print a {due.kind} label for {due.part} without its number")


def _part(session: Session, number: str) -> Part:
    part = session.get(Part, number)
    if part is None:
        raise NotFound(f"Unknown part {number}")
    return part


def _item_label(
    kind: LabelKind,
    part: Part,
    *,
    lot: str | None = None,
    serial: str | None = None,
    expiry: date | None = None,
    qty: Decimal | None = None,
    job: str | None = None,
) -> Label:
    return Label(
        kind,
        part=part.number,
        description=part.description,
        gtin=part.gtin,
        lot=lot,
        serial=serial,
        expiry=expiry,
        qty=qty,
        uom=part.uom,
        job=job,
    )


def _checked(label: Label) -> Label:
    """The label, once its barcode data is known to be printable, so a label that cannot be
    made is refused when it is asked for, not when the printer is reached."""
    label.elements()
    scan = label.location_scan()
    if scan is not None:
        _location_text(scan, label.location or "")
    return label


def _location_text(scan: str, code: str) -> None:
    if code != code.strip() or not all(" " <= c <= "~" for c in scan):
        raise LabelError(
            f"Location code {code!r} cannot be printed as a barcode: use letters, digits "
            "and punctuation only"
        )


def _label_quantity(qty: Decimal | int | str | None) -> Decimal | None:
    if qty is None:
        return None
    amount = to_quantity(qty)
    if amount <= 0:
        raise RuleViolation(f"A label's quantity must be more than zero, not {qty}")
    return amount


def _identity(part: str, gtin: str | None) -> Element:
    if gtin:
        return check_field("01", gtin)
    try:
        return check_field("240", part)
    except GS1Error as error:
        raise LabelError(f"{error}: give {part} a GTIN to label it") from None


def _expiry(expiry: date) -> Element:
    element = check_field("17", expiry.strftime("%y%m%d"))
    if element.date != expiry:
        # (17) has a two-digit year, read within 49 years back and 50 ahead of today.
        raise LabelError(f"Expiry {expiry.isoformat()} is too far from today for a GS1 label")
    return element
