"""The sync reliability catalogue (docs/architecture.md, "Catalogue"), against a real service on
loopback, on SQLite and on PostgreSQL. Every test ends with a final sync of every handheld
and the invariant checker (tests/support/sync_invariants.py): nothing lost, nothing applied twice,
per-device order kept, caches equal a replay, every anomaly explained, all converged."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import Balance, Movement, Operator, Part, Serial, SerialStatus
from scanner.settings import PULL_CURSOR, write_setting
from scanner.workspace import sqlite_url
from sync.central import apply as central_apply
from sync.central.apply import CentralLedger
from sync.central.errors import SyncError
from sync.central.models import SyncEntry, SyncRejection
from sync.device.client import DeviceRevoked, SyncUnavailable
from sync.exception_codes import ExceptionCode
from sync.protocol import MovementIn, PushResponse
from tests.support.plant import add_plant
from tests.support.sync_over_http import (
    Fault,
    Handheld,
    ServiceThread,
    Site,
    Switchboard,
    add_local_part,
    reference_differences,
)

PUSH = "/v1/sync/push"
PULL = "/v1/sync/pull"


@pytest.fixture
def sqlite_site(tmp_path: Path, service: tuple[ServiceThread, Switchboard]) -> Iterator[Site]:
    """The same on SQLite only: for tests of the checker itself."""
    plant = Site(sqlite_url(tmp_path / "central.db"), tmp_path)
    plant.serve_on(*service)
    yield plant
    plant.close()


def receive(handheld: Handheld, part: str, qty: int, location: str, lot: str | None = None) -> None:
    handheld.record(lambda ledger: ledger.receive(part, qty, location, lot=lot))


def receive_pump(handheld: Handheld, serial: str, location: str) -> None:
    handheld.record(lambda ledger: ledger.receive("PUMP", 1, location, serial=serial))


def ship_pump(handheld: Handheld, serial: str) -> None:
    handheld.record(lambda ledger: ledger.ship("SO-1", "PUMP", 1, line=1, serial=serial))


def receive_bolts(handheld: Handheld, count: int, location: str = "A-01") -> None:
    for _ in range(count):
        handheld.record(lambda ledger: ledger.receive("BOLT", 1, location))


def outcomes(answer: PushResponse) -> list[dict[str, Any]]:
    return [outcome.model_dump() for outcome in answer.outcomes]


def store_qty(site: Site, part: str, location: str, lot: str = "", serial: str = "") -> Decimal:
    with site.store() as session:
        balance = session.get(Balance, (part, lot, serial, location))
        return balance.qty if balance else Decimal(0)


def device_qty(
    handheld: Handheld, part: str, location: str, lot: str = "", serial: str = ""
) -> Decimal:
    with handheld.sessions() as session:
        balance = session.get(Balance, (part, lot, serial, location))
        return balance.qty if balance else Decimal(0)


def states(handheld: Handheld) -> dict[int, str]:
    return {m.device_seq: m.sync_state for m in handheld.own()}


def converged(site: Site) -> None:
    site.final_sync()
    assert site.violations() == []


# ---- the checker itself ----------------------------------------------------------------------


def test_the_checker_finds_a_device_that_has_not_caught_up(sqlite_site: Site) -> None:
    site = sqlite_site
    dock, line = site.enroll("dock"), site.enroll("line")
    receive_bolts(dock, 2)
    dock.sync()

    found = site.violations()

    assert any(p.startswith("I6 ") and "lacks the store's movement" in p for p in found)
    assert any(p.startswith("I6 ") and "pulled up to" in p for p in found)
    converged(site)
    assert line.cursor() == site.clock_seq()


def test_the_checker_finds_each_way_the_store_can_go_wrong(sqlite_site: Site) -> None:
    """Each invariant's check fails when the store breaks it (a checker that cannot fail
    proves nothing)."""
    site = sqlite_site
    dock = site.enroll("dock")
    receive_bolts(dock, 4)
    dock.sync()
    receive_bolts(dock, 1)
    with unit_of_work(site.central) as session:
        entries = {e.device_seq: e for e in session.scalars(select(SyncEntry))}
        moved = {m.device_seq: m for m in session.scalars(select(Movement))}
        session.delete(entries[1])  # lost
        entries[2].status = "held"  # held, yet in the ledger
        entries[3].status = moved[3].sync_state = "flagged"  # flagged with no exception
        third, fourth = moved[3].server_seq, moved[4].server_seq
        for movement, number in ((moved[4], -1), (moved[3], fourth), (moved[4], third)):
            movement.server_seq = number  # out of order, one at a time (they are unique)
            session.flush()

    found = site.violations()

    device = dock.device
    assert f"I1 {device}#1 never reached the store" in found
    assert f"I2 {device}#2 is held but present in the store's ledger" in found
    assert f"I3 {device}: the store's numbers do not follow the device's order" in found
    assert f"I5 {device}#3 is flagged with no exception" in found
    assert f"I6 {device}#2: device says applied, store says held" in found
    assert f"I7 {device}#5 is still waiting to sync" in found


def test_the_checker_finds_caches_that_disagree_with_the_ledger(sqlite_site: Site) -> None:
    site = sqlite_site
    dock = site.enroll("dock")
    receive_bolts(dock, 2)
    converged(site)
    with unit_of_work(dock.sessions) as session:
        session.execute(update(Balance).values(qty=Decimal(5)))

    found = site.violations()

    assert any(p.startswith(f"I4 {dock.device}: balance BOLT") for p in found)
    assert any(p.startswith(f"I6 {dock.device}: BOLT///A-01 is 5") for p in found)


# ---- T1 repeated batches ---------------------------------------------------------------------


def test_a_batch_replayed_whole_and_in_slices_is_applied_once(site: Site) -> None:
    dock = site.enroll("dock")
    add_local_part(dock, "GASKET")  # the store has never heard of it: those are held
    for index in range(12):
        receive(dock, "GASKET" if index % 4 == 3 else "BOLT", 2, "A-01")
    batch = dock.payload(range(1, 13))
    rng = random.Random(1)

    with dock.client(site.url) as client:
        first = outcomes(client.push(dock.push_request(batch)))
        after_first = site.snapshot()
        for _ in range(10):
            assert outcomes(client.push(dock.push_request(batch))) == first
            start = rng.randrange(len(batch))
            end = rng.randrange(start + 1, len(batch) + 1)
            again = outcomes(client.push(dock.push_request(batch[start:end])))
            assert again == first[start:end]
            assert site.snapshot() == after_first

    assert [o["status"] for o in first] == ["applied", "applied", "applied", "held"] * 3
    assert store_qty(site, "BOLT", "A-01") == 18
    converged(site)


# ---- T2 a lost response, and the network's other faults --------------------------------------


NETWORK_FAULTS = [
    (Fault.LOST_ACK, PUSH),
    (Fault.DROP, PUSH),
    (Fault.DUPLICATE, PUSH),
    (Fault.DELAY, PUSH),
    (Fault.LOST_ACK, PULL),
    (Fault.DROP, PULL),
    (Fault.DUPLICATE, PULL),
]


def test_a_faulty_network_never_applies_a_movement_twice(site: Site) -> None:
    """Each fault in turn, on a batch of two pushed one at a time: a failed sync keeps the
    queue, the next one finishes it, and each movement is applied once."""
    dock, line = site.enroll("dock"), site.enroll("line")
    for round_, (fault, path) in enumerate(NETWORK_FAULTS, start=1):
        receive_bolts(dock, 2)
        line.record(lambda ledger: ledger.receive("BOLT", 1, "A-02"))
        line.sync()
        dock.transport.plan(fault, path=path)

        failure = dock.try_sync(batch=1)

        if fault in (Fault.LOST_ACK, Fault.DROP):
            assert isinstance(failure, SyncUnavailable), fault
        else:
            assert failure is None, f"{fault} {path}: {failure}"
        if (fault, path) == (Fault.LOST_ACK, PUSH):
            assert site.applied_up_to(dock) == 2 * round_ - 1  # committed, never heard
        dock.sync(batch=1)
        assert set(site.entries(dock)) == set(range(1, 2 * round_ + 1))
        assert set(states(dock).values()) == {"applied"}
        assert store_qty(site, "BOLT", "A-01") == device_qty(dock, "BOLT", "A-01") == 2 * round_
        assert device_qty(dock, "BOLT", "A-02") == round_
    converged(site)


def test_a_lost_acknowledgement_is_applied_exactly_once(site: Site) -> None:
    dock = site.enroll("dock")
    receive_bolts(dock, 4)
    dock.transport.plan(Fault.LOST_ACK, path=PUSH)

    failure = dock.try_sync()

    assert isinstance(failure, SyncUnavailable)
    assert dock.pending() == [1, 2, 3, 4]
    assert site.applied_up_to(dock) == 4
    assert site.ledger_size() == 4
    dock.sync()
    assert dock.pending() == []
    assert site.ledger_size() == 4
    assert store_qty(site, "BOLT", "A-01") == 4
    assert [d.seqs for d in dock.transport.pushes()] == [[1, 2, 3, 4], [1, 2, 3, 4]]
    converged(site)


# ---- T3 a crash inside a batch ---------------------------------------------------------------


@pytest.mark.parametrize("crash_after", [0, 5])
def test_a_crash_inside_a_batch_leaves_nothing_and_a_retry_applies_all(
    site: Site, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    dock = site.enroll("dock")
    receive_bolts(dock, 4)
    dock.record(lambda ledger: ledger.move("BOLT", 3, "A-02", from_location="A-01"))
    add_local_part(dock, "GASKET")
    dock.record(lambda ledger: ledger.receive("GASKET", 1, "A-01"))  # held at the store
    receive_bolts(dock, 2, "A-02")
    before = site.snapshot()
    accept = CentralLedger.accept
    calls = 0

    def crashing(self: CentralLedger, device_id: str, movement: MovementIn, **how: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > crash_after:
            raise RuntimeError("the store crashed inside the batch")
        return accept(self, device_id, movement, **how)

    monkeypatch.setattr(CentralLedger, "accept", crashing)
    failure = dock.try_sync()

    assert calls == crash_after + 1
    assert isinstance(failure, SyncUnavailable)
    assert site.snapshot() == before
    assert site.applied_up_to(dock) == 0
    assert len(dock.pending()) == 8
    monkeypatch.setattr(CentralLedger, "accept", accept)
    dock.sync()
    assert set(site.entries(dock)) == set(range(1, 9))
    assert store_qty(site, "BOLT", "A-02") == 5
    converged(site)


# ---- T6 gaps and reordering ------------------------------------------------------------------


def test_a_gap_stops_the_batch_and_the_store_never_holds_a_hole(site: Site) -> None:
    dock = site.enroll("dock")
    receive_bolts(dock, 7)
    with dock.client(site.url) as client:
        client.push(dock.push_request(dock.payload([1, 2, 3])))

        ahead = client.push(dock.push_request(dock.payload([5])))
        assert (ahead.outcomes, ahead.last_applied_seq, ahead.expected_next_seq) == ([], 3, 4)
        assert set(site.entries(dock)) == {1, 2, 3}

        gap = client.push(dock.push_request(dock.payload([4, 6])))
        assert [o.seq for o in gap.outcomes] == [4]
        assert (gap.last_applied_seq, gap.expected_next_seq) == (4, 5)
        assert set(site.entries(dock)) == {1, 2, 3, 4}

        reordered = client.push(dock.push_request(dock.payload([6, 5])))
        assert sorted(o.seq for o in reordered.outcomes) == [5, 6]
        assert reordered.expected_next_seq == 7
    entries = site.entries(dock)
    assert set(entries) == set(range(1, 7))
    with site.store() as session:
        numbers = {
            seq: number
            for seq, number in session.execute(
                select(Movement.device_seq, Movement.server_seq).where(
                    Movement.device_id == dock.device
                )
            )
        }
    assert sorted(numbers, key=numbers.__getitem__) == [1, 2, 3, 4, 5, 6]
    converged(site)


# ---- T7 a reused number ----------------------------------------------------------------------


def test_a_reused_number_with_another_payload_is_rejected_and_alerted(site: Site) -> None:
    dock = site.enroll("dock")
    receive_bolts(dock, 3)
    dock.sync()
    original = site.entries(dock)[2]
    forged = dock.payload([2])[0].model_copy(update={"qty": Decimal(7)})

    with dock.client(site.url) as client:
        answer = client.push(dock.push_request([forged]))
        again = client.push(dock.push_request([forged]))

    (outcome,) = answer.outcomes
    assert outcome.status == "rejected"
    assert outcome.codes == [ExceptionCode.IDEMPOTENCY_CONFLICT.value]
    assert outcomes(again) == outcomes(answer)
    kept = site.entries(dock)[2]
    assert (kept.payload_hash, kept.status, kept.movement_id) == (
        original.payload_hash,
        "applied",
        original.movement_id,
    )
    assert store_qty(site, "BOLT", "A-01") == 3
    (alert,) = site.exceptions(ExceptionCode.IDEMPOTENCY_CONFLICT.value)
    assert (alert.device_id, alert.device_seq, alert.status) == (dock.device, 2, "open")
    with site.store() as session:
        assert len(list(session.scalars(select(SyncRejection)))) == 1
    converged(site)
    assert states(dock)[2] == "applied"


# ---- T8 two identical pushes at once ---------------------------------------------------------


def slow_accept(monkeypatch: pytest.MonkeyPatch, pause: float) -> None:
    """Makes each movement take a moment at the store, so two pushes surely overlap."""
    accept = CentralLedger.accept

    def slowly(self: CentralLedger, device_id: str, movement: MovementIn, **how: Any) -> Any:
        time.sleep(pause)
        return accept(self, device_id, movement, **how)

    monkeypatch.setattr(CentralLedger, "accept", slowly)


def test_two_identical_pushes_at_once_apply_once_and_answer_alike(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    dock = site.enroll("dock")
    receive_bolts(dock, 10)
    dock.record(lambda ledger: ledger.move("BOLT", 4, "A-02", from_location="A-01"))
    request = dock.push_request(dock.payload(range(1, 12)))
    slow_accept(monkeypatch, 0.02)
    start = threading.Barrier(2)

    def push() -> list[dict[str, Any]]:
        with dock.client(site.url) as client:
            start.wait()
            return outcomes(client.push(request))

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: push(), range(2))

    assert first == second
    assert [o["status"] for o in first] == ["applied"] * 11
    assert site.ledger_size() == 11
    assert store_qty(site, "BOLT", "A-01") == 6
    converged(site)


def test_a_double_tapped_sync_applies_each_movement_once(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    dock = site.enroll("dock")
    receive_bolts(dock, 8)
    slow_accept(monkeypatch, 0.02)
    start = threading.Barrier(2)

    def sync() -> None:
        start.wait()
        dock.sync(batch=3)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: sync(), range(2)))

    assert dock.pending() == []
    assert site.ledger_size() == 8
    converged(site)


# ---- T9 a cut-off pull -----------------------------------------------------------------------


def test_a_cut_off_pull_resumes_from_its_cursor_and_a_lost_cursor_resyncs(site: Site) -> None:
    line, late = site.enroll("line"), site.enroll("late")
    start = late.cursor()  # where its first sync's snapshot stood
    for number in range(30):
        receive(line, "RESIN", 5, "RCV", lot=f"R-{number}")
    line.sync()
    late.transport.plan(*[Fault.NONE] * 4, Fault.DROP, path=PULL)

    failure = late.try_sync(page=10)

    assert isinstance(failure, SyncUnavailable)
    assert late.cursor() == start + 40  # four pages of ten, each kept with its cursor
    with late.sessions() as session:
        pulled = {m.server_seq or 0 for m in session.scalars(select(Movement))}
    with site.store() as session:
        numbers = {m.server_seq or 0 for m in session.scalars(select(Movement))}
    assert pulled == {number for number in numbers if number <= start + 40} != set()
    late.sync(page=7)
    assert late.cursor() == site.clock_seq()
    assert reference_differences(site.central, late) == []

    with unit_of_work(late.sessions) as session:
        write_setting(session, PULL_CURSOR, site.clock_seq() + 1000)
    late.transport.log.clear()
    late.sync(page=50)
    # The store answers the lost cursor with a reset; the handheld takes a new snapshot and
    # pulls after it.
    assert [d.cursor for d in late.transport.pulls()][:2] == [
        site.clock_seq() + 1000,
        site.clock_seq(),
    ]
    assert any(d.path.endswith("/sync/snapshot") for d in late.transport.log)
    assert late.cursor() == site.clock_seq()
    assert reference_differences(site.central, late) == []
    converged(site)


def test_a_pull_page_lost_on_the_way_is_pulled_again_harmlessly(site: Site) -> None:
    line, dock = site.enroll("line"), site.enroll("dock")
    receive_bolts(line, 6)
    line.sync()
    dock.transport.plan(Fault.NONE, Fault.LOST_ACK, path=PULL)

    assert isinstance(dock.try_sync(page=4), SyncUnavailable)
    kept = dock.cursor()
    dock.sync(page=4)

    assert [d.cursor for d in dock.transport.pulls()][2] == kept
    assert device_qty(dock, "BOLT", "A-01") == 6
    converged(site)


# ---- T14 revocation while offline ------------------------------------------------------------


def test_a_revoked_handheld_keeps_its_queue_and_syncs_it_once_after_reenrolling(
    site: Site,
) -> None:
    dock = site.enroll("dock")
    receive_bolts(dock, 30)
    dock.sync()
    dock.transport.offline = True
    receive_bolts(dock, 100, "A-02")
    site.revoke(dock)
    dock.transport.offline = False
    device = dock.device

    with pytest.raises(DeviceRevoked, match="its 100 queued movements are kept"):
        dock.sync()

    assert len(dock.pending()) == 100
    assert site.applied_up_to(dock) == 30
    assert site.reenroll(dock) == device
    report = dock.sync(batch=40)
    assert (report.pushed, report.applied, report.pending) == (100, 100, 0)
    assert set(site.entries(dock)) == set(range(1, 131))
    assert store_qty(site, "BOLT", "A-02") == 100
    converged(site)


def test_a_replacement_handheld_enrolled_under_the_old_name_loses_no_scan(site: Site) -> None:
    """A handheld breaks; the supervisor enrolls its replacement under the same name, so it
    keeps the device id. The store holds the old one's numbers, the last of them held; the
    replacement pulls first, as `lotscan enroll` tells it to, then scans."""
    broken = site.enroll("dock")
    add_local_part(broken, "GASKET")
    receive_bolts(broken, 1)
    broken.record(lambda ledger: ledger.receive("GASKET", 1, "A-01"))  # held at the store
    broken.sync()
    assert states(broken) == {1: "applied", 2: "held"}
    replacement = Handheld("dock", site.root / "replacement", site.clock)
    site.handhelds.append(replacement)
    assert site.reenroll(replacement) == broken.device
    replacement.sync()
    site.handhelds.remove(broken)

    receive_bolts(replacement, 2, "A-02")
    replacement.sync()

    assert [s for s in states(replacement).values() if s != "applied"] == []
    assert store_qty(site, "BOLT", "A-02") == 2
    converged(site)


def test_a_handheld_that_scanned_before_it_was_enrolled_syncs_what_it_scanned(
    site: Site,
) -> None:
    """A handheld in use before the central store existed (migration 0003 queues its
    history) is enrolled: what it recorded reaches the store, as 0003 promises."""
    veteran = Handheld("veteran", site.root / "veteran", site.clock)
    site.handhelds.append(veteran)
    with unit_of_work(veteran.sessions) as session:
        add_plant(session)  # imported long ago with lotscan import
    receive_bolts(veteran, 3)

    site.reenroll(veteran)
    veteran.sync()

    assert veteran.pending() == []
    assert store_qty(site, "BOLT", "A-01") == 3
    converged(site)


# ---- T15 a backlog ---------------------------------------------------------------------------


def backlog(handheld: Handheld, size: int) -> None:
    """`size` movements recorded through the device's ledger, a thousand per transaction."""
    for start in range(0, size, 1000):
        with unit_of_work(handheld.sessions) as session:
            ledger = Ledger(session, handheld.clock)
            for index in range(start, min(size, start + 1000)):
                if index % 5 == 4:
                    ledger.move("BOLT", 1, "A-02", from_location="A-01")
                else:
                    ledger.receive("BOLT", 1, "A-01")


def test_a_backlog_interrupted_at_random_batches_resumes_where_it_stopped(site: Site) -> None:
    # The catalogue's size for T15, in every run: about 30 s on each database.
    size, batch = 20_000, 500
    dock = site.enroll("dock")
    backlog(dock, size)
    # Seven push requests fail, none right after another, so each retry goes through.
    rng = random.Random(15)
    batches = size // batch
    chosen = rng.sample(range(1, batches, 2), 7)
    faults = dict.fromkeys(chosen[:4], Fault.DROP) | dict.fromkeys(chosen[4:], Fault.LOST_ACK)
    dock.transport.plan(*(faults.get(i, Fault.NONE) for i in range(batches)), path=PUSH)

    started = time.perf_counter()
    failures: list[str] = []
    while dock.pending():
        applied_before = site.applied_up_to(dock)
        pushes_before = len(dock.transport.pushes())
        failure = dock.try_sync(batch=batch)
        if failure is None:
            continue
        failures.append(str(failure))
        applied = site.applied_up_to(dock)
        assert set(site.entries(dock)) == set(range(1, applied + 1))
        resumed = dock.transport.pushes()[pushes_before:]
        if resumed and resumed[-1].fault == Fault.DROP:
            assert resumed[-1].seqs[0] == applied + 1
        assert applied >= applied_before
    drained = time.perf_counter() - started
    print(f"{size} movements drained in {drained:.1f} s, {len(failures)} interruptions")

    assert len(failures) == 7, failures
    for delivery in dock.transport.pushes():
        assert delivery.seqs == sorted(delivery.seqs)
    firsts = [d.seqs[0] for d in dock.transport.pushes() if d.fault != Fault.LOST_ACK]
    assert firsts == sorted(firsts)
    assert site.applied_up_to(dock) == size
    assert site.ledger_size() == size
    converged(site)


# ---- the domain conflicts and what a supervisor does about them -----------------------------


def offline(*handhelds: Handheld) -> None:
    for handheld in handhelds:
        handheld.transport.offline = True


def online(*handhelds: Handheld) -> None:
    for handheld in handhelds:
        handheld.transport.offline = False
        handheld.sync()


def open_exception(site: Site, code: ExceptionCode) -> int:
    (exception,) = site.exceptions(code.value, status="open")
    return exception.id


def test_a_lot_moved_on_two_handhelds_is_flagged_stale_and_a_count_settles_it(
    site: Site,
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    dock.record(lambda ledger: ledger.receive("RESIN", 10, "A-01", lot="R-7"))
    online(dock, line)
    offline(dock, line)
    dock.record(lambda ledger: ledger.move("RESIN", 10, "A-02", from_location="A-01", lot="R-7"))
    line.record(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 8, lot="R-7"))

    online(dock, line)

    assert states(line) == {1: "flagged"}
    (stale,) = site.exceptions(ExceptionCode.STALE_SOURCE.value)
    assert "It is at A-02 (10 kg) now" in stale.message
    assert store_qty(site, "RESIN", "A-01", lot="R-7") == -8
    site.resolve(stale.id, "adjust", qty=Decimal(0), location="A-01", reason="counted")
    assert store_qty(site, "RESIN", "A-01", lot="R-7") == 0
    converged(site)
    assert states(line) == {1: "applied"}
    assert device_qty(dock, "RESIN", "A-01", lot="R-7") == 0


def test_a_late_receipt_clears_the_negative_balance_it_left(site: Site) -> None:
    """Bolts received by a badge the store does not know yet are held; the shipment of
    them is applied and leaves the balance negative until the badge is imported."""
    dock = site.enroll("dock")
    with unit_of_work(dock.sessions) as session:
        session.add(Operator(badge="B7777", name="New Hire"))
    dock.record(lambda ledger: ledger.receive("BOLT", 5, "A-02", operator="B7777"))
    dock.record(lambda ledger: ledger.ship("SO-2", "BOLT", 3, line=2, from_location="A-02"))
    dock.sync()

    assert states(dock) == {1: "held", 2: "flagged"}
    assert site.exceptions(ExceptionCode.NEGATIVE_BALANCE.value, status="open") != []
    assert device_qty(dock, "BOLT", "A-02") == store_qty(site, "BOLT", "A-02") == -3
    site.import_reference(lambda session: session.add(Operator(badge="B7777", name="New Hire")))

    converged(site)
    assert states(dock) == {1: "applied", 2: "applied"}
    assert [x.status for x in site.exceptions(ExceptionCode.NEGATIVE_BALANCE.value)] == [
        "auto_cleared"
    ]
    assert device_qty(dock, "BOLT", "A-02") == 2


def test_a_serial_shipped_on_two_handhelds_is_held_for_the_supervisor(site: Site) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    for serial in ("P-1", "P-7"):
        receive_pump(dock, serial, "A-01")
    online(dock, line)
    offline(dock, line)
    for handheld in (dock, line):
        for serial in ("P-1", "P-7"):
            ship_pump(handheld, serial)

    online(dock, line)

    assert states(line) == {1: "held", 2: "held"}
    first, second = (x.id for x in site.exceptions(ExceptionCode.SERIAL_CONFLICT.value))
    site.resolve(first, "void", reason="one label was a copy")
    site.resolve(second, "apply", reason="both went out: the first was a sample")
    converged(site)
    assert states(line) == {1: "voided", 2: "flagged"}


def test_a_serial_received_on_two_handhelds_is_held_for_the_supervisor(site: Site) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    offline(dock, line)
    dock.record(lambda ledger: ledger.receive("PUMP", 1, "A-01", serial="P-2"))
    line.record(lambda ledger: ledger.receive("PUMP", 1, "A-02", serial="P-2"))

    online(dock, line)

    assert states(line) == {1: "held"}
    held = open_exception(site, ExceptionCode.SERIAL_DUPLICATE_RECEIPT)
    site.resolve(held, "void", reason="a duplicate label")
    converged(site)
    assert states(line) == {1: "voided"}


def test_one_lot_number_received_on_two_handhelds_is_one_lot(site: Site) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    offline(dock, line)
    dock.record(lambda ledger: ledger.receive("RESIN", 4, "RCV", lot="ACME-1"))
    line.record(lambda ledger: ledger.receive("RESIN", 6, "RCV", lot="ACME-1"))

    online(dock, line)

    assert states(dock) == states(line) == {1: "applied"}
    assert store_qty(site, "RESIN", "RCV", lot="ACME-1") == 10
    converged(site)


def test_a_part_only_the_handheld_knows_is_held_until_the_store_imports_it(site: Site) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    add_local_part(dock, "GASKET")
    dock.record(lambda ledger: ledger.receive("GASKET", 3, "A-01"))
    dock.record(lambda ledger: ledger.move("GASKET", 1, "A-02", from_location="A-01"))
    dock.sync()
    assert states(dock) == {1: "held", 2: "held"}
    assert device_qty(dock, "GASKET", "A-01") == 0

    site.import_reference(
        lambda session: session.add(Part(number="GASKET", description="Gasket", tracking="none"))
    )

    converged(site)
    assert states(dock) == {1: "applied", 2: "applied"}
    assert device_qty(line, "GASKET", "A-02") == 1


def test_a_duplicate_receipt_of_a_serial_cannot_be_applied_while_the_first_is_in_stock(
    site: Site,
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    offline(dock, line)
    dock.record(lambda ledger: ledger.receive("PUMP", 1, "A-02", serial="P-4"))
    line.record(lambda ledger: ledger.receive("PUMP", 1, "A-01", serial="P-4"))
    online(dock, line)
    held = open_exception(site, ExceptionCode.SERIAL_DUPLICATE_RECEIPT)

    with pytest.raises(SyncError, match="already in stock at A-02: one unit cannot arrive twice"):
        site.resolve(held, "apply", reason="the scan is true")

    assert site.exceptions(status="open")[0].id == held  # the refusal changed nothing
    site.resolve(held, "void", reason="a duplicate label")
    converged(site)
    assert states(line) == {1: "voided"}
    assert store_qty(site, "PUMP", "A-02", serial="P-4") == 1


def test_applying_a_shipment_of_a_serial_the_store_has_elsewhere_moves_it_to_the_scan_first(
    site: Site,
) -> None:
    """The line handheld, offline, ships P-5 from A-02 while the dock handheld's move of it
    to A-01 is already at the store. The supervisor decides the shipment is true: the unit
    was at A-02, so the store moves it there under its own id, then the shipment counts."""
    dock, line = site.enroll("dock"), site.enroll("line")
    dock.record(lambda ledger: ledger.receive("PUMP", 1, "A-02", serial="P-5"))
    online(dock, line)
    offline(line)
    dock.record(lambda ledger: ledger.move("PUMP", 1, "A-01", serial="P-5"))
    dock.sync()
    line.record(lambda ledger: ledger.ship("SO-1", "PUMP", 1, line=1, serial="P-5"))
    online(line)
    held = open_exception(site, ExceptionCode.SERIAL_CONFLICT)

    resolved = site.resolve(held, "apply", reason="the scan is true")

    assert resolved["resolution"] == (
        "Applied as recorded; the store first moved serial P-5 of PUMP from A-01 to A-02,"
        " where the scan found it"
    )
    assert resolved["resolved_by"] == "Sam Okafor on office"
    with site.store() as session:
        store_move = session.scalars(
            select(Movement).where(Movement.kind == "move", Movement.operator == "B9001")
        ).one()
    assert (store_move.from_location, store_move.to_location) == ("A-01", "A-02")
    assert store_move.reason == ("Re-sourced for sync exception 1, applied by Sam Okafor on office")
    converged(site)
    assert states(line) == {1: "applied"}
    for handheld in (dock, line):
        with unit_of_work(handheld.sessions) as session:
            assert session.get_one(Serial, ("PUMP", "P-5")).status == SerialStatus.SHIPPED
    assert store_qty(site, "PUMP", "A-01", serial="P-5") == 0
    assert store_qty(site, "PUMP", "A-02", serial="P-5") == 0


# ---- two handhelds pushing at the same moment --------------------------------------------------


def slow_evaluation(monkeypatch: pytest.MonkeyPatch, pause: float) -> None:
    """Makes the store take a moment between judging a movement and applying it (a busy
    store does), so two pushes that arrive together are judged at the same time."""
    judge = central_apply.hold_reason  # type: ignore[attr-defined]

    def slowly(rows: Any, device_id: str, movement: MovementIn) -> Any:
        verdict = judge(rows, device_id, movement)
        time.sleep(pause)
        return verdict

    monkeypatch.setattr(central_apply, "hold_reason", slowly)


def push_together(*handhelds: Handheld) -> None:
    start = threading.Barrier(len(handhelds))

    def sync(handheld: Handheld) -> None:
        start.wait()
        handheld.try_sync()

    with ThreadPoolExecutor(len(handhelds)) as pool:
        list(pool.map(sync, handhelds))


def test_a_serial_shipped_on_two_handhelds_at_the_same_moment_is_held_once(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    dock.record(lambda ledger: ledger.receive("PUMP", 1, "A-01", serial="P-6"))
    online(dock, line)
    dock.record(lambda ledger: ledger.ship("SO-1", "PUMP", 1, line=1, serial="P-6"))
    line.record(lambda ledger: ledger.ship("SO-1", "PUMP", 1, line=1, serial="P-6"))
    slow_evaluation(monkeypatch, 0.5)

    push_together(dock, line)

    outcomes = sorted([states(dock)[2], states(line)[1]])
    assert outcomes == ["applied", "held"]
    assert len(site.exceptions(ExceptionCode.SERIAL_CONFLICT.value)) == 1
    converged(site)


def test_one_new_lot_received_on_two_handhelds_at_the_same_moment_is_applied_twice(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    dock.record(lambda ledger: ledger.receive("RESIN", 4, "RCV", lot="ACME-2"))
    line.record(lambda ledger: ledger.receive("RESIN", 6, "RCV", lot="ACME-2"))
    slow_evaluation(monkeypatch, 0.5)

    push_together(dock, line)

    assert (dock.pending(), line.pending()) == ([], [])  # no 500, nothing left to retry
    assert store_qty(site, "RESIN", "RCV", lot="ACME-2") == 10
    converged(site)
