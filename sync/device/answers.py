"""What the handheld does with the store's answers: outcomes of its own movements, and the
changes it pulls (reference data, lots and serials, other devices' movements).

Every change is idempotent here, so a page pulled twice, a reset to cursor 0 or a push
response that arrives after the same outcome was pulled changes nothing the second time.
The caches stay a fold of the movements that count (`scanner.balance_check.cache_differences`
finds nothing): a movement that stops counting is withdrawn from them, one that starts
counting is folded in.

The callers own the transaction: a push's outcomes, or a pull page and its cursor, are
written together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, select
from sqlalchemy.orm import Session

from scanner.balances import apply_to_caches, refresh_serial, withdraw_from_caches
from scanner.clock import aware
from scanner.closing import settle_status
from scanner.errors import LotscanError
from scanner.models import (
    NOT_EFFECTIVE,
    Base,
    Job,
    Lot,
    LotOrigin,
    LotStatus,
    Movement,
    MovementKind,
    Part,
    Serial,
    SerialStatus,
    StatusChange,
    StatusSubject,
    SyncState,
)
from scanner.settings import take_site_setting
from sync.protocol import (
    REFERENCE_KINDS,
    SETTING,
    STATUS_CHANGE,
    Change,
    MovementIn,
    MovementOutcome,
    StatusChangeIn,
    movement_facts,
    row_from_data,
)

_T = TypeVar("_T")
COUNTED_WHEN_PULLED = (SyncState.APPLIED.value, SyncState.FLAGGED.value)
_STATES = {state.value for state in SyncState} - {SyncState.PENDING.value}
_OUTCOME_LENGTH = 300
_ORIGIN_BY_KIND = {
    MovementKind.RECEIVE.value: LotOrigin.RECEIVED,
    MovementKind.PRODUCE.value: LotOrigin.PRODUCED,
    MovementKind.SHIP.value: LotOrigin.SHIPPED,
    MovementKind.ADJUST.value: LotOrigin.ADJUSTED,
}
# Reference rows first, parents before children, then movements: a page may carry a job
# line before its job, or a movement before the lot it names.
_KIND_ORDER = {kind: place for place, kind in enumerate([*REFERENCE_KINDS, "movement"])}


class UnknownInPull(LotscanError):
    """The store sent a movement naming something this handheld has never been sent."""


def apply_outcome(session: Session, device_id: str, outcome: MovementOutcome) -> Movement | None:
    """Gives this device's movement number `outcome.seq` the store's answer from a push.
    None when the device has no such movement (nothing to do)."""
    (movement,) = apply_outcomes(session, device_id, [outcome])
    return movement


def apply_outcomes(
    session: Session, device_id: str, outcomes: Sequence[MovementOutcome]
) -> list[Movement | None]:
    """`apply_outcome` for each of a push's answers in turn, with the movements and the
    holders of the numbers they get read in two statements for the lot, not two each: the
    answers to a backlog's 500-movement pushes were a third of its sync."""
    if not outcomes:
        return []
    seqs = sorted({outcome.seq for outcome in outcomes})
    mine = {
        movement.device_seq: movement
        for movement in session.scalars(
            select(Movement).where(Movement.device_id == device_id, Movement.device_seq.in_(seqs))
        )
    }
    numbers = _Numbers(session, {o.server_seq for o in outcomes if o.server_seq is not None})
    settled: list[Movement | None] = []
    for outcome in outcomes:
        movement = mine.get(outcome.seq)
        if movement is not None:
            settle(
                session,
                movement,
                outcome.status,
                outcome.server_seq,
                outcome.codes,
                outcome.message,
                numbers=numbers,
            )
        settled.append(movement)
    session.flush()
    return settled


def apply_changes(session: Session, device_id: str, changes: Sequence[Change]) -> int:
    """Applies one pulled page; returns how many changes it held. `device_id` is this
    device's: its own movements take their outcome, other devices' movements that count are
    added to the ledger."""
    decided: set[tuple[str, str]] = set()
    page = _Page(session, device_id, changes)
    for change in sorted(changes, key=lambda c: (_KIND_ORDER.get(c.kind, len(_KIND_ORDER)), c.seq)):
        if change.kind in REFERENCE_KINDS:
            _upsert(session, change.kind, change.data)
            if change.kind in _CLOSABLE:
                decided.add((_CLOSABLE[change.kind], change.key))
        elif change.kind == "movement":
            pulled_movement(session, device_id, change.data, page)
        elif change.kind == STATUS_CHANGE:
            decided.add(pulled_status_change(session, change.data))
        elif change.kind == SETTING:
            pulled_setting(session, change.data)
        # A kind this version does not know is skipped: a newer store may send more.
    session.flush()
    keep_own_decisions(session, decided)
    return len(changes)


_READ_AT_ONCE = 500


class _Page:
    """What the movements of a pulled page find in this handheld's ledger, read before the
    page is applied in a few statements, a statement for every 500 movements, where each
    movement read its own: whether the handheld has it, whether its device's number is
    taken here, and who holds its store number. Pulling another device's 3,000 movements
    spent a third of its time on those queries, one of each a movement. What the page adds
    as it goes is noted here too, so each movement sees the ones before it."""

    def __init__(self, session: Session, device_id: str, changes: Sequence[Change]) -> None:
        self.session = session
        ids: set[uuid.UUID] = set()
        numbered: set[tuple[str, int]] = set()
        numbers: set[int] = set()
        for change in changes:
            if change.kind != "movement":
                continue
            data = change.data
            if isinstance(data.get("id"), str):
                with suppress(ValueError):  # left for `pulled_movement` to refuse
                    ids.add(uuid.UUID(data["id"]))
            seq, number = data.get("seq"), data.get("server_seq")
            if type(seq) is int:
                numbered.add((str(data.get("device_id") or device_id), seq))
            if type(number) is int:
                numbers.add(number)
        self._read = ids
        self._read_numbered = numbered
        # The movements are held here: the session keeps loaded ones only weakly.
        self._movements = {
            movement.id: movement
            for chunk in _chunks(sorted(ids))
            for movement in session.scalars(select(Movement).where(Movement.id.in_(chunk)))
        }
        self._numbered = {
            (owner, seq)
            for chunk in _chunks(sorted({seq for _owner, seq in numbered}))
            for owner, seq in session.execute(
                select(Movement.device_id, Movement.device_seq).where(
                    Movement.device_id.in_({owner for owner, _seq in numbered}),
                    Movement.device_seq.in_(chunk),
                )
            )
        }
        self.numbers = _Numbers(session, numbers)

    def movement(self, movement_id: uuid.UUID) -> Movement | None:
        if movement_id in self._movements:
            return self._movements[movement_id]
        if movement_id in self._read:
            return None
        return self.session.get(Movement, movement_id)

    def taken(self, owner: str, seq: int) -> bool:
        """Whether this handheld has a movement numbered `seq` by device `owner`."""
        if (owner, seq) in self._read_numbered:
            return (owner, seq) in self._numbered
        return _numbered_here(self.session, owner, seq)

    def added(self, movement: Movement) -> None:
        self._movements[movement.id] = movement
        self._numbered.add((movement.device_id, movement.device_seq))


def _chunks(values: list[_T]) -> Iterator[list[_T]]:
    for start in range(0, len(values), _READ_AT_ONCE):
        yield values[start : start + _READ_AT_ONCE]


def _numbered_here(session: Session, owner: str, seq: int) -> bool:
    taken = session.scalar(
        select(Movement.id).where(Movement.device_id == owner, Movement.device_seq == seq)
    )
    return taken is not None


def kept_status_changes(session: Session, ids: Sequence[uuid.UUID]) -> int:
    """The store kept these status changes this handheld pushed: they wait no more. Returns
    how many were waiting until now (a sync beside this one may have settled some)."""
    settled = 0
    for change_id in ids:
        change = session.get(StatusChange, change_id)
        if change is not None and change.sync_state != SyncState.APPLIED.value:
            change.sync_state = SyncState.APPLIED.value
            settled += 1
    session.flush()
    return settled


def settle(
    session: Session,
    movement: Movement,
    status: str,
    server_seq: int | None,
    codes: Sequence[str] = (),
    message: str = "",
    *,
    numbers: _Numbers | None = None,
) -> bool:
    """Records the store's outcome on a movement in the ledger, and moves its effect in or
    out of the caches when it starts or stops counting. False when it already had it.
    `numbers`, the holders of the store's numbers read beforehand for many movements, saves
    a query; the caller then flushes the movement."""
    text = outcome_text(codes, message)
    if (movement.sync_state, movement.server_seq, movement.outcome) == (status, server_seq, text):
        return False
    counted = movement.sync_state not in NOT_EFFECTIVE
    counts = status not in NOT_EFFECTIVE
    if server_seq is not None and server_seq != movement.server_seq:
        (numbers or _Numbers(session, {server_seq})).release(server_seq, movement)
    movement.sync_state = status
    movement.server_seq = server_seq
    movement.outcome = text
    if numbers is None:
        session.flush()
    if counted and not counts:
        part = _part(session, movement)
        withdraw_from_caches(session, movement, part, _reversed(session, movement))
    elif counts and not counted:
        _count(session, movement)
    return True


def outcome_text(codes: Sequence[str], message: str) -> str | None:
    """The store's codes and words as the ledger keeps them: "NEGATIVE_BALANCE: Only 3 ..."."""
    words = message.strip()
    if codes:
        words = f"{', '.join(codes)}: {words}" if words else ", ".join(codes)
    return words[:_OUTCOME_LENGTH] or None


# ---- status changes -----------------------------------------------------------------------

_CLOSABLE = {
    "job": StatusSubject.JOB.value,
    "po_line": StatusSubject.PO_LINE.value,
    "so_line": StatusSubject.SO_LINE.value,
    "lot": StatusSubject.LOT.value,
    "serial": StatusSubject.SERIAL.value,
}
"""The reference kinds that have a status a handheld can change, by their subject."""


def pulled_status_change(session: Session, data: dict[str, Any]) -> tuple[str, str]:
    """Keeps a status change another device (or the store) recorded, for its history. One
    the store refused (`sync_state` rejected) is kept as refused: history, never the
    subject's status; this handheld's own, refused, is marked so and its subject settled
    again (the store's row arrives with it)."""
    pulled = StatusChangeIn.model_validate(
        {key: value for key, value in data.items() if key in StatusChangeIn.model_fields}
    )
    refused = data.get("sync_state") == SyncState.REJECTED.value
    state = SyncState.REJECTED.value if refused else SyncState.APPLIED.value
    known = session.get(StatusChange, pulled.id)
    if known is None:
        session.add(
            StatusChange(
                id=pulled.id,
                device_id=str(data.get("device_id") or ""),
                subject=pulled.subject,
                key=pulled.key,
                status=pulled.status,
                reason=pulled.reason,
                operator=pulled.operator,
                happened_at=aware(pulled.happened_at) or pulled.happened_at,
                sync_state=state,
            )
        )
    elif refused and known.sync_state != state:
        known.sync_state = state
        session.flush()
        settle_status(session, pulled.subject, pulled.key)
    return pulled.subject, pulled.key


def pulled_setting(session: Session, data: dict[str, Any]) -> None:
    """A site-wide setting the store set (or reset: value null) for every handheld. One
    this version does not know, or a value it does not take, is skipped."""
    key, value = data.get("key"), data.get("value")
    if isinstance(key, str) and (value is None or isinstance(value, str)):
        take_site_setting(session, key, value)


def keep_own_decisions(session: Session, decided: set[tuple[str, str]]) -> None:
    """A job or line the store sent while this handheld's own close or reopen of it still
    waits to be pushed keeps the status of the latest decision this handheld knows of: the
    store settles it when the push arrives, and sends the row again."""
    if not decided:
        return
    waiting = set(
        session.execute(
            select(StatusChange.subject, StatusChange.key).where(
                StatusChange.sync_state == SyncState.PENDING.value
            )
        ).tuples()
    )
    for subject, key in sorted(decided & waiting):
        settle_status(session, subject, key)


# ---- reference rows -----------------------------------------------------------------------


def _upsert(session: Session, kind: str, data: dict[str, Any]) -> None:
    row = session.merge(_reference_row(kind, data))
    session.flush()
    if isinstance(row, Serial):
        # The store's idea of where the serial is may predate this device's own scans of it:
        # the device's ledger decides, as it does for every other cache.
        refresh_serial(session, row.part, row.number)


def _reference_row(kind: str, data: dict[str, Any]) -> Base:
    """`row_from_data`, with its times read too (a lot's `created_at` arrives as ISO text,
    which SQLite would refuse)."""
    row = row_from_data(kind, data)
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        if isinstance(value, str) and isinstance(column.type, DateTime):
            setattr(row, column.key, datetime.fromisoformat(value))
    return row


# ---- movements ----------------------------------------------------------------------------


def pulled_movement(
    session: Session, device_id: str, data: dict[str, Any], page: _Page | None = None
) -> None:
    """Applies a pulled movement change; `page`, what its page found beforehand, saves
    queries (`_Page`)."""
    status = str(data.get("status", ""))
    server_seq = data.get("server_seq")
    codes = [str(code) for code in data.get("codes") or []]
    message = str(data.get("message") or "")
    if status not in _STATES:
        return  # a status this version does not know: a newer store's; left for it
    movement_id = uuid.UUID(str(data["id"]))
    known = page.movement(movement_id) if page else session.get(Movement, movement_id)
    if known is not None:
        numbers = page.numbers if page else None
        settle(session, known, status, server_seq, codes, message, numbers=numbers)
        return
    if status not in COUNTED_WHEN_PULLED:
        return  # another device's held or voided scan: nothing on the floor changed
    fields = MovementIn.model_validate(
        {key: value for key, value in data.items() if key in MovementIn.model_fields}
    )
    owner = str(data.get("device_id") or device_id)
    if page.taken(owner, fields.seq) if page else _numbered_here(session, owner, fields.seq):
        # This database already numbered a different movement so (a handheld that was
        # wiped and re-enrolled under an old id, then scanned before it pulled): the store
        # answers that clash when the local one is pushed; the pulled one cannot be added.
        return
    _insert(session, owner, fields, status, server_seq, outcome_text(codes, message), page)


def _insert(
    session: Session,
    owner: str,
    fields: MovementIn,
    status: str,
    server_seq: int | None,
    outcome: str | None,
    page: _Page | None,
) -> None:
    part = session.get(Part, fields.part)
    if part is None:
        raise UnknownInPull(
            f"The central store sent a movement of part {fields.part}, which this handheld has"
            " never been sent: ask a supervisor to check the store's reference data"
        )
    reverses = session.get(Movement, fields.reverses) if fields.reverses else None
    if fields.reverses is not None and reverses is None:
        raise UnknownInPull(
            f"The central store sent a reversal of movement {fields.reverses}, which this"
            " handheld has never been sent"
        )
    if fields.lot is not None:
        _ensure_lot(session, fields, fields.lot)
    if fields.serial is not None:
        _ensure_serial(session, fields)
    movement = Movement(
        **movement_facts(fields),
        device_id=owner,
        sync_state=status,
        server_seq=server_seq,
        outcome=outcome,
    )
    if server_seq is not None:
        (page.numbers if page else _Numbers(session, {server_seq})).release(server_seq, movement)
    session.add(movement)
    session.flush()
    if page is not None:
        page.added(movement)
    apply_to_caches(session, movement, part, reverses)
    if movement.serial is not None:
        refresh_serial(session, part.number, movement.serial)


def _ensure_lot(session: Session, fields: MovementIn, number: str) -> None:
    """The lot a pulled movement names, made as the store made it if this device has not
    been sent it yet (the store sends lots before the movements that create them)."""
    if session.get(Lot, (fields.part, number)) is not None:
        return
    origin = fields.lot_origin if fields.lot_origin in set(LotOrigin) else None
    job = fields.lot_job if fields.lot_job and session.get(Job, fields.lot_job) else None
    session.add(
        Lot(
            part=fields.part,
            number=number,
            expiry=fields.lot_expiry,
            supplier_lot=fields.supplier_lot,
            status=LotStatus.ACTIVE.value,
            origin=origin or _ORIGIN_BY_KIND.get(fields.kind, LotOrigin.RECEIVED).value,
            assigned_job=job,
            created_at=fields.happened_at,
        )
    )
    session.flush()


def _ensure_serial(session: Session, fields: MovementIn) -> None:
    assert fields.serial is not None
    if session.get(Serial, (fields.part, fields.serial)) is not None:
        return
    lot = fields.serial_lot or fields.lot
    if lot is not None:
        _ensure_lot(session, fields, lot)
    session.add(
        Serial(
            part=fields.part,
            number=fields.serial,
            lot=lot,
            status=SerialStatus.GONE.value,
            location=None,
        )
    )
    session.flush()


class _Numbers:
    """Which movement holds each of some of the store's numbers, read once, so that many
    movements (a push's answers, a pulled page) each take their number in turn."""

    def __init__(self, session: Session, numbers: set[int]) -> None:
        self.session = session
        self._holders: dict[int, Movement] = {
            movement.server_seq: movement
            for chunk in _chunks(sorted(numbers))
            for movement in session.scalars(select(Movement).where(Movement.server_seq.in_(chunk)))
            if movement.server_seq is not None
        }

    def release(self, server_seq: int, keeper: Movement) -> None:
        """Frees `server_seq` for `keeper`, which takes it next. Another movement holds it
        only when the store was restored from a backup and numbered again (that movement
        gets its new number when its own change arrives): then what every movement holds so
        far is written before `keeper` takes it, as the unique number index needs."""
        holder = self._holders.get(server_seq)
        self._holders[server_seq] = keeper
        if holder is None or holder is keeper:
            return
        if holder.server_seq == server_seq:
            holder.server_seq = None
        self.session.flush()


def _count(session: Session, movement: Movement) -> None:
    part = _part(session, movement)
    apply_to_caches(session, movement, part, _reversed(session, movement))
    if movement.serial is not None:
        # The serial is where its latest counting movement left it, which need not be this one.
        refresh_serial(session, part.number, movement.serial)


def _part(session: Session, movement: Movement) -> Part:
    part = session.get(Part, movement.part)
    assert part is not None  # the movement's foreign key holds it
    return part


def _reversed(session: Session, movement: Movement) -> Movement | None:
    return session.get(Movement, movement.reverses) if movement.reverses else None
