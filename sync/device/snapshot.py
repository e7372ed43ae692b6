"""A handheld taking in the store's snapshot (docs/architecture.md, "Snapshots for a new
handheld"): instead of replaying every change since the store began, one change at a time
(about 1.1 ms each), it writes each page's rows in a few statements, then rebuilds its
caches from its ledger once and takes the snapshot's cursor.

A snapshot handheld ends with the database a replay would give it: every reference row,
lot, serial and status change, and the store's whole ledger (the movements that count),
so its trace, its consistency check (`scanner.balance_check`) and every ledger rule that
reads history (returns, what a line or job has had) work as on any other handheld.

Each page is written in its own transaction, so scans go on between pages; the caches and
the cursor are written together at the end (`finish_snapshot`). A snapshot cut off midway
leaves the cursor where it was, and the next sync takes a new snapshot: every row is
written idempotently (a reference row replaced, a movement added once by its id), and the
rebuild at the end folds whatever the ledger then holds.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Insert, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scanner.balance_check import rebuild_caches
from scanner.models import Base, Movement, StatusChange, SyncState
from scanner.settings import PULL_CURSOR, write_setting
from sync.device.answers import (
    COUNTED_WHEN_PULLED,
    keep_own_decisions,
    outcome_text,
    pulled_movement,
    pulled_setting,
    pulled_status_change,
)
from sync.protocol import REFERENCE_KINDS, SETTING, STATUS_CHANGE, MovementIn, movement_facts

__all__ = ["apply_snapshot_page", "finish_snapshot", "holds_others_movements"]

_MOVEMENTS = Movement.__table__
_FIELDS = frozenset(MovementIn.model_fields)


def holds_others_movements(session: Session, device_id: str) -> bool:
    """Whether this handheld's ledger holds a movement of another device: asked once before
    a snapshot. A handheld that holds none (nearly every one taking a snapshot: a new one)
    cannot already have any movement the snapshot brings but its own."""
    found = session.scalar(select(Movement.id).where(Movement.device_id != device_id).limit(1))
    return found is not None


def apply_snapshot_page(
    session: Session,
    device_id: str,
    kind: str,
    rows: Sequence[dict[str, Any]],
    *,
    seen_others: bool = True,
) -> int:
    """Writes one page of the snapshot; returns how many rows it held. `seen_others`: the
    ledger held other devices' movements before the snapshot began
    (`holds_others_movements`), so a movement of the page may be one it already has. A kind
    this version does not know is skipped, as a pull skips one: a newer store may send
    more."""
    if kind in REFERENCE_KINDS:
        model = REFERENCE_KINDS[kind]
        _upsert(session, model, [_values(model, row) for row in rows])
    elif kind == STATUS_CHANGE:
        for row in rows:
            pulled_status_change(session, row)
    elif kind == SETTING:
        for row in rows:
            pulled_setting(session, row)
    elif kind == "movement":
        _movements(session, device_id, rows, seen_others)
    session.flush()
    return len(rows)


def finish_snapshot(session: Session, cursor: int) -> None:
    """The caches rebuilt from the ledger the snapshot filled, this handheld's own closes
    and reopens still waiting kept (as a pull keeps them), and the cursor taken: the next
    pull starts after the snapshot."""
    rebuild_caches(session)
    waiting = session.execute(
        select(StatusChange.subject, StatusChange.key).where(
            StatusChange.sync_state == SyncState.PENDING.value
        )
    ).tuples()
    keep_own_decisions(session, set(waiting))
    write_setting(session, PULL_CURSOR, cursor)


# ---- reference rows -----------------------------------------------------------------------


def _values(model: type[Base], data: dict[str, Any]) -> dict[str, Any]:
    """A reference row's change data as its columns' values (dates and times read, exact
    quantities), for the columns the data names."""
    return {
        name: (read(data[name]) if data[name] is not None else None)
        for name, read in _readers(model)
        if name in data
    }


@functools.cache
def _readers(model: type[Base]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    readers: list[tuple[str, Callable[[Any], Any]]] = []
    for column in model.__table__.columns:
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            python_type = object
        read: Callable[[Any], Any] = _same
        if python_type is datetime:
            read = datetime.fromisoformat
        elif python_type is date:
            read = date.fromisoformat
        elif python_type is Decimal:
            read = Decimal
        elif python_type is uuid.UUID:
            read = uuid.UUID
        readers.append((column.key, read))
    return tuple(readers)


def _same(value: Any) -> Any:
    return value


def _upsert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Each row made, or replaced by the store's: one INSERT ... ON CONFLICT for the page
    where the database has one, else a merge per row."""
    if not rows:
        return
    table = model.__table__
    assert isinstance(table, Table)
    keys = [column.name for column in table.primary_key.columns]
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        for row in rows:
            session.merge(model(**row))
        return
    session.flush()
    for names in {tuple(row) for row in rows}:  # a newer store may leave some out
        same = [row for row in rows if tuple(row) == names]
        statement = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
        updated = {name: statement.excluded[name] for name in names if name not in keys}
        session.execute(
            statement.on_conflict_do_update(index_elements=keys, set_=updated)
            if updated
            else statement.on_conflict_do_nothing(index_elements=keys),
            same,
        )
    session.expire_all()  # rows the session holds were replaced beneath it


# ---- movements ----------------------------------------------------------------------------


def _movements(
    session: Session, device_id: str, rows: Sequence[dict[str, Any]], seen_others: bool
) -> None:
    """The store's ledger, in its order. Another device's movement this handheld has never
    seen (nearly all of them) is inserted with the page's others in one statement; one it
    has (its own, or one pulled before a reset) takes its outcome as a pull would give it."""
    ids = [uuid.UUID(str(row["id"])) for row in rows]
    known: set[uuid.UUID] = set()
    if seen_others:
        known = set(session.scalars(select(Movement.id).where(Movement.id.in_(ids))))
    fresh: list[dict[str, Any]] = []
    for movement_id, row in zip(ids, rows, strict=True):
        if movement_id in known or row.get("device_id") == device_id:
            _insert(session, fresh)
            fresh = []
            pulled_movement(session, device_id, row)
        elif row.get("status") in COUNTED_WHEN_PULLED:
            fresh.append(_movement_values(row))
    _insert(session, fresh)


def _movement_values(row: dict[str, Any]) -> dict[str, Any]:
    fields = MovementIn.model_validate({key: value for key, value in row.items() if key in _FIELDS})
    codes = [str(code) for code in row.get("codes") or []]
    return {
        **movement_facts(fields),
        "device_id": str(row["device_id"]),
        "sync_state": str(row["status"]),
        "server_seq": row.get("server_seq"),
        "outcome": outcome_text(codes, str(row.get("message") or "")),
    }


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """New movements in one statement. A store number another movement here holds (the
    store was restored and numbered again) is freed first, as a pull frees it; a device
    number this database already gave a different movement is left out, as a pull leaves
    it (the store answers that clash when the local one is pushed)."""
    if not rows:
        return
    session.flush()
    numbers = [row["server_seq"] for row in rows if row["server_seq"] is not None]
    if numbers:
        # The page is in the store's order, and a movement here that took its number from
        # this page came before these rows: any other holder of one in their range is freed.
        session.execute(
            update(Movement)
            .where(Movement.server_seq.between(min(numbers), max(numbers)))
            .values(server_seq=None)
            .execution_options(synchronize_session=False)
        )
    session.execute(_insert_new(session.get_bind().dialect.name), rows)


def _insert_new(dialect: str) -> Insert:
    assert isinstance(_MOVEMENTS, Table)
    if dialect == "postgresql":
        return postgresql.insert(_MOVEMENTS).on_conflict_do_nothing()
    return insert(_MOVEMENTS).prefix_with("OR IGNORE", dialect="sqlite")
