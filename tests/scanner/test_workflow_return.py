"""RETURN driven by transcripts: a customer's return into quarantine with its lot or serial
kept, never more than was shipped; a returned serial shipped again; a return to a supplier
on a purchase order; CMD:UNDO and CMD:CANCEL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from scanner.db import unit_of_work
from scanner.errors import RuleViolation
from scanner.ledger import Ledger
from scanner.models import Location, Movement, MovementKind, SalesOrder, SalesOrderLine, Serial
from scanner.orders import net_on_line
from scanner.workflows.base import Level
from tests.conftest import fixed_clock
from tests.support.transcripts import Floor

STOCK = """
    OP:B1001
    CMD:RECEIVE
    PO:PO-1
    (240)RESIN(10)R-1(17)271231(30)40
    (240)MOTOR(21)M-1
    CMD:RECEIVE
    (240)BOLT(30)100
    (240)HOUSING(10)H-1(30)10
    (240)HOUSING(10)H-2(30)10
    (240)PUMP(21)P-1
    (240)PUMP(21)P-2
    CMD:SHIP
    SO:SO-1
    (240)PUMP(21)P-1
    (240)BOLT(10)BL-1(30)20
    SO:SO-2
    (240)HOUSING(10)H-1(30)4
    CMD:DONE
"""


@pytest.fixture
def shipped(floor: Floor) -> Floor:
    """The plant with a quarantine location and a third customer, after receipts on PO-1 and
    without an order, and shipments on SO-1 (serial P-1, 20 bolts as lot BL-1) and SO-2
    (4 of lot H-1)."""
    with unit_of_work(floor.sessions) as session:
        session.add(Location(code="QUAR", name="Quarantine cage", kind="quarantine"))
        session.add(SalesOrder(number="SO-3", customer="Brandt Agricultural Machines"))
        session.flush()
        session.add(SalesOrderLine(so="SO-3", line=1, part="HOUSING", qty=Decimal(4)))
        session.add(SalesOrderLine(so="SO-3", line=2, part="HOUSING", qty=Decimal(4)))
    steps = floor.run(STOCK)
    assert not steps.errors(), steps.errors()
    return floor


def returns(floor: Floor) -> list[tuple[str, str | None, str | None, str | None, object]]:
    """(part, lot or serial, order and line, from or to, qty) of each return, in order."""
    found = []
    for m in floor.movements():
        if m.kind == "return":
            order = f"{m.so or m.po}/{m.so_line or m.po_line}" if (m.so or m.po) else None
            found.append(
                (m.part, m.lot or m.serial, order, m.to_location or m.from_location, m.qty)
            )
    return found


def serial_state(floor: Floor, part: str, serial: str) -> tuple[str, str | None]:
    with floor.session() as session:
        record = session.get(Serial, (part, serial))
        assert record is not None
        return record.status, record.location


# ---- from a customer --------------------------------------------------------------------


def test_a_customer_return_goes_into_quarantine_with_its_lot_kept(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)HOUSING(10)H-1(30)3
    """)
    started = steps.at(1).response
    assert (started.message, started.prompt) == (
        "RETURN: Scan item returned to QUAR",
        "Scan item returned to QUAR",
    )
    done = steps.last
    assert (done.level, done.message) == (
        Level.OK,
        "Returned 3 ea of lot H-1 of HOUSING from AquaFlow Ltd into QUAR",
    )
    assert done.labels == ()  # the lot keeps its label
    assert returns(shipped) == [("HOUSING", "H-1", "SO-2/1", "QUAR", 3)]
    assert shipped.stock("HOUSING", "H-1") == {("H-1", "RCV"): 6, ("H-1", "QUAR"): 3}
    assert shipped.agrees()


def test_a_new_item_while_a_return_asks_its_quantity_starts_its_own_line(
    shipped: Floor,
) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)HOUSING(10)H-1
        (240)PUMP(21)P-1
    """)
    assert steps.at(2).response.prompt == "Quantity of lot H-1 of HOUSING (ea)?"
    switched = steps.last
    assert (switched.level, switched.message) == (
        Level.WARNING,
        "Unfinished line dropped (lot H-1 of HOUSING)."
        " Returned 1 ea of serial P-1 of PUMP from Hydro Systems into QUAR",
    )
    assert returns(shipped) == [("PUMP", "P-1", "SO-1/1", "QUAR", 1)]
    assert shipped.agrees()


def test_a_return_beyond_what_was_shipped_is_refused_with_the_numbers(shipped: Floor) -> None:
    first = shipped.run("""
        CMD:RETURN
        SO:SO-2
        (240)HOUSING(10)H-1(30)3
    """)
    assert first.at(2).message == "Returns from AquaFlow Ltd on SO-2"
    assert first.last.level == Level.OK
    before = shipped.snapshot()
    refused = shipped.scan("(240)HOUSING(10)H-1(30)2")
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "SO-2 shipped 4 of lot H-1 of HOUSING; 3 came back already, not 2",
    )
    assert refused.prompt == "Scan item returned to QUAR (SO-2)"
    assert shipped.snapshot() == before
    assert shipped.scan("(240)HOUSING(10)H-1(30)1").level == Level.OK
    assert shipped.agrees()


def test_a_lot_that_was_never_shipped_cannot_come_back(shipped: Floor) -> None:
    before = shipped.snapshot()
    steps = shipped.run("""
        CMD:RETURN
        (240)RESIN(10)R-1(30)1
        SO:SO-2
        (240)HOUSING(10)H-2
    """)
    assert steps.at(2).message == "Lot R-1 of RESIN was never shipped"
    # Refused as soon as the lot is known, before its quantity is asked for.
    assert steps.last.message == "Lot H-2 of HOUSING was not shipped on SO-2"
    assert steps.last.prompt == "Scan item returned to QUAR (SO-2)"
    assert shipped.snapshot() == before


def test_a_part_not_on_the_order_named_is_refused(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        SO:SO-1
        (240)HOUSING(10)H-1(30)1
    """)
    assert (steps.last.level, steps.last.message) == (Level.ERROR, "HOUSING is not on SO-1")


def test_a_lot_shipped_on_two_orders_asks_which_came_back(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:SHIP
        SO:SO-3
        (240)HOUSING(10)H-1(30)2
        CMD:RETURN
        (240)HOUSING(10)H-1(30)2
        SO:SO-3
        (240)HOUSING(10)H-1(30)2
    """)
    assert steps.at(5).level == Level.ERROR
    assert steps.at(5).message == (
        "Lot H-1 of HOUSING went out on SO-2 and SO-3: scan the sales order (SO:)"
    )
    assert steps.last.message == (
        "Returned 2 ea of lot H-1 of HOUSING from Brandt Agricultural Machines into QUAR"
    )
    assert returns(shipped) == [("HOUSING", "H-1", "SO-3/1", "QUAR", 2)]
    # All that SO-3 shipped is back: another return of H-1 can only be SO-2's.
    again = shipped.run("""
        CMD:RETURN
        (240)HOUSING(10)H-1(30)1
    """)
    assert again.last.message == "Returned 1 ea of lot H-1 of HOUSING from AquaFlow Ltd into QUAR"
    assert shipped.agrees()


def test_the_lot_and_quantity_are_asked_for_when_the_label_lacks_them(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)HOUSING
        H-1
        2
    """)
    assert steps.at(2).response.prompt == "Lot of HOUSING?"
    assert steps.at(3).response.prompt == "Quantity of lot H-1 of HOUSING (ea)?"
    assert steps.last.message == "Returned 2 ea of lot H-1 of HOUSING from AquaFlow Ltd into QUAR"


def test_loc_before_the_items_chooses_where_returns_go(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        LOC:A-02
        (240)HOUSING(10)H-1(30)1
    """)
    assert steps.at(2).message == "Returns go to A-02"
    assert steps.last.message == "Returned 1 ea of lot H-1 of HOUSING from AquaFlow Ltd into A-02"
    assert shipped.stock("HOUSING", "H-1") == {("H-1", "RCV"): 6, ("H-1", "A-02"): 1}


def test_without_a_quarantine_location_the_workflow_asks_where(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RETURN
        (240)BOLT(30)5
        LOC:A-01
        (240)BOLT(30)5
    """)
    assert steps.at(2).message == "RETURN: Where do returns go? (LOC:)"
    assert (steps.at(3).level, steps.at(3).message) == (
        Level.ERROR,
        "No location of kind quarantine: scan where the returns go (LOC:...)",
    )
    assert steps.last.message == "Returned 5 ea of BOLT into A-01"
    assert floor.stock("BOLT") == {("", "A-01"): 5}


def test_a_held_lot_comes_back_all_the_same(shipped: Floor) -> None:
    with unit_of_work(shipped.sessions) as session:
        Ledger(session, fixed_clock).set_lot_status("HOUSING", "H-1", "hold")
    steps = shipped.run("""
        CMD:RETURN
        (240)HOUSING(10)H-1(30)4
    """)
    assert steps.last.level == Level.OK
    assert shipped.stock("HOUSING", "H-1")[("H-1", "QUAR")] == 4


def test_untracked_goods_come_back_by_quantity_or_by_the_shipment_lot(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)BOLT(30)5
        (240)BOLT(10)BL-1(30)5
        SO:SO-2
        (240)BOLT(30)5
    """)
    assert steps.at(2).message == "Returned 5 ea of BOLT into QUAR"
    assert steps.at(3).message == "Returned 5 ea of lot BL-1 of BOLT from Hydro Systems into QUAR"
    assert steps.last.message == "SO-2 shipped no BOLT: nothing of it can come back on it"
    assert returns(shipped) == [
        ("BOLT", None, None, "QUAR", 5),
        ("BOLT", "BL-1", "SO-1/2", "QUAR", 5),
    ]
    assert shipped.stock("BOLT") == {("", "RCV"): 80, ("", "QUAR"): 10}
    assert shipped.agrees()


def test_untracked_goods_never_come_back_beyond_their_line_with_or_without_its_lot(
    shipped: Floor,
) -> None:
    steps = shipped.run("""
        CMD:RETURN
        SO:SO-1
        (240)BOLT(30)15
        (240)BOLT(10)BL-1(30)10
        (240)BOLT(10)BL-1(30)5
    """)
    assert steps.at(3).level == Level.OK
    assert steps.at(4).message == "SO-1 shipped 20 of BOLT; 15 came back already, not 10"
    assert steps.last.level == Level.OK
    assert shipped.stock("BOLT") == {("", "RCV"): 80, ("", "QUAR"): 20}


def test_what_came_back_is_not_taken_off_what_the_line_shipped(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:SHIP
        SO:SO-3
        (240)HOUSING(10)H-1(30)4
        CMD:RETURN
        SO:SO-3
        (240)HOUSING(10)H-1(30)2
        CMD:UNDO
        (240)HOUSING(10)H-1(30)2
        CMD:SHIP
        SO:SO-3
        (240)HOUSING(10)H-2(30)1
    """)
    assert not steps.errors()
    with shipped.session() as session:
        # Line 1 shipped its 4: a return, or the undo of one, is no shipment.
        assert net_on_line(session, MovementKind.SHIP, so="SO-3", line=1) == 4
        assert net_on_line(session, MovementKind.SHIP, so="SO-3", line=2) == 1
    lines = [(m.kind, m.lot, m.so_line) for m in shipped.movements() if m.so == "SO-3"]
    assert lines == [
        ("ship", "H-1", 1),
        ("return", "H-1", 1),
        ("reverse", "H-1", 1),
        ("return", "H-1", 1),
        ("ship", "H-2", 2),
    ]


# ---- serials ------------------------------------------------------------------------------


def test_a_returned_serial_is_in_stock_and_can_be_shipped_again(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)PUMP(21)P-1
        CMD:SHIP
        SO:SO-1
        (240)PUMP(21)P-1
    """)
    assert steps.at(2).message == "Returned 1 ea of serial P-1 of PUMP from Hydro Systems into QUAR"
    assert steps.last.message == "Shipped 1 ea of serial P-1 of PUMP on SO-1"
    assert serial_state(shipped, "PUMP", "P-1") == ("shipped", None)
    assert shipped.stock("PUMP") == {("P-2", "RCV"): 1}
    # Shipped twice, back once: it may come back once more.
    again = shipped.run("""
        CMD:RETURN
        (240)PUMP(21)P-1
    """)
    assert again.last.level == Level.OK
    assert serial_state(shipped, "PUMP", "P-1") == ("in_stock", "QUAR")
    assert shipped.agrees()


def test_only_a_shipped_serial_comes_back(shipped: Floor) -> None:
    before = shipped.snapshot()
    steps = shipped.run("""
        CMD:RETURN
        (240)PUMP(21)P-2
        (240)PUMP(21)P-1
        (240)PUMP(21)P-1
    """)
    not_out = (
        "not out with a customer: only a shipped serial comes back (one returned already is"
        " back in stock)"
    )
    assert steps.at(2).message == f"Serial P-2 of PUMP is in stock at RCV, {not_out}"
    assert steps.at(3).level == Level.OK
    # Back already: it was shipped, so not "it was not shipped".
    assert steps.last.message == f"Serial P-1 of PUMP is in stock at QUAR, {not_out}"
    assert len(shipped.snapshot()[0]) == len(before[0]) + 1


def test_undo_of_a_customer_return_leaves_the_serial_shipped(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)PUMP(21)P-1
        CMD:UNDO
    """)
    assert (steps.last.level, steps.last.message) == (Level.OK, "Last line reversed")
    assert serial_state(shipped, "PUMP", "P-1") == ("shipped", None)
    assert shipped.stock("PUMP") == {("P-2", "RCV"): 1}
    assert shipped.agrees()
    # Undone, it was never back: it may come back now.
    assert shipped.scan("(240)PUMP(21)P-1").level == Level.OK
    assert serial_state(shipped, "PUMP", "P-1") == ("in_stock", "QUAR")


def test_undo_of_a_lot_return_gives_back_what_may_still_come(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)HOUSING(10)H-1(30)4
        CMD:UNDO
        (240)HOUSING(10)H-1(30)4
    """)
    assert [step.level for step in steps[1:]] == [Level.OK, Level.OK, Level.OK]
    assert shipped.stock("HOUSING", "H-1") == {("H-1", "RCV"): 6, ("H-1", "QUAR"): 4}
    assert shipped.agrees()


def test_a_shipment_whose_goods_came_back_is_undone_only_after_the_return(
    shipped: Floor,
) -> None:
    assert shipped.run("CMD:RETURN\n(240)HOUSING(10)H-1(30)3").last.level == Level.OK
    with shipped.session() as session:
        shipment, returned = (
            session.scalar(select(Movement.id).where(Movement.kind == kind, Movement.lot == "H-1"))
            for kind in ("ship", "return")
        )
    assert shipment is not None and returned is not None
    with pytest.raises(RuleViolation) as refused, unit_of_work(shipped.sessions) as session:
        Ledger(session, fixed_clock).reverse(shipment, reason="wrong lot")
    assert str(refused.value) == (
        "3 ea of lot H-1 of HOUSING came back from SO-2 already: undo the return first"
    )
    with unit_of_work(shipped.sessions) as session:
        ledger = Ledger(session, fixed_clock)
        ledger.reverse(returned, reason="scanned in error")
        ledger.reverse(shipment, reason="wrong lot")
    assert shipped.stock("HOUSING", "H-1") == {("H-1", "RCV"): 10}
    assert shipped.agrees()


def test_cancel_drops_the_line_in_progress(shipped: Floor) -> None:
    before = shipped.snapshot()
    steps = shipped.run("""
        CMD:RETURN
        (240)HOUSING(10)H-1
        CMD:CANCEL
    """)
    assert steps.last.message == "Line cancelled"
    assert steps.last.prompt == "Scan item returned to QUAR"
    assert shipped.snapshot() == before


# ---- to a supplier ------------------------------------------------------------------------


def test_a_return_to_a_supplier_takes_stock_on_hand_back_on_the_order(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        PO:PO-1
        (240)RESIN(10)R-1(30)5
    """)
    assert steps.at(2).message == "Back to Acme Polymers on PO-1"
    assert steps.at(2).response.prompt == "Scan item back to PO-1"
    assert steps.last.message == "Returned 5 kg of lot R-1 of RESIN to Acme Polymers from RCV"
    assert returns(shipped) == [("RESIN", "R-1", "PO-1/1", "RCV", 5)]
    assert shipped.stock("RESIN") == {("R-1", "RCV"): 35}
    assert shipped.agrees()


def test_a_supplier_return_asks_where_from_when_the_lot_is_in_several_places(
    shipped: Floor,
) -> None:
    steps = shipped.run("""
        CMD:MOVE
        (240)RESIN(10)R-1(30)10
        LOC:A-01
        CMD:RETURN
        PO:PO-1
        (240)RESIN(10)R-1(30)8
        LOC:A-01
    """)
    asked = steps.at(6).response
    assert (asked.message, asked.prompt) == (
        "lot R-1 of RESIN is in several places",
        "From where? A-01, RCV (LOC:)",
    )
    assert steps.last.message == "Returned 8 kg of lot R-1 of RESIN to Acme Polymers from A-01"
    assert shipped.stock("RESIN") == {("R-1", "RCV"): 30, ("R-1", "A-01"): 2}


def test_a_supplier_return_never_sends_back_more_than_the_order_received(
    shipped: Floor,
) -> None:
    steps = shipped.run("""
        CMD:RECEIVE
        (240)RESIN(10)R-1(30)10
        (240)RESIN(10)R-2(30)10
        CMD:RETURN
        PO:PO-1
        (240)RESIN(10)R-1(30)45
        (240)RESIN(10)R-2(30)1
    """)
    assert steps.at(6).message == ("PO-1 received 40 of lot R-1 of RESIN, not 45")
    assert steps.last.message == (
        "PO-1 received no lot R-2 of RESIN: only what it brought can go back on it"
    )
    assert returns(shipped) == []


def test_a_held_lot_goes_back_to_its_supplier(shipped: Floor) -> None:
    with unit_of_work(shipped.sessions) as session:
        Ledger(session, fixed_clock).set_lot_status("RESIN", "R-1", "hold")
    steps = shipped.run("""
        CMD:RETURN
        PO:PO-1
        (240)RESIN(10)R-1(30)40
    """)
    assert steps.last.level == Level.OK
    assert shipped.stock("RESIN") == {}


def test_a_serial_returned_to_its_supplier_leaves_stock_and_undo_brings_it_back(
    shipped: Floor,
) -> None:
    steps = shipped.run("""
        CMD:RETURN
        PO:PO-1
        LOC:RCV
        (240)MOTOR(21)M-1
    """)
    assert steps.at(3).message == "Taking from RCV"
    assert steps.last.message == "Returned 1 ea of serial M-1 of MOTOR to Acme Polymers from RCV"
    assert returns(shipped) == [("MOTOR", "M-1", "PO-1/2", "RCV", 1)]
    assert serial_state(shipped, "MOTOR", "M-1") == ("gone", None)
    assert shipped.stock("MOTOR") == {}
    assert shipped.scan("CMD:UNDO").message == "Last line reversed"
    assert serial_state(shipped, "MOTOR", "M-1") == ("in_stock", "RCV")
    assert shipped.agrees()


def test_scanning_an_order_turns_the_workflow_round(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        PO:PO-1
        SO:SO-1
        (240)PUMP(21)P-1
    """)
    assert steps.at(3).response.prompt == "Scan item returned to QUAR (SO-1)"
    assert steps.last.message == "Returned 1 ea of serial P-1 of PUMP from Hydro Systems into QUAR"


# ---- what LOOKUP says ---------------------------------------------------------------------


def test_lookup_of_a_lot_says_what_came_back(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)HOUSING(10)H-1(30)3
        CMD:LOOKUP
        (240)HOUSING(10)H-1
    """)
    assert steps.last.message == "Lot H-1 of HOUSING"
    assert steps.last.details[-2:] == (
        "Made from 0, into 0; shipped to 1 customer",
        "Returned 3 from customers",
    )


def test_lookup_of_a_serial_shows_its_shipments_and_returns(shipped: Floor) -> None:
    steps = shipped.run("""
        CMD:RETURN
        (240)PUMP(21)P-1
        CMD:LOOKUP
        (240)PUMP(21)P-1
        (240)MOTOR(21)M-1
        CMD:RETURN
        PO:PO-1
        (240)MOTOR(21)M-1
        CMD:LOOKUP
        (240)MOTOR(21)M-1
    """)
    assert steps.at(4).response.details == (
        "Centrifugal pump",
        "in stock at QUAR",
        "Status: released",
        "Made from 0, into 0",
        "  shipped on SO-1 to Hydro Systems",
        "  back from Hydro Systems on SO-1",
    )
    assert steps.at(5).response.details[-1] == "Made from 0, into 0"
    assert steps.last.details == (
        "0.75 kW motor",
        "gone",
        "Status: released",
        "Made from 0, into 0",
        "  back to Acme Polymers on PO-1",
    )
