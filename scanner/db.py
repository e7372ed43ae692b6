"""Building the database engine from configuration, and bringing its schema up to date.

Nothing here runs at import time: callers ask for an engine with `open_database(url)`.
A database already at the newest migration (every start of a handheld but the first after
an upgrade) is recognised from its `alembic_version` row alone, without loading Alembic.
SQLAlchemy itself is imported when a database is opened, not with this module: `lotscan`
imports it, and a handheld's start draws its first frame before it opens its database with
the ORM (`scanner.device_start`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.device_start import HEAD as HEAD  # the start reads it without SQLAlchemy
from scanner.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection, Engine
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "lotscan_read_only"
DRIVER_TRANSACTION = "lotscan.driver_transaction"
"""Where `driver_transaction` puts the connection whose transaction it runs on the driver,
in the session's `info`, for as long as it runs (`scanner.cursor_statements` looks there)."""


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite runs in WAL mode with synchronous=FULL and foreign keys on,
    so a movement the operator saw confirmed survives a crash or a power cut."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import DBAPIError

    if not url.startswith("sqlite"):
        # Imported here: a handheld's SQLite start never loads the models' PostgreSQL side.
        from scanner.models import on_postgresql

        on_postgresql()
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A writer takes the write lock up front: two writers that both read first would
        # otherwise deadlock on the upgrade, and one would fail with "database is locked".
        # Readers (see `reading`) need no lock in WAL mode. On the driver's cursor: every
        # scan begins a transaction, and `exec_driver_sql` cost more than the BEGIN.
        if connection.connection.dbapi_connection.in_transaction:
            return  # begun on the driver already, with the write lock (driver_transaction)
        read_only = connection.get_execution_options().get(READ_ONLY)
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        cursor = connection.connection.cursor()
        try:
            cursor.execute(statement)
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                statement, (), error, sqlite3.Error, dialect=connection.dialect
            ) from error
        finally:
            cursor.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    # Imported here: a start on a current schema never needs Alembic (see `migrate`).
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; queued movements are kept. A database that
    records exactly the newest revision is left as it is without asking Alembic, whose
    import alone is a good part of a handheld's start; anything else (a new database, an
    older schema, a revision this version does not know) goes through Alembic."""
    if recorded_revisions(engine) == [HEAD]:
        return
    # Imported here: Alembic's command machinery is only needed when there is work to do.
    from alembic import command

    with migration_lock(engine):
        if recorded_revisions(engine) != [HEAD]:  # another process may have just done it
            command.upgrade(alembic_config(engine), "head")


MIGRATION_LOCK = "lotscan migration of schema "
"""With the schema's name, what `migration_lock` hashes into PostgreSQL's advisory lock key."""


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """On PostgreSQL, holds a session advisory lock of the schema for as long as a migration
    runs: two `lotscan serve` started at once on a new database would otherwise both create
    its tables, and the second fail on the first's. SQLite needs none: one migration's
    transaction holds the file's write lock."""
    if engine.dialect.name != "postgresql":
        yield
        return
    from sqlalchemy import text

    with engine.connect() as connection:
        lock = connection.scalar(
            text("SELECT hashtext(:name || current_schema())"), {"name": MIGRATION_LOCK}
        )
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock})
            connection.commit()


def recorded_revisions(engine: Engine) -> list[str] | None:
    """The revisions in the database's `alembic_version` table; None when it has none (a
    new database). Reads only, so it takes no write lock."""
    from sqlalchemy.exc import DBAPIError

    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        try:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        except DBAPIError:
            return None  # no such table yet; a failure to connect is raised above
        return list(rows.scalars())


def open_database(url: str) -> sessionmaker[Session]:
    """The session factory for a migrated database at `url`."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
    from sqlalchemy.orm import sessionmaker

    try:
        engine = make_engine(url)
        migrate(engine)
    except (ArgumentError, NoSuchModuleError) as error:
        raise DatabaseUnavailable(
            f"{url} is not a database URL lotscan can use ({error})"
        ) from None
    except DBAPIError as error:
        raise DatabaseUnavailable(f"Cannot open {shown(url)}: {database_reason(error)}") from None
    return sessionmaker(engine, expire_on_commit=False)


def shown(url: str) -> str:
    """The URL with any password masked, fit for a message."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def database_reason(error: DBAPIError) -> str:
    """The driver's own first line: "Connection refused", "file is not a database"."""
    text = str(error.orig).strip() or type(error.orig).__name__
    return text.splitlines()[0]


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with sessions() as session, session.begin():
        yield session


@contextmanager
def driver_transaction(session: Session, connection: Connection) -> Iterator[None]:
    """One write transaction of `session` on `connection` (the SQLite connection the session
    is bound to), begun and committed on the driver itself: committed durably when the block
    ends, rolled back if it raises. A handheld's scan runs in one (`scanner.workflows.
    engine`): the session's and the connection's own transactions, their objects and events
    around a BEGIN and a COMMIT, cost several times the BEGIN and the COMMIT. Statements
    prepared once (`scanner.cursor_statements`) run on the connection without the session;
    should the session flush or query, its transaction joins this one (`make_engine`'s
    `begin` does not begin again), and its commit is this one's."""
    driver = connection.connection.dbapi_connection
    assert driver is not None
    # The write lock up front, as `make_engine`'s `begin` takes it.
    _on_driver(connection, "BEGIN IMMEDIATE", driver.execute, "BEGIN IMMEDIATE")
    session.info[DRIVER_TRANSACTION] = connection
    try:
        yield
        session.flush()  # what the block left pending (it may begin the session's)
        if session.in_transaction():
            session.commit()
        else:
            _on_driver(connection, "COMMIT", driver.commit)
    except BaseException:
        if session.in_transaction():
            session.rollback()
        if driver.in_transaction:
            _on_driver(connection, "ROLLBACK", driver.rollback)
        raise
    finally:
        del session.info[DRIVER_TRANSACTION]


def _on_driver(connection: Connection, statement: str, call: Any, *args: Any) -> None:
    """`call(*args)` on the driver, a failure raised as SQLAlchemy raises it."""
    from sqlalchemy.exc import DBAPIError

    try:
        call(*args)
    except sqlite3.Error as error:
        raise DBAPIError.instance(
            statement, (), error, sqlite3.Error, dialect=connection.dialect
        ) from error


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for queries only: on SQLite it takes no write lock, so a trace or a stock
    listing never waits for (or holds up) a handheld recording a movement."""
    engine = sessions.kw["bind"]
    with sessions(bind=engine.execution_options(**{READ_ONLY: True})) as session:
        yield session
        session.rollback()
