"""The caches the ledger keeps beside itself: balances, serial states, job genealogy.

They change in the same transaction as the movement that changes them, and a replay of the
ledger (`scanner.replay`) reproduces them exactly.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from scanner.models import (
    NO_LOT,
    Balance,
    JobLot,
    JobLotRole,
    Movement,
    MovementKind,
    Part,
    Serial,
    SerialStatus,
    Tracking,
)


def stock_key(part: Part, lot: str | None, serial: str | None) -> tuple[str, str]:
    """The (lot, serial) a balance is kept under: a lot only for lot-tracked parts, a serial
    only for serial-tracked ones. A lot recorded on a shipment of an untracked part (a sales
    line that asked for lot control) names the shipment, not the stock it came from."""
    return (
        (lot or NO_LOT) if part.tracking == Tracking.LOT else NO_LOT,
        (serial or NO_LOT) if part.tracking == Tracking.SERIAL else NO_LOT,
    )


def apply_to_caches(
    session: Session, movement: Movement, part: Part, reverses: Movement | None
) -> None:
    """Folds one movement into the balances, the serial states and the job genealogy."""
    lot_key, serial_key = stock_key(part, movement.lot, movement.serial)
    if movement.from_location is not None:
        _add_balance(
            session, part.number, lot_key, serial_key, movement.from_location, -movement.qty
        )
    if movement.to_location is not None:
        _add_balance(session, part.number, lot_key, serial_key, movement.to_location, movement.qty)
    kind = MovementKind(reverses.kind if reverses else movement.kind)
    sign = -1 if reverses else 1
    if movement.job is not None and kind in (MovementKind.ISSUE, MovementKind.PRODUCE):
        role = JobLotRole.CONSUMED if kind == MovementKind.ISSUE else JobLotRole.PRODUCED
        _add_job_lot(
            session, movement.job, role, part.number, lot_key, serial_key, sign * movement.qty
        )
    if movement.serial is not None:
        record = session.get(Serial, (part.number, movement.serial))
        if record is not None:
            record.status, record.location = serial_state_after(movement, kind)


def serial_state_after(movement: Movement, kind: MovementKind) -> tuple[str, str | None]:
    """Where a serial is after a movement: in stock where it went, else consumed, shipped or
    gone."""
    if movement.to_location is not None:
        return SerialStatus.IN_STOCK.value, movement.to_location
    if movement.kind != MovementKind.REVERSE and kind == MovementKind.ISSUE:
        return SerialStatus.CONSUMED.value, None
    if movement.kind != MovementKind.REVERSE and kind == MovementKind.SHIP:
        return SerialStatus.SHIPPED.value, None
    return SerialStatus.GONE.value, None


def _add_balance(
    session: Session, part: str, lot: str, serial: str, location: str, change: Decimal
) -> None:
    key = (part, lot, serial, location)
    balance = session.get(Balance, key, with_for_update=True)
    if balance is None:
        session.add(Balance(part=part, lot=lot, serial=serial, location=location, qty=change))
        session.flush()
        return
    balance.qty = balance.qty + change
    if balance.qty == 0:
        session.delete(balance)
    session.flush()


def _add_job_lot(
    session: Session, job: str, role: JobLotRole, part: str, lot: str, serial: str, change: Decimal
) -> None:
    key = (job, role.value, part, lot, serial)
    row = session.get(JobLot, key, with_for_update=True)
    if row is None:
        session.add(JobLot(job=job, role=role.value, part=part, lot=lot, serial=serial, qty=change))
    else:
        row.qty = row.qty + change
        if row.qty == 0:
            session.delete(row)
    session.flush()
