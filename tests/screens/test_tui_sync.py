"""Sync in the handheld app: the background loop pushes the queue while the handheld is
enrolled (off the event loop, backing off while the store is out of reach), the status line
says online or offline, the queue depth and the last sync, and the queue panel what the store
said. The store here is a fake on an httpx transport (tests/support/tui_input.py); test_tui_live.py
runs the same against the real service."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot
from textual.widgets import Static

from scanner.db import unit_of_work
from scanner.settings import SCAN_PREFIX_LOCATION, write_setting
from screens.app import LotscanApp
from screens.queue import READING
from sync.device.backoff import Backoff
from sync.device.client import SyncReport
from sync.device.loop import SyncLink
from tests.support.tui_input import (
    STORE_URL,
    FakeStore,
    answered,
    enroll,
    feed,
    make_app,
    plant_database,
    run,
    shown,
    until,
)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        yield sessions


def synced_app(sessions: sessionmaker[Session], folder: Path, store: FakeStore) -> LotscanApp:
    """The app enrolled with `store`: a sync soon after each scan, a retry a second after a
    failure, and the usual sync much later than any test runs."""
    return make_app(
        sessions,
        sync_folder=folder,
        sync_transport=store.transport,
        sync_interval=3600,
        sync_soon=0,
        sync_backoff=Backoff(base=0.01, cap=0.01),
    )


def status(app: LotscanApp) -> str:
    """The sync on the status line at 40 columns."""
    return shown(app, "#sync")


def test_the_status_line_shows_the_queue_offline_then_online_once_the_store_answers(
    plant: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enroll(plant, tmp_path)
    store = FakeStore()
    store.online = False
    threads: list[threading.Thread] = []
    sync = SyncLink.sync

    def recorded(link: SyncLink) -> SyncReport:
        threads.append(threading.current_thread())
        return sync(link)

    monkeypatch.setattr(SyncLink, "sync", recorded)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: status(app) == "offline \u21910")
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r(240)BOLT(30)6\r")
        await answered(app, pilot, 4)
        await until(pilot, lambda: status(app) == "offline \u21912")
        assert shown(app, "#who") == "B1001"  # beside the sync, the operator alone
        assert app.screen.query_one("#sync").has_class("-alert")
        store.online = True
        await until(pilot, lambda: status(app) == "\u21910 online 08:30", limit=20000)
        assert not app.screen.query_one("#sync").has_class("-alert")

    app = run(synced_app(plant, tmp_path, store), scenario)
    assert store.pushed == [1, 2]
    assert threads and threading.main_thread() not in threads
    assert app.sync_loop.stopped  # and its thread ended with the app


def test_on_a_full_terminal_the_status_line_spells_the_sync_out(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    enroll(plant, tmp_path)
    store = FakeStore()
    store.outcomes[2] = ("held", ["UNKNOWN_REFERENCE"], "Part BOLT is unknown here")

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r(240)BOLT(30)6\r")
        await answered(app, pilot, 4)
        await until(pilot, lambda: store.pushed == [1, 2], limit=20000)
        await until(pilot, lambda: "1 held" in shown(app, "#sync-long"))
        assert shown(app, "#sync-long") == "online, 0 queued, synced 08:30, 1 held"
        assert shown(app, "#who-long") == "B1001 @ H7KQ"

    run(synced_app(plant, tmp_path, store), scenario, size=(80, 24))


def test_the_queue_panel_of_an_offline_handheld_lists_what_waits_and_why(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    enroll(plant, tmp_path)
    store = FakeStore()
    store.online = False

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r(240)RESIN(10)R-1(30)20\r")
        await answered(app, pilot, 4)
        await until(pilot, lambda: status(app) == "offline \u21912")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: shown(app, "#queue-text") != READING)
        lines = shown(app, "#queue-text").splitlines()
        assert lines[lines.index("SYNC: offline, last sync never") :] == [
            "SYNC: offline, last sync never",
            # The failure's own count was the queue then; WAITING is the queue now.
            f" Cannot reach the central store at {STORE_URL} (connection refused)",
            "WAITING: 2",
            " 1 receive 5 BOLT",
            " 2 receive 20 lot R-1 of RESIN",
        ]

    run(synced_app(plant, tmp_path, store), scenario)


def test_a_handheld_not_enrolled_never_syncs_and_says_nothing_of_it(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[SyncLink] = []
    monkeypatch.setattr(SyncLink, "sync", lambda link: syncs.append(link))
    statuses: list[Any] = []

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: app.sync_status is not None)
        statuses.append(app.sync_status)
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r")
        await answered(app, pilot, 3)
        assert status(app) == ""
        assert shown(app, "#who") == "B1001 @ H7KQ"

    run(make_app(plant, sync_interval=3600, sync_soon=0), scenario)
    assert syncs == []
    assert statuses[0].enrolled is False


def test_a_scan_prefix_set_while_the_app_runs_is_scanned_by_from_its_next_look(
    plant: sessionmaker[Session],
) -> None:
    def help_says() -> str:
        return str(app.screen.query_one("#help Static", Static).render())

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: app.sync_status is not None)
        await pilot.press("f1")
        await until(pilot, lambda: "Location: LOC:<code>" in help_says())
        with unit_of_work(plant) as session:  # `lotscan settings set` from another shell
            write_setting(session, SCAN_PREFIX_LOCATION, "BIN:")
        app.sync_soon()  # as after a scan
        await until(pilot, lambda: "Location: BIN:<code>" in help_says())
        await pilot.press("escape")
        feed(app, "OP:B1001\rCMD:LOOKUP\rBIN:RCV\r")
        await answered(app, pilot, 3)
        assert app.view.message == "Location RCV"

    app = make_app(plant, sync_interval=3600, sync_soon=0)
    run(app, scenario)


def test_a_revoked_handheld_says_sync_refused_and_keeps_its_queue(
    plant: sessionmaker[Session], tmp_path: Path
) -> None:
    enroll(plant, tmp_path)
    revoked = httpx.MockTransport(
        lambda request: httpx.Response(
            401, json={"error": "device_revoked", "message": "Device H7KQ is revoked"}
        )
    )

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r")
        await answered(app, pilot, 3)
        await until(pilot, lambda: status(app) == "\u21911 refused", limit=20000)
        assert app.sync_status is not None
        assert "revoked by a supervisor" in (app.sync_status.last_error or "")

    app = make_app(
        plant, sync_folder=tmp_path, sync_transport=revoked, sync_interval=3600, sync_soon=0
    )
    run(app, scenario)
