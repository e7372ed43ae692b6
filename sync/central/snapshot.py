"""A snapshot of the store for a handheld that has pulled nothing yet, or must start again
(docs/architecture.md, "Snapshots for a new handheld"): every reference row, lot, serial,
status change and site-wide setting, and the store's ledger up to one change number, page
by page; the handheld then pulls only the changes after that number.

The snapshot stands at change number `cursor`, fixed by its first page: the ledger is read
as the movements numbered up to it (numbers are handed out in commit order, so every one of
them is committed and no later one is read), which is exactly the ledger a handheld that
pulled changes 1 to `cursor` would hold. Reference rows are read as they are when their page
is read, possibly newer than `cursor`; the changes after `cursor` that made them so are
pulled next and, being idempotent, leave them as they are. No page holds a transaction
open for the next, so the service stays stateless and any instance serves any page.

Pages are read by key (`after`), never by offset, so a row written between two pages is
neither skipped nor read twice. Each row is the text a change of its kind carries, written
out as such: a page of 5,000 movements is a few string joins, not 5,000 encodings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, inspect, select, tuple_
from sqlalchemy.orm import Session

from scanner.clock import Clock, utc_now
from scanner.models import Movement, StatusChange
from scanner.settings import SITE_WIDE
from sync.central.changes import (
    current_seq,
    ledger_fields,
    movement_text,
    reference_data,
    site_setting_data,
)
from sync.central.errors import SyncError
from sync.central.models import Device, SyncEntry
from sync.central.status_changes import status_change_data
from sync.protocol import (
    REFERENCE_KINDS,
    SETTING,
    SNAPSHOT_KINDS,
    SNAPSHOT_PAGE,
    STATUS_CHANGE,
    SnapshotPlace,
    canonical,
)

__all__ = ["snapshot_page"]

Key = list[str | int]


def snapshot_page(
    session: Session,
    device: Device,
    cursor: int,
    place: SnapshotPlace | None,
    limit: int = SNAPSHOT_PAGE,
    clock: Clock = utc_now,
) -> str:
    """One page of the snapshot at change number `cursor` (0: take one now, at the
    store's last number), starting at `place` (None: the first page), as the JSON text of
    a `SnapshotPage`. A `cursor` past anything the store has answers `reset`."""
    now = clock()
    device.last_pull_at = device.last_seen_at = now
    top = current_seq(session)
    if cursor > top:
        return _page_text(0, SNAPSHOT_KINDS[0], [], None, now, reset=True)
    at = cursor or top
    kind = place.kind if place is not None else SNAPSHOT_KINDS[0]
    after = _after(kind, place.after if place is not None else None)
    limit = max(1, min(limit, SNAPSHOT_PAGE))
    texts, last = _read(session, kind, at, after, limit + 1)
    if len(texts) > limit:
        texts = texts[:limit]
        following: SnapshotPlace | None = SnapshotPlace(kind=kind, after=last[limit - 1])
    else:
        following = _next_kind(kind)
    return _page_text(at, kind, texts, following, now)


def _next_kind(kind: str) -> SnapshotPlace | None:
    place = SNAPSHOT_KINDS.index(kind) + 1
    return SnapshotPlace(kind=SNAPSHOT_KINDS[place]) if place < len(SNAPSHOT_KINDS) else None


def _page_text(
    cursor: int,
    kind: str,
    rows: Sequence[str],
    following: SnapshotPlace | None,
    now: datetime,
    *,
    reset: bool = False,
) -> str:
    """The page's JSON, the rows spliced in as the texts they already are."""
    place = "null" if following is None else following.model_dump_json()
    return (
        f'{{"cursor":{int(cursor)},"kind":{json.dumps(kind)},"next":{place},'
        f'"reset":{"true" if reset else "false"},"rows":[{",".join(rows)}],'
        f'"server_time":{json.dumps(now.isoformat())}}}'
    )


# ---- where a page starts --------------------------------------------------------------------


def _after(kind: str, after: Key | None) -> tuple[Any, ...] | None:
    """The key a page starts after, read as the kind's key columns hold it; a key that
    does not fit the kind is the client's mistake (422), never a 500."""
    if kind not in SNAPSHOT_KINDS:
        raise SyncError(
            422, "bad_request", f"kind: a snapshot has no {kind!r} rows; it has {SNAPSHOT_KINDS}"
        )
    if after is None:
        return None
    types = _key_types(kind)
    if len(after) != len(types):
        raise SyncError(422, "bad_request", f"after: a {kind} key has {len(types)} values")
    try:
        return tuple(
            _key_value(kind, want, value) for want, value in zip(types, after, strict=True)
        )
    except (TypeError, ValueError):
        raise SyncError(422, "bad_request", f"after: {after!r} is not a {kind} key") from None


def _key_types(kind: str) -> list[type]:
    if kind == "movement":
        return [int]
    if kind == STATUS_CHANGE:
        return [uuid.UUID]
    if kind == SETTING:
        return [str]
    return [column.type.python_type for column in inspect(REFERENCE_KINDS[kind]).primary_key]


def _key_value(kind: str, want: type, value: str | int) -> Any:
    if want is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            raise ValueError(kind)
        return value
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(kind)
    return uuid.UUID(value) if want is uuid.UUID else value


# ---- reading rows ---------------------------------------------------------------------------


def _read(
    session: Session, kind: str, at: int, after: tuple[Any, ...] | None, count: int
) -> tuple[list[str], list[Key]]:
    """Up to `count` rows of `kind` after `after`, as change texts, with their keys."""
    if kind == "movement":
        return _movements(session, at, after[0] if after else 0, count)
    if kind == STATUS_CHANGE:
        return _status_changes(session, after, count)
    if kind == SETTING:
        return _site_settings(session, after, count)
    return _reference_rows(session, kind, after, count)


def _reference_rows(
    session: Session, kind: str, after: tuple[Any, ...] | None, count: int
) -> tuple[list[str], list[Key]]:
    model = REFERENCE_KINDS[kind]
    key_columns = list(inspect(model).primary_key)
    statement: Select[Any] = select(model).order_by(*key_columns).limit(count)
    if after is not None:
        statement = statement.where(tuple_(*key_columns) > tuple_(*after))
    texts: list[str] = []
    keys: list[Key] = []
    for row in session.scalars(statement):
        texts.append(canonical(reference_data(row)))
        keys.append([getattr(row, str(column.key)) for column in key_columns])
    return texts, keys


def _status_changes(
    session: Session, after: tuple[Any, ...] | None, count: int
) -> tuple[list[str], list[Key]]:
    statement = select(StatusChange).order_by(StatusChange.id).limit(count)
    if after is not None:
        statement = statement.where(StatusChange.id > after[0])
    changes = list(session.scalars(statement))
    return (
        [canonical(status_change_data(change)) for change in changes],
        [[str(change.id)] for change in changes],
    )


def _site_settings(
    session: Session, after: tuple[Any, ...] | None, count: int
) -> tuple[list[str], list[Key]]:
    """Every site-wide setting, by key, each as its change carries it: one the store holds
    none of too (its value null), so a new handheld drops any it set before it enrolled."""
    settings = sorted(SITE_WIDE, key=lambda setting: setting.key)
    chosen = [each for each in settings if after is None or each.key > after[0]][:count]
    return (
        [canonical(site_setting_data(session, setting)) for setting in chosen],
        [[setting.key] for setting in chosen],
    )


def _movements(session: Session, at: int, after: int, count: int) -> tuple[list[str], list[Key]]:
    """The store's ledger numbered after `after` and up to `at`, each as its "movement"
    change: the movement as its device pushed it, with the store's outcome. The store's
    own movements (a count, a re-sourced serial) have no pushed entry and are written
    from the ledger, as the store wrote them when it recorded them."""
    rows = session.execute(
        select(Movement, SyncEntry.payload, SyncEntry.status, SyncEntry.codes, SyncEntry.message)
        .outerjoin(SyncEntry, SyncEntry.movement_id == Movement.id)
        .where(Movement.server_seq > after, Movement.server_seq <= at)
        .order_by(Movement.server_seq)
        .limit(count)
    ).all()
    texts: list[str] = []
    keys: list[Key] = []
    for movement, payload, status, codes, message in rows:
        if payload is None:
            payload, status, codes, message = (
                canonical(ledger_fields(session, movement)),
                movement.sync_state,
                "",
                "",
            )
        texts.append(
            movement_text(
                payload,
                device_id=movement.device_id,
                status=status,
                server_seq=movement.server_seq,
                codes=codes.split(",") if codes else [],
                message=message or "",
            )
        )
        keys.append([movement.server_seq])
    return texts, keys
