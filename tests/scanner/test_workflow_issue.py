"""ISSUE driven by transcripts: the pick list, lots issued to a job, each warning confirmed
with CMD:OK or dropped with CMD:CANCEL, and the expiry policy."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import JobLot
from scanner.settings import EXPIRY_POLICY, write_setting_text
from scanner.workflows.base import Level
from tests.conftest import fixed_clock
from tests.support.transcripts import Floor

# Three lots of resin, first to expire first: R-OLD expired a month before the fixed clock's
# 2026-11-02; R-LATE sits in two places.
STOCK = """
    OP:B1001
    CMD:RECEIVE
    (240)RESIN(10)R-OLD(17)261001(30)10
    CMD:OK
    (240)RESIN(10)R-SOON(17)261201(30)10
    (240)RESIN(10)R-LATE(17)270301(30)30
    (240)PIGMENT(10)PG-1(30)5
    (240)BOLT(30)100
    LOC:A-01
    (240)RESIN(10)R-LATE(17)270301(30)5
    CMD:ISSUE
    JOB:J-HOUSING
"""
WARNED = "CMD:OK to issue, CMD:CANCEL not"


@pytest.fixture
def stocked(floor: Floor) -> Floor:
    assert not floor.run(STOCK).errors()
    return floor


def consumed(floor: Floor) -> dict[tuple[str, str], object]:
    with floor.session() as session:
        rows = session.execute(
            select(JobLot.part, JobLot.lot, JobLot.qty).where(JobLot.role == "consumed")
        ).all()
    return {(part, lot): qty for part, lot, qty in rows}


def test_the_job_scan_shows_its_pick_list_first_to_expire_first(floor: Floor) -> None:
    steps = floor.run(STOCK)
    shown = steps.last
    assert (shown.level, shown.message) == (Level.OK, "Job J-HOUSING: HOUSING")
    assert shown.prompt == "Scan item for J-HOUSING"
    assert shown.details == (
        "PIGMENT: need 2",
        "  PG-1 @RCV 5",
        "RESIN: need 20",
        "  R-OLD @RCV 10 EXPIRED 2026-10-01",
        "  R-SOON @RCV 10 exp 2026-12-01",
        "  R-LATE @A-01 5 exp 2027-03-01",
    )


def test_a_job_takes_two_lots_of_one_part_and_a_lot_in_two_places_asks_which(
    stocked: Floor,
) -> None:
    steps = stocked.run("""
        (240)RESIN(10)R-SOON(30)10
        (240)RESIN(10)R-LATE(30)10
        LOC:RCV
    """)
    assert steps.at(1).message == "Issued 10 kg of lot R-SOON of RESIN to J-HOUSING"
    asked = steps.at(2).response
    assert (asked.level, asked.message) == (Level.INFO, "lot R-LATE of RESIN is in several places")
    assert asked.prompt == "From where? A-01, RCV (LOC:)"
    done = steps.at(3).response
    assert (done.level, done.message) == (
        Level.OK,
        "Issued 10 kg of lot R-LATE of RESIN to J-HOUSING",
    )
    assert stocked.stock("RESIN", "R-LATE") == {("R-LATE", "A-01"): 5, ("R-LATE", "RCV"): 20}
    assert consumed(stocked) == {("RESIN", "R-SOON"): 10, ("RESIN", "R-LATE"): 10}
    assert stocked.agrees()


def test_a_place_that_does_not_hold_the_lot_is_refused(stocked: Floor) -> None:
    stocked.scan("(240)RESIN(10)R-LATE(30)5")
    refused = stocked.scan("LOC:A-02")
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "No lot R-LATE of RESIN at A-02: it is at A-01, RCV",
    )
    assert refused.prompt == "From where? A-01, RCV (LOC:)"


@pytest.mark.parametrize(
    ("scans", "warning"),
    [
        (["(240)RESIN(10)R-OLD(30)2"], "Lot R-OLD of RESIN expired on 2026-10-01"),
        (["LOC:A-01", "(240)RESIN(10)R-LATE(30)5"], "Lot R-SOON at RCV expires first (2026-12-01)"),
        (["(240)BOLT(30)5"], "BOLT is not on job J-HOUSING's list"),
        (["(240)PIGMENT(10)PG-1(30)3"], "Job J-HOUSING needs 2 more kg of PIGMENT, not 3"),
    ],
    ids=["expired", "not-first-to-expire", "not-on-job", "more-than-needed"],
)
def test_a_warning_waits_for_cmd_ok_before_anything_is_issued(
    stocked: Floor, scans: list[str], warning: str
) -> None:
    for scan in scans[:-1]:
        stocked.scan(scan)
    before, issued = stocked.snapshot(), len(stocked.movements())
    warned = stocked.scan(scans[-1])
    assert (warned.level, warned.message, warned.prompt) == (Level.WARNING, warning, WARNED)
    assert warned.awaiting_confirmation and warned.beep
    assert warned.recorded == ()
    assert stocked.snapshot() == before
    confirmed = stocked.scan("CMD:OK")
    assert confirmed.level == Level.OK and confirmed.message.startswith("Issued ")
    assert len(confirmed.recorded) == 1 and not confirmed.awaiting_confirmation
    assert len(stocked.movements()) == issued + 1
    assert stocked.agrees()


def test_each_warning_needs_its_own_cmd_ok(stocked: Floor) -> None:
    steps = stocked.run("""
        LOC:RCV
        (240)RESIN(10)R-LATE(30)30
        CMD:OK
        CMD:OK
    """)
    first, second, done = (steps.at(n).response for n in (2, 3, 4))
    assert first.message == "Job J-HOUSING needs 20 more kg of RESIN, not 30"
    assert second.message == "Lot R-SOON at RCV expires first (2026-12-01)"
    assert first.awaiting_confirmation and second.awaiting_confirmation
    assert second.recorded == ()
    assert done.message == "Issued 30 kg of lot R-LATE of RESIN to J-HOUSING"
    assert consumed(stocked) == {("RESIN", "R-LATE"): 30}


def test_cmd_cancel_drops_a_warned_line_and_other_scans_are_refused_until_then(
    stocked: Floor,
) -> None:
    before = stocked.snapshot()
    steps = stocked.run("""
        (240)BOLT(30)5
        5
        CMD:CANCEL
    """)
    waiting = steps.at(2).response
    assert (waiting.level, waiting.message) == (
        Level.ERROR,
        "BOLT is not on job J-HOUSING's list: scan CMD:OK to go on or CMD:CANCEL",
    )
    assert waiting.prompt == WARNED
    dropped = steps.at(3).response
    assert (dropped.level, dropped.message) == (Level.INFO, "Line cancelled")
    assert dropped.prompt == "Scan item for J-HOUSING"
    assert stocked.snapshot() == before
    assert stocked.scan("CMD:OK").level == Level.ERROR  # nothing is waiting any more


def test_the_block_policy_refuses_an_expired_lot(stocked: Floor) -> None:
    with unit_of_work(stocked.sessions) as session:
        write_setting_text(session, EXPIRY_POLICY, "block")
    before = stocked.snapshot()
    refused = stocked.scan("(240)RESIN(10)R-OLD(30)2")
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "Lot R-OLD of RESIN expired on 2026-10-01",
    )
    assert not refused.awaiting_confirmation
    assert refused.prompt == "Scan item for J-HOUSING"
    assert stocked.snapshot() == before


def test_the_ignore_policy_issues_an_expired_lot_without_a_word(stocked: Floor) -> None:
    with unit_of_work(stocked.sessions) as session:
        write_setting_text(session, EXPIRY_POLICY, "ignore")
    issued = stocked.scan("(240)RESIN(10)R-OLD(30)2")
    assert (issued.level, issued.message) == (
        Level.OK,
        "Issued 2 kg of lot R-OLD of RESIN to J-HOUSING",
    )


def test_stock_that_is_not_there_is_refused_before_any_warning(stocked: Floor) -> None:
    steps = stocked.run("""
        (240)BOLT(30)500
        LOC:A-02
        (240)BOLT(30)5
    """)
    for step in (steps.at(1), steps.at(3)):
        assert step.level == Level.ERROR and not step.response.awaiting_confirmation
    assert steps.at(1).message == "Only 100 ea of BOLT at RCV, not 500"
    assert steps.at(3).message == "No BOLT at A-02"


def test_a_lot_on_hold_is_refused_at_the_item_scan(stocked: Floor) -> None:
    with unit_of_work(stocked.sessions) as session:
        Ledger(session, fixed_clock).set_lot_status("RESIN", "R-SOON", "hold")
    refused = stocked.scan("(240)RESIN(10)R-SOON(30)5")
    assert (refused.level, refused.message) == (Level.ERROR, "Lot R-SOON of RESIN is on hold")
    assert refused.prompt == "Scan item for J-HOUSING"


def test_a_missing_lot_and_quantity_are_asked_for(stocked: Floor) -> None:
    steps = stocked.run("""
        (240)PIGMENT
        PG-1
        2
    """)
    assert steps.at(1).response.prompt == "Lot of PIGMENT?"
    assert steps.at(2).response.prompt == "Quantity of lot PG-1 of PIGMENT (kg)?"
    assert steps.at(3).message == "Issued 2 kg of lot PG-1 of PIGMENT to J-HOUSING"


def test_items_need_the_job_first(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:ISSUE
        (240)BOLT(30)5
        JOB:J-NONE
    """)
    assert steps.at(3).message == "Scan the job first (JOB:...)"
    assert steps.at(4).message == "Unknown job J-NONE"
    assert steps.last.prompt == "Scan the job (JOB:...)"
