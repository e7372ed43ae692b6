"""sync_ingest: a handheld comes back online with a backlog of scans and pushes it to the
central store; how fast the store takes it in. bench/sync_ingest_sqlite.py and
bench/sync_ingest_postgres.py run it on each database.

Ours is the central store's service (`sync.central.service.serve`, in a process of its own, on
loopback) taking a backlog of 50,000 movements (5,000 at quick scale) from one enrolled
device: `POST /v1/sync/push` with batches of 500, one after the other, as `lotscan sync`
sends them, each movement evaluated, applied to the store's ledger and caches, and logged
for the other devices to pull. The baseline is the least a database can do with the same
rows: one bulk insert of them into the store's movement table (executemany in one
transaction on SQLite, COPY on PostgreSQL), with the baseline's own device id.

Ours and the baseline take turns, three times each (once at tiny scale), and report their
medians. The facts add twenty devices pushing a twentieth of the backlog each, all at once;
a batch the store sheds then (503 `retry_later`, nothing recorded) goes again after the
handheld's own wait (`sync.device.backoff`, at least `MIN_RETRY`), as a handheld's would,
where the run used to fail on it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bench.catalogue import OPERATORS, RECEIVING, build_catalogue
from bench.generate import _locations, _operators, _part_row
from bench.result import Result
from bench.suite import QUICK
from scanner.db import open_database, unit_of_work
from scanner.ids import new_movement_id
from scanner.models import MOVEMENT_FACTS, Location, Movement, Operator, Part, SyncState
from sync.central.enrollment import issue_code
from sync.device.backoff import Backoff
from sync.device.loop import MIN_RETRY
from sync.protocol import MAX_BATCH, WIRE_NAMES, MovementIn, PushRequest

GOAL = 4.0
RUNS = 3
BACKLOG_AT_FULL = 50_000
DEVICES = 20
TINY_BACKLOG = 2 * DEVICES
"""Below quick scale (the smoke test): enough for every device to push something."""
PART = "BOLT-M6"
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
BASELINE_DEVICE = "BULK"
SHED_LIMIT = 8
"""How many times a batch answered 503 `retry_later` goes again before the run fails."""
ROOT = Path(__file__).resolve().parent.parent


def backlog_size(scale: float) -> int:
    if scale < QUICK:
        return TINY_BACKLOG
    return round(BACKLOG_AT_FULL * min(scale, 1.0))


def run_on(
    name: str, url: str, scale: float, bulk: Callable[[Any, list[dict[str, Any]]], None]
) -> Result:
    """The benchmark on the empty database at `url`; `bulk` inserts rows the baseline's way.
    Ours and the baseline take turns, `RUNS` times each, each run a device of its own
    (a fresh device id for the baseline's rows), into the same growing store; medians."""
    count = backlog_size(scale)
    runs = RUNS if scale >= QUICK else 1
    sessions = open_database(url)
    ours: list[float] = []
    baseline: list[float] = []
    try:
        _add_reference(sessions)
        with central_service(url) as address:
            for run in range(1, runs + 1):
                rows = [
                    _row(f"{BASELINE_DEVICE}{run}", seq, new_movement_id())
                    for seq in range(1, count + 1)
                ]
                started = time.perf_counter()
                bulk(sessions, rows)
                baseline.append(time.perf_counter() - started)
                ours.append(push_all(address, enroll(sessions, address, [f"bench-{run}"]), count))
            many = enroll(sessions, address, [f"bench-at-once-{n}" for n in range(1, DEVICES + 1)])
            together = push_all(address, many, count // DEVICES)
        _check_applied(sessions, runs * count + DEVICES * (count // DEVICES))
    finally:
        sessions.kw["bind"].dispose()
    mine, theirs = statistics.median(ours), statistics.median(baseline)
    return Result(
        name=name,
        ours=mine,
        baseline=theirs,
        goal=GOAL,
        facts=(
            f"{count:,} movements pushed by one device over HTTP on loopback in batches of"
            f" {MAX_BATCH}: {count / mine:,.0f} movements/s;"
            f" bulk insert: {count / theirs:,.0f}/s; "
            + (f"medians of {runs} runs each, alternating" if runs > 1 else "one run each"),
            f"{DEVICES} devices pushing {count // DEVICES:,} each at once:"
            f" {together:.2f} s, {DEVICES * (count // DEVICES) / together:,.0f} movements/s",
            "each movement evaluated, applied to the store's ledger and caches, and logged for"
            " pulls",
        ),
        extra={"devices_at_once_seconds": round(together, 3)},
    )


@dataclass(frozen=True)
class Device:
    id: str
    token: str


def enroll(sessions: sessionmaker[Session], address: str, names: list[str]) -> list[Device]:
    """Devices enrolled as `lotscan enroll` does it: a code from the store, traded over HTTP."""
    with unit_of_work(sessions) as session:
        codes = [issue_code(session, name).code for name in names]
    devices = []
    with httpx.Client(base_url=address, timeout=60) as client:
        for code in codes:
            answer = client.post("/v1/devices/enroll", json={"code": code})
            answer.raise_for_status()
            body = answer.json()
            devices.append(Device(body["device_id"], body["device_token"]))
    return devices


def push_all(address: str, devices: list[Device], each: int) -> float:
    """Seconds for every device in `devices` to push `each` movements, all at once. The
    request bodies are written before the clock starts, as the baseline's rows are made
    before its clock starts: what is timed is the store taking them in."""
    failures: list[str] = []
    threads = [
        threading.Thread(
            target=_push_backlog, args=(address, device, _bodies(device, each), failures)
        )
        for device in devices
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise AssertionError(f"A push failed: {failures[0]}")
    return seconds


def _bodies(device: Device, count: int) -> list[tuple[int, str]]:
    """The push requests of a backlog of `count` movements, as JSON text, each with the last
    number it carries."""
    return [
        (last, _batch(device.id, first, last, count).model_dump_json())
        for first in range(1, count + 1, MAX_BATCH)
        for last in [min(count, first + MAX_BATCH - 1)]
    ]


def _push_backlog(
    address: str, device: Device, bodies: list[tuple[int, str]], failures: list[str]
) -> None:
    headers = {"Authorization": f"Bearer {device.token}", "Content-Type": "application/json"}
    backoff = Backoff()
    try:
        with httpx.Client(base_url=address, headers=headers, timeout=300) as client:
            for last, body in bodies:
                answer = client.post("/v1/sync/push", content=body)
                for _again in range(SHED_LIMIT):
                    if answer.status_code != 503:
                        break
                    # Shed (`sync.central.turns`: no turn within 2 s, nothing recorded): the
                    # batch goes again after the wait a handheld's background sync takes.
                    # Sent again at once, twenty devices' bodies, each read and checked
                    # anew, took the cores from the push holding the turn.
                    time.sleep(max(MIN_RETRY, backoff.failed()))
                    answer = client.post("/v1/sync/push", content=body)
                backoff.reset()
                if answer.status_code != 200:
                    raise AssertionError(f"{answer.status_code}: {answer.text}")
                outcome = answer.json()
                if outcome["last_applied_seq"] != last:
                    raise AssertionError(f"the store stopped at {outcome['last_applied_seq']}")
    except Exception as error:  # reported by push_all, in the main thread
        failures.append(f"{device.id}: {error}")


def _batch(device: str, first: int, last: int, count: int) -> PushRequest:
    movements = [
        MovementIn.model_validate(
            {
                WIRE_NAMES.get(name, name): value
                for name, value in _row(device, seq, new_movement_id()).items()
                if name in MOVEMENT_FACTS
            }
        )
        for seq in range(first, last + 1)
    ]
    return PushRequest(
        device_id=device,
        device_time=datetime.now(UTC),
        queue_depth=count - first + 1,
        max_local_seq=count,
        oldest_pending_at=START,
        movements=movements,
    )


def _row(device: str, seq: int, movement_id: uuid.UUID) -> dict[str, Any]:
    """The seq-th scan of the backlog: five bolts received at the dock. Its id is made as a
    handheld's ledger makes one (`scanner.ids`), for ours and the baseline's rows alike."""
    return {
        "id": movement_id,
        "device_id": device,
        "device_seq": seq,
        "kind": "receive",
        "part": PART,
        "qty": Decimal(5),
        "to_location": RECEIVING,
        "operator": OPERATORS[seq % len(OPERATORS)],
        "happened_at": START + timedelta(seconds=seq),
        "sync_state": SyncState.APPLIED.value,
    }


def _add_reference(sessions: sessionmaker[Session]) -> None:
    """The plant's parts, places and people: what the pushed movements name."""
    with unit_of_work(sessions) as session:
        connection = session.connection()
        for model, rows in (
            (Part, [_part_row(spec) for spec in build_catalogue().values()]),
            (Location, _locations()),
            (Operator, _operators()),
        ):
            table = model.__table__
            assert isinstance(table, Table)
            connection.execute(insert(table), rows)


def _check_applied(sessions: sessionmaker[Session], pushed: int) -> None:
    with unit_of_work(sessions) as session:
        counted = session.scalar(
            select(func.count())
            .select_from(Movement)
            .where(
                Movement.device_id.not_like(f"{BASELINE_DEVICE}%"),
                Movement.sync_state == "applied",
            )
        )
    if counted != pushed:
        raise AssertionError(f"The store applied {counted} of {pushed} pushed movements")


@contextmanager
def central_service(url: str, workers: int = 1) -> Iterator[str]:
    """The central store's service on `url`, in a process of its own on a free loopback
    port, as `lotscan serve --workers` runs it; its address."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, url, str(workers)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield _address(process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


_SERVE = (
    "import sys; from sync.central.service import serve;"
    " serve(sys.argv[1], '127.0.0.1', 0, workers=int(sys.argv[2]))"
)


def _address(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("lotscan central store on "):
            address = line.removeprefix("lotscan central store on ").split(",")[0]
            threading.Thread(target=_drain, args=(process,), daemon=True).start()
            return address
    raise AssertionError(f"The central store did not start: {''.join(seen)}")


def _drain(process: subprocess.Popen[str]) -> None:
    """Reads the service's log (one line a request) so its pipe never fills up."""
    assert process.stderr is not None
    for _line in process.stderr:
        pass
