"""The supervisor panel (Ctrl+O, for an operator whose role is supervisor): the central
store's devices and open exceptions, and the four ways to resolve the chosen exception.

It talks to the store with `sync.device.client.SupervisorClient` and this handheld's token, in
thread workers; the store decides whether that token is a supervisor's and says so if not.
An action that needs words or a number (a count, why a movement is voided or a flag
dismissed) asks in the prompt line and takes the answer from the scan field, one prompt at
a time as everything else on the handheld.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from scanner.errors import LotscanError
from scanner.plain_text import shown
from scanner.quantity import format_quantity, to_quantity
from scanner.scan import read_scan
from screens.supervisor_lines import (
    ACTIONS,
    ADJUST,
    CHOSEN,
    Action,
    Oversight,
    Row,
    actions_for,
    count_question,
    oversight_lines,
)

if TYPE_CHECKING:
    from screens.app import LotscanApp

ASKING_STORE = "Asking the central store..."
CANNOT_ASK = "Cannot show the supervisor's view: "
PAGE = 50
"""Exceptions read at a time: the next page is read when the choice goes past the last."""


@dataclass
class OversightRead(Message):
    """The store's answer (or why there is none), read by a worker."""

    oversight: Oversight


@dataclass
class MoreRead(Message):
    """The next page of open exceptions (or why there is none), read by a worker."""

    exceptions: tuple[Row, ...]
    problem: str | None = None


@dataclass
class Resolved(Message):
    """An exception the store resolved, or why it did not."""

    row: Row | None
    problem: str | None = None


class SupervisorChanged(Message):
    """What the screen shows around the panel (prompt, keys) may have changed."""


class SupervisorPanel(VerticalScroll, can_focus=False):
    """Shown in place of the work area; the scan field keeps the focus."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.oversight: Oversight | None = None  # None while the store is being asked
        self.chosen = 0
        self.asking: Action | None = None

    @property
    def lotscan(self) -> LotscanApp:
        return cast("LotscanApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(ASKING_STORE, markup=False, id="supervisor-text")

    # ---- what the screen asks of it -----------------------------------------------------

    @property
    def exception(self) -> Row | None:
        """The chosen open exception, if any."""
        if self.oversight is None or not self.oversight.exceptions:
            return None
        return self.oversight.exceptions[min(self.chosen, len(self.oversight.exceptions) - 1)]

    @property
    def question(self) -> str | None:
        """What the prompt line asks while an answer is awaited; None when none is."""
        action, chosen = self.asking, self.exception
        if action is ADJUST and chosen is not None:
            return count_question(chosen)
        return action.question if action is not None else None

    def can(self, action: str) -> bool:
        """Whether `action` may resolve the chosen exception now."""
        chosen = self.exception
        return self.asking is None and chosen is not None and action in actions_for(chosen)

    def load(self, *notes: str) -> None:
        """Asks the store for its devices and open exceptions; `notes` stay on top."""
        self.oversight = None
        self.asking = None
        self._draw()
        self.lotscan.busy.started("supervisor")
        self._read(notes)

    def choose(self, step: int) -> None:
        oversight = self.oversight
        if not (oversight and oversight.exceptions and self.asking is None):
            return
        last = len(oversight.exceptions) - 1
        if step > 0 and self.chosen == last and oversight.more:
            self._read_more(int(oversight.exceptions[-1]["id"]))
            return
        self.chosen = (self.chosen + step) % len(oversight.exceptions)
        self._changed()

    def begin(self, name: str) -> None:
        """The key of `name` was pressed: act now, or ask first."""
        chosen = self.exception
        if chosen is None or not self.can(name):
            return
        action = ACTIONS[name]
        if action.needs_answer:
            self.asking = action
            self._changed()
        else:
            self._start_resolving(chosen, action.name)

    def answer(self, text: str) -> None:
        """What was typed in the scan field for the question being asked."""
        action, chosen = self.asking, self.exception
        if action is None or chosen is None:
            return
        if action is ACTIONS["adjust"]:
            try:
                qty = to_quantity(text.strip())
            except (LotscanError, ValueError, ArithmeticError):
                qty = Decimal(-1)
            if qty < 0:
                self._note(f"{text.strip()} is not a count: type the quantity counted, 0 or more")
                self.app.bell()
                return
            self.asking = None
            self._start_resolving(chosen, action.name, qty=qty)
        else:
            # A reason as HOLD takes one: a badge or a command scanned here (the device
            # handed over, a workflow started) is not a reason, and must not void anything.
            # Imported here: the workflows load the ORM, which the first frame goes without.
            from scanner.workflows.hold import reason_of

            try:
                reason = reason_of(read_scan(text, self.lotscan.config))
            except LotscanError as problem:
                self._note(f"{shown(text.strip())}: {problem}")
                self.app.bell()
                return
            self.asking = None
            self._start_resolving(chosen, action.name, reason=reason)

    def stop_asking(self) -> bool:
        """Esc while a question is asked drops the question; False when none was."""
        if self.asking is None:
            return False
        self.asking = None
        self._changed()
        return True

    # ---- the store, off the event loop -----------------------------------------------

    @work(thread=True, exclusive=True, group="supervisor", exit_on_error=False)
    def _read(self, notes: tuple[str, ...]) -> None:
        from sqlalchemy.exc import DBAPIError  # loaded by now: the panel opens after a sign-in

        try:
            with self.lotscan.sync_link.supervisor() as client:
                devices = tuple(client.devices())
                exceptions = tuple(client.exceptions("open", limit=PAGE))
        except (LotscanError, DBAPIError) as error:
            oversight = Oversight(problem=f"{CANNOT_ASK}{error}", notes=notes)
        else:
            oversight = Oversight(devices, exceptions, notes=notes, more=len(exceptions) == PAGE)
        if not get_current_worker().is_cancelled:  # else a newer read is on its way
            self.post_message(OversightRead(oversight))

    def on_oversight_read(self, message: OversightRead) -> None:
        message.stop()
        self.lotscan.busy.done("supervisor")
        self.oversight = message.oversight
        if message.oversight.exceptions:
            self.chosen = min(self.chosen, len(message.oversight.exceptions) - 1)
        self._changed()

    @work(thread=True, exclusive=True, group="supervisor-more", exit_on_error=False)
    def _read_more(self, after: int) -> None:
        from sqlalchemy.exc import DBAPIError

        try:
            with self.lotscan.sync_link.supervisor() as client:
                page = tuple(client.exceptions("open", after=after, limit=PAGE))
        except (LotscanError, DBAPIError) as error:
            self.post_message(MoreRead((), f"{CANNOT_ASK}{error}"))
        else:
            self.post_message(MoreRead(page))

    def on_more_read(self, message: MoreRead) -> None:
        """The next page joins the list, and the choice moves on to its first."""
        message.stop()
        oversight = self.oversight
        if oversight is None:  # read again meanwhile: that read brings its own first page
            return
        if message.problem is not None:
            self.app.bell()
            self._note(message.problem)
            return
        self.oversight = replace(
            oversight,
            exceptions=oversight.exceptions + message.exceptions,
            more=len(message.exceptions) == PAGE,
        )
        if message.exceptions:
            self.chosen = len(oversight.exceptions)
        self._changed()

    def _start_resolving(
        self, row: Row, action: str, qty: Decimal | None = None, reason: str | None = None
    ) -> None:
        self._note(f"{ACTIONS[action].label}: asking the store...")
        self.lotscan.busy.started("supervisor")
        self._resolve(int(row["id"]), action, qty, reason, self.lotscan.view.operator)

    @work(thread=True, group="supervisor-resolve", exit_on_error=False)
    def _resolve(
        self,
        exception_id: int,
        action: str,
        qty: Decimal | None,
        reason: str | None,
        operator: str | None,
    ) -> None:
        from sqlalchemy.exc import DBAPIError

        try:
            # The decision is the signed-in supervisor's only while the sign-in holds: one
            # gone idle is ended (the screen then asks for a badge), else it goes on.
            idle = self.lotscan.handheld.idle_words()
            if idle is not None:
                self.post_message(Resolved(None, f"Not resolved: {idle}"))
                self.app.call_from_thread(self.lotscan.look_for_idle_sign_in)
                return
            self.lotscan.handheld.note_activity()
            with self.lotscan.sync_link.supervisor() as client:
                row: dict[str, Any] = client.resolve(
                    exception_id,
                    action,
                    qty=format_quantity(qty) if qty is not None else None,
                    reason=reason or None,
                    operator=operator,
                )
        except (LotscanError, DBAPIError) as error:
            self.post_message(Resolved(None, f"Not resolved: {error}"))
        else:
            self.post_message(Resolved(row))

    def on_resolved(self, message: Resolved) -> None:
        message.stop()
        self.lotscan.busy.done("supervisor")
        if message.row is None:
            self.app.bell()
            self._note(message.problem or "Not resolved")
            return
        row = message.row
        self.lotscan.sync_soon()  # the store has news for this handheld too
        self.load(f"Resolved {row.get('id')}: {row.get('resolution') or row.get('status')}")

    # ---- drawing --------------------------------------------------------------------------

    def _note(self, text: str) -> None:
        if self.oversight is not None:
            self.oversight = replace(self.oversight, notes=(text,))
        self._changed()

    def _changed(self) -> None:
        self._draw()
        self.post_message(SupervisorChanged())

    def _draw(self) -> None:
        text = self.query_one("#supervisor-text", Static)
        if self.oversight is None:
            text.update(ASKING_STORE)
            return
        app = self.lotscan
        lines = oversight_lines(self.oversight, self.chosen, app.clock(), app.tz)
        drawn = Text()
        for number, line in enumerate(lines):
            # The chosen exception stands out, so a supervisor sees what F2..F5 act on. The
            # store's words are spelled out: Rich's Text keeps an ESC it is given.
            drawn.append(shown(line), style="bold reverse" if line.startswith(CHOSEN) else "")
            if number < len(lines) - 1:
                drawn.append("\n")
        text.update(drawn)
