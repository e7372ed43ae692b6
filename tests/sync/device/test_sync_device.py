"""A handheld applying what the central store tells it: the outcomes of its own movements
and the changes it pulls. Whatever arrives, and however often, the caches stay a fold of
the movements that count, and the floor sees each movement's effect once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.balance_check import cache_differences
from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import Balance, Job, JobComponent, Lot, Movement, Part, Serial
from scanner.settings import DEVICE_ID, write_setting
from scanner.workspace import sqlite_url
from sync.device.answers import UnknownInPull, apply_changes, apply_outcome, apply_outcomes
from sync.protocol import Change, MovementOutcome, OutcomeStatus, movement_in, row_data
from tests.support.databases import open_migrated
from tests.support.plant import add_plant

HERE = "HH01"
THERE = "HH02"

Stock = dict[tuple[str, str, str, str], Decimal]


def stock(sessions: sessionmaker[Session]) -> Stock:
    with sessions() as session:
        return {
            (b.part, b.lot, b.serial, b.location): b.qty for b in session.scalars(select(Balance))
        }


def consistent(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return cache_differences(session)


def on_plant(sessions: sessionmaker[Session], device: str) -> None:
    with unit_of_work(sessions) as session:
        add_plant(session)
        write_setting(session, DEVICE_ID, device)


@pytest.fixture
def here(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """This handheld, on the test plant."""
    on_plant(sessions, HERE)
    return sessions


@pytest.fixture
def there(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Another handheld on the same plant, whose movements reach this one through the store."""
    other = open_migrated(sqlite_url(tmp_path / "other.db"))
    on_plant(other, THERE)
    yield other
    other.kw["bind"].dispose()


class Store:
    """Numbers changes the way the central store does (one counter), so tests can write
    pages of them."""

    def __init__(self) -> None:
        self.seq = 0

    def next(self) -> int:
        self.seq += 1
        return self.seq

    def movement(
        self,
        sessions: sessionmaker[Session],
        movement_id: uuid.UUID,
        status: str,
        *,
        codes: list[str] | None = None,
        message: str = "",
    ) -> Change:
        """A movement change for a movement recorded on `sessions`, as the store sends it."""
        with sessions() as session:
            movement = session.get_one(Movement, movement_id)
            data: dict[str, Any] = movement_in(session, movement).model_dump(mode="json")
            data["device_id"] = movement.device_id
        seq = self.next()
        data |= {
            "status": status,
            "server_seq": seq if status in ("applied", "flagged") else None,
            "codes": codes or [],
            "message": message,
        }
        return Change(seq=seq, kind="movement", key=str(movement_id), data=data)

    def row(self, kind: str, row: Any) -> Change:
        return Change(seq=self.next(), kind=kind, key="-", data=row_data(row))


def record(
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    operation: Callable[[Ledger], Movement],
) -> uuid.UUID:
    with unit_of_work(sessions) as session:
        return operation(Ledger(session, clock)).id


def pull(sessions: sessionmaker[Session], *changes: Change) -> int:
    with unit_of_work(sessions) as session:
        return apply_changes(session, HERE, list(changes))


def outcome(
    sessions: sessionmaker[Session], seq: int, status: OutcomeStatus, server_seq: int | None
) -> None:
    with unit_of_work(sessions) as session:
        apply_outcome(session, HERE, MovementOutcome(seq=seq, status=status, server_seq=server_seq))


def state(sessions: sessionmaker[Session], movement_id: uuid.UUID) -> tuple[str, int | None]:
    with sessions() as session:
        movement = session.get_one(Movement, movement_id)
        return movement.sync_state, movement.server_seq


# ---- reference data -------------------------------------------------------------------------


def valve(description: str) -> Part:
    return Part(number="VALVE", description=description, tracking="none", backflush=False, uom="ea")


def test_a_reference_row_is_added_then_updated_and_pulling_it_again_changes_nothing(
    here: sessionmaker[Session],
) -> None:
    store = Store()
    new = store.row("part", valve("Ball valve"))
    renamed = store.row("part", valve("Ball valve, brass"))
    assert pull(here, new, renamed) == 2
    pull(here, new, renamed)
    with here() as session:
        valves = session.scalars(select(Part).where(Part.number == "VALVE")).all()
        assert [part.description for part in valves] == ["Ball valve, brass"]


def test_a_lot_put_on_hold_at_the_store_is_on_hold_here(
    here: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    record(here, clock, lambda ledger: ledger.receive("RESIN", 5, "RCV", lot="L1"))
    with here() as session:
        lot = session.get_one(Lot, ("RESIN", "L1"))
        lot.status = "hold"
        change = Store().row("lot", lot)
    pull(here, change)
    with here() as session:
        assert session.get_one(Lot, ("RESIN", "L1")).status == "hold"


# ---- other devices' movements ---------------------------------------------------------------


def test_another_devices_movement_counts_here_once_however_often_it_is_pulled(
    here: sessionmaker[Session], there: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    store = Store()
    receipt = record(there, clock, lambda ledger: ledger.receive("BOLT", 40, "A-01"))
    change = store.movement(there, receipt, "applied")
    pull(here, change)
    pull(here, change)
    pull(here, change, change)
    assert stock(here) == {("BOLT", "", "", "A-01"): Decimal(40)}
    assert state(here, receipt) == ("applied", change.seq)
    assert consistent(here) == []


def test_a_pulled_movement_brings_the_lot_it_created_with_its_expiry(
    here: sessionmaker[Session], there: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    receipt = record(
        there,
        clock,
        lambda ledger: ledger.receive(
            "RESIN", 25, "RCV", lot="R-7", expiry=date(2027, 3, 1), supplier_lot="ACME-9"
        ),
    )
    pull(here, Store().movement(there, receipt, "flagged", codes=["NEGATIVE_BALANCE"]))
    with here() as session:
        lot = session.get_one(Lot, ("RESIN", "R-7"))
        assert (lot.expiry, lot.supplier_lot, lot.origin) == (
            date(2027, 3, 1),
            "ACME-9",
            "received",
        )
        assert session.get_one(Movement, receipt).outcome == "NEGATIVE_BALANCE"
    assert stock(here) == {("RESIN", "R-7", "", "RCV"): Decimal(25)}


def test_a_page_applies_whole_whatever_order_its_rows_come_in(
    here: sessionmaker[Session], there: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    """A movement before the lot it names, a job line and an assigned lot before their job."""
    store = Store()
    with unit_of_work(there) as session:
        session.add(Job(number="J-NEW", part="HOUSING", qty=Decimal(4), status="open"))
        session.flush()
        session.add(JobComponent(job="J-NEW", part="RESIN", qty=Decimal(8)))
        Ledger(session, clock).assign_lot("J-NEW", "H-1")
    receipt = record(there, clock, lambda ledger: ledger.receive("RESIN", 5, "RCV", lot="L9"))
    with there() as session:
        rows = [
            store.row("lot", session.get_one(Lot, ("RESIN", "L9"))),
            store.row("lot", session.get_one(Lot, ("HOUSING", "H-1"))),
            store.row("job_component", session.get_one(JobComponent, ("J-NEW", "RESIN"))),
            store.row("job", session.get_one(Job, "J-NEW")),
        ]
    page = [store.movement(there, receipt, "applied"), *rows]
    assert pull(here, *page) == 5
    assert stock(here) == {("RESIN", "L9", "", "RCV"): Decimal(5)}
    with here() as session:
        assert session.get_one(Lot, ("HOUSING", "H-1")).assigned_job == "J-NEW"
    assert consistent(here) == []


def test_another_devices_held_movement_changes_nothing_until_it_is_applied(
    here: sessionmaker[Session], there: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    store = Store()
    receipt = record(there, clock, lambda ledger: ledger.receive("BOLT", 7, "A-02"))
    pull(here, store.movement(there, receipt, "held", codes=["UNKNOWN_REFERENCE"]))
    assert stock(here) == {}
    with here() as session:
        assert session.get(Movement, receipt) is None
    pull(here, store.movement(there, receipt, "applied"))
    assert stock(here) == {("BOLT", "", "", "A-02"): Decimal(7)}


def test_a_serial_another_device_received_is_in_stock_here(
    here: sessionmaker[Session], there: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    store = Store()
    receipt = record(there, clock, lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M1"))
    moved = record(there, clock, lambda ledger: ledger.move("MOTOR", 1, "A-01", serial="M1"))
    pull(here, store.movement(there, receipt, "applied"), store.movement(there, moved, "applied"))
    with here() as session:
        serial = session.get_one(Serial, ("MOTOR", "M1"))
        assert (serial.status, serial.location) == ("in_stock", "A-01")
    assert consistent(here) == []


def test_a_movement_of_a_part_this_handheld_never_got_is_named(
    here: sessionmaker[Session], there: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    with unit_of_work(there) as session:
        session.add(Part(number="GASKET", description="Gasket", tracking="none"))
    receipt = record(there, clock, lambda ledger: ledger.receive("GASKET", 3, "RCV"))
    with pytest.raises(UnknownInPull, match="part GASKET"):
        pull(here, Store().movement(there, receipt, "applied"))
    assert stock(here) == {}


# ---- this device's own movements --------------------------------------------------------------


def test_an_applied_outcome_numbers_the_movement_and_leaves_stock_alone(
    here: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    receipt = record(here, clock, lambda ledger: ledger.receive("BOLT", 10, "RCV"))
    before = stock(here)
    outcome(here, 1, "applied", 41)
    assert state(here, receipt) == ("applied", 41)
    assert stock(here) == before


def test_a_held_movement_stops_counting_a_voided_one_stays_out_and_an_applied_one_counts_again(
    here: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    store = Store()
    record(here, clock, lambda ledger: ledger.receive("BOLT", 10, "RCV"))
    moved = record(here, clock, lambda ledger: ledger.move("BOLT", 4, "A-01"))
    counted = {("BOLT", "", "", "RCV"): Decimal(6), ("BOLT", "", "", "A-01"): Decimal(4)}
    assert stock(here) == counted

    outcome(here, 2, "held", None)
    assert stock(here) == {("BOLT", "", "", "RCV"): Decimal(10)}
    assert consistent(here) == []

    pull(here, store.movement(here, moved, "held"))  # the same fact again, by pull
    assert stock(here) == {("BOLT", "", "", "RCV"): Decimal(10)}

    pull(here, store.movement(here, moved, "voided"))
    assert state(here, moved) == ("voided", None)
    assert stock(here) == {("BOLT", "", "", "RCV"): Decimal(10)}

    applied = store.movement(here, moved, "applied")
    pull(here, applied)
    pull(here, applied)
    assert state(here, moved) == ("applied", applied.seq)
    assert stock(here) == counted
    assert consistent(here) == []


def test_a_held_serial_move_puts_the_serial_back_where_it_was(
    here: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    record(here, clock, lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M5"))
    record(here, clock, lambda ledger: ledger.move("MOTOR", 1, "A-02", serial="M5"))
    outcome(here, 1, "applied", 10)
    outcome(here, 2, "held", None)
    with here() as session:
        serial = session.get_one(Serial, ("MOTOR", "M5"))
        assert (serial.status, serial.location) == ("in_stock", "RCV")
    assert consistent(here) == []
    outcome(here, 2, "applied", 11)
    with here() as session:
        assert session.get_one(Serial, ("MOTOR", "M5")).location == "A-02"
    assert consistent(here) == []


def test_a_serial_row_from_the_store_does_not_undo_a_scan_not_yet_synced(
    here: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    record(here, clock, lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M6"))
    record(here, clock, lambda ledger: ledger.move("MOTOR", 1, "A-01", serial="M6"))
    outcome(here, 1, "applied", 1)
    stale = Serial(
        part="MOTOR", number="M6", lot=None, status="in_stock", location="RCV",
        quality_status="active",
    )  # fmt: skip
    pull(here, Change(seq=2, kind="serial", key="MOTOR|M6", data=row_data(stale)))
    with here() as session:
        assert session.get_one(Serial, ("MOTOR", "M6")).location == "A-01"
    assert consistent(here) == []


def test_an_outcome_for_a_number_this_device_never_used_is_ignored(
    here: sessionmaker[Session],
) -> None:
    with unit_of_work(here) as session:
        assert (
            apply_outcome(session, HERE, MovementOutcome(seq=99, status="applied", server_seq=1))
            is None
        )


def test_a_store_number_given_again_after_a_restore_moves_to_its_new_movement(
    here: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    first = record(here, clock, lambda ledger: ledger.receive("BOLT", 1, "RCV"))
    second = record(here, clock, lambda ledger: ledger.receive("BOLT", 2, "RCV"))
    outcome(here, 1, "applied", 5)
    outcome(here, 2, "applied", 5)  # the restored store numbered again from an older point
    assert state(here, second) == ("applied", 5)
    assert state(here, first) == ("applied", None)


_OUTCOMES = st.lists(
    st.builds(
        MovementOutcome,
        seq=st.integers(1, 5),  # four movements recorded: 5 is a number never used
        status=st.sampled_from(["applied", "flagged", "held", "rejected", "voided"]),
        server_seq=st.none() | st.integers(1, 5),
        codes=st.just([]),
        message=st.sampled_from(["", "NEGATIVE_BALANCE"]),
    ),
    max_size=8,
)


@settings(max_examples=40)
@given(answers=st.lists(_OUTCOMES, min_size=1, max_size=3))
def test_a_push_answer_applied_at_once_ends_as_its_outcomes_applied_one_by_one(
    tmp_path_factory: pytest.TempPathFactory, answers: list[list[MovementOutcome]]
) -> None:
    # Numbers given again to other movements (a restored store) included: the answer's
    # movements and number holders are read once, so each must still take its number in turn.
    folder = tmp_path_factory.mktemp("answers")
    ends = []
    for at_once in (False, True):
        sessions = open_migrated(sqlite_url(folder / f"{at_once}.db"))
        on_plant(sessions, HERE)
        with unit_of_work(sessions) as session:
            ledger = Ledger(session, fixed)
            for qty in (5, 1, 2):
                ledger.receive("BOLT", qty, "RCV")
            ledger.move("BOLT", 6, "A-01", from_location="RCV")
        for answer in answers:
            with unit_of_work(sessions) as session:
                if at_once:
                    settled = apply_outcomes(session, HERE, answer)
                else:
                    settled = [apply_outcome(session, HERE, outcome) for outcome in answer]
                assert [m is not None for m in settled] == [o.seq <= 4 for o in answer]
        with sessions() as session:
            rows = session.scalars(select(Movement).order_by(Movement.device_seq))
            states = [(m.sync_state, m.server_seq, m.outcome) for m in rows]
        ends.append((states, stock(sessions)))
        assert consistent(sessions) == []
        sessions.kw["bind"].dispose()
    assert ends[0] == ends[1]


_PULLED = st.lists(
    st.tuples(
        st.integers(0, 4),  # which movement: three another handheld recorded, two this one's
        st.sampled_from(["applied", "flagged", "held", "voided", "rejected"]),
        st.integers(1, 6),  # its store number, when it counts
    ),
    max_size=10,
)


@settings(max_examples=30)
@given(changes=_PULLED, cut=st.integers(1, 10))
def test_a_pulled_page_applied_at_once_ends_as_its_changes_applied_one_by_one(
    tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[int, str, int]], cut: int
) -> None:
    # The page reads what its movements find here before it is applied: each must still
    # see the movements, numbers and store numbers the ones before it left.
    folder = tmp_path_factory.mktemp("pulled")
    source = open_migrated(sqlite_url(folder / "there.db"))
    on_plant(source, THERE)
    with unit_of_work(source) as session:
        ledger = Ledger(session, fixed)
        theirs = [ledger.receive("BOLT", 5, "RCV").id, ledger.receive("BOLT", 3, "RCV").id]
        theirs.append(ledger.move("BOLT", 2, "A-01", from_location="RCV").id)
    ends = []
    for at_once in (False, True):
        sessions = open_migrated(sqlite_url(folder / f"{at_once}.db"))
        on_plant(sessions, HERE)
        with unit_of_work(sessions) as session:
            ledger = Ledger(session, fixed)
            ours = [ledger.receive("BOLT", 4, "RCV").id]
            ours.append(ledger.move("BOLT", 1, "A-01", from_location="RCV").id)
        page = []
        for seq, (which, status, number) in enumerate(changes, start=1):
            movement_id, made_on = (theirs + ours)[which], (source if which < 3 else sessions)
            change = Store().movement(made_on, movement_id, status)
            counts = status in ("applied", "flagged")
            data = change.data | {"server_seq": number if counts else None}
            page.append(Change(seq=seq, kind="movement", key=change.key, data=data))
        pages = [page[start : start + cut] for start in range(0, len(page), cut)]
        for part in pages if at_once else [[change] for change in page]:
            with unit_of_work(sessions) as session:
                apply_changes(session, HERE, part)
        with sessions() as session:
            rows = session.scalars(
                select(Movement).order_by(Movement.device_id, Movement.device_seq)
            )
            states = [(m.device_id, m.device_seq, m.sync_state, m.server_seq) for m in rows]
        ends.append((states, stock(sessions)))
        assert consistent(sessions) == []
        sessions.kw["bind"].dispose()
    source.kw["bind"].dispose()
    assert ends[0] == ends[1]


def fixed() -> datetime:
    return datetime(2026, 11, 2, 8, 30).astimezone()


def test_a_wiped_handheld_gets_its_own_synced_movements_back_and_numbers_on_after_them(
    here: sessionmaker[Session], tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    before = open_migrated(sqlite_url(tmp_path / "before-wipe.db"))
    on_plant(before, HERE)
    receipt = record(before, clock, lambda ledger: ledger.receive("BOLT", 9, "RCV"))
    pull(here, Store().movement(before, receipt, "applied"))
    after = record(here, clock, lambda ledger: ledger.move("BOLT", 9, "A-01"))
    with here() as session:
        assert session.get_one(Movement, after).device_seq == 2
    assert stock(here) == {("BOLT", "", "", "A-01"): Decimal(9)}
    before.kw["bind"].dispose()
