"""The handheld's outbox: its own movements the central store has not answered yet.

The ledger is the outbox (docs/architecture.md, "Push, exactly once"): a movement this
device records is `pending` until the store gives it an outcome, and the device pushes its
pending movements in the order it numbered them. Nothing here writes; the push loop
(`sync.client`) reads a batch here, sends it with no transaction open, and writes the
answers in one transaction of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from scanner.models import Lot, Movement, Serial, StatusChange, SyncState

if TYPE_CHECKING:
    from sync.protocol import MovementIn, StatusChangeIn

# A literal, not a bound parameter: SQLite uses the partial index ix_movements_outbox only
# when the query's condition matches the index's own `sync_state = 'pending'` word for word.
_PENDING = Movement.sync_state == literal_column(f"'{SyncState.PENDING.value}'")


def pending_movements(session: Session, device_id: str, limit: int) -> list[Movement]:
    """Up to `limit` of this device's movements still waiting for the store, oldest number
    first: the order the store must apply them in."""
    return list(
        session.scalars(
            select(Movement)
            .where(Movement.device_id == device_id, _PENDING)
            .order_by(Movement.device_seq)
            .limit(limit)
        )
    )


def movements_from(session: Session, device_id: str, first: int, before: int) -> list[Movement]:
    """This device's movements numbered `first` up to (not including) `before`, whatever
    their state: what a store restored from an older backup asks for again."""
    return list(
        session.scalars(
            select(Movement)
            .where(
                Movement.device_id == device_id,
                Movement.device_seq >= first,
                Movement.device_seq < before,
            )
            .order_by(Movement.device_seq)
        )
    )


def pending_count(session: Session, device_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Movement)
            .where(Movement.device_id == device_id, _PENDING)
        )
        or 0
    )


def queue_stats(session: Session, device_id: str) -> tuple[int, int, datetime | None]:
    """(queue depth, highest number this device has given a movement, when the oldest
    pending movement happened): what each push tells the store about the queue, so a
    supervisor sees a handheld falling behind before its movements arrive."""
    depth, oldest = session.execute(
        select(func.count(), func.min(Movement.happened_at)).where(
            Movement.device_id == device_id, _PENDING
        )
    ).one()
    highest = session.scalar(
        select(func.max(Movement.device_seq)).where(Movement.device_id == device_id)
    )
    return depth or 0, highest or 0, aware(oldest)


def movement_in(session: Session, movement: Movement) -> MovementIn:
    """The movement as the device pushes it: every ledger field, plus what the store needs
    to create the lot or serial the movement names if it has never seen it."""
    # Imported here: the TUI's queue panel reads the outbox and need not load pydantic.
    from sync.protocol import MovementIn

    lot = session.get(Lot, (movement.part, movement.lot)) if movement.lot is not None else None
    serial = (
        session.get(Serial, (movement.part, movement.serial))
        if movement.serial is not None
        else None
    )
    happened_at = aware(movement.happened_at)
    assert happened_at is not None  # the column is NOT NULL
    return MovementIn(
        seq=movement.device_seq,
        id=movement.id,
        kind=movement.kind,  # type: ignore[arg-type]  # the kind check constraint holds it
        part=movement.part,
        lot=movement.lot,
        serial=movement.serial,
        qty=Decimal(movement.qty),
        from_location=movement.from_location,
        to_location=movement.to_location,
        job=movement.job,
        po=movement.po,
        po_line=movement.po_line,
        so=movement.so,
        so_line=movement.so_line,
        operator=movement.operator,
        reverses=movement.reverses,
        reason=movement.reason,
        happened_at=happened_at,
        observed_cursor=movement.observed_cursor,
        lot_expiry=lot.expiry if lot else None,
        supplier_lot=lot.supplier_lot if lot else None,
        lot_origin=lot.origin if lot else None,
        lot_job=lot.assigned_job if lot else None,
        serial_lot=serial.lot if serial else None,
    )


_STATUS_PENDING = StatusChange.sync_state == literal_column(f"'{SyncState.PENDING.value}'")


def pending_status_changes(session: Session, limit: int) -> list[StatusChange]:
    """Up to `limit` of the jobs and order lines this handheld closed or reopened that the
    store has not kept yet, in the order they happened."""
    return list(
        session.scalars(
            select(StatusChange)
            .where(_STATUS_PENDING)
            .order_by(StatusChange.happened_at, StatusChange.id)
            .limit(limit)
        )
    )


def status_change_in(change: StatusChange) -> StatusChangeIn:
    """A status change as the handheld pushes it."""
    from sync.protocol import StatusChangeIn

    happened_at = aware(change.happened_at)
    assert happened_at is not None  # the column is NOT NULL
    return StatusChangeIn(
        id=change.id,
        subject=change.subject,  # type: ignore[arg-type]  # the subject check holds it
        key=change.key,
        status=change.status,  # type: ignore[arg-type]  # `scanner.closing` writes these
        reason=change.reason,
        operator=change.operator,
        happened_at=happened_at,
    )


def aware(moment: datetime | None) -> datetime | None:
    """A stored time in UTC. SQLite gives back the naive UTC time it was written as; the
    payload must be the same on every try, or the store would take a retry for a reused
    number."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
