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
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench import label_png, scan_commit
from bench.generate import Plant, plant_database
from bench.history import simulate
from bench.suite import TINY
from bench.trace_recall import differences, walk_per_node
from labels.compose import compose
from labels.layout import DEFAULT_LAYOUT, layout_named
from scanner.db import open_database, reading
from scanner.models import Balance, Movement
from scanner.replay import cache_differences
from scanner.trace import trace

ROOT = Path(__file__).resolve().parent.parent
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


def test_bench_prints_json_ratios(plant: Plant, data_dir: Path) -> None:
    env = {**os.environ, "LOTSCAN_BENCH_DATA": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--only", "trace_recall", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"trace_recall"}
    measured = report["trace_recall"]
    assert set(measured) == {"ours", "baseline", "ratio", "unit"}
    assert measured["unit"] == "s"
    assert measured["ours"] > 0 and measured["baseline"] > 0
    assert measured["ratio"] == pytest.approx(measured["ours"] / measured["baseline"])


def test_bench_prints_a_table_with_the_machine(plant: Plant, data_dir: Path) -> None:
    env = {**os.environ, "LOTSCAN_BENCH_DATA": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "trace_recall" in result.stdout
    assert "<= 0.05" in result.stdout
    assert "scan_commit" in result.stdout and "label_png" in result.stdout
    assert "SQLite" in result.stdout and "cores" in result.stdout


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


@pytest.mark.parametrize("name", ["scan_commit", "label_png"])
def test_bench_runs_each_new_benchmark_tiny(name: str, data_dir: Path, plant: Plant) -> None:
    env = {**os.environ, "LOTSCAN_BENCH_DATA": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--only", name, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)[name]
    assert measured["ours"] > 0 and measured["baseline"] > 0
    assert measured["ratio"] == pytest.approx(measured["ours"] / measured["baseline"])
