"""The handheld app: a thin view over the workflow engine (DESIGN §2).

Every scan, typed or from a function key, joins one queue. One thread worker at a time
drains it, handing each scan to `Handheld.handle` in order, so the database is never touched
on the event loop and scans are never merged, dropped or reordered. Each answer comes back
as a `ScanHandled` message; the app folds it into its `HandheldView` and the screens render
that. Labels a scan made due are queued in the same worker and printed by another, so a
slow printer never holds up the next scan.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from textual import on, work
from textual.app import App
from textual.message import Message

from labels.printing import queue_labels_due
from labels.queue import deliver_waiting
from scanner.db import database_reason, unit_of_work
from scanner.errors import LotscanError
from scanner.ledger import utc_now
from scanner.scan import ScanConfig
from scanner.workflows.base import LabelDue, Level, Response
from scanner.workflows.engine import Handheld
from screens.handheld import HandheldScreen
from screens.scan_field import ScanField
from screens.view import HandheldView


@dataclass
class ScanHandled(Message):
    """The engine's answer to one scan, and who is signed in after it."""

    raw: str
    response: Response
    operator: str | None


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


class LotscanApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "lotscan"
    ENABLE_COMMAND_PALETTE = False
    # Up to 59 columns (a 40-column handheld) the screen is "-narrow", from 60 "-wide".
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]  # noqa: RUF012

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        config: ScanConfig | None = None,
        clock: Callable[[], datetime] = utc_now,
        device: str = "",
        operator: str | None = None,
        cursor_blink: bool = True,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        """`device` is the name shown on the status line; `operator`, a badge to sign in
        with at start (as if scanned); `cursor_blink` off keeps screenshots still;
        `keymap` moves bindings to this device's keys, {binding id: keys} such as
        {"receive": "ctrl+r"} (the ids are in screens/keys.py and screens/handheld.py)."""
        super().__init__()
        self._device_keymap = dict(keymap or {})
        self.cursor_blink = cursor_blink
        self.sessions = sessions
        self.config = config or ScanConfig()
        self.handheld = Handheld(sessions, config=self.config, clock=clock)
        self.device = device
        self.view = HandheldView(prompt=self.handheld.prompt())
        self._first_operator = operator
        self._waiting: deque[str] = deque()
        self._lock = threading.Lock()
        self._draining = False
        self._delivering = False
        self._deliver_again = False

    def get_default_screen(self) -> HandheldScreen:
        return HandheldScreen()

    def on_mount(self) -> None:
        if self._device_keymap:
            self.set_keymap(self._device_keymap)
        if self._first_operator:
            self.submit(f"{self.config.operator}{self._first_operator}")

    # ---- scans in, answers out ----------------------------------------------------------

    @on(ScanField.Scanned)
    def _scanned(self, message: ScanField.Scanned) -> None:
        self.submit(message.raw)

    def send_command(self, command: str) -> None:
        """What a function key does: the scan of `CMD:<command>`, in this site's prefix."""
        self.submit(f"{self.config.command}{command}")

    def submit(self, raw: str) -> None:
        """Queues a scan for the engine; answers come back in the order scans went in."""
        with self._lock:
            self._waiting.append(raw)
            if self._draining:
                return
            self._draining = True
        self._drain()

    @work(thread=True, group="scan", exit_on_error=False, description="Handling scans")
    def _drain(self) -> None:
        """Hands the waiting scans to the engine one by one, until none wait."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._draining = False
                    return
                raw = self._waiting.popleft()
            response = self._handle(raw)
            self.post_message(ScanHandled(raw, response, self.handheld.operator))
            if response.labels:
                self.post_message(self.queue_labels(response.labels))

    def _handle(self, raw: str) -> Response:
        try:
            return self.handheld.handle(raw)
        except DBAPIError as error:
            problem = f"Not recorded, database error: {database_reason(error)}"
        except Exception as error:  # a scan must never take the handheld down
            problem = f"Not recorded: {error}"
        workflow = self.handheld.workflow
        return Response(
            prompt=self.handheld.prompt(),
            message=problem,
            level=Level.ERROR,
            workflow=workflow.name if workflow else None,
        )

    def queue_labels(self, due: Sequence[LabelDue]) -> LabelsQueued:
        """The print hook, run in the scan worker: puts the labels a scan made due in the
        durable print queue (nothing when printing is off). Printing happens elsewhere."""
        try:
            with unit_of_work(self.sessions) as session:
                queued = queue_labels_due(session, due)
        except (LotscanError, DBAPIError) as error:
            return LabelsQueued(0, problem=str(error))
        return LabelsQueued(len(queued))

    def on_scan_handled(self, message: ScanHandled) -> None:
        response = message.response
        self.view = self.view.after(response, message.operator)
        if response.beep:
            self.bell()
        for screen in self.screen_stack:
            if isinstance(screen, HandheldScreen):
                screen.render_view(self.view)

    @property
    def idle(self) -> bool:
        """No scan is waiting for, or being handled by, the engine."""
        with self._lock:
            return not self._draining

    # ---- printing ---------------------------------------------------------------------

    def on_labels_queued(self, message: LabelsQueued) -> None:
        if message.problem:
            self.notify(f"Labels not queued: {message.problem}", severity="error")
            self.bell()
        elif message.count:
            self._queue_changed()
            self._deliver()

    def _deliver(self) -> None:
        if self._delivering:
            self._deliver_again = True
            return
        self._delivering = True
        self._deliver_labels()

    @work(thread=True, group="print", exit_on_error=False, description="Printing labels")
    def _deliver_labels(self) -> None:
        try:
            report = deliver_waiting(self.sessions)
        except (LotscanError, DBAPIError) as error:
            self.post_message(LabelsDelivered(f"Printing failed: {error}", ok=False))
        else:
            self.post_message(LabelsDelivered(report.summary(), ok=report.ok))

    def on_labels_delivered(self, message: LabelsDelivered) -> None:
        self._delivering = False
        self._queue_changed()
        self.notify(message.summary, severity="information" if message.ok else "warning")
        if self._deliver_again:
            self._deliver_again = False
            self._deliver()

    def _queue_changed(self) -> None:
        """An open queue panel reads the queue again."""
        for screen in self.screen_stack:
            if isinstance(screen, HandheldScreen) and screen.aside == "queue":
                screen.read_queue()
