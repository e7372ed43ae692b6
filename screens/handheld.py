"""The handheld screen, the app's only screen: the prompt, the scan field, the last feedback
in a fixed place, and below them one of four panels: sign-in, the work (details of the
last answer, such as a pick list or a lookup, beside what this workflow has recorded), help
or the device's queue.

One screen with one scan field for the app's whole life, on purpose: a Textual screen owns
its focus, so switching screens while a scanner is sending (sign-in, then the next scan
right behind it; help opened mid-burst) would split a scan between two fields or drop it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from sqlalchemy.exc import DBAPIError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Log, Static

from scanner.errors import LotscanError
from screens.feedback import Feedback
from screens.help import HelpPanel
from screens.keys import COMMAND_KEYS, QUEUE_KEY, STARTS, menu_lines
from screens.queue import QueuePanel, queue_lines
from screens.scan_field import ScanField
from screens.sign_in import SignInPanel
from screens.status_bar import StatusBar
from screens.view import HandheldView

if TYPE_CHECKING:
    from screens.app import LotscanApp


class WorkLog(Log, can_focus=False):
    """What this workflow recorded, newest at the bottom; the scan field keeps the focus."""


@dataclass
class QueueRead(Message):
    """What the queue panel should show, read by a worker."""

    lines: tuple[str, ...]


class HandheldScreen(Screen[None]):
    AUTO_FOCUS = "ScanField"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", key_display="F1", id="help", tooltip="The scan language"),
        *(
            Binding(
                key,
                f"command('{command}')",
                label,
                key_display=shown,
                show=command != "GEN",  # no room at 40 columns; help lists it
                id=command.lower(),
                tooltip=f"Same as scanning CMD:{command}",
            )
            for key, shown, command, label in COMMAND_KEYS
        ),
        Binding(
            QUEUE_KEY,
            "queue",
            "Queue",
            key_display="^P",
            show=False,  # no room at 40 columns; help lists it
            id="queue",
            tooltip="Labels waiting to print; movements waiting to sync",
        ),
        Binding("pageup", "page(-1)", "Page up", show=False, id="page-up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="page-down"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # A panel shown over the work area until its key or Esc: "help", "queue" or None.
        self.aside: str | None = None
        self.ready = False  # every widget is mounted and the view drawn once

    @property
    def lotscan(self) -> LotscanApp:
        return cast("LotscanApp", self.app)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="prompt", markup=False)
        yield ScanField(id="scan", blink=self.lotscan.cursor_blink)
        yield Feedback(id="feedback")
        with ContentSwitcher(initial="sign-in", id="panels"):
            yield SignInPanel(id="sign-in")
            with Horizontal(id="work"):
                with VerticalScroll(id="details-box", can_focus=False):
                    yield Static("", id="details", markup=False)
                yield WorkLog(id="log", auto_scroll=True)
            yield HelpPanel(self.lotscan.config, id="help")
            yield QueuePanel(id="queue")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # The panels' own children may still be mounting: draw once they are all there.
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        self.ready = True
        self.render_view(self.lotscan.view)

    # ---- keys -------------------------------------------------------------------------

    def action_command(self, command: str) -> None:
        if self.aside is not None and command == "CANCEL":
            self._toggle(self.aside)  # Esc closes help or the queue first
            return
        self.lotscan.send_command(command)

    def action_help(self) -> None:
        self._toggle("help")

    def action_queue(self) -> None:
        self._toggle("queue")

    def _toggle(self, aside: str) -> None:
        self.aside = None if self.aside == aside else aside
        if self.aside == "queue":
            self.read_queue()
        self.render_view(self.lotscan.view)

    def action_page(self, direction: int) -> None:
        panel = self.query_one(f"#{self.aside or 'details-box'}", VerticalScroll)
        if direction > 0:
            panel.scroll_page_down()
        else:
            panel.scroll_page_up()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the keys of the step are live and in the footer (one line at 40 columns):
        at the menu the workflows, inside one its controls, OK only while a warning waits.
        A `CMD:` scan still does anything at any time."""
        if action != "command" or not parameters:
            return True
        view = self.lotscan.view
        command = parameters[0]
        if command == "CANCEL" and self.aside is not None:
            return True
        if view.operator is None:
            return False
        if view.workflow is None:
            return command in STARTS
        if command == "OK":
            return view.awaiting_confirmation
        return command not in STARTS

    # ---- what it shows ----------------------------------------------------------------

    def render_view(self, view: HandheldView) -> None:
        """Shows `view`; called for each scan answered."""
        if not self.ready:
            return  # _ready draws the latest view
        where = "lotscan" if view.operator is None else view.workflow or "MENU"
        self.query_one(StatusBar).show(where, view.operator, self.lotscan.device)
        self.query_one("#prompt", Static).update(view.prompt)
        self.query_one(Feedback).show(view.message, view.level)
        details = view.details or (menu_lines() if view.workflow is None else ())
        self.query_one("#details", Static).update("\n".join(details))
        self.query_one("#details-box").display = bool(details)
        log = self.query_one(WorkLog)
        if list(log.lines) != list(view.log):
            log.clear()
            log.write_lines(view.log)
        panel = self.aside or ("sign-in" if view.operator is None else "work")
        self.query_one(ContentSwitcher).current = panel
        self.refresh_bindings()

    # ---- the queue --------------------------------------------------------------------

    def read_queue(self) -> None:
        """Reads the queue into its panel, off the event loop; the panel says it is reading
        meanwhile."""
        self.query_one(QueuePanel).reading()
        self._read_queue()

    @work(thread=True, exclusive=True, group="queue", exit_on_error=False)
    def _read_queue(self) -> None:
        try:
            with self.lotscan.sessions() as session:
                lines = queue_lines(session)
        except (LotscanError, DBAPIError) as error:
            lines = (f"The queue could not be read: {error}",)
        self.post_message(QueueRead(lines))

    def on_queue_read(self, message: QueueRead) -> None:
        self.query_one(QueuePanel).show(message.lines)
