"""sync_ingest_postgres: bench/sync_ingest.py on a central store in PostgreSQL, in a schema
of its own made for the run and dropped after it. The server is the one named by
LOTSCAN_BENCH_PG_URL, else LOTSCAN_TEST_PG_URL (the tests' server); without one, or when it
does not answer, the benchmark is skipped and says so. The baseline's bulk insert is COPY."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bench.result import Result, Skipped
from bench.sync_ingest import run_on
from scanner.quantity import SCALE

NAME = "sync_ingest_postgres"
COLUMNS = ("id", "device_id", "device_seq", "kind", "part", "qty", "to_location", "operator",
           "happened_at", "sync_state")  # fmt: skip


def run(scale: float) -> Result:
    base = os.environ.get("LOTSCAN_BENCH_PG_URL") or os.environ.get("LOTSCAN_TEST_PG_URL")
    if not base:
        raise Skipped("no PostgreSQL server: set LOTSCAN_BENCH_PG_URL (or LOTSCAN_TEST_PG_URL)")
    with fresh_schema(base) as url:
        return run_on(NAME, url, scale, copy_rows)


@contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """A schema of its own on the server at `base_url`, dropped afterwards; its URL."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        admin.dispose()
        raise Skipped(f"PostgreSQL at {base_url} does not answer: {error.orig}") from None
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def copy_rows(sessions: sessionmaker[Session], rows: list[dict[str, Any]]) -> None:
    """The rows with one COPY, one transaction; quantities as the store keeps them
    (thousandths)."""
    raw = sessions.kw["bind"].raw_connection()
    try:
        statement = f"COPY movements ({', '.join(COLUMNS)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = {**row, "qty": int(row["qty"] * SCALE)}
                copy.write_row([values[column] for column in COLUMNS])
        raw.commit()
    finally:
        raw.close()
