"""Fuzzed requests against the central service's own OpenAPI schema (schemathesis): valid
and invalid bodies, parameters, headers and methods for every endpoint, sent with a real
handheld's token and with a real supervisor's. Whatever a client sends, the answer is never
a 5xx, and always one the schema documents for the endpoint.

So that the fuzzing reaches past the first refusal into the store's logic, pushes carry the
fuzzing device's own id (else nearly all would stop at 403 wrong_device), and resolutions
name exceptions that exist: the store starts with a few held and flagged movements."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, status_code_conformance
from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.db import unit_of_work
from scanner.workspace import sqlite_url
from sync.central.enrollment import authenticate, enroll, issue_code
from sync.central.models import SyncException
from sync.central.push import push
from sync.central.service import create_app, prepare_central
from sync.protocol import EnrollRequest, MovementIn, PushRequest
from tests.conftest import NOW
from tests.support.databases import open_migrated
from tests.support.plant import add_plant

FuzzCase = schemathesis.Case[Any]
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,  # the same requests on every run, so CI does not flip
)


@dataclass(frozen=True)
class Fuzzed:
    schema: schemathesis.BaseSchema
    device: str
    token: str
    exceptions: list[int]

    def aim(self, case: FuzzCase) -> None:
        """Points a generated request at this store's own device and exceptions."""
        if isinstance(case.body, dict) and isinstance(case.body.get("device_id"), str):
            case.body["device_id"] = self.device
        wanted = (case.path_parameters or {}).get("exception_id")
        if isinstance(wanted, int) and 1 <= wanted < 2**31:
            case.path_parameters["exception_id"] = self.exceptions[wanted % len(self.exceptions)]

    def send(self, case: FuzzCase) -> None:
        self.aim(case)
        case.call_and_validate(
            headers={"Authorization": f"Bearer {self.token}"},
            checks=[not_a_server_error, status_code_conformance],
        )


def fuzzed_central(tmp_path: Path, clock: Callable[[], datetime], *, supervisor: bool) -> Fuzzed:
    """A central store on SQLite with the test plant and a few open exceptions, the schema
    of its service, and a device enrolled on it."""
    sessions = open_migrated(sqlite_url(tmp_path / "central.db"))
    with unit_of_work(sessions) as session:
        add_plant(session)
    prepare_central(sessions, clock)
    with unit_of_work(sessions) as session:
        _add_exceptions(session, clock)
        issued = issue_code(session, "fuzzer", supervisor=supervisor, clock=clock)
        token = enroll(session, EnrollRequest(code=issued.code), clock=clock).device_token
        exceptions = list(session.scalars(select(SyncException.id)))
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(sessions, clock))
    return Fuzzed(schema, issued.device, token, exceptions)


def _add_exceptions(session: Session, clock: Callable[[], datetime]) -> None:
    """Another handheld's movements the store holds (unknown parts) or flags (stock taken
    from where there was none)."""
    issued = issue_code(session, "forklift-1", clock=clock)
    token = enroll(session, EnrollRequest(code=issued.code), clock=clock).device_token
    device = authenticate(session, token, clock=clock)
    moves = [
        ("receive", "NO-SUCH-PART", None, "RCV"),
        ("move", "BOLT", "A-01", "A-02"),
        ("receive", "ALSO-UNKNOWN", None, "RCV"),
        ("move", "BOLT", "A-02", "SHIP"),
    ]
    movements = [
        MovementIn(
            seq=seq,
            id=uuid.uuid4(),
            kind=kind,  # type: ignore[arg-type]
            part=part,
            qty=Decimal(3),
            from_location=source,
            to_location=target,
            operator="B1001",
            happened_at=NOW,
        )
        for seq, (kind, part, source, target) in enumerate(moves, start=1)
    ]
    request = PushRequest(
        device_id=device.id,
        device_time=NOW,
        queue_depth=len(movements),
        max_local_seq=len(movements),
        movements=movements,
    )
    push(session, device, request, clock=clock)


@pytest.fixture
def handheld(tmp_path: Path, clock: Callable[[], datetime]) -> Fuzzed:
    return fuzzed_central(tmp_path, clock, supervisor=False)


@pytest.fixture
def supervisor(tmp_path: Path, clock: Callable[[], datetime]) -> Fuzzed:
    return fuzzed_central(tmp_path, clock, supervisor=True)


@pytest.fixture
def handheld_schema(handheld: Fuzzed) -> schemathesis.BaseSchema:
    return handheld.schema


@pytest.fixture
def supervisor_schema(supervisor: Fuzzed) -> schemathesis.BaseSchema:
    return supervisor.schema


handheld_api = schemathesis.pytest.from_fixture("handheld_schema")
supervisor_api = schemathesis.pytest.from_fixture("supervisor_schema")


def test_the_fuzzed_store_has_exceptions_to_resolve(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    """The premise of the supervisor's fuzzing: there is something to resolve."""
    assert len(fuzzed_central(tmp_path, clock, supervisor=True).exceptions) >= 3


@handheld_api.parametrize()
@FUZZ
def test_no_request_with_a_handheld_token_gets_a_server_error(
    case: FuzzCase, handheld: Fuzzed
) -> None:
    handheld.send(case)


@supervisor_api.parametrize()
@FUZZ
def test_no_request_with_a_supervisor_token_gets_a_server_error(
    case: FuzzCase, supervisor: Fuzzed
) -> None:
    supervisor.send(case)
