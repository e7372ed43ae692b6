"""Pick lists in first-expired-first-out order, and the warnings an issue can raise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.errors import RuleViolation
from scanner.ledger import Ledger
from scanner.models import JobComponent, Location
from scanner.picking import WarningCode, issue_warnings, pick_list
from scanner.settings import EXPIRY_POLICY, SettingError, write_setting_text
from tests.support.plant import add_plant

TODAY = date(2026, 11, 2)


@pytest.fixture
def stocked(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> sessionmaker[Session]:
    """Three resin lots: one expired, one expiring soon (at two places), one expiring later."""
    with unit_of_work(sessions) as session:
        add_plant(session)
        ledger = Ledger(session, clock)
        ledger.receive("RESIN", 25, "A-02", lot="R-LATE", expiry=date(2027, 3, 1))
        ledger.receive("RESIN", 25, "A-01", lot="R-OLD", expiry=date(2026, 10, 1))
        ledger.receive("RESIN", 20, "A-01", lot="R-SOON", expiry=date(2026, 12, 1))
        ledger.move("RESIN", 5, "LINE", lot="R-SOON")
        ledger.receive("PIGMENT", 3, "A-01", lot="PG-1")
        ledger.set_lot_status("RESIN", "R-OLD", "active")
    return sessions


def test_the_pick_list_shows_what_is_still_needed_and_lots_first_expired_first(
    stocked: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    with unit_of_work(stocked) as session:
        Ledger(session, clock).issue_to_job(
            "J-HOUSING", "RESIN", 5, lot="R-SOON", from_location="LINE"
        )
        lines = {line.part: line for line in pick_list(session, "J-HOUSING")}
    resin = lines["RESIN"]
    assert (resin.required, resin.issued, resin.remaining) == (20, 5, 15)
    assert [(s.lot, s.location, s.qty, s.expiry) for s in resin.suggestions] == [
        ("R-OLD", "A-01", Decimal(25), date(2026, 10, 1)),
        ("R-SOON", "A-01", Decimal(15), date(2026, 12, 1)),
        ("R-LATE", "A-02", Decimal(25), date(2027, 3, 1)),
    ]
    assert resin.suggestions[0].expired(TODAY)
    assert [s.lot for s in lines["PIGMENT"].suggestions] == ["PG-1"]


def test_lots_on_hold_are_left_off_the_pick_list(
    stocked: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    with unit_of_work(stocked) as session:
        Ledger(session, clock).set_lot_status("RESIN", "R-SOON", "hold")
        resin = next(line for line in pick_list(session, "J-HOUSING") if line.part == "RESIN")
    assert [s.lot for s in resin.suggestions] == ["R-OLD", "R-LATE"]


def test_stock_in_a_quarantine_location_is_left_off_the_pick_list(
    stocked: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    """Released stock waiting in quarantine (a customer's return to be looked at) was
    offered first for a shipment (probe); it is not offered, and may still be scanned."""
    with unit_of_work(stocked) as session:
        session.add(Location(code="QA", name="Quarantine cage", kind="quarantine"))
        session.flush()
        Ledger(session, clock).move("RESIN", 25, "QA", lot="R-OLD", from_location="A-01")
        resin = next(line for line in pick_list(session, "J-HOUSING") if line.part == "RESIN")
        assert [(s.lot, s.location) for s in resin.suggestions] == [
            ("R-SOON", "A-01"),
            ("R-SOON", "LINE"),
            ("R-LATE", "A-02"),
        ]
        Ledger(session, clock).issue_to_job("J-HOUSING", "RESIN", 5, lot="R-OLD")


def codes(stocked: sessionmaker[Session], part: str, qty: int, lot: str | None) -> list[str]:
    with stocked() as session:
        found = issue_warnings(session, "J-HOUSING", part, Decimal(qty), TODAY, lot=lot)
    return [warning.code.value for warning in found]


def test_issuing_the_first_lot_to_expire_raises_no_warning(stocked: sessionmaker[Session]) -> None:
    assert codes(stocked, "RESIN", 5, "R-SOON") == []


def test_issue_warns_when_the_lot_is_not_the_first_to_expire(
    stocked: sessionmaker[Session],
) -> None:
    with stocked() as session:
        (warning,) = issue_warnings(session, "J-HOUSING", "RESIN", Decimal(5), TODAY, lot="R-LATE")
    assert warning.code == WarningCode.NOT_FIRST_TO_EXPIRE
    assert warning.message == "Lot R-SOON at A-01 expires first (2026-12-01)"


def test_issue_warns_on_an_expired_lot(stocked: sessionmaker[Session]) -> None:
    assert codes(stocked, "RESIN", 5, "R-OLD") == ["expired"]


def test_issue_warns_on_a_part_not_on_the_job_and_on_more_than_it_needs(
    stocked: sessionmaker[Session],
) -> None:
    assert codes(stocked, "MOTOR", 1, None) == ["not_on_job"]
    assert codes(stocked, "RESIN", 21, "R-SOON") == ["more_than_needed"]


def test_the_block_policy_refuses_an_expired_lot_at_issue(
    stocked: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    with unit_of_work(stocked) as session:
        write_setting_text(session, EXPIRY_POLICY, "block")
    with pytest.raises(RuleViolation, match="Lot R-OLD of RESIN expired on 2026-10-01"):
        codes(stocked, "RESIN", 5, "R-OLD")
    with (
        pytest.raises(RuleViolation, match="expired on 2026-10-01"),
        unit_of_work(stocked) as session,
    ):
        Ledger(session, clock).issue_to_job("J-HOUSING", "RESIN", 5, lot="R-OLD")


def test_the_warn_policy_lets_the_operator_issue_an_expired_lot(
    stocked: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    with unit_of_work(stocked) as session:
        Ledger(session, clock).issue_to_job("J-HOUSING", "RESIN", 5, lot="R-OLD")


def test_the_ignore_policy_says_nothing_about_expiry(stocked: sessionmaker[Session]) -> None:
    with unit_of_work(stocked) as session:
        write_setting_text(session, EXPIRY_POLICY, "ignore")
    assert codes(stocked, "RESIN", 5, "R-OLD") == []
    assert codes(stocked, "RESIN", 5, "R-LATE") == []


def test_an_unknown_expiry_policy_is_refused(stocked: sessionmaker[Session]) -> None:
    with (
        pytest.raises(
            SettingError, match="expiry_policy: 'strict' is not one of warn, block, ignore"
        ),
        unit_of_work(stocked) as session,
    ):
        write_setting_text(session, EXPIRY_POLICY, "strict")


def test_backflush_parts_are_not_on_the_pick_list(
    stocked: sessionmaker[Session],
) -> None:
    with unit_of_work(stocked) as session:
        session.add(JobComponent(job="J-PUMP", part="GREASE", qty=Decimal(1)))
    with stocked() as session:
        parts = [line.part for line in pick_list(session, "J-PUMP")]
    assert parts == ["BOLT", "HOUSING", "MOTOR"]
