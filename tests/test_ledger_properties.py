"""Random histories of ledger operations: the caches always equal a replay of the ledger.

Operations are drawn from small pools of parts, lots, serials and places so that they
collide often: most are valid, some break a rule. A valid one is recorded; one that breaks a
rule is refused and must leave everything as it was.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select

from scanner.db import unit_of_work
from scanner.errors import LotscanError
from scanner.ledger import Ledger
from scanner.models import Balance, Movement
from scanner.replay import cache_differences
from scanner.workspace import sqlite_url
from tests.conftest import fixed_clock
from tests.databases import open_migrated
from tests.plant import add_plant

LOTS = st.sampled_from(["R-1", "R-2", "R-3"])
OUTPUT_LOTS = st.sampled_from(["H-1", "H-2"])
MOTORS = st.sampled_from(["M-1", "M-2", "M-3"])
PUMPS = st.sampled_from(["P-1", "P-2"])
PLACES = st.sampled_from(["RCV", "A-01", "A-02", "LINE"])
SOURCES = st.one_of(st.none(), PLACES)
AMOUNTS = st.integers(min_value=1, max_value=30).map(Decimal) | st.sampled_from(
    [Decimal("0.5"), Decimal("2.125")]
)


class LedgerHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.sessions = open_migrated(sqlite_url(Path(self.folder.name) / "lotscan.db"))
        with unit_of_work(self.sessions) as session:
            add_plant(session)
        self.recorded: list[uuid.UUID] = []
        self.refused = 0

    def teardown(self) -> None:
        self.sessions.kw["bind"].dispose()
        self.folder.cleanup()

    def attempt(self, operation: Callable[[Ledger], Movement | object]) -> None:
        before = self.snapshot()
        try:
            with unit_of_work(self.sessions) as session:
                result = operation(Ledger(session, fixed_clock))
        except LotscanError:
            self.refused += 1
            assert self.snapshot() == before, "a refused operation changed something"
            return
        if isinstance(result, Movement):
            self.recorded.append(result.id)

    def snapshot(self) -> tuple[object, ...]:
        with self.sessions() as session:
            stock = session.execute(select(Balance.part, Balance.lot, Balance.serial,
                                           Balance.location, Balance.qty)).all()  # fmt: skip
            count = len(session.scalars(select(Movement.id)).all())
        return (sorted(stock), count)

    @rule(lot=LOTS, qty=AMOUNTS, place=PLACES)
    def receive_resin(self, lot: str, qty: Decimal, place: str) -> None:
        self.attempt(lambda ledger: ledger.receive("RESIN", qty, place, lot=lot, po="PO-1"))

    @rule(serial=MOTORS, place=PLACES)
    def receive_motor(self, serial: str, place: str) -> None:
        self.attempt(lambda ledger: ledger.receive("MOTOR", 1, place, serial=serial))

    @rule(qty=AMOUNTS, place=PLACES)
    def receive_bolts(self, qty: Decimal, place: str) -> None:
        self.attempt(lambda ledger: ledger.receive("BOLT", qty, place))

    @rule(lot=LOTS, qty=AMOUNTS, source=SOURCES)
    def issue_resin(self, lot: str, qty: Decimal, source: str | None) -> None:
        self.attempt(
            lambda ledger: ledger.issue_to_job(
                "J-HOUSING", "RESIN", qty, lot=lot, from_location=source
            )
        )

    @rule(serial=MOTORS)
    def issue_motor(self, serial: str) -> None:
        self.attempt(lambda ledger: ledger.issue_to_job("J-PUMP", "MOTOR", 1, serial=serial))

    @rule(lot=OUTPUT_LOTS, qty=AMOUNTS, place=PLACES)
    def complete_housings(self, lot: str, qty: Decimal, place: str) -> None:
        self.attempt(lambda ledger: ledger.produce("J-HOUSING", qty, place, lot=lot))

    @rule(lot=OUTPUT_LOTS, qty=AMOUNTS, source=SOURCES)
    def issue_housings(self, lot: str, qty: Decimal, source: str | None) -> None:
        self.attempt(
            lambda ledger: ledger.issue_to_job(
                "J-PUMP", "HOUSING", qty, lot=lot, from_location=source
            )
        )

    @rule(serial=PUMPS, place=PLACES)
    def complete_pump(self, serial: str, place: str) -> None:
        self.attempt(lambda ledger: ledger.produce("J-PUMP", 1, place, serial=serial))

    @rule(serial=PUMPS)
    def ship_pump(self, serial: str) -> None:
        self.attempt(lambda ledger: ledger.ship("SO-1", "PUMP", 1, serial=serial))

    @rule(qty=AMOUNTS, lot=st.none() | st.sampled_from(["SHIP-1", "SHIP-2"]))
    def ship_bolts(self, qty: Decimal, lot: str | None) -> None:
        self.attempt(lambda ledger: ledger.ship("SO-1", "BOLT", qty, line=2, lot=lot))

    @rule(lot=LOTS, qty=AMOUNTS, source=SOURCES, to=PLACES)
    def move_resin(self, lot: str, qty: Decimal, source: str | None, to: str) -> None:
        self.attempt(lambda ledger: ledger.move("RESIN", qty, to, lot=lot, from_location=source))

    @rule(serial=MOTORS, to=PLACES)
    def move_motor(self, serial: str, to: str) -> None:
        self.attempt(lambda ledger: ledger.move("MOTOR", 1, to, serial=serial))

    @rule(delta=st.integers(min_value=-20, max_value=20), place=PLACES, lot=LOTS)
    def count_resin(self, delta: int, place: str, lot: str) -> None:
        self.attempt(lambda ledger: ledger.adjust("RESIN", delta, place, lot=lot, reason="count"))

    @rule(lot=LOTS, status=st.sampled_from(["hold", "active", "recalled"]))
    def change_lot_status(self, lot: str, status: str) -> None:
        self.attempt(lambda ledger: ledger.set_lot_status("RESIN", lot, status))

    @precondition(lambda self: bool(self.recorded))
    @rule(pick=st.integers(min_value=0))
    def reverse_a_movement(self, pick: int) -> None:
        chosen = self.recorded[pick % len(self.recorded)]
        self.attempt(lambda ledger: ledger.reverse(chosen, reason="mistake"))

    @invariant()
    def caches_equal_a_replay_of_the_ledger(self) -> None:
        with self.sessions() as session:
            assert cache_differences(session) == []

    @invariant()
    def no_stock_is_negative(self) -> None:
        with self.sessions() as session:
            assert session.scalars(select(Balance).where(Balance.qty <= 0)).all() == []


LedgerHistory.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_histories_keep_balances_equal_to_a_replay_of_the_ledger = LedgerHistory.TestCase
