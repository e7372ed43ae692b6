"""sync_ingest_workers: what a second service process buys on PostgreSQL
(docs/architecture.md, "The service"). Ours is `lotscan serve --workers 2`, the baseline
`--workers 1`, both on one store in a schema of its own (bench/sync_ingest_postgres.py's
server, skipped without one): the same number of devices push a backlog each, all at once,
in batches of 500 (bench/sync_ingest.py). The ratio is the 2 workers' time over the one
worker's: under 1 when the second process helps, and its inverse is the throughput gained.

Both services run side by side for the whole run and take turns, three times each (once at
tiny scale), each turn with devices of its own, after a round that warms both; medians.
Several devices at once, not one: a device's pushes are one after another (its row is
locked for each), so one device's backlog cannot use a second process.
"""

from __future__ import annotations

import os
import statistics

from bench.result import Result, Skipped
from bench.suite import QUICK
from bench.sync_ingest import (
    DEVICES,
    _add_reference,
    _check_applied,
    backlog_size,
    central_service,
    enroll,
    push_all,
)
from bench.sync_ingest_postgres import fresh_schema
from scanner.db import open_database

NAME = "sync_ingest_workers"
WORKERS = 2
GOAL = 1.0
"""Two workers no slower than one: on 2 cores the database shares them with the workers."""
RUNS = 3
WARM_UP = 2
"""Movements each device pushes to each service before the clock starts: every worker's
first requests (its first connections, SQLAlchemy's first compilations) are not timed."""


def run(scale: float) -> Result:
    base = os.environ.get("LOTSCAN_BENCH_PG_URL") or os.environ.get("LOTSCAN_TEST_PG_URL")
    if not base:
        raise Skipped("no PostgreSQL server: set LOTSCAN_BENCH_PG_URL (or LOTSCAN_TEST_PG_URL)")
    count = backlog_size(scale)
    each = count // DEVICES
    runs = RUNS if scale >= QUICK else 1
    ours: list[float] = []
    baseline: list[float] = []
    with fresh_schema(base) as url:
        sessions = open_database(url)
        try:
            _add_reference(sessions)
            with central_service(url) as one, central_service(url, WORKERS) as two:
                for address, warming in ((one, "w1-warm"), (two, "w2-warm")):
                    names = [f"{warming}-{n}" for n in range(1, DEVICES + 1)]
                    push_all(address, enroll(sessions, address, names), WARM_UP)
                for run in range(1, runs + 1):
                    names = [f"w1-{run}-{n}" for n in range(1, DEVICES + 1)]
                    baseline.append(push_all(one, enroll(sessions, one, names), each))
                    names = [f"w2-{run}-{n}" for n in range(1, DEVICES + 1)]
                    ours.append(push_all(two, enroll(sessions, two, names), each))
            _check_applied(sessions, 2 * DEVICES * (runs * each + WARM_UP))
        finally:
            sessions.kw["bind"].dispose()
    mine, theirs = statistics.median(ours), statistics.median(baseline)
    pushed = DEVICES * each
    return Result(
        name=NAME,
        ours=mine,
        baseline=theirs,
        goal=GOAL,
        facts=(
            f"{DEVICES} devices pushing {each:,} movements each at once over HTTP on loopback,"
            f" PostgreSQL: {WORKERS} workers {pushed / mine:,.0f} movements/s, one worker"
            f" {pushed / theirs:,.0f}/s ({theirs / mine:.2f}x the throughput); "
            + (f"medians of {runs} runs each, alternating" if runs > 1 else "one run each"),
            f"on {os.cpu_count()} cores, shared by the workers and the database server",
        ),
        extra={"throughput_gain": round(theirs / mine, 3)},
    )
