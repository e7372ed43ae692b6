"""The central sync service (docs/architecture.md, "Endpoints"): handhelds enroll, push their
movements and pull changes; supervisors' devices list devices, issue codes, revoke, and
resolve exceptions.

The service holds no state of its own: every request is one transaction on the central
database, so several instances may share one PostgreSQL behind a load balancer. Endpoints
are plain functions, which FastAPI runs in its thread pool, so a slow database holds up a
worker thread and never the event loop.

Every error is `{"error": code, "message": words}`. A request a client can send never gets a
500: bad input is a 4xx saying what is wrong, and a database that is down, locked or
refusing a transaction is 503 `retry_later` with nothing committed.
"""

from __future__ import annotations

import codecs
import json
import logging
import socket
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import psycopg
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, StringConstraints, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanner.clock import Clock, utc_now
from scanner.cycle_collector import settle_collector
from scanner.db import database_reason, open_database, reading, shown, unit_of_work
from scanner.errors import DatabaseUnavailable, LotscanError, NotFound
from scanner.plain_text import shown as spelled_out
from sync.central import enrollment, supervision
from sync.central.analyze import Analyzer
from sync.central.checkpoints import Checkpointer
from sync.central.errors import SyncError
from sync.central.models import Device, DeviceRole
from sync.central.pull import publish_reference
from sync.central.pull import pull as pull_changes
from sync.central.push import push as push_movements
from sync.central.snapshot import snapshot_page
from sync.central.turns import Turns
from sync.exception_codes import ExceptionCode
from sync.protocol import (
    MAX_BATCH,
    MAX_PULL,
    PROTOCOL,
    SNAPSHOT_KINDS,
    SNAPSHOT_PAGE,
    Code,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    PullResponse,
    PushRequest,
    PushResponse,
    SnapshotPage,
    SnapshotPlace,
    Strict,
    Words,
)
from sync.wire_values import PLAIN, Flag, Quantity, QueryWhole, text_problem

MAX_BODY = 5 * 1024 * 1024  # a full batch of 500 movements is well under 1 MB
PUSH_PATH = "/v1/sync/push"  # the one body that says its protocol
# A page of exceptions: each carries its movement (about 1 KB), so the largest page is about
# 1 MB, read in well under a second, where all 90,000 of a flood were 104 MB and 6.8 s.
EXCEPTIONS_PAGE = 200
MAX_EXCEPTIONS_PAGE = 1000
RETRY_AFTER = "5"  # seconds; the device backs off further on its own

log = logging.getLogger("lotscan.service")


# ---- bodies only the supervisor endpoints use ---------------------------------------------


class NewDevice(Strict):
    name: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=80), PLAIN]
    supervisor: Flag = False


class IssuedCodeBody(Strict):
    device: str
    code: str
    expires_at: datetime
    # The role the device takes when it redeems the code; until then it keeps its own.
    role: Literal["handheld", "supervisor"]


class NewRole(Strict):
    role: Literal["handheld", "supervisor"]
    reason: Words | None = None
    # The badge of the supervisor signed in on the device asking, named as the one who did it.
    operator: Code | None = None


class DeviceRoleBody(Strict):
    device: str
    name: str
    role: str
    role_changed_at: datetime
    role_changed_by: str


class RevokedDevice(Strict):
    device: str
    name: str
    status: str
    revoked_at: datetime | None
    revoked_by: str | None = None


class Resolution(Strict):
    action: Literal["apply", "void", "adjust", "dismiss"]
    qty: Quantity | None = None
    location: Code | None = None
    reason: Words | None = None
    # The badge of the supervisor signed in on the handheld, named as the one who decided.
    operator: Code | None = None


class BulkVoid(Strict):
    device: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    code: ExceptionCode | None = None
    part: Code | None = None
    reason: Words
    operator: Code | None = None


class BulkVoided(Strict):
    voided: int
    device: str | None
    code: ExceptionCode | None
    part: str | None
    reason: str


class Health(Strict):
    status: Literal["ok"]
    server_time: datetime


ExceptionFilter = Literal["open", "resolved", "auto_cleared", "all"]


# ---- the application --------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """What every endpoint works on: the central database and the clock it stamps with."""

    sessions: sessionmaker[Session]
    clock: Clock
    turns: Turns = field(default_factory=Turns)
    """The queue writers wait in, first come first served (`sync.central.turns`)."""

    @property
    def one_writer(self) -> bool:
        """Whether the database lets one transaction write at a time (SQLite's one file
        lock), so that every writer, not only a push, waits for its turn."""
        dialect: str = self.sessions.kw["bind"].dialect.name
        return dialect == "sqlite"

    @contextmanager
    def pushing(self, request: Request) -> Iterator[Session]:
        """A push's transaction, in its turn: pushes write the change log's clock row, so
        they run one at a time on either database, in the order they came."""
        with self.turns.turn(arrived_at(request)), unit_of_work(self.sessions) as session:
            yield session

    @contextmanager
    def writing(self, patience: float | None = None) -> Iterator[Session]:
        """Any other writing transaction: in its turn on SQLite (waiting up to `patience`
        seconds, the queue's own by default), at once on PostgreSQL."""
        if not self.one_writer:
            with unit_of_work(self.sessions) as session:
                yield session
            return
        with self.turns.turn(patience=patience), unit_of_work(self.sessions) as session:
            yield session


Extension = Callable[[FastAPI, "sessionmaker[Session]"], None]
"""What `serve` lets the composition root add to the app before it runs."""


def create_app(sessions: sessionmaker[Session], clock: Clock = utc_now) -> FastAPI:
    """The service on the central database behind `sessions` (already migrated).

    The endpoints are module-level functions that find the database on `app.state`, not
    closures over it: FastAPI keeps every endpoint it has seen in process-wide caches, so a
    closure would keep each app's engine, and all it compiled, alive after the app is gone
    (a test suite builds hundreds of apps in one process)."""
    app = FastAPI(
        title="lotscan central store",
        version=f"protocol {PROTOCOL}",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = Store(sessions, clock)
    app.add_middleware(Utf8Body)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(Arrival)  # outermost: the clock starts before the body is read
    _add_error_handlers(app)
    app.include_router(device_routes)
    app.include_router(supervisor_routes)
    return app


class Arrival:
    """Notes when each request came in (`arrived_at`), so a push's wait for its turn counts
    the time its body took to read and check (`sync.central.turns`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[ARRIVED] = time.monotonic()
        await self.app(scope, receive, send)


ARRIVED = "lotscan_arrived"


def arrived_at(request: Request) -> float | None:
    """When `request` came in (`time.monotonic()`); None for an app without `Arrival`."""
    arrived = request.scope.get("state", {}).get(ARRIVED)
    return arrived if isinstance(arrived, float) else None


class BodyLimit:
    """Refuses a body over `limit` bytes with 413 before reading it, or as soon as a body
    sent without a length grows past it, so no client can make the store hold gigabytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            await _too_large()(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413)  # answered by _http_error
            return message

        await self.app(scope, limited, send)


class Utf8Body:
    """Refuses with 400 a body that is not UTF-8 text. JSON's own reader would guess UTF-16
    or UTF-32 from the first bytes, and let encoded halves of UTF-16 pairs through; a raw NUL
    byte (which UTF-16 text of ASCII is full of) is never in a JSON text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decoder = codecs.getincrementaldecoder("utf-8")()

        async def checked() -> Message:
            message = await receive()
            chunk = message.get("body", b"")
            try:
                decoder.decode(chunk, final=not message.get("more_body", False))
            except UnicodeDecodeError:
                raise HTTPException(400) from None  # answered by _http_error
            if b"\0" in chunk:
                raise HTTPException(400)
            return message

        await self.app(scope, checked, send)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers an endpoint documents, for clients and for the schema fuzzer:
    `statuses`, and the two any request can get (a body too large, the database down).
    tests/sync/central/test_sync_service.py holds every answer the tests see to these."""
    words = {
        400: "The body is not UTF-8 text (bad_request)",
        401: "No token, an unknown one, a used code, or a revoked device (device_revoked)",
        403: "A token that may not do this (wrong_device, not_supervisor)",
        404: "No such device or exception",
        409: (
            "The request cannot be taken as it is (client_upgrade_required, other_device,"
            " device_id_taken, no_change, a resolution that no longer fits)"
        ),
        413: "The body is larger than the store takes (too_large)",
        422: "The request is malformed; the message names the field (bad_request)",
        503: "The database is unreachable or busy: retry later; nothing was committed",
    }
    every = sorted({*statuses, 413, 503})
    return {status: {"model": ErrorBody, "description": words[status]} for status in every}


bearer = HTTPBearer(
    auto_error=False,
    description="The device token `lotscan enroll` received (only its hash is stored)",
)


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The token of `Authorization: Bearer <token>`; refused before the body is read."""
    if credentials is None:
        raise SyncError(
            401,
            "unauthorized",
            "This request needs a device token (Authorization: Bearer ...): enroll the "
            "device first (lotscan enroll URL CODE)",
        )
    return credentials.credentials


Token = Annotated[str, Depends(bearer_token)]


async def the_store(request: Request) -> Store:
    """The store of the app serving `request`; async, so FastAPI runs it on the event loop
    rather than sending it to the thread pool."""
    store: Store = request.app.state.store
    return store


AppStore = Annotated[Store, Depends(the_store)]

device_routes = APIRouter()
"""What a handheld calls: enroll, push, pull; and the load balancer's health check."""


@device_routes.get("/v1/health", responses=_errors())
@device_routes.head("/v1/health", responses=_errors(), operation_id="health_head")
def health(store: AppStore) -> Health:
    """Whether the store answers and its database does: a load balancer asks with GET or
    HEAD."""
    with reading(store.sessions) as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok", server_time=store.clock())


@device_routes.post("/v1/devices/enroll", status_code=201, responses=_errors(400, 401, 409, 422))
def enroll(body: EnrollRequest, store: AppStore) -> EnrollResponse:
    with store.writing() as session:
        return enrollment.enroll(session, body, clock=store.clock)


class PushBody(Request):
    """A push's request, whose body pydantic reads from the JSON text in one step, where
    FastAPI has Python's `json` read it and pydantic check what that gives: the same model
    in about three quarters of the time (a push carries five hundred movements). A body the
    one step refuses, for whatever reason, is read the usual way, so that it is refused, or
    taken, exactly as before and with the same words (tests/sync/central/test_push_body.py
    holds the two ways to the same answers)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = push_body(await self.body())
        return self._json


def push_body(text: bytes) -> Any:
    """A push's body as a `PushRequest` when pydantic takes it from the text, else as
    Python's `json` reads it (which raises on text that is not JSON), for FastAPI to judge."""
    try:
        return PushRequest.model_validate_json(text)
    except ValidationError:
        return json.loads(text)


class PushRoute(APIRoute):
    """The push's route, which reads its request as a `PushBody`. FastAPI takes the model
    it is given as the body as it is: a model is not validated again."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_push(request: Request) -> Response:
            return await handler(PushBody(request.scope, request.receive))

        return read_push


def push(body: PushRequest, token: Token, store: AppStore, request: Request) -> PushResponse:
    with store.pushing(request) as session:
        device = enrollment.authenticate(session, token, clock=store.clock, lock=True)
        return push_movements(session, device, body, clock=store.clock, row_locked=True)


device_routes.add_api_route(
    PUSH_PATH,
    push,
    methods=["POST"],
    responses=_errors(400, 401, 403, 409, 422),
    route_class_override=PushRoute,
)


@device_routes.get("/v1/sync/pull", responses=_errors(401, 422))
def pull(
    token: Token,
    store: AppStore,
    cursor: Annotated[QueryWhole, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[QueryWhole, Query(ge=1, le=MAX_PULL)] = MAX_PULL,
) -> PullResponse:
    with store.writing() as session:
        device = enrollment.authenticate(session, token, clock=store.clock)
        return pull_changes(session, device, cursor, limit, clock=store.clock)


@device_routes.get(
    "/v1/sync/snapshot",
    response_class=Response,
    responses={200: {"model": SnapshotPage, "description": "One page"}, **_errors(401, 422, 503)},
)
def snapshot(
    token: Token,
    store: AppStore,
    cursor: Annotated[QueryWhole, Query(ge=0, le=2**62)] = 0,
    kind: Annotated[Literal[SNAPSHOT_KINDS], Query()] | None = None,  # type: ignore[valid-type]
    after: Annotated[str, Query(max_length=1000)] | None = None,
    limit: Annotated[QueryWhole, Query(ge=1, le=SNAPSHOT_PAGE)] = SNAPSHOT_PAGE,
) -> Response:
    """A page of the store's snapshot for a handheld that has pulled nothing yet
    (docs/architecture.md, "Snapshots for a new handheld"). Written as text, not through a
    response model: a page carries thousands of rows that are already JSON."""
    place = None if kind is None else SnapshotPlace(kind=kind, after=_snapshot_key(after))
    with store.writing() as session:
        device = enrollment.authenticate(session, token, clock=store.clock)
        page = snapshot_page(session, device, cursor, place, limit, clock=store.clock)
    return Response(page, media_type="application/json")


def _snapshot_key(after: str | None) -> list[str | int] | None:
    """`after` as the JSON list of key values the previous page's `next` gave."""
    if after is None:
        return None
    try:
        key = json.loads(after)
    except ValueError:
        key = None
    if not isinstance(key, list) or not all(map(_key_value, key)):
        raise SyncError(422, "bad_request", "after: a JSON list of key values is expected")
    return key


def _key_value(value: object) -> bool:
    """A key value a page's `next` can give: printable text (no NUL, no half of a UTF-16
    pair, which no database takes as a parameter) or a whole number a BIGINT holds."""
    if isinstance(value, str):
        return value.isprintable()
    return type(value) is int and -(2**63) <= value < 2**63


supervisor_routes = APIRouter()
"""What a supervisor's device calls; a handheld's token gets 403 not_supervisor."""


def supervisor(session: Session, token: str, store: Store) -> Device:
    """The supervisor's device that `token` belongs to; a handheld's is 403 not_supervisor."""
    device = enrollment.authenticate(session, token, clock=store.clock)
    if device.role != DeviceRole.SUPERVISOR:
        raise SyncError(
            403,
            "not_supervisor",
            f"Device {device.id} ({device.name}) is a handheld; this needs a supervisor's "
            "device (lotscan devices enroll NAME --supervisor)",
        )
    return device


@supervisor_routes.get("/v1/devices", responses=_errors(401, 403))
def list_devices(token: Token, store: AppStore) -> list[dict[str, Any]]:
    with store.writing() as session:
        supervisor(session, token, store)
        return supervision.device_rows(session)


@supervisor_routes.post("/v1/devices", status_code=201, responses=_errors(400, 401, 403, 422))
def add_device(body: NewDevice, token: Token, store: AppStore) -> IssuedCodeBody:
    with store.writing() as session:
        by = supervisor(session, token, store)
        issued = enrollment.issue_code(
            session, body.name, supervisor=body.supervisor, by=asker(by), clock=store.clock
        )
        return IssuedCodeBody(
            device=issued.device,
            code=issued.code,
            expires_at=issued.expires_at,
            role=issued.role,  # type: ignore[arg-type]
        )


@supervisor_routes.post(
    "/v1/devices/{device_id}/role", responses=_errors(400, 401, 403, 404, 409, 422)
)
def change_role(
    device_id: Annotated[str, Path(max_length=20)], body: NewRole, token: Token, store: AppStore
) -> DeviceRoleBody:
    """Makes a device a supervisor's or a handheld's now, kept in its history with who did
    it. (Asking for an enrollment code never changes a role: redeeming it does.)"""
    with store.writing() as session:
        by = asker(supervisor(session, token, store))
        if body.operator is not None:
            named = supervision.supervisor_named(session, body.operator, "changes a role")
            by = f"{named} on {by}"
        change = enrollment.set_role(
            session, device_id, body.role, by=by, reason=body.reason, clock=store.clock
        )
        device = session.get_one(Device, change.device_id)
        return DeviceRoleBody(
            device=device.id,
            name=device.name,
            role=change.role,
            role_changed_at=change.changed_at,
            role_changed_by=change.changed_by,
        )


def asker(device: Device) -> str:
    """A supervisor's device as the history names it."""
    return f"{device.name} ({device.id})"


@supervisor_routes.post(
    "/v1/devices/{device_id}/revoke", responses=_errors(401, 403, 404, 409, 422)
)
def revoke_device(
    device_id: Annotated[str, Path(max_length=20)], token: Token, store: AppStore
) -> RevokedDevice:
    with store.writing() as session:
        by = supervisor(session, token, store)
        device = enrollment.revoke(session, device_id, by=asker(by), clock=store.clock)
        return RevokedDevice(
            device=device.id,
            name=device.name,
            status=device.status,
            revoked_at=device.revoked_at,
            revoked_by=device.revoked_by,
        )


@supervisor_routes.get("/v1/exceptions", responses=_errors(401, 403, 422))
def list_exceptions(
    token: Token,
    store: AppStore,
    status: ExceptionFilter = "open",
    after: Annotated[
        QueryWhole,
        Query(ge=0, le=2**31 - 1, description="the last id of the page before; 0 first"),
    ] = 0,
    limit: Annotated[
        QueryWhole,
        Query(
            ge=1,
            le=MAX_EXCEPTIONS_PAGE,
            description="at most this many, oldest first: a shorter page is the last",
        ),
    ] = EXCEPTIONS_PAGE,
    summary: Annotated[
        QueryWhole | None,
        Query(ge=1, le=2**31 - 1, description="the exceptions grouped under this summary"),
    ] = None,
    device: Annotated[str | None, Query(max_length=20)] = None,
    code: ExceptionCode | None = None,
    part: Annotated[str | None, Query(max_length=40)] = None,
) -> list[dict[str, Any]]:
    """A page of exceptions, oldest first. The next page is `after` the last id of this
    one. Exceptions grouped under an open summary (`TOO_MANY_EXCEPTIONS`, opened past a
    device's cap per minute) are left out unless `summary` names it; a summary row says
    how many it groups."""
    with store.writing() as session:
        supervisor(session, token, store)
        return supervision.exception_rows(
            session,
            None if status == "all" else status,
            after=after,
            limit=limit,
            summary=summary,
            device=device,
            code=code.value if code is not None else None,
            part=part,
        )


@supervisor_routes.post("/v1/exceptions/void", responses=_errors(400, 401, 403, 404, 409, 422))
def void_held(body: BulkVoid, token: Token, store: AppStore) -> BulkVoided:
    """Voids every held movement with an open exception matching the filter (at least one
    of device, code, part), in one transaction; says how many. A device the store does not
    know is 404, not "none voided"."""
    with store.writing() as session:
        by = asker(supervisor(session, token, store))
        voided = supervision.void_held(
            session,
            by=by,
            reason=body.reason,
            device=body.device,
            code=body.code.value if body.code is not None else None,
            part=body.part,
            operator=body.operator,
            clock=store.clock,
        )
        return BulkVoided(voided=voided, **body.model_dump(exclude={"operator"}))


@supervisor_routes.post(
    "/v1/exceptions/{exception_id}/resolve",
    responses=_errors(400, 401, 403, 404, 409, 422),
)
def resolve_exception(
    exception_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Resolution,
    token: Token,
    store: AppStore,
) -> dict[str, Any]:
    with store.writing() as session:
        by = supervisor(session, token, store)
        return supervision.resolve(
            session,
            exception_id,
            body.action,
            by=by.name,
            operator=body.operator,
            qty=body.qty,
            location=body.location,
            reason=body.reason,
            clock=store.clock,
        )


# ---- errors -----------------------------------------------------------------------------


def error_response(
    status: int, error: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SyncError, _sync_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(DatabaseUnavailable, _database_down)
    app.add_exception_handler(LotscanError, _refused)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_down)
    app.add_exception_handler(psycopg.OperationalError, _database_down)
    app.add_exception_handler(Exception, _internal_error)


async def _sync_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SyncError)
    later = {"Retry-After": RETRY_AFTER} if exc.status == 503 else None
    return error_response(exc.status, exc.error, exc.message, later)


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    upgrade = _protocol_mismatch(exc.body) if request.url.path == PUSH_PATH else None
    if upgrade:
        return error_response(409, "client_upgrade_required", upgrade)
    return error_response(422, "bad_request", problem_in_words(exc.errors()))


def _protocol_mismatch(body: Any) -> str | None:
    """Words for a push in a protocol this store does not speak, else None. Checked before
    anything else in the body: a newer protocol may well have fields this store lacks."""
    if not isinstance(body, dict):
        return None
    spoken = body.get("protocol")
    if not isinstance(spoken, int) or isinstance(spoken, bool) or spoken == PROTOCOL:
        return None
    if spoken < PROTOCOL:
        return (
            f"This handheld's lotscan speaks sync protocol {spoken}; the central store needs "
            f"{PROTOCOL}: update lotscan on the handheld (its queue is kept)"
        )
    return (
        f"This handheld's lotscan speaks sync protocol {spoken}; the central store only "
        f"{PROTOCOL}: update lotscan on the central store (the handheld keeps its queue)"
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Routing's own answers (no such path, wrong method, body too large), in our shape."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        error, message = "not_found", f"The central store has no {where}"
    elif exc.status_code == 405:
        error, message = "method_not_allowed", f"The central store does not take {where}"
    elif exc.status_code == 413:
        return _too_large()
    elif exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        # FastAPI's answer to a body its JSON reader gave up on: arrays in arrays, deeper
        # than Python reads (a request no handheld sends), which was called "not UTF-8".
        error, message = "bad_request", "The JSON is nested too deeply: no request nests so"
    elif exc.status_code == 400:
        error, message = "bad_request", "The body is not UTF-8 text: send JSON text in UTF-8"
    else:
        error, message = "bad_request", str(exc.detail)
    return error_response(exc.status_code, error, message, exc.headers)


def _too_large() -> JSONResponse:
    return error_response(
        413,
        "too_large",
        f"The request is larger than {MAX_BODY // (1024 * 1024)} MB: send at most {MAX_BATCH} "
        "movements at a time",
    )


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(404, "not_found", str(exc))


async def _refused(_request: Request, exc: Exception) -> JSONResponse:
    """A domain rule said no (a resolution that does not fit its exception, say)."""
    return error_response(422, "bad_request", str(exc))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return await _database_down(request, exc)
    if isinstance(exc, DataError):
        # Text the database cannot hold (PostgreSQL refuses a NUL character), a number out
        # of its range: the request's fault, and rolled back like any refusal.
        return error_response(
            422,
            "bad_request",
            f"The central store's database cannot hold a value in this request: "
            f"{database_reason(exc)}",
        )
    return await _internal_error(request, exc)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    """The database is unreachable, locked, or gave up a transaction (a serialization
    failure, a deadlock): the transaction was rolled back, so the client may simply retry."""
    reason = database_reason(exc) if isinstance(exc, DBAPIError) else str(exc)
    log.warning(
        "%s %s: database unavailable: %s",
        request.method,
        spelled_out(request.url.path),
        spelled_out(reason),
    )
    return error_response(
        503,
        "retry_later",
        "The central store's database is unavailable just now; nothing was recorded: try "
        "again shortly",
        {"Retry-After": RETRY_AFTER},
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered in the usual shape."""
    log.error("%s %s failed", request.method, spelled_out(request.url.path), exc_info=exc)
    return error_response(
        500, "internal_error", "The central store failed on this request; see its log"
    )


# ---- validation problems in words -------------------------------------------------------

_WORDS = {
    "missing": "is missing",
    "extra_forbidden": "is not a field the central store knows",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_too_long": "must be at most {max_length} characters",
    "too_long": "must have at most {max_length} items, not {actual_length}",
    "too_short": "must have at least {min_length} items",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "decimal_max_digits": "must have at most {max_digits} digits",
    "decimal_max_places": "must have at most {decimal_places} decimal places",
    "decimal_whole_digits": "has too many digits before the decimal point",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
    "datetime_type": "must be a date and time like 2026-11-02T08:30:00Z",
    "datetime_parsing": "must be a date and time like 2026-11-02T08:30:00Z",
    "datetime_from_date_parsing": "must be a date and time like 2026-11-02T08:30:00Z",
    "date_type": "must be a date like 2026-11-02",
    "date_parsing": "must be a date like 2026-11-02",
    "date_from_datetime_parsing": "must be a date like 2026-11-02",
    "date_from_datetime_inexact": "must be a date like 2026-11-02",
    "literal_error": "must be {expected}",
    "list_type": "must be a list",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
}


def problem_in_words(errors: Sequence[Any]) -> str:
    """The first problem of a request, as "movements[3].qty: must be more than 0"."""
    if not errors:
        return "The request is not one the central store understands"
    error = errors[0]
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        return f"The body is not valid JSON ({reason} at character {loc[-1]})"
    where = _where(loc)
    if not where:
        if kind == "missing":
            return "The request has no body: send a JSON object"
        if isinstance(error.get("input"), bytes):
            return "The body must be JSON, sent as Content-Type: application/json"
        return f"The body {_words(error)}"
    return f"{where}: {_words(error)}"


def _where(loc: tuple[Any, ...]) -> str:
    """("body", "movements", 3, "qty") -> "movements[3].qty"."""
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
    where = ""
    for part in parts:
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where += f".{part}" if where else str(part)
    return where


def _words(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx", {})
    if kind == "string_unicode" and isinstance(error.get("input"), str):
        return text_problem(error["input"]) or "must be text"
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must be at least {minimum} characters"
    template = _WORDS.get(kind)
    if template is not None:
        try:
            return template.format(**ctx)
        except (KeyError, IndexError):
            pass
    message = str(error.get("msg", "is not valid"))
    return message[:1].lower() + message[1:]


# ---- running it -------------------------------------------------------------------------


BACKLOG = 2048
"""Connections the listening socket queues (uvicorn's default)."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: any free one), so the startup line can name the
    real address and a port in use is one clear error rather than a traceback."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # Listening from here, so a device that connects as soon as the startup line is
        # out waits in the queue instead of being refused before uvicorn starts.
        sock.listen(BACKLOG)
    except OSError as error:
        raise LotscanError(f"Cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sock


def address_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def reachable_address(sock: socket.socket) -> str:
    """The address a handheld would use: a socket listening on every interface is reached
    by the machine's name."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        return f"http://{socket.gethostname()}:{port}"
    return address_of(sock)


def prepare_central(sessions: sessionmaker[Session], clock: Clock = utc_now) -> None:
    """Marks the database as the central store and publishes the reference data it holds,
    so devices pull everything imported before the service started."""
    with unit_of_work(sessions) as session:
        enrollment.ensure_central(session)
        publish_reference(session, clock)


def serve(
    url: str, host: str, port: int, extend: Extension | None = None, workers: int = 1
) -> None:
    """Runs the service on the central database at `url` until interrupted; `extend` adds
    what the composition root serves beside the API (the office console). More than one
    worker: that many processes on the one socket (`sync.central.workers`)."""
    from sync.central.workers import refuse_workers_on_sqlite

    refuse_workers_on_sqlite(url, workers)
    sessions = open_database(url)
    prepare_central(sessions)
    sock = listen(host, port)
    with unit_of_work(sessions) as session:
        enrollment.remember_service_address(session, reachable_address(sock))
    engine = sessions.kw["bind"]
    # In the parent only, with more than one worker (which PostgreSQL alone may have).
    upkeep = Checkpointer(engine) if engine.dialect.name == "sqlite" else Analyzer(engine)
    upkeep.start()
    try:
        _serve(url, extend, workers, sessions, sock, upkeep.notice)
    finally:
        upkeep.stop()


def _serve(
    url: str,
    extend: Extension | None,
    workers: int,
    sessions: sessionmaker[Session],
    sock: socket.socket,
    notice: str | None,
) -> None:
    """The service itself (see `serve`); the line saying where it listens comes first,
    then `notice` if any."""
    from sync.central.workers import ServiceFactory, run_workers

    line = f"lotscan central store on {address_of(sock)}, database {shown(url)}"
    if workers > 1:
        sessions.kw["bind"].dispose()  # each worker opens its own
        _say(f"{line}, {workers} workers", notice)
        run_workers(ServiceFactory(url, extend), sock, workers)
        return
    app = create_app(sessions)
    if extend is not None:
        extend(app, sessions)
    # Behind the README's reverse proxy, X-Forwarded-Proto says whether the browser came over
    # HTTPS (the console's cookies are Secure then); uvicorn trusts it from loopback only.
    config = uvicorn.Config(app, log_level="info", proxy_headers=True)
    # uvicorn's own startup chatter gives way to one line of ours; access lines stay.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    settle_collector()
    _say(line, notice)
    uvicorn.Server(config).run(sockets=[sock])


def _say(line: str, notice: str | None) -> None:
    print(line, file=sys.stderr, flush=True)
    if notice is not None:
        print(f"lotscan: {notice}", file=sys.stderr, flush=True)
