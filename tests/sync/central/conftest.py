"""The central service on loopback with the test plant, for the service tests
(tests/support/sync_service.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from sync.central.service import create_app
from tests.support.sync_service import TEST_HTTP_TIMEOUT, Central, running, with_plant


@pytest.fixture
def central(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> Iterator[Central]:
    with_plant(sessions, clock)
    with (
        running(create_app(sessions, clock)) as url,
        httpx.Client(base_url=url, timeout=TEST_HTTP_TIMEOUT) as http,
    ):
        yield Central(sessions, clock, http)
