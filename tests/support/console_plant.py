"""The demo plant on a central store, with the office console in front of it and a
signed-in operator, for the console's page tests (tests/console/).

Sign-in is the accounts pages' own business: these tests stand a signed-in session in for
it (`console.sessions.session_of`), so every page and form still goes through the guard
(`console.guard.signed_in`, `checked_form`) as a real session would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from console.app import mount_console
from console.guard import CSRF_FIELD, SignedIn
from scanner.db import open_database, unit_of_work
from scanner.demo import build_demo
from sync.central.changes import ensure_central

SUPERVISOR = SignedIn("B1010", "Mark Jensen", "supervisor", "session-1", "csrf-token-1")
QUALITY = SignedIn("B1020", "Ines Duarte", "quality", "session-2", "csrf-token-2")


@dataclass(frozen=True)
class Console:
    """The console on the demo's central store, as `who` sees it."""

    http: TestClient
    sessions: sessionmaker[Session]
    who: SignedIn

    def post(self, path: str, fields: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        data = {**fields, **({CSRF_FIELD: self.who.csrf_token} if csrf else {})}
        answer: httpx.Response = self.http.post(path, data=data, follow_redirects=False)
        return answer


@contextmanager
def demo_console(
    db_url: str,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
    who: SignedIn = SUPERVISOR,
) -> Iterator[Console]:
    """The demo built on `db_url`, made a central store, served with the console."""
    build_demo(db_url, clock().date())
    sessions = open_database(db_url)
    with unit_of_work(sessions) as session:
        ensure_central(session)
    monkeypatch.setattr("console.sessions.session_of", lambda request: who)
    app = FastAPI()
    mount_console(app, sessions, clock)
    try:
        with TestClient(app) as http:
            yield Console(http, sessions, who)
    finally:
        sessions.kw["bind"].dispose()
