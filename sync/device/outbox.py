"""The handheld's outbox: its own movements the central store has not answered yet.

The ledger is the outbox (docs/architecture.md, "Push, exactly once"): a movement this
device records is `pending` until the store gives it an outcome, and the device pushes its
pending movements in the order it numbered them. Nothing here writes; the push loop
(`sync.device.client`) reads a batch here, sends it with no transaction open, and writes the
answers in one transaction of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from scanner.clock import aware
from scanner.models import Movement, StatusChange, SyncState

if TYPE_CHECKING:
    pass

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


_STATUS_PENDING = StatusChange.sync_state == literal_column(f"'{SyncState.PENDING.value}'")


def pending_status_count(session: Session) -> int:
    """How many holds, releases, recalls, closes and reopens wait for the store."""
    return (
        session.scalar(select(func.count()).select_from(StatusChange).where(_STATUS_PENDING)) or 0
    )


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
