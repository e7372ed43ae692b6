"""scan_commit: an operator scans an item at the receiving dock and the handheld records it.

Ours is `Handheld.handle(raw)`: the scan of an untracked part's label, with its count, in a
RECEIVE workflow already started, read, checked, recorded as one movement with its balance,
and committed durably (WAL, synchronous=FULL) before the response comes back. The baseline is
the least a durable device database can do for the same scan: one bare `sqlite3` insert of
the same movement row into the same table (same indexes, same foreign keys) with the same
PRAGMAs, in its own transaction.

Both run on a copy of the generated plant database (so the device holds the full history and
the cached original is never written to). Scans and inserts alternate, so the WAL and the
disk treat both alike; the ratio is of medians (p50), and the p99s are in the facts.
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.catalogue import OPERATORS, RECEIVING
from bench.generate import Plant, plant_database
from bench.result import Result
from bench.suite import QUICK
from scanner.db import open_database
from scanner.ids import new_movement_id
from scanner.workflows.base import Level
from scanner.workflows.engine import Handheld
from scanner.workspace import sqlite_url

NAME = "scan_commit"
GOAL = 2.0
SEED = 1
PART = "BOLT-M6"
SCAN = f"(240){PART}(30)5"
WARM_UP = 5
MIN_SCANS = 30
TINY_SCANS = 10
SCANS_AT_FULL = 1000
BASELINE_DEVICE = "BASE"
"""The baseline's rows carry their own device id, so their sequence numbers never meet ours."""


def run(scale: float) -> Result:
    plant = plant_database(SEED, scale)
    scans = max(MIN_SCANS, round(SCANS_AT_FULL * min(scale, 1.0)))
    if scale < QUICK:
        scans = TINY_SCANS  # the smoke test: it runs, it measures nothing
    with tempfile.TemporaryDirectory(prefix="lotscan-bench-") as folder:
        copy = Path(folder) / "device.db"
        shutil.copyfile(plant.path, copy)
        ours, baseline = measure(copy, scans)
    return Result(
        name=NAME,
        ours=statistics.median(ours),
        baseline=statistics.median(baseline),
        goal=GOAL,
        facts=_facts(plant, ours, baseline),
    )


def measure(path: Path, scans: int) -> tuple[list[float], list[float]]:
    """The seconds each of `scans` scans took through the handheld, and each of as many bare
    inserts of the same row, alternating, on the database at `path`."""
    sessions = open_database(sqlite_url(path))
    handheld = Handheld(sessions)
    _expect_ok(handheld, f"OP:{OPERATORS[0]}")
    _expect_ok(handheld, "CMD:RECEIVE")
    for _ in range(WARM_UP):
        _expect_ok(handheld, SCAN)
    bare = connect(path)
    row = last_movement(bare, PART)
    row.update(device_id=BASELINE_DEVICE)
    before = _count(bare)
    ours: list[float] = []
    baseline: list[float] = []
    try:
        for seq in range(1, scans + 1):
            started = time.perf_counter()
            response = handheld.handle(SCAN).response
            ours.append(time.perf_counter() - started)
            if response.level != Level.OK:
                raise AssertionError(f"The scan was not recorded: {response.message}")
            row.update(id=new_movement_id().hex, device_seq=seq)  # as the ledger makes them
            started = time.perf_counter()
            insert(bare, row)
            baseline.append(time.perf_counter() - started)
        if _count(bare) != before + 2 * scans:
            raise AssertionError("Each scan and each insert should add one movement")
    finally:
        bare.close()
        sessions.kw["bind"].dispose()
    return ours, baseline


def connect(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the handheld's settings (`scanner.db.make_engine`)."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=30000",
    ):
        connection.execute(pragma)
    return connection


def last_movement(connection: sqlite3.Connection, part: str) -> dict[str, Any]:
    """The newest movement of `part` as stored: the row the baseline inserts again."""
    cursor = connection.execute(
        "SELECT * FROM movements WHERE part = ? ORDER BY device_seq DESC LIMIT 1", (part,)
    )
    names = [column[0] for column in cursor.description]
    found = cursor.fetchone()
    if found is None:
        raise AssertionError(f"No movement of {part} was recorded")
    return dict(zip(names, found, strict=True))


def insert(connection: sqlite3.Connection, row: dict[str, Any]) -> None:
    """One durable insert: its own write transaction, committed (and synced) at once."""
    columns = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(f"INSERT INTO movements ({columns}) VALUES ({marks})", row)
    connection.execute("COMMIT")


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _expect_ok(handheld: Handheld, raw: str) -> None:
    response = handheld.handle(raw).response
    if response.level not in (Level.OK, Level.INFO):
        raise AssertionError(f"{raw}: {response.message}")


def _count(connection: sqlite3.Connection) -> int:
    (count,) = connection.execute("SELECT count(*) FROM movements").fetchone()
    return int(count)


def _facts(plant: Plant, ours: list[float], baseline: list[float]) -> tuple[str, ...]:
    ms = 1000
    p99_ours, p99_base = percentile(ours, 0.99), percentile(baseline, 0.99)
    made = "cached" if plant.cached else "generated now"
    return (
        f"device database: a copy of the plant, {plant.movements:,} movements ({made})",
        f"{len(ours):,} scans of {SCAN} in RECEIVE to {RECEIVING}, each alternating with"
        " a bare sqlite3 insert of the same row (WAL, synchronous=FULL, foreign keys on)",
        f"p99: ours {p99_ours * ms:.2f} ms, baseline {p99_base * ms:.2f} ms,"
        f" ratio {p99_ours / p99_base:.2f}",
    )
