"""The handheld app against the real central service (uvicorn in a thread on loopback,
tests/support/sync_over_http.py): scans made in the app reach the store through the background sync,
and a supervisor resolves a real exception from the supervisor panel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from textual.pilot import Pilot

from scanner.db import unit_of_work
from scanner.models import Movement
from scanner.settings import GS1_PAIRING, Gs1Pairing, write_setting
from scanner.workspace import sqlite_url
from screens.app import LotscanApp
from screens.supervisor import ASKING_STORE
from sync.central.enrollment import issue_code
from sync.central.models import SyncException
from sync.central.pull import publish_settings
from sync.device.backoff import Backoff
from sync.device.client import enroll_handheld
from tests.conftest import fixed_clock
from tests.support.sync_over_http import Handheld, Site
from tests.support.tui_input import answered, feed, make_app, panel, run, shown, until


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The test plant on a central store (SQLite) served from a thread of this process."""
    plant = Site(sqlite_url(tmp_path / "central.db"), tmp_path, clock=fixed_clock)
    plant.serve_in_thread()
    yield plant
    plant.close()


def app_on(handheld: Handheld) -> LotscanApp:
    """The app on `handheld`'s database and token, on its own stretch of network."""
    return make_app(
        handheld.sessions,
        sync_folder=handheld.folder,
        sync_transport=handheld.transport,
        sync_interval=3600,
        sync_soon=0,
        sync_backoff=Backoff(base=0.01, cap=0.01),
    )


def test_scans_queue_while_offline_and_reach_the_store_when_it_answers(site: Site) -> None:
    dock = site.enroll("dock")
    dock.transport.offline = True

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: shown(app, "#sync") == "offline \u21910", limit=20000)
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r(240)RESIN(10)R-1(30)20\r")
        await answered(app, pilot, 4)
        await until(pilot, lambda: shown(app, "#sync") == "offline \u21912", limit=20000)
        dock.transport.offline = False
        await until(pilot, lambda: shown(app, "#sync") == "\u21910 online 08:30", limit=20000)

    run(app_on(dock), scenario)
    with site.central() as session:
        stored = session.scalars(select(Movement).where(Movement.device_id == dock.device))
        assert sorted((m.part, m.lot or "") for m in stored) == [("BOLT", ""), ("RESIN", "R-1")]
    assert site.violations() == []


def test_a_running_handheld_scans_by_the_pairing_rules_the_store_turns_on(site: Site) -> None:
    dock = site.enroll("dock")
    refused = "GS1 says the part number (240) goes with a GTIN (01), (02), (8006) or (8026)"

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r")
        await answered(app, pilot, 3)
        await until(pilot, lambda: shown(app, "#sync") == "\u21910 online 08:30", limit=20000)
        with unit_of_work(site.central) as session:
            write_setting(session, GS1_PAIRING, Gs1Pairing.STRICT)
            publish_settings(session, site.clock)
        app.sync_soon()  # as after a scan; the store is not asked in between
        await until(pilot, lambda: app.config.gs1_pairing is Gs1Pairing.STRICT, limit=20000)
        feed(app, "(240)BOLT(30)6\r")
        await answered(app, pilot, 4)
        assert shown(app, "#feedback").replace("\n", " ").startswith(refused)

    run(app_on(dock), scenario)
    assert [m.qty for m in dock.own()] == [5]  # the refused scan recorded nothing


def supervisor_handheld(site: Site, name: str) -> Handheld:
    """A handheld enrolled with a supervisor's code, synced once for the reference data."""
    handheld = Handheld(name, site.root / name, site.clock)
    site.handhelds.append(handheld)
    with unit_of_work(site.central) as session:
        code = issue_code(session, name, supervisor=True, clock=site.clock).code
    enroll_handheld(
        handheld.sessions,
        handheld.folder,
        site.url,
        code,
        transport=handheld.transport,
        clock=site.clock,
    )
    handheld.sync()
    return handheld


def a_short_lot(site: Site) -> tuple[Handheld, Handheld]:
    """Two handhelds move the same 10 bolts out of RCV while apart: the store flags the
    second move (the balance at RCV went negative)."""
    dock, line = site.enroll("dock"), site.enroll("line")
    dock.record(lambda ledger: ledger.receive("BOLT", 10, "RCV"))
    dock.sync()
    line.sync()
    dock.record(lambda ledger: ledger.move("BOLT", 10, "A-01", from_location="RCV"))
    line.record(lambda ledger: ledger.move("BOLT", 10, "LINE", from_location="RCV"))
    dock.sync()
    line.sync()
    return dock, line


def test_a_supervisor_counts_a_real_shortfall_from_the_panel(site: Site) -> None:
    a_short_lot(site)
    boss = supervisor_handheld(site, "boss")
    [flag] = site.exceptions(status="open")

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B9001\r")
        await answered(app, pilot, 1)
        await pilot.press("ctrl+o")
        text = "#supervisor-text"
        await until(pilot, lambda: shown(app, text) != ASKING_STORE, limit=20000)
        lines = shown(app, text).splitlines()
        assert lines[0] == "OPEN: 1"
        assert lines[1].startswith(f">{flag.id} {flag.code} ")
        assert "move 10 BOLT RCV>LINE" in lines[2]
        assert "DEVICES: 3" in lines
        await pilot.press("f4")
        feed(app, "0\r")  # nothing left at RCV: the count confirms it
        await until(pilot, lambda: shown(app, text).startswith("Resolved"), limit=20000)
        assert "OPEN: 0" in shown(app, text)

    run(app_on(boss), scenario)
    with site.central() as session:
        resolved = session.get(SyncException, flag.id)
        assert resolved is not None and resolved.status == "resolved"
        assert resolved.resolved_by == "Sam Okafor on boss"  # who was signed in, and where
    site.final_sync()
    assert site.violations() == []


def test_a_floor_handhelds_token_gets_a_plain_refusal(site: Site) -> None:
    dock = site.enroll("dock")

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B9001\r")  # a supervisor, on a floor handheld
        await answered(app, pilot, 1)
        await pilot.press("ctrl+o")
        assert panel(app) == "supervisor"
        text = "#supervisor-text"
        await until(pilot, lambda: shown(app, text) != ASKING_STORE, limit=20000)
        assert shown(app, text).startswith("Cannot show the supervisor's view: ")
        assert "is a handheld; this needs a supervisor's device" in shown(app, text)

    run(app_on(dock), scenario)
