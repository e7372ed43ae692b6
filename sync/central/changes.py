"""The store's clock and its change log: everything devices must learn, numbered in the
order it was committed (docs/architecture.md, "Pull and the change log").

Taking a number updates the one `SyncClock` row, which locks it until the transaction ends:
a second writer waits for the first to commit before it gets the next number, so a device
that has pulled up to N can never later find a change below N appear.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import Table, func, inspect, select, update
from sqlalchemy.orm import Session

from scanner.clock import aware
from scanner.models import STORE_ONLY, Base, Movement
from scanner.quantity import format_quantity
from scanner.settings import SITE_WIDE, SettingKey, stored_text
from sync.central.bulk_sql import write_rows
from sync.central.models import Change, SyncClock
from sync.protocol import REFERENCE_KINDS, SETTING, canonical, movement_in, row_key

CLOCK_ID = 1
_CHANGES = Change.__table__
_CHANGE_COLUMNS = ("seq", "kind", "key", "payload", "created_at")
assert isinstance(_CHANGES, Table)
CHANGES = (_CHANGES, _CHANGE_COLUMNS)
"""The change log's table with the columns of a change row (`ChangeLog.row`)."""
_KIND_OF: dict[type[Base], str] = {model: kind for kind, model in REFERENCE_KINDS.items()}


def ensure_central(session: Session) -> None:
    """Makes this database a central store: its clock starts at 0. Safe to call again, and
    from two processes at once (two `lotscan serve` starting on a new database): the second
    insert does nothing where it would have failed on the first's row."""
    if session.get(SyncClock, CLOCK_ID) is None:
        # Imported here: each dialect's insert is only needed the once a store is made.
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(SyncClock)
            .values(id=CLOCK_ID, seq=0)
            .on_conflict_do_nothing(index_elements=[SyncClock.id])
        )


def is_central(session: Session) -> bool:
    return session.get(SyncClock, CLOCK_ID) is not None


def current_seq(session: Session) -> int:
    """The last number handed out (and, once committed, the last change a device can pull)."""
    return session.scalar(select(SyncClock.seq).where(SyncClock.id == CLOCK_ID)) or 0


def take_numbers(session: Session, count: int) -> range:
    """`count` consecutive numbers from the clock, in one UPDATE ... RETURNING that holds the
    clock's row lock until the transaction ends."""
    statement = (
        update(SyncClock)
        .where(SyncClock.id == CLOCK_ID)
        .values(seq=SyncClock.seq + count)
        .returning(SyncClock.seq)
        .execution_options(synchronize_session=False)
    )
    top = session.execute(statement).scalar_one_or_none()
    if top is None:
        ensure_central(session)
        top = session.execute(statement).scalar_one()
    return range(top - count + 1, top + 1)


def take_number(session: Session) -> int:
    """The clock's next number: gap-free, in commit order."""
    return take_numbers(session, 1)[0]


class ChangeLog:
    """The changes one operation appends, numbered from the clock.

    The first number taken locks the clock's row (`take_numbers`); with the lock held until
    commit nobody else can take one, so the rest are counted here and the clock and the
    changes are written back together by `write`, which every operation calls before it
    returns: two statements instead of two per change.
    """

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.taken = 0
        self._next: int | None = None
        self._written: int | None = None
        self._rows: list[tuple[int, str, str, str, datetime]] = []

    def lock(self) -> None:
        """Takes the clock's row lock now, before anything else is written. Every writing
        operation takes it first (a push right after its device's row), so two of them can
        never each hold a row the other waits for."""
        if self._next is None:
            top = take_numbers(self.session, 0).start - 1
            self._written, self._next = top, top + 1

    def numbers(self, count: int) -> range:
        if count == 0:
            return range(0)
        if self._next is None:
            block = take_numbers(self.session, count)
            self._written = block[-1]
            self._next = block.start
        block = range(self._next, self._next + count)
        self._next += count
        self.taken += count
        return block

    def number(self) -> int:
        return self.numbers(1)[0]

    def add(self, seq: int, kind: str, key: str, data: dict[str, Any]) -> None:
        self.add_text(seq, kind, key, canonical(data))

    def add_text(self, seq: int, kind: str, key: str, payload: str) -> None:
        self._rows.append(self.row(seq, kind, key, payload))

    def row(self, seq: int, kind: str, key: str, payload: str) -> tuple[Any, ...]:
        """A change as `write` writes it, for one written another way
        (`sync.central.write_behind`)."""
        return (seq, kind, key, payload, self.now)

    def emit(self, kind: str, key: str, data: dict[str, Any]) -> int:
        """Appends one change under the next number; returns the number."""
        seq = self.number()
        self.add(seq, kind, key, data)
        return seq

    def emit_row(self, row: Base, data: dict[str, Any] | None = None) -> int:
        """Tells devices about a reference row (as it is now, unless `data` says otherwise)."""
        return self.emit(reference_kind(row), row_key(row), data or reference_data(row))

    def emit_record(self, model: type[Base], record: Any) -> int:
        """Tells devices about a row of `model` this operation has not written yet (a
        record with the model's column names), as `emit_row` tells of a written one."""
        key = "|".join(str(getattr(record, name)) for name in _key_names(model))
        return self.emit(_KIND_OF[model], key, reference_data(record, model))

    def write(self) -> None:
        """Writes the changes and moves the clock to the last number handed out."""
        if self._rows:
            write_rows(self.session, *CHANGES, self._rows)
            self._rows = []
        if self._next is not None and self._next - 1 != self._written:
            self.session.execute(
                update(SyncClock)
                .where(SyncClock.id == CLOCK_ID)
                .values(seq=self._next - 1)
                .execution_options(synchronize_session=False)
            )
            self._written = self._next - 1


# ---- reference rows ---------------------------------------------------------------------


def reference_kind(row: Base) -> str:
    return _KIND_OF[type(row)]


def reference_data(row: Any, model: type[Base] | None = None) -> dict[str, Any]:
    """A reference row as change data (`row_data`), written the same way whichever database
    it was read from and whether or not it was just created: times in UTC with their offset,
    quantities as people write them. `publish_rows` compares these texts to find what
    changed. `row` may be a record with the columns of `model` not yet written."""
    data: dict[str, Any] = {}
    kind: type[Base] = model or type(row)
    for name in _column_names(kind):
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = aware(value).isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = format_quantity(value)
        elif isinstance(value, uuid.UUID):
            value = str(value)
        data[name] = value
    return data


@functools.cache
def _column_names(model: type[Base]) -> tuple[str, ...]:
    return tuple(
        column.key for column in model.__table__.columns if not column.info.get(STORE_ONLY)
    )


@functools.cache
def _key_names(model: type[Base]) -> tuple[str, ...]:
    return tuple(str(column.key) for column in inspect(model).primary_key)


def publish_rows(log: ChangeLog) -> int:
    """Appends a change for every reference row that is new or differs from the last change
    published for its key; returns how many. One query per kind reads what was published."""
    session = log.session
    session.flush()
    fresh: list[tuple[str, str, str]] = []
    for kind, model in REFERENCE_KINDS.items():
        published = _published(session, kind)
        for row in session.scalars(select(model)):
            key = row_key(row)
            payload = canonical(reference_data(row))
            if published.get(key) != payload:
                fresh.append((kind, key, payload))
    for seq, (kind, key, payload) in zip(log.numbers(len(fresh)), fresh, strict=True):
        log.add_text(seq, kind, key, payload)
    return len(fresh)


def _published(session: Session, kind: str) -> dict[str, str]:
    """The last payload published for each key of a kind."""
    latest = select(func.max(Change.seq)).where(Change.kind == kind).group_by(Change.key)
    rows = session.execute(
        select(Change.key, Change.payload).where(Change.kind == kind, Change.seq.in_(latest))
    ).all()
    return {key: payload for key, payload in rows}


# ---- site-wide settings ------------------------------------------------------------------


def site_setting_data(session: Session, setting: SettingKey[Any]) -> dict[str, Any]:
    """A site-wide setting as devices pull it: its text here, None when none is stored."""
    return {"key": setting.key, "value": stored_text(session, setting)}


def publish_site_settings(log: ChangeLog) -> int:
    """Appends a change for each site-wide setting whose stored text differs from the last
    change published for it (one never published and never set needs none); returns how
    many."""
    session = log.session
    session.flush()
    published = _published(session, SETTING)
    emitted = 0
    for setting in SITE_WIDE:
        payload = canonical(site_setting_data(session, setting))
        was = published.get(setting.key)
        if was == payload or (was is None and stored_text(session, setting) is None):
            continue
        log.add_text(log.number(), SETTING, setting.key, payload)
        emitted += 1
    return emitted


# ---- movements --------------------------------------------------------------------------


def movement_text(
    payload: str,
    *,
    device_id: str,
    status: str,
    server_seq: int | None,
    codes: list[str],
    message: str,
) -> str:
    """A "movement" change: the store's outcome, then the movement as pushed (`payload`,
    its entry's canonical JSON text, which has none of these keys). Written as text, as
    `canonical` would write the outcome, rather than encoded again: a push writes one of
    these per movement."""
    quoted = encode_basestring_ascii
    return (
        f'{{"codes":[{",".join(map(quoted, codes))}],"device_id":{quoted(device_id)},'
        f'"message":{quoted(message)},'
        f'"server_seq":{"null" if server_seq is None else int(server_seq)},'
        f'"status":{quoted(status)},{payload[1:]}'
    )


def ledger_fields(session: Session, movement: Movement) -> dict[str, Any]:
    """A movement the store recorded itself (a supervisor's count) in the shape a device
    pushes one, with what a device needs to create its lot or serial."""
    return movement_in(session, movement).model_dump(mode="json")
