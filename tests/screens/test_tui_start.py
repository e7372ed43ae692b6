"""A handheld started as `lotscan` starts it on a current database: the first frame drawn
from what sqlite3 read (`scanner.device_start`), the database opened with the ORM after it.
Scans sent while it opens are answered in order once it is open; a database that cannot open
then ends the app with the reason, as it would have before the screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from scanner.db import unit_of_work
from scanner.device_start import DeviceStart, read_device_start
from scanner.errors import DatabaseUnavailable
from scanner.scan import ScanConfig
from scanner.settings import SCAN_PREFIX_COMMAND, device_id, write_setting_text
from scanner.workspace import sqlite_url
from screens.app import LotscanApp
from screens.sign_in import FIRST_RUN_TEXT
from tests.conftest import fixed_clock
from tests.support.databases import open_migrated
from tests.support.transcripts import Floor
from tests.support.tui_input import (
    answered,
    feed,
    make_app,
    plant_database,
    run,
    shown,
    until,
)


def started(url: str) -> DeviceStart:
    start = read_device_start(url)
    assert start is not None
    return start


def test_scans_sent_while_the_database_opens_are_recorded_in_order(tmp_path: Path) -> None:
    seen: list[tuple[str, str, str]] = []

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rC:RECEIVE\r]C1240RESIN\x1d10R-9\x1d3005\r")
        await answered(app, pilot, 3)
        seen.append((app.view.message, shown(app, "#who"), shown(app, "#where")))

    with plant_database(tmp_path) as sessions:
        with unit_of_work(sessions) as session:
            device = device_id(session)
            write_setting_text(session, SCAN_PREFIX_COMMAND, "C:")  # read by sqlite3
        run(make_app(started(sqlite_url(tmp_path / "lotscan.db"))), scenario)
        assert Floor(sessions, fixed_clock).stock("RESIN") == {("R-9", "RCV"): 5}
    assert seen == [("Received RESIN", f"B1001 @ {device}", "RECEIVE")]


def test_the_first_run_screen_comes_from_the_start_read(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "lotscan.db")
    sessions = open_migrated(url)
    with unit_of_work(sessions) as session:
        device_id(session)
    sessions.kw["bind"].dispose()

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: shown(app, "#sign-in") == FIRST_RUN_TEXT)

    run(make_app(started(url)), scenario)


def test_a_database_that_cannot_open_after_the_start_ends_the_app_saying_why(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "gone" / "lotscan.db")  # no such folder: SQLite cannot open it
    start = DeviceStart(url, ScanConfig(), "H7KQ", has_operators=True)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await until(pilot, lambda: not app.is_running)

    app = run(make_app(start), scenario)
    assert app.return_code == 1
    assert isinstance(app.open_failure, DatabaseUnavailable)
    assert str(app.open_failure).endswith(": unable to open database file")
    assert app.view.handled == 0
