"""The top line: where the operator is (the workflow), whether work is under way, the sync,
who is signed in and on which device.

Each part that needs fewer words at 40 columns has a short and a long widget; the
stylesheet shows one or the other by the screen's width (`-narrow`, `-wide`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Static

from scanner.plain_text import shown


def renew(line: Static, text: str) -> None:
    """Shows `text` on `line` unless it shows it already. Every scan's answer redraws the
    screen's lines, and most of them (where the operator is, who, the sync, the prompt) say
    what they said before: a `Static.update` lays the whole screen out again even then."""
    if line.content != text:
        line.update(text)


# A turning bar, in plain ASCII: a handheld's terminal font may lack anything fancier.
SPINNER = "|/-\\"
BUSY = "busy"


class StatusBar(Horizontal):
    """`RECEIVE ........ ↑3 online 10:42 B1001`: one line, no border."""

    def __init__(self) -> None:
        super().__init__()
        self._spinner: Timer | None = None
        self._turn = 0
        self._who: tuple[str | None, str] = (None, "")
        self._syncing = False  # the sync has words on the line

    def compose(self) -> ComposeResult:
        yield Static("", id="where", markup=False)
        yield Static("", id="busy", markup=False)
        yield Static("", id="sync", classes="short", markup=False)
        yield Static("", id="sync-long", classes="long", markup=False)
        yield Static("", id="who", classes="short", markup=False)
        yield Static("", id="who-long", classes="long", markup=False)

    def show(self, where: str, operator: str | None, device: str) -> None:
        renew(self.query_one("#where", Static), shown(where))
        self._who = (operator, device)
        self._show_who()

    def show_sync(self, short: str, long: str, *, alert: bool) -> None:
        """The sync in words (`sync_line`); `alert` when the store is out of reach."""
        for selector, text in (("#sync", short), ("#sync-long", long)):
            part = self.query_one(selector, Static)
            renew(part, shown(text))
            part.set_class(bool(text), "-shown")
            part.set_class(alert, "-alert")
        self._syncing = bool(short)
        self._show_who()

    def _show_who(self) -> None:
        """Operator @ device; at 40 columns, beside the sync, the operator alone (or the
        device while nobody is signed in)."""
        operator, device = self._who
        both = " @ ".join(part for part in (operator, device) if part)
        renew(self.query_one("#who-long", Static), shown(both))
        short = (operator or device) if self._syncing else both
        renew(self.query_one("#who", Static), shown(short))

    def busy(self, busy: bool) -> None:
        """Shows a turning `busy |` while work the operator waits on takes a while."""
        field = self.query_one("#busy", Static)
        if busy and self._spinner is None:
            self._turn = 0
            self._spinner = self.set_interval(0.2, self._spin)
            field.update(f"{BUSY} {SPINNER[0]}")
        elif not busy and self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        field.display = busy

    def _spin(self) -> None:
        self._turn = (self._turn + 1) % len(SPINNER)
        self.query_one("#busy", Static).update(f"{BUSY} {SPINNER[self._turn]}")
