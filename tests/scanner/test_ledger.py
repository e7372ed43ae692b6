"""The ledger's rules, one movement per transaction as a handheld records them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from scanner.balance_check import cache_differences
from scanner.closing import close_job
from scanner.db import unit_of_work
from scanner.errors import NotFound, RuleViolation
from scanner.ledger import KnownRows, Ledger
from scanner.models import Balance, JobLot, Lot, Movement, Part, Serial
from scanner.quantity import MOST_HELD, MOST_MOVED
from tests.support.plant import add_plant

T = TypeVar("T")


class Do(Protocol):
    def __call__(self, operation: Callable[[Ledger], T]) -> T: ...


@pytest.fixture
def do(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> Do:
    """Runs one ledger operation in its own transaction, as a workflow line does."""
    with unit_of_work(sessions) as session:
        add_plant(session)

    def run(operation: Callable[[Ledger], T]) -> T:
        with unit_of_work(sessions) as session:
            return operation(Ledger(session, clock))

    return run  # type: ignore[return-value]


def balances(sessions: sessionmaker[Session]) -> dict[tuple[str, str, str, str], Decimal]:
    with sessions() as session:
        return {
            (b.part, b.lot, b.serial, b.location): b.qty for b in session.scalars(select(Balance))
        }


def ledger_agrees(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return cache_differences(session) == []


# ---- tracking modes ---------------------------------------------------------------------


def test_receiving_a_lot_tracked_part_needs_its_lot(do: Do) -> None:
    with pytest.raises(RuleViolation, match="RESIN is lot-tracked: scan or type its lot"):
        do(lambda ledger: ledger.receive("RESIN", 25, "RCV"))


def test_receiving_a_serial_tracked_part_needs_a_serial_and_a_quantity_of_one(do: Do) -> None:
    with pytest.raises(RuleViolation, match="MOTOR is serial-tracked"):
        do(lambda ledger: ledger.receive("MOTOR", 1, "RCV"))
    with pytest.raises(RuleViolation, match="MOTOR quantity must be 1"):
        do(lambda ledger: ledger.receive("MOTOR", 2, "RCV", serial="M-1"))


def test_an_untracked_part_takes_neither_lot_nor_serial(do: Do) -> None:
    with pytest.raises(RuleViolation, match="BOLT is not lot-tracked"):
        do(lambda ledger: ledger.receive("BOLT", 100, "RCV", lot="X1"))
    with pytest.raises(RuleViolation, match="BOLT is not serial-tracked"):
        do(lambda ledger: ledger.receive("BOLT", 1, "RCV", serial="X1"))


def test_the_schema_refuses_a_backflush_part_that_is_lot_tracked(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(IntegrityError), unit_of_work(sessions) as session:
        session.add(Part(number="GLUE", description="Glue", tracking="lot", backflush=True))


def test_lot_and_serial_numbers_must_fit_a_gs1_label(do: Do) -> None:
    with pytest.raises(RuleViolation, match="21 characters; GS1 labels allow 20"):
        do(lambda ledger: ledger.receive("RESIN", 1, "RCV", lot="L" * 21))
    with pytest.raises(RuleViolation, match="cannot carry: space"):
        do(lambda ledger: ledger.receive("RESIN", 1, "RCV", lot="LOT 7"))


def test_a_supplier_lot_or_a_reason_with_a_control_character_is_refused(
    do: Do, sessions: sessionmaker[Session]
) -> None:
    """docs/architecture.md, "Text at the doors": nothing stored, the field named."""
    with pytest.raises(RuleViolation, match=r"The supplier lot holds U\+001B \(ESC\)"):
        do(lambda ledger: ledger.receive("RESIN", 1, "RCV", lot="L1", supplier_lot="S\x1b[2J"))
    with pytest.raises(RuleViolation, match=r"The reason holds U\+202E"):
        do(lambda ledger: ledger.adjust("BOLT", 5, "RCV", reason="count \u202e"))
    received = do(lambda ledger: ledger.receive("BOLT", 5, "RCV"))
    with pytest.raises(RuleViolation, match=r"The reason holds U\+0007 \(BEL\)"):
        do(lambda ledger: ledger.reverse(received.id, reason="oops\x07"))
    with sessions() as session:
        assert session.scalars(select(Lot)).all() == []
        assert len(session.scalars(select(Movement)).all()) == 1


def test_quantities_are_positive_with_at_most_three_decimals(do: Do) -> None:
    with pytest.raises(RuleViolation, match="more than zero"):
        do(lambda ledger: ledger.receive("BOLT", 0, "RCV"))
    with pytest.raises(RuleViolation, match="more than three decimal places"):
        do(lambda ledger: ledger.receive("RESIN", "2.0005", "RCV", lot="L1"))
    do(lambda ledger: ledger.receive("RESIN", "24.125", "RCV", lot="L1"))


def test_unknown_references_are_named(do: Do) -> None:
    with pytest.raises(NotFound, match="Unknown part NOPE"):
        do(lambda ledger: ledger.receive("NOPE", 1, "RCV"))
    with pytest.raises(NotFound, match="Unknown location Z-99"):
        do(lambda ledger: ledger.receive("BOLT", 1, "Z-99"))
    with pytest.raises(NotFound, match="Unknown operator B404"):
        do(lambda ledger: ledger.receive("BOLT", 1, "RCV", operator="B404"))


def test_locations_and_operators_found_once_are_remembered_for_the_next_ledgers(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    with unit_of_work(sessions) as session:
        add_plant(session)
    known: KnownRows = set()
    with unit_of_work(sessions) as session:
        Ledger(session, clock, known=known).receive("BOLT", 1, "RCV", operator="B1001")
    assert known == {("locations", "RCV"), ("operators", "B1001")}
    with pytest.raises(NotFound, match="Unknown location Z-99"), unit_of_work(sessions) as session:
        Ledger(session, clock, known=known).move("BOLT", 1, "Z-99", operator="B1001")
    assert ("locations", "Z-99") not in known


# ---- receiving and expiry ---------------------------------------------------------------


def test_a_received_lot_expires_after_the_parts_shelf_life_unless_the_label_says(
    do: Do, sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="R-1", supplier_lot="ACME-77"))
    do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="R-2", expiry=date(2027, 1, 31)))
    do(lambda ledger: ledger.receive("PIGMENT", 5, "RCV", lot="PG-1"))
    with sessions() as session:
        r1 = session.get(Lot, ("RESIN", "R-1"))
        r2 = session.get(Lot, ("RESIN", "R-2"))
        pg = session.get(Lot, ("PIGMENT", "PG-1"))
    assert r1 is not None and r2 is not None and pg is not None
    assert r1.expiry == clock().date() + timedelta(days=180)
    assert r1.supplier_lot == "ACME-77"
    assert r2.expiry == date(2027, 1, 31)
    assert pg.expiry is None


def test_a_second_receipt_of_a_lot_with_another_expiry_is_refused(do: Do) -> None:
    do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="R-1", expiry=date(2027, 1, 31)))
    with pytest.raises(RuleViolation, match="expires 2027-01-31, not 2027-02-28"):
        do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="R-1", expiry=date(2027, 2, 28)))


def test_receiving_against_a_purchase_order_checks_the_part_is_on_it(do: Do) -> None:
    receipt = do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="R-1", po="PO-1"))
    assert (receipt.po, receipt.po_line) == ("PO-1", 1)
    with pytest.raises(RuleViolation, match="PIGMENT is not on PO-1"):
        do(lambda ledger: ledger.receive("PIGMENT", 5, "RCV", lot="PG-1", po="PO-1"))
    with pytest.raises(NotFound, match="Unknown purchase order PO-9"):
        do(lambda ledger: ledger.receive("RESIN", 5, "RCV", lot="R-1", po="PO-9"))


# ---- serials ----------------------------------------------------------------------------


def test_a_serial_is_in_stock_in_at_most_one_place(do: Do, sessions: sessionmaker[Session]) -> None:
    do(lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M-1"))
    with pytest.raises(RuleViolation, match="Serial M-1 of MOTOR is already in stock at RCV"):
        do(lambda ledger: ledger.receive("MOTOR", 1, "A-01", serial="M-1"))
    do(lambda ledger: ledger.move("MOTOR", 1, "A-01", serial="M-1"))
    assert balances(sessions) == {("MOTOR", "", "M-1", "A-01"): 1}
    with sessions() as session:
        motor = session.get(Serial, ("MOTOR", "M-1"))
        assert motor is not None and (motor.status, motor.location) == ("in_stock", "A-01")


def test_a_serial_is_shipped_at_most_once(do: Do) -> None:
    do(lambda ledger: ledger.produce("J-PUMP", 1, "SHIP", serial="P-100"))
    do(lambda ledger: ledger.ship("SO-1", "PUMP", 1, serial="P-100"))
    with pytest.raises(RuleViolation, match="Serial P-100 of PUMP was already shipped on SO-1"):
        do(lambda ledger: ledger.ship("SO-1", "PUMP", 1, serial="P-100"))
    with pytest.raises(RuleViolation, match="was shipped; it cannot arrive again"):
        do(lambda ledger: ledger.receive("PUMP", 1, "RCV", serial="P-100"))


# ---- holds and recalls ------------------------------------------------------------------


@pytest.mark.parametrize("status", ["hold", "recalled"])
def test_a_lot_on_hold_or_recalled_does_not_move(do: Do, status: str) -> None:
    do(lambda ledger: ledger.receive("RESIN", 50, "RCV", lot="R-1"))
    do(lambda ledger: ledger.set_lot_status("RESIN", "R-1", status))
    words = "on hold" if status == "hold" else "recalled"
    refusals: list[Callable[[Ledger], object]] = [
        lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 5, lot="R-1"),
        lambda ledger: ledger.move("RESIN", 5, "A-01", lot="R-1"),
        lambda ledger: ledger.receive("RESIN", 5, "RCV", lot="R-1"),
    ]
    for operation in refusals:
        with pytest.raises(RuleViolation, match=f"Lot R-1 of RESIN is {words}"):
            do(operation)
    do(lambda ledger: ledger.set_lot_status("RESIN", "R-1", "active"))
    do(lambda ledger: ledger.move("RESIN", 5, "A-01", lot="R-1"))


def test_a_held_lot_is_not_shipped(do: Do) -> None:
    do(lambda ledger: ledger.receive("RESIN", 10, "RCV", lot="R-1"))
    do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 10, lot="R-1"))
    do(lambda ledger: ledger.produce("J-HOUSING", 4, "SHIP", lot="H-1"))
    do(lambda ledger: ledger.set_lot_status("HOUSING", "H-1", "hold"))
    with pytest.raises(RuleViolation, match="Lot H-1 of HOUSING is on hold"):
        do(lambda ledger: ledger.ship("SO-2", "HOUSING", 4, lot="H-1"))


# ---- jobs and genealogy -----------------------------------------------------------------


def test_a_job_consumes_several_lots_of_one_part(do: Do, sessions: sessionmaker[Session]) -> None:
    do(lambda ledger: ledger.receive("RESIN", 10, "RCV", lot="R-1"))
    do(lambda ledger: ledger.receive("RESIN", 15, "A-01", lot="R-2"))
    do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 10, lot="R-1"))
    do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 8, lot="R-2"))
    do(lambda ledger: ledger.produce("J-HOUSING", 6, "A-02", lot="H-1"))
    with sessions() as session:
        used = session.execute(
            select(JobLot.role, JobLot.part, JobLot.lot, JobLot.qty).where(
                JobLot.job == "J-HOUSING"
            )
        ).all()
    assert sorted(used) == [
        ("consumed", "RESIN", "R-1", 10),
        ("consumed", "RESIN", "R-2", 8),
        ("produced", "HOUSING", "H-1", 6),
    ]
    assert balances(sessions) == {
        ("RESIN", "R-2", "", "A-01"): 7,
        ("HOUSING", "H-1", "", "A-02"): 6,
    }
    assert ledger_agrees(sessions)


def test_completion_goes_into_the_lot_assigned_before_the_job_finished(
    do: Do, sessions: sessionmaker[Session]
) -> None:
    do(lambda ledger: ledger.assign_lot("J-HOUSING", "H-7"))
    made = do(lambda ledger: ledger.produce("J-HOUSING", 3, "A-02"))
    assert made.lot == "H-7"
    with sessions() as session:
        lot = session.get(Lot, ("HOUSING", "H-7"))
        assert lot is not None and (lot.origin, lot.assigned_job) == ("assigned", "J-HOUSING")


def test_a_lot_assigned_to_one_job_cannot_be_completed_by_another(do: Do) -> None:
    do(lambda ledger: ledger.assign_lot("J-HOUSING", "H-7"))
    with pytest.raises(RuleViolation, match="Lot H-7 of HOUSING already belongs to job J-HOUSING"):
        do(lambda ledger: ledger.assign_lot("J-HOUSING-2", "H-7"))
    with pytest.raises(RuleViolation, match="belongs to job J-HOUSING, not J-HOUSING-2"):
        do(lambda ledger: ledger.produce("J-HOUSING-2", 1, "A-02", lot="H-7"))


def test_completing_a_lot_tracked_assembly_without_a_lot_asks_for_one(do: Do) -> None:
    with pytest.raises(RuleViolation, match="job J-HOUSING has no lot: assign one"):
        do(lambda ledger: ledger.produce("J-HOUSING", 3, "A-02"))


# ---- shipping ---------------------------------------------------------------------------


def test_a_sales_line_requesting_lot_control_needs_a_lot_for_an_untracked_part(
    do: Do, sessions: sessionmaker[Session]
) -> None:
    do(lambda ledger: ledger.receive("BOLT", 200, "A-01"))
    with pytest.raises(RuleViolation, match="SO-1 line 2 asks for lot control"):
        do(lambda ledger: ledger.ship("SO-1", "BOLT", 50))
    shipped = do(lambda ledger: ledger.ship("SO-1", "BOLT", 50, lot="SHIP-0001"))
    assert (shipped.lot, shipped.so_line) == ("SHIP-0001", 2)
    assert balances(sessions) == {("BOLT", "", "", "A-01"): 150}
    with sessions() as session:
        lot = session.get(Lot, ("BOLT", "SHIP-0001"))
        assert lot is not None and lot.origin == "shipped"
    # A line without lot control ships the same untracked part with no lot at all.
    do(lambda ledger: ledger.ship("SO-2", "BOLT", 10))
    assert ledger_agrees(sessions)


def test_only_parts_on_the_order_ship(do: Do) -> None:
    do(lambda ledger: ledger.receive("BOLT", 20, "A-01"))
    with pytest.raises(RuleViolation, match="BOLT is not on line 1 of SO-1"):
        do(lambda ledger: ledger.ship("SO-1", "BOLT", 5, line=1))


# ---- stock on hand ----------------------------------------------------------------------


def test_stock_cannot_leave_a_place_that_does_not_hold_it(do: Do) -> None:
    do(lambda ledger: ledger.receive("RESIN", 10, "RCV", lot="R-1"))
    do(lambda ledger: ledger.move("RESIN", 4, "A-01", lot="R-1"))
    with pytest.raises(RuleViolation, match="Only 6 kg of lot R-1 of RESIN at RCV, not 7"):
        do(
            lambda ledger: ledger.issue_to_job(
                "J-HOUSING", "RESIN", 7, lot="R-1", from_location="RCV"
            )
        )
    with pytest.raises(RuleViolation, match="Lot R-1 of RESIN is at A-01, RCV: scan the location"):
        do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 1, lot="R-1"))
    with pytest.raises(RuleViolation, match="No lot R-1 of RESIN at A-02"):
        do(lambda ledger: ledger.move("RESIN", 1, "LINE", lot="R-1", from_location="A-02"))


def test_a_count_adjustment_needs_a_reason_and_cannot_go_below_zero(
    do: Do, sessions: sessionmaker[Session]
) -> None:
    do(lambda ledger: ledger.receive("BOLT", 100, "A-01"))
    with pytest.raises(RuleViolation, match="needs a reason"):
        do(lambda ledger: ledger.adjust("BOLT", -3, "A-01", reason=" "))
    do(lambda ledger: ledger.adjust("BOLT", -3, "A-01", reason="cycle count"))
    do(lambda ledger: ledger.adjust("BOLT", 10, "A-02", reason="found on the floor"))
    with pytest.raises(RuleViolation, match="Only 97 ea of BOLT at A-01, not 98"):
        do(lambda ledger: ledger.adjust("BOLT", -98, "A-01", reason="cycle count"))
    assert balances(sessions) == {("BOLT", "", "", "A-01"): 97, ("BOLT", "", "", "A-02"): 10}


# ---- reversal ---------------------------------------------------------------------------


def test_a_reversal_compensates_and_leaves_the_original_untouched(
    do: Do, sessions: sessionmaker[Session]
) -> None:
    do(lambda ledger: ledger.receive("RESIN", 10, "RCV", lot="R-1"))
    issue = do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 4, lot="R-1"))
    undo = do(lambda ledger: ledger.reverse(issue.id, reason="wrong job"))
    assert (undo.kind, undo.reverses, undo.to_location, undo.qty) == ("reverse", issue.id, "RCV", 4)
    assert balances(sessions) == {("RESIN", "R-1", "", "RCV"): 10}
    with sessions() as session:
        kept = session.get(Movement, issue.id)
        assert kept is not None and (kept.kind, kept.qty, kept.from_location) == ("issue", 4, "RCV")
        assert session.scalars(select(JobLot)).all() == []
    with pytest.raises(RuleViolation, match="already reversed"):
        do(lambda ledger: ledger.reverse(issue.id, reason="again"))
    with pytest.raises(RuleViolation, match="A reversal cannot be reversed"):
        do(lambda ledger: ledger.reverse(undo.id, reason="undo the undo"))
    assert ledger_agrees(sessions)


def test_a_receipt_whose_stock_has_moved_on_cannot_be_reversed(do: Do) -> None:
    receipt = do(lambda ledger: ledger.receive("RESIN", 10, "RCV", lot="R-1"))
    do(lambda ledger: ledger.move("RESIN", 10, "A-01", lot="R-1"))
    with pytest.raises(RuleViolation, match="No lot R-1 of RESIN at RCV"):
        do(lambda ledger: ledger.reverse(receipt.id, reason="mistake"))


def test_reversing_a_shipment_puts_the_serial_back_in_stock(
    do: Do, sessions: sessionmaker[Session]
) -> None:
    do(lambda ledger: ledger.produce("J-PUMP", 1, "SHIP", serial="P-1"))
    shipment = do(lambda ledger: ledger.ship("SO-1", "PUMP", 1, serial="P-1"))
    do(lambda ledger: ledger.reverse(shipment.id, reason="wrong pallet"))
    with sessions() as session:
        pump = session.get(Serial, ("PUMP", "P-1"))
        assert pump is not None and (pump.status, pump.location) == ("in_stock", "SHIP")
    do(lambda ledger: ledger.ship("SO-1", "PUMP", 1, serial="P-1"))
    assert ledger_agrees(sessions)


# ---- the ledger itself ------------------------------------------------------------------


def test_each_movement_takes_the_devices_next_sequence_number(do: Do) -> None:
    first = do(lambda ledger: ledger.receive("BOLT", 1, "RCV"))
    second = do(lambda ledger: ledger.receive("BOLT", 1, "RCV"))
    assert first.device_id == second.device_id
    assert len(first.device_id) == 4
    assert (first.device_seq, second.device_seq) == (1, 2)


def test_a_refused_operation_writes_nothing(do: Do, sessions: sessionmaker[Session]) -> None:
    do(lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M-1"))
    before = balances(sessions)
    with pytest.raises(RuleViolation):
        # The lot would be new, but the serial is a duplicate: neither is kept.
        do(lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M-1", lot="NEWLOT"))
    assert balances(sessions) == before
    with sessions() as session:
        assert session.get(Lot, ("MOTOR", "NEWLOT")) is None
        assert len(session.scalars(select(Movement)).all()) == 1


def test_a_closed_job_takes_no_more_issues_or_completions(do: Do) -> None:
    do(lambda ledger: ledger.receive("RESIN", 10, "RCV", lot="R-1"))
    issue = do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 4, lot="R-1"))
    do(lambda ledger: close_job(ledger.session, "J-HOUSING", operator=None, clock=ledger.clock))
    with pytest.raises(RuleViolation, match="Job J-HOUSING is closed"):
        do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 1, lot="R-1"))
    with pytest.raises(RuleViolation, match="Job J-HOUSING is closed"):
        do(lambda ledger: ledger.produce("J-HOUSING", 1, "A-01", lot="H-1"))
    # A mistake on a closed job can still be put right.
    do(lambda ledger: ledger.reverse(issue.id, reason="issued to the wrong job"))


def test_a_count_can_find_a_serial_lotscan_never_saw_and_lose_one_it_knows(
    do: Do, sessions: sessionmaker[Session]
) -> None:
    do(lambda ledger: ledger.adjust("MOTOR", 1, "A-01", serial="M-77", reason="found in count"))
    do(lambda ledger: ledger.adjust("MOTOR", -1, "A-01", serial="M-77", reason="missing"))
    with sessions() as session:
        motor = session.get(Serial, ("MOTOR", "M-77"))
        assert motor is not None and (motor.status, motor.location) == ("gone", None)
    do(lambda ledger: ledger.adjust("MOTOR", 1, "A-02", serial="M-77", reason="found again"))
    assert balances(sessions) == {("MOTOR", "", "M-77", "A-02"): 1}


# ---- numbers a plant has ----------------------------------------------------------------


def test_one_movement_carries_at_most_a_billion(do: Do, sessions: sessionmaker[Session]) -> None:
    do(lambda ledger: ledger.receive("BOLT", MOST_MOVED, "RCV"))
    with pytest.raises(RuleViolation, match=r"^Quantity 1000000001 is more than one movement"):
        do(lambda ledger: ledger.receive("BOLT", MOST_MOVED + 1, "RCV"))
    assert balances(sessions) == {("BOLT", "", "", "RCV"): MOST_MOVED}


def test_a_balance_never_holds_more_than_a_plant_has(
    do: Do, sessions: sessionmaker[Session]
) -> None:
    """Thousands of receipts at the largest quantity once drove a balance past 64 bits: on
    SQLite it silently became a float. Here the receipt that would pass the bound is refused
    and the balance stays as it was."""
    do(lambda ledger: ledger.receive("BOLT", 1, "RCV"))
    with unit_of_work(sessions) as session:  # as a thousand receipts would have left it
        session.execute(update(Balance).values(qty=MOST_HELD - MOST_MOVED))
    do(lambda ledger: ledger.receive("BOLT", MOST_MOVED, "RCV"))

    with pytest.raises(RuleViolation, match="BOLT at RCV 1000000000001: one balance holds"):
        do(lambda ledger: ledger.receive("BOLT", 1, "RCV"))
    assert balances(sessions) == {("BOLT", "", "", "RCV"): MOST_HELD}
