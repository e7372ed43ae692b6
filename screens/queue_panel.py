"""The panel that shows the device's queue (`screens.queue` reads what it shows): apart from
the reading, which loads the ORM, so that the handheld's first frame does not."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from scanner.plain_text import shown_lines

READING = "Reading the queue..."


class QueuePanel(VerticalScroll, can_focus=False):
    """Shown in place of the work area on Ctrl+P; the scan field keeps the focus."""

    def compose(self) -> ComposeResult:
        yield Static(READING, markup=False, id="queue-text")

    def show(self, lines: tuple[str, ...]) -> None:
        self.query_one("#queue-text", Static).update(shown_lines(lines))

    def reading(self) -> None:
        self.show((READING,))
