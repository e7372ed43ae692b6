"""Test support for the central store's logic (sync.central.push and friends), with no HTTP: a
central store on the `sessions` database, and handhelds, each on a SQLite file of its own,
recording movements through `scanner.ledger.Ledger` as the floor does.

Handhelds turn their movements into `MovementIn` with `sync.device.outbox.movement_in`, and `pull`
hears the other devices' movements the way a pull would tell it, just enough for a second
handheld to see the stock the first one received. Applying pulled changes (`sync.device.answers`)
stays out of it, so these tests pin the store alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.balances import apply_to_caches
from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import (
    Balance,
    Lot,
    LotOrigin,
    Movement,
    Part,
    Serial,
    SerialStatus,
)
from scanner.settings import DEVICE_ID, PULL_CURSOR, write_setting
from scanner.workspace import sqlite_url
from sync.central.enrollment import authenticate, enroll, issue_code
from sync.central.models import Change
from sync.central.pull import pull
from sync.central.push import push
from sync.protocol import (
    EnrollRequest,
    MovementIn,
    PullResponse,
    PushRequest,
    PushResponse,
    movement_facts,
    movement_in,
)
from tests.conftest import NOW
from tests.support.databases import open_migrated
from tests.support.plant import add_plant

T = TypeVar("T")
StockKey = tuple[str, str, str, str]


class MovableClock:
    """A clock a test moves on by hand (a code that expires, a device clock that is off)."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Central:
    """The central store on a migrated database, driven as the HTTP service drives it: one
    transaction per request."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    def run(self, operation: Callable[[Session], T]) -> T:
        with unit_of_work(self.sessions) as session:
            return operation(session)

    def enroll(self, name: str, *, supervisor: bool = False) -> tuple[str, str]:
        """A device enrolled by name: its id and token."""
        issued = self.run(lambda s: issue_code(s, name, supervisor=supervisor, clock=self.clock))
        response = self.run(lambda s: enroll(s, EnrollRequest(code=issued.code), self.clock))
        return response.device_id, response.device_token

    def push(self, token: str, request: PushRequest) -> PushResponse:
        """As the service pushes: the device's row read FOR UPDATE as it authenticates."""
        return self.run(
            lambda s: push(
                s,
                authenticate(s, token, self.clock, lock=True),
                request,
                self.clock,
                row_locked=True,
            )
        )

    def pull(self, token: str, cursor: int, limit: int = 1000) -> PullResponse:
        return self.run(
            lambda s: pull(s, authenticate(s, token, self.clock), cursor, limit, self.clock)
        )

    def count(self, model: type[Any]) -> int:
        return self.run(lambda s: s.scalar(select(func.count()).select_from(model)) or 0)

    def balances(self) -> dict[StockKey, Decimal]:
        return self.run(lambda s: stock(s))

    def changes(self) -> list[Change]:
        return self.run(lambda s: list(s.scalars(select(Change).order_by(Change.seq))))


class Handheld:
    """A handheld's own database with the test plant on it (plus whatever `setup` adds),
    known to the store as `device_id`."""

    def __init__(
        self,
        path: Path,
        device_id: str,
        token: str,
        clock: Callable[[], datetime],
        setup: Callable[[Session], None] | None = None,
    ) -> None:
        self.sessions = open_migrated(sqlite_url(path))
        self.device_id = device_id
        self.token = token
        self.clock = clock
        self.acknowledged = 0  # the store's last_applied_seq, as last heard
        self.cursor = 0
        with unit_of_work(self.sessions) as session:
            add_plant(session)
            write_setting(session, DEVICE_ID, device_id)
            if setup is not None:
                setup(session)

    def do(self, operation: Callable[[Ledger], T]) -> T:
        """One ledger operation in its own transaction, as a scan is recorded."""
        with unit_of_work(self.sessions) as session:
            return operation(Ledger(session, self.clock))

    def movements(self, since: int = 0) -> list[MovementIn]:
        """This handheld's movements numbered after `since`, as it pushes them."""
        with self.sessions() as session:
            rows = session.scalars(
                select(Movement)
                .where(Movement.device_id == self.device_id, Movement.device_seq > since)
                .order_by(Movement.device_seq)
            ).all()
            return [movement_in(session, row) for row in rows]

    def request(
        self, movements: list[MovementIn], *, device_time: datetime | None = None
    ) -> PushRequest:
        top = max((m.seq for m in self.movements()), default=0)
        return PushRequest(
            device_id=self.device_id,
            device_time=device_time or self.clock(),
            app_version="test",
            queue_depth=len(movements),
            max_local_seq=top,
            movements=movements,
        )

    def sync(self, central: Central) -> PushResponse:
        """Pushes everything the store has not acknowledged yet."""
        response = central.push(self.token, self.request(self.movements(self.acknowledged)))
        self.acknowledged = response.last_applied_seq
        return response

    def pull(self, central: Central) -> None:
        """Hears the other devices' movements that count, as a pull tells them (reference
        rows are left out: the test plant is already here), and moves the pull cursor."""
        while True:
            page = central.pull(self.token, self.cursor)
            with unit_of_work(self.sessions) as session:
                for change in page.changes:
                    if change.kind == "movement":
                        self._hear(session, change.data)
                self.cursor = page.cursor
                write_setting(session, PULL_CURSOR, self.cursor)
            if not page.has_more:
                return

    def balances(self) -> dict[StockKey, Decimal]:
        with self.sessions() as session:
            return stock(session)

    def _hear(self, session: Session, data: dict[str, Any]) -> None:
        if data["device_id"] == self.device_id or data["status"] not in ("applied", "flagged"):
            return
        pushed = MovementIn.model_validate({k: v for k, v in data.items() if k in _FIELDS})
        if session.get(Movement, pushed.id) is not None:
            return
        part = session.get_one(Part, pushed.part)
        if pushed.lot and session.get(Lot, (pushed.part, pushed.lot)) is None:
            session.add(
                Lot(
                    part=pushed.part,
                    number=pushed.lot,
                    expiry=pushed.lot_expiry,
                    supplier_lot=pushed.supplier_lot,
                    origin=pushed.lot_origin or LotOrigin.RECEIVED.value,
                    assigned_job=pushed.lot_job,
                    created_at=self.clock(),
                )
            )
        if pushed.serial and session.get(Serial, (pushed.part, pushed.serial)) is None:
            session.add(
                Serial(
                    part=pushed.part,
                    number=pushed.serial,
                    lot=pushed.serial_lot,
                    status=SerialStatus.GONE.value,
                )
            )
        session.flush()
        movement = Movement(
            **movement_facts(pushed),
            device_id=data["device_id"],
            sync_state=data["status"],
            server_seq=data["server_seq"],
        )
        session.add(movement)
        reverses = session.get(Movement, pushed.reverses) if pushed.reverses else None
        apply_to_caches(session, movement, part, reverses)


_FIELDS = set(MovementIn.model_fields)


def stock(session: Session) -> dict[StockKey, Decimal]:
    """Every balance, by (part, lot, serial, location)."""
    return {(b.part, b.lot, b.serial, b.location): b.qty for b in session.scalars(select(Balance))}
