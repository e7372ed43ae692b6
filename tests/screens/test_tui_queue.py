"""The queue panel (Ctrl+P): labels waiting for the printer, movements waiting to sync, and
what the central store said about the ones it did not simply apply; all read off the event
loop. And the busy sign on the status line while the operator waits on slow work."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot
from textual.widgets import Static

from labels.printing import queue_labels_due, set_printer
from scanner.db import unit_of_work
from scanner.models import Movement
from scanner.workflows.base import LabelDue
from scanner.workflows.engine import Handheld, Outcome
from screens.app import LotscanApp
from screens.queue import NOT_ENROLLED, READING, queue_lines
from screens.scan_field import ScanField
from screens.status_bar import BUSY
from sync.device.answers import settle
from tests.conftest import fixed_clock
from tests.support.transcripts import Floor
from tests.support.tui_input import (
    answered,
    feed,
    make_app,
    panel,
    plant_database,
    run,
    shown,
    until,
)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        yield sessions


STOCKED = """
    OP:B1001
    CMD:RECEIVE
    (240)RESIN(10)R-1(17)261231(30)25
    (240)PIGMENT(10)PG-1(30)2
    (240)BOLT(30)100
    CMD:DONE
"""


def labels_waiting(sessions: sessionmaker[Session], folder: Path) -> None:
    """Three movements recorded, and two lots' labels queued for a printer nobody has sent
    them to."""
    assert not Floor(sessions, fixed_clock).run(STOCKED).errors()
    with unit_of_work(sessions) as session:
        set_printer(session, folder.as_uri())
        queue_labels_due(
            session,
            [
                LabelDue("lot", "RESIN", lot="R-1", qty=Decimal(25)),
                LabelDue("lot", "PIGMENT", lot="PG-1"),
            ],
        )


def test_the_queue_panel_shows_labels_and_movements_waiting_read_off_the_event_loop(
    plant: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels_waiting(plant, tmp_path / "labels")
    threads: list[threading.Thread] = []

    def reading(*args: Any) -> tuple[str, ...]:
        threads.append(threading.current_thread())
        return queue_lines(*args)

    monkeypatch.setattr("screens.queue.queue_lines", reading)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        await pilot.press("ctrl+p")
        assert panel(app) == "queue"
        await until(pilot, lambda: shown(app, "#queue-text") != READING)
        lines = shown(app, "#queue-text").splitlines()
        assert lines[:3] == [
            "PRINT: 2 labels waiting",
            " 1 lot R-1 of RESIN, 25 kg",
            " 2 lot PG-1 of PIGMENT",
        ]
        assert lines[4:] == [
            f"SYNC: {NOT_ENROLLED}",
            "WAITING: 3",
            " 1 receive 25 lot R-1 of RESIN",
            " 2 receive 2 lot PG-1 of PIGMENT",
            " 3 receive 100 BOLT",
        ]
        assert app.focused is app.screen.query_one(ScanField)
        await pilot.press("escape")
        assert panel(app) == "work"

    run(make_app(plant), scenario)
    assert threads and threading.main_thread() not in threads


def test_the_queue_panel_shows_what_the_store_said_about_held_and_flagged_movements(
    plant: sessionmaker[Session],
) -> None:
    assert not Floor(plant, fixed_clock).run(STOCKED).errors()
    with unit_of_work(plant) as session:
        first, second, third = session.scalars(select(Movement).order_by(Movement.device_seq))
        settle(session, first, "applied", 11)
        settle(session, second, "held", None, ["UNKNOWN_REFERENCE"], "Part PIGMENT is unknown")
        settle(session, third, "flagged", 12, ["NEGATIVE_BALANCE"], "BOLT at RCV is -5")

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: shown(app, "#queue-text") != READING)
        lines = shown(app, "#queue-text").splitlines()
        assert lines[lines.index("WAITING: none") :] == [
            "WAITING: none",
            "STORE SAYS: 2",
            " flagged 3 receive 100 BOLT",
            "   NEGATIVE_BALANCE: BOLT at RCV is -5",
            " held 2 receive 2 lot PG-1 of PIGMENT",
            "   UNKNOWN_REFERENCE: Part PIGMENT is unknown",
        ]

    run(make_app(plant), scenario)


def test_slow_work_shows_busy_while_scans_go_on_being_taken_in_order(
    plant: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    handle = Handheld.handle

    def slow(self: Handheld, raw: str) -> Outcome:
        if raw == "(240)BOLT(30)1":
            gate.wait(timeout=30)  # a database that takes its time
        return handle(self, raw)

    monkeypatch.setattr(Handheld, "handle", slow)

    def busy(app: LotscanApp) -> bool:
        part = app.screen.query_one("#busy", Static)
        return part.display and str(part.render()).startswith(BUSY)

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)1\r")
        await until(pilot, lambda: busy(app))
        assert app.view.handled == 2
        feed(app, "(240)BOLT(30)2\r(240)BO")  # the field takes input meanwhile
        await until(pilot, lambda: app.screen.query_one(ScanField).value == "(240)BO")
        feed(app, "LT(30)3\r")
        gate.set()
        await answered(app, pilot, 5)
        assert not busy(app)
        assert app.view.log == ("Received 1 ea", "Received 2 ea", "Received 3 ea")

    run(make_app(plant, busy_after=0.05), scenario)


def test_the_queue_panel_shows_jobs_and_order_lines_closed_here_until_they_are_sent(
    plant: sessionmaker[Session],
) -> None:
    steps = Floor(plant, fixed_clock).run(
        STOCKED
        + """
        CMD:COMPLETE
        JOB:J-HOUSING-2
        CMD:CLOSE
        CMD:CLOSE
        CMD:SHIP
        SO:SO-2
        (240)BOLT(30)2
        CMD:CLOSE
    """
    )
    assert not steps.errors()

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: shown(app, "#queue-text") != READING)
        lines = shown(app, "#queue-text").splitlines()
        assert lines[lines.index("WAITING: 4") + 5 :] == [
            "CLOSED OR REOPENED, WAITING: 2",
            " closed job J-HOUSING-2",
            " closed SO-2 line 2",
        ]

    run(make_app(plant), scenario)
