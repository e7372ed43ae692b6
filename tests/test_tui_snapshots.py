"""What the handheld screen looks like, at a handheld's 40x16 and a full 80x24 terminal.

Stable by construction: a fixed clock, device and operator, no cursor blink, no
animations, and every scan answered before the picture is taken. After a deliberate change
of the screens: `pytest tests/test_tui_snapshots.py --snapshot-update`, then look at the
SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot

from labels.printing import queue_labels_due, set_printer
from scanner.db import open_database, unit_of_work
from scanner.workflows.base import LabelDue
from scanner.workspace import sqlite_url
from screens.app import LotscanApp
from screens.scan_field import ScanField
from tests.conftest import fixed_clock
from tests.plant import add_plant
from tests.transcripts import Floor
from tests.tui_input import feed, until

SIZES = [pytest.param((40, 16), id="40x16"), pytest.param((80, 24), id="80x24")]
SnapCompare = Callable[..., bool]
MID_RECEIVE = (
    "CMD:RECEIVE\rPO:PO-1\r(240)RESIN(10)SUP-77(17)261231(30)50\r"
    "]C1240RESIN\x1d10SUP-78\x1d3025\r(240)MOTOR(30)2\r"
)
# Two lots of resin, the older one expired by the fixed clock's day, and a job that needs it.
TO_ISSUE = (
    "OP:B1001\rCMD:RECEIVE\r(240)RESIN(10)R-OLD(17)261001(30)10\r"
    "(240)RESIN(10)R-LATE(17)270301(30)30\r(240)PIGMENT(10)PG-1(30)2\rCMD:DONE\r"
    "CMD:ISSUE\rJOB:J-HOUSING\r"
)
TO_ISSUE_SCANS = 8


@pytest.fixture
def app(tmp_path: Path) -> Iterator[LotscanApp]:
    sessions: sessionmaker[Session] = open_database(sqlite_url(tmp_path / "lotscan.db"))
    with unit_of_work(sessions) as session:
        add_plant(session)
    lotscan = LotscanApp(sessions, clock=fixed_clock, device="H7KQ", cursor_blink=False)
    lotscan.animation_level = "none"
    yield lotscan
    sessions.kw["bind"].dispose()


def scans(text: str, count: int, then: tuple[str, ...] = ()) -> Callable[[Pilot[Any]], Any]:
    """A run_before that feeds `text` as a scanner would, waits for `count` answers, then
    presses the keys `then`."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, LotscanApp)
        await until(pilot, lambda: isinstance(app.focused, ScanField))
        feed(app, text)
        await until(pilot, lambda: app.view.handled >= count and app.idle)
        await app.workers.wait_for_complete()
        for key in then:
            await pilot.press(key)
        await app.workers.wait_for_complete()  # what a key started, such as reading the queue
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_sign_in(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=scans("", 0))


@pytest.mark.parametrize("size", SIZES)
def test_menu_after_sign_in(
    snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]
) -> None:
    assert snap_compare(app, terminal_size=size, run_before=scans("OP:B1001\r", 1))


@pytest.mark.parametrize("size", SIZES)
def test_mid_receive(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    """Two lots received on a purchase order, the serials of two motors asked for."""
    run_before = scans(f"OP:B1001\r{MID_RECEIVE}", 6)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_error_in_red(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    run_before = scans("OP:B1001\rCMD:RECEIVE\r(240)NOSUCH(30)1\r", 3)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=scans("", 0, then=("f1",)))


@pytest.mark.parametrize("size", [pytest.param((40, 16), id="40x16")])
def test_issue_pick_list(snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]) -> None:
    """The job's components, each with the lots in stock, first to expire first."""
    assert snap_compare(app, terminal_size=size, run_before=scans(TO_ISSUE, TO_ISSUE_SCANS))


@pytest.mark.parametrize("size", [pytest.param((40, 16), id="40x16")])
def test_warning_awaiting_ok(
    snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int]
) -> None:
    """An expired lot scanned for issue: amber, and F11 OK in the footer until confirmed."""
    run_before = scans(f"{TO_ISSUE}(240)RESIN(10)R-OLD(30)10\r", TO_ISSUE_SCANS + 1)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_queue(
    snap_compare: SnapCompare, app: LotscanApp, size: tuple[int, int], tmp_path: Path
) -> None:
    """Ctrl+P: two labels waiting for the printer, and movements kept on the device."""
    received = Floor(app.sessions, fixed_clock).run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(10)R-1(30)25
        (240)PIGMENT(10)PG-1(30)2
    """)
    assert not received.errors()
    with unit_of_work(app.sessions) as session:
        set_printer(session, (tmp_path / "labels").as_uri())
        due = [
            LabelDue("lot", "RESIN", lot="R-1", qty=Decimal(25)),
            LabelDue("lot", "PIGMENT", lot="PG-1"),
        ]
        queue_labels_due(session, due)
    run_before = scans("OP:B1001\r", 1, then=("ctrl+p",))
    assert snap_compare(app, terminal_size=size, run_before=run_before)
