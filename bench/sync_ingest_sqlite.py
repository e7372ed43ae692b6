"""sync_ingest_sqlite: bench/sync_ingest.py on a central store in a SQLite file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, sessionmaker

from bench.result import Result
from bench.sync_ingest import run_on
from scanner.db import unit_of_work
from scanner.models import Movement
from scanner.workspace import sqlite_url

NAME = "sync_ingest_sqlite"


def run(scale: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="lotscan-bench-") as folder:
        return run_on(NAME, sqlite_url(Path(folder) / "central.db"), scale, bulk_insert)


def bulk_insert(sessions: sessionmaker[Session], rows: list[dict[str, Any]]) -> None:
    """The rows in one executemany INSERT, one transaction, committed durably."""
    table = Movement.__table__
    assert isinstance(table, Table)
    with unit_of_work(sessions) as session:
        session.connection().execute(insert(table), rows)
