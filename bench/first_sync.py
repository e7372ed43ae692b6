"""first_sync: a new handheld's first sync against a central store that holds the benchmark
plant (1.1M movements at full scale), over HTTP on loopback.

The store is the plant database (`bench.generate`) made a central store with bulk SQL, as
if every movement had been pushed by its device: each numbered by the store's clock after
the reference data, with its pushed entry and its "movement" change. Going through the
service one push at a time would take an hour.

Ours is `lotscan sync` on a newly enrolled handheld, in a process of its own so its peak
memory is its own: it takes the store's snapshot (docs/architecture.md, "Snapshots for a new
handheld") and pulls what came after. The baseline copies the same rows the least a program
can: one bulk read of each table the snapshot carries from the store's database and one
executemany insert of them into a new handheld database, in one transaction.

Before snapshots, the first sync replayed the whole change history, one change at a time.
That is measured too, on the first `REPLAY_SAMPLE` changes (`TINY_REPLAY` below quick scale),
and reported as seconds for the whole history at the rate measured (`replay_seconds`,
marked as an estimate when it is one).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.generate import plant_database
from bench.result import Result
from bench.suite import QUICK
from bench.sync_ingest import ROOT, central_service
from scanner.db import open_database, unit_of_work
from scanner.models import (
    Balance,
    Job,
    JobComponent,
    JobLot,
    Location,
    Lot,
    Movement,
    Operator,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    Serial,
    StatusChange,
)
from scanner.workspace import sqlite_url
from sync.central.changes import current_seq
from sync.central.enrollment import issue_code
from sync.central.service import prepare_central

NAME = "first_sync"
GOAL = 3.0
REPLAY_SAMPLE = 20_000
TINY_REPLAY = 1_000
"""Below quick scale (the smoke test) the replay only shows it runs."""
COPIED = (
    Part, Location, Operator, Job, JobComponent, PurchaseOrder, PurchaseOrderLine,
    SalesOrder, SalesOrderLine, Lot, Serial, StatusChange, Movement, Balance, JobLot,
)  # fmt: skip
"""What a snapshot handheld ends up holding, table by table: the baseline copies these."""


def run(scale: float) -> Result:
    plant = plant_database(seed=1, scale=scale)
    with tempfile.TemporaryDirectory(prefix="lotscan-bench-") as folder:
        root = Path(folder)
        central = root / "central.db"
        shutil.copyfile(plant.path, central)
        started = time.perf_counter()
        changes = make_central(sqlite_url(central))
        made = time.perf_counter() - started
        with central_service(sqlite_url(central)) as address:
            ours = first_sync(central, root / "new", address)
            sample = REPLAY_SAMPLE if scale >= QUICK else TINY_REPLAY
            replay = first_sync(central, root / "old", address, replay_limit=sample)
        baseline = bulk_copy(sqlite_url(central), sqlite_url(root / "copy.db"))
    replay_rate = replay["changes"] / replay["seconds"]
    estimated = replay["changes"] < changes
    replay_seconds = changes / replay_rate
    return Result(
        name=NAME,
        ours=ours["seconds"],
        baseline=baseline,
        goal=GOAL,
        facts=(
            f"a store of {plant.movements:,} movements, {plant.lots:,} lots,"
            f" {plant.serials:,} serials ({changes:,} changes; made a store by bulk SQL in"
            f" {made:.1f} s)",
            f"snapshot then pull over HTTP on loopback: {ours['seconds']:.1f} s,"
            f" {ours['rows']:,} rows, peak memory {ours['peak_mb']:.0f} MB;"
            f" bulk copy of the same rows: {baseline:.1f} s",
            f"before (replaying the change history one change at a time):"
            f" {replay_rate:,.0f} changes/s, {replay_seconds:,.0f} s for the whole history"
            + (f" (estimated from the first {replay['changes']:,})" if estimated else ""),
        ),
        extra={
            "peak_memory_mb": round(ours["peak_mb"], 1),
            "replay_seconds": round(replay_seconds, 1),
            "replay_peak_memory_mb": round(replay["peak_mb"], 1),
        },
    )


# ---- the store -------------------------------------------------------------------------------


def make_central(url: str) -> int:
    """The plant's database made a central store: reference data published, then every
    movement numbered after it in the order it was recorded, with a device, a pushed
    entry and a "movement" change each, written by SQL statements over the whole ledger.
    Returns the number of changes."""
    sessions = open_database(url)
    prepare_central(sessions)
    with unit_of_work(sessions) as session:
        top = current_seq(session)
        run_sql(session, _NUMBER_MOVEMENTS, top=top)
        run_sql(session, _DEVICES)
        run_sql(session, _ENTRIES)
        run_sql(session, _CHANGES)
        last = session.scalar(select(func.max(Movement.server_seq))) or top
        session.execute(text("UPDATE sync_clock SET seq = :last"), {"last": last})
    sessions.kw["bind"].dispose()
    return int(last)


def run_sql(session: Session, statement: str, **values: Any) -> None:
    session.execute(text(statement), values)


_NUMBER_MOVEMENTS = """
UPDATE movements SET server_seq = :top + rowid, sync_state = 'applied', recorded_at = happened_at
"""
_DEVICES = """
INSERT INTO sync_devices (id, name, role, status, token_hash, last_applied_seq, created_at)
SELECT device_id, device_id, 'handheld', 'active', NULL, MAX(device_seq), MIN(happened_at)
FROM movements GROUP BY device_id
"""
# A movement as a device pushes it (sync.protocol.MovementIn), in SQLite's JSON.
_PUSHED = """
json_object(
  'from_location', from_location,
  'happened_at', replace(happened_at, ' ', 'T') || '+00:00',
  'id', lower(substr(id, 1, 8) || '-' || substr(id, 9, 4) || '-' || substr(id, 13, 4) || '-'
        || substr(id, 17, 4) || '-' || substr(id, 21)),
  'job', job, 'kind', kind, 'lot', lot,
  'lot_expiry', NULL, 'lot_job', NULL, 'lot_origin', NULL,
  'observed_cursor', observed_cursor, 'operator', operator, 'part', part,
  'po', po, 'po_line', po_line,
  'qty', CASE WHEN qty % 1000 = 0 THEN CAST(qty / 1000 AS TEXT)
              ELSE printf('%d.%03d', qty / 1000, qty % 1000) END,
  'reason', reason,
  'reverses', CASE WHEN reverses IS NULL THEN NULL ELSE
        lower(substr(reverses, 1, 8) || '-' || substr(reverses, 9, 4) || '-'
        || substr(reverses, 13, 4) || '-' || substr(reverses, 17, 4) || '-'
        || substr(reverses, 21)) END,
  'seq', device_seq, 'serial', serial, 'serial_lot', NULL,
  'so', so, 'so_line', so_line, 'supplier_lot', NULL, 'to_location', to_location
)
"""
_ENTRIES = f"""
INSERT INTO sync_entries (device_id, device_seq, movement_id, payload, payload_hash, status,
                          codes, message, change_seq, received_at)
SELECT device_id, device_seq, id, {_PUSHED}, '', 'applied', '', '', server_seq, happened_at
FROM movements
"""
_CHANGES = """
INSERT INTO sync_changes (seq, kind, key, payload, created_at)
SELECT e.change_seq, 'movement', json_extract(e.payload, '$.id'),
       '{"codes":[],"device_id":' || json_quote(e.device_id) || ',"message":"","server_seq":'
       || e.change_seq || ',"status":"applied",' || substr(e.payload, 2),
       e.received_at
FROM sync_entries e
"""


# ---- ours, and before ------------------------------------------------------------------------


def first_sync(
    central: Path, folder: Path, address: str, replay_limit: int | None = None
) -> dict[str, Any]:
    """A new handheld enrolled with the store in a process of its own, then its first sync,
    timed there: seconds, rows or changes taken, and the process's peak memory. With
    `replay_limit`, the handheld asks for no snapshot (as before snapshots) and stops after
    pulling that many changes."""
    folder.mkdir()
    sessions = open_database(sqlite_url(central))
    with unit_of_work(sessions) as session:
        code = issue_code(session, folder.name).code
    sessions.kw["bind"].dispose()
    process = subprocess.run(
        [sys.executable, "-c", _HANDHELD, address, code, str(folder), str(replay_limit or 0)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if process.returncode != 0:
        raise AssertionError(f"The handheld's first sync failed: {process.stderr}")
    return dict(json.loads(process.stdout.splitlines()[-1]))


_HANDHELD = """
import json, sys
from pathlib import Path
from bench.first_sync import handheld_first_sync
result = handheld_first_sync(sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
print(json.dumps(result))
"""


def handheld_first_sync(address: str, code: str, folder: Path, replay_limit: int) -> dict[str, Any]:
    """Runs in the handheld's process: enroll, then one sync (or, with `replay_limit`, a
    replay of that many changes through the plain pull, as a handheld did before)."""
    from sync.device.client import enroll_handheld, sync_once

    sessions = open_database(sqlite_url(folder / "lotscan.db"))
    enroll_handheld(sessions, folder, address, code)
    transport = _Replaying(replay_limit) if replay_limit else httpx.HTTPTransport()
    started = time.perf_counter()
    try:
        report = sync_once(sessions, folder, transport=transport, timeout=600)
        taken = report.pulled
    except _Enough as enough:
        taken = enough.changes
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": taken, "changes": taken, "peak_mb": peak_memory_mb()}


def peak_memory_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not `ru_maxrss`: a child's
    `ru_maxrss` keeps the peak of the process it was forked from (the benchmark's, which
    generated the plant), and `exec` does not reset it."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


class _Enough(Exception):
    def __init__(self, changes: int) -> None:
        self.changes = changes


class _Replaying(httpx.BaseTransport):
    """A handheld from before snapshots: asks for none (a 404, as an older store answers),
    and stops once it has pulled `limit` changes."""

    def __init__(self, limit: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.limit = limit
        self.pulled = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sync/snapshot":
            return httpx.Response(404, json={"detail": "Not Found"})
        if request.url.path == "/v1/sync/pull" and self.pulled >= self.limit:
            raise _Enough(self.pulled)
        response = self.inner.handle_request(request)
        if request.url.path == "/v1/sync/pull":
            response.read()
            self.pulled += len(json.loads(response.content)["changes"])
        return response

    def close(self) -> None:
        self.inner.close()


# ---- the baseline ----------------------------------------------------------------------------


def bulk_copy(central: str, target: str) -> float:
    """The tables a snapshot handheld holds, read whole from the store and inserted into a
    new handheld database in one transaction: the seconds it takes."""
    source = open_database(central)
    copy: sessionmaker[Session] = open_database(target)
    started = time.perf_counter()
    with source() as reading_session, unit_of_work(copy) as session:
        for model in COPIED:
            table = model.__table__
            assert isinstance(table, Table)
            rows = reading_session.execute(select(table)).mappings()
            for block in rows.partitions(20_000):
                session.execute(insert(table), [dict(row) for row in block])
    seconds = time.perf_counter() - started
    source.kw["bind"].dispose()
    copy.kw["bind"].dispose()
    return seconds
