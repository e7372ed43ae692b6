"""How the status line words the sync: online or offline, the queue, the last sync.

Plain functions of a `SyncStatus`, no Textual. Two lengths: a handheld's 40 columns get
`↑12 online 10:42` or `offline ↑12`; a full terminal gets the words spelt out. A handheld
that is not enrolled syncs with nothing, and the status line says nothing about sync (the
queue panel explains).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.device.status import SyncStatus

QUEUED = "\u2191"  # ↑ movements waiting to go up to the store


def when(moment: datetime | None, now: datetime, tz: tzinfo | None = None) -> str:
    """`10:42` today, `11-01` on an earlier day, `never` for no time; in `tz` (None: the
    handheld's own time zone)."""
    if moment is None:
        return "never"
    local = moment.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d")


def refused(status: SyncStatus) -> bool:
    """The store answered, but the last sync did not go through (revoked, refused)."""
    return status.online is True and status.last_error is not None


def sync_short(status: SyncStatus | None, now: datetime, tz: tzinfo | None = None) -> str:
    """The status line's sync at 40 columns."""
    if status is None or not status.enrolled:
        return ""
    queue = f"{QUEUED}{status.pending}"
    if status.online is False:
        return f"offline {queue}"
    if status.online is None:
        return f"{queue} not synced"
    if refused(status):
        return f"{queue} refused"
    return f"{queue} online {when(status.last_sync_at, now, tz)}"


def sync_long(status: SyncStatus | None, now: datetime, tz: tzinfo | None = None) -> str:
    """The status line's sync on a full terminal."""
    if status is None or not status.enrolled:
        return ""
    last = when(status.last_sync_at, now, tz)
    if status.online is False:
        words = ["offline", f"{status.pending} queued", f"last sync {last}"]
    elif status.online is None:
        words = [f"{status.pending} queued", "not synced yet"]
    elif refused(status):
        words = ["sync refused", f"{status.pending} queued"]
    else:
        words = ["online", f"{status.pending} queued", f"synced {last}"]
    problems = [
        f"{count} {name}"
        for count, name in (
            (status.flagged, "flagged"),
            (status.held, "held"),
            (status.rejected, "rejected"),
        )
        if count
    ]
    return ", ".join(words + problems)


def offline(status: SyncStatus | None) -> bool:
    """Whether the status line should stand out: the store out of reach or refusing."""
    return status is not None and status.enrolled and (status.online is False or refused(status))
