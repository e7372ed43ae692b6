"""SHIP driven by transcripts: the order's scan shows what is left to ship and where it is,
only parts on the order, a lot for a line that asks for lot control (typed, on the label, or
generated), and a serial never shipped twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import select

from scanner.db import unit_of_work
from scanner.models import Lot, Movement
from scanner.quality import Action, change_status, find_item
from scanner.settings import device_id
from scanner.workflows.base import Level
from tests.support.transcripts import Floor

STOCK = """
    OP:B1001
    CMD:RECEIVE
    (240)BOLT(30)100
    (240)HOUSING(10)H-1(30)10
    CMD:COMPLETE
    JOB:J-PUMP
    (240)PUMP(21)P-1
    CMD:OK
    (240)PUMP(21)P-2
    CMD:OK
    CMD:SHIP
    SO:SO-1
"""


@pytest.fixture
def stocked(floor: Floor) -> Floor:
    steps = floor.run(STOCK)
    assert not steps.errors()
    assert steps.last.message == "Shipping SO-1 to Hydro Systems"
    assert steps.last.prompt == "Scan item for SO-1"
    assert steps.last.details == (
        "line 1 PUMP: ship 5",
        "  P-1 @LINE 1",
        "  P-2 @LINE 1",
        "line 2 BOLT: ship 50",
        "  - @RCV 100",
    )
    return floor


def shipped(floor: Floor) -> list[tuple[str, str | None, str | None, int | None]]:
    """(part, lot, serial, sales-order line) of each shipment, in order."""
    return [(m.part, m.lot, m.serial, m.so_line) for m in floor.movements() if m.kind == "ship"]


def test_the_order_scan_shows_what_each_open_line_still_ships_and_where_it_is(
    stocked: Floor, clock: Callable[[], datetime]
) -> None:
    steps = stocked.run("""
        (240)PUMP(21)P-1
        (240)BOLT(10)BX-1(30)50
        CMD:CLOSE
        CMD:DONE
        CMD:SHIP
        SO:SO-1
    """)
    assert not steps.errors()
    assert steps.at(3).message == "SO-1 line 2 closed"
    shown = steps.last
    assert shown.message == "Shipping SO-1 to Hydro Systems"
    # Line 2 is closed: it ships nothing more, so it is not listed.
    assert shown.details == ("line 1 PUMP: ship 4", "  P-2 @LINE 1")

    with unit_of_work(stocked.sessions) as session:
        pump = find_item(session, "PUMP", lot=None, serial="P-2")
        change_status(session, pump, Action.HOLD, reason="Leaks", by="B9001", clock=clock)
    held = stocked.run("""
        CMD:DONE
        CMD:SHIP
        SO:SO-1
    """)
    assert held.last.details == ("line 1 PUMP: ship 4", "  none in stock")


def test_an_order_with_nothing_left_to_ship_says_so(stocked: Floor) -> None:
    steps = stocked.run("""
        SO:SO-2
        (240)HOUSING(10)H-1(30)4
        (240)BOLT(30)10
        CMD:DONE
        CMD:SHIP
        SO:SO-2
    """)
    assert not steps.errors()
    assert steps.last.details == ("Every open line is shipped",)


def test_a_lot_control_line_asks_an_untracked_part_for_a_typed_lot(stocked: Floor) -> None:
    steps = stocked.run("""
        (240)BOLT(30)10
        BL-1
    """)
    asked = steps.at(1).response
    assert (asked.level, asked.prompt) == (Level.INFO, "Lot of BOLT? (or CMD:GEN)")
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Shipped 10 ea of lot BL-1 of BOLT on SO-1")
    assert shipped(stocked) == [("BOLT", "BL-1", None, 2)]
    with stocked.session() as session:
        lot = session.get(Lot, ("BOLT", "BL-1"))
        assert lot is not None and lot.origin == "shipped"
    assert stocked.stock("BOLT") == {("", "RCV"): 90}  # untracked stock keeps no lot
    assert stocked.agrees()


def test_a_lot_control_line_takes_the_lot_on_the_label(stocked: Floor) -> None:
    done = stocked.scan("(240)BOLT(10)BX-9(30)5")
    assert (done.level, done.message) == (Level.OK, "Shipped 5 ea of lot BX-9 of BOLT on SO-1")
    assert shipped(stocked) == [("BOLT", "BX-9", None, 2)]


def test_a_lot_control_line_generates_its_lot(stocked: Floor) -> None:
    steps = stocked.run("""
        (240)BOLT(30)10
        CMD:GEN
        CMD:GEN
        (240)BOLT(30)5
        CMD:GEN
        BS-0001
        BS-0001
    """)
    assert not steps.errors()
    assert steps.at(2).response.prompt == "First lot (CMD:GEN again: next from pattern)"
    with stocked.session() as session:
        minted = f"{device_id(session)}261102-001"
    assert steps.at(3).message == f"Shipped 10 ea of lot {minted} of BOLT on SO-1"
    assert shipped(stocked) == [("BOLT", minted, None, 2), ("BOLT", "BS-0001", None, 2)]
    assert stocked.stock("BOLT") == {("", "RCV"): 85}


def test_a_line_without_lot_control_ships_an_untracked_part_as_it_is(stocked: Floor) -> None:
    steps = stocked.run("""
        SO:SO-2
        (240)BOLT(30)10
    """)
    assert steps.last.message == "Shipped 10 ea of BOLT on SO-2"
    assert shipped(stocked) == [("BOLT", None, None, 2)]


def test_a_serial_shipped_twice_is_refused(stocked: Floor) -> None:
    first = stocked.scan("(240)PUMP(21)P-1")
    assert first.message == "Shipped 1 ea of serial P-1 of PUMP on SO-1"
    before = stocked.snapshot()
    again = stocked.scan("(240)PUMP(21)P-1")
    assert (again.level, again.message) == (
        Level.ERROR,
        "No serial P-1 of PUMP in stock: it was shipped",
    )
    assert again.prompt == "Scan item for SO-1"
    assert stocked.snapshot() == before
    assert shipped(stocked) == [("PUMP", None, "P-1", 1)]
    assert stocked.stock("PUMP") == {("P-2", "LINE"): 1}


def test_a_part_not_on_the_order_is_refused(stocked: Floor) -> None:
    before = stocked.snapshot()
    refused = stocked.scan("(240)HOUSING(10)H-1(30)1")
    assert (refused.level, refused.message) == (Level.ERROR, "HOUSING is not on SO-1")
    assert refused.prompt == "Scan item for SO-1"
    assert stocked.snapshot() == before


def test_items_need_the_order_first(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:SHIP
        (240)BOLT(30)10
        SO:SO-9
    """)
    assert steps.at(3).message == "Scan the sales order first (SO:...)"
    assert steps.at(4).message == "Unknown sales order SO-9"
    assert steps.last.prompt == "Scan the sales order (SO:...)"
    with floor.session() as session:
        assert session.scalar(select(Movement.id).where(Movement.kind == "ship")) is None


def test_cmd_gen_with_a_first_and_last_lot_ships_one_lot_per_container(stocked: Floor) -> None:
    steps = stocked.run("""
        (240)BOLT(30)10
        CMD:GEN
        S-01
        S-03
    """)
    assert steps.at(3).response.prompt == "Last lot (first is S-01)"
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Shipped 10 ea of BOLT on SO-1: 3 lots")
    assert [each.text for each in done.recorded] == [
        "Shipped 3 ea of lot S-01 of BOLT",
        "Shipped 3 ea of lot S-02 of BOLT",
        "Shipped 4 ea of lot S-03 of BOLT",
    ]
    assert shipped(stocked) == [("BOLT", lot, None, 2) for lot in ("S-01", "S-02", "S-03")]
    with stocked.session() as session:
        origins = set(session.scalars(select(Lot.origin).where(Lot.part == "BOLT")))
    assert origins == {"shipped"}
    assert stocked.stock("BOLT") == {("", "RCV"): 90}
    assert stocked.agrees()


def test_cmd_undo_takes_back_every_lot_of_the_line(stocked: Floor) -> None:
    stocked.run("""
        (240)BOLT(30)10
        CMD:GEN
        S-01
        S-03
    """)
    undone = stocked.scan("CMD:UNDO")
    assert (undone.level, len(undone.recorded)) == (Level.OK, 3)
    assert stocked.stock("BOLT") == {("", "RCV"): 100}
    assert stocked.agrees()


def test_a_shipments_new_lot_asks_the_quantity_first_then_the_lot(stocked: Floor) -> None:
    steps = stocked.run("""
        (240)BOLT
        4
        CMD:GEN
        S-1
        S-2
    """)
    assert steps.at(1).response.prompt == "Quantity of BOLT (ea)?"
    assert steps.at(2).response.prompt == "Lot of BOLT? (or CMD:GEN)"
    assert steps.last.message == "Shipped 4 ea of BOLT on SO-1: 2 lots"
    assert [each.text for each in steps.last.recorded] == [
        "Shipped 2 ea of lot S-1 of BOLT",
        "Shipped 2 ea of lot S-2 of BOLT",
    ]


def test_more_lots_than_the_quantity_can_fill_are_asked_for_again(stocked: Floor) -> None:
    stocked.run("""
        (240)BOLT(30)2
        CMD:GEN
        S-1
    """)
    before = stocked.snapshot()
    refused = stocked.scan("S-3")
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "S-1..S-3 is 3 containers, more than 2 ea can fill (2 at most):"
        " scan the first number again",
    )
    assert refused.prompt == "First lot (CMD:GEN again: next from pattern)"
    assert stocked.snapshot() == before
    stocked.scan("S-1")
    assert stocked.scan("S-2").message == "Shipped 2 ea of BOLT on SO-1: 2 lots"
