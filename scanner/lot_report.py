"""What `lotscan lot show` says of a lot or a serial (docs/architecture.md, "Statuses and who
sets them"): its status as people read it, the serial's own and its lot's, its expiry, every
status change with who, when, why and on which device (the one in force marked), and where
it is: stock by location from the balances and, for a lot of a serial-tracked part, each of
its serials.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.clock import aware
from scanner.closing import subject_key
from scanner.describing import described
from scanner.models import NO_LOT, Balance, Lot, Operator, Serial, StatusChange, Tracking
from scanner.plain_text import shown_lines
from scanner.quality import Item, Standing, standing, status_of, stricter
from scanner.quantity import format_quantity, json_quantity


@dataclass(frozen=True)
class StatusEntry:
    """One status change of the lot or the serial: `subject` says which."""

    subject: str
    status: Standing
    operator: str | None
    name: str | None
    happened_at: datetime
    reason: str | None
    device: str
    current: bool
    """Whether this change gives its subject the status it has now (the latest by time)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "status": self.status.value,
            "operator": self.operator,
            "name": self.name,
            "happened_at": self.happened_at.isoformat(),
            "reason": self.reason,
            "device": self.device,
            "current": self.current,
        }

    def words(self) -> str:
        """ "2026-11-17 13:00  lot on hold  Mark Jensen (B1010) on DM01: porosity  (in force)"."""
        who = self.name or self.operator or "nobody named"
        badge = f" ({self.operator})" if self.operator and self.name else ""
        why = f": {self.reason}" if self.reason else ""
        current = "  (in force)" if self.current else ""
        return (
            f"{self.happened_at:%Y-%m-%d %H:%M}  {self.subject} {_read(self.status)}  {who}{badge}"
            f" on {self.device}{why}{current}"
        )


@dataclass(frozen=True)
class SerialInLot:
    serial: str
    status: Standing
    state: str
    location: str | None


@dataclass(frozen=True)
class LotReport:
    part: str
    uom: str
    lot: str | None
    serial: str | None
    status: Standing
    lot_status: Standing | None
    serial_status: Standing | None
    expiry: date | None
    history: tuple[StatusEntry, ...]
    on_hand: tuple[tuple[str, Decimal], ...]
    serials: tuple[SerialInLot, ...]

    def as_json(self) -> dict[str, Any]:
        """The stable shape scripts read (docs/architecture.md, "JSON shapes")."""
        return {
            "part": self.part,
            "lot": self.lot,
            "serial": self.serial,
            "status": self.status.value,
            "lot_status": self.lot_status.value if self.lot_status else None,
            "serial_status": self.serial_status.value if self.serial_status else None,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "history": [each.as_json() for each in self.history],
            "on_hand": [
                {"location": location, "qty": json_quantity(qty)} for location, qty in self.on_hand
            ],
            "serials": [
                {
                    "serial": each.serial,
                    "status": each.status.value,
                    "state": each.state,
                    "location": each.location,
                }
                for each in self.serials
            ],
        }

    def text(self) -> str:
        lines = [f"{described(self.part, self.lot, self.serial)}: {_read(self.status)}"]
        if self.serial is not None:
            lines.append(f"  serial {_read(self.serial_status)}")
            if self.lot is not None:
                lines.append(f"  lot {self.lot} {_read(self.lot_status)}")
        lines.append(f"  expiry: {self.expiry.isoformat() if self.expiry else 'none'}")
        lines.append("Status changes:" if self.history else "Status changes: none")
        lines += [f"  {each.words()}" for each in self.history]
        lines.append("On hand:" if self.on_hand else "On hand: none")
        lines += [
            f"  {location}  {format_quantity(qty)} {self.uom}" for location, qty in self.on_hand
        ]
        if self.serials:
            lines.append("Serials:")
        for each in self.serials:
            where = f" at {each.location}" if each.location else ""
            lines.append(
                f"  {each.serial}  {_read(each.status)}, {each.state.replace('_', ' ')}{where}"
            )
        return shown_lines(lines)


def _read(status: Standing | None) -> str:
    return {Standing.HOLD: "on hold"}.get(status, status.value) if status else "-"


def lot_report(session: Session, item: Item, today: date) -> LotReport:
    """All `lotscan lot show` says of a lot or serial (`scanner.quality.find_item`)."""
    lot, serial = item.lot, item.serial
    expiry = lot.expiry if lot is not None else None
    subjects: list[Lot | Serial] = [each for each in (lot, serial) if each is not None]
    serials: tuple[SerialInLot, ...] = ()
    if serial is None and lot is not None and item.part.tracking == Tracking.SERIAL:
        serials = _serials_of(session, lot, today)
    return LotReport(
        part=item.part.number,
        uom=item.part.uom,
        lot=lot.number if lot is not None else None,
        serial=serial.number if serial is not None else None,
        status=standing(status_of(lot, serial), expiry, today),
        lot_status=standing(lot.status, expiry, today) if lot is not None else None,
        serial_status=standing(serial.quality_status, None, today) if serial else None,
        expiry=expiry,
        history=_history(session, subjects),
        on_hand=_on_hand(session, item),
        serials=serials,
    )


def _history(session: Session, subjects: list[Lot | Serial]) -> tuple[StatusEntry, ...]:
    """The status changes of the lot and the serial, oldest first; the latest of each
    subject that matches its status now is the one in force."""
    found: list[tuple[StatusChange, str | None]] = []
    for subject in subjects:
        kind, key = subject_key(subject)
        found += session.execute(
            select(StatusChange, Operator.name)
            .outerjoin(Operator, Operator.badge == StatusChange.operator)
            .where(StatusChange.subject == kind, StatusChange.key == key)
        ).tuples()
    found.sort(key=lambda row: (aware(row[0].happened_at), row[0].id))
    in_force: dict[str, uuid.UUID] = {}
    for change, _name in found:
        in_force[change.subject] = change.id
    statuses = {subject_key(each)[0]: _own(each) for each in subjects}
    return tuple(
        StatusEntry(
            subject=change.subject,
            status=standing(change.status, None, date.min),
            operator=change.operator,
            name=name,
            happened_at=aware(change.happened_at),
            reason=change.reason,
            device=change.device_id,
            current=in_force[change.subject] == change.id
            and statuses[change.subject] == change.status,
        )
        for change, name in found
    )


def _own(subject: Lot | Serial) -> str:
    return subject.quality_status if isinstance(subject, Serial) else subject.status


def _on_hand(session: Session, item: Item) -> tuple[tuple[str, Decimal], ...]:
    """Stock by location: the serial's, or the lot's (its serials', for a serial-tracked
    part)."""
    part = item.part.number
    where = [Balance.part == part, Balance.qty != 0]
    if item.serial is not None:
        where.append(Balance.serial == item.serial.number)
    elif item.part.tracking == Tracking.SERIAL:
        assert item.lot is not None
        in_lot = select(Serial.number).where(Serial.part == part, Serial.lot == item.lot.number)
        where += [Balance.lot == NO_LOT, Balance.serial.in_(in_lot)]
    else:
        assert item.lot is not None
        where.append(Balance.lot == item.lot.number)
    rows = session.execute(
        select(Balance.location, func.sum(Balance.qty))
        .where(*where)
        .group_by(Balance.location)
        .order_by(Balance.location)
    ).tuples()
    return tuple((location, qty) for location, qty in rows if qty)


def _serials_of(session: Session, lot: Lot, today: date) -> tuple[SerialInLot, ...]:
    rows = session.scalars(
        select(Serial)
        .where(Serial.part == lot.part, Serial.lot == lot.number)
        .order_by(Serial.number)
    )
    return tuple(
        SerialInLot(
            each.number,
            standing(stricter(lot.status, each.quality_status), lot.expiry, today),
            each.status,
            each.location,
        )
        for each in rows
    )
