"""Timing a piece of work: the median of several runs, so one hiccup does not decide."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(work: Callable[[], object], runs: int) -> float:
    """The median wall time of `runs` calls of `work`, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def alternating_medians(
    ours: Callable[[], object], baseline: Callable[[], object], rounds: int, ours_per_round: int
) -> tuple[float, float]:
    """The median wall times of `ours` and `baseline`, in seconds, run in turns: each round
    runs `ours` `ours_per_round` times, then `baseline` once. A shared machine's quiet and
    busy spells then fall on both alike, not on whichever ran while they lasted."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        for _ in range(ours_per_round):
            started = time.perf_counter()
            ours()
            mine.append(time.perf_counter() - started)
        started = time.perf_counter()
        baseline()
        theirs.append(time.perf_counter() - started)
    return statistics.median(mine), statistics.median(theirs)
