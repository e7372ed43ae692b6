"""What the TUI benchmarks share: the handheld app on a plant database, the bare Textual app
they compare it with, and feeding either what a keyboard-wedge scanner sends.

A scanner types a whole label in one burst; only Textual's terminal parser turns those bytes
into the keys a handheld would see (CR as Enter), so both apps get their input through it,
as their driver would hand it over. The parser is private Textual API, used here (and in
tests/support/tui_input.py) for that reason only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual._xterm_parser import XTermParser
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Static

if TYPE_CHECKING:
    from scanner.device_start import DeviceStart
    from screens.app import LotscanApp

HANDHELD = (40, 16)
"""Columns and rows of the handheld's screen."""
DEVICE = "BNCH"
LIMIT = 100_000
"""Turns of the event loop to wait for an app before giving up on it."""


def feed(app: App[Any], data: str) -> None:
    """Posts the events a terminal sending `data` would produce to `app`, at once, in order."""
    parser = XTermParser()
    for event in [*parser.feed(data), *parser.feed("")]:
        app.post_message(event)


async def until(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    """Lets the app run until `condition` holds, a turn of its event loop at a time."""
    for _ in range(LIMIT):
        if condition():
            return
        await pilot.pause()
    raise AssertionError("The app never got there")


@contextmanager
def handheld_app(
    database: Path | DeviceStart,
    operator: str | None = None,
    app_class: type[LotscanApp] | None = None,
) -> Iterator[LotscanApp]:
    """The handheld app on the database at `database`, as `lotscan` starts it, with no
    background sync (the device is not enrolled) and `operator` signed in at start. Given
    what a start read (`DeviceStart`), the app opens the database itself after its first
    frame.

    lotscan's modules are imported here, not with this module, so that a process running
    only the bare app (bench/first_frame.py) does not load them."""
    from screens.app import LotscanApp

    if isinstance(database, Path):
        from scanner.db import open_database
        from scanner.workspace import sqlite_url

        sessions = open_database(sqlite_url(database))
        folder = database.parent
    else:
        sessions, folder = None, Path(database.url.removeprefix("sqlite:///")).parent
    try:
        app = (app_class or LotscanApp)(
            sessions or database,
            device=DEVICE,
            operator=operator,
            cursor_blink=False,
            sync_folder=folder,
            sync_interval=3600.0,
        )
        app.animation_level = "none"
        yield app
    finally:
        if sessions is not None:
            sessions.kw["bind"].dispose()


class EchoField(Input):
    """The least a scan field can do: take each line at its Enter, as the handheld's field
    does (the stock Input reports a line only after the keys queued behind it)."""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            line, self.value = self.value, ""
            app = self.app
            assert isinstance(app, EchoApp)
            app.echo(line)


class EchoApp(App[None]):
    """A bare Textual app: a field that takes scans and a line that echoes the last one."""

    def __init__(self) -> None:
        super().__init__()
        self.handled = 0

    def compose(self) -> ComposeResult:
        yield Static("Scan", id="prompt")
        yield EchoField(id="scan", compact=True)
        yield Static("", id="feedback", markup=False)

    def on_mount(self) -> None:
        self.query_one(EchoField).focus()

    def echo(self, line: str) -> None:
        self.handled += 1
        self.query_one("#feedback", Static).update(f"Scanned {line}")


def shown(app: App[Any], selector: str) -> str:
    """The text a Static shows."""
    return str(app.screen.query_one(selector, Static).render())


def run_app(app: App[Any], scenario: Callable[[Pilot[Any]], Any]) -> Any:
    """Runs `app` headless at the handheld's size and `scenario` against it; its result."""

    async def main() -> Any:
        async with app.run_test(size=HANDHELD) as pilot:
            return await scenario(pilot)

    return asyncio.run(main())
