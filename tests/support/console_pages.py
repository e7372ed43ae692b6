"""The central service with the console mounted, for the Devices and Exceptions page tests:
a TestClient on both, with a supervisor (or quality) signed in by standing in for the
session lookup behind `console.guard.signed_in`, so the real guard (and its CSRF check on
every form) runs while sign-in itself is written elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from unittest.mock import patch

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Mount

from console.app import PREFIX, mount_console
from console.guard import CSRF_FIELD, SignedIn
from sync.central.service import create_app
from tests.support.sync_service import with_plant

SUPERVISOR = SignedIn(
    badge="B9001", name="Sam Okafor", role="supervisor", session_id="s1", csrf_token="csrf-1"
)
QUALITY = SignedIn(
    badge="Q1", name="Quinn Lee", role="quality", session_id="s2", csrf_token="csrf-2"
)


@contextmanager
def console_client(
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    who: SignedIn = SUPERVISOR,
    *,
    plant: bool = True,
) -> Iterator[TestClient]:
    """The test plant's central store (`plant`: set it up first), its API and console on
    one TestClient, `who` signed in to the console."""
    if plant:
        with_plant(sessions, clock)
    app = create_app(sessions, clock)
    mount_console(app, sessions, clock)
    with (
        patch("console.sessions.session_of", lambda _request: who),
        TestClient(app) as client,
    ):
        yield client


def console_app(app: FastAPI) -> FastAPI:
    (mounted,) = [r for r in app.routes if isinstance(r, Mount) and r.path == PREFIX]
    assert isinstance(mounted.app, FastAPI)
    return mounted.app


def form(who: SignedIn = SUPERVISOR, **fields: Any) -> dict[str, Any]:
    """A console form's fields with `who`'s CSRF token."""
    return {CSRF_FIELD: who.csrf_token, **fields}
