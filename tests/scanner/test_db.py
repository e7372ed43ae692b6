"""The database: SQLite's durability settings, and migrations that match the models."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, insert, text

from scanner.cursor_statements import Prepared
from scanner.db import (
    HEAD,
    alembic_config,
    driver_transaction,
    make_engine,
    migrate,
    open_database,
    reading,
)
from scanner.models import Base, Setting
from scanner.workspace import database_url, sqlite_url

# The packages `pip install` puts in place (pyproject.toml).
PACKAGES = ("scanner", "labels", "sync", "screens", "console")
# Running either would start something: `python -m scanner`, or a migration.
NOT_IMPORTED = ("scanner.__main__", "scanner.migrations.env")


def test_sqlite_runs_in_wal_mode_with_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "device.db"))
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_the_migrations_build_exactly_the_schema_the_models_describe(db_url: str) -> None:
    # `alembic check`: autogenerate, run through env.py, finds nothing to change. In a fresh
    # interpreter, so that only the model modules env.py imports are compared (the test
    # below makes sure they are all of them).
    _run_python(
        "import sys; from alembic import command; "
        "from scanner.db import alembic_config, make_engine, migrate; "
        "engine = make_engine(sys.argv[1]); migrate(engine); "
        "command.check(alembic_config(engine)); engine.dispose()",
        db_url,
    )


def test_the_alembic_environment_sees_every_table_defined_on_the_models_base(
    tmp_path: Path,
) -> None:
    # A model module that env.py does not import would be left out of autogenerate and of
    # the check above: its tables would never be compared with the migrated schema.
    seen_by_alembic = _run_python(
        "import sys; from scanner.db import make_engine, migrate; "
        "from scanner.models import Base; "
        "engine = make_engine(sys.argv[1]); migrate(engine); engine.dispose(); "
        "print(*sorted(Base.metadata.tables))",
        sqlite_url(tmp_path / "new.db"),
    ).split()
    assert seen_by_alembic == sorted(_every_table_on_the_models_base())


def _every_table_on_the_models_base() -> set[str]:
    """The tables on `Base.metadata` once every module of the project is imported."""
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        for module in pkgutil.walk_packages(path, prefix=f"{package}."):
            if module.name not in NOT_IMPORTED:
                importlib.import_module(module.name)
    return set(Base.metadata.tables)


def _run_python(code: str, *args: str) -> str:
    """What `code` prints, run by a new Python process; fails the test if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_migrating_twice_changes_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()


def test_head_names_the_newest_migration() -> None:
    engine = make_engine("sqlite://")
    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == HEAD
    engine.dispose()


def test_a_handheld_upgrading_from_an_older_schema_keeps_its_queued_movements(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0002")  # before the sync migration
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO parts (number, description, tracking, backflush, uom)"
                " VALUES ('P-1', 'Bolt', 'none', false, 'ea')"
            )
        )
        connection.execute(
            text("INSERT INTO locations (code, name, kind) VALUES ('RCV', 'Receiving', 'dock')")
        )
        for seq in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO movements (id, device_id, device_seq, kind, part, qty,"
                    " to_location, happened_at)"
                    " VALUES (:id, 'HH01', :seq, 'receive', 'P-1', 5, 'RCV', :at)"
                ),
                {"id": uuid.uuid4().hex, "seq": seq, "at": "2026-11-02 08:30:00+00:00"},
            )
    engine.dispose()
    sessions = open_database(db_url)
    with reading(sessions) as session:
        assert session.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
        queued = session.execute(
            text("SELECT device_seq, sync_state FROM movements ORDER BY device_seq")
        ).all()
    assert queued == [(1, "pending"), (2, "pending")]
    sessions.kw["bind"].dispose()


def test_opening_a_current_database_leaves_alembic_unloaded(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "device.db")
    open_database(url).kw["bind"].dispose()  # made and migrated
    code = (
        "import sys; from scanner.db import open_database; "
        f"open_database({url!r}).kw['bind'].dispose(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_workspace_database_lives_in_lotscan_home(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LOTSCAN_HOME", str(tmp_path / "ws"))
    url = database_url()
    assert url == sqlite_url(tmp_path / "ws" / "lotscan.db")
    assert (tmp_path / "ws").is_dir()
    open_database(url).kw["bind"].dispose()
    assert (tmp_path / "ws" / "lotscan.db").exists()
    assert database_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"


def test_a_reader_does_not_hold_up_a_writer_on_sqlite(tmp_path: Path) -> None:
    sessions = open_database(sqlite_url(tmp_path / "device.db"))
    writer = sessions.kw["bind"].connect()
    with reading(sessions) as session:
        session.execute(text("SELECT count(*) FROM movements")).scalar()
        # With the reader's transaction open, a writer still gets its lock at once.
        with writer.begin():
            writer.execute(text("INSERT INTO settings (key, value) VALUES ('k', 'v')"))
    writer.close()
    sessions.kw["bind"].dispose()


def test_a_driver_transaction_commits_what_its_statements_and_its_session_wrote(
    tmp_path: Path,
) -> None:
    sessions = open_database(sqlite_url(tmp_path / "device.db"))
    connection = sessions.kw["bind"].connect()
    session = sessions(bind=connection)
    with driver_transaction(session, connection):
        _ADD_SETTING.run(session, {"key": "plain", "value": "1"})  # on the driver only
        assert not session.in_transaction()
        session.add(Setting(key="orm", value="2"))  # flushed at the end: the session joins
    assert not session.in_transaction()
    assert not connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    session.close()
    with reading(sessions) as other:  # another connection sees both, committed
        assert dict(other.execute(text("SELECT key, value FROM settings")).all()) == {
            "plain": "1",
            "orm": "2",
        }
    connection.close()
    sessions.kw["bind"].dispose()


def test_a_driver_transaction_that_raises_writes_nothing(tmp_path: Path) -> None:
    sessions = open_database(sqlite_url(tmp_path / "device.db"))
    connection = sessions.kw["bind"].connect()
    session = sessions(bind=connection)
    for joined in (False, True):
        with pytest.raises(RuntimeError), driver_transaction(session, connection):
            _ADD_SETTING.run(session, {"key": "plain", "value": "1"})
            if joined:
                session.add(Setting(key="orm", value="2"))
                session.flush()  # the session's transaction, within the driver's
                assert session.in_transaction()
            raise RuntimeError("refused")
        assert not session.in_transaction()
        assert not connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
        session.close()
    with reading(sessions) as other:
        assert other.execute(text("SELECT count(*) FROM settings")).scalar() == 0
    connection.close()
    sessions.kw["bind"].dispose()


_ADD_SETTING = Prepared(
    insert(Setting.__table__).values(key=bindparam("key"), value=bindparam("value"))
)
