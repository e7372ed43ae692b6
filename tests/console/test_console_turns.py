"""A console change takes its turn with the handhelds' pushes (`console.writes`): on SQLite
it waits in the service's line of writers, and is answered busy, changing nothing, when its
turn does not come in time; on PostgreSQL it does not wait."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import console.writes
from console.models import ConsoleSignIn
from scanner.db import reading
from sync.central.models import Device
from sync.central.turns import Turns
from tests.console.conftest import sign_in_token
from tests.console.test_devices_page import enrolled
from tests.support.console_pages import console_client, form
from tests.support.waiting import until

Clock = Callable[[], datetime]


def service_turns(client: TestClient) -> Turns:
    turns = client.app.state.store.turns  # type: ignore[attr-defined]
    assert isinstance(turns, Turns)
    return turns


def status_of(sessions: sessionmaker[Session], device: str) -> str:
    with reading(sessions) as session:
        return session.get_one(Device, device).status


def one_writer(sessions: sessionmaker[Session]) -> bool:
    return bool(sessions.kw["bind"].dialect.name == "sqlite")


def test_a_console_change_waits_behind_a_push_on_sqlite_and_not_on_postgresql(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        device, _token = enrolled(client, sessions, "forklift-1")
        turns = service_turns(client)
        answers: list[httpx.Response] = []
        revoking = threading.Thread(
            target=lambda: answers.append(
                client.post(f"/console/devices/{device}/revoke", data=form(confirm="yes"))
            )
        )
        with turns.turn():  # a push holding the store
            revoking.start()
            if one_writer(sessions):
                assert until(lambda: turns.queued == 2), "the console change did not queue"
                assert revoking.is_alive() and status_of(sessions, device) == "active"
            else:
                revoking.join(timeout=30)
                assert not revoking.is_alive(), "the console change waited on PostgreSQL"
        revoking.join(timeout=30)
    assert not revoking.is_alive()
    (answer,) = answers
    assert answer.status_code == 200 and "is revoked" in answer.text
    assert status_of(sessions, device) == "revoked"
    assert turns.queued == 0


def test_a_console_change_whose_turn_does_not_come_changes_nothing(
    sessions: sessionmaker[Session], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not one_writer(sessions):
        pytest.skip("on PostgreSQL a console change does not wait for a turn")
    monkeypatch.setattr(console.writes, "CONSOLE_PATIENCE", 0.05)
    with console_client(sessions, clock) as client:
        device, _token = enrolled(client, sessions, "forklift-1")
        form_token = sign_in_token(client)
        with service_turns(client).turn():
            revoked = client.post(f"/console/devices/{device}/revoke", data=form(confirm="yes"))
            signed = client.post(
                "/console/sign-in",
                data={"csrf": form_token, "badge": "B9001", "password": "guess"},
                headers={"Referer": "http://testserver/console/sign-in?next=%2Fconsole%2F"},
            )
        assert service_turns(client).queued == 0
    # The Devices page shows the refusal where its forms show theirs ...
    assert revoked.status_code == 503
    assert "busy" in revoked.text and "nothing was recorded" in revoked.text
    assert status_of(sessions, device) == "active"
    # ... and a form that has no place for it gets the busy page, with the way back.
    assert signed.status_code == 503 and signed.headers["Retry-After"] == "5"
    assert "The store is busy" in signed.text and "nothing was recorded" in signed.text
    assert 'href="/console/sign-in?next=%2Fconsole%2F"' in signed.text
    with reading(sessions) as session:
        assert session.scalar(select(func.count()).select_from(ConsoleSignIn)) == 0
