"""Quantities against order lines, driven by transcripts: receiving or shipping beyond what a
purchase- or sales-order line asks waits for CMD:OK, and after each line on an order the
screen shows how far its line has come, as the ledger says (undo included)."""

from __future__ import annotations

import pytest

from scanner.workflows.base import Level
from tests.support.transcripts import Floor

# The test plant's PO-1 asks 100 kg of RESIN on line 1; SO-2 asks 10 BOLT on line 2.
ON_PO = """
    OP:B1001
    CMD:RECEIVE
    PO:PO-1
"""
ON_SO = """
    OP:B1001
    CMD:RECEIVE
    (240)BOLT(30)100
    CMD:SHIP
    SO:SO-2
"""


FILLED = "Line filled: CMD:CLOSE closes it"


@pytest.fixture
def receiving(floor: Floor) -> Floor:
    assert not floor.run(ON_PO).errors()
    return floor


@pytest.fixture
def shipping(floor: Floor) -> Floor:
    assert not floor.run(ON_SO).errors()
    return floor


def test_each_line_received_on_an_order_shows_how_far_its_line_has_come(
    receiving: Floor,
) -> None:
    steps = receiving.run("""
        (240)RESIN(10)R-1(30)40
        (240)RESIN(10)R-2(30)25
        CMD:UNDO
        (240)RESIN(10)R-3(30)5
    """)
    assert steps.at(1).response.details == ("PO-1 line 1: 40 of 100 received",)
    assert steps.at(2).response.details == ("PO-1 line 1: 65 of 100 received",)
    assert steps.last.details == ("PO-1 line 1: 45 of 100 received",)  # the undone line is out
    assert receiving.agrees()


def test_receiving_beyond_the_purchase_order_line_waits_for_cmd_ok(receiving: Floor) -> None:
    receiving.scan("(240)RESIN(10)R-1(30)60")
    before = receiving.snapshot()
    warned = receiving.scan("(240)RESIN(10)R-2(30)50")
    assert (warned.level, warned.message) == (
        Level.WARNING,
        "PO-1 line 1 asks 100; 60 received, this would make 110",
    )
    assert warned.prompt == "CMD:OK to receive, CMD:CANCEL not"
    assert warned.awaiting_confirmation and warned.recorded == () and warned.labels == ()
    assert receiving.snapshot() == before
    refused = receiving.scan("(240)RESIN(10)R-3(30)1")
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "PO-1 line 1 asks 100; 60 received, this would make 110: scan CMD:OK to go on or"
        " CMD:CANCEL",
    )
    assert refused.prompt == warned.prompt and receiving.snapshot() == before
    confirmed = receiving.scan("CMD:OK")
    assert (confirmed.level, confirmed.message) == (Level.OK, "Received RESIN")
    assert confirmed.details == ("PO-1 line 1: 110 of 100 received", FILLED)
    assert receiving.stock("RESIN") == {("R-1", "RCV"): 60, ("R-2", "RCV"): 50}
    assert receiving.agrees()


def test_a_lot_no_label_can_carry_is_refused_as_typed_before_the_warning(
    receiving: Floor,
) -> None:
    """Typed after a label past the line, "OL 77" was taken, the warning confirmed, and then
    the ledger refused it at every CMD:OK: the line waited on a confirmation that always
    failed, and a corrected lot was told to scan CMD:OK (probe)."""
    steps = receiving.run("""
        (240)RESIN(30)150
        R 77
        R-77
        CMD:OK
    """)
    refused = steps.at(2).response
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "Lot number 'R 77' has characters a GS1 label cannot carry: space",
    )
    assert refused.prompt == steps.at(1).response.prompt  # asked again
    assert steps.at(3).response.message == "PO-1 line 1 asks 100; 0 received, this would make 150"
    assert steps.last.message == "Received RESIN"
    assert receiving.stock("RESIN") == {("R-77", "RCV"): 150}


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("0.0001", "Quantity 0.0001 has more than three decimal places"),
        (
            "99999999999999999999",
            "99999999999999999999 is more than one movement carries (at most 1000000000):"
            " check the quantity",
        ),
    ],
)
def test_a_typed_number_that_is_no_quantity_is_told_why(
    receiving: Floor, typed: str, said: str
) -> None:
    """Both were "is not a quantity: type a number", though each is a number (probe)."""
    steps = receiving.run(f"""
        (240)RESIN(10)R-1
        {typed}
    """)
    assert (steps.last.level, steps.last.message) == (Level.ERROR, said)


def test_a_receipt_that_fills_its_line_exactly_needs_no_confirmation(receiving: Floor) -> None:
    done = receiving.scan("(240)RESIN(10)R-1(30)100")
    assert (done.level, done.details) == (Level.OK, ("PO-1 line 1: 100 of 100 received", FILLED))


def test_several_containers_beyond_the_line_are_one_warning_for_the_line(
    receiving: Floor,
) -> None:
    steps = receiving.run("""
        (240)RESIN(30)120
        CMD:GEN
        R-0001
        R-0004
        CMD:OK
    """)
    warned = steps.at(4).response
    assert warned.message == "PO-1 line 1 asks 100; 0 received, this would make 120"
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Received RESIN: 4 containers")
    assert done.details == ("PO-1 line 1: 120 of 100 received", FILLED)
    assert {(m.po, m.po_line, m.qty) for m in receiving.movements()} == {("PO-1", 1, 30)}


def test_cmd_cancel_drops_a_line_waiting_for_confirmation(receiving: Floor) -> None:
    before = receiving.snapshot()
    steps = receiving.run("""
        (240)RESIN(10)R-1(30)150
        CMD:CANCEL
        CMD:OK
    """)
    assert steps.at(1).level == Level.WARNING
    assert (steps.at(2).level, steps.at(2).message) == (
        Level.INFO,
        "Line cancelled: scan the item again",
    )
    assert steps.at(2).response.prompt == "Scan item to RCV (PO-1)"
    assert steps.at(3).level == Level.ERROR  # nothing waits any more
    assert receiving.snapshot() == before


def test_an_expired_lot_beyond_the_line_needs_a_cmd_ok_for_each(receiving: Floor) -> None:
    steps = receiving.run("""
        (240)RESIN(10)R-OLD(17)261001(30)101
        CMD:OK
        CMD:OK
    """)
    assert [steps.at(n).message for n in (1, 2)] == [
        "PO-1 line 1 asks 100; 0 received, this would make 101",
        "Lot R-OLD of RESIN expired on 2026-10-01",
    ]
    assert steps.at(2).response.recorded == ()
    assert steps.last.message == "Received RESIN"


def test_each_line_shipped_shows_how_much_of_its_order_line_was_shipped(
    shipping: Floor,
) -> None:
    steps = shipping.run("""
        (240)BOLT(30)4
        (240)BOLT(30)6
        CMD:UNDO
        (240)BOLT(30)1
    """)
    assert steps.at(1).response.details == ("SO-2 line 2: 4 of 10 shipped",)
    assert steps.at(2).response.details == ("SO-2 line 2: 10 of 10 shipped", FILLED)
    assert steps.last.details == ("SO-2 line 2: 5 of 10 shipped",)
    assert shipping.agrees()


def test_shipping_beyond_the_sales_order_line_waits_for_cmd_ok(shipping: Floor) -> None:
    shipping.scan("(240)BOLT(30)5")
    before = shipping.snapshot()
    warned = shipping.scan("(240)BOLT(30)6")
    assert (warned.level, warned.message) == (
        Level.WARNING,
        "SO-2 line 2 asks 10; 5 shipped, this would make 11",
    )
    assert warned.prompt == "CMD:OK to ship, CMD:CANCEL not"
    assert warned.awaiting_confirmation and warned.recorded == ()
    assert shipping.snapshot() == before
    refused = shipping.scan("hello")
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "SO-2 line 2 asks 10; 5 shipped, this would make 11: scan CMD:OK to go on or CMD:CANCEL",
    )
    assert shipping.snapshot() == before
    confirmed = shipping.scan("CMD:OK")
    assert (confirmed.level, confirmed.message) == (Level.OK, "Shipped 6 ea of BOLT on SO-2")
    assert confirmed.details == ("SO-2 line 2: 11 of 10 shipped", FILLED)
    assert shipping.stock("BOLT") == {("", "RCV"): 89}
    assert shipping.agrees()


def test_a_new_item_while_the_warning_waits_starts_its_own_line(shipping: Floor) -> None:
    shipping.scan("(240)BOLT(30)5")
    assert shipping.scan("(240)BOLT(30)6").awaiting_confirmation
    switched = shipping.scan("(240)BOLT(30)1")
    assert (switched.level, switched.message) == (
        Level.WARNING,
        "Unfinished line dropped (6 ea of BOLT). Shipped 1 ea of BOLT on SO-2",
    )
    assert not switched.awaiting_confirmation
    assert switched.details == ("SO-2 line 2: 6 of 10 shipped",)
    assert shipping.stock("BOLT") == {("", "RCV"): 94}


def test_cmd_cancel_drops_a_shipment_waiting_for_confirmation(shipping: Floor) -> None:
    before = shipping.snapshot()
    steps = shipping.run("""
        (240)BOLT(30)11
        CMD:CANCEL
    """)
    assert steps.at(1).level == Level.WARNING
    assert (steps.at(2).message, steps.at(2).response.prompt) == (
        "Line cancelled",
        "Scan item for SO-2",
    )
    assert shipping.snapshot() == before


def test_several_lots_beyond_the_sales_order_line_are_one_warning(shipping: Floor) -> None:
    steps = shipping.run("""
        SO:SO-1
        (240)BOLT(30)60
        CMD:GEN
        S-1
        S-3
        CMD:OK
    """)
    assert steps.at(5).message == "SO-1 line 2 asks 50; 0 shipped, this would make 60"
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Shipped 60 ea of BOLT on SO-1: 3 lots")
    assert done.details == ("SO-1 line 2: 60 of 50 shipped", FILLED)


def test_stock_that_is_not_there_is_refused_before_the_order_is_checked(
    shipping: Floor,
) -> None:
    refused = shipping.scan("(240)BOLT(30)500")
    assert (refused.level, refused.message) == (Level.ERROR, "Only 100 ea of BOLT at RCV, not 500")
    assert not refused.awaiting_confirmation
    assert refused.prompt == "Scan item for SO-2"
