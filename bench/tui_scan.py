"""tui_scan: a scanner fires a burst of labels at the handheld; how long until the answer to
the last one is on the screen.

Ours is the handheld app (`screens.app.LotscanApp`, headless at 40x16) on a copy of the plant
database, signed in and in RECEIVE: a burst of ten scans of an untracked part's label, each
handed to the engine, recorded and committed durably, its feedback rendered. The baseline is
a bare Textual app at the same size doing the least a scan screen can: a field that takes
each line at its Enter and a line that echoes it. Both get the same burst through Textual's
terminal parser, all at once as a scanner sends it; the time runs from the burst to the
frame after the last scan's feedback is shown. The two take turns, four rounds of five
bursts each (each round a fresh start of the app, its first burst a warm-up); medians over
the bursts.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bench.catalogue import OPERATORS
from bench.generate import Plant, plant_database
from bench.result import Result
from bench.scan_commit import SCAN
from bench.suite import QUICK
from bench.tui import EchoApp, feed, handheld_app, run_app, shown, until
from scanner.workflows.base import Level
from screens.app import LotscanApp

NAME = "tui_scan"
GOAL = 2.0
SEED = 1
BURST = 10
BURSTS = 20
ROUNDS = 4
TINY_BURSTS = 1
WARM_UP = 1
EXPECTED = "Received BOLT-M6"


def run(scale: float) -> Result:
    plant = plant_database(SEED, scale)
    bursts = BURSTS if scale >= QUICK else TINY_BURSTS
    rounds = ROUNDS if scale >= QUICK else 1
    ours: list[float] = []
    baseline: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lotscan-bench-") as folder:
        copy = Path(folder) / "device.db"
        shutil.copyfile(plant.path, copy)
        for _ in range(rounds):  # taking turns, so a busy spell on the machine hits both
            ours += measure_handheld(copy, bursts // rounds)
            baseline += measure_echo(bursts // rounds)
    return Result(
        name=NAME,
        ours=statistics.median(ours),
        baseline=statistics.median(baseline),
        goal=GOAL,
        facts=_facts(plant, bursts, ours, baseline),
    )


def burst() -> str:
    """Ten scans as a scanner sends them: each label's characters, then CR."""
    return f"{SCAN}\r" * BURST


def measure_handheld(database: Path, bursts: int) -> list[float]:
    """Seconds from each burst to its last feedback on the handheld app's screen."""
    with handheld_app(database, operator=OPERATORS[0]) as app:

        async def scenario(pilot: Pilot[Any]) -> list[float]:
            await _answered(app, pilot, 1)  # the sign-in at start
            feed(app, "CMD:RECEIVE\r")
            await _answered(app, pilot, 2)
            times = [await _timed_burst(app, pilot) for _ in range(WARM_UP + bursts)]
            if app.view.level != Level.OK or app.view.message != EXPECTED:
                raise AssertionError(f"The scans were not recorded: {app.view.message}")
            return times[WARM_UP:]

        times: list[float] = run_app(app, scenario)
        return times


async def _timed_burst(app: LotscanApp, pilot: Pilot[Any]) -> float:
    target = app.view.handled + BURST
    started = time.perf_counter()
    feed(app, burst())
    await _answered(app, pilot, target)
    return time.perf_counter() - started


async def _answered(app: LotscanApp, pilot: Pilot[Any], count: int) -> None:
    """Until the engine has answered `count` scans and the last answer has been drawn."""
    await until(pilot, lambda: app.view.handled >= count and app.idle)
    await pilot.pause()  # the frame that shows it


def measure_echo(bursts: int) -> list[float]:
    """Seconds from each burst to its last echo on the bare app's screen."""
    app = EchoApp()

    async def scenario(pilot: Pilot[Any]) -> list[float]:
        times = []
        for _ in range(WARM_UP + bursts):
            target = app.handled + BURST
            started = time.perf_counter()
            feed(app, burst())
            await until(pilot, lambda: app.handled >= target)  # noqa: B023
            await pilot.pause()
            times.append(time.perf_counter() - started)
        if shown(app, "#feedback") != f"Scanned {SCAN}":
            raise AssertionError(f"The bare app echoed {shown(app, '#feedback')!r}")
        return times[WARM_UP:]

    times: list[float] = run_app(app, scenario)
    return times


def _facts(plant: Plant, bursts: int, ours: list[float], baseline: list[float]) -> tuple[str, ...]:
    ms = 1000
    return (
        f"handheld app at 40x16 on a copy of the plant ({plant.movements:,} movements),"
        f" RECEIVE; {bursts} bursts of {BURST} scans of {SCAN}, in turns with the baseline",
        "baseline: a bare Textual app whose field echoes each line; the same bursts",
        f"slowest burst: ours {max(ours) * ms:.0f} ms, baseline {max(baseline) * ms:.0f} ms;"
        f" per scan: ours {statistics.median(ours) / BURST * ms:.1f} ms",
    )
