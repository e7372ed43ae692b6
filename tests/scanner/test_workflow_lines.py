"""ISSUE and SHIP lines that wait for an answer: a new item's label starts that item's line,
so the next scan applies to the item the screen shows; a label that answers is an answer."""

from __future__ import annotations

import pytest

from scanner.workflows.base import Level
from tests.support.transcripts import Floor

STOCK = """
    OP:B1001
    CMD:RECEIVE
    (240)RESIN(10)R-SOON(17)261201(30)10
    (240)RESIN(10)R-LATE(17)270301(30)30
    (240)PIGMENT(10)PG-1(30)5
    (240)BOLT(30)100
    (240)HOUSING(10)H-1(30)10
    LOC:A-01
    (240)PIGMENT(10)PG-1(30)5
    CMD:COMPLETE
    JOB:J-PUMP
    (240)PUMP(21)P-1
    CMD:OK
"""


@pytest.fixture
def stocked(floor: Floor) -> Floor:
    assert not floor.run(STOCK).errors()
    return floor


def test_issue_a_warned_line_gives_way_to_the_lot_scanned_instead(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:ISSUE
        JOB:J-HOUSING
        (240)RESIN(10)R-LATE(30)10
        (240)RESIN(10)R-SOON(30)10
    """)
    warned = steps.at(3).response
    assert (warned.level, warned.message) == (
        Level.WARNING,
        "Lot R-SOON at RCV expires first (2026-12-01)",
    )
    switched = steps.last
    assert (switched.level, switched.message) == (
        Level.WARNING,
        "Unfinished line dropped (10 kg of lot R-LATE of RESIN)."
        " Issued 10 kg of lot R-SOON of RESIN to J-HOUSING",
    )
    assert stocked.stock("RESIN") == {("R-LATE", "RCV"): 30}
    assert [m.lot for m in stocked.movements() if m.kind == "issue"] == ["R-SOON"]
    assert stocked.agrees()


def test_issue_a_new_item_while_the_source_is_asked_is_the_one_issued(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:ISSUE
        JOB:J-HOUSING
        (240)PIGMENT(10)PG-1(30)2
        (240)RESIN(10)R-SOON(30)10
    """)
    assert steps.at(3).response.prompt == "From where? A-01, RCV (LOC:)"
    switched = steps.last
    assert (switched.level, switched.message) == (
        Level.WARNING,
        "Unfinished line dropped (2 kg of lot PG-1 of PIGMENT)."
        " Issued 10 kg of lot R-SOON of RESIN to J-HOUSING",
    )
    assert [m.lot for m in stocked.movements() if m.kind == "issue"] == ["R-SOON"]
    assert stocked.stock("PIGMENT") == {("PG-1", "A-01"): 5, ("PG-1", "RCV"): 5}


def test_ship_a_new_item_while_the_lot_is_asked_starts_its_own_line(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:SHIP
        SO:SO-1
        (240)BOLT(30)10
        (240)PUMP(21)P-9
        (240)PUMP(21)P-1
    """)
    assert steps.at(3).response.prompt == "Lot of BOLT? (or CMD:GEN)"
    refused = steps.at(4).response
    assert (refused.level, refused.message) == (Level.ERROR, "No serial P-9 of PUMP in stock")
    assert refused.prompt == "Lot of BOLT? (or CMD:GEN)"
    switched = steps.last
    assert (switched.level, switched.message) == (
        Level.WARNING,
        "Unfinished line dropped (10 ea of BOLT). Shipped 1 ea of serial P-1 of PUMP on SO-1",
    )
    assert [(m.part, m.serial) for m in stocked.movements() if m.kind == "ship"] == [
        ("PUMP", "P-1")
    ]


def test_ship_a_label_with_the_lot_answers_the_lot_asked_for(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:SHIP
        SO:SO-1
        (240)BOLT(30)10
        (240)BOLT(10)BL-7
    """)
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Shipped 10 ea of lot BL-7 of BOLT on SO-1")


def test_a_shipments_lot_on_untracked_stock_is_not_said_to_be_in_stock(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:MOVE
        (240)BOLT(30)30
        LOC:A-01
        CMD:SHIP
        SO:SO-1
        (240)BOLT(30)10
        CMD:GEN
        SHIPLOT-1
        SHIPLOT-1
        LOC:A-02
        LOC:A-01
    """)
    assert steps.at(7).message == "BOLT: the first lot (CMD:GEN again: the next from the pattern)"
    assert steps.at(8).message == "BOLT: the last lot, from SHIPLOT-1"
    several = steps.at(9).response
    assert (several.level, several.message) == (Level.INFO, "BOLT is in several places")
    assert several.prompt == "From where? A-01, RCV (LOC:)"
    assert steps.at(10).message == "No BOLT at A-02: it is at A-01, RCV"
    assert steps.last.message == "Shipped 10 ea of lot SHIPLOT-1 of BOLT on SO-1"
    assert stocked.stock("BOLT") == {("", "A-01"): 20, ("", "RCV"): 70}
