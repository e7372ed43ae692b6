"""The device's queue on Ctrl+P: the labels waiting for the printer and, until this device
syncs, a line saying its movements are recorded here only.

The queue is read from the database, so the screen reads it in a thread worker
(`HandheldScreen.read_queue`) and hands the lines to the panel; the panel itself never
touches the database.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from labels.queue import list_jobs
from scanner.models import PrintJobStatus

READING = "Reading the queue..."
NOT_SYNCED = "Movements are recorded on this device (no sync yet)."


def queue_lines(session: Session) -> tuple[str, ...]:
    """What the queue panel shows: each waiting print job, then the movements' state."""
    waiting = list_jobs(session, PrintJobStatus.WAITING)
    count = len(waiting)
    heading = f"{count} label{'s' if count != 1 else ''} waiting" if waiting else "none waiting"
    lines = [f"PRINT: {heading}"]
    for job in waiting:
        lines.append(f" {job.id} {job.description}")
        if job.last_error:
            lines.append(f"   tried {job.attempts}x: {job.last_error}")
    return (*lines, "", "SYNC", NOT_SYNCED)


class QueuePanel(VerticalScroll, can_focus=False):
    """Shown in place of the work area on Ctrl+P; the scan field keeps the focus."""

    def compose(self) -> ComposeResult:
        yield Static(READING, markup=False, id="queue-text")

    def show(self, lines: tuple[str, ...]) -> None:
        self.query_one("#queue-text", Static).update("\n".join(lines))

    def reading(self) -> None:
        self.show((READING,))
