"""Every workflow on the handheld at 40x16, driven as a scanner drives it: bursts of raw
terminal input through Textual's parser (tests/support/tui_input.py), answers awaited, never slept
for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot

from scanner.workflows.base import Level
from screens.app import LotscanApp
from screens.feedback import Feedback
from screens.handheld import WorkLog
from tests.conftest import fixed_clock
from tests.support.transcripts import Floor
from tests.support.tui_input import answered, feed, make_app, panel, plant_database, run, shown


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with plant_database(tmp_path) as sessions:
        yield sessions


def test_sign_in_then_receive_a_burst_of_labels(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await pilot.pause()
        assert panel(app) == "sign-in"
        assert shown(app, "#prompt") == "Scan your badge (OP:...)"
        feed(app, "OP:B1001\r")
        await answered(app, pilot, 1)
        assert panel(app) == "work"
        assert app.view.message == "Hello, Ana Ruiz"
        feed(app, "CMD:RECEIVE\r(240)RESIN(10)R-1(30)25\r(240)PIGMENT(10)PG-1(30)5\r")
        await answered(app, pilot, 4)
        assert shown(app, "#prompt") == "Scan item to RCV"
        assert (app.view.level, app.view.message) == (Level.OK, "Received PIGMENT")
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert app.view.log == ("Received 25 kg lot R-1", "Received 5 kg lot PG-1")
        assert "RECEIVE" in shown(app, "#where")

    run(make_app(plant), scenario)
    floor = Floor(plant, fixed_clock)
    assert floor.stock("RESIN") == {("R-1", "RCV"): 25}
    assert floor.stock("PIGMENT") == {("PG-1", "RCV"): 5}


def test_an_error_rings_the_bell_and_shows_in_red(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)NOSUCH(30)1\r")
        await answered(app, pilot, 3)
        assert (app.view.level, app.view.message) == (Level.ERROR, "Unknown part NOSUCH")
        assert app.screen.query_one(Feedback).has_class("-error")
        assert len(bells) == 1

    run(make_app(plant), scenario)


def test_a_warning_rings_the_bell_and_cmd_ok_confirms_it(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(
            app,
            "OP:B1001\rCMD:RECEIVE\r(240)RESIN(10)R-OLD(17)261001(30)10\rCMD:OK\r"
            "(240)RESIN(10)R-LATE(17)270301(30)30\rCMD:DONE\rCMD:ISSUE\rJOB:J-HOUSING\r",
        )
        await answered(app, pilot, 8)
        assert "RESIN: need 20" in shown(app, "#details")  # the pick list
        assert len(bells) == 1  # receiving the expired lot warned too
        feed(app, "(240)RESIN(10)R-OLD(30)10\r")
        await answered(app, pilot, 9)
        warned = app.view
        assert warned.level == Level.WARNING and warned.awaiting_confirmation
        assert app.screen.query_one(Feedback).has_class("-warning")
        assert len(bells) == 2
        await pilot.press("f11")  # the OK key, live only while a warning waits
        await answered(app, pilot, 10)
        assert app.view.level == Level.OK
        assert app.view.message.startswith("Issued 10 kg of lot R-OLD")

    run(make_app(plant), scenario)


STOCKED = (
    "OP:B1001\rCMD:RECEIVE\r(240)RESIN(10)R-1(17)261231(30)25\r(240)PIGMENT(10)PG-1(30)2\r"
    "(240)BOLT(30)100\rCMD:DONE\r"
)
STOCKED_SCANS = 6


def recorded_kinds(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None, str]]:
    """(kind, part, lot or serial, where to) of each movement, in order."""
    return [
        (m.kind, m.part, m.lot or m.serial, m.to_location or "")
        for m in Floor(sessions, fixed_clock).movements()
    ]


def test_issue_shows_the_pick_list_then_issues_a_lot(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}CMD:ISSUE\rJOB:J-HOUSING\r")
        await answered(app, pilot, STOCKED_SCANS + 2)
        assert shown(app, "#prompt") == "Scan item for J-HOUSING"
        pick_list = shown(app, "#details")
        assert "RESIN: need 20" in pick_list and "R-1 @RCV 25 exp 2026-12-31" in pick_list
        assert "PIGMENT: need 2" in pick_list
        feed(app, "(240)RESIN(10)R-1(30)20\r")
        await answered(app, pilot, STOCKED_SCANS + 3)
        assert app.view.message == "Issued 20 kg of lot R-1 of RESIN to J-HOUSING"
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert app.view.log == ("Issued 20 kg of lot R-1 of RESIN",)
        assert "ISSUE" in shown(app, "#where")

    run(make_app(plant), scenario)
    floor = Floor(plant, fixed_clock)
    assert floor.stock("RESIN") == {("R-1", "RCV"): 5}
    assert recorded_kinds(plant)[-1][:3] == ("issue", "RESIN", "R-1")


def test_assign_a_lot_then_complete_into_it(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:ASSIGN\rJOB:J-HOUSING\rH-0001\r")
        await answered(app, pilot, 4)
        assert (app.view.level, app.view.message) == (
            Level.OK,
            "Lot H-0001 assigned to J-HOUSING",
        )
        assert app.screen.query_one(Feedback).has_class("-ok")
        feed(app, "CMD:COMPLETE\rJOB:J-HOUSING\r")
        await answered(app, pilot, 6)
        assert shown(app, "#prompt") == "Scan J-HOUSING's assembly to LINE"
        feed(app, "(240)HOUSING(30)4\r")
        await answered(app, pilot, 7)
        assert app.view.message == "Nothing issued to J-HOUSING yet: its lots will trace to nothing"
        assert app.screen.query_one(Feedback).has_class("-warning")
        feed(app, "CMD:OK\r")
        await answered(app, pilot, 8)
        assert app.view.message == "Completed 4 ea HOUSING into LINE"
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert app.view.log == ("Completed 4 ea lot H-0001",)
        assert "COMPLETE" in shown(app, "#where")

    run(make_app(plant), scenario)
    assert Floor(plant, fixed_clock).stock("HOUSING") == {("H-0001", "LINE"): 4}


def test_ship_a_serial_and_a_second_ship_of_it_is_refused_in_red(
    plant: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        bells: list[None] = []
        app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
        feed(app, "OP:B1001\rCMD:COMPLETE\rJOB:J-PUMP\r(240)PUMP(21)P-1\rCMD:OK\r")
        feed(app, "CMD:SHIP\rSO:SO-1\r")
        await answered(app, pilot, 7)
        assert app.view.message == "Shipping SO-1 to Hydro Systems"
        bells.clear()  # the completion's warning rang: nothing was issued to J-PUMP
        feed(app, "(240)PUMP(21)P-1\r")
        await answered(app, pilot, 8)
        assert app.view.message == "Shipped 1 ea of serial P-1 of PUMP on SO-1"
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert bells == []
        feed(app, "(240)PUMP(21)P-1\r")
        await answered(app, pilot, 9)
        assert (app.view.level, app.view.message) == (
            Level.ERROR,
            "No serial P-1 of PUMP in stock: it was shipped",
        )
        assert app.screen.query_one(Feedback).has_class("-error")
        assert len(bells) == 1
        assert shown(app, "#prompt") == "Scan item for SO-1"
        assert app.view.log == ("Shipped 1 ea of serial P-1 of PUMP",)

    run(make_app(plant), scenario)
    ships = [each for each in recorded_kinds(plant) if each[0] == "ship"]
    assert ships == [("ship", "PUMP", "P-1", "")]
    assert Floor(plant, fixed_clock).stock("PUMP") == {}


def test_move_asks_where_to_then_moves(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}CMD:MOVE\r(240)BOLT(30)30\r")
        await answered(app, pilot, STOCKED_SCANS + 2)
        assert shown(app, "#prompt") == "Move 30 ea of BOLT to? (LOC:)"
        assert app.screen.query_one(Feedback).has_class("-info")
        feed(app, "LOC:A-01\r")
        await answered(app, pilot, STOCKED_SCANS + 3)
        assert app.view.message == "Moved 30 ea of BOLT RCV>A-01"
        assert app.screen.query_one(Feedback).has_class("-ok")
        assert app.view.log == ("Moved 30 ea of BOLT to A-01",)

    run(make_app(plant), scenario)
    assert Floor(plant, fixed_clock).stock("BOLT") == {("", "RCV"): 70, ("", "A-01"): 30}


def test_a_log_line_wider_than_the_screen_goes_on_below_it(
    plant: sessionmaker[Session],
) -> None:
    """At 40 columns the log cut a long line at the screen's edge, losing where stock went;
    it now goes on in the next row, indented."""
    lot = "R-2026-12-07-NIGHT01"  # as long as a GS1 lot may be

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"OP:B1001\rCMD:RECEIVE\r(240)RESIN(10){lot}(30)25\rCMD:DONE\r")
        feed(app, f"CMD:MOVE\r(240)RESIN(10){lot}(30)5\rLOC:A-01\r")
        await answered(app, pilot, 7)
        line = f"Moved 5 kg of lot {lot} of RESIN to A-01"
        assert app.view.log == (line,) and len(line) > 40
        await pilot.pause()
        rows = list(app.screen.query_one(WorkLog).lines)
        assert rows == [f"Moved 5 kg of lot {lot}", "  of RESIN to A-01"]
        screen = app.export_screenshot().replace("&#160;", " ")
        assert all(row.strip() in screen for row in rows)

    run(make_app(plant), scenario)


def test_lookup_of_a_lot_shows_its_stock_and_trace(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}CMD:LOOKUP\r(240)RESIN(10)R-1\r")
        await answered(app, pilot, STOCKED_SCANS + 2)
        assert app.view.message == "Lot R-1 of RESIN"
        assert app.screen.query_one(Feedback).has_class("-ok")
        details = shown(app, "#details")
        assert "Status: released\nExpires 2026-12-31" in details and "R-1 @RCV: 25" in details
        assert "Made from 0, into 0" in details

    run(make_app(plant), scenario)
    assert len(recorded_kinds(plant)) == 3  # a lookup records nothing


def test_starting_a_workflow_again_clears_its_log(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r(240)BOLT(30)5\r(240)BOLT(30)6\r")
        await answered(app, pilot, 4)
        assert list(app.view.log) == ["Received 5 ea", "Received 6 ea"]
        feed(app, "CMD:RECEIVE\r")  # the same workflow, afresh
        await answered(app, pilot, 5)
        assert app.view.workflow == "RECEIVE"
        assert list(app.view.log) == list(app.screen.query_one(WorkLog).lines) == []
        feed(app, "(240)BOLT(30)7\rCMD:NOSUCH\r")  # a refused scan keeps the log
        await answered(app, pilot, 7)
        assert list(app.view.log) == ["Received 7 ea"]

    run(make_app(plant), scenario)


def test_the_log_shows_its_newest_line_after_an_undo_rewrites_it(
    plant: sessionmaker[Session],
) -> None:
    """The log shows four lines; an undo rewrites it whole (the reversal's lines at its end),
    and its newest line must still be the one in view."""

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, "OP:B1001\rCMD:RECEIVE\r" + "".join(f"(240)BOLT(30){n}\r" for n in range(1, 7)))
        await answered(app, pilot, 8)
        feed(app, "CMD:UNDO\r")
        await answered(app, pilot, 9)
        await pilot.pause()
        log = app.screen.query_one(WorkLog)
        assert list(log.lines)[-1] == app.view.log[-1] != "Received 6 ea"
        assert log.scroll_y == log.max_scroll_y > 0  # scrolled to its end
        assert app.view.log[-1] in app.export_screenshot().replace("&#160;", " ")

    run(make_app(plant), scenario)


def test_a_new_lookup_is_read_from_its_top(plant: sessionmaker[Session]) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        feed(app, f"{STOCKED}CMD:LOOKUP\r(240)RESIN(10)R-1\r")
        await answered(app, pilot, STOCKED_SCANS + 2)
        box = app.screen.query_one("#details-box")
        box.scroll_to(y=3, animate=False)  # the operator read on (PageDown)
        await pilot.pause()
        assert box.scroll_y > 0
        feed(app, "(240)PIGMENT(10)PG-1\r")
        await answered(app, pilot, STOCKED_SCANS + 3)
        await pilot.pause()
        assert app.view.message == "Lot PG-1 of PIGMENT" and box.scroll_y == 0

    run(make_app(plant), scenario)
