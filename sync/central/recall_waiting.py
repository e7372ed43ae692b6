"""For a recall on the central store (`lotscan recall`): the handhelds that may still hold
movements of the recalled family, not synced yet.

The store cannot see a handheld's queue, only what each handheld said of it at its last
push (`sync_devices.queue_depth`, `oldest_pending_at`, `last_seen_at`). A recall names every
active handheld that last reported a queue, so someone fetches or syncs it before trusting
the answer (docs/architecture.md, "The recall answer").
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.clock import aware
from scanner.recall import WaitingDevice
from sync.central.changes import is_central
from sync.central.models import Device, DeviceStatus


def waiting_devices(session: Session) -> list[WaitingDevice] | None:
    """The active handhelds whose last report had movements queued, the longest waiting
    first; None on a database that is not a central store (a handheld's recall reads its
    own outbox instead)."""
    if not is_central(session):
        return None
    rows = session.scalars(
        select(Device)
        .where(Device.status == DeviceStatus.ACTIVE.value, Device.queue_depth > 0)
        .order_by(Device.oldest_pending_at.nulls_last(), Device.id)
    ).all()
    return [
        WaitingDevice(
            device=device.id,
            name=device.name,
            queue_depth=device.queue_depth or 0,
            last_seen=aware(device.last_seen_at),
            oldest_pending_at=aware(device.oldest_pending_at),
        )
        for device in rows
    ]
