"""The handheld app: a thin view over the workflow engine (docs/architecture.md,
"Handheld screen").

Every scan, typed or from a function key, joins one queue. One thread worker at a time
drains it, handing each scan to `Handheld.handle` in order, so the database is never touched
on the event loop and scans are never merged, dropped or reordered. The engine records each
scan and puts the labels it made due in the durable print queue in one transaction
(`queue_labels`); its `Outcome` comes back as a `ScanHandled` message, the app folds it
into its `HandheldView` and the screens render that. Another worker prints the queued
labels, so a slow printer never holds up the next scan.

Keys that arrive before the scan field can take them (a scanner fired while the app starts)
are held back and handed over, in order, once it can: nothing typed at startup is lost. The
work a start sets going (the sign-in given at start, the background sync) waits for that
moment too, just after the first frame: started with the app, those threads took the GIL
from the event loop while it drew the first frame, which then came about twice as late.

A third thread worker syncs with the central store in the background (`SyncLoop`) while the
handheld is enrolled; its news reaches the status line and the queue panel as messages.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import get_current_worker

from scanner.clock import utc_now
from scanner.device_start import DeviceStart
from scanner.errors import LotscanError
from scanner.scan import ScanConfig
from scanner.workflows.display import SIGN_IN_PROMPT
from scanner.workspace import device_folder
from screens.busy import BusySign
from screens.handheld import HandheldScreen
from screens.keymap import full_keymap
from screens.keys import key_label, key_labels
from screens.messages import (
    LabelsDelivered,
    ScanFieldReady,
    ScanHandled,
    ScansDrained,
    SyncNewsArrived,
)
from screens.scan_field import ScanField
from screens.sync_line import offline, sync_long, sync_short
from screens.view import HandheldView

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.orm import Session, sessionmaker

    from scanner.workflows.base import LabelDue
    from scanner.workflows.engine import Handheld, Outcome
    from sync.device.backoff import Backoff
    from sync.device.loop import SyncLink, SyncLoop
    from sync.device.status import SyncStatus

SWITCH_INTERVAL = 0.0005  # seconds; Python's default is 0.005
IDLE_CHECK = 30.0
"""Seconds between the app's looks at an idle sign-in (`LotscanApp.look_for_idle_sign_in`)."""


class _IdleCheck:
    """In the scan queue: a look at whether the sign-in has gone idle, in turn with scans."""


IDLE_CHECK_TURN = _IdleCheck()


@dataclass(frozen=True)
class SyncOptions:
    """How the app syncs, kept until its database is open (`LotscanApp.__init__`)."""

    folder: Path | None
    transport: httpx.BaseTransport | None
    interval: float
    soon: float
    backoff: Backoff | None


def queue_labels(session: Session, due: Sequence[LabelDue]) -> int:
    """The engine's print hook (`scanner.workflows.engine.QueueLabels`): puts the labels a
    scan made due in the durable print queue, in the scan's transaction; none while printing
    is off. Printing happens elsewhere."""
    # Imported at the first label due: labels load Pillow and python-barcode, which a
    # start should not wait for.
    from labels.printing import queue_labels_due

    return len(queue_labels_due(session, due))


class LotscanApp(App[None]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "lotscan"
    ENABLE_COMMAND_PALETTE = False
    # Up to 59 columns (a 40-column handheld) the screen is "-narrow", from 60 "-wide".
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]  # noqa: RUF012

    def __init__(
        self,
        database: sessionmaker[Session] | DeviceStart,
        *,
        config: ScanConfig | None = None,
        clock: Callable[[], datetime] = utc_now,
        device: str = "",
        operator: str | None = None,
        cursor_blink: bool = True,
        keymap: Mapping[str, str] | None = None,
        busy_after: float = 0.3,
        sync_folder: Path | None = None,
        sync_transport: httpx.BaseTransport | None = None,
        sync_interval: float = 30.0,
        sync_soon: float = 2.0,
        sync_backoff: Backoff | None = None,
        tz: tzinfo | None = None,
        idle_check: float = IDLE_CHECK,
    ) -> None:
        """`database` is the session factory of an open database, or what a start read of
        one without the ORM (`scanner.device_start`): the app then opens it in a worker
        after its first frame, and scans wait for it there (`config` and `device` come from
        the start). `device` is the name shown on the status line; `operator`, a badge to sign in
        with at start (as if scanned); `cursor_blink` off keeps screenshots still;
        `keymap` moves bindings to this device's keys, {binding id: keys} such as
        {"return": "ctrl+r"}, as `screens.keymap.load_keymap` reads them from a device's
        `keymap.toml` (the ids are in screens/keys.py and screens/handheld.py);
        `busy_after`, seconds of work the operator waits on before the status line says
        it is busy; `idle_check`, seconds between looks at whether whoever signed in has
        gone `handheld.sign_out_minutes` without a scan (signed out then, on screen too).

        Sync: `sync_folder` holds the sync token (default: the SQLite file's folder, as
        `lotscan enroll` writes it); `sync_transport` replaces the network (tests);
        `sync_interval` seconds between background syncs, `sync_soon` seconds from a
        recorded scan to the next one, `sync_backoff` the waits after failures. Times are
        shown in `tz` (None: the local zone)."""
        super().__init__()
        self._device_keymap = dict(keymap or {})
        self.moved_keys = key_labels(self._device_keymap)  # for the menu and help
        self.cursor_blink = cursor_blink
        self._start = database if isinstance(database, DeviceStart) else None
        self.config = self._start.config if self._start else config or ScanConfig()
        self.device = self._start.device if self._start else device
        self.view = HandheldView(prompt=SIGN_IN_PROMPT)
        self._first_operator = operator
        self._waiting: deque[str | _IdleCheck] = deque()
        self._idle_check = idle_check
        self._lock = threading.Lock()
        self._draining = False
        self._delivering = False
        self._deliver_again = False
        # Keys and pastes that came before the scan field could take them; None once it can.
        self._early_input: list[events.Event] | None = []
        self.busy = BusySign(busy_after, self.set_timer, self._show_busy)
        self.clock = clock
        self.tz = tz
        self._sync_options = SyncOptions(
            sync_folder, sync_transport, sync_interval, sync_soon, sync_backoff
        )
        self.sync_status: SyncStatus | None = None  # None until the loop first reads it
        self._opened = threading.Event()
        self.open_failure: LotscanError | None = None  # the database did not open
        if not isinstance(database, DeviceStart):
            self._use(database)

    # ---- the database -------------------------------------------------------------------

    def _use(self, sessions: sessionmaker[Session]) -> None:
        """Sets the engine and the sync to work on `sessions`."""
        # Imported here: a start that read its database without the ORM (`DeviceStart`)
        # loads these in its worker, after the first frame.
        from scanner.workflows.engine import Handheld
        from sync.device.loop import SyncLink, SyncLoop

        options = self._sync_options
        engine_url = sessions.kw["bind"].url.render_as_string(hide_password=False)
        self._sessions = sessions
        self._handheld = Handheld(
            sessions, config=self.config, clock=self.clock, queue_labels=queue_labels
        )
        self._sync_link = SyncLink(
            sessions,
            options.folder or device_folder(engine_url),
            clock=self.clock,
            transport=options.transport,
        )
        self._sync_loop = SyncLoop(
            self._sync_link,
            lambda news: self.post_message(SyncNewsArrived(news)),
            interval=options.interval,
            soon=options.soon,
            backoff=options.backoff,
        )
        self._opened.set()

    @work(thread=True, group="open", exit_on_error=False, description="Opening the database")
    def _open_database(self, start: DeviceStart) -> None:
        """Opens the database the start read, with the ORM, off the event loop. Scans and
        the sync wait for it in their own workers (`_database`). Should it fail after the
        start read it (the file gone, the disk failing), the app ends and `lotscan` says
        why, as when a database does not open before the screen (`open_failure`)."""
        from scanner.db import open_database

        try:
            self._use(open_database(start.url))
        except Exception as error:  # the waiting workers must hear of any failure
            failure = error if isinstance(error, LotscanError) else LotscanError(str(error))
            self.open_failure = failure
            self._opened.set()
            self.call_from_thread(self.exit, None, 1)

    def _database(self) -> None:
        """Waits until the database is open; raises what kept it from opening. Blocks: for
        workers only."""
        self._opened.wait()
        if self.open_failure is not None:
            raise self.open_failure

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The database's session factory; waits for it to open (see `_database`)."""
        self._database()
        return self._sessions

    @property
    def handheld(self) -> Handheld:
        """The workflow engine; waits for the database to open (see `_database`)."""
        self._database()
        return self._handheld

    @property
    def sync_link(self) -> SyncLink:
        self._database()
        return self._sync_link

    @property
    def sync_loop(self) -> SyncLoop | None:
        """The background sync; None until the database is open. Never waits."""
        return self._sync_loop if self._opened.is_set() and not self.open_failure else None

    def has_operators(self) -> bool | None:
        """Whether anyone can sign in; None when the database cannot say (the sign-in's
        own refusal will). Read at start, or from the database: for workers only."""
        if self._start is not None:
            return self._start.has_operators
        from sqlalchemy.exc import DBAPIError

        from scanner.db import reading
        from scanner.operators import has_operators

        try:
            with reading(self.sessions) as session:
                return has_operators(session)
        except DBAPIError:
            return None

    def get_default_screen(self) -> HandheldScreen:
        return HandheldScreen()

    def get_key_display(self, binding: Binding) -> str:
        """Keys as a handheld's keypad prints them, also when a keymap moved them: `^R`,
        `F15`, not `^r`, `f15`."""
        return binding.key_display or key_label(binding.key)

    def on_mount(self) -> None:
        # The scan worker's statements each wait for the GIL behind the event loop's
        # rendering; a shorter switch interval hands it over sooner (bench tui_scan).
        sys.setswitchinterval(SWITCH_INTERVAL)
        if self._device_keymap:
            self.set_keymap(full_keymap(self._device_keymap))

    def on_unmount(self) -> None:
        if self.sync_loop is not None:
            self.sync_loop.stop()  # the thread ends; the app does not wait out its sleep
            if self._start is not None:  # the app opened the database: it closes it
                self._sessions.kw["bind"].dispose()

    # ---- keys at startup ----------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Holds back keys and pastes from the terminal until the scan field has the focus:
        before that Textual gives them to a screen with nothing focused, which drops them."""
        early = self._early_input
        if (
            early is not None
            and isinstance(event, events.Key | events.Paste)
            and not event.is_forwarded
        ):
            early.append(event)
            return
        await super().on_event(event)

    async def on_scan_field_ready(self, message: ScanFieldReady) -> None:
        """The first frame is drawn and the scan field has the focus: signs in the operator
        given at start, then hands the keys held back at startup to the field, in order,
        before any key that came after them (the app handles its messages one at a time),
        and starts the background sync."""
        early, self._early_input = self._early_input, None
        if early is None:
            return  # done already
        if self._start is not None:
            self._open_database(self._start)
        if self._first_operator:
            self.submit(f"{self.config.operator}{self._first_operator}")
        for event in early:
            await super().on_event(event)
        self._sync_in_background()
        self.set_interval(self._idle_check, self.look_for_idle_sign_in)

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
        self.busy.started("scan")
        self._drain()

    def look_for_idle_sign_in(self) -> None:
        """While someone is signed in and no scan is waiting, asks the engine, in turn with
        the scans, whether the sign-in has gone idle: the screen then asks for a badge at
        once, where it showed the last operator until the next scan. Not a scan: the
        status line does not say busy."""
        if self.view.operator is None or not self._opened.is_set():
            return
        with self._lock:
            if self._draining:
                return  # a scan is being handled: it is not idle
            self._waiting.append(IDLE_CHECK_TURN)
            self._draining = True
        self._drain()

    @work(thread=True, group="scan", exit_on_error=False, description="Handling scans")
    def _drain(self) -> None:
        """Hands the waiting scans to the engine one by one, until none wait."""
        try:
            self._database()
        except LotscanError:
            return  # the app ends, saying why (`_open_database`)
        while True:
            with self._lock:
                if not self._waiting:
                    self._draining = False
                    self.post_message(ScansDrained())
                    return
                raw = self._waiting.popleft()
            if isinstance(raw, _IdleCheck):
                try:
                    signed_out = self.handheld.sign_out_if_idle()
                except Exception:  # a look, not a scan: the next scan judges it again
                    signed_out = None
                if signed_out is not None:
                    self.post_message(ScanHandled("", signed_out))
                continue
            self.post_message(ScanHandled(raw, self._handle(raw)))

    def _handle(self, raw: str) -> Outcome:
        from sqlalchemy.exc import DBAPIError  # the database is open: loaded already

        from scanner.db import database_reason

        handheld = self.handheld  # waits for the database; raises when it could not open
        try:
            return handheld.handle(raw)
        except DBAPIError as error:
            problem = f"Not recorded, database error: {database_reason(error)}"
        except Exception as error:  # a scan must never take the handheld down
            problem = f"Not recorded: {error}"
        return handheld.failed(problem)

    def on_scan_handled(self, message: ScanHandled) -> None:
        outcome = message.outcome
        self.view = self.view.after(outcome)
        if outcome.response.beep:
            self.bell()
        if (outcome.response.recorded or outcome.response.decided) and self.sync_loop:
            self.sync_loop.nudge()
        for screen in self.screen_stack:
            if isinstance(screen, HandheldScreen):
                screen.render_view(self.view)
        if outcome.labels_queued:
            self._queue_changed()
            self._deliver()

    def on_scans_drained(self, _message: ScansDrained) -> None:
        if self.idle:  # else a scan came in since, and a new worker drains it
            self.busy.done("scan")

    @property
    def idle(self) -> bool:
        """No scan is waiting for, or being handled by, the engine."""
        with self._lock:
            return not self._draining

    # ---- busy ----------------------------------------------------------------------

    def _show_busy(self, busy: bool) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, HandheldScreen):
                screen.show_busy(busy)

    # ---- printing ---------------------------------------------------------------------

    def _deliver(self) -> None:
        if self._delivering:
            self._deliver_again = True
            return
        self._delivering = True
        self._deliver_labels()

    @work(thread=True, group="print", exit_on_error=False, description="Printing labels")
    def _deliver_labels(self) -> None:
        from sqlalchemy.exc import DBAPIError

        from labels.queue import deliver_waiting  # loaded when first needed, as in queue_labels

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
            if isinstance(screen, HandheldScreen) and screen.aside == "queue" and screen.drawable:
                screen.read_queue()

    # ---- sync ---------------------------------------------------------------------------

    @work(thread=True, group="sync", exit_on_error=False, description="Syncing")
    def _sync_in_background(self) -> None:
        worker = get_current_worker()
        try:
            self._database()
        except LotscanError:
            return  # the app ends, saying why (`_open_database`)
        assert self.sync_loop is not None
        self.sync_loop.run(cancelled=lambda: worker.is_cancelled or not self.is_running)

    def sync_soon(self) -> None:
        """Something happened the store should hear of (or has news about): sync soon."""
        if self.sync_loop is not None:
            self.sync_loop.nudge()

    def on_sync_news_arrived(self, message: SyncNewsArrived) -> None:
        self.sync_status = message.news.status
        config = message.news.config
        if config is not None and config != self.config:
            self._scan_by(config)
        for screen in self.screen_stack:
            if isinstance(screen, HandheldScreen):
                screen.show_sync()
        if message.news.report is not None or message.news.failure is not None:
            self._queue_changed()

    def _scan_by(self, config: ScanConfig) -> None:
        """Scans from now on are read by `config`, the scan settings the database holds now
        (a site-wide one the sync pulled, or one set while the app ran): the next scan, the
        keys that send commands, and the help. A scan being handled keeps the settings it
        was read by."""
        self.config = config
        self._handheld.config = config
        for screen in self.screen_stack:
            if isinstance(screen, HandheldScreen):
                screen.show_config(config)

    def sync_words(self) -> tuple[str, str, bool]:
        """The sync on the status line: short, long, and whether it should stand out."""
        status, now = self.sync_status, self.clock()
        return sync_short(status, now, self.tz), sync_long(status, now, self.tz), offline(status)
