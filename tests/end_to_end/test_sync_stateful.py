"""T10 of the sync catalogue (docs/architecture.md, "Catalogue"): three handhelds on one central
store, driven by a hypothesis state machine. They scan through their own ledgers (whatever
a handheld's own rules refuse is skipped, as the floor would), go out of range and come
back, sync through a network that drops, doubles and loses answers, import a part the store
does not know, while a supervisor resolves exceptions and the store imports reference data.

Conflicts come from the small pools: two lots, three serials and two locations, so two
handhelds out of touch soon move the same lot, ship the same serial or receive it twice.
After every step each database's caches are a fold of its ledger; at the end of every run,
after a final sync, every invariant of tests/support/sync_invariants.py holds.

CI runs a modest number of derandomized examples (no flakes: the same runs every time);
LOTSCAN_SYNC_FULL=1 runs many more, with longer histories.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from scanner.balance_check import cache_differences
from scanner.db import open_database, unit_of_work
from scanner.ledger import Ledger
from scanner.models import Base, Movement, MovementKind, Operator, Part
from scanner.settings import PULL_CURSOR, write_setting
from scanner.workspace import DATABASE_FILE, sqlite_url
from sync.central.errors import SyncError
from sync.central.models import ExceptionStatus
from sync.exception_codes import ExceptionCode
from tests.conftest import PG_URL
from tests.support.databases import pg_schema
from tests.support.sync_over_http import (
    Fault,
    ServiceThread,
    Site,
    Switchboard,
    copy_site,
    shared_service,
)

FULL = os.environ.get("LOTSCAN_SYNC_FULL") == "1"
SQLITE_EXAMPLES = 150 if FULL else 12
PG_EXAMPLES = 50 if FULL else 3
SETTINGS = settings(
    stateful_step_count=60 if FULL else 30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DEVICES = st.integers(0, 2)
LOCATIONS = st.sampled_from(["A-01", "A-02"])
LOTS = st.sampled_from(["L1", "L2"])
SERIALS = st.sampled_from(["P1", "P2", "P3", "P3"])  # P3 is new: received twice, held
QTYS = st.integers(1, 6)
FAULTS = st.sampled_from(
    [
        (Fault.NONE, None),
        (Fault.NONE, None),
        (Fault.DROP, "/v1/sync/push"),
        (Fault.LOST_ACK, "/v1/sync/push"),
        (Fault.DUPLICATE, "/v1/sync/push"),
        (Fault.LOST_ACK, "/v1/sync/pull"),
        (Fault.DROP, "/v1/sync/pull"),
    ]
)
BATCHES = st.sampled_from([1, 3, 500])
# The kinds of scan, the ones that take stock from a place (where conflicts come from)
# more often than the rest.
KINDS = st.sampled_from(
    ["receive_lot", "receive_bolts", "receive_gasket", "count_bolts", "reverse_last"]
    + ["receive_serial", "receive_bolts_as_new_hire"] * 2
    + ["issue_lot", "move_lot", "ship_serial", "move_serial", "ship_bolts"] * 2
)
SCAN = st.tuples(KINDS, LOTS, SERIALS, QTYS, LOCATIONS, LOCATIONS)
GASKET = "GASKET"
NEW_HIRE = "B7777"

# Which exception codes and outcomes the runs reached, across runs: for the report below.
SEEN: Counter[str] = Counter()


def note(text: str) -> None:
    """A hypothesis event (see --hypothesis-show-statistics); nothing outside a run."""
    with contextlib.suppress(InvalidArgument):
        event(text)


@dataclass
class Bench:
    """What every run of the machine shares: one service thread (each run's site is
    switched in), and a seed to copy so a run starts in milliseconds, not seconds."""

    backend: str
    service: ServiceThread
    switchboard: Switchboard
    seed: Path

    def new_site(self, root: Path) -> tuple[Site, Callable[[], None]]:
        """A fresh site with three enrolled handhelds that have pulled the plant; and what
        to do when the run is over."""
        if self.backend == "sqlite":
            copy_site(self.seed, root)
            site = Site(sqlite_url(root / "central.db"), root, seeded=True)
            site.serve_on(self.service, self.switchboard)
            for name in HANDHELDS:
                site.adopt(name)
            return site, lambda: None
        # PostgreSQL: a new schema per run, and the handhelds enrolled with it.
        assert PG_URL is not None
        schema = pg_schema(PG_URL)
        site = Site(schema.__enter__(), root)
        site.serve_on(self.service, self.switchboard)
        for name in HANDHELDS:
            (root / name).mkdir()
            shutil.copy(self.seed / DATABASE_FILE, root / name / DATABASE_FILE)
            handheld = site.adopt(name)
            site.reenroll(handheld)
            handheld.sync()
        stock_up(site)
        return site, lambda: schema.__exit__(None, None, None)


HANDHELDS = ("h0", "h1", "h2")


def stock_up(site: Site) -> None:
    """What every run starts from, on every handheld: lot L1 of resin and bolts at A-01,
    pumps P1 at A-01 and P2 at A-02. Two handhelds out of touch soon take the same stock."""
    first = site.handhelds[0]
    first.record(lambda ledger: ledger.receive("RESIN", 6, "A-01", lot="L1"))
    first.record(lambda ledger: ledger.receive("PUMP", 1, "A-01", serial="P1"))
    first.record(lambda ledger: ledger.receive("PUMP", 1, "A-02", serial="P2"))
    first.record(lambda ledger: ledger.receive("BOLT", 10, "A-01"))
    site.final_sync()


@contextlib.contextmanager
def bench_for(backend: str, seed: Path) -> Iterator[Bench]:
    """The service thread and the seed: on SQLite a whole site (store and handhelds
    enrolled), copied per run; on PostgreSQL a blank migrated handheld database."""
    with shared_service() as (service, switchboard):
        if backend == "sqlite":
            site = Site(sqlite_url(seed / "central.db"), seed)
            site.serve_on(service, switchboard)
            for name in HANDHELDS:
                site.enroll(name)
            stock_up(site)
            site.close()
        else:
            open_database(sqlite_url(seed / DATABASE_FILE)).kw["bind"].dispose()
        switchboard.app = None
        yield Bench(backend, service, switchboard, seed)


class Plant(RuleBasedStateMachine):
    """One central store, three handhelds, a supervisor; `bench` is set per test."""

    bench: ClassVar[Bench]

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="lotscan-sync-"))
        self.site, self._drop_store = self.bench.new_site(self.root)
        self.handhelds = self.site.handhelds
        self.local: set[tuple[int, str]] = set()
        self.imported: set[str] = set()
        self.dirty: set[int] = set()
        self.store_dirty = False
        self.revoked: set[int] = set()

    def teardown(self) -> None:
        try:
            for device in sorted(self.revoked):
                self.handhelds[device].transport.offline = False
                self.site.reenroll(self.handhelds[device])
            self.site.final_sync()
            problems = self.site.violations()
            for exception in self.site.exceptions():
                SEEN[f"{exception.code} {exception.status}"] += 1
                note(f"{exception.code} {exception.status}")
            assert problems == []
        finally:
            self.site.close()
            self.bench.switchboard.app = None
            self._drop_store()
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- scanning -----------------------------------------------------------------------

    @rule(device=DEVICES, scans=st.lists(SCAN, min_size=1, max_size=5))
    def scan(self, device: int, scans: list[tuple[str, str, str, int, str, str]]) -> None:
        """A few scans on one handheld, each of one kind with whichever of the drawn values
        that kind takes."""
        for kind, lot, serial, qty, source, to in scans:
            self.scan_one(device, kind, lot, serial, qty, source, to)

    def scan_one(
        self, device: int, kind: str, lot: str, serial: str, qty: int, source: str, to: str
    ) -> None:
        match kind:
            case "receive_lot":
                self.receive_lot(device, lot, qty, to)
            case "receive_serial":
                self.receive_serial(device, serial, to)
            case "receive_bolts":
                self.receive_bolts(device, qty, to)
            case "receive_gasket":
                self.receive_gasket(device, qty, to)
            case "receive_bolts_as_new_hire":
                self.receive_bolts_as_new_hire(device, qty, to)
            case "count_bolts":
                self.count_bolts(device, qty - 3 or 3, source)
            case "reverse_last":
                self.reverse_last(device)
            case "issue_lot":
                self.issue_lot(device, lot, qty, source)
            case "move_lot":
                self.move_lot(device, lot, qty, source, to)
            case "ship_serial":
                self.ship_serial(device, serial)
            case "move_serial":
                self.move_serial(device, serial, to)
            case "ship_bolts":
                self.ship_bolts(device, qty, source)
            case _:
                raise AssertionError(f"no scan of kind {kind}")

    def record(self, device: int, operation: Callable[[Ledger], Movement]) -> None:
        """A scan the device's own rules may refuse (not in stock here, a serial already
        shipped...): then nothing is recorded, as on the floor."""
        if self.handhelds[device].try_record(operation) is None:
            note("a scan the handheld refused")
        else:
            self.dirty.add(device)

    def receive_lot(self, device: int, lot: str, qty: int, to: str) -> None:
        self.record(device, lambda ledger: ledger.receive("RESIN", qty, to, lot=lot))

    def receive_serial(self, device: int, serial: str, to: str) -> None:
        self.record(device, lambda ledger: ledger.receive("PUMP", 1, to, serial=serial))

    def receive_bolts(self, device: int, qty: int, to: str) -> None:
        self.record(device, lambda ledger: ledger.receive("BOLT", qty, to))

    def issue_lot(self, device: int, lot: str, qty: int, source: str) -> None:
        self.record(
            device,
            lambda ledger: ledger.issue_to_job(
                "J-HOUSING", "RESIN", qty, from_location=source, lot=lot
            ),
        )

    def move_lot(self, device: int, lot: str, qty: int, source: str, to: str) -> None:
        self.record(
            device, lambda ledger: ledger.move("RESIN", qty, to, from_location=source, lot=lot)
        )

    def ship_serial(self, device: int, serial: str) -> None:
        self.record(device, lambda ledger: ledger.ship("SO-1", "PUMP", 1, line=1, serial=serial))

    def move_serial(self, device: int, serial: str, to: str) -> None:
        self.record(device, lambda ledger: ledger.move("PUMP", 1, to, serial=serial))

    def ship_bolts(self, device: int, qty: int, source: str) -> None:
        self.record(
            device,
            lambda ledger: ledger.ship("SO-2", "BOLT", qty, line=2, from_location=source),
        )

    def count_bolts(self, device: int, delta: int, at: str) -> None:
        self.record(device, lambda ledger: ledger.adjust("BOLT", delta, at, reason="count"))

    def reverse_last(self, device: int) -> None:
        """Undoes the device's latest movement (one that counts and is not a reversal)."""
        candidates = [
            m
            for m in self.handhelds[device].own()
            if m.kind != MovementKind.REVERSE and m.sync_state in ("pending", "applied", "flagged")
        ]
        if candidates:
            last = candidates[-1].id
            self.record(device, lambda ledger: ledger.reverse(last, reason="wrong scan"))

    def receive_gasket(self, device: int, qty: int, to: str) -> None:
        if (device, "part") in self.local:
            self.record(device, lambda ledger: ledger.receive(GASKET, qty, to))

    def receive_bolts_as_new_hire(self, device: int, qty: int, to: str) -> None:
        if (device, "operator") in self.local:
            self.record(device, lambda ledger: ledger.receive("BOLT", qty, to, operator=NEW_HIRE))

    # ---- reference data only some databases know ----------------------------------------

    @rule(device=DEVICES, what=st.sampled_from(["part", "operator"]))
    def import_on_the_handheld(self, device: int, what: str) -> None:
        """A part or a new hire's badge imported on one handheld, not (yet) at the store."""
        if (device, what) in self.local:
            return
        with unit_of_work(self.handhelds[device].sessions) as session:
            if what == "part" and session.get(Part, GASKET) is None:
                session.add(Part(number=GASKET, description="Gasket", tracking="none"))
            if what == "operator" and session.get(Operator, NEW_HIRE) is None:
                session.add(Operator(badge=NEW_HIRE, name="New Hire"))
        self.local.add((device, what))

    @rule(what=st.sampled_from(["part", "operator"]))
    def import_at_the_store(self, what: str) -> None:
        """Reference data imported into the central database: held movements waiting for it
        are applied, and handhelds hear on their next pull."""
        if what in self.imported:
            return
        row: Base = (
            Part(number=GASKET, description="Gasket", tracking="none")
            if what == "part"
            else Operator(badge=NEW_HIRE, name="New Hire")
        )
        self.site.import_reference(lambda session: session.merge(row))
        self.imported.add(what)
        self.store_dirty = True

    # ---- the network --------------------------------------------------------------------

    @rule(device=DEVICES, online=st.booleans())
    def walk(self, device: int, online: bool) -> None:
        """The handheld goes into the freezer (out of range) or comes back."""
        self.handhelds[device].transport.offline = not online

    def go_offline(self, device: int) -> None:
        self.walk(device, online=False)

    def go_online(self, device: int) -> None:
        self.walk(device, online=True)

    @rule(device=DEVICES, fault=FAULTS, batch=BATCHES)
    def sync(self, device: int, fault: tuple[Fault, str | None], batch: int) -> None:
        handheld = self.handhelds[device]
        handheld.transport.clear()
        kind, path = fault
        handheld.transport.plan(kind, path=path)
        failure = handheld.try_sync(batch=batch, page=7)
        note("sync failed" if failure else "sync went through")
        self.dirty.add(device)
        self.store_dirty = True

    @rule(device=DEVICES, fault=FAULTS, batch=BATCHES)
    def sync_again(self, device: int, fault: tuple[Fault, str | None], batch: int) -> None:
        """Syncing is half of what makes a history interesting: a second rule doubles its
        odds against the scans."""
        self.sync(device, fault, batch)

    @precondition(lambda self: len(self.handhelds) == 3)
    @rule(page=st.sampled_from([1, 4, 5000]))
    def enroll_a_late_handheld(self, page: int) -> None:
        """A fourth handheld enrolled in the middle of the history takes the store's
        snapshot (in pages of `page` rows) and pulls after it; the final checks hold it to
        the same ledger, stock and serials as the others."""
        late = self.site.enroll("late", pull=False)
        late.sync(snapshot_page=page)
        self.dirty.add(len(self.handhelds) - 1)

    @rule(device=DEVICES)
    def lose_the_cursor(self, device: int) -> None:
        """The store was restored from a backup (the handheld's cursor is past anything it
        has): the next sync is answered `reset` and takes a new snapshot, with whatever
        this handheld still has queued kept."""
        with unit_of_work(self.handhelds[device].sessions) as session:
            write_setting(session, PULL_CURSOR, 10**9)

    # ---- the supervisor -----------------------------------------------------------------

    @rule(device=DEVICES)
    def revoke_or_reenroll(self, device: int) -> None:
        """A supervisor revokes a handheld (it keeps scanning; its syncs are refused and its
        queue kept), or enrolls a revoked one again under its name, with a new code."""
        handheld = self.handhelds[device]
        if device in self.revoked:
            if handheld.transport.offline:
                return  # enrolling needs the network too
            self.site.reenroll(handheld)
            self.revoked.discard(device)
        else:
            self.site.revoke(handheld)
            self.revoked.add(device)

    @rule(
        pick=st.integers(0, 20),
        action=st.sampled_from(["apply", "void", "adjust", "dismiss"]),
        counted=st.integers(0, 5),
    )
    def supervisor_resolves(self, pick: int, action: str, counted: int) -> None:
        decidable = [
            x
            for x in self.site.exceptions(status=ExceptionStatus.OPEN.value)
            if x.code not in (ExceptionCode.IDEMPOTENCY_CONFLICT, ExceptionCode.CLOCK_SKEW)
        ]
        if not decidable:
            return
        exception = decidable[pick % len(decidable)]
        details: dict[str, object] = {}
        if action == "adjust":
            details = {"qty": Decimal(counted), "location": exception.location}
        elif action in ("void", "dismiss"):
            details = {"reason": "checked on the floor"}
        try:
            self.site.resolve(exception.id, action, **details)
            note(f"supervisor: {action} {exception.code}")
        except SyncError as refused:
            note(f"supervisor refused: {refused.error}")
        self.store_dirty = True

    # ---- after every step ---------------------------------------------------------------

    @invariant()
    def caches_are_a_fold_of_each_ledger(self) -> None:
        """Checked where the step wrote: the handheld that scanned or synced, the store."""
        for device in sorted(self.dirty):
            with self.handhelds[device].sessions() as session:
                assert cache_differences(session) == [], self.handhelds[device].name
        if self.store_dirty:
            with self.site.store() as session:
                assert cache_differences(session) == [], "the store"
        self.dirty.clear()
        self.store_dirty = False


@pytest.mark.parametrize(
    "backend",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)],
)
def test_handhelds_converge_whatever_the_floor_and_the_network_do(
    backend: str, tmp_path: Path
) -> None:
    if backend == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL tests need LOTSCAN_TEST_PG_URL")
    with bench_for(backend, tmp_path) as bench:

        class OnThisBench(Plant):
            pass

        OnThisBench.bench = bench
        examples = SQLITE_EXAMPLES if backend == "sqlite" else PG_EXAMPLES
        run_state_machine_as_test(OnThisBench, settings=settings(SETTINGS, max_examples=examples))


def test_the_rules_reach_each_domain_conflict(tmp_path: Path) -> None:
    """A history the machine's own rules can take, in which each domain conflict of the
    catalogue happens and gets the outcome docs/architecture.md, "Exception codes" gives it."""
    with bench_for("sqlite", tmp_path) as bench:

        class Scripted(Plant):
            pass

        Scripted.bench = bench
        plant = Scripted()
        try:
            play_the_conflicts(plant)
        except BaseException:
            plant.site.close()
            raise
        plant.teardown()


def play_the_conflicts(plant: Plant) -> None:
    everyone = range(3)
    for device in everyone:
        plant.go_offline(device)
    # Two handhelds out of touch move the same lot out of A-01: the second is a stale source.
    plant.move_lot(0, "L1", 6, "A-01", "A-02")
    plant.move_lot(1, "L1", 4, "A-01", "A-02")
    # The same serial shipped on two handhelds, and a new one received on two.
    plant.ship_serial(0, "P1")
    plant.ship_serial(1, "P1")
    plant.receive_serial(1, "P3", "A-01")
    plant.receive_serial(2, "P3", "A-02")
    # A part only the handheld knows; a receipt by a badge only it knows, then a shipment
    # of those bolts, which the store sees before the receipt counts.
    plant.import_on_the_handheld(2, "part")
    plant.receive_gasket(2, 3, "A-01")
    plant.import_on_the_handheld(2, "operator")
    plant.receive_bolts_as_new_hire(2, 5, "A-02")
    plant.ship_bolts(2, 3, "A-02")
    for device in everyone:
        plant.go_online(device)
        plant.sync(device, (Fault.NONE, None), 500)

    second, third = plant.handhelds[1].device, plant.handhelds[2].device
    opened = {(x.code, x.device_id) for x in plant.site.exceptions(status="open")}
    assert opened == {
        (ExceptionCode.STALE_SOURCE.value, second),
        (ExceptionCode.SERIAL_CONFLICT.value, second),
        (ExceptionCode.SERIAL_DUPLICATE_RECEIPT.value, third),
        (ExceptionCode.UNKNOWN_REFERENCE.value, third),
        (ExceptionCode.NEGATIVE_BALANCE.value, third),
    }
    assert [m.sync_state for m in plant.handhelds[1].own()] == ["flagged", "held", "applied"]
    assert [m.sync_state for m in plant.handhelds[2].own()] == [
        "held", "held", "held", "flagged",
    ]  # fmt: skip

    plant.import_at_the_store("part")
    plant.import_at_the_store("operator")
    assert {x.code for x in plant.site.exceptions(status="open")} == {
        ExceptionCode.STALE_SOURCE.value,
        ExceptionCode.SERIAL_CONFLICT.value,
        ExceptionCode.SERIAL_DUPLICATE_RECEIPT.value,
    }
    with plant.site.store() as session:
        late = session.scalars(select(Movement.sync_state).where(Movement.device_id == third))
        assert sorted(late) == ["applied", "applied", "applied"]
