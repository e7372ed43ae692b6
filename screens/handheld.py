"""The handheld screen, the app's only screen: the prompt, the scan field, the last feedback
in a fixed place, and below them one of three panels: sign-in, the work (details of the
last answer, such as a pick list or a lookup, beside what this workflow has recorded), or
help.

One screen with one scan field for the app's whole life, on purpose: a Textual screen owns
its focus, so switching screens while a scanner is sending (sign-in, then the next scan
right behind it; help opened mid-burst) would split a scan between two fields or drop it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Log, Static

from screens.feedback import Feedback
from screens.help import HelpPanel
from screens.keys import COMMAND_KEYS, STARTS, menu_lines
from screens.scan_field import ScanField
from screens.sign_in import SignInPanel
from screens.status_bar import StatusBar
from screens.view import HandheldView

if TYPE_CHECKING:
    from screens.app import LotscanApp


class WorkLog(Log, can_focus=False):
    """What this workflow recorded, newest at the bottom; the scan field keeps the focus."""


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
        Binding("pageup", "page(-1)", "Page up", show=False, id="page-up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="page-down"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.help_open = False
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
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # The panels' own children may still be mounting: draw once they are all there.
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        self.ready = True
        self.render_view(self.lotscan.view)

    # ---- keys -------------------------------------------------------------------------

    def action_command(self, command: str) -> None:
        if self.help_open and command == "CANCEL":
            self.action_help()  # Esc closes help first
            return
        self.lotscan.send_command(command)

    def action_help(self) -> None:
        self.help_open = not self.help_open
        self.render_view(self.lotscan.view)

    def action_page(self, direction: int) -> None:
        panel = self.query_one("#help" if self.help_open else "#details-box", VerticalScroll)
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
        if command == "CANCEL" and self.help_open:
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
        panel = "help" if self.help_open else "sign-in" if view.operator is None else "work"
        self.query_one(ContentSwitcher).current = panel
        self.refresh_bindings()
