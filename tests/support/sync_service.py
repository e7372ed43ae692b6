"""The central sync service on loopback, as the service tests meet it: uvicorn in a thread
over a central database with the test plant, an HTTP client, and the bodies a handheld
sends. `running` holds the service to its own OpenAPI schema: every answer an endpoint gives
in a test must be one the schema documents for it (docs/architecture.md, "Endpoints")."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from scanner.db import unit_of_work
from scanner.models import Movement
from sync.central.enrollment import issue_code
from sync.central.models import Device
from sync.central.service import address_of, listen, prepare_central
from sync.protocol import EnrollResponse, MovementIn, PullResponse, PushRequest
from tests.conftest import NOW
from tests.support.plant import add_plant

TEST_HTTP_TIMEOUT = 30.0
"""How long a test's client waits for the service's answer: what a test checks is the answer,
however busy the machine; how fast it comes is the benchmarks' business (httpx's own default
of 5 s was passed once by an enrollment on a machine loaded past 9)."""


class DocumentedAnswers:
    """An ASGI app around the service that notes each answer an endpoint gives which the
    service's OpenAPI schema does not list among that endpoint's responses. Requests no
    endpoint takes (an unknown path, a method a path does not have) are routing's answers,
    not an endpoint's, and are not noted."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.undocumented: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        documented = self._documented(scope)

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._note(scope, documented, message["status"])
            await send(message)

        await self.app(scope, receive, noting)

    def _note(self, scope: Scope, documented: set[str] | None, status: int) -> None:
        if documented is not None and str(status) not in documented:
            self.undocumented.append(f"{scope['method']} {scope['path']}: {status}")

    def _documented(self, scope: Scope) -> set[str] | None:
        """The statuses documented for the endpoint that takes this request, or None."""
        for route in self.app.routes:
            match, _child = route.matches(scope)
            if match == Match.FULL:
                path = getattr(route, "path", "")
                operation = self.app.openapi()["paths"].get(path, {})
                answers = operation.get(scope["method"].lower(), {}).get("responses")
                return set(answers) if answers is not None else None
        return None


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread; yields its URL. Every
    answer an endpoint gives must be one its OpenAPI schema documents: one that is not fails
    the test when the service stops."""
    sock = listen("127.0.0.1", 0)
    answers = DocumentedAnswers(app)
    server = uvicorn.Server(uvicorn.Config(answers, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the service did not start"
        time.sleep(0.01)
    try:
        yield address_of(sock)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
    assert not answers.undocumented, f"answers the schema does not document: {answers.undocumented}"


@dataclass
class Central:
    """The central store with the test plant, its service, and an HTTP client for it."""

    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    http: httpx.Client

    def code(self, name: str, *, supervisor: bool = False) -> str:
        with unit_of_work(self.sessions) as session:
            return issue_code(session, name, supervisor=supervisor, clock=self.clock).code

    def enroll(self, name: str, *, supervisor: bool = False) -> tuple[str, str]:
        """A device enrolled as `name`: its id and its token."""
        answer = self.http.post(
            "/v1/devices/enroll", json={"code": self.code(name, supervisor=supervisor)}
        )
        assert answer.status_code == 201, answer.text
        enrolled = EnrollResponse.model_validate(answer.json())
        return enrolled.device_id, enrolled.device_token

    def push(self, token: str | None, body: dict[str, Any]) -> httpx.Response:
        return self.http.post("/v1/sync/push", json=body, headers=bearer(token))

    def pull(self, token: str, cursor: int = 0) -> PullResponse:
        answer = self.http.get("/v1/sync/pull", params={"cursor": cursor}, headers=bearer(token))
        assert answer.status_code == 200, answer.text
        return PullResponse.model_validate(answer.json())

    def applied_seq(self, device: str) -> int:
        with unit_of_work(self.sessions) as session:
            return session.get_one(Device, device).last_applied_seq

    def ledger_count(self) -> int:
        with unit_of_work(self.sessions) as session:
            return session.scalar(select(func.count()).select_from(Movement)) or 0


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def with_plant(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
    """The central store of a plant whose reference data is already imported."""
    with unit_of_work(sessions) as session:
        add_plant(session)
    prepare_central(sessions, clock)


def receipt(seq: int, *, part: str = "BOLT", qty: str = "10") -> MovementIn:
    return MovementIn(
        seq=seq,
        id=uuid.uuid4(),
        kind="receive",
        part=part,
        qty=Decimal(qty),
        to_location="RCV",
        operator="B1001",
        happened_at=NOW,
        observed_cursor=0,
    )


def push_body(device: str, *movements: MovementIn) -> dict[str, Any]:
    request = PushRequest(
        device_id=device,
        device_time=NOW,
        app_version="test",
        queue_depth=len(movements),
        max_local_seq=max((movement.seq for movement in movements), default=0),
        movements=list(movements),
    )
    return request.model_dump(mode="json")


def error_of(answer: httpx.Response) -> tuple[int, str, str]:
    body = answer.json()
    assert set(body) == {"error", "message"}, body
    return answer.status_code, body["error"], body["message"]


def lotscan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """`lotscan ARGS` as a script runs it, in the workspace `home`."""
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        env={"LOTSCAN_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )
