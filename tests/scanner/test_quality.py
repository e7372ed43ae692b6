"""Holding, releasing and recalling by random people for random reasons
(`scanner.quality.change_status`): whatever the order, a lot's or serial's status is that of
the last decision that was taken, its history holds every decision taken, in order, and
nothing of one refused; and a decision is taken exactly when a supervisor or quality
operator gives a plain reason for a change that changes something."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.errors import LotscanError, RuleViolation
from scanner.ledger import Ledger
from scanner.lot_report import lot_report
from scanner.models import Location, LotStatus, Operator
from scanner.quality import Action, Item, change_status, find_item, status_of
from tests.conftest import NOW
from tests.support.plant import add_plant

BADGES = {"B9001": True, "B7001": True, "B1001": False, "B0000": False}
"""Who tries, and whether they may decide."""
REASONS = {"Cracked bosses": True, "  ": False, "bad\x07news": False, "r" * 201: False}
"""Why, and whether it may be kept."""

attempts = st.lists(
    st.tuples(st.sampled_from(list(Action)), st.sampled_from(sorted(BADGES)),
              st.sampled_from(sorted(REASONS))),
    max_size=12,
)  # fmt: skip
numbers = itertools.count(1)


@pytest.fixture
def plant(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(sessions) as session:
        add_plant(session)
        session.add(Operator(badge="B7001", name="Quinn Lee", role="quality"))
    return sessions


class Ticking:
    """A clock a minute further on at each reading."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def _item_for(serial: bool, ledger: Ledger) -> Callable[[Session], Item]:
    """A new serial (in a lot of its own) or a new lot, and how to find it again."""
    number = f"P-{next(numbers)}"
    if serial:
        ledger.receive("MOTOR", 1, "A-01", serial=number, lot=f"{number}-LOT")
        return lambda session: find_item(session, "MOTOR", lot=None, serial=number)
    ledger.receive("HOUSING", 3, "A-01", lot=number)
    return lambda session: find_item(session, "HOUSING", lot=number, serial=None)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tries=attempts, serial=st.booleans())
def test_the_status_is_the_last_decision_taken_and_the_history_every_one_in_order(
    plant: sessionmaker[Session], tries: list[tuple[Action, str, str]], serial: bool
) -> None:
    clock = Ticking()
    with unit_of_work(plant) as session:
        item_of = _item_for(serial, Ledger(session, clock))
        taken: list[tuple[str, str, str]] = []
        status = LotStatus.ACTIVE.value
        for action, badge, reason in tries:
            item = item_of(session)
            expected = BADGES[badge] and REASONS[reason] and action.status != status
            try:
                with session.begin_nested():
                    change_status(session, item, action, reason=reason, by=badge, clock=clock)
            except LotscanError:
                assert not expected, (action, badge, reason)
                continue
            assert expected, (action, badge, reason)
            status = action.status.value
            taken.append((status, badge, reason))
        item = item_of(session)
        own = item.serial.quality_status if item.serial is not None else status_of(item.lot, None)
        assert own == status
        report = lot_report(session, item, NOW.date())
        assert [
            (LotStatus.ACTIVE.value if e.status == "released" else e.status.value, e.operator,
             e.reason) for e in report.history
        ] == taken  # fmt: skip
        last = len(taken) - 1
        assert [each.current for each in report.history] == [i == last for i in range(len(taken))]


# ---- the ledger's one rule of what held and recalled stock may take ------------------------


@pytest.fixture
def held(plant: sessionmaker[Session]) -> sessionmaker[Session]:
    """Housings of lot H-1: 10 received at A-01, 4 shipped on SO-2; then Quinn Lee, of
    quality, holds the lot (a quarantine cage QA is there)."""
    with unit_of_work(plant) as session:
        session.add(Location(code="QA", name="Quarantine cage", kind="quarantine"))
        ledger = Ledger(session, Ticking())
        ledger.receive("HOUSING", 10, "A-01", lot="H-1")
        ledger.ship("SO-2", "HOUSING", 4, line=1, lot="H-1")
        lot = find_item(session, "HOUSING", lot="H-1", serial=None)
        change_status(session, lot, Action.HOLD, reason="Porosity", by="B7001", clock=Ticking())
    return plant


ON_HOLD = "Lot H-1 of HOUSING is on hold by Quinn Lee on 2026-11-02 08:31 (Porosity)"


@pytest.mark.parametrize(
    ("doing", "refusal"),
    [
        (lambda ledger: ledger.receive("HOUSING", 2, "A-02", lot="H-1"),
         f"{ON_HOLD}: it may move only into quarantine (QA)"),
        (lambda ledger: ledger.move("HOUSING", 2, "A-02", lot="H-1"),
         f"{ON_HOLD}: it may move only into quarantine (QA)"),
        (lambda ledger: ledger.issue_to_job("J-PUMP", "HOUSING", 2, lot="H-1"), ON_HOLD),
        (lambda ledger: ledger.ship("SO-2", "HOUSING", 2, line=1, lot="H-1"), ON_HOLD),
        (lambda ledger: ledger.receive("HOUSING", 2, "QA", lot="H-1"), None),
        (lambda ledger: ledger.move("HOUSING", 2, "QA", lot="H-1"), None),
        (lambda ledger: ledger.return_from_customer("HOUSING", 1, "A-02", lot="H-1"), None),
        (lambda ledger: ledger.return_to_supplier("HOUSING", 1, lot="H-1"), None),
        (lambda ledger: ledger.adjust("HOUSING", -1, "A-01", lot="H-1", reason="Count"), None),
        (lambda ledger: ledger.adjust("HOUSING", 1, "A-02", lot="H-1", reason="Found"), None),
    ],
)  # fmt: skip
def test_held_stock_takes_only_the_movements_the_one_rule_allows(
    held: sessionmaker[Session], doing: Callable[[Ledger], object], refusal: str | None
) -> None:
    with unit_of_work(held) as session:
        ledger = Ledger(session, Ticking())
        if refusal is None:
            doing(ledger)
            return
        with pytest.raises(RuleViolation) as refused:
            doing(ledger)
    assert str(refused.value) == refusal


def test_a_scan_of_held_stock_is_undone_by_a_reversal(held: sessionmaker[Session]) -> None:
    with unit_of_work(held) as session:
        moved = Ledger(session, Ticking()).move("HOUSING", 2, "QA", lot="H-1")
        Ledger(session, Ticking()).reverse(moved.id, reason="Wrong pallet")
