"""The benchmark plant and the benchmark runner, at a tiny scale. Nothing here times anything:
these tests check that the generator keeps the ledger's rules and that `python -m bench`
runs and reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench import label_png, scan_commit, sync_ingest_postgres, sync_ingest_workers
from bench.generate import Plant, plant_database
from bench.history import simulate
from bench.recorder import MovementRow
from bench.result import Skipped
from bench.suite import BENCHMARKS, TINY
from bench.trace_recall import differences, walk_per_node
from labels.compose import compose
from labels.layout import DEFAULT_LAYOUT, layout_named
from scanner.balance_check import cache_differences
from scanner.db import open_database, reading
from scanner.models import MOVEMENT_FACTS, Balance, Movement
from scanner.trace import trace

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-data")


@pytest.fixture(scope="module")
def plant(data_dir: Path) -> Plant:
    return plant_database(seed=1, scale=TINY, folder=data_dir)


@pytest.fixture
def session(plant: Plant) -> Iterator[Session]:
    sessions = open_database(plant.url)
    with reading(sessions) as session:
        yield session
    sessions.kw["bind"].dispose()


def test_generated_caches_are_what_the_ledger_says(session: Session) -> None:
    assert cache_differences(session) == []


def test_generated_stock_is_never_negative(session: Session) -> None:
    assert session.scalar(select(func.count()).where(Balance.qty <= 0)) == 0


def test_recalled_lot_reaches_six_levels_and_customers(plant: Plant, session: Session) -> None:
    result = trace(session, plant.recall_part, lot=plant.recall_lot)

    assert max(each.depth for each in result.forward) >= 6
    assert len({(each.part, each.lot, each.serial) for each in result.forward}) > 100
    assert result.shipments
    assert [receipt.lot for receipt in result.receipts] == [plant.recall_lot]


def test_manifest_counts_what_the_database_holds(plant: Plant, session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(Movement)) == plant.movements
    assert plant.lots > 0 and plant.serials > 0 and plant.shipments > 0


def test_generated_movements_carry_what_a_handheld_records() -> None:
    """A column added to the ledger is added to the generated history too, or the benchmarks
    measure a ledger without it. Only the pull cursor is left out: nothing was pulled."""
    generated = set(MovementRow._fields)

    assert generated <= set(Movement.__table__.columns.keys())
    assert set(MOVEMENT_FACTS) - generated == {"observed_cursor"}


def test_the_same_seed_and_scale_make_the_same_history() -> None:
    first, second = simulate(7, TINY), simulate(7, TINY)

    assert first.movements == second.movements
    assert first.lots == second.lots
    assert simulate(8, TINY).movements != first.movements


def test_a_cached_plant_is_reused(plant: Plant, data_dir: Path) -> None:
    again = plant_database(seed=1, scale=TINY, folder=data_dir)

    assert again.cached
    assert again.path == plant.path
    assert again.recall_lot == plant.recall_lot


def test_per_node_walk_finds_what_trace_finds(plant: Plant, session: Session) -> None:
    ours = trace(session, plant.recall_part, lot=plant.recall_lot)
    walked = walk_per_node(session, plant.recall_part, plant.recall_lot)

    assert differences(ours, walked.trace) == []
    assert walked.queries > len(ours.forward)


@pytest.fixture(scope="module")
def tiny_run(plant: Plant, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    """Every benchmark at the tiny scale, once for the module: the JSON it printed and the
    Markdown results it wrote."""
    results = tmp_path_factory.mktemp("bench-results") / "RESULTS.md"
    result = _bench(data_dir, "--tiny", "--json", "--results", str(results))
    assert result.returncode == 0, result.stderr
    return TinyRun(json.loads(result.stdout), results.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class TinyRun:
    report: dict[str, dict[str, Any]]
    markdown: str


def _bench(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOTSCAN_BENCH_DATA": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_bench_reports_every_benchmark_as_json_ratios(tiny_run: TinyRun) -> None:
    assert set(tiny_run.report) == set(BENCHMARKS)
    for name, measured in tiny_run.report.items():
        if "skipped" in measured:
            assert name in ("sync_ingest_postgres", "sync_ingest_workers"), measured["skipped"]
            assert "PostgreSQL" in measured["skipped"]
            continue
        assert {"ours", "baseline", "ratio", "unit"} <= set(measured), name
        assert measured["unit"] == "s"
        assert measured["ours"] > 0 and measured["baseline"] > 0, name
        assert measured["ratio"] == pytest.approx(measured["ours"] / measured["baseline"])
    assert tiny_run.report["startup"]["peak_memory_mb"] > 0


def test_bench_writes_a_markdown_table_with_the_machine(tiny_run: TinyRun) -> None:
    lines = tiny_run.markdown.splitlines()

    assert lines[0] == "# Benchmark results"
    assert "cores" in tiny_run.markdown and "SQLite" in tiny_run.markdown
    rows = [line for line in lines if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows[1:]] == list(BENCHMARKS)
    assert "| ≤ 0.05 |" in tiny_run.markdown  # trace_recall's goal


def test_bench_prints_a_table_with_the_machine(plant: Plant, data_dir: Path) -> None:
    result = _bench(data_dir, "--tiny", "--only", "label_zpl")

    assert result.returncode == 0, result.stderr
    assert "label_zpl" in result.stdout and "<= 1.5" in result.stdout
    assert "SQLite" in result.stdout and "cores" in result.stdout


def test_postgres_ingest_is_skipped_with_a_reason_without_a_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOTSCAN_BENCH_PG_URL", raising=False)
    monkeypatch.delenv("LOTSCAN_TEST_PG_URL", raising=False)

    with pytest.raises(Skipped, match="no PostgreSQL server"):
        sync_ingest_postgres.run(TINY)
    with pytest.raises(Skipped, match="no PostgreSQL server"):
        sync_ingest_workers.run(TINY)


def test_scan_commit_records_each_scan_and_each_bare_insert(plant: Plant, tmp_path: Path) -> None:
    copy = tmp_path / "device.db"
    shutil.copyfile(plant.path, copy)

    ours, baseline = scan_commit.measure(copy, scans=5)

    assert len(ours) == len(baseline) == 5
    assert all(seconds > 0 for seconds in ours + baseline)


def test_label_png_draws_the_same_symbols_as_python_barcode(plant: Plant) -> None:
    layout = layout_named(DEFAULT_LAYOUT)
    labels = label_png.lot_labels(plant, 3)
    drawings = [compose(label, layout) for label in labels]
    symbols = [(bars.symbol, bars.module, bars.height) for d in drawings for bars in d.bars]

    label_png.check_same_symbols(symbols)
    for symbol, module, height in symbols:
        assert label_png.barcode_png(symbol, module, height, layout.dpi).startswith(PNG)
