"""Migrated databases for tests, made without running Alembic each time.

Migrating a new database costs about 0.16 s on SQLite and 0.4 s for a PostgreSQL schema,
nearly all of it Alembic's own Python; hundreds of tests start from a migrated database.
So each test process migrates once per backend and copies the result: a SQLite file is
copied, and a PostgreSQL schema gets the statements its migration ran, replayed in one
transaction. Either way the database records the newest revision, so `open_database` finds
it current and leaves it alone. tests/scanner/test_db.py still migrates for real.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import alembic_config, make_engine, open_database
from scanner.workspace import sqlite_url


def open_migrated(url: str) -> sessionmaker[Session]:
    """`open_database(url)` for an empty database (a SQLite file not there yet, or an empty
    PostgreSQL schema), which starts at the newest schema without a migration."""
    prefill(url)
    return open_database(url)


def prefill(url: str) -> None:
    """Gives the empty database at `url` the newest schema, as a migration would."""
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        if not path.exists():
            shutil.copyfile(sqlite_template(), path)
        return
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            cursor = connection.connection.cursor()
            for statement, parameters, many in migration_statements(_server(url)):
                if many:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
    finally:
        engine.dispose()


@functools.cache
def sqlite_template() -> Path:
    """An empty SQLite database at the newest migration, made once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="lotscan-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "template.db"
    open_database(sqlite_url(path)).kw["bind"].dispose()
    return path


@functools.cache
def migration_statements(server: str) -> tuple[tuple[str, Any, bool], ...]:
    """What Alembic sends to a PostgreSQL server when it migrates an empty schema, recorded
    once on a scratch schema of `server` (a URL without a search path)."""
    from alembic import command

    recorded: list[tuple[str, Any, bool]] = []
    with pg_schema(server) as url:
        engine = make_engine(url)
        with engine.connect():
            pass  # the dialect's first-connection queries are not the migration's

        @event.listens_for(engine, "before_cursor_execute")
        def _record(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
        ) -> None:
            recorded.append((statement, parameters, many))

        try:
            command.upgrade(alembic_config(engine), "head")
        finally:
            engine.dispose()
    return tuple(recorded)


class pg_schema:
    """A throwaway PostgreSQL schema; the URL it yields makes it the search path."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(base_url, isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        separator = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{separator}options=-csearch_path%3D{self.schema}"

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


def _server(url: str) -> str:
    """The URL without the search path `pg_schema` adds to it."""
    parsed = make_url(url)
    query = {k: v for k, v in parsed.query.items() if k != "options"}
    return parsed.set(query=query).render_as_string(hide_password=False)
