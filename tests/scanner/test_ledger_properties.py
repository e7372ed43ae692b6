"""Random histories of ledger operations: the caches always equal a replay of the ledger.
Returns from customers and to suppliers, and their reversals, are among them.

Operations are drawn from small pools of parts, lots, serials and places so that they
collide often: most are valid, some break a rule. A valid one is recorded; one that breaks a
rule is refused and must leave everything as it was.
"""

from __future__ import annotations

import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import select

from scanner.balance_check import cache_differences
from scanner.db import unit_of_work
from scanner.errors import LotscanError
from scanner.ledger import Ledger
from scanner.models import Balance, Movement
from scanner.workspace import sqlite_url
from tests.conftest import fixed_clock
from tests.support.databases import open_migrated
from tests.support.plant import add_plant

LOTS = st.sampled_from(["R-1", "R-2", "R-3"])
OUTPUT_LOTS = st.sampled_from(["H-1", "H-2"])
MOTORS = st.sampled_from(["M-1", "M-2", "M-3"])
PUMPS = st.sampled_from(["P-1", "P-2"])
PLACES = st.sampled_from(["RCV", "A-01", "A-02", "LINE"])
SOURCES = st.one_of(st.none(), PLACES)
AMOUNTS = st.integers(min_value=1, max_value=30).map(Decimal) | st.sampled_from(
    [Decimal("0.5"), Decimal("2.125")]
)


@dataclass(frozen=True)
class Sent:
    """Goods a shipment or a receipt on an order moved, as a return names them."""

    part: str
    lot: str | None
    serial: str | None
    qty: Decimal


class LedgerHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.sessions = open_migrated(sqlite_url(Path(self.folder.name) / "lotscan.db"))
        with unit_of_work(self.sessions) as session:
            add_plant(session)
        self.recorded: list[uuid.UUID] = []
        self.refused = 0
        # What went out to customers and came in on the order, for returns that fit.
        self.shipped: list[Sent] = []
        self.received: list[Sent] = []

    @initialize()
    def some_goods_are_out_with_customers(self) -> None:
        """A start with shipments on record, so that returns of them come up often."""
        self.attempt(lambda ledger: ledger.receive("BOLT", 40, "RCV"))
        self.attempt(lambda ledger: ledger.produce("J-HOUSING", 8, "A-01", lot="H-1"))
        self.attempt(lambda ledger: ledger.produce("J-PUMP", 1, "LINE", serial="P-1"))
        self.attempt(lambda ledger: ledger.ship("SO-1", "PUMP", 1, serial="P-1"))
        self.attempt(lambda ledger: ledger.ship("SO-2", "HOUSING", 4, lot="H-1"))
        self.attempt(lambda ledger: ledger.ship("SO-1", "BOLT", 10, line=2, lot="SHIP-1"))
        assert len(self.shipped) == 3

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
            sent = Sent(result.part, result.lot, result.serial, result.qty)
            if result.kind == "ship":
                self.shipped.append(sent)
            elif result.kind == "receive" and result.po is not None:
                self.received.append(sent)

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

    @rule(lot=OUTPUT_LOTS, qty=AMOUNTS, source=SOURCES)
    def ship_housings(self, lot: str, qty: Decimal, source: str | None) -> None:
        self.attempt(
            lambda ledger: ledger.ship("SO-2", "HOUSING", qty, lot=lot, from_location=source)
        )

    @rule(serial=PUMPS, place=PLACES)
    def customer_returns_a_pump(self, serial: str, place: str) -> None:
        self.attempt(lambda ledger: ledger.return_from_customer("PUMP", 1, place, serial=serial))

    @rule(lot=OUTPUT_LOTS, qty=AMOUNTS, place=PLACES, so=st.none() | st.just("SO-2"))
    def customer_returns_housings(self, lot: str, qty: Decimal, place: str, so: str | None) -> None:
        self.attempt(
            lambda ledger: ledger.return_from_customer("HOUSING", qty, place, lot=lot, so=so)
        )

    @rule(
        qty=AMOUNTS,
        place=PLACES,
        lot=st.none() | st.sampled_from(["SHIP-1", "SHIP-2"]),
        so=st.none() | st.just("SO-1"),
    )
    def customer_returns_bolts(
        self, qty: Decimal, place: str, lot: str | None, so: str | None
    ) -> None:
        self.attempt(lambda ledger: ledger.return_from_customer("BOLT", qty, place, lot=lot, so=so))

    @rule(lot=LOTS, qty=AMOUNTS, source=SOURCES, po=st.none() | st.just("PO-1"))
    def resin_goes_back_to_the_supplier(
        self, lot: str, qty: Decimal, source: str | None, po: str | None
    ) -> None:
        self.attempt(
            lambda ledger: ledger.return_to_supplier(
                "RESIN", qty, from_location=source, lot=lot, po=po
            )
        )

    @rule(serial=MOTORS)
    def a_motor_goes_back_to_the_supplier(self, serial: str) -> None:
        self.attempt(lambda ledger: ledger.return_to_supplier("MOTOR", 1, serial=serial))

    @precondition(lambda self: bool(self.shipped))
    @rule(pick=st.integers(min_value=0), share=st.sampled_from(["all", "one"]), place=PLACES)
    def a_customer_returns_part_of_a_shipment(self, pick: int, share: str, place: str) -> None:
        sent = self.shipped[pick % len(self.shipped)]
        qty = sent.qty if share == "all" else min(sent.qty, Decimal(1))
        self.attempt(
            lambda ledger: ledger.return_from_customer(
                sent.part, qty, place, lot=sent.lot, serial=sent.serial
            )
        )

    @precondition(lambda self: bool(self.received))
    @rule(pick=st.integers(min_value=0), share=st.sampled_from(["all", "one"]))
    def part_of_a_receipt_goes_back(self, pick: int, share: str) -> None:
        sent = self.received[pick % len(self.received)]
        qty = sent.qty if share == "all" else min(sent.qty, Decimal(1))
        self.attempt(
            lambda ledger: ledger.return_to_supplier(
                sent.part, qty, lot=sent.lot, serial=sent.serial, po="PO-1"
            )
        )

    @precondition(lambda self: bool(self.recorded))
    @rule()
    def undo_the_last_movement(self) -> None:
        last = self.recorded[-1]
        self.attempt(lambda ledger: ledger.reverse(last, reason="undo"))

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
    def nothing_comes_back_that_did_not_go_out(self) -> None:
        """Per order line and part (and per lot or serial), what came back is never more
        than what went out: a fold of the ledger written apart from `scanner.returns`."""
        with self.sessions() as session:
            movements = {m.id: m for m in session.scalars(select(Movement))}
        out: Counter[tuple[object, ...]] = Counter()
        back: Counter[tuple[object, ...]] = Counter()
        for movement in movements.values():
            kind, sign = movement.kind, 1
            if movement.reverses is not None:
                original = movements[movement.reverses]
                kind, sign = original.kind, -1
            order = (
                (movement.so, movement.so_line) if movement.so else (movement.po, movement.po_line)
            )
            if order[0] is None:
                continue
            identity = movement.serial or movement.lot
            for who in {"any"} if identity is None else {identity, "any"}:
                key = (movement.part, who, *order)
                if kind in ("ship", "receive"):
                    out[key] += sign * movement.qty
                elif kind == "return":
                    back[key] += sign * movement.qty
        assert all(back[key] <= out[key] for key in back), (back, out)

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
