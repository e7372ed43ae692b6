"""Processes killed with SIGKILL (docs/architecture.md, "Catalogue", T4 and T5): the central
service under load from three handhelds, and a handheld in the middle of a scan or a sync.
Nothing gets a chance to clean up; the databases' own atomicity is all there is. After each
kill the survivors must be whole, and after a final sync every invariant holds.

The kills come at random moments (seeded), so which step a kill lands in varies; what each
test checks holds wherever it lands. LOTSCAN_SYNC_FULL=1 kills more often.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import select

from scanner.balance_check import cache_differences
from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import Movement
from scanner.settings import PULL_CURSOR, device_id, read_setting
from scanner.workspace import sqlite_url
from sync.central.models import Outcome, SyncEntry
from sync.device.client import SyncFailed
from tests.support.sync_over_http import ROOT, Handheld, Site, child, shared_service

FULL = os.environ.get("LOTSCAN_SYNC_FULL") == "1"
KILLS = 8 if FULL else 2
CHILD_TIMEOUT = 120.0  # seconds; far longer than any child needs


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    """The test plant's central store on SQLite and on PostgreSQL."""
    plant = Site(db_url, tmp_path)
    yield plant
    plant.close()


@pytest.fixture
def handheld_site(tmp_path: Path) -> Iterator[Site]:
    """The test plant for the handheld's own kills: its database is SQLite whatever the
    store's, so the store's stays SQLite here, served from a thread."""
    with shared_service() as service:
        plant = Site(sqlite_url(tmp_path / "central.db"), tmp_path)
        plant.serve_on(*service)
        yield plant
        plant.close()


def store_is_whole(site: Site) -> list[str]:
    """What a killed store must never show: a device's numbers with a hole, a counted
    entry missing from the ledger (or the other way round), caches that are not a fold of
    the ledger. A partial batch would show as one of these."""
    problems = []
    with site.store() as session:
        problems += cache_differences(session)
        in_ledger = set(session.scalars(select(Movement.id)))
        by_device: dict[str, set[int]] = {}
        for entry in session.scalars(select(SyncEntry)):
            by_device.setdefault(entry.device_id, set()).add(entry.device_seq)
            if (entry.status in (Outcome.APPLIED, Outcome.FLAGGED)) != (
                entry.movement_id in in_ledger
            ):
                problems.append(f"{entry.device_id}#{entry.device_seq} is half applied")
    for handheld in site.handhelds:
        numbers = by_device.get(handheld.device, set())
        if numbers != set(range(1, site.applied_up_to(handheld) + 1)):
            problems.append(f"{handheld.name}: the store holds {sorted(numbers)}")
    return problems


# ---- T4 the store killed under load ----------------------------------------------------------


def test_the_store_killed_under_load_loses_and_doubles_nothing(site: Site) -> None:
    service = site.serve_in_process()
    handhelds = [site.enroll(name) for name in ("dock", "line", "aisle")]
    stop = threading.Event()
    failures: list[SyncFailed] = []

    def load(handheld: Handheld, seed: int) -> None:
        """Scans and syncs in a loop; while the store is down, the queue grows only a little
        (a real handheld would back off), so the test stays quick."""
        rng = random.Random(seed)
        queued = 0
        while not stop.is_set():
            for _ in range(rng.randint(1, 4) if queued < 12 else 0):
                if rng.random() < 0.2:
                    handheld.try_record(
                        lambda ledger: ledger.move("BOLT", 1, "A-02", from_location="A-01")
                    )
                else:
                    handheld.record(lambda ledger: ledger.receive("BOLT", 1, "A-01"))
                queued += 1
            failure = handheld.try_sync(batch=rng.choice([1, 3, 8]))
            if failure is None:
                queued = 0
            else:
                failures.append(failure)
                time.sleep(0.2)

    workers = [
        threading.Thread(target=load, args=(handheld, seed), daemon=True)
        for seed, handheld in enumerate(handhelds)
    ]
    for worker in workers:
        worker.start()
    rng = random.Random(4)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 1.5))
            service.kill()
            assert store_is_whole(site) == []
            service.start()
        time.sleep(0.5)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=120)

    assert failures, "no sync ever met the dead store: the kills proved nothing"
    site.final_sync()
    assert site.violations() == []


# ---- T5 the handheld killed mid-scan ---------------------------------------------------------


def confirmed_then_killed(command: list[str], wanted: int, log: Path) -> list[int]:
    """Starts a child that prints each confirmed movement number, kills it with SIGKILL once
    it has confirmed `wanted` of them, and returns every number it printed before dying."""
    with log.open("wb") as errors:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, env=child_env()
        )
        assert process.stdout is not None
        # A child that hangs would hang the test: it is killed after a generous while.
        watchdog = threading.Timer(CHILD_TIMEOUT, process.kill)
        watchdog.start()
        try:
            seen = read_lines(process.stdout, wanted, process)
        finally:
            watchdog.cancel()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        seen += [int(line) for line in process.stdout.read().split()]
    return seen


def read_lines(stream: IO[bytes], wanted: int, process: subprocess.Popen[bytes]) -> list[int]:
    numbers: list[int] = []
    while len(numbers) < wanted:
        line = stream.readline()
        if not line:
            raise AssertionError(f"the child ended early with status {process.wait()}")
        numbers.append(int(line))
    return numbers


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_every_scan_confirmed_before_a_kill_is_there_after_it(
    handheld_site: Site, tmp_path: Path
) -> None:
    site = handheld_site
    dock = site.enroll("dock")
    rng = random.Random(5)
    confirmed: list[int] = []
    for round_ in range(1 + KILLS):
        confirmed += confirmed_then_killed(
            child("record", dock.db_url), rng.randint(3, 40), tmp_path / f"record-{round_}.log"
        )
        kept = [m.device_seq for m in dock.own()]
        assert set(confirmed) <= set(kept)
        assert kept == list(range(1, len(kept) + 1))
        with dock.sessions() as session:
            assert cache_differences(session) == []

    site.final_sync()
    assert site.violations() == []
    assert set(site.entries(dock)) == {m.device_seq for m in dock.own()}


# ---- T5 the handheld killed mid-sync ---------------------------------------------------------


def handheld_is_whole(site: Site, handheld: Handheld) -> list[str]:
    """What a handheld killed mid-sync must show: caches that are a fold of its ledger; its
    settled movements a prefix of its numbers, each with the outcome the store gave it, the
    rest still queued; and, from other devices, exactly the movements the store had numbered
    up to its pull cursor."""
    problems = []
    own = handheld.own()
    settled = [m.device_seq for m in own if m.sync_state != "pending"]
    if settled != list(range(1, len(settled) + 1)):
        problems.append(f"settled movements are not a prefix: {settled}")
    entries = site.entries(handheld)
    for movement in own:
        entry = entries.get(movement.device_seq)
        if movement.sync_state == "pending":
            continue
        if entry is None or entry.status != movement.sync_state:
            problems.append(f"#{movement.device_seq} is {movement.sync_state} without the store")
    with handheld.sessions() as session:
        problems += cache_differences(session)
        mine = device_id(session)
        cursor = read_setting(session, PULL_CURSOR) or 0
        pulled = set(session.scalars(select(Movement.id).where(Movement.device_id != mine)))
    with site.store() as session:
        numbered = set(
            session.scalars(
                select(Movement.id).where(Movement.device_id != mine, Movement.server_seq <= cursor)
            )
        )
    if pulled != numbered:
        problems.append(
            f"pulled {len(pulled)} movements of others, the store had {len(numbered)} up to"
            f" {cursor}"
        )
    return problems


def test_a_handheld_killed_mid_sync_keeps_its_queue_and_its_cursor_straight(
    handheld_site: Site, tmp_path: Path
) -> None:
    site = handheld_site
    dock, line = site.enroll("dock"), site.enroll("line")
    for handheld, count in ((line, 150), (dock, 200)):
        with unit_of_work(handheld.sessions) as session:
            ledger = Ledger(session, handheld.clock)
            for _ in range(count):
                ledger.receive("BOLT", 1, "A-01")
    line.sync()
    rng = random.Random(55)
    for round_ in range(1 + KILLS):
        log = (tmp_path / f"sync-{round_}.log").open("wb")
        process = subprocess.Popen(
            child("sync", dock.db_url, str(dock.folder), "10", "10"),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=child_env(),
        )
        time.sleep(rng.uniform(0.5, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        log.close()
        assert handheld_is_whole(site, dock) == []

    site.final_sync()
    assert site.violations() == []
