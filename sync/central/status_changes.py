"""Jobs and order lines closed or reopened, on the central store (`scanner.closing`).

A handheld pushes its status changes with its movements; a supervisor at the store records
them with `lotscan jobs|orders close|reopen`. Either way the store keeps every change, gives
the job or line the status of its latest (by when it happened), and tells every handheld:
the job's or line's row with its status, and the change itself for its history. A change
pushed again (a retry) is kept once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.clock import aware
from scanner.closing import settle_status
from scanner.models import StatusChange, SyncState
from sync.central.bulk_sql import among
from sync.central.changes import ChangeLog, reference_data
from sync.protocol import STATUS_CHANGE, StatusChangeIn


def status_change_data(change: StatusChange) -> dict[str, object]:
    """A status change as devices pull it."""
    return reference_data(change, StatusChange) | {"sync_state": SyncState.APPLIED.value}


def publish_status(log: ChangeLog, changes: Iterable[StatusChange]) -> None:
    """Marks status changes the store recorded or received as kept, settles the status of
    what each is about, and tells devices of both."""
    for change in changes:
        change.sync_state = SyncState.APPLIED.value
        change.recorded_at = change.recorded_at or log.now
        log.session.flush()
        row = settle_status(log.session, change.subject, change.key)
        log.emit(STATUS_CHANGE, str(change.id), status_change_data(change))
        if row is not None:
            log.emit_row(row)


class PushedStatus:
    """The status changes of one push, handed to the store in the order they happened,
    each before the first movement that happened after it (`due`), the rest at the end."""

    def __init__(self, session: Session, device_id: str, pushed: Sequence[StatusChangeIn]):
        self.session = session
        self.device_id = device_id
        known = _known(session, [change.id for change in pushed])
        fresh = {change.id: change for change in pushed if change.id not in known}
        self._waiting = sorted(fresh.values(), key=lambda c: (aware(c.happened_at), c.id))

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def due(self, log: ChangeLog, before: datetime | None) -> None:
        """Keeps the changes that happened no later than `before` (all of them for None)."""
        taking = list(self._taken(before))
        if taking:
            publish_status(log, [self._record(change) for change in taking])

    def _taken(self, before: datetime | None) -> Iterator[StatusChangeIn]:
        while self._waiting and (
            before is None or aware(self._waiting[0].happened_at) <= aware(before)
        ):
            yield self._waiting.pop(0)

    def _record(self, pushed: StatusChangeIn) -> StatusChange:
        change = StatusChange(
            id=pushed.id,
            device_id=self.device_id,
            subject=pushed.subject,
            key=pushed.key,
            status=pushed.status,
            reason=pushed.reason,
            operator=pushed.operator,
            happened_at=aware(pushed.happened_at),
            sync_state=SyncState.APPLIED.value,
        )
        self.session.add(change)
        return change


def _known(session: Session, ids: list[object]) -> set[object]:
    if not ids:
        return set()
    return set(session.scalars(select(StatusChange.id).where(among(session, StatusChange.id, ids))))
