"""Shared fixtures: a migrated database (tests/support/databases.py) on SQLite and, when
LOTSCAN_TEST_PG_URL is set, on PostgreSQL (each test gets a schema of its own), a fixed
clock, and a handheld on the test plant."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy.orm import Session, sessionmaker

from scanner.workspace import sqlite_url
from tests.support.databases import open_migrated, pg_schema
from tests.support.transcripts import Floor


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported and collected lives until the run ends: frozen, the cycle
    collector no longer walks it in every full collection. pytest ends a run with five full
    collections, and an xdist worker still in them 5 s after its last test is interrupted
    (past 15 s, killed); with some 235,000 import-time objects in each pass, a busy machine
    got there."""
    gc.collect()
    gc.freeze()


settings.register_profile("lotscan", deadline=None)
settings.load_profile("lotscan")
"""No example is failed for the time it took: Hypothesis's default deadline (200 ms) is a
timed test, and on the shared 2-core machines a push or a store made for an example takes
longer whenever the machine is busy. How fast things are is measured in bench/, against a
baseline run in the same process."""

PG_URL = os.environ.get("LOTSCAN_TEST_PG_URL")
NOW = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return fixed_clock


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.pg),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "lotscan.db")
        return
    if not PG_URL:
        pytest.skip(
            "PostgreSQL tests need LOTSCAN_TEST_PG_URL (set by .ci/run when a server answers)"
        )
    with pg_schema(PG_URL) as url:
        yield url


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    factory = open_migrated(db_url)
    yield factory
    engine = factory.kw["bind"]
    engine.dispose()


@pytest.fixture
def floor(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> Floor:
    """The test plant (tests/support/plant.py) with one handheld on it, driven by transcripts."""
    return Floor.on_plant(sessions, clock)
