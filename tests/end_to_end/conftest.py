"""The sync service on loopback for the end-to-end tests: one uvicorn thread per test module,
with each test's central store switched in (tests/support/sync_over_http.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sync_over_http import ServiceThread, Site, Switchboard, shared_service


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[ServiceThread, Switchboard]]:
    """One uvicorn thread on loopback for the module; each test's store is switched in."""
    with shared_service() as running:
        yield running


@pytest.fixture
def site(db_url: str, tmp_path: Path, service: tuple[ServiceThread, Switchboard]) -> Iterator[Site]:
    """The test plant on a central store (SQLite, or PostgreSQL) served on loopback."""
    plant = Site(db_url, tmp_path)
    plant.serve_on(*service)
    yield plant
    plant.close()
