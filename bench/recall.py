"""recall: a supplier recalls a raw-material lot; the whole recall answer (`lotscan recall`):
the trace, and where everything made from the lot is now (stock by location with each
lot's status, work in progress on open jobs, movements not yet synced, every shipment with
its date, order line and customer), as the central store answers it.

Ours is `scanner.recall.recall()`: the trace's statements, then one statement per question
over the family the trace found. The baseline is trace_recall's, the per-node walk that
finds the trace alone (`bench.trace_recall.walk_per_node`), timed in the same run, so the
ratio reads against trace_recall's: the goal, twice trace_recall's, is the whole answer
within twice the time of the trace alone. The trace alone (`scanner.trace.trace()`) is
timed in the same turns and reported beside it.
"""

from __future__ import annotations

import statistics
import time
from datetime import date

from bench.generate import Plant, plant_database
from bench.result import Result
from bench.suite import QUICK
from bench.trace_recall import GOAL as TRACE_GOAL
from bench.trace_recall import walk_per_node
from scanner.db import open_database, reading
from scanner.recall import Recall, recall
from scanner.trace import trace

NAME = "recall"
GOAL = 2 * TRACE_GOAL
SEED = 1
ROUNDS = 5
OURS_PER_ROUND = 3
TODAY = date(2026, 12, 1)


def run(scale: float) -> Result:
    plant = plant_database(SEED, scale)
    sessions = open_database(plant.url)
    part, lot = plant.recall_part, plant.recall_lot

    def ours() -> Recall:
        with reading(sessions) as session:
            # As the central store answers it, where the plant's 1.1M movements would be:
            # the handhelds' queues come from their last reports (none here). A handheld
            # reads its own outbox, a shift's scans; the plant's were never pushed.
            return recall(session, part, lot=lot, today=TODAY, waiting_devices=())

    def trace_alone() -> object:
        with reading(sessions) as session:
            return trace(session, part, lot=lot)

    def baseline() -> object:
        with reading(sessions) as session:
            return walk_per_node(session, part, lot).trace

    answer = ours()  # also warms the page cache for all three
    if answer.trace != trace_alone():
        raise AssertionError("recall() does not start from the trace that trace() finds")
    tiny = scale < QUICK  # the smoke test: one run shows it runs
    rounds, per_round = (1, 1) if tiny else (ROUNDS, OURS_PER_ROUND)
    mine: list[float] = []
    traced: list[float] = []
    walked: list[float] = []
    for _ in range(rounds):
        for _ in range(per_round):
            mine.append(_seconds(ours))
            traced.append(_seconds(trace_alone))
        walked.append(_seconds(baseline))
    sessions.kw["bind"].dispose()
    ours_time, trace_time = statistics.median(mine), statistics.median(traced)
    return Result(
        name=NAME,
        ours=ours_time,
        baseline=statistics.median(walked),
        goal=GOAL,
        facts=_facts(plant, answer, ours_time, trace_time, rounds * per_round, rounds),
        extra={"trace_seconds": trace_time, "over_trace": ours_time / trace_time},
    )


def _seconds(work: object) -> float:
    assert callable(work)
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _facts(
    plant: Plant, answer: Recall, ours: float, traced: float, runs: int, walks: int
) -> tuple[str, ...]:
    descendants = len({(r.part, r.lot, r.serial) for r in answer.trace.forward})
    in_plant = sum(1 for each in answer.statuses if each.in_plant)
    return (
        f"plant: {plant.movements:,} movements, {plant.lots:,} lots, {plant.serials:,} serials,"
        f" {plant.jobs:,} jobs; recalled lot {plant.recall_lot} of {plant.recall_part}:"
        f" {descendants:,} descendants, {in_plant:,} of them still in the plant,"
        f" {len(answer.descendants_on_hand):,} stock rows, {len(answer.wip):,} open-job uses,"
        f" {len(answer.deliveries):,} shipments to {len(answer.customers):,} customers;"
        " answered as the central store answers it",
        f"the trace alone, in the same turns: {traced * 1000:.1f} ms; the whole answer is"
        f" {ours / traced:.2f} times that (goal: 2)",
        f"baseline: trace_recall's per-node walk of the trace; medians of {runs} (ours, and"
        f" the trace alone) and {walks} (baseline) runs, in turns",
    )
