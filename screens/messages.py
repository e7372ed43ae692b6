"""Messages between the app, its workers and the screen: what a worker found, posted back
to the event loop (`post_message` is safe from any thread)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from scanner.workflows.base import Response
from sync.device.loop import SyncNews


@dataclass
class ScanHandled(Message):
    """The engine's answer to one scan, and who is signed in after it."""

    raw: str
    response: Response
    operator: str | None
    started: bool = False  # the scan started a workflow afresh
    supervisor: bool = False  # the operator signed in has the supervisor's role


class ScansDrained(Message):
    """The scan worker found no scan waiting and stopped."""


class ScanFieldReady(Message):
    """The scan field has the focus: keys held back at startup can go to it."""


@dataclass
class LabelsQueued(Message):
    """A scan's labels are in the print queue (or could not be put there)."""

    count: int
    problem: str | None = None


@dataclass
class LabelsDelivered(Message):
    """One pass of the printer worker over the queue."""

    summary: str
    ok: bool


@dataclass
class QueueRead(Message):
    """What the queue panel should show, read by a worker."""

    lines: tuple[str, ...]


@dataclass
class SyncNewsArrived(Message):
    """The background sync read the status or ran a sync."""

    news: SyncNews
