"""MOVE and LOOKUP driven by transcripts: stock changing place, and what a scan shows."""

from __future__ import annotations

import pytest

from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.workflows.base import Level
from tests.conftest import fixed_clock
from tests.support.transcripts import Floor

STOCK = """
    OP:B1001
    CMD:RECEIVE
    (240)BOLT(30)100
    (240)RESIN(10)R-1(17)261231(30)25
    LOC:A-01
    (240)RESIN(10)R-1(17)261231(30)5
    CMD:ISSUE
    JOB:J-HOUSING
    LOC:RCV
    (240)RESIN(10)R-1(30)20
    CMD:COMPLETE
    JOB:J-PUMP
    (240)PUMP(21)P-1
    CMD:OK
"""


@pytest.fixture
def stocked(floor: Floor) -> Floor:
    assert not floor.run(STOCK).errors()
    return floor


def test_move_takes_the_item_then_its_destination(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:MOVE
        (240)BOLT(30)30
        LOC:A-01
    """)
    asked = steps.at(2).response
    assert (asked.level, asked.message) == (Level.INFO, "30 ea of BOLT from RCV")
    assert asked.prompt == "Move 30 ea of BOLT to? (LOC:)"
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Moved 30 ea of BOLT RCV>A-01")
    assert done.prompt == "Scan the item to move"
    assert stocked.stock("BOLT") == {("", "RCV"): 70, ("", "A-01"): 30}
    assert stocked.agrees()


def test_move_asks_the_source_of_a_lot_in_several_places(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:MOVE
        (240)RESIN(10)R-1(30)5
        LOC:A-02
        LOC:RCV
        LOC:A-02
    """)
    assert steps.at(2).response.prompt == "From where? A-01, RCV (LOC:)"
    assert steps.at(3).message == "No lot R-1 of RESIN at A-02: it is at A-01, RCV"
    assert steps.at(4).response.prompt == "Move 5 kg of lot R-1 of RESIN to? (LOC:)"
    assert steps.last.message == "Moved 5 kg of lot R-1 of RESIN RCV>A-02"
    assert stocked.stock("RESIN") == {("R-1", "A-01"): 5, ("R-1", "A-02"): 5}


def test_move_refuses_more_than_the_source_holds_before_asking_where_to(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:MOVE
        (240)BOLT(30)500
    """)
    refused = steps.last
    assert (refused.level, refused.message) == (Level.ERROR, "Only 100 ea of BOLT at RCV, not 500")
    assert refused.prompt == "Scan the item to move"


def test_move_to_where_it_already_is_is_refused(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:MOVE
        (240)PUMP(21)P-1
        LOC:LINE
        LOC:SHIP
    """)
    assert steps.at(3).message == "Serial P-1 of PUMP is already at LINE"
    assert steps.at(3).response.prompt == "Move 1 ea of serial P-1 of PUMP to? (LOC:)"
    assert steps.last.message == "Moved 1 ea of serial P-1 of PUMP LINE>SHIP"
    assert stocked.stock("PUMP") == {("P-1", "SHIP"): 1}


def test_a_lot_on_hold_does_not_move(stocked: Floor) -> None:
    with unit_of_work(stocked.sessions) as session:
        Ledger(session, fixed_clock).set_lot_status("RESIN", "R-1", "hold")
    steps = stocked.run("""
        CMD:MOVE
        (240)RESIN(10)R-1(30)5
    """)
    assert (steps.last.level, steps.last.message) == (Level.ERROR, "Lot R-1 of RESIN is on hold")


def test_lookup_of_a_lot_shows_its_stock_jobs_and_trace(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:LOOKUP
        (240)RESIN(10)R-1
    """)
    shown = steps.last
    assert (shown.level, shown.message) == (Level.OK, "Lot R-1 of RESIN")
    assert shown.details == (
        "PA66 resin, 25 kg bag",
        "Status: released",
        "Expires 2026-12-31",
        "Stock:",
        "  R-1 @A-01: 5",
        "  R-1 @RCV: 5",
        "Jobs:",
        "  consumed by J-HOUSING: 20",
        "Made from 0, into 0; shipped to 0 customers",
    )


def test_lookup_of_a_location_shows_its_contents(stocked: Floor) -> None:
    shown = stocked.run("""
        CMD:LOOKUP
        LOC:RCV
    """).last
    assert shown.message == "Location RCV"
    assert shown.details == ("Contents:", "  BOLT @RCV: 100", "  RESIN R-1 @RCV: 5")


def test_lookup_of_a_job_shows_what_is_left_to_pick_and_what_it_used(stocked: Floor) -> None:
    shown = stocked.run("""
        CMD:LOOKUP
        JOB:J-HOUSING
    """).last
    assert shown.message == "Job J-HOUSING"
    assert shown.details == (
        "open",
        "0 of 10 ea HOUSING completed",
        "To pick:",
        "PIGMENT: need 2",
        "  none in stock",
        "Used and made:",
        "  consumed RESIN R-1 20",
    )


def test_lookup_of_a_serial_shows_where_it_is(stocked: Floor) -> None:
    shown = stocked.run("""
        CMD:LOOKUP
        (240)PUMP(21)P-1
    """).last
    assert shown.message == "Serial P-1 of PUMP"
    assert shown.details == (
        "Centrifugal pump",
        "in stock at LINE",
        "Status: released",
        "Made from 0, into 0",
    )


def test_lookup_of_something_unknown_says_so(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:LOOKUP
        (240)RESIN(10)R-404
        LOC:NOWHERE
        hello
    """)
    assert [(step.level, step.message) for step in steps[1:]] == [
        (Level.ERROR, "No lot R-404 of RESIN"),
        (Level.ERROR, "Unknown location NOWHERE"),
        (Level.ERROR, "Scan a lot, serial, part, location, job or order label"),
    ]
