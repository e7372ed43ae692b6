"""RECEIVE driven by transcripts: lots typed, scanned or generated, serials, expiry, labels."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from labels.compose import plan_symbols
from labels.content import Label, LabelKind
from labels.layout import LAYOUTS
from scanner.db import unit_of_work
from scanner.models import Lot, Movement, Part, Serial
from scanner.settings import EXPIRY_POLICY, device_id, write_setting_text
from scanner.workflows.base import LabelDue, Level
from tests.support.transcripts import Floor

GTIN = "09506000134352"
RESIN_SHELF_LIFE_END = date(2027, 5, 1)  # the fixed clock's 2026-11-02 plus 180 days


def test_a_typed_lot_is_received_at_the_receiving_dock_without_an_order(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)25
        R-100
    """)
    assert steps.at(2).response.prompt == "Scan item to RCV"
    asked = steps.at(3).response
    assert (asked.level, asked.prompt) == (Level.INFO, "Lot of RESIN? (scan, type or CMD:GEN)")
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Received RESIN")
    assert [each.text for each in done.recorded] == ["Received 25 kg lot R-100"]
    assert done.labels == (
        LabelDue("lot", "RESIN", lot="R-100", expiry=RESIN_SHELF_LIFE_END, qty=Decimal(25)),
    )
    assert floor.stock("RESIN") == {("R-100", "RCV"): 25}
    (movement,) = floor.movements()
    assert (movement.kind, movement.po, movement.operator) == ("receive", None, "B1001")
    assert floor.agrees()


def test_receiving_on_a_purchase_order_keeps_the_order_line_and_the_supplier_lot(
    floor: Floor,
) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        PO:PO-1
        LOC:A-01
        (240)RESIN(10)SUP-77(17)261231(30)50
    """)
    assert steps.at(3).message == "Receiving on PO-1 from Acme Polymers"
    assert steps.at(3).response.details == ("line 1 RESIN: receive 100", "line 2 MOTOR: receive 10")
    assert steps.at(4).response.prompt == "Scan item to A-01 (PO-1)"
    assert steps.last.message == "Received RESIN"
    (movement,) = floor.movements()
    assert (movement.po, movement.po_line, movement.to_location) == ("PO-1", 1, "A-01")
    with floor.session() as session:
        lot = session.get(Lot, ("RESIN", "SUP-77"))
        assert lot is not None and lot.supplier_lot == "SUP-77"
    assert floor.stock("RESIN") == {("SUP-77", "A-01"): 50}
    assert floor.agrees()


def test_the_order_scan_shows_what_its_open_lines_still_ask(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        PO:PO-1
        (240)RESIN(10)SUP-77(30)60
        (240)MOTOR(21)M-1
        CMD:CLOSE
        CMD:DONE
        CMD:RECEIVE
        PO:PO-1
        (240)RESIN(10)SUP-78(30)40
        CMD:DONE
        CMD:RECEIVE
        PO:PO-1
    """)
    assert not steps.errors()
    assert steps.at(6).message == "PO-1 line 2 closed"
    # Line 2 is closed with 9 motors never come: it takes nothing more, so it is not listed.
    assert steps.at(9).response.details == ("line 1 RESIN: receive 40",)
    assert steps.last.details == ("Every open line is received",)


def split_label(label: Label) -> list[str]:
    """The symbols lotscan prints for `label` on a 4x2 inch label, as a scanner reads them;
    two, for a label too long for one (`labels.compose`)."""
    symbols = [symbol.hri for symbol, _module in plan_symbols(label, LAYOUTS["4x2-203"])]
    assert len(symbols) == 2, symbols
    return symbols


def test_a_lot_label_printed_in_two_symbols_is_received_from_its_two_scans(
    floor: Floor,
) -> None:
    lot = "SUP-2026-1102-A-0017"  # 20 characters: the lot and count go in a second symbol
    label = Label(LabelKind.LOT, part="RESIN", lot=lot, expiry=date(2027, 3, 31), qty=Decimal(50))
    first, rest = split_label(label)
    assert (first, rest) == ("(240)RESIN(17)270331", f"(10){lot}(30)50")
    steps = floor.run(f"""
        OP:B1001
        CMD:RECEIVE
        PO:PO-1
        {first}
        {rest}
    """)
    assert steps.at(4).response.prompt == "Quantity of RESIN (kg)?"
    assert (steps.last.level, steps.last.message) == (Level.OK, "Received RESIN")
    assert [each.text for each in steps.last.recorded] == [f"Received 50 kg lot {lot}"]
    with floor.session() as session:
        kept = session.get(Lot, ("RESIN", lot))
        assert kept is not None and kept.supplier_lot == lot
        assert kept.expiry == date(2027, 3, 31)
    assert floor.stock("RESIN") == {(lot, "RCV"): 50}
    assert floor.agrees()


def test_a_serial_label_printed_in_two_symbols_is_received_from_its_two_scans(
    floor: Floor,
) -> None:
    with unit_of_work(floor.sessions) as session:
        session.get_one(Part, "MOTOR").gtin = GTIN
    serial = "MTR-ABCDEFGHIJKLMNOP"  # letters: too wide with the GTIN in one symbol
    label = Label(
        LabelKind.SERIAL, part="MOTOR", gtin=GTIN, serial=serial, expiry=date(2030, 1, 31)
    )
    first, rest = split_label(label)
    assert (first, rest) == (f"(01){GTIN}(17)300131", f"(21){serial}")
    steps = floor.run(f"""
        OP:B1001
        CMD:RECEIVE
        {first}
        {rest}
    """)
    assert (steps.last.level, steps.last.message) == (Level.OK, "Received MOTOR")
    assert [each.text for each in steps.last.recorded] == [f"Received MOTOR serial {serial}"]
    assert floor.stock("MOTOR") == {(serial, "RCV"): 1}
    assert floor.agrees()


def test_a_second_symbol_naming_a_part_of_its_own_is_not_the_rest_of_the_label(
    floor: Floor,
) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(17)270331
        (240)PIGMENT(10)PG-1(30)4
        40
        R-7
    """)
    refused = steps.at(4).response
    assert (refused.level, refused.message) == (Level.ERROR, "Type the quantity")
    assert steps.last.message == "Received RESIN"
    assert floor.stock("RESIN") == {("R-7", "RCV"): 40} and floor.stock("PIGMENT") == {}


@pytest.mark.parametrize("typed", ["1e1", "1_0", "\u0661\u0660", "Infinity", "10 kg"])
def test_a_typed_quantity_is_digits_and_a_point_nothing_python_reads_otherwise(
    floor: Floor, typed: str
) -> None:
    steps = floor.run(f"""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT
        {typed}
        10
    """)
    refused = steps.at(4).response
    assert (refused.level, refused.message) == (
        Level.ERROR,
        f"{typed} is not a quantity: type a number",
    )
    assert steps.last.message == "Received BOLT"
    assert floor.stock("BOLT") == {("", "RCV"): 10}


def test_a_part_not_on_the_purchase_order_is_refused_at_the_item_scan(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        PO:PO-1
        (240)PIGMENT(30)5
        (240)RESIN(10)R-1(30)5
    """)
    refused = steps.at(4).response
    assert (refused.level, refused.message) == (Level.ERROR, "PIGMENT is not on PO-1")
    assert refused.prompt == "Scan item to RCV (PO-1)"
    assert steps.last.message == "Received RESIN"  # no line was left half started
    assert floor.stock("PIGMENT") == {}


def test_expiry_comes_from_the_label_else_from_the_parts_shelf_life(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(10)R-1(17)261231(30)5
        (240)RESIN(10)R-2(30)5
        (240)PIGMENT(10)PG-1(30)5
    """)
    assert not steps.errors()
    with floor.session() as session:
        expiry = dict(session.execute(select(Lot.number, Lot.expiry)).tuples().all())
    assert expiry == {"R-1": date(2026, 12, 31), "R-2": RESIN_SHELF_LIFE_END, "PG-1": None}
    assert steps.at(3).response.labels[0].expiry == date(2026, 12, 31)


def test_a_lone_lot_barcode_answers_the_lot_prompt_but_another_parts_label_does_not(
    floor: Floor,
) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)10
        (240)PIGMENT(10)PG-9
        (10)SUP-5
    """)
    wrong = steps.at(4).response
    assert wrong.level == Level.ERROR
    assert wrong.message == "Scan or type the lot number of RESIN, or scan CMD:GEN"
    assert steps.last.message == "Received RESIN"
    assert floor.stock("RESIN") == {("SUP-5", "RCV"): 10}


def test_cmd_gen_with_a_first_and_last_lot_makes_one_lot_per_container(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)40
        CMD:GEN
        R-0001
        R-0004
    """)
    assert steps.at(4).response.prompt == "First lot (CMD:GEN again: next from pattern)"
    assert steps.at(5).response.prompt == "Last lot (first is R-0001)"
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Received RESIN: 4 containers")
    lots = ["R-0001", "R-0002", "R-0003", "R-0004"]
    assert [label.lot for label in done.labels] == lots
    assert {label.qty for label in done.labels} == {Decimal(10)}
    assert floor.stock("RESIN") == {(lot, "RCV"): 10 for lot in lots}
    assert floor.agrees()


def test_a_quantity_that_does_not_split_evenly_leaves_the_remainder_to_the_last_container(
    floor: Floor,
) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)10
        CMD:GEN
        R-0001
        R-0003
    """)
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Received RESIN: 3 containers")
    assert [each.text for each in done.recorded] == [
        "Received 3.333 kg lot R-0001",
        "Received 3.333 kg lot R-0002",
        "Received 3.334 kg lot R-0003",
    ]
    assert [(label.lot, label.qty) for label in done.labels] == [
        ("R-0001", Decimal("3.333")),
        ("R-0002", Decimal("3.333")),
        ("R-0003", Decimal("3.334")),
    ]
    assert sum(floor.stock("RESIN").values()) == 10
    assert floor.agrees()


def test_a_part_counted_in_units_is_shared_in_whole_units(floor: Floor) -> None:
    done = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)HOUSING(30)10
        CMD:GEN
        H-01
        H-03
    """).last
    assert (done.level, done.message) == (Level.OK, "Received HOUSING: 3 containers")
    assert [label.qty for label in done.labels] == [3, 3, 4]
    assert floor.stock("HOUSING") == {("H-01", "RCV"): 3, ("H-02", "RCV"): 3, ("H-03", "RCV"): 4}


def test_more_containers_than_the_quantity_can_fill_are_asked_for_again(floor: Floor) -> None:
    floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)HOUSING(30)2
        CMD:GEN
        H-01
    """)
    before = floor.snapshot()
    refused = floor.scan("H-03")
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "H-01..H-03 is 3 containers, more than 2 ea can fill (2 at most):"
        " scan the first number again",
    )
    assert refused.prompt == "First lot (CMD:GEN again: next from pattern)"
    assert refused.recorded == () and refused.labels == ()
    assert floor.snapshot() == before
    floor.scan("H-01")
    assert floor.scan("H-02").message == "Received HOUSING: 2 containers"
    assert floor.stock("HOUSING") == {("H-01", "RCV"): 1, ("H-02", "RCV"): 1}


def test_a_range_longer_than_a_line_takes_is_asked_again(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)1000
        CMD:GEN
        R-0001
        R-1000
    """)
    slip = steps.last
    assert slip.level == Level.ERROR
    assert slip.message == (
        "R-0001..R-1000 is 1000 numbers, more than one line takes (500):"
        " scan the first number again"
    )
    assert slip.prompt == "First lot (CMD:GEN again: next from pattern)"
    assert floor.movements() == []


def test_cmd_gen_twice_mints_lots_from_the_parts_pattern(floor: Floor) -> None:
    with unit_of_work(floor.sessions) as session:
        resin = session.get(Part, "RESIN")
        assert resin is not None
        resin.lot_pattern = "RS-{device}-{seq:04}"
        device = device_id(session)
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)10
        CMD:GEN
        CMD:GEN
        (240)RESIN(30)15
        CMD:GEN
        CMD:GEN
    """)
    assert not steps.errors()
    assert steps.at(5).response.labels[0].lot == f"RS-{device}-0001"
    assert floor.stock("RESIN") == {
        (f"RS-{device}-0001", "RCV"): 10,
        (f"RS-{device}-0002", "RCV"): 15,
    }


def test_serials_for_a_count_above_one_are_asked_one_by_one(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        PO:PO-1
        (240)MOTOR(30)3
        M-1
        M-2
        M-2
        M-3
    """)
    assert [steps.at(n).response.prompt for n in (4, 5, 6)] == [
        "Serial 1 of 3? (or CMD:GEN)",
        "Serial 2 of 3? (or CMD:GEN)",
        "Serial 3 of 3? (or CMD:GEN)",
    ]
    again = steps.at(7).response
    assert (again.level, again.message) == (Level.ERROR, "Serial M-2 was already scanned")
    assert again.prompt == "Serial 3 of 3? (or CMD:GEN)"
    done = steps.last
    assert done.message == "Received MOTOR: 3 units"
    assert done.labels == tuple(
        LabelDue("serial", "MOTOR", serial=s) for s in ("M-1", "M-2", "M-3")
    )
    assert floor.stock("MOTOR") == {("M-1", "RCV"): 1, ("M-2", "RCV"): 1, ("M-3", "RCV"): 1}
    with floor.session() as session:
        states = set(session.execute(select(Serial.status, Serial.location)).tuples())
    assert states == {("in_stock", "RCV")}
    assert {m.po_line for m in floor.movements()} == {2}
    assert floor.agrees()


def test_generated_serials_must_number_exactly_the_count(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)MOTOR(30)3
        CMD:GEN
        M-10
        M-11
    """)
    short = steps.last
    assert (short.level, short.message) == (
        Level.ERROR,
        "M-10..M-11 is 2 numbers, but 3 are needed: scan the first number again",
    )
    assert short.prompt == "First serial (CMD:GEN again: next from pattern)"
    assert floor.movements() == []
    floor.scan("M-10")
    assert floor.scan("M-12").message == "Received MOTOR: 3 units"
    assert set(floor.stock("MOTOR")) == {("M-10", "RCV"), ("M-11", "RCV"), ("M-12", "RCV")}


def test_a_serial_label_is_one_unit_and_a_typed_serial_count_is_whole(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)MOTOR(21)M-7(30)2
        (240)MOTOR
        2.5
        (240)MOTOR(21)M-7
    """)
    assert steps.at(3).message == "MOTOR is serial-tracked: scan one serial at a time"
    assert steps.at(5).message == "MOTOR is serial-tracked: it comes in whole units, not 2.5"
    assert steps.at(5).response.prompt == "Quantity of MOTOR (ea)?"
    floor.scan("CMD:CANCEL")
    assert floor.scan("(240)MOTOR(21)M-7").message == "Received MOTOR"
    assert floor.stock("MOTOR") == {("M-7", "RCV"): 1}


def test_a_label_counting_nothing_is_refused(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)0
    """)
    refused = steps.last
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "The label's count (30) must be at least 1",
    )
    assert refused.prompt == "Scan item to RCV"


def test_an_untracked_part_is_received_without_a_lot_or_label(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)100
    """)
    assert [each.text for each in steps.last.recorded] == ["Received 100 ea"]
    assert steps.last.labels == ()
    with floor.session() as session:
        assert session.scalar(select(Movement.lot)) is None
    assert floor.stock("BOLT") == {("", "RCV"): 100}


def test_a_lot_received_already_expired_waits_for_cmd_ok(floor: Floor) -> None:
    floor.run("""
        OP:B1001
        CMD:RECEIVE
    """)
    before = floor.snapshot()
    warned = floor.scan("(240)RESIN(10)R-OLD(17)261001(30)10")
    assert (warned.level, warned.message) == (
        Level.WARNING,
        "Lot R-OLD of RESIN expired on 2026-10-01",
    )
    assert warned.prompt == "CMD:OK to receive, CMD:CANCEL not"
    assert warned.awaiting_confirmation and warned.recorded == () and warned.labels == ()
    assert floor.snapshot() == before
    confirmed = floor.scan("CMD:OK")
    assert (confirmed.level, confirmed.message) == (Level.OK, "Received RESIN")
    assert confirmed.labels[0].expiry == date(2026, 10, 1)
    assert floor.stock("RESIN") == {("R-OLD", "RCV"): 10}
    assert floor.agrees()


def test_lots_numbered_from_an_expired_label_are_one_warning(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(17)261001(30)30
        CMD:GEN
        R-0001
        R-0003
    """)
    warned = steps.last
    assert (warned.level, warned.message) == (
        Level.WARNING,
        "Lots R-0001..R-0003 of RESIN expired on 2026-10-01",
    )
    assert floor.movements() == []
    assert floor.scan("CMD:OK").message == "Received RESIN: 3 containers"


def test_the_block_policy_refuses_an_expired_lot_at_its_scan(floor: Floor) -> None:
    with unit_of_work(floor.sessions) as session:
        write_setting_text(session, EXPIRY_POLICY, "block")
    floor.run("""
        OP:B1001
        CMD:RECEIVE
    """)
    before = floor.snapshot()
    refused = floor.scan("(240)RESIN(10)R-OLD(17)261001(30)10")
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "Lot R-OLD of RESIN expired on 2026-10-01: this site does not receive expired lots",
    )
    assert refused.prompt == "Scan item to RCV" and not refused.awaiting_confirmation
    assert floor.snapshot() == before
    assert floor.scan("(240)RESIN(10)R-NEW(17)261201(30)10").message == "Received RESIN"


def test_the_ignore_policy_receives_an_expired_lot_without_a_word(floor: Floor) -> None:
    with unit_of_work(floor.sessions) as session:
        write_setting_text(session, EXPIRY_POLICY, "ignore")
    received = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(10)R-OLD(17)261001(30)10
    """).last
    assert (received.level, received.message) == (Level.OK, "Received RESIN")
    assert floor.stock("RESIN") == {("R-OLD", "RCV"): 10}


def test_a_lot_expiring_today_is_not_expired(floor: Floor) -> None:
    received = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(10)R-TODAY(17)261102(30)10
    """).last
    assert (received.level, received.message) == (Level.OK, "Received RESIN")
