"""The caches the ledger keeps beside itself: balances, serial states, job genealogy.

They change in the same transaction as the movement that changes them, and a replay of the
ledger (`scanner.replay`) reproduces them exactly.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.models import (
    NO_LOT,
    NOT_EFFECTIVE,
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
    _fold(session, movement, part, reverses, 1)
    if movement.serial is not None:
        kind = MovementKind(reverses.kind if reverses else movement.kind)
        record = session.get(Serial, (part.number, movement.serial))
        if record is not None:
            record.status, record.location = serial_state_after(movement, kind)


def withdraw_from_caches(
    session: Session, movement: Movement, part: Part, reverses: Movement | None
) -> None:
    """Takes a counted movement's effect back out of the caches: the central store held or
    voided it, so it no longer counts (`scanner.models.NOT_EFFECTIVE`). The caller marks the
    movement first; a serial's state is then what its last counting movement left."""
    _fold(session, movement, part, reverses, -1)
    if movement.serial is not None:
        refresh_serial(session, part.number, movement.serial)


def refresh_serial(session: Session, part: str, serial: str) -> None:
    """Sets a serial's state from the last movement of it that counts."""
    record = session.get(Serial, (part, serial))
    if record is None:
        return
    session.flush()
    last = session.scalars(
        select(Movement)
        .where(
            Movement.part == part,
            Movement.serial == serial,
            Movement.sync_state.not_in(NOT_EFFECTIVE),
        )
        .order_by(Movement.server_seq.is_(None), Movement.server_seq, Movement.happened_at)
    ).all()
    if not last:
        record.status, record.location = SerialStatus.GONE.value, None
        return
    final = last[-1]
    original = session.get(Movement, final.reverses) if final.reverses else None
    kind = MovementKind(original.kind if original else final.kind)
    record.status, record.location = serial_state_after(final, kind)


def _fold(
    session: Session, movement: Movement, part: Part, reverses: Movement | None, sign: int
) -> None:
    lot_key, serial_key = stock_key(part, movement.lot, movement.serial)
    if movement.from_location is not None:
        _add_balance(
            session, part.number, lot_key, serial_key, movement.from_location, -sign * movement.qty
        )
    if movement.to_location is not None:
        _add_balance(
            session, part.number, lot_key, serial_key, movement.to_location, sign * movement.qty
        )
    kind = MovementKind(reverses.kind if reverses else movement.kind)
    direction = -sign if reverses else sign
    if movement.job is not None and kind in (MovementKind.ISSUE, MovementKind.PRODUCE):
        role = JobLotRole.CONSUMED if kind == MovementKind.ISSUE else JobLotRole.PRODUCED
        _add_job_lot(
            session, movement.job, role, part.number, lot_key, serial_key, direction * movement.qty
        )


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
