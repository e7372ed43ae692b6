"""Messages between the app, its workers and the screen: what a worker found, posted back
to the event loop (`post_message` is safe from any thread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from scanner.workflows.engine import Outcome
    from sync.device.loop import SyncNews


@dataclass
class ScanHandled(Message):
    """What the engine made of one scan."""

    raw: str
    outcome: Outcome


class ScansDrained(Message):
    """The scan worker found no scan waiting and stopped."""


class ScanFieldReady(Message):
    """The scan field has the focus: keys held back at startup can go to it."""


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
