"""What the service keeps up beside the pushes: SQLite's checkpoints run beside its commits
(sync/central/checkpoints.py), so the commits no longer copy the log back and nothing
committed is lost; on PostgreSQL without autovacuum, the analysis of what changed
(sync/central/analyze.py)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from scanner.db import unit_of_work
from scanner.models import Operator
from scanner.workspace import sqlite_url
from sync.central.analyze import NOTICE, Analyzer
from sync.central.checkpoints import Checkpointer
from tests.support.databases import open_migrated
from tests.support.waiting import until


def _operators_in_the_file(path: Path, copy: Path) -> int:
    """How many operators the database file holds without its log: a copy of the file
    alone, opened where no log lies beside it."""
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as connection:
        count: int = connection.execute("SELECT count(*) FROM operators").fetchone()[0]
    return count


def test_the_thread_checkpoints_what_the_commits_leave_in_the_log(tmp_path: Path) -> None:
    path = tmp_path / "central.db"
    sessions = open_migrated(sqlite_url(path))
    engine = sessions.kw["bind"]
    idle = Checkpointer(engine, every=3600)  # started, but not due in this test
    idle.start()
    try:
        with unit_of_work(sessions) as session:
            assert session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        for badge in range(1, 1501):
            with unit_of_work(sessions) as session:
                session.add(Operator(badge=f"B{badge}", name=f"Operator {badge}"))
        # 1,500 commits of a page or more each, well past SQLite's own line of 1,000
        # pages: none of them copied the log back into the file.
        assert (tmp_path / "central.db-wal").stat().st_size > 1000 * 4096
        assert _operators_in_the_file(path, tmp_path / "before.db") == 0
    finally:
        idle.stop()

    checkpoints = Checkpointer(engine, every=0.01)
    checkpoints.start()
    try:
        assert until(lambda: checkpoints.checkpoints >= 2)
    finally:
        checkpoints.stop()
    assert _operators_in_the_file(path, tmp_path / "after.db") == 1500
    engine.dispose()


def test_a_store_on_a_server_without_autovacuum_analyzes_what_changed(db_url: str) -> None:
    """sync/central/analyze.py: autovacuum's rule (more than 50 rows and a tenth changed
    since the last analysis), for the store's own schema only."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's statistics")
    sessions = open_migrated(db_url)
    engine = sessions.kw["bind"]
    analyzer = Analyzer(engine, every=0.05, always=True)
    assert analyzer.start()
    try:
        with unit_of_work(sessions) as session:
            session.add_all(Operator(badge=f"B{n}", name=f"Operator {n}") for n in range(200))
        assert until(lambda: any(".operators" in done for done in analyzer.analyzed))
    finally:
        analyzer.stop()
    with unit_of_work(sessions) as session:
        analyzed = session.execute(
            text(
                "SELECT last_analyze IS NOT NULL, n_mod_since_analyze FROM pg_stat_user_tables"
                " WHERE schemaname = current_schema() AND relname = 'operators'"
            )
        ).one()
    assert analyzed == (True, 0)
    with unit_of_work(sessions) as session:
        autovacuum = session.execute(text("SHOW autovacuum")).scalar()
    assert analyzer.notice == (None if autovacuum == "on" else NOTICE)
    assert all(statement.startswith("ANALYZE ") for statement in analyzer.analyzed)
    engine.dispose()
