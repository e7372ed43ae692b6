"""The benchmarks and the scales they run at.

A benchmark is a module `bench/<name>.py` with `run(scale: float) -> Result`; adding one is
adding its module and its name to `BENCHMARKS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from bench.result import Result

BENCHMARKS = (
    "trace_recall",
    "recall",
    "scan_commit",
    "tui_scan",
    "startup",
    "label_png",
    "label_png_datamatrix",
    "label_zpl",
    "sync_ingest_sqlite",
    "sync_ingest_postgres",
    "sync_ingest_workers",
    "sync_fairness",
    "first_sync",
    "export_epcis",
    "console_pages",
    "parse",
)
FULL = 1.0
QUICK = 0.1
TINY = 0.005
"""Small enough for a smoke test, large enough that every benchmark still measures its case."""

Benchmark = Callable[[float], Result]


def benchmark(name: str) -> Benchmark:
    """The `run` function of the benchmark called `name`."""
    if name not in BENCHMARKS:
        raise KeyError(f"No benchmark {name}: choose from {', '.join(BENCHMARKS)}")
    module = importlib.import_module(f"bench.{name}")
    run: Benchmark = module.run
    return run
