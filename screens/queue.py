"""The device's queue on Ctrl+P: the labels waiting for the printer, the movements waiting
to sync (and the jobs and order lines closed or reopened here), and the movements the
central store flagged, held or rejected, in its own words.

The queue is read from the database, so the screen reads it in a thread worker
(`HandheldScreen.read_queue`, which imports this module) and hands the lines to the panel
(`screens.queue_panel`); the panel itself never touches the database.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.describing import describe
from scanner.models import Movement, PrintJobStatus, StatusChange, StatusSubject, SyncState
from scanner.quantity import format_quantity
from screens.queue_panel import READING as READING  # what the panel shows meanwhile
from screens.sync_line import refused, when
from sync.device.outbox import pending_movements, pending_status_changes
from sync.device.status import SyncStatus, sync_status

NOT_ENROLLED = "Not enrolled: movements stay on this device (lotscan enroll URL CODE)."
# The panel lists this many of each; the counts above them say how many there are in all.
SHOWN = 50
PROBLEMS = (SyncState.FLAGGED.value, SyncState.HELD.value, SyncState.REJECTED.value)
_STAY_QUEUED = re.compile(r"; \d+ movements? stays? queued$")


def queue_lines(
    session: Session, folder: Path | None, now: datetime, tz: tzinfo | None = None
) -> tuple[str, ...]:
    """What the queue panel shows: each waiting print job, then the sync (`folder` holds
    the sync token; None reads the database only)."""
    return (*print_lines(session), "", *sync_lines(session, sync_status(session, folder), now, tz))


def print_lines(session: Session) -> list[str]:
    # Imported when the panel is first read, in its worker: labels load Pillow and barcode.
    from labels.queue import list_jobs

    waiting = list_jobs(session, PrintJobStatus.WAITING)
    count = len(waiting)
    heading = f"{count} label{'s' if count != 1 else ''} waiting" if waiting else "none waiting"
    lines = [f"PRINT: {heading}"]
    for job in waiting:
        lines.append(f" {job.id} {job.description}")
        if job.last_error:
            lines.append(f"   tried {job.attempts}x: {job.last_error}")
    return lines


def sync_lines(
    session: Session, status: SyncStatus, now: datetime, tz: tzinfo | None = None
) -> list[str]:
    """Where the handheld stands with the store, its movements still to send (oldest
    first), and those the store did not simply apply, with what it said."""
    lines = [f"SYNC: {sync_heading(status, now, tz)}"]
    if status.enrolled and status.last_error:
        lines.append(f" {reason_only(status.last_error)}")
    if status.device is None:
        return lines
    lines.append(f"WAITING: {status.pending}" if status.pending else "WAITING: none")
    lines += [
        f" {movement_line(each)}" for each in pending_movements(session, status.device, SHOWN)
    ]
    if status.pending > SHOWN:
        lines.append(f" ... and {status.pending - SHOWN} more")
    decided = pending_status_changes(session, SHOWN)
    if decided:
        lines.append(f"CLOSED OR REOPENED, WAITING: {len(decided)}")
        lines += [f" {decision_line(each)}" for each in decided]
    problems = problem_movements(session, status.device)
    if problems:
        lines.append(f"STORE SAYS: {status.flagged + status.held + status.rejected}")
        for movement in problems:
            lines.append(f" {movement.sync_state} {movement_line(movement)}")
            if movement.outcome:
                lines.append(f"   {movement.outcome}")
    return lines


def reason_only(error: str) -> str:
    """The last sync's failure without the queue count it ends with: that count was the
    queue then; the panel shows the queue now."""
    return _STAY_QUEUED.sub("", error)


def sync_heading(status: SyncStatus, now: datetime, tz: tzinfo | None = None) -> str:
    if not status.enrolled:
        return NOT_ENROLLED
    last = when(status.last_sync_at, now, tz)
    if status.online is None:
        return f"enrolled with {status.url}, not synced yet"
    if status.online is False:
        return f"offline, last sync {last}"
    if refused(status):
        return f"refused by {status.url}"
    return f"online, synced {last}"


def movement_line(movement: Movement) -> str:
    """`41 receive 25 lot R-1 of RESIN`: the device's number for it, what and how much."""
    what = describe(movement.part, movement.lot, movement.serial)
    return f"{movement.device_seq} {movement.kind} {format_quantity(movement.qty)} {what}"


def decision_line(change: StatusChange) -> str:
    """`closed job J-1003` or `reopened PO-7004 line 2`: a close or reopen still to send."""
    done = "closed" if change.status == "closed" else "reopened"
    if change.subject == StatusSubject.JOB:
        return f"{done} job {change.key}"
    order, _bar, line = change.key.rpartition("|")
    return f"{done} {order} line {line}"


def problem_movements(session: Session, device: str) -> list[Movement]:
    """This device's movements the store flagged, held or rejected, newest first."""
    return list(
        session.scalars(
            select(Movement)
            .where(Movement.device_id == device, Movement.sync_state.in_(PROBLEMS))
            .order_by(Movement.device_seq.desc())
            .limit(SHOWN)
        )
    )
