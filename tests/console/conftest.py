"""The central service with the console mounted, on the test plant (SQLite, and PostgreSQL
when LOTSCAN_TEST_PG_URL is set), driven by FastAPI's TestClient, with a clock a test moves.

On the plant, Sam Okafor (B9001) is a supervisor and Ana Ruiz (B1001) a floor operator;
here Quinn Lee (Q7001) joins as quality staff. Sam and Quinn have the console password
`PASSWORD`; so has Ana, set by hand (the CLI refuses a floor operator), so that a test can
show a floor badge is refused even with the right password.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from console.app import mount_console
from scanner.db import unit_of_work
from scanner.models import Operator
from scanner.passwords import hash_password
from sync.central.service import create_app
from tests.conftest import NOW
from tests.support.sync_service import with_plant

PASSWORD = "correct horse battery"
SUPERVISOR = "B9001"
QUALITY = "Q7001"
FLOOR = "B1001"


@dataclass
class MovableClock:
    """The store's clock, which a test moves on."""

    now: datetime = field(default=NOW)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **by: float) -> None:
        self.now += timedelta(**by)


@functools.cache
def password_hash() -> str:
    """`PASSWORD`'s hash, made once (Argon2 takes a while on purpose)."""
    return hash_password(PASSWORD)


@pytest.fixture
def movable_clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def central_app(sessions: sessionmaker[Session], movable_clock: MovableClock) -> FastAPI:
    """The central service on the test plant with the console under /console, its
    supervisor, quality staff and floor operator given the password `PASSWORD`."""
    with_plant(sessions, movable_clock)
    with unit_of_work(sessions) as session:
        session.add(Operator(badge=QUALITY, name="Quinn Lee", role="quality"))
        session.flush()
        for badge in (SUPERVISOR, QUALITY, FLOOR):
            session.get_one(Operator, badge).password_hash = password_hash()
    app = create_app(sessions, movable_clock)
    mount_console(app, sessions, movable_clock)
    return app


@pytest.fixture
def browser(central_app: FastAPI) -> Iterator[TestClient]:
    """A browser on the service over plain HTTP: it follows no redirect by itself."""
    with TestClient(central_app, follow_redirects=False) as client:
        yield client


def sign_in(
    client: TestClient, badge: str = SUPERVISOR, password: str = PASSWORD, **fields: str
) -> httpx.Response:
    """Fetches the sign-in form and posts it, as a browser does (with the form's own CSRF
    token, `console.signing`)."""
    token = sign_in_token(client)
    data = {"csrf": token, "badge": badge, "password": password, **fields}
    return client.post("/console/sign-in", data=data)


def sign_in_token(client: TestClient) -> str:
    """The CSRF token of the sign-in form the browser fetches now (its cookie comes with it)."""
    page = client.get("/console/sign-in")
    assert page.status_code == 200
    found = re.search(r'<input type="hidden" name="csrf" value="([^"]+)">', page.text)
    assert found is not None, page.text
    return found.group(1)
