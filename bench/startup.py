"""startup: from starting the handheld app to its first frame, and the memory it holds.

Ours is a fresh Python process running the handheld app (`screens.app.LotscanApp`, headless
at 40x16) on a copy of the plant database, started as `lotscan` starts it: the interpreter,
the imports, the database read with sqlite3 and its schema checked
(`scanner.device_start`), the first screen drawn; the app opens the database with the ORM
after that frame. The baseline is a fresh process running a bare
Textual app (a field and two lines) to its first frame, the same way. Each process says
`ready` the moment Textual reports the first frame (bench/first_frame.py); the time runs from
starting the process to reading that line. Runs alternate; medians.

After its first frame the handheld signs in and records a few scans, then reports the most
memory the process held (its peak resident set): `peak_memory_mb`, on the full plant's
database at full scale.
"""

from __future__ import annotations

import compileall
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import Plant, plant_database
from bench.result import Result
from bench.suite import QUICK

NAME = "startup"
GOAL = 2.0
SEED = 1
RUNS = 7
TINY_RUNS = 1
KB_PER_MB = 1024
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("scanner", "screens", "sync", "labels", "bench")


def run(scale: float) -> Result:
    plant = plant_database(SEED, scale)
    compile_sources()
    runs = RUNS if scale >= QUICK else TINY_RUNS
    ours: list[float] = []
    baseline: list[float] = []
    peaks: list[int] = []
    bare_peaks: list[int] = []
    with tempfile.TemporaryDirectory(prefix="lotscan-bench-") as folder:
        copy = Path(folder) / "device.db"
        shutil.copyfile(plant.path, copy)
        for _ in range(runs):
            seconds, peak = first_frame(["lotscan", str(copy)])
            ours.append(seconds)
            peaks.append(peak)
            seconds, peak = first_frame(["bare"])
            baseline.append(seconds)
            bare_peaks.append(peak)
    peak_mb = max(peaks) / KB_PER_MB
    return Result(
        name=NAME,
        ours=statistics.median(ours),
        baseline=statistics.median(baseline),
        goal=GOAL,
        facts=_facts(plant, runs, peak_mb, max(bare_peaks) / KB_PER_MB),
        extra={"peak_memory_mb": round(peak_mb, 1)},
    )


def compile_sources() -> None:
    """Byte-compiles our packages, as installing lotscan does. The bare app's Textual was
    compiled when pip installed it; ours, installed editable, would otherwise be compiled
    on every start where Python writes no bytecode (PYTHONDONTWRITEBYTECODE), about 90
    modules charged to ours alone."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


def first_frame(args: list[str]) -> tuple[float, int]:
    """Seconds from starting `python -m bench.first_frame ARGS` to its first frame, and the
    process's peak memory in KB."""
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-m", "bench.first_frame", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        seconds = time.perf_counter() - started
        rest = process.stdout.read()
        problem = process.stderr.read()
    if first.strip() != "ready" or process.returncode != 0:
        raise AssertionError(f"bench.first_frame {' '.join(args)} failed: {first}{problem}")
    peak = [line for line in rest.splitlines() if line.startswith("peak ")]
    return seconds, int(peak[-1].split()[1])


def _facts(plant: Plant, runs: int, peak_mb: float, bare_mb: float) -> tuple[str, ...]:
    return (
        f"a fresh process each start, {runs} starts each, alternating, our packages"
        " byte-compiled first as an install would; the handheld app on a"
        f" copy of the plant ({plant.movements:,} movements)",
        "baseline: a bare Textual app (a field and two lines), headless at the same size",
        f"peak memory after signing in and recording 5 scans: {peak_mb:.0f} MB"
        f" (the bare app: {bare_mb:.0f} MB)",
    )
