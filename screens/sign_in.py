"""Sign-in: what the handheld screen shows until a badge is scanned."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import work
from textual.message import Message
from textual.widgets import Static

if TYPE_CHECKING:
    from screens.app import LotscanApp

SIGN_IN_TEXT = "Sign in\n\nScan the barcode on your badge.\nF1: help, the scan language."
FIRST_RUN_TEXT = (
    f"{SIGN_IN_TEXT}\n\nNobody can sign in yet: add an\noperator at a terminal with\n"
    "lotscan operators add BADGE NAME"
)


class SignInPanel(Static):
    """Shown in place of the work area while nobody is signed in. The scan field stays the
    screen's one field, so a badge scan and the scans right behind it all land there. On a
    database with no operators yet (a fresh workspace) it says how to add one."""

    class NobodyYet(Message):
        """The database has no operators: nobody can sign in."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(SIGN_IN_TEXT, markup=False, id=id)

    def on_mount(self) -> None:
        self._look_for_operators()

    @work(thread=True, exit_on_error=False, group="sign-in")
    def _look_for_operators(self) -> None:
        """Off the event loop, as every database read of the screen. None, a database that
        cannot say, is left to the sign-in's own refusal to explain."""
        if cast("LotscanApp", self.app).has_operators() is False:
            self.post_message(self.NobodyYet())

    def on_sign_in_panel_nobody_yet(self, _message: NobodyYet) -> None:
        self.update(FIRST_RUN_TEXT)
