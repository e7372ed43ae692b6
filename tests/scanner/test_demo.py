"""`lotscan demo`: a fresh workspace with a plant's reference data and a few weeks of history,
and a summary whose suggested commands work on it."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.balance_check import cache_differences
from scanner.cli import main
from scanner.clock import aware
from scanner.closing import history
from scanner.db import open_database, unit_of_work
from scanner.demo import DEMO_DATA, IMPORTS, build_demo
from scanner.errors import RuleViolation
from scanner.importing import KINDS
from scanner.ledger import Ledger
from scanner.models import (
    Balance,
    Job,
    JobLot,
    JobStatus,
    Location,
    Lot,
    LotStatus,
    Movement,
    MovementKind,
    Operator,
    Part,
    SalesOrderLine,
    Tracking,
)
from scanner.picking import pick_list
from scanner.trace import trace
from scanner.workspace import sqlite_url

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 2)
TRACE_LOT = re.compile(r"lotscan trace --db (\S+) --part (\S+) --lot (\S+)")


@dataclass(frozen=True)
class Built:
    folder: Path
    summary: str
    sessions: sessionmaker[Session]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("workspace")
    url = sqlite_url(folder / "lotscan.db")
    summary = build_demo(url, TODAY)
    sessions = open_database(url)
    yield Built(folder, summary, sessions)
    sessions.kw["bind"].dispose()


@pytest.fixture
def session(demo: Built) -> Iterator[Session]:
    with demo.sessions() as session:
        yield session


def suggested_lots(summary: str) -> list[tuple[str, str]]:
    return [(part, lot) for _, part, lot in TRACE_LOT.findall(summary)]


def movements(url: str) -> list[tuple[object, ...]]:
    """The ledger as a user would compare it: everything but the random movement ids."""
    sessions = open_database(url)
    with sessions() as session:
        rows = session.execute(
            select(
                Movement.device_id, Movement.device_seq, Movement.kind, Movement.part,
                Movement.lot, Movement.serial, Movement.qty, Movement.from_location,
                Movement.to_location, Movement.job, Movement.po, Movement.so,
                Movement.operator, Movement.happened_at,
            ).order_by(Movement.device_seq)
        ).all()  # fmt: skip
    sessions.kw["bind"].dispose()
    return [tuple(row) for row in rows]


# ---- what it builds -------------------------------------------------------------------


def test_the_summary_names_the_workspace_and_counts_what_was_built(demo: Built) -> None:
    assert f"Workspace: {demo.folder}" in demo.summary
    for heading in ("parts", "locations", "operators", "open jobs", "purchase orders",
                    "sales orders", "lots", "serials", "movements"):  # fmt: skip
        assert re.search(rf"^  {heading} +\d+", demo.summary, re.MULTILINE), heading
    assert "lot-tracked" in demo.summary and "serial-tracked" in demo.summary


def test_the_demo_imports_one_file_of_each_kind() -> None:
    assert sorted(kind for kind, _ in IMPORTS) == sorted(KINDS)
    assert all((DEMO_DATA / file).is_file() for _, file in IMPORTS)


def test_the_history_lies_on_working_days_of_the_last_weeks(session: Session) -> None:
    days = {moment.date() for moment in session.scalars(select(Movement.happened_at))}
    assert all(day.weekday() < 5 for day in days)
    assert TODAY - timedelta(weeks=5) <= min(days) and max(days) < TODAY
    assert len(days) >= 15


def test_stock_is_on_hand_and_no_balance_is_negative(session: Session) -> None:
    quantities = session.scalars(select(Balance.qty)).all()
    assert len(quantities) >= 10
    assert all(qty > 0 for qty in quantities)


def test_the_caches_match_a_replay_of_the_ledger(session: Session) -> None:
    assert cache_differences(session) == []


def test_every_kind_of_movement_happens(session: Session) -> None:
    kinds = set(session.scalars(select(Movement.kind).distinct()))
    assert kinds == {kind.value for kind in MovementKind}


def test_the_suggested_finished_goods_lot_has_ancestors_receipts_and_shipments(
    demo: Built, session: Session
) -> None:
    part, lot = suggested_lots(demo.summary)[0]
    result = trace(session, part, lot=lot)
    assert result.backward and result.receipts
    assert {receipt.supplier_lot for receipt in result.receipts} - {None}
    assert len({shipment.customer for shipment in result.shipments}) >= 2


def test_the_suggested_raw_material_lot_reaches_customers_through_two_jobs(
    demo: Built, session: Session
) -> None:
    part, lot = suggested_lots(demo.summary)[1]
    result = trace(session, part, lot=lot)
    assert not result.backward and result.receipts
    assert max(relative.depth for relative in result.forward) == 2
    assert len({shipment.customer for shipment in result.shipments}) == 3


def test_the_backflush_part_is_untracked(session: Session) -> None:
    backflushed = session.scalars(select(Part).where(Part.backflush.is_(True))).all()
    assert [part.tracking for part in backflushed] == [Tracking.NONE]


def test_a_lot_on_hold_waits_in_quarantine(session: Session) -> None:
    held = session.scalars(select(Lot).where(Lot.status == LotStatus.HOLD)).one()
    kinds = session.scalars(
        select(Location.kind)
        .join(Balance, Balance.location == Location.code)
        .where(Balance.part == held.part, Balance.lot == held.number)
    ).all()
    assert kinds == ["quarantine"]


def test_quality_held_the_pallet_before_it_went_into_quarantine(session: Session) -> None:
    held = session.scalars(select(Lot).where(Lot.status == LotStatus.HOLD)).one()
    (decided,) = history(session, held)
    assert (decided.status, decided.name) == ("hold", "Ines Duarte")
    assert decided.reason == "Porosity on the machined faces"
    into_quarantine = session.scalars(
        select(Movement).where(
            Movement.part == held.part, Movement.lot == held.number, Movement.to_location == "QUAR"
        )
    ).one()
    assert aware(into_quarantine.happened_at) > decided.happened_at
    assert session.get(Operator, "B1020").role == "quality"  # type: ignore[union-attr]


def test_first_expired_first_out_matters(session: Session) -> None:
    """Several lots of one part in stock, one already expired and one expiring soon."""
    in_stock = (
        select(Lot.part, Lot.expiry)
        .join(Balance, (Balance.part == Lot.part) & (Balance.lot == Lot.number))
        .where(Lot.expiry.is_not(None))
    )
    expiries: dict[str, list[date]] = {}
    for part, expiry in session.execute(in_stock):
        expiries.setdefault(part, []).append(expiry)
    assert any(expiry < TODAY for dates in expiries.values() for expiry in dates)
    assert any(0 <= (expiry - TODAY).days <= 30 for dates in expiries.values() for expiry in dates)
    assert max(len(set(dates)) for dates in expiries.values()) >= 3


def test_a_job_consumed_several_lots_of_one_part(session: Session) -> None:
    lots_per_part = session.execute(
        select(JobLot.job, JobLot.part, func.count())
        .where(JobLot.role == "consumed", JobLot.lot != "")
        .group_by(JobLot.job, JobLot.part)
    ).all()
    assert any(count >= 2 for _, _, count in lots_per_part)


def test_the_reversed_issue_is_not_in_the_genealogy(session: Session) -> None:
    reversal = session.scalars(select(Movement).where(Movement.kind == MovementKind.REVERSE)).one()
    undone = session.get(Movement, reversal.reverses)
    assert undone is not None and undone.kind == MovementKind.ISSUE
    used = session.scalars(
        select(JobLot.qty).where(
            JobLot.job == undone.job, JobLot.part == undone.part, JobLot.lot == undone.lot
        )
    ).all()
    assert used == []


def test_an_open_job_has_a_pre_assigned_lot_and_a_pick_list_still_to_pick(
    session: Session,
) -> None:
    open_jobs = session.scalars(select(Job).where(Job.status == JobStatus.OPEN)).all()
    assigned = session.scalars(select(Lot).where(Lot.assigned_job.in_(j.number for j in open_jobs)))
    assert [lot.origin for lot in assigned] == ["assigned"]
    partly_issued = [
        lines
        for lines in (pick_list(session, job.number) for job in open_jobs)
        if any(line.issued for line in lines) and any(line.remaining for line in lines)
    ]
    assert partly_issued
    waiting = [line for line in partly_issued[0] if line.remaining and line.suggestions]
    assert waiting


def test_a_lot_controlled_sales_line_shipped_an_untracked_part_with_a_lot(
    session: Session,
) -> None:
    shipped = session.execute(
        select(Movement.lot, Part.tracking)
        .join(Part, Part.number == Movement.part)
        .join(
            SalesOrderLine,
            (SalesOrderLine.so == Movement.so) & (SalesOrderLine.line == Movement.so_line),
        )
        .where(SalesOrderLine.lot_control.is_(True), Movement.kind == MovementKind.SHIP)
    ).all()
    assert shipped and all(lot and tracking == Tracking.NONE for lot, tracking in shipped)


# ---- replacing an earlier demo, and never real data ----------------------------------


def test_rebuilding_replaces_the_previous_demo_with_the_same_history(tmp_path: Path) -> None:
    path = tmp_path / "lotscan.db"
    url = sqlite_url(path)
    build_demo(url, TODAY)
    before = movements(url)
    Path(f"{path}-wal").write_bytes(b"")  # a leftover from a crash must not be replayed
    build_demo(url, TODAY)
    assert movements(url) == before


def test_a_database_holding_real_movements_is_refused_and_kept(db_url: str) -> None:
    sessions = open_database(db_url)
    with unit_of_work(sessions) as session:
        session.add_all([Part(number="P-1", description="Widget", tracking="none"),
                         Location(code="A-01", name="Rack A-01")])  # fmt: skip
        session.flush()
        Ledger(session).receive("P-1", 5, "A-01")
    sessions.kw["bind"].dispose()

    with pytest.raises(RuleViolation, match="already holds 1 movement and 1 part"):
        build_demo(db_url, TODAY)
    assert len(movements(db_url)) == 1


def test_a_sqlite_file_that_is_not_lotscan_s_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(RuleViolation, match="not lotscan's"):
        build_demo(sqlite_url(path), TODAY)
    with sqlite3.connect(path) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("invoices",)]


# ---- the command line ---------------------------------------------------------------


def test_lotscan_demo_prints_commands_that_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**os.environ, "LOTSCAN_HOME": str(tmp_path)}
    lotscan = [sys.executable, "-m", "scanner"]
    built = subprocess.run(
        [*lotscan, "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    assert f"Workspace: {tmp_path / 'demo'}" in built.stdout
    commands = [
        shlex.split(line.strip())[1:]
        for line in built.stdout.splitlines()
        if line.strip().startswith("lotscan ")
    ]
    stock = next(command for command in commands if command[0] == "stock")
    listed = subprocess.run(
        [*lotscan, *stock], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert "GP10-0415" in listed.stdout

    # The other suggestions, in-process to keep this fast.
    for command in commands:
        if command is not stock:
            assert main(command) == 0, command
            assert capsys.readouterr().out.strip()


def test_a_receipt_on_the_demo_writes_its_label_where_the_demo_says(tmp_path: Path) -> None:
    env = {**os.environ, "LOTSCAN_HOME": str(tmp_path)}
    lotscan = [sys.executable, "-m", "scanner"]
    built = subprocess.run(
        [*lotscan, "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    folder = tmp_path / "demo" / "labels"
    assert built.stdout.endswith(f"\nLabels: each a PNG file in {folder}\n")
    shift = tmp_path / "shift.txt"
    shift.write_text("OP:B1001\nCMD:RECEIVE\n(240)SEAL-GP10(10)SK-0999(30)5\n")
    replayed = subprocess.run(
        [*lotscan, "replay", "--db", sqlite_url(tmp_path / "demo" / "lotscan.db"), str(shift)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    (label,) = folder.iterdir()
    assert replayed.stderr == f"1 label queued, 1 printed: {label}\n"
    assert label.name.startswith("DM01-") and label.read_bytes().startswith(b"\x89PNG")
