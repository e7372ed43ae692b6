"""Feeding a Textual app what a terminal would send, as fast as a scanner sends it.

`pilot.press` waits about 60 ms a key, like a person typing. A keyboard-wedge scanner sends
a whole label in one burst, and only the real terminal parser turns its bytes into keys the
way a handheld would (GS as Ctrl+], CR as Enter, LF as Ctrl+J, a bracketed paste as one
Paste event). Textual's parser is private API: this is the one place the tests use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual._xterm_parser import XTermParser
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


def terminal_events(data: str) -> list[Message]:
    """The events a terminal sending `data` would produce."""
    if not data:
        return []
    parser = XTermParser()
    events = list(parser.feed(data))
    events += list(parser.feed(""))  # end of input: a lone trailing ESC is the Escape key
    return events


def feed(app: App[Any], data: str) -> None:
    """Posts the events of `data` to `app` at once, in order, as its driver would."""
    for event in terminal_events(data):
        app.post_message(event)


def pasted(text: str) -> str:
    """`text` as a terminal sends a bracketed paste."""
    return f"{PASTE_START}{text}{PASTE_END}"


async def until(pilot: Pilot[Any], condition: Callable[[], bool], limit: int = 2000) -> None:
    """Lets the app run until `condition` holds (never a fixed sleep); fails after `limit`
    turns of the event loop."""
    for _ in range(limit):
        if condition():
            return
        await pilot.pause()
    raise AssertionError("the app never reached the expected state")
