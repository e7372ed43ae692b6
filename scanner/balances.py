"""What the ledger keeps beside itself, movement by movement: balances (stock by part, lot or
serial and location), serial states, and job genealogy (what each job consumed and made).
The rest of the code calls them the caches: figures derived from the ledger.

They change in the same transaction as the movement that changes them, and a replay of the
ledger (`scanner.balance_check`) reproduces them exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Delete,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapper, Session, class_mapper
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import TextClause

from scanner.cursor_statements import Prepared
from scanner.describing import describe
from scanner.errors import RuleViolation
from scanner.models import (
    NO_LOT,
    NOT_EFFECTIVE,
    Balance,
    JobLot,
    JobLotRole,
    Movement,
    MovementKind,
    Part,
    Serial,
    SerialStatus,
    Tracking,
)
from scanner.quantity import MOST_HELD, format_quantity, within_holding
from scanner.row_by_key import find

CacheModel = type[Balance] | type[JobLot]
CacheDelta = tuple[CacheModel, tuple[str, ...], Decimal]
"""A change to one cache row: its table, its primary key (in the table's key order) and
the quantity to add."""


class Moved(Protocol):
    """What the caches read of a movement: a ledger row, or one the central store has
    judged and writes with the rest of its batch (`sync.central.pending`)."""

    @property
    def kind(self) -> str: ...
    @property
    def lot(self) -> str | None: ...
    @property
    def serial(self) -> str | None: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def from_location(self) -> str | None: ...
    @property
    def to_location(self) -> str | None: ...
    @property
    def job(self) -> str | None: ...


def stock_key(part: Part, lot: str | None, serial: str | None) -> tuple[str, str]:
    """The (lot, serial) a balance is kept under: a lot only for lot-tracked parts, a serial
    only for serial-tracked ones. A lot recorded on a shipment of an untracked part (a sales
    line that asked for lot control) names the shipment, not the stock it came from."""
    return (
        (lot or NO_LOT) if part.tracking == Tracking.LOT else NO_LOT,
        (serial or NO_LOT) if part.tracking == Tracking.SERIAL else NO_LOT,
    )


def apply_to_caches(
    session: Session, movement: Movement, part: Part, reverses: Movement | None
) -> None:
    """Folds one movement into the balances, the serial states and the job genealogy."""
    _fold(session, movement, part, reverses, 1)
    if movement.serial is not None:
        kind = MovementKind(reverses.kind if reverses else movement.kind)
        record = find(session, Serial, (part.number, movement.serial))
        if record is not None:
            record.status, record.location = serial_state_after(movement, kind)


def withdraw_from_caches(
    session: Session, movement: Movement, part: Part, reverses: Movement | None
) -> None:
    """Takes a counted movement's effect back out of the caches: the central store held or
    voided it, so it no longer counts (`scanner.models.NOT_EFFECTIVE`). The caller marks the
    movement first; a serial's state is then what its last counting movement left."""
    _fold(session, movement, part, reverses, -1)
    if movement.serial is not None:
        refresh_serial(session, part.number, movement.serial)


def refresh_serial(session: Session, part: str, serial: str) -> None:
    """Sets a serial's state from the last movement of it that counts."""
    record = session.get(Serial, (part, serial))
    if record is None:
        return
    session.flush()
    last = session.scalars(
        select(Movement)
        .where(
            Movement.part == part,
            Movement.serial == serial,
            Movement.sync_state.not_in(NOT_EFFECTIVE),
        )
        .order_by(Movement.server_seq.is_(None), Movement.server_seq, Movement.happened_at)
    ).all()
    if not last:
        record.status, record.location = SerialStatus.GONE.value, None
        return
    final = last[-1]
    original = session.get(Movement, final.reverses) if final.reverses else None
    kind = MovementKind(original.kind if original else final.kind)
    record.status, record.location = serial_state_after(final, kind)


def _fold(
    session: Session, movement: Movement, part: Part, reverses: Movement | None, sign: int
) -> None:
    for model, key, change in cache_deltas(
        movement, part, reverses.kind if reverses else None, sign
    ):
        _add(session, model, key, change)


def cache_deltas(
    movement: Moved, part: Part, reverses_kind: str | None, sign: int = 1
) -> list[CacheDelta]:
    """What folding one movement into the caches adds to which rows (`sign` -1 takes it
    back out): its source and destination balances, and the job genealogy for an issue or
    a production (or a reversal of one, given the kind of the movement it reverses)."""
    lot_key, serial_key = stock_key(part, movement.lot, movement.serial)
    qty = movement.qty if sign == 1 else -movement.qty
    deltas: list[CacheDelta] = []
    if movement.from_location is not None:
        deltas.append((Balance, (part.number, lot_key, serial_key, movement.from_location), -qty))
    if movement.to_location is not None:
        deltas.append((Balance, (part.number, lot_key, serial_key, movement.to_location), qty))
    if movement.job is not None:
        kind = reverses_kind if reverses_kind is not None else movement.kind
        role = _JOB_ROLES.get(kind)
        if role is not None:
            change = -qty if reverses_kind is not None else qty
            deltas.append((JobLot, (movement.job, role, part.number, lot_key, serial_key), change))
    return deltas


_JOB_ROLES = {
    MovementKind.ISSUE.value: JobLotRole.CONSUMED.value,
    MovementKind.PRODUCE.value: JobLotRole.PRODUCED.value,
}
"""The genealogy a job keeps of each kind of movement that names it."""


def add_cache_deltas(
    session: Session, deltas: Mapping[tuple[CacheModel, tuple[str, ...]], Decimal]
) -> None:
    """Adds many changes to the cache rows at once (the central store's batch, summed per
    row): one upsert per table for all its rows, then one delete of the rows that came to
    zero. A copy of a changed row the session holds is dropped, to be read again."""
    for model in (Balance, JobLot):
        changes = [(key, qty) for (table, key), qty in deltas.items() if table is model and qty]
        if not changes:
            continue
        statements = _cache_statements(model, session.get_bind().dialect.name)
        session.flush()  # plain statements see only what was flushed
        if statements.add_many is None:
            for key, qty in changes:
                _add(session, model, key, qty)
            continue
        keys = [dict(zip(statements.names, key, strict=True)) for key, _qty in changes]
        session.execute(
            statements.add_many,
            [{**names, "new_qty": qty} for names, (_key, qty) in zip(keys, changes, strict=True)],
        )
        session.execute(statements.remove_empty, keys)
        for key, _qty in changes:
            held = session.identity_map.get(statements.mapper.identity_key_from_primary_key(key))
            if held is not None:
                session.expunge(held)


def beyond_holding(model: CacheModel, key: tuple[str, ...], total: Decimal) -> str:
    """Why a movement may not bring the cache row at `key` to `total` (see
    `scanner.quantity.MOST_HELD`), in a floor worker's words."""
    most = format_quantity(MOST_HELD)
    if model is Balance:
        part, lot, serial, location = key
        what = f"{describe(part, lot or None, serial or None)} at {location}"
    else:
        job, role, part, lot, serial = key
        what = f"what job {job} {role} of {describe(part, lot or None, serial or None)}"
    return (
        f"This would make {what} {format_quantity(total)}: one balance holds at most"
        f" {most} either way, more than any plant has. Check the quantity"
    )


def serial_state_after(movement: Moved, kind: MovementKind) -> tuple[str, str | None]:
    """Where a serial is after a movement (`kind`: of the movement, or of the one it
    reverses): in stock where it went, else consumed, shipped or gone. A customer's return
    undone leaves the unit with the customer again: shipped."""
    if movement.to_location is not None:
        return SerialStatus.IN_STOCK.value, movement.to_location
    reversal = movement.kind == MovementKind.REVERSE
    if not reversal and kind == MovementKind.ISSUE:
        return SerialStatus.CONSUMED.value, None
    if (not reversal and kind == MovementKind.SHIP) or (reversal and kind == MovementKind.RETURN):
        return SerialStatus.SHIPPED.value, None
    return SerialStatus.GONE.value, None


def stock_on_hand(session: Session, part: str, lot: str, serial: str, location: str) -> Decimal:
    """The balance of a part (lot, serial as `stock_key` gives them) at one place, its row
    locked until the transaction ends where the database locks rows."""
    statements = _cache_statements(Balance, session.get_bind().dialect.name)
    session.flush()  # plain statements see only what was flushed
    params = dict(zip(statements.names, (part, lot, serial, location), strict=True))
    found = statements.read.first(session, params)
    return found[0] if found is not None else Decimal(0)


def _add(
    session: Session, model: type[Balance | JobLot], key: tuple[str, ...], change: Decimal
) -> None:
    """Adds `change` to the quantity of the cache row at `key`: a row is made when there was
    none and removed when it comes to zero. Plain statements, not the unit of work: a scan
    changes one or two rows, and flushing an object per row cost more than the scan's SQL.
    A copy of the row the session holds is kept in step."""
    statements = _cache_statements(model, session.get_bind().dialect.name)
    params = dict(zip(statements.names, key, strict=True))
    session.flush()  # plain statements see only what was flushed
    held = session.identity_map.get(statements.mapper.identity_key_from_primary_key(key))
    if statements.upsert is not None:
        ((total,),) = statements.upsert.run(session, {**params, "new_qty": change})
        if total == 0:
            statements.remove.run(session, params)
    else:
        found = statements.read.first(session, params)
        current = None if found is None else found[0]
        total = change if current is None else current + change
        if current is None:
            statements.add.run(session, {**params, "new_qty": change})
        elif total == 0:
            statements.remove.run(session, params)
        else:
            statements.change.run(session, {**params, "new_qty": total})
    if not within_holding(total):
        raise RuleViolation(beyond_holding(model, key, total))
    if held is not None:
        if total == 0:
            session.expunge(held)
        else:
            set_committed_value(held, "qty", total)


@dataclass(frozen=True)
class _CacheStatements:
    """The statements that keep one cache table, by its primary key."""

    mapper: Mapper[Any]
    names: tuple[str, ...]
    read: Prepared
    add: Prepared
    change: Prepared
    remove: Prepared
    upsert: Prepared | None
    """Adds to the row or makes it, returning the new quantity, in one statement; None
    where the database cannot (SQLite before 3.35): then `read`, and `add` or `change`."""
    add_many: TextClause | None
    """`upsert` without the quantity returned, for many rows at once (executemany)."""
    remove_empty: Delete
    """Removes the row if its quantity is zero."""


_STATEMENTS: dict[tuple[type[Any], str], _CacheStatements] = {}


def _cache_statements(model: type[Balance | JobLot], dialect: str) -> _CacheStatements:
    known = _STATEMENTS.get((model, dialect))
    if known is not None:
        return known
    mapper = class_mapper(model)
    table = mapper.local_table
    assert isinstance(table, Table)
    keys = list(table.primary_key.columns)
    names = tuple(f"key_{column.key}" for column in keys)
    match = and_(*(column == bindparam(name) for column, name in zip(keys, names, strict=True)))
    quantity = bindparam("new_qty", type_=table.c.qty.type)
    values = {
        **{column: bindparam(name) for column, name in zip(keys, names, strict=True)},
        table.c.qty: quantity,
    }
    known = _STATEMENTS[(model, dialect)] = _CacheStatements(
        mapper=mapper,
        names=names,
        # FOR UPDATE on PostgreSQL: two store transactions must not both add to the same
        # row from the same old quantity (SQLite's write lock already serialises them).
        read=Prepared(select(table.c.qty).where(match).with_for_update()),
        add=Prepared(insert(table).values(values)),
        change=Prepared(update(table).where(match).values(qty=quantity)),
        remove=Prepared(delete(table).where(match)),
        upsert=_upsert(table, keys, dialect),
        add_many=_add_many(table, keys, dialect),
        remove_empty=delete(table).where(match, table.c.qty == 0),
    )
    return known


def _upsert(table: Table, keys: list[Column[Any]], dialect: str) -> Prepared | None:
    """INSERT ... ON CONFLICT DO UPDATE ... RETURNING, in the words SQLite and PostgreSQL
    share. Written as text because SQLAlchemy compiles its dialects' upserts anew on every
    call (they are not cached), which cost more than the two statements it replaces."""
    adding = _add_many(table, keys, dialect)
    if adding is None:
        return None
    quantity = table.c.qty.type
    return Prepared(
        text(f"{adding.text} RETURNING qty")
        .bindparams(bindparam("new_qty", type_=quantity))
        .columns(qty=quantity)
    )


def _add_many(table: Table, keys: list[Column[Any]], dialect: str) -> TextClause | None:
    """INSERT ... ON CONFLICT DO UPDATE adding to the quantity; None where the database
    cannot (SQLite before 3.35)."""
    if dialect != "postgresql" and not (
        dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 35)
    ):
        return None
    names = [column.name for column in keys]
    marks = ", ".join(f":key_{name}" for name in names)
    statement = text(
        f"INSERT INTO {table.name} ({', '.join(names)}, qty) VALUES ({marks}, :new_qty)"
        f" ON CONFLICT ({', '.join(names)}) DO UPDATE SET qty = {table.name}.qty + excluded.qty"
    )
    return statement.bindparams(bindparam("new_qty", type_=table.c.qty.type))
