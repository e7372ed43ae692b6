"""HOLD on the handheld at 40x16, driven by the real keys: Shift+F6 starts it and holds the
lot in hand, Shift+F7 releases, Shift+F8 recalls; the reason is typed into the scan field.
Floor staff see no HOLD on their menu and are told why when they press its key anyway. And
what it looks like (snapshots: `pytest tests/screens/test_tui_hold.py --snapshot-update`,
then look at the SVGs in tests/screens/__snapshots__/test_tui_hold/)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot

from scanner.db import unit_of_work
from scanner.models import Location, Lot, Operator, StatusChange
from scanner.workflows.base import Level
from screens.app import LotscanApp
from screens.feedback import Feedback
from screens.handheld import WorkLog
from screens.scan_field import ScanField
from tests.support.tui_input import (
    answered,
    feed,
    footer,
    make_app,
    plant_database,
    run,
    settled,
    shown,
    until,
)

STOCKED = "OP:B1001\rCMD:RECEIVE\r(240)RESIN(10)R-1(17)261231(30)25\rCMD:DONE\r"
STOCKED_SCANS = 4
SHIFT_F6 = "\x1b[17;2~"  # what an xterm-style terminal sends for Shift+F6
SnapCompare = Callable[..., bool]


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        with unit_of_work(sessions) as session:
            session.add(Operator(badge="Q7001", name="Lena Park", role="quality"))
        yield sessions


def lot_status(sessions: sessionmaker[Session]) -> tuple[str, list[tuple[str, str | None]]]:
    """R-1's status, and each status change of it (status, reason)."""
    with sessions() as session:
        lot = session.get(Lot, ("RESIN", "R-1"))
        assert lot is not None
        changes = session.execute(
            select(StatusChange.status, StatusChange.reason).where(StatusChange.subject == "lot")
        ).all()
        return lot.status, [tuple(change) for change in changes]


def test_a_supervisor_holds_then_releases_a_lot_with_the_keys(
    plant: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}OP:B9001\r")
        await answered(app, pilot, STOCKED_SCANS + 1)
        assert "S-F6 HOLD" in shown(app, "#details")  # the menu offers it to a supervisor
        await pilot.press("shift+f6")
        await answered(app, pilot, STOCKED_SCANS + 2)
        assert shown(app, "#prompt") == "Scan the lot or serial label"
        assert "HOLD" in shown(app, "#where")
        feed(app, "(240)RESIN(10)R-1\r")
        await answered(app, pilot, STOCKED_SCANS + 3)
        assert shown(app, "#prompt") == "Hold or recall lot R-1?"
        assert "Status: released" in shown(app, "#details")
        assert footer(app).startswith("S-F6 Hold S-F8 Recall")
        await pilot.press("shift+f6")  # in HOLD, with the lot in hand: hold it
        await answered(app, pilot, STOCKED_SCANS + 4)
        assert shown(app, "#prompt") == "Why hold it? Type the reason"
        assert "Hold" not in footer(app)
        feed(app, "porosity in bag 3\r")
        await answered(app, pilot, STOCKED_SCANS + 5)
        assert (app.view.level, app.view.message) == (Level.OK, "Lot R-1 of RESIN put on hold")
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert "By Sam Okafor, 2026-11-02 08:30\nWhy: porosity in bag 3" in shown(app, "#details")
        assert list(app.screen.query_one(WorkLog).lines) == ["Held R-1 of RESIN"]
        feed(app, "(240)RESIN(10)R-1\r")
        await answered(app, pilot, STOCKED_SCANS + 6)
        assert footer(app).startswith("S-F7 Release S-F8 Recall")
        await pilot.press("shift+f7")
        await answered(app, pilot, STOCKED_SCANS + 7)
        assert shown(app, "#prompt") == "Why release it? Type the reason"
        feed(app, "retested\r")
        await answered(app, pilot, STOCKED_SCANS + 8)
        assert app.view.message == "Lot R-1 of RESIN released"
        assert app.view.log == ("Held R-1 of RESIN", "Released R-1 of RESIN")

    run(make_app(plant), scenario)
    assert lot_status(plant) == ("active", [("hold", "porosity in bag 3"), ("active", "retested")])


def test_holding_a_held_lot_rings_and_says_who_held_it(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(app, f"{STOCKED}OP:B9001\rCMD:HOLD\r(240)RESIN(10)R-1\rCMD:HOLD\rporosity\r")
        feed(app, "OP:Q7001\r(240)RESIN(10)R-1\r")  # the label outside HOLD: refused
        await answered(app, pilot, STOCKED_SCANS + 7)
        assert app.view.message == "Choose a workflow first: scan CMD:RECEIVE, CMD:ISSUE, ..."
        feed(app, f"{SHIFT_F6}")
        await answered(app, pilot, STOCKED_SCANS + 8)
        assert app.view.workflow == "HOLD"
        feed(app, "(240)RESIN(10)r-1\r")
        await answered(app, pilot, STOCKED_SCANS + 9)
        assert "Status: on hold\nBy Sam Okafor" in shown(app, "#details")
        before = len(bells)
        await pilot.press("shift+f6")
        await answered(app, pilot, STOCKED_SCANS + 10)
        assert (app.view.level, app.view.message) == (
            Level.ERROR,
            "Lot R-1 of RESIN is already on hold (Sam Okafor, 2026-11-02)",
        )
        assert app.screen.query_one(Feedback).has_class("-error")
        assert len(bells) == before + 1
        assert shown(app, "#prompt") == "Release or recall lot R-1?"
        assert footer(app).startswith("S-F7 Release S-F8 Recall")

    run(make_app(plant), scenario)
    assert lot_status(plant) == ("hold", [("hold", "porosity")])


def test_floor_staff_see_no_hold_and_its_key_says_why(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(app, STOCKED)
        await answered(app, pilot, STOCKED_SCANS)
        assert "HOLD" not in shown(app, "#details") and "Hold" not in footer(app)
        await pilot.press("shift+f6")
        await answered(app, pilot, STOCKED_SCANS + 1)
        assert (app.view.level, app.view.message) == (
            Level.ERROR,
            "HOLD is for supervisors and quality staff; Ana Ruiz is floor staff",
        )
        assert app.view.workflow is None and len(bells) == 1

    run(make_app(plant), scenario)
    assert lot_status(plant) == ("active", [])


def test_no_reason_or_too_long_a_reason_is_asked_again(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}OP:Q7001\rCMD:HOLD\r(240)RESIN(10)R-1\r")
        await answered(app, pilot, STOCKED_SCANS + 3)
        await pilot.press("shift+f8")
        await answered(app, pilot, STOCKED_SCANS + 4)
        await pilot.press("f11")  # OK is no reason
        await answered(app, pilot, STOCKED_SCANS + 5)
        assert app.view.message == "Type the reason, or scan a reason code"
        assert shown(app, "#prompt") == "Why recall it? Type the reason"
        feed(app, "x" * 201 + "\r")
        await answered(app, pilot, STOCKED_SCANS + 6)
        assert app.view.message == "The reason is 201 characters; at most 200"
        await pilot.press("d", "a", "m", "p", "enter")
        await answered(app, pilot, STOCKED_SCANS + 7)
        assert app.view.message == "Lot R-1 of RESIN recalled"

    run(make_app(plant), scenario)
    assert lot_status(plant) == ("recalled", [("recalled", "damp")])


# ---- what it looks like ----------------------------------------------------------------------

SIZES = [pytest.param((40, 16), id="40x16"), pytest.param((80, 24), id="80x24")]
HELD = f"{STOCKED}OP:B9001\rCMD:HOLD\r(240)RESIN(10)R-1\rCMD:HOLD\rporosity in bag 3\r"
HELD_SCANS = STOCKED_SCANS + 5


@pytest.fixture
def app(plant: sessionmaker[Session]) -> LotscanApp:
    return make_app(plant)


def scans(text: str, count: int, then: tuple[str, ...] = ()) -> Callable[[Pilot[Any]], Any]:
    """A run_before: feeds `text` as a scanner would, waits for `count` answers, then
    presses the keys `then` and waits for their answers too."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, LotscanApp)
        await until(pilot, lambda: isinstance(app.focused, ScanField))
        feed(app, text)
        await until(pilot, lambda: app.view.handled >= count and app.idle)
        for key in then:
            await pilot.press(key)
        await until(pilot, lambda: app.view.handled >= count + len(then) and app.idle)
        await settled(app)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [pytest.param((40, 16), id="40x16")])
def test_menu_of_a_supervisor(snap_compare: SnapCompare, app: LotscanApp, size: Any) -> None:
    """The menu with HOLD on it (S-F6), for supervisors and quality staff."""
    assert snap_compare(app, terminal_size=size, run_before=scans("OP:B9001\r", 1))


@pytest.mark.parametrize("size", SIZES)
def test_a_held_lot_in_hand(snap_compare: SnapCompare, app: LotscanApp, size: Any) -> None:
    """A held lot scanned in HOLD: on hold, by whom, when, why; S-F7 Release and S-F8
    Recall in the footer."""
    run_before = scans(f"{HELD}(240)RESIN(10)R-1\r", HELD_SCANS + 1)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [pytest.param((40, 16), id="40x16")])
def test_asking_the_reason(snap_compare: SnapCompare, app: LotscanApp, size: Any) -> None:
    """Shift+F6 pressed with a released lot in hand: the reason is asked for."""
    run_before = scans(
        f"{STOCKED}OP:B9001\rCMD:HOLD\r(240)RESIN(10)R-1\r", STOCKED_SCANS + 3, ("shift+f6",)
    )
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [pytest.param((40, 16), id="40x16")])
def test_put_on_hold(snap_compare: SnapCompare, app: LotscanApp, size: Any) -> None:
    """Held: green, the new status and who decided it, the decision in the log."""
    assert snap_compare(app, terminal_size=size, run_before=scans(HELD, HELD_SCANS))


@pytest.mark.parametrize("size", [pytest.param((40, 16), id="40x16")])
def test_floor_staff_refused(snap_compare: SnapCompare, app: LotscanApp, size: Any) -> None:
    """Shift+F6 pressed by floor staff: red, saying who may."""
    run_before = scans(STOCKED, STOCKED_SCANS, ("shift+f6",))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_a_long_reason_leaves_room_for_what_the_operator_may_still_do(
    plant: sessionmaker[Session],
) -> None:
    """A hold's reason of 190 characters filled the feedback at 40x16, so a refused move of
    the lot never showed "it may move only into quarantine"; the refusal now quotes the
    reason's first 40 characters, and LOOKUP still shows it whole."""
    reason = "Supplier notice SN-2291: " + "seal lip hardness out of spec on batches " * 4

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}OP:B9001\rCMD:HOLD\r(240)RESIN(10)R-1\rCMD:HOLD\r{reason}\r")
        await answered(app, pilot, STOCKED_SCANS + 5)
        assert app.view.message == "Lot R-1 of RESIN put on hold"
        feed(app, "CMD:DONE\rOP:B1001\rCMD:MOVE\r(240)RESIN(10)R-1(30)5\r")
        await answered(app, pilot, STOCKED_SCANS + 9)
        feed(app, "LOC:A-01\r")
        await answered(app, pilot, STOCKED_SCANS + 10)
        assert (app.view.level, app.view.message) == (
            Level.ERROR,
            "Lot R-1 of RESIN is on hold by Sam Okafor on 2026-11-02 08:30 (Supplier notice"
            " SN-2291: seal lip hardn…): it may move only into quarantine (QA)",
        )
        screen = app.export_screenshot().replace("&#160;", " ")
        assert "into quarantine (QA)" in screen

    with unit_of_work(plant) as session:
        session.add(Location(code="QA", name="Quarantine cage", kind="quarantine"))
    run(make_app(plant), scenario)
    assert lot_status(plant)[1] == [("hold", reason.strip())]
