"""What the sync reliability tests are built from (docs/architecture.md,
"Sync reliability tests"): a central service on loopback (a uvicorn thread, or a
`lotscan serve` process a test can kill), handhelds with their own databases and workspace
folders, and a network that misbehaves on request.

The network is `FaultyTransport`, an httpx transport around the real one. A test plans what
happens to the next requests: dropped before they reach the store, delivered and then the
answer lost (the store committed, the device never hears), delivered twice, delivered late;
or it takes a device offline altogether.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.clock import Clock, utc_now
from scanner.db import make_engine, open_database, reading, unit_of_work
from scanner.errors import LotscanError
from scanner.ledger import Ledger
from scanner.models import Balance, Movement, Part, Serial
from scanner.settings import PULL_CURSOR, device_id, read_setting
from scanner.workspace import DATABASE_FILE, sqlite_url
from sync.central.changes import current_seq
from sync.central.enrollment import ensure_central, issue_code, revoke
from sync.central.models import Change, Device, SyncEntry, SyncException, SyncRejection
from sync.central.pull import publish_reference
from sync.central.supervision import resolve
from sync.device.client import SyncClient, SyncFailed, SyncReport, enroll_handheld, sync_once
from sync.device.credentials import read_token
from sync.device.outbox import pending_movements
from sync.protocol import (
    MAX_BATCH,
    MAX_PULL,
    REFERENCE_KINDS,
    SNAPSHOT_PAGE,
    MovementIn,
    PushRequest,
    movement_in,
    row_data,
    row_key,
)
from tests.support.databases import prefill
from tests.support.plant import add_plant
from tests.support.sync_invariants import violations

HEALTH = "/v1/health"
READY_TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parents[2]


# ---- the network --------------------------------------------------------------------------


class Fault(StrEnum):
    """What the network does to one request."""

    NONE = "none"
    DROP = "drop"  # never reaches the store: the device sees a refused connection
    LOST_ACK = "lost_ack"  # the store handles it; the answer is lost (a read timeout)
    DUPLICATE = "duplicate"  # reaches the store twice; the device sees the second answer
    DELAY = "delay"  # reaches the store late


@dataclass
class Delivery:
    """One request as the network saw it, for a test to look back on: for a push, the
    numbers it carried; for a pull, the cursor it asked from."""

    method: str
    path: str
    fault: Fault
    status: int | None
    seqs: list[int]
    cursor: int | None


def _delivery(request: httpx.Request, fault: Fault, status: int | None) -> Delivery:
    seqs: list[int] = []
    if request.url.path.endswith("/sync/push"):
        body = json.loads(request.content or b"{}")
        seqs = [int(m["seq"]) for m in body.get("movements", [])]
    cursor = request.url.params.get("cursor")
    return Delivery(
        request.method,
        request.url.path,
        fault,
        status,
        seqs,
        int(cursor) if cursor is not None else None,
    )


@dataclass
class Plan:
    fault: Fault
    path: str | None  # only requests whose path contains this; None: any request


class FaultyTransport(httpx.BaseTransport):
    """An httpx transport that forwards to the real one, except where a test planned a fault.

    Planned faults are used up in order, each by the first request whose path matches.
    `offline` refuses every request, like a handheld out of Wi-Fi range.

    One transport serves a handheld's syncs for a whole test, but `lotscan sync` opens a
    client of its own each time; so no connection is kept from one request to the next.
    A kept one can be closed by uvicorn (after 5 s idle) just as the next sync sends on it:
    a failure no test planned, the likeliest cause of the one unplanned failure the backlog
    test once met on a loaded machine.
    """

    def __init__(self, inner: httpx.BaseTransport | None = None, *, delay: float = 0.05) -> None:
        self.inner = inner or httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        self.delay = delay
        self.offline = False
        self.plans: deque[Plan] = deque()
        self.log: list[Delivery] = []
        self._lock = threading.Lock()

    def plan(self, *faults: Fault, path: str | None = None) -> None:
        """The next requests (to `path`, when given) meet these faults, one each."""
        with self._lock:
            self.plans.extend(Plan(fault, path) for fault in faults)

    def clear(self) -> None:
        with self._lock:
            self.plans.clear()

    def pushes(self) -> list[Delivery]:
        return [d for d in self.log if d.path.endswith("/sync/push")]

    def pulls(self) -> list[Delivery]:
        return [d for d in self.log if d.path.endswith("/sync/pull")]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        request.read()  # a body that can be looked at, and sent more than once
        if self.offline:
            self.log.append(_delivery(request, Fault.DROP, None))
            raise httpx.ConnectError(
                "Network unreachable (the test took it offline)", request=request
            )
        fault = self._take(path)
        if fault == Fault.DROP:
            self.log.append(_delivery(request, fault, None))
            raise httpx.ConnectError("Connection refused (a dropped request)", request=request)
        if fault == Fault.DELAY:
            time.sleep(self.delay)
        if fault == Fault.DUPLICATE:
            first = self.inner.handle_request(request)
            first.read()
            first.close()
        response = self.inner.handle_request(request)
        if fault == Fault.LOST_ACK:
            response.read()
            response.close()
            self.log.append(_delivery(request, fault, response.status_code))
            raise httpx.ReadTimeout("The answer was lost (a lost acknowledgement)", request=request)
        self.log.append(_delivery(request, fault, response.status_code))
        return response

    def _take(self, path: str) -> Fault:
        with self._lock:
            for plan in self.plans:
                if plan.path is None or plan.path in path:
                    self.plans.remove(plan)
                    return plan.fault
        return Fault.NONE

    def close(self) -> None:
        """Left open: every sync's client closes its transport when it is done, and one
        handheld's network outlives its syncs (two may run at once). See `shutdown`."""

    def shutdown(self) -> None:
        self.inner.close()


# ---- the central service --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(
    url: str, *, timeout: float = READY_TIMEOUT, alive: Callable[[], str | None] = lambda: None
) -> None:
    """Polls the service's health endpoint until it answers 200. `alive` returns why the
    service cannot come up (its process ended, say), to fail at once instead of waiting."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            reason = alive()
            if reason:
                raise RuntimeError(f"The sync service at {url} did not start: {reason}")
            try:
                response = client.get(url + HEALTH)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.TransportError as error:
                last = str(error) or type(error).__name__
            time.sleep(0.05)
    raise RuntimeError(f"The sync service at {url} was not healthy within {timeout}s: {last}")


class ServiceThread:
    """An ASGI app served by uvicorn in a thread of the test process, on a loopback port."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ServiceThread:
        self.thread.start()
        wait_until_healthy(self.url, alive=self._ended)
        return self

    def _ended(self) -> str | None:
        return None if self.thread.is_alive() else "the server thread ended"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def serve_command(db_url: str, port: int, workers: int = 1) -> list[str]:
    """How to start the central service as its own process: `lotscan serve` once the CLI has
    it, else Python calling `sync.central.service.serve` directly."""
    if _cli_has_serve():
        return [
            sys.executable, "-m", "scanner", "serve",
            "--db", db_url, "--host", "127.0.0.1", "--port", str(port),
            *(["--workers", str(workers)] if workers > 1 else []),
        ]  # fmt: skip
    code = (
        "import sys; from sync.central.service import serve;"
        " serve(sys.argv[1], '127.0.0.1', int(sys.argv[2]))"
    )
    return [sys.executable, "-c", code, db_url, str(port)]


def _cli_has_serve() -> bool:
    from scanner.cli import build_parser

    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return "serve" in commands.choices


class ServiceProcess:
    """The central service in a process of its own, which a test can kill with SIGKILL and
    start again on the same database and port; with `workers`, `lotscan serve --workers`."""

    def __init__(self, db_url: str, log_dir: Path, *, workers: int = 1) -> None:
        self.db_url = db_url
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"serve-{self.starts}.log").open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            serve_command(self.db_url, self.port, self.workers),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until_healthy(self.url, alive=self._ended)

    def _ended(self) -> str | None:
        if self.process is None or self.process.poll() is None:
            return None
        tail = (self.log_dir / f"serve-{self.starts}.log").read_text(errors="replace")[-2000:]
        return f"it exited with status {self.process.returncode}:\n{tail}"

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback but the database's own."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServiceProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- the site: a central store and its handhelds --------------------------------------------


class Handheld:
    """One handheld: its database in its own workspace folder (the token file beside it),
    and its own stretch of network."""

    def __init__(
        self, name: str, folder: Path, clock: Clock = utc_now, *, seeded: bool = False
    ) -> None:
        """`seeded`: the folder already holds a migrated database (a copy of a seed)."""
        self.name = name
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.db_url = sqlite_url(folder / DATABASE_FILE)
        if not seeded:
            prefill(self.db_url)
        self.sessions = open_copy(self.db_url)
        self.transport = FaultyTransport()
        self.clock = clock

    @property
    def device(self) -> str:
        with reading(self.sessions) as session:
            return device_id(session)

    def record(self, operation: Callable[[Ledger], Movement]) -> Movement:
        """Records one movement through the device's own ledger, in its own transaction,
        as a scan does."""
        with unit_of_work(self.sessions) as session:
            return operation(Ledger(session, self.clock))

    def try_record(self, operation: Callable[[Ledger], Movement]) -> Movement | None:
        """`record`, or None when the device's own rules refuse it."""
        try:
            return self.record(operation)
        except LotscanError:
            return None

    def sync(
        self, *, batch: int = MAX_BATCH, page: int = MAX_PULL, snapshot_page: int = SNAPSHOT_PAGE
    ) -> SyncReport:
        return sync_once(
            self.sessions,
            self.folder,
            transport=self.transport,
            clock=self.clock,
            batch=batch,
            page=page,
            timeout=SYNC_TIMEOUT,
            snapshot_page=snapshot_page,
        )

    def try_sync(self, *, batch: int = MAX_BATCH, page: int = MAX_PULL) -> SyncFailed | None:
        """A sync that may fail (the network is faulty): the failure, or None."""
        try:
            self.sync(batch=batch, page=page)
        except SyncFailed as failure:
            return failure
        return None

    def pending(self) -> list[int]:
        """This device's numbers still waiting for the store."""
        with reading(self.sessions) as session:
            return [m.device_seq for m in pending_movements(session, device_id(session), 10**9)]

    def own(self) -> list[Movement]:
        """This device's movements, oldest number first (detached: safe to read later)."""
        with reading(self.sessions) as session:
            mine = device_id(session)
            rows = list(
                session.scalars(
                    select(Movement).where(Movement.device_id == mine).order_by(Movement.device_seq)
                )
            )
            session.expunge_all()
            return rows

    def cursor(self) -> int:
        with reading(self.sessions) as session:
            return read_setting(session, PULL_CURSOR) or 0

    def payload(self, seqs: Iterable[int]) -> list[MovementIn]:
        """This device's movements numbered `seqs`, as a push carries them."""
        wanted = list(seqs)
        with reading(self.sessions) as session:
            mine = device_id(session)
            rows = {
                m.device_seq: m
                for m in session.scalars(
                    select(Movement).where(
                        Movement.device_id == mine, Movement.device_seq.in_(wanted)
                    )
                )
            }
            return [movement_in(session, rows[seq]) for seq in wanted]

    def client(self, url: str) -> SyncClient:
        """A raw protocol client with this device's token, on its network: for tests that
        send requests no well-behaved handheld would (gaps, reused numbers, replays)."""
        token = read_token(self.folder)
        assert token is not None, f"{self.name} is not enrolled"
        return SyncClient(url, token, transport=self.transport, timeout=SYNC_TIMEOUT)

    def push_request(self, movements: list[MovementIn]) -> PushRequest:
        return PushRequest(
            device_id=self.device,
            device_time=self.clock(),
            queue_depth=len(self.pending()),
            max_local_seq=max((m.device_seq for m in self.own()), default=0),
            movements=movements,
        )

    def close(self) -> None:
        self.transport.shutdown()
        self.sessions.kw["bind"].dispose()


SYNC_TIMEOUT = 30.0


class Site:
    """A plant: the central store (its database, with the test plant imported and published)
    and the handhelds enrolled with it. The service itself is started by the test, as a
    thread (`serve_in_thread`) or a process (`serve_in_process`), or a thread the test
    shares between sites (`serve_on`)."""

    def __init__(
        self, db_url: str, root: Path, clock: Clock = utc_now, *, seeded: bool = False
    ) -> None:
        """`seeded`: the database is a copy of a site already set up (see `copy_site`)."""
        self.db_url = db_url
        self.root = root
        self.clock = clock
        if not seeded:
            prefill(db_url)
        self.central = open_copy(db_url)
        if not seeded:
            with unit_of_work(self.central) as session:
                ensure_central(session)
                add_plant(session)
                publish_reference(session, clock)
        self.handhelds: list[Handheld] = []
        self.url = ""
        self._services: list[ServiceThread | ServiceProcess] = []
        self._switchboards: list[Switchboard] = []

    # ---- the service ----------------------------------------------------------------------

    def serve_in_thread(self) -> ServiceThread:
        from sync.central.service import create_app

        service = ServiceThread(create_app(self.central, self.clock))
        service.__enter__()
        self._services.append(service)
        self.url = service.url
        return service

    def serve_in_process(self) -> ServiceProcess:
        service = ServiceProcess(self.db_url, self.root)
        service.start()
        self._services.append(service)
        self.url = service.url
        return service

    def serve_on(self, service: ServiceThread, switchboard: Switchboard) -> None:
        """Serves this site from a running service whose app is switched per site, which
        saves starting and stopping uvicorn for every test. `close` switches it off."""
        from sync.central.service import create_app

        switchboard.app = create_app(self.central, self.clock)
        self.url = service.url
        self._switchboards.append(switchboard)

    # ---- handhelds ------------------------------------------------------------------------

    def adopt(self, name: str) -> Handheld:
        """A handheld already enrolled in a seeded copy of the site (folder `name`)."""
        handheld = Handheld(name, self.root / name, self.clock, seeded=True)
        self.handhelds.append(handheld)
        return handheld

    def enroll(self, name: str, *, pull: bool = True, supervisor: bool = False) -> Handheld:
        """A new handheld (a supervisor's, with `supervisor`), enrolled with a fresh code and
        (by default) synced once, so it has the store's reference data."""
        handheld = Handheld(name, self.root / name, self.clock)
        self.handhelds.append(handheld)
        self.reenroll(handheld, supervisor=supervisor)
        if pull:
            handheld.sync()
        return handheld

    def reenroll(self, handheld: Handheld, *, supervisor: bool = False) -> str:
        """A one-time code for the handheld's name, traded for a token: returns the device id."""
        with unit_of_work(self.central) as session:
            code = issue_code(session, handheld.name, supervisor=supervisor, clock=self.clock).code
        answer = enroll_handheld(
            handheld.sessions,
            handheld.folder,
            self.url,
            code,
            transport=handheld.transport,
            clock=self.clock,
        )
        return answer.device_id

    def revoke(self, handheld: Handheld) -> None:
        with unit_of_work(self.central) as session:
            revoke(session, handheld.device, clock=self.clock)

    def import_reference(self, add: Callable[[Session], object]) -> int:
        """Reference data added to the central database, then published, as `lotscan import`
        does on the central store; returns the number of changes published."""
        with unit_of_work(self.central) as session:
            add(session)
            session.flush()
            return publish_reference(session, self.clock)

    # ---- the end of every test ------------------------------------------------------------

    def final_sync(self, *, rounds: int = 20) -> None:
        """Every handheld back online with a healthy network; syncs until every queue is
        empty, then one more pull each, so all have seen the last change."""
        for handheld in self.handhelds:
            handheld.transport.offline = False
            handheld.transport.clear()
        for _ in range(rounds):
            for handheld in self.handhelds:
                handheld.sync()
            if not any(handheld.pending() for handheld in self.handhelds):
                break
        for handheld in self.handhelds:
            handheld.sync()

    def violations(self) -> list[str]:
        return violations(self.central, self.handhelds)

    def exceptions(self, code: str | None = None, status: str | None = None) -> list[SyncException]:
        with self.central() as session:
            query = select(SyncException).order_by(SyncException.id)
            if code is not None:
                query = query.where(SyncException.code == code)
            if status is not None:
                query = query.where(SyncException.status == status)
            return list(session.scalars(query))

    def resolve(self, exception_id: int, action: str, **details: Any) -> dict[str, Any]:
        """A supervisor's decision on an exception, as the service's endpoint makes it: Sam
        Okafor (B9001) signed in on the office's supervisor handheld."""
        with unit_of_work(self.central) as session:
            return resolve(
                session,
                exception_id,
                action,
                by="office",
                operator="B9001",
                clock=self.clock,
                **details,
            )

    def store(self) -> Session:
        """A read-only look at the central database."""
        return self.central()

    def entries(self, handheld: Handheld) -> dict[int, SyncEntry]:
        with self.central() as session:
            device = handheld.device
            return {
                e.device_seq: e
                for e in session.scalars(select(SyncEntry).where(SyncEntry.device_id == device))
            }

    def applied_up_to(self, handheld: Handheld) -> int:
        with self.central() as session:
            record = session.get(Device, handheld.device)
            return record.last_applied_seq if record else 0

    def ledger_size(self) -> int:
        with self.central() as session:
            return session.scalar(select(func.count()).select_from(Movement)) or 0

    def clock_seq(self) -> int:
        with self.central() as session:
            return current_seq(session)

    def snapshot(self) -> tuple[object, ...]:
        """Everything a push could change at the store: ledger, entries, balances, serials,
        exceptions, rejections, changes."""
        with self.central() as session:
            return (
                _rows(session, Movement, "id", "sync_state", "server_seq", "qty"),
                _rows(
                    session, SyncEntry, "device_id", "device_seq",
                    "payload_hash", "status", "codes", "message",
                ),
                _rows(session, Balance, "part", "lot", "serial", "location", "qty"),
                _rows(session, Serial, "part", "number", "status", "location"),
                _rows(session, SyncException, "id", "code", "status"),
                _rows(session, SyncRejection, "id", "device_seq", "reason"),
                _rows(session, Change, "seq", "kind", "key"),
                current_seq(session),
            )  # fmt: skip

    def close(self) -> None:
        for switchboard in self._switchboards:
            switchboard.app = None
        for service in reversed(self._services):
            service.__exit__(None, None, None)
        for handheld in self.handhelds:
            handheld.close()
        self.central.kw["bind"].dispose()


class Switchboard:
    """An ASGI app that hands each request to the app of the moment, so one service thread
    serves one site after another (the state machine makes a site per run)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":  # between sites: healthy, serving nobody
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b'{"status": "idle"}'})


@contextlib.contextmanager
def shared_service() -> Iterator[tuple[ServiceThread, Switchboard]]:
    """One uvicorn thread for many sites, one at a time (`Site.serve_on`)."""
    switchboard = Switchboard()
    with ServiceThread(switchboard) as service:
        yield service, switchboard


def open_copy(url: str) -> sessionmaker[Session]:
    """`open_database` without the migration check, for databases this test run migrated
    itself or copied (tests/support/databases.py)."""
    return sessionmaker(make_engine(url), expire_on_commit=False)


def copy_site(seed: Path, root: Path) -> None:
    """Copies a closed site's folder (its central SQLite database, its handhelds' databases
    and token files) to `root`."""
    shutil.copytree(seed, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.log"))


def _rows(session: Session, model: type[Any], *columns: str) -> list[tuple[Any, ...]]:
    rows = [tuple(getattr(row, c) for c in columns) for row in session.scalars(select(model))]
    return sorted(rows, key=repr)


def add_local_part(handheld: Handheld, number: str, tracking: str = "none") -> None:
    """A part imported on the handheld alone (`lotscan import parts` on the device), which
    the store has not heard of."""
    with unit_of_work(handheld.sessions) as session:
        session.add(Part(number=number, description=number.title(), tracking=tracking))


def reference_differences(central: sessionmaker[Session], handheld: Handheld) -> list[str]:
    """Reference rows (parts, locations, orders, jobs, lots, serials) the handheld holds
    differently from the store, or lacks: a pull lost or doubled nothing."""
    problems = []
    for kind, model in REFERENCE_KINDS.items():
        if model is Serial:
            continue  # a serial's state is the ledger's; the invariants compare it
        with central() as store, handheld.sessions() as device:
            there = {row_key(r): _comparable(row_data(r)) for r in store.scalars(select(model))}
            here = {row_key(r): _comparable(row_data(r)) for r in device.scalars(select(model))}
        for key in sorted(set(there) | set(here)):
            if there.get(key) != here.get(key):
                problems.append(
                    f"{kind} {key}: store {there.get(key)}, {handheld.name} {here.get(key)}"
                )
    return problems


def _comparable(data: dict[str, Any]) -> dict[str, Any]:
    """Row data without what legitimately differs in representation between databases."""
    return {k: v for k, v in data.items() if k != "created_at"}


# ---- child processes a test can kill ---------------------------------------------------------


def record_forever(db_url: str) -> None:
    """Scans bolts in, one transaction per scan as the handheld does, and prints each
    movement's number once it is committed: what the operator saw confirmed."""
    sessions = open_database(db_url)
    while True:
        with unit_of_work(sessions) as session:
            movement = Ledger(session).receive("BOLT", 1, "A-01")
            seq = movement.device_seq
        print(seq, flush=True)


def sync_until_done(db_url: str, folder: str, batch: int, page: int) -> None:
    """One `sync_once` after another until the queue is empty, as `lotscan sync` run again
    and again would."""
    sessions = open_database(db_url)
    while True:
        report = sync_once(sessions, Path(folder), batch=batch, page=page)
        print(json.dumps(report.as_dict()), flush=True)
        if report.pending == 0:
            return


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "record":
        record_forever(args[0])
    elif command == "sync":
        sync_until_done(args[0], args[1], int(args[2]), int(args[3]))
    else:
        raise SystemExit(f"unknown command {command}")


def child(*args: str) -> list[str]:
    """The command line that runs `main(args)` in a process of its own."""
    return [sys.executable, "-m", "tests.support.sync_over_http", *args]


if __name__ == "__main__":
    main(sys.argv[1:])
