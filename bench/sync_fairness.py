"""sync_fairness: how long a handheld waits for the central store's answer to a push while
other handhelds push at the same time, on SQLite and on PostgreSQL.

The central store's service (`sync.central.service.serve`, in a process of its own on
loopback, as bench/sync_ingest.py starts it) with 20 enrolled devices: 1, then 5, then all 20
of them push at once, each a few full batches of 500 movements back to back (what a handheld
with a backlog sends). Every push's latency is recorded, from sending the request to having
the answer; an answer 503 `retry_later` (the store shedding a push it could not start in
time) counts as an answer and the device sends the same batch again at once, as a handheld
would after its backoff, only sooner.

Ours is the p99 latency with 20 devices pushing at once on SQLite (the default store). The
baseline is 20 times the median latency of one device pushing alone on the same store: what
the last of 20 pushes waits when a single writer serves them one after the other, each as
fast as a lone push. A fair store stays at or under it (ratio 1): under it when it sheds
what it cannot start within its patience (sync.central.turns), which caps the p99 near the
patience plus one push. A store whose writers poll for the lock lets some pushes overtake
others, and the unlucky one waits many turns: 3.6 before the turns, at quick scale. The
goal, 1.5, leaves room for a loaded machine; the facts add the same ratio at 5 devices, which
are never shed, so it measures the order alone. The hard check is the longest answer of all,
on both databases, against the handheld's background sync's timeout
(`sync.device.loop.BACKGROUND_TIMEOUT`, the shorter of the client's two): past it, the goal
is 0 and the benchmark is missed whatever its ratio.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.result import Result, Skipped
from bench.suite import QUICK
from bench.sync_ingest import (
    Device,
    _add_reference,
    _batch,
    _check_applied,
    central_service,
    enroll,
)
from bench.sync_ingest_postgres import fresh_schema
from scanner.db import open_database
from scanner.workspace import sqlite_url
from sync.device.loop import BACKGROUND_TIMEOUT
from sync.protocol import MAX_BATCH

NAME = "sync_fairness"
GOAL = 1.5
DEVICES = 20
AT_ONCE = (1, 5, DEVICES)
TINY_BATCH = 10


@dataclass
class Pushes:
    """What the devices pushing at once saw: each answer's latency, and how many were 503."""

    seconds: list[float] = field(default_factory=list)
    shed: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(scale: float) -> Result:
    batches = 5 if scale >= 1.0 else 2 if scale >= QUICK else 1
    size = MAX_BATCH if scale >= QUICK else TINY_BATCH
    with tempfile.TemporaryDirectory(prefix="lotscan-bench-") as folder:
        sqlite = measure(sqlite_url(Path(folder) / "central.db"), batches, size)
    postgres = _on_postgres(batches, size)
    alone, together = sqlite[1], sqlite[DEVICES]
    longest = max(p.percentile(1.0) for each in (sqlite, postgres or {}) for p in each.values())
    facts = [
        f"{DEVICES} devices enrolled; 1, 5 and {DEVICES} of them push {batches} batch"
        f"{'es' if batches > 1 else ''} of {size} movements each, all at once, every push's"
        " latency recorded",
        _line("SQLite", sqlite),
        _line("PostgreSQL", postgres) if postgres else "PostgreSQL: not measured (no server)",
        f"longest answer {longest:.2f} s against the background sync's {BACKGROUND_TIMEOUT:g} s"
        f" timeout: {'under' if longest < BACKGROUND_TIMEOUT else 'PAST IT'}",
    ]
    extra = {
        f"{db}_{n}_{what}": round(value, 3)
        for db, measured in (("sqlite", sqlite), ("postgres", postgres or {}))
        for n, pushes in measured.items()
        for what, value in (
            ("p50", pushes.percentile(0.5)),
            ("p99", pushes.percentile(0.99)),
            ("max", pushes.percentile(1.0)),
            ("shed", pushes.shed),
        )
    }
    # Five devices are served within the patience, so none is shed: this ratio is the
    # order alone (1 when each waits exactly for the four before it).
    five = sqlite[5].percentile(0.99) / (5 * alone.percentile(0.5))
    facts.append(f"SQLite, 5 at once: p99 over 5 times one device's median alone {five:.2f}")
    extra["sqlite_5_p99_over_5_alone"] = round(five, 3)
    extra["longest_answer_under_timeout"] = float(longest < BACKGROUND_TIMEOUT)
    return Result(
        name=NAME,
        ours=together.percentile(0.99),
        baseline=DEVICES * alone.percentile(0.5),
        goal=GOAL if longest < BACKGROUND_TIMEOUT else 0.0,  # past the timeout is missed
        facts=tuple(facts),
        extra=extra,
    )


def _on_postgres(batches: int, size: int) -> dict[int, Pushes] | None:
    base = os.environ.get("LOTSCAN_BENCH_PG_URL") or os.environ.get("LOTSCAN_TEST_PG_URL")
    if not base:
        return None
    try:
        with fresh_schema(base) as url:
            return measure(url, batches, size)
    except Skipped:
        return None


def _line(database: str, measured: dict[int, Pushes]) -> str:
    return f"{database}: " + "; ".join(
        f"{n} at once p50 {p.percentile(0.5):.3f} s, p99 {p.percentile(0.99):.3f} s,"
        f" max {p.percentile(1.0):.3f} s" + (f", {p.shed} answered 503" if p.shed else "")
        for n, p in measured.items()
    )


def measure(url: str, batches: int, size: int) -> dict[int, Pushes]:
    """The latencies of 1, 5 and 20 devices pushing at once on the empty store at `url`."""
    sessions = open_database(url)
    pushed = 0
    try:
        _add_reference(sessions)
        with central_service(url) as address:
            devices = enroll(sessions, address, [f"fair-{n}" for n in range(1, DEVICES + 1)])
            sent = dict.fromkeys((device.id for device in devices), 0)
            measured = {}
            for count in AT_ONCE:
                measured[count] = _at_once(address, devices[:count], sent, batches, size)
                pushed += count * batches * size
        _check_applied(sessions, pushed)
    finally:
        sessions.kw["bind"].dispose()
    for count, pushes in measured.items():
        if pushes.failures:
            raise AssertionError(f"{count} at once: {pushes.failures[0]}")
    return measured


def _at_once(
    address: str, devices: list[Device], sent: dict[str, int], batches: int, size: int
) -> Pushes:
    """Every device in `devices` pushes `batches` batches of `size` after what it `sent`
    before, all starting together; the bodies are written before anyone starts."""
    pushes = Pushes()
    bodies = {device.id: _bodies(device, sent[device.id], batches, size) for device in devices}
    start = threading.Barrier(len(devices))
    threads = [
        threading.Thread(target=_push, args=(address, device, bodies[device.id], start, pushes))
        for device in devices
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for device in devices:
        sent[device.id] += batches * size
    return pushes


def _bodies(device: Device, after: int, batches: int, size: int) -> list[tuple[int, str]]:
    total = after + batches * size
    return [
        (first + size - 1, _batch(device.id, first, first + size - 1, total).model_dump_json())
        for first in range(after + 1, total + 1, size)
    ]


def _push(
    address: str,
    device: Device,
    bodies: list[tuple[int, str]],
    start: threading.Barrier,
    pushes: Pushes,
) -> None:
    headers = {"Authorization": f"Bearer {device.token}", "Content-Type": "application/json"}
    try:
        with _client(address, headers) as client:
            start.wait()
            for last, body in bodies:
                _until_taken(client, body, last, pushes)
    except Exception as error:  # reported by measure, in the main thread
        with pushes.lock:
            pushes.failures.append(f"{device.id}: {error}")


def _until_taken(client: httpx.Client, body: str, last: int, pushes: Pushes) -> None:
    """Pushes `body` until the store takes it: a 503 is an answer, and the batch goes again."""
    for _attempt in range(100):
        started = time.perf_counter()
        answer = client.post("/v1/sync/push", content=body)
        seconds = time.perf_counter() - started
        with pushes.lock:
            pushes.seconds.append(seconds)
            pushes.shed += answer.status_code == 503
        if answer.status_code == 503:
            continue
        if answer.status_code != 200:
            raise AssertionError(f"{answer.status_code}: {answer.text}")
        if answer.json()["last_applied_seq"] != last:
            raise AssertionError(f"the store stopped at {answer.json()['last_applied_seq']}")
        return
    raise AssertionError("a batch was answered 503 a hundred times")


@contextmanager
def _client(address: str, headers: dict[str, str]) -> Iterator[httpx.Client]:
    """A client that waits as long as it takes: the latency is measured, not cut short."""
    with httpx.Client(base_url=address, headers=headers, timeout=120) as client:
        yield client
