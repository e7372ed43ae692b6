"""The scan field as a scanner drives it: bursts of raw terminal input through Textual's
parser (tests/support/tui_input.py), GS kept, several line ends, pastes, hundreds of scans back to
back, and a burst that arrives while the app is still starting."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot

from scanner.workflows.base import Level
from screens.app import LotscanApp
from screens.scan_field import GS_SHOWN, ScanField
from tests.conftest import fixed_clock
from tests.support.sync_in_process import MovableClock
from tests.support.transcripts import Floor
from tests.support.tui_input import (
    answered,
    feed,
    make_app,
    panel,
    pasted,
    plant_database,
    recording,
    run,
    until,
)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        yield sessions


def test_an_app_fed_a_function_key_is_let_go_once_it_has_run(
    plant: sessionmaker[Session],
) -> None:
    """Textual's parser caches the key events it makes of escape sequences for as long as
    the process lasts: events made inside the app would keep it, its screens and its
    database alive for the rest of the run."""

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        feed(app, "\x1b[15;2~")  # Shift+F5, as an xterm-style terminal sends it
        await answered(app, pilot, 2)
        assert app.view.workflow == "RETURN"

    released = weakref.ref(run(make_app(plant), scenario))
    gc.collect()
    assert released() is None


def test_a_raw_gs_reaches_the_engine_intact_and_shows_while_typed(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)
    gs1 = "]C1240RESIN\x1d10R-7\x1d3012"

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r")
        await answered(app, pilot, 2)
        feed(app, gs1)  # no Enter yet: the field shows what it holds
        await until(pilot, lambda: app.screen.query_one(ScanField).value.endswith("12"))
        field = app.screen.query_one(ScanField)
        assert field.value == gs1.replace("\x1d", GS_SHOWN)
        assert field.raw == gs1
        feed(app, "\r")
        await answered(app, pilot, 3)
        assert app.view.message == "Received RESIN"

    run(make_app(plant), scenario)
    assert seen[-1] == gs1
    assert Floor(plant, fixed_clock).stock("RESIN") == {("R-7", "RCV"): 12}


def test_gs_under_the_kitty_keyboard_protocol_and_a_line_feed_end_a_scan(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        # Ctrl+] as CSI u with modifiers (character None), then GS as its own code point.
        feed(app, "OP:B1001\nCMD:RECEIVE\n]C1240RESIN\x1b[93;5u10R-8\x1b[29u3004\n")
        await answered(app, pilot, 3)

    run(make_app(plant), scenario)
    assert seen == ["OP:B1001", "CMD:RECEIVE", "]C1240RESIN\x1d10R-8\x1d3004"]


def test_a_paste_of_several_scans_is_split_on_line_ends(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, pasted("OP:B1001\r\nCMD:RECEIVE\n(240)RESIN(10)R-9\x1d(30)3\rR-"))
        await answered(app, pilot, 3)
        assert app.screen.query_one(ScanField).value == "R-"  # waits for its Enter
        feed(app, "1\r")  # the rest of it, after sign-in changed the panel
        await answered(app, pilot, 4)

    run(make_app(plant), scenario)
    assert seen == ["OP:B1001", "CMD:RECEIVE", "(240)RESIN(10)R-9\x1d(30)3", "R-1"]


def test_two_hundred_scans_back_to_back_arrive_in_order_none_lost_or_merged(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)
    scans = ["OP:B1001", "CMD:RECEIVE"]
    scans += [f"]C1240BOLT\x1d30{n + 1}" for n in range(198)]

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "".join(f"{scan}\r" for scan in scans))
        await answered(app, pilot, len(scans))
        assert app.view.level == Level.OK
        assert len(app.view.log) == 50  # the compact log keeps the latest lines

    run(make_app(plant), scenario)
    assert seen == scans
    assert Floor(plant, fixed_clock).stock("BOLT") == {("", "RCV"): sum(range(1, 199))}


class StartingApp(LotscanApp):
    """The app with a scanner burst arriving while it mounts, before any screen has the
    focus: what a handheld sees when the operator scans as the app starts."""

    burst = ""

    def on_mount(self) -> None:
        feed(self, self.burst)
        super().on_mount()


def test_a_burst_scanned_while_the_app_starts_is_kept_in_order(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)
    burst = "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)7\r(240)BO"
    app = StartingApp(plant, clock=fixed_clock, device="H7KQ", cursor_blink=False)
    app.burst = burst

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await answered(app, pilot, 3)
        assert app.screen.query_one(ScanField).value == "(240)BO"  # the rest still typed
        feed(app, "LT(30)5\r")
        await answered(app, pilot, 4)
        assert app.view.log == ("Received 7 ea", "Received 5 ea")

    run(app, scenario)
    assert seen == ["OP:B1001", "CMD:RECEIVE", "(240)BOLT(30)7", "(240)BOLT(30)5"]


def test_scans_fired_while_help_is_up_are_not_lost(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recording(monkeypatch)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B10")
        await pilot.press("f1")
        feed(app, "01\rCMD:RECEIVE\r")
        await answered(app, pilot, 2)
        assert panel(app) == "help"
        assert app.focused is app.screen.query_one(ScanField)
        await pilot.press("f1")
        assert panel(app) == "work"

    run(make_app(plant), scenario)
    assert seen == ["OP:B1001", "CMD:RECEIVE"]


def test_a_handheld_left_unused_shows_the_sign_in_before_the_next_scan(
    plant: sessionmaker[Session],
) -> None:
    """After `handheld.sign_out_minutes` (30) without a scan the screen asks for a badge by
    itself: it no longer shows the last operator's name until someone scans."""
    clock = MovableClock()

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r")
        await answered(app, pilot, 2)
        clock.advance(minutes=29)
        for _ in range(20):  # the app looks many times: not idle long enough yet
            await pilot.pause(0.01)
        assert (app.view.operator, panel(app)) == ("B1001", "work")
        clock.advance(minutes=1)
        await until(pilot, lambda: app.view.operator is None)
        await pilot.pause()
        assert panel(app) == "sign-in"
        assert app.view.message == "Signed out after 30 minutes without a scan: scan your badge"
        feed(app, "OP:B9001\r")
        await answered(app, pilot, 4)
        assert (app.view.operator, app.view.message) == ("B9001", "Hello, Sam Okafor")

    run(make_app(plant, clock=clock, idle_check=0.02), scenario)
