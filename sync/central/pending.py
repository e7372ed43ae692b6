"""What one central operation has decided and not yet written: the ledger rows, the lots
and serials they bring into being, sync entries, exceptions and rejections of a push, and
what they add to the caches.

A push of 500 movements judged one at a time through the unit of work cost a flush, an
upsert and a few reads per movement. Here the store judges them one after the other against
what it holds in memory (`sync.central.evaluate.Rows` reads through these rows), and writes them at
the end in a handful of statements: one insert per table and one upsert per cache table,
each cache row changed once by the sum of what the batch did to it.

The records carry the same attribute names as the tables' models, so the code that judges
and settles a movement reads a pending row and a stored one alike.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from scanner.balances import CacheDelta, CacheModel, add_cache_deltas
from scanner.models import MOVEMENT_FACTS, Lot, LotStatus, Movement, Serial
from sync.central.bulk_sql import write_rows
from sync.central.models import SyncEntry, SyncException, SyncRejection
from sync.exception_codes import ExceptionCode
from sync.protocol import PUSHED_FACTS, MovementIn


@dataclass(eq=False)
class NewMovement:
    """A movement for the central ledger (`movements`): what its device pushed, in the order
    of `scanner.models.MOVEMENT_FACTS` (`pushed` fills them by place), then where it stands."""

    id: uuid.UUID
    device_seq: int
    kind: str
    part: str
    lot: str | None
    serial: str | None
    qty: Decimal
    from_location: str | None
    to_location: str | None
    job: str | None
    po: str | None
    po_line: int | None
    so: str | None
    so_line: int | None
    operator: str | None
    reverses: uuid.UUID | None
    reason: str | None
    happened_at: datetime
    observed_cursor: int | None
    _: KW_ONLY
    device_id: str
    recorded_at: datetime
    sync_state: str
    server_seq: int
    outcome: str | None = None

    @classmethod
    def pushed(
        cls,
        movement: MovementIn,
        *,
        device_id: str,
        recorded_at: datetime,
        sync_state: str,
        server_seq: int,
    ) -> NewMovement:
        """A pushed movement as the store records it. Its facts go in by place, read in one
        call: a push copies five hundred, and naming each cost twice as much."""
        return cls(
            *_PUSHED(movement),
            device_id=device_id,
            recorded_at=recorded_at,
            sync_state=sync_state,
            server_seq=server_seq,
        )


@dataclass(eq=False)
class NewLot:
    """A lot a pushed movement brings into being (`lots`)."""

    part: str
    number: str
    expiry: date | None
    supplier_lot: str | None
    status: str
    origin: str
    assigned_job: str | None
    created_at: datetime


@dataclass(eq=False)
class NewSerial:
    """A serial a pushed movement brings into being (`serials`), in the state the movements
    of the operation left it."""

    part: str
    number: str
    lot: str | None
    status: str
    location: str | None
    quality_status: str = LotStatus.ACTIVE.value
    """Released: a serial comes into being released; only a person holds it later."""


@dataclass(eq=False)
class NewEntry:
    """A pushed movement's `sync_entries` row."""

    device_id: str
    device_seq: int
    movement_id: uuid.UUID
    payload: str
    payload_hash: str
    received_at: datetime
    status: str = ""
    codes: str = ""
    message: str = ""
    change_seq: int | None = None


@dataclass(eq=False)
class NewException:
    """A `sync_exceptions` row. Compared by identity: two alike are two exceptions."""

    device_id: str | None
    device_seq: int | None
    code: str
    message: str
    part: str | None
    lot: str | None
    serial: str | None
    location: str | None
    status: str
    opened_at: datetime
    closed_at: datetime | None = None
    resolution: str | None = None
    resolved_by: str | None = None
    summary_id: int | None = None  # grouped past its device's cap (sync.central.exception_cap)
    # Not columns: grouped under a summary opened by this same operation (its id is known
    # once it is written), and a summary's id once written.
    grouped_under: NewException | None = None
    written_id: int | None = None


@dataclass(eq=False)
class NewRejection:
    device_id: str
    device_seq: int
    payload: str
    reason: str
    received_at: datetime


def _columns(model: type[Any], names: tuple[str, ...] | None = None) -> _Target:
    """A table and the columns its pending records give (all of them unless `names`)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table, names or tuple(column.key for column in table.columns)


def _fields(record: type[Any]) -> tuple[str, ...]:
    return tuple(record.__dataclass_fields__)


_Target = tuple[Table, tuple[str, ...]]
_LOTS = _columns(Lot, _fields(NewLot))
_SERIALS = _columns(Serial, _fields(NewSerial))
_MOVEMENTS = _columns(Movement)
_PUSHED = attrgetter(*PUSHED_FACTS)
assert _fields(NewMovement)[: len(MOVEMENT_FACTS)] == MOVEMENT_FACTS, (
    "NewMovement declares a movement's facts first, in the order of MOVEMENT_FACTS"
)
_ENTRIES = _columns(SyncEntry)
_NOT_COLUMNS = ("grouped_under", "written_id")
# The id is the database's.
_EXCEPTIONS = _columns(
    SyncException, tuple(name for name in _fields(NewException) if name not in _NOT_COLUMNS)
)
_REJECTIONS = _columns(SyncRejection, _fields(NewRejection))


@dataclass
class Pending:
    """The rows an operation will write, with the indexes its judging needs."""

    lots: list[NewLot] = field(default_factory=list)
    serials: list[NewSerial] = field(default_factory=list)
    movements: dict[uuid.UUID, NewMovement] = field(default_factory=dict)
    reversals: dict[uuid.UUID, NewMovement] = field(default_factory=dict)
    """Each reversal by the movement it reverses."""
    by_source: dict[tuple[str, str], list[NewMovement]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Movements by (part, from_location), in the store's order."""
    by_serial: dict[tuple[str, str], list[NewMovement]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Movements by (part, serial), in the store's order."""
    entries: dict[tuple[str, int], NewEntry] = field(default_factory=dict)
    exceptions: list[NewException] = field(default_factory=list)
    exceptions_of: dict[tuple[str, int], list[NewException]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Exceptions by the entry (device, number) they are about."""
    rejections: list[NewRejection] = field(default_factory=list)
    cache: dict[tuple[CacheModel, tuple[str, ...]], Decimal] = field(default_factory=dict)
    """What the movements add to each cache row, summed."""
    behind: set[NewMovement | NewEntry] = field(default_factory=set)
    """Ledger rows and entries written already (`sync.central.write_behind`): held here for
    what the operation looks up, left out of `write`."""

    def is_empty(self) -> bool:
        return not (
            self.lots
            or self.serials
            or self.movements
            or self.entries
            or self.exceptions
            or self.rejections
            or self.cache
        )

    def add_movement(self, movement: NewMovement) -> None:
        self.movements[movement.id] = movement
        if movement.reverses is not None:
            self.reversals[movement.reverses] = movement
        if movement.from_location is not None:
            self.by_source[(movement.part, movement.from_location)].append(movement)
        if movement.serial is not None:
            self.by_serial[(movement.part, movement.serial)].append(movement)

    def add_exception(self, exception: NewException) -> None:
        self.exceptions.append(exception)
        if exception.device_id is not None and exception.device_seq is not None:
            self.exceptions_of[(exception.device_id, exception.device_seq)].append(exception)

    def add_to_caches(self, deltas: list[CacheDelta]) -> None:
        cache = self.cache
        for model, key, qty in deltas:
            slot = (model, key)
            cache[slot] = cache.get(slot, Decimal(0)) + qty

    def write_caches(self, session: Session) -> dict[tuple[CacheModel, tuple[str, ...]], Decimal]:
        """Writes what the movements added to the caches; returns it."""
        written, self.cache = self.cache, {}
        if written:
            add_cache_deltas(session, written)
        return written

    def write(self, session: Session) -> None:
        """Writes everything, parents first (what the session holds, the lots and serials,
        then the ledger, the entries and what refers to them), and starts empty again."""
        session.flush()
        _insert(session, _LOTS, self.lots)
        _insert(session, _SERIALS, self.serials)
        behind = self.behind
        _insert(session, _MOVEMENTS, (m for m in self.movements.values() if m not in behind))
        _insert(session, _ENTRIES, (e for e in self.entries.values() if e not in behind))
        _insert_exceptions(session, self.exceptions)
        _insert(session, _REJECTIONS, self.rejections)
        self.write_caches(session)
        self.lots.clear()
        self.serials.clear()
        self.movements.clear()
        self.reversals.clear()
        self.by_source.clear()
        self.by_serial.clear()
        self.entries.clear()
        self.exceptions.clear()
        self.exceptions_of.clear()
        self.rejections.clear()
        self.behind.clear()


def _insert_exceptions(session: Session, exceptions: list[NewException]) -> None:
    """Writes the exceptions in the order they were opened. A summary opened among them
    is written in its place, on its own to learn its id, which what it groups then names:
    so the ids are those the same movements pushed one at a time would give."""
    batch: list[NewException] = []
    table, names = _EXCEPTIONS
    for exception in exceptions:
        if exception.grouped_under is not None:
            exception.summary_id = exception.grouped_under.written_id
        if exception.code != ExceptionCode.TOO_MANY_EXCEPTIONS:
            batch.append(exception)
            continue
        _insert(session, _EXCEPTIONS, batch)
        batch = []
        values = {name: getattr(exception, name) for name in names}
        exception.written_id = session.execute(
            insert(table).values(values).returning(table.c.id)
        ).scalar_one()
    _insert(session, _EXCEPTIONS, batch)


def _insert(session: Session, target: _Target, records: Iterable[Any]) -> None:
    table, names = target
    values = attrgetter(*names)
    write_rows(session, table, names, [values(record) for record in records])


MOVEMENTS, ENTRIES = _MOVEMENTS, _ENTRIES
"""The ledger's and the entries' tables with the columns their pending records give."""
MOVEMENT_ROW = attrgetter(*_MOVEMENTS[1])
"""A pending ledger row's values, in the order of `MOVEMENTS`' columns."""
ENTRY_ROW = attrgetter(*_ENTRIES[1])
"""A pending entry's values, in the order of `ENTRIES`' columns."""
