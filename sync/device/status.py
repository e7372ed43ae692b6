"""Where the handheld stands with the central store, from its own database: enrolled or not,
its movements still queued or flagged, how the last sync went. What the status line and the
queue panel show; `sync.device.client` records the last sync's outcome in the settings read
here (`scanner.settings`: LAST_SYNC_AT, LAST_ERROR, ONLINE).

Reads only the database and the token file: no HTTP client, so the TUI can show it without
loading one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.models import Movement, SyncState
from scanner.settings import DEVICE_ID, LAST_ERROR, LAST_SYNC_AT, ONLINE, read_setting
from sync.device.credentials import read_token, service_url


@dataclass(frozen=True)
class SyncStatus:
    """Where this handheld stands with the store, for the status line and the queue screen.
    The counts are this device's own movements."""

    enrolled: bool
    url: str | None
    device: str | None
    pending: int
    flagged: int
    held: int
    rejected: int
    last_sync_at: datetime | None
    last_error: str | None
    online: bool | None  # None: no sync tried since enrolling

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_sync_at"] = self.last_sync_at.isoformat() if self.last_sync_at else None
        return data


def sync_status(session: Session, folder: Path | None = None) -> SyncStatus:
    """The handheld's sync status from its database (and its token file, given `folder`).
    Reads only."""
    url = service_url(session)
    device = read_setting(session, DEVICE_ID)
    enrolled = url is not None and device is not None
    if enrolled and folder is not None:
        enrolled = read_token(folder) is not None
    query = select(Movement.sync_state, func.count()).group_by(Movement.sync_state)
    if device is not None:
        query = query.where(Movement.device_id == device)
    states: Counter[str] = Counter(dict(session.execute(query).tuples().all()))
    return SyncStatus(
        enrolled=enrolled,
        url=url,
        device=device,
        pending=states[SyncState.PENDING.value],
        flagged=states[SyncState.FLAGGED.value],
        held=states[SyncState.HELD.value],
        rejected=states[SyncState.REJECTED.value],
        last_sync_at=read_setting(session, LAST_SYNC_AT),
        last_error=read_setting(session, LAST_ERROR),
        online=read_setting(session, ONLINE),
    )
