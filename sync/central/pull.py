"""What devices pull from the central store, and putting news into it: a page of the change
log after a device's cursor; reference data imported at the store, jobs or order lines
closed, lots or serials held there, and site-wide settings set there, published as
changes. Plain functions over the caller's session and
transaction; `sync.central.service` puts them behind HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.clock import Clock, utc_now
from scanner.models import StatusChange
from sync.central.apply import CentralLedger
from sync.central.changes import current_seq, publish_rows, publish_site_settings
from sync.central.models import Change, Device
from sync.central.status_changes import publish_status
from sync.protocol import MAX_PULL, PullResponse
from sync.protocol import Change as PulledChange

__all__ = ["publish_decisions", "publish_reference", "publish_settings", "pull"]


def pull(
    session: Session, device: Device, cursor: int, limit: int = MAX_PULL, clock: Clock = utc_now
) -> PullResponse:
    """The changes after `cursor`, in order, at most `limit` (and at most MAX_PULL). A cursor
    past anything the store has (a store restored from a backup) answers `reset`: the device
    starts again from 0, which is safe because every change is idempotent."""
    now = clock()
    device.last_pull_at = device.last_seen_at = now
    top = current_seq(session)
    if cursor > top:
        return PullResponse(cursor=0, has_more=False, reset=True, server_time=now, changes=[])
    limit = max(1, min(limit, MAX_PULL))
    rows = session.scalars(
        select(Change).where(Change.seq > cursor).order_by(Change.seq).limit(limit + 1)
    ).all()
    page = rows[:limit]
    return PullResponse(
        cursor=page[-1].seq if page else cursor,
        has_more=len(rows) > limit,
        server_time=now,
        changes=[
            PulledChange(seq=row.seq, kind=row.kind, key=row.key, data=json.loads(row.payload))
            for row in page
        ],
    )


def publish_reference(session: Session, clock: Clock = utc_now) -> int:
    """Tells devices about reference data (parts, locations, orders, jobs, lots, serials...)
    that is new or changed since it was last published, then applies held movements that
    were waiting for it. Returns the number of changes emitted.

    Run after an import into the central database. It compares each row with the last change
    published for its key, read in one query per kind, so ten thousand parts take a moment.
    """
    ledger = CentralLedger(session, clock)
    ledger.log.lock()
    publish_rows(ledger.log)
    publish_site_settings(ledger.log)
    ledger.recheck_held()
    ledger.finish()
    return ledger.log.taken


def publish_decisions(
    session: Session, changes: Sequence[StatusChange], clock: Clock = utc_now
) -> int:
    """Tells devices of jobs or order lines closed or reopened, lots or serials held,
    released or recalled at the store (`lotscan jobs close`, `lotscan lot hold` on the
    central database): each change for its history, and the row with its status. Returns
    the number of changes emitted."""
    ledger = CentralLedger(session, clock)
    ledger.log.lock()
    publish_status(ledger.log, changes)
    ledger.finish()
    return ledger.log.taken


def publish_settings(session: Session, clock: Clock = utc_now) -> int:
    """Tells devices of the site-wide settings set or reset at the store since they were
    last published (`lotscan settings set expiry_policy block` on the central database).
    Returns the number of changes emitted."""
    ledger = CentralLedger(session, clock)
    ledger.log.lock()
    publish_site_settings(ledger.log)
    ledger.finish()
    return ledger.log.taken
