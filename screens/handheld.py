"""The handheld screen, the app's only screen: the prompt, the scan field, the last feedback
in a fixed place, and below them one of five panels: sign-in, the work (details of the
last answer, such as a pick list or a lookup, beside what this workflow has recorded), help,
the device's queue, or (for a supervisor) the central store's devices and exceptions.

The sign-in and work panels are built with the screen; help, the queue and the supervisor's
panel the first time they are shown, so a start does not build what its first frame hides.

One screen with one scan field for the app's whole life, on purpose: a Textual screen owns
its focus, so switching screens while a scanner is sending (sign-in, then the next scan
right behind it; help opened mid-burst) would split a scan between two fields or drop it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.cells import cell_len, chop_cells
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Log, Static
from textual.worker import get_current_worker

from scanner.errors import LotscanError
from scanner.plain_text import shown, shown_lines
from screens.feedback import Feedback
from screens.help import HelpPanel
from screens.key_bar import KeyBar
from screens.keys import (
    COMMAND_KEYS,
    DECIDE_KEYS,
    QUALITY_ONLY,
    QUEUE_KEY,
    REFRESH_KEY,
    RESOLVE_KEYS,
    STARTS,
    SUPERVISOR_KEY,
    footer_order,
    footer_rank,
    menu_lines,
)
from screens.messages import QueueRead, ScanFieldReady
from screens.queue_panel import QueuePanel
from screens.scan_field import ScanField
from screens.sign_in import SignInPanel
from screens.status_bar import StatusBar, renew
from screens.supervisor import SupervisorChanged, SupervisorPanel
from screens.supervisor_lines import ACTIONS
from screens.view import HandheldView

if TYPE_CHECKING:
    from scanner.scan import ScanConfig
    from screens.app import LotscanApp


class WorkLog(Log, can_focus=False):
    """What this workflow recorded, newest at the bottom; the scan field keeps the focus.

    A line wider than the log goes on in the rows below it, indented, where the log used
    to cut it at the screen's edge: at 40 columns "Moved 5 ea of BOLT-M6 lot L-2026-0412 to
    RACK-A-01" lost where it went."""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, auto_scroll=True)
        self.recorded: list[str] = []
        """The lines as recorded, each shown in one or more rows."""
        self._width = 0

    def show(self, recorded: list[str]) -> None:
        """Shows `recorded` (already spelled out for a terminal), newest in view."""
        width = self.scrollable_content_region.width
        if recorded == self.recorded and width == self._width:
            return
        self.recorded, self._width = recorded, width
        self.clear()
        self.write_lines([row for line in recorded for row in rows_of(line, width)])
        # Written anew (an undo, say), the log scrolls to its end only once its new
        # height is laid out: scrolled at once, it stopped short of its newest lines.
        self.call_after_refresh(self.scroll_end, animate=False)

    def on_resize(self) -> None:
        if self.recorded and self.scrollable_content_region.width != self._width:
            self.show(self.recorded)


CONTINUED = "  "
"""What a log line's second and later rows begin with."""


def rows_of(line: str, width: int) -> list[str]:
    """`line` in rows of at most `width` cells, broken between words where it can, each row
    after the first indented by `CONTINUED`. A log not laid out yet (width 0) or too narrow
    for any of that takes the line whole."""
    if cell_len(line) <= width or width <= 2 * len(CONTINUED):
        return [line]
    rows: list[str] = []
    row = ""
    for word in line.split(" "):
        gap = " " if row.strip() else ""
        if cell_len(row + gap + word) <= width:
            row += gap + word
        elif row.strip() and cell_len(CONTINUED + word) <= width:
            rows.append(row)
            row = CONTINUED + word
        else:  # wider than a row (a long lot number): folded where this row ends
            row += gap + word
            while cell_len(row) > width:
                head = chop_cells(row, width)[0]
                rows.append(head.rstrip())
                row = CONTINUED + row[len(head) :].lstrip()
    rows.append(row)
    return rows


# Panels shown over the work area until their key or Esc.
ASIDES = ("help", "queue", "supervisor")
COMMAND_IDS = {command.lower(): command for _, _, command, _ in COMMAND_KEYS}
COMMAND_ACTIONS = {f"command('{command}')": command for _, _, command, _ in COMMAND_KEYS}
DECIDES = frozenset(command for _, _, command, _ in DECIDE_KEYS)


class HandheldScreen(Screen[None]):
    AUTO_FOCUS = "ScanField"
    # When two bindings share a key, the first one live wins: Esc closes a panel before it
    # cancels a line; F2..F5 resolve an exception while the supervisor panel is up.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop_asking", "Back", key_display="Esc", id="back"),
        Binding("escape", "close", "Close", key_display="Esc", id="close"),
        *(
            Binding(
                key,
                f"resolve('{action}')",
                ACTIONS[action].label,
                key_display=shown,
                id=f"resolve-{action}",
                tooltip=f"Resolve the chosen exception: {action}",
            )
            for key, shown, action in RESOLVE_KEYS
        ),
        Binding(
            REFRESH_KEY[0],
            "refresh_oversight",
            "Refresh",
            key_display=REFRESH_KEY[1],
            id="refresh",
            tooltip="Ask the central store again",
        ),
        Binding("up", "choose(-1)", "Previous", show=False, id="choose-previous"),
        Binding("down", "choose(1)", "Next", show=False, id="choose-next"),
        Binding("f1", "help", "Help", key_display="F1", id="help", tooltip="The scan language"),
        *(
            Binding(
                key,
                f"command('{command}')",
                label,
                key_display=shown,
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
            id="queue",
            tooltip="Labels waiting to print; movements waiting to sync",
        ),
        Binding(
            SUPERVISOR_KEY,
            "supervisor",
            "Supervisor",
            key_display="^O",
            id="supervisor",
            tooltip="Devices and exceptions at the central store",
        ),
        Binding("pageup", "page(-1)", "Page up", show=False, id="page-up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="page-down"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.aside: str | None = None  # one of ASIDES while it is shown
        self.ready = False  # every widget is mounted and the view drawn once

    @property
    def lotscan(self) -> LotscanApp:
        return cast("LotscanApp", self.app)

    @property
    def drawable(self) -> bool:
        """Ready, and the app not shutting down: a worker's news (a scan answered, the sync
        status) can arrive while the screen's widgets are being removed."""
        return self.ready and self.app.is_running

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="prompt", markup=False)
        yield ScanField(id="scan", blink=self.lotscan.cursor_blink, command_for=self.command_scan)
        yield Feedback(id="feedback")
        with ContentSwitcher(initial="sign-in", id="panels"):
            yield SignInPanel(id="sign-in")
            with Horizontal(id="work"):
                with VerticalScroll(id="details-box", can_focus=False):
                    yield Static("", id="details", markup=False)
                yield WorkLog(id="log")
        yield KeyBar(self.footer_rank, footer_order, self.in_footer)

    def on_mount(self) -> None:
        # The panels' own children may still be mounting: draw once they are all there.
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        self.ready = True
        self.set_focus(self.query_one(ScanField))
        self.app.post_message(ScanFieldReady())
        self.render_view(self.lotscan.view)
        self.show_busy(self.lotscan.busy.shown)
        self.show_sync()

    @property
    def supervisor_panel(self) -> SupervisorPanel:
        return self.query_one(SupervisorPanel)

    # ---- keys -------------------------------------------------------------------------

    def action_command(self, command: str) -> None:
        self.lotscan.send_command(command)

    def command_scan(self, key: str) -> str | None:
        """The scan a key stands for now (F2: `CMD:RECEIVE`, in this site's prefix), for
        the scan field to send in its turn; None when the key is live for something else
        (over the supervisor panel, say) or for nothing."""
        active = self.active_bindings.get(key)
        if active is None or not active.enabled:
            return None
        command = COMMAND_ACTIONS.get(active.binding.action)
        return None if command is None else f"{self.lotscan.config.command}{command}"

    def action_stop_asking(self) -> None:
        """Esc while the supervisor panel asks: no answer after all."""
        self.supervisor_panel.stop_asking()

    async def action_close(self) -> None:
        if self.aside is not None:
            await self._toggle(self.aside)

    async def action_help(self) -> None:
        await self._toggle("help")

    async def action_queue(self) -> None:
        await self._toggle("queue")

    async def action_supervisor(self) -> None:
        await self._toggle("supervisor")

    def action_resolve(self, action: str) -> None:
        self.supervisor_panel.begin(action)

    def action_choose(self, step: int) -> None:
        self.supervisor_panel.choose(step)

    def action_refresh_oversight(self) -> None:
        self.supervisor_panel.load()

    async def _toggle(self, aside: str) -> None:
        shown = None if self.aside == aside else aside
        if shown is not None:
            await self._mount_aside(shown)  # before `aside` names it: render_view shows it
        if self.aside == "supervisor":
            self.supervisor_panel.stop_asking()  # a question is not left hanging unseen
        self.aside = shown
        if self.aside == "queue":
            self.read_queue()
        elif self.aside == "supervisor":
            self.supervisor_panel.load()
        self.render_view(self.lotscan.view)

    async def _mount_aside(self, aside: str) -> None:
        """Builds the panel `aside` (one of ASIDES) the first time it is to be shown."""
        switcher = self.query_one(ContentSwitcher)
        if switcher.query_children(f"#{aside}"):
            return
        panel: Widget
        if aside == "help":
            panel = HelpPanel(self.lotscan.config, self.lotscan.moved_keys, id=aside)
        elif aside == "queue":
            panel = QueuePanel(id=aside)
        else:
            panel = SupervisorPanel(id=aside)
        await switcher.add_content(panel)

    def action_page(self, direction: int) -> None:
        panel = self.query_one(f"#{self.aside or 'details-box'}", VerticalScroll)
        if direction > 0:
            panel.scroll_page_down()
        else:
            panel.scroll_page_up()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Which keys are live. A command key is the scan of `CMD:<command>` and is always
        live, whatever the screen shows yet: it joins the scans in the queue, so F2 pressed
        right behind a badge scan starts RECEIVE once the badge is taken, and one that does
        not fit the step gets the engine's answer, as the scan would. Over the supervisor
        panel the function keys resolve the chosen exception instead. (Which keys the footer
        shows is `in_footer`.)"""
        overseeing = self.aside == "supervisor"
        if action == "stop_asking":
            return overseeing and self.supervisor_panel.asking is not None
        if action == "close":
            return self.aside is not None
        if action in ("resolve", "choose", "refresh_oversight"):
            return overseeing and self._oversight_allows(action, parameters)
        if action == "supervisor":
            return self.lotscan.view.supervisor
        if action == "command":
            return not overseeing
        return True

    def in_footer(self, binding: Binding) -> bool:
        """Only the keys of the step are in the footer (one line at 40 columns): at the
        menu the workflows, inside one its controls, OK only while a warning waits."""
        command = COMMAND_IDS.get(binding.id or "")
        if command is None:
            return True
        view = self.lotscan.view
        if view.operator is None:
            return False
        if command in view.offers:
            return True
        if view.workflow is None:
            return command in STARTS and (view.quality or command not in QUALITY_ONLY)
        if command == "OK":
            return view.awaiting_confirmation
        return command not in STARTS and command not in DECIDES

    def footer_rank(self, binding: Binding) -> int:
        """Which keys the footer keeps first (`screens.keys.FOOTER_RANK`); the commands the
        step offers (HOLD's hold, release and recall) before all others: they are the step."""
        if COMMAND_IDS.get(binding.id or "") in self.lotscan.view.offers:
            return -1
        return footer_rank(binding)

    def _oversight_allows(self, action: str, parameters: tuple[object, ...]) -> bool:
        panel = self.supervisor_panel
        if action == "resolve":
            return bool(parameters) and panel.can(str(parameters[0]))
        if action == "choose":
            return panel.asking is None and panel.exception is not None
        return panel.asking is None

    # ---- scans the supervisor panel asked for ---------------------------------------------

    @on(ScanField.Scanned)
    def _answer_supervisor(self, message: ScanField.Scanned) -> None:
        """While the supervisor panel asks (a count, a reason), the next entry answers it;
        any other scan goes on to the engine."""
        if self.aside == "supervisor" and self.supervisor_panel.asking is not None:
            message.stop()
            self.supervisor_panel.answer(message.raw)

    def on_supervisor_changed(self, message: SupervisorChanged) -> None:
        message.stop()
        self.render_view(self.lotscan.view)

    # ---- what it shows ----------------------------------------------------------------

    def render_view(self, view: HandheldView) -> None:
        """Shows `view`; called for each scan answered."""
        if not self.drawable:
            return  # _ready draws the latest view (unless the app is closing)
        if self.aside == "supervisor" and not view.supervisor:
            self.aside = None  # someone else signed in
        where = "lotscan" if view.operator is None else view.workflow or "MENU"
        self.query_one(StatusBar).show(where, view.operator, self.lotscan.device)
        asking = self.supervisor_panel.question if self.aside == "supervisor" else None
        prompt = asking or view.prompt
        # What the database holds reaches the terminal spelled out ("Text at the doors").
        renew(self.query_one("#prompt", Static), shown(prompt))
        self.query_one(Feedback).show(view.message, view.level)
        moved = self.lotscan.moved_keys
        menu = menu_lines(moved, quality=view.quality) if view.workflow is None else ()
        details = view.details or menu
        text, shown_now = shown_lines(details), self.query_one("#details", Static)
        if shown_now.content != text:  # a new answer, read from its top
            self.query_one("#details-box").scroll_home(animate=False)
            shown_now.update(text)
        self.query_one("#details-box").display = bool(details)
        self.query_one(WorkLog).show([shown(line) for line in view.log])
        panel = self.aside or ("sign-in" if view.operator is None else "work")
        self.query_one(ContentSwitcher).current = panel
        self.refresh_bindings()

    def show_busy(self, busy: bool) -> None:
        """The status line says whether work the operator waits on is taking a while."""
        if self.drawable:
            self.query_one(StatusBar).busy(busy)

    def show_config(self, config: ScanConfig) -> None:
        """The help, once built, says the scan settings `config` holds."""
        for panel in self.query(HelpPanel):
            panel.show(config)

    def show_sync(self) -> None:
        """The status line shows the sync as the app last heard of it."""
        if self.drawable:
            short, long, alert = self.lotscan.sync_words()
            self.query_one(StatusBar).show_sync(short, long, alert=alert)

    # ---- the queue --------------------------------------------------------------------

    def read_queue(self) -> None:
        """Reads the queue into its panel, off the event loop; the panel says it is reading
        meanwhile."""
        self.query_one(QueuePanel).reading()
        self.lotscan.busy.started("queue")
        self._read_queue()

    @work(thread=True, exclusive=True, group="queue", exit_on_error=False)
    def _read_queue(self) -> None:
        # Imported here, in the worker: the ORM is not for the first frame to wait on.
        from sqlalchemy.exc import DBAPIError

        from scanner.db import reading
        from screens.queue import queue_lines

        app = self.lotscan
        try:
            with reading(app.sessions) as session:
                lines = queue_lines(session, app.sync_link.folder, app.clock(), app.tz)
        except (LotscanError, DBAPIError) as error:
            lines = (f"The queue could not be read: {error}",)
        if not get_current_worker().is_cancelled:  # else a newer read is on its way
            self.post_message(QueueRead(lines))

    def on_queue_read(self, message: QueueRead) -> None:
        self.lotscan.busy.done("queue")
        self.query_one(QueuePanel).show(message.lines)
