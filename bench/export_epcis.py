"""export_epcis: the ledger as an EPCIS 2.0 document, for a customer or a regulator.

Ours is `scanner.export_epcis.write_file`: 100,000 movements of the plant (at full scale; a
plant of its own, a little under a tenth of trace_recall's) read in ledger order, a thousand
at a time, each made into its event (the job's inputs for a completion, the undone event for
a reversal) and written as one line of the file. The baseline reads the same rows in the
same order with the bare sqlite3 driver and writes each as `json.dumps` of the row: what an
export costs that turned nothing into EPCIS.

Memory: the export runs once more in a process of its own, over the whole plant and over its
first tenth of days, and reports each one's peak resident memory (VmHWM): bounded, the two
are close whatever the size of the ledger.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.generate import plant_database
from bench.result import Result
from bench.suite import QUICK, TINY
from bench.timing import alternating_medians
from scanner.db import open_database, reading
from scanner.export_epcis import Naming, Selection, Written, write_file
from scanner.models import Movement
from scanner.progress import Progress

NAME = "export_epcis"
GOAL = 4.0
"""An event costs at most four times a bare `json.dumps` of its row."""
SEED = 1
PLANT_SCALE = 0.095
"""Of the full plant: some 100,000 movements at full scale."""
ROUNDS = 3
SITE = "https://bench.example/lotscan"
ROOT = Path(__file__).resolve().parents[1]


def run(scale: float) -> Result:
    plant = plant_database(SEED, max(scale * PLANT_SCALE, TINY))
    with tempfile.TemporaryDirectory(prefix="bench-epcis-") as scratch:
        folder = Path(scratch)
        written: list[Written] = []

        def ours() -> None:
            written.append(export(plant.url, folder / "ours.jsonld"))

        def baseline() -> None:
            bare_dumps(plant.path, folder / "baseline.jsonl")

        ours()  # warms the page cache for both
        rounds = ROUNDS if scale >= QUICK else 1
        ours_time, baseline_time = alternating_medians(ours, baseline, rounds, 1)
        events = written[-1].events
        document = json.loads((folder / "ours.jsonld").read_text(encoding="ascii"))
        assert len(document["epcisBody"]["eventList"]) == events
        size_mb = (folder / "ours.jsonld").stat().st_size / 1e6
        whole = peak_memory(plant.url, folder / "peak.jsonld", None)
        tenth = peak_memory(plant.url, folder / "peak.jsonld", first_tenth(plant.url))
    return Result(
        name=NAME,
        ours=ours_time,
        baseline=baseline_time,
        goal=GOAL,
        facts=(
            f"{plant.movements:,} movements of a plant of its own (scale {plant.scale:g}): "
            f"{events:,} events ({written[-1].left_out:,} left out), {size_mb:.1f} MB",
            f"per event: ours {ours_time / events * 1e6:.1f} µs, "
            f"bare json.dumps {baseline_time / plant.movements * 1e6:.1f} µs",
            f"peak memory of an export in a process of its own: {whole:.0f} MB for the whole "
            f"ledger, {tenth:.0f} MB for its first tenth of days",
            f"medians of {rounds} runs each, in turns",
        ),
        extra={"peak_memory_mb": whole, "peak_memory_tenth_mb": tenth},
    )


def export(url: str, output: Path, selection: Selection | None = None) -> Written:
    sessions = open_database(url)
    try:
        with reading(sessions) as session:
            return write_file(
                session, Naming(SITE), selection or Selection(), output,
                Progress("events", io.StringIO()),
            )  # fmt: skip
    finally:
        sessions.kw["bind"].dispose()


def bare_dumps(path: Path, output: Path) -> int:
    """Every movement in ledger order as one `json.dumps` line, with the bare driver."""
    connection = sqlite3.connect(path)
    count = 0
    try:
        cursor = connection.execute("SELECT * FROM movements ORDER BY happened_at, id")
        names = [column[0] for column in cursor.description]
        with output.open("w", encoding="ascii") as stream:
            for row in cursor:
                stream.write(json.dumps(dict(zip(names, row, strict=True))))
                stream.write("\n")
                count += 1
    finally:
        connection.close()
    return count


def first_tenth(url: str) -> str:
    """The last day of the first tenth of the plant's days, as `--until` takes it."""
    sessions = open_database(url)
    with reading(sessions) as session:
        first, last = session.execute(
            select(func.min(Movement.happened_at), func.max(Movement.happened_at))
        ).one()
    sessions.kw["bind"].dispose()
    return str((first + (last - first) / 10).date())


def peak_memory(url: str, output: Path, until: str | None) -> float:
    """The peak resident memory, in MB, of a process that exports the plant's ledger (up to
    the day `until`): a process of its own, so nothing the benchmark made counts."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.export_epcis", url, str(output), until or ""],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return float(done.stdout.strip())


def _child(url: str, output: str, until: str) -> None:
    selection = Selection()
    if until:
        end = date.fromisoformat(until) + timedelta(days=1)
        selection = Selection(end=datetime.combine(end, time.min, UTC))
    export(url, Path(output), selection)
    status = Path("/proc/self/status").read_text(encoding="ascii")
    peak: Any = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    print(int(peak) / 1024)


if __name__ == "__main__":
    _child(*sys.argv[1:4])
