"""Driving the handheld app in tests: feeding it what a terminal would send, as fast as a
scanner sends it, and the app on the test plant with a fixed clock, device and time zone.

`pilot.press` waits about 60 ms a key, like a person typing. A keyboard-wedge scanner sends
a whole label in one burst, and only the real terminal parser turns its bytes into keys the
way a handheld would (GS as Ctrl+], CR as Enter, LF as Ctrl+J, a bracketed paste as one
Paste event). Textual's parser is private API: this is the one place the tests use it.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import ContentSwitcher, Static
from textual.widgets._footer import FooterKey

from scanner.db import unit_of_work
from scanner.settings import DEVICE_ID, SYNC_URL, write_setting
from scanner.workflows.engine import Handheld, Outcome
from scanner.workspace import sqlite_url
from screens.app import LotscanApp
from screens.scan_field import ScanField
from sync.device.credentials import write_token
from tests.conftest import fixed_clock
from tests.support.databases import open_migrated
from tests.support.plant import add_plant

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


def terminal_events(data: str) -> list[Message]:
    """The events a terminal sending `data` would produce, made as the driver makes them:
    outside any app. The parser caches the key events it makes of escape sequences for as
    long as the process lasts, and an event made inside an app names that app as its sender:
    the cache would keep the app, its screens and its database alive for the rest of the run."""
    if not data:
        return []
    return contextvars.Context().run(_parse, data)


def _parse(data: str) -> list[Message]:
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


# ---- the app under test ---------------------------------------------------------------------

HANDHELD = (40, 16)
Scenario = Callable[[LotscanApp, Pilot[Any]], Awaitable[None]]


@contextmanager
def plant_database(folder: Path) -> Iterator[sessionmaker[Session]]:
    """The test plant in a SQLite file of its own in `folder`."""
    sessions = open_migrated(sqlite_url(folder / "lotscan.db"))
    with unit_of_work(sessions) as session:
        add_plant(session)
    try:
        yield sessions
    finally:
        sessions.kw["bind"].dispose()


def make_app(sessions: sessionmaker[Session], **options: Any) -> LotscanApp:
    """The app as the tests see it: fixed clock, device and time zone, nothing blinking or
    animated; `options` go to LotscanApp."""
    settings: dict[str, Any] = {
        "clock": fixed_clock,
        "device": "H7KQ",
        "cursor_blink": False,
        "tz": UTC,
    }
    app = LotscanApp(sessions, **(settings | options))
    app.animation_level = "none"
    return app


def run(app: LotscanApp, scenario: Scenario, size: tuple[int, int] = HANDHELD) -> LotscanApp:
    """Runs `scenario` against `app` at the handheld's size, once the scan field has the
    focus."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: isinstance(app.focused, ScanField))
            await scenario(app, pilot)

    asyncio.run(main())
    return app


async def settled(app: LotscanApp) -> None:
    """Waits for the app's workers to finish, but for the background sync, which runs as
    long as the app does."""
    others = [each for each in app.workers if each.group != "sync"]
    if others:  # an empty list would mean every worker
        await app.workers.wait_for_complete(others)


async def answered(app: LotscanApp, pilot: Pilot[Any], count: int) -> None:
    """Waits until the engine has answered `count` scans and the screens show it."""
    await until(pilot, lambda: app.view.handled >= count and app.idle)
    await settled(app)
    await pilot.pause()


def shown(app: App[Any], selector: str) -> str:
    """The text of the Static at `selector` on the current screen."""
    return str(app.screen.query_one(selector, Static).render())


def panel(app: App[Any]) -> str | None:
    """Which panel is up: sign-in, work, help, queue or supervisor."""
    return app.screen.query_one(ContentSwitcher).current


def footer(app: App[Any]) -> str:
    """The footer as it reads: each key and its label."""
    keys = app.screen.query(FooterKey)
    return " ".join(f"{key.key_display} {key.description}".strip() for key in keys)


def recording(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every raw scan the engine is handed, in order."""
    seen: list[str] = []
    handle = Handheld.handle

    def recorded(self: Handheld, raw: str) -> Outcome:
        seen.append(raw)
        return handle(self, raw)

    monkeypatch.setattr(Handheld, "handle", recorded)
    return seen


# ---- a central store on a fake network --------------------------------------------------------

STORE_URL = "http://store.test"
SERVER_TIME = "2026-11-02T08:30:00+00:00"  # tests.conftest.NOW


def enroll(sessions: sessionmaker[Session], folder: Path, device: str = "H7KQ") -> None:
    """This handheld enrolled with the store at STORE_URL as `device`, as `lotscan enroll`
    leaves it (call before it records anything, so its movements carry `device`)."""
    with unit_of_work(sessions) as session:
        write_setting(session, SYNC_URL, STORE_URL)
        write_setting(session, DEVICE_ID, device)
    write_token(folder, "a-token")


class FakeStore:
    """The central store's side of the wire, in a few lines, on an httpx MockTransport: it
    takes every pushed movement (applied, or the outcome `outcomes` names for its number),
    has nothing to pull, and serves `devices` and `exceptions` (a page at a time) to a
    supervisor's token.
    `online = False` makes it unreachable; `supervisor = False` makes the token a floor
    handheld's."""

    def __init__(self) -> None:
        self.online = True
        self.supervisor = True
        self.outcomes: dict[int, tuple[str, list[str], str]] = {}
        self.devices: list[dict[str, Any]] = []
        self.exceptions: list[dict[str, Any]] = []
        self.resolved: list[tuple[int, dict[str, Any]]] = []
        self.pages_read: list[int] = []  # each page of exceptions asked for, by its `after`
        self.pushed: list[int] = []
        self.transport = httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if not self.online:
            raise httpx.ConnectError("Connection refused", request=request)
        path = request.url.path
        if path == "/v1/sync/push":
            return self._push(json.loads(request.content))
        if path == "/v1/sync/pull":
            cursor = int(request.url.params.get("cursor", 0))
            body = {"cursor": cursor, "has_more": False, "server_time": SERVER_TIME}
            return httpx.Response(200, json=body | {"changes": []})
        if not self.supervisor:
            return httpx.Response(
                403,
                json={
                    "error": "not_supervisor",
                    "message": "Device H7KQ (dock) is a handheld; this needs a supervisor's"
                    " device (lotscan devices enroll NAME --supervisor)",
                },
            )
        if path == "/v1/devices":
            return httpx.Response(200, json=self.devices)
        if path == "/v1/exceptions":
            after = int(request.url.params.get("after", 0))
            limit = int(request.url.params.get("limit", 200))
            self.pages_read.append(after)
            open_ones = [r for r in self.exceptions if r["status"] == "open" and r["id"] > after]
            return httpx.Response(200, json=open_ones[:limit])
        if path.startswith("/v1/exceptions/") and path.endswith("/resolve"):
            return self._resolve(int(path.split("/")[3]), json.loads(request.content))
        return httpx.Response(404, json={"error": "not_found", "message": f"No {path}"})

    def _push(self, body: dict[str, Any]) -> httpx.Response:
        outcomes = []
        for movement in body["movements"]:
            seq = movement["seq"]
            self.pushed.append(seq)
            status, codes, message = self.outcomes.get(seq, ("applied", [], ""))
            server_seq = None if status == "held" else 100 + seq
            outcome = {"seq": seq, "status": status, "server_seq": server_seq}
            outcomes.append(outcome | {"codes": codes, "message": message})
        last = max((each["seq"] for each in body["movements"]), default=0)
        answer = {"last_applied_seq": last, "expected_next_seq": last + 1}
        return httpx.Response(200, json=answer | {"server_time": SERVER_TIME, "outcomes": outcomes})

    def _resolve(self, exception_id: int, body: dict[str, Any]) -> httpx.Response:
        self.resolved.append((exception_id, body))
        for row in self.exceptions:
            if row["id"] == exception_id:
                row.update(status="resolved", resolution=f"{body['action']} done")
                return httpx.Response(200, json=row)
        return httpx.Response(
            404, json={"error": "unknown_exception", "message": f"No exception {exception_id}"}
        )


def exception_row(
    exception_id: int, code: str, *, held: bool = False, **movement: Any
) -> dict[str, Any]:
    """An open exception as the store's /v1/exceptions lists it."""
    return {
        "id": exception_id,
        "code": code,
        "status": "open",
        "message": movement.pop("message", ""),
        "device": "H7KQ",
        "device_seq": movement.get("seq"),
        "part": movement.get("part"),
        "lot": movement.get("lot"),
        "serial": movement.get("serial"),
        "location": movement.get("from_location") or movement.get("to_location"),
        "opened_at": SERVER_TIME,
        "closed_at": None,
        "resolution": None,
        "resolved_by": None,
        "movement": movement or None,
        "entry_status": "held" if held else "flagged",
    }


def device_row(device: str, name: str, **fields: Any) -> dict[str, Any]:
    """A device as the store's /v1/devices lists it."""
    row: dict[str, Any] = {
        "device": device,
        "name": name,
        "status": "active",
        "last_seen": SERVER_TIME,
        "last_applied_seq": 0,
        "queue_depth": 0,
        "flagged": 0,
        "held": 0,
        "rejected": 0,
        "role": "handheld",
        "last_push": SERVER_TIME,
        "last_pull": SERVER_TIME,
        "oldest_pending_at": None,
        "clock_offset": 0,
    }
    return row | fields
