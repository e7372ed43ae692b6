"""What one scan did, as `Handheld.handle` says it (`Outcome`), and the labels it made due put
in the print queue in the scan's own transaction: a crash leaves a scan's movements and
their labels both or neither."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from labels.printing import set_printer, set_printing
from scanner.cli import queue_labels
from scanner.db import open_database, reading, unit_of_work
from scanner.models import Movement, PrintJob
from scanner.settings import PRINTER_LAYOUT, write_setting
from scanner.workflows.base import LabelDue, Level
from scanner.workflows.engine import Handheld, Outcome
from scanner.workspace import sqlite_url
from tests.conftest import fixed_clock
from tests.support.databases import open_migrated
from tests.support.plant import add_plant
from tests.support.transcripts import Floor

ROOT = Path(__file__).resolve().parents[2]
PRINTER = "tcp://127.0.0.1:9"  # never contacted: queueing a label does not reach a printer

RECEIVE_THREE_CONTAINERS = (
    "OP:B1001",
    "CMD:RECEIVE",
    "(240)RESIN(30)75",
    "CMD:GEN",
    "R-001",
    "R-003",  # records three lots, each with its label due
)


def printing_floor(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> Floor:
    """The test plant with a printer set, and a handheld that queues its labels."""
    with unit_of_work(sessions) as session:
        add_plant(session)
        set_printer(session, PRINTER)
    return Floor(sessions, clock, queue_labels=queue_labels)


def handled(handheld: Handheld, scans: Sequence[str]) -> list[Outcome]:
    return [handheld.handle(raw) for raw in scans]


def recorded(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """(movements, print jobs) in the database."""
    with reading(sessions) as session:
        movements = session.scalar(select(func.count()).select_from(Movement))
        jobs = session.scalar(select(func.count()).select_from(PrintJob))
    return movements or 0, jobs or 0


# ---- who, and whether a workflow started ----------------------------------------------------


def test_an_outcome_says_who_is_signed_in_and_whether_a_supervisor(floor: Floor) -> None:
    scans = ("CMD:RECEIVE", "OP:B1001", "OP:B9001", "OP:B0000", "OP:B1001")
    assert [
        (outcome.operator, outcome.supervisor, outcome.response.level)
        for outcome in handled(floor.handheld, scans)
    ] == [
        (None, False, Level.ERROR),  # nobody yet
        ("B1001", False, Level.OK),
        ("B9001", True, Level.OK),
        ("B9001", True, Level.ERROR),  # an unknown badge leaves the one signed in
        ("B1001", False, Level.OK),
    ]


def test_an_outcome_says_whether_the_scan_started_a_workflow(floor: Floor) -> None:
    scans = (
        "OP:B1001",
        "CMD:RECEIVE",
        "(240)BOLT(30)5",
        "CMD:RECEIVE",  # afresh, though RECEIVE is running
        "CMD:NOPE",
        "CMD:DONE",
        "CMD:ISSUE",
    )
    outcomes = handled(floor.handheld, scans)
    assert [outcome.started for outcome in outcomes] == [
        False,
        True,
        False,
        True,
        False,
        False,
        True,
    ]


# ---- labels queued with the scan ------------------------------------------------------------


def test_a_scans_labels_are_queued_with_its_movements(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    floor = printing_floor(sessions, clock)
    outcomes = handled(floor.handheld, RECEIVE_THREE_CONTAINERS)
    assert [outcome.labels_queued for outcome in outcomes] == [0, 0, 0, 0, 0, 3]
    assert len(outcomes[-1].response.labels) == 3
    assert recorded(sessions) == (3, 3)


def test_with_printing_off_a_scan_is_recorded_and_queues_no_label(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    floor = printing_floor(sessions, clock)
    with unit_of_work(sessions) as session:
        set_printing(session, False)
    last = handled(floor.handheld, RECEIVE_THREE_CONTAINERS)[-1]
    assert (last.response.level, last.labels_queued) == (Level.OK, 0)
    assert recorded(sessions) == (3, 0)


def test_a_scan_whose_labels_cannot_be_queued_is_not_recorded_and_can_be_scanned_again(
    sessions: sessionmaker[Session], clock: Callable[[], datetime], tmp_path: Path
) -> None:
    floor = printing_floor(sessions, clock)
    layout = tmp_path / "site.toml"
    with unit_of_work(sessions) as session:
        write_setting(session, PRINTER_LAYOUT, str(layout))  # a layout file since deleted
    last = handled(floor.handheld, RECEIVE_THREE_CONTAINERS)[-1]
    assert (last.response.level, last.response.message, last.labels_queued) == (
        Level.ERROR,
        f"Not recorded: its labels cannot be queued: Cannot read layout {layout}:"
        " No such file or directory",
        0,
    )
    assert last.response.prompt == "Last lot (first is R-001)"  # as before the scan
    assert recorded(sessions) == (0, 0)

    layout.write_text('based_on = "4x2-203"\n')
    again = floor.handheld.handle("R-003")
    assert (again.response.level, again.labels_queued) == (Level.OK, 3)
    assert recorded(sessions) == (3, 3)


def test_the_print_hook_runs_only_for_a_scan_that_made_labels_due(floor: Floor) -> None:
    calls: list[int] = []

    def counting(session: Session, due: Sequence[LabelDue]) -> int:
        calls.append(len(due))
        return 0

    floor.handheld.queue_labels = counting
    handled(floor.handheld, [*RECEIVE_THREE_CONTAINERS, "(240)BOLT(30)5", "CMD:DONE"])
    assert calls == [3]


# ---- a crash leaves both or neither ---------------------------------------------------------

# Where the handheld's process is killed during the scan that records the lots, and what a
# restart finds: (movements, print jobs).
CRASH_POINTS = {
    "labels queued": (0, 0),  # inside the print hook, its rows written, not committed
    "commit": (0, 0),  # as the database is asked to commit
    "committed": (3, 3),  # just after the commit, before the response
}


def crash_at(url: str, point: str) -> None:
    """Runs in a process of its own: the receipt of three lots on the handheld, killed with
    SIGKILL at `point` of its last scan."""
    sessions = open_database(url)
    armed = False

    def kill(*_: object) -> None:
        if armed:
            os.kill(os.getpid(), signal.SIGKILL)

    def queue(session: Session, due: Sequence[LabelDue]) -> int:
        queued = queue_labels(session, due)
        if point == "labels queued":
            kill()
        return queued

    if point == "commit":
        event.listen(sessions.kw["bind"], "commit", kill)
    if point == "committed":
        event.listen(sessions, "after_commit", kill)
    handheld = Handheld(sessions, clock=fixed_clock, queue_labels=queue)
    for raw in RECEIVE_THREE_CONTAINERS[:-1]:
        assert handheld.handle(raw).response.level != Level.ERROR, raw
    armed = True
    handheld.handle(RECEIVE_THREE_CONTAINERS[-1])
    raise SystemExit(f"not killed at {point}")


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_during_a_scan_leaves_its_movements_and_labels_both_or_neither(
    tmp_path: Path, point: str
) -> None:
    url = sqlite_url(tmp_path / "lotscan.db")
    sessions = open_migrated(url)
    with unit_of_work(sessions) as session:
        add_plant(session)
        set_printer(session, PRINTER)
    sessions.kw["bind"].dispose()

    code = f"from tests.end_to_end.test_scan_outcome import crash_at; crash_at({url!r}, {point!r})"
    killed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    reopened = open_database(url)  # as the handheld starts again
    try:
        assert recorded(reopened) == CRASH_POINTS[point]
    finally:
        reopened.kw["bind"].dispose()
