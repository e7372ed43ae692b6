"""A device's push, on the central store (docs/architecture.md, "Push, exactly once"): a
plain function over the caller's session and transaction; `sync.central.service` puts it
behind HTTP.

Push gives exactly-once effect from at-least-once delivery: the store keeps each device's
last applied number and advances it in the transaction that applies the movement. A number
already applied is a retry and gets its stored outcome back (the same number with a different
payload is rejected and alerted); the next number is judged (rejected when it breaks a rule of
the ledger, else applied or held); a gap stops the batch and says which number is expected.
No outcome ever blocks a device's queue: every number is used once, whatever its outcome.
"""

from __future__ import annotations

import uuid

from sqlalchemy import literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from scanner.clock import Clock, aware, clock_words, utc_now
from scanner.describing import describe
from scanner.models import Movement
from scanner.quantity import format_quantity
from sync.central.apply import COUNTING, CentralLedger, Entry, entry_codes
from sync.central.bulk_sql import among, among_each
from sync.central.changes import take_number as take_number
from sync.central.errors import SyncError
from sync.central.evaluate import fit
from sync.central.models import (
    Device,
    DeviceStatus,
    ExceptionStatus,
    Outcome,
    SyncEntry,
    SyncException,
)
from sync.central.status_changes import CLOCK_SKEW_LIMIT, PushedStatus
from sync.exception_codes import ExceptionCode
from sync.protocol import (
    MovementIn,
    MovementOutcome,
    PushRequest,
    PushResponse,
    movement_hash,
)

__all__ = ["push", "take_number"]

_INT32 = 2**31 - 1


def push(
    session: Session,
    device: Device,
    request: PushRequest,
    clock: Clock = utc_now,
    *,
    as_set: bool = True,
    row_locked: bool = False,
) -> PushResponse:
    """Applies a device's movements in its own order, each exactly once (see the module).
    The movements that apply clean are judged as a set (`sync.central.batch`), unless the
    push carries status changes; `as_set` False judges every one alone, the reference the
    set is tested against. `row_locked` says the caller read `device` FOR UPDATE in this
    transaction (`enrollment.authenticate` with `lock`), so its row is not read again."""
    if request.device_id != device.id:
        raise SyncError(
            403,
            "wrong_device",
            f"This token belongs to handheld {device.id}, not {request.device_id}: a handheld"
            " pushes only its own movements",
        )
    # Serialises two pushes of one device (a retry racing the original): the second waits,
    # then sees the first one's numbers as already applied.
    locked = (
        device
        if row_locked
        else session.get(Device, device.id, with_for_update=True, populate_existing=True)
    )
    if locked is None or locked.status != DeviceStatus.ACTIVE:
        raise SyncError(
            401,
            "device_revoked",
            "This handheld was revoked by a supervisor: its movements stay queued here until"
            " it is enrolled again",
        )
    ledger = CentralLedger(session, clock)
    movements = sorted(request.movements, key=lambda m: m.seq)
    last = locked.last_applied_seq
    fresh = [m for m in movements if m.seq > last]
    status = PushedStatus(session, locked.id, request.status_changes)
    if fresh or status.waiting:
        ledger.log.lock()  # a retry of what is already applied waits for nobody
    stored = _stored_outcomes(session, locked.id, [m.seq for m in movements if m.seq <= last])
    taken = _ids_taken(session, [m.id for m in fresh])
    ledger.expect(fresh)
    if as_set and not status.waiting:
        ledger.judge_as_set(locked.id, locked.role)
    outcomes: list[MovementOutcome] = []
    for movement in movements:
        if movement.seq <= last:
            earlier = stored.get(movement.seq) or _pushed_before(ledger, locked.id, movement.seq)
            outcomes.append(_again(ledger, locked, movement, earlier))
            continue
        if movement.seq != last + 1:
            break  # a gap: the device sends the expected number next
        if movement.id in taken:
            outcomes.append(_reused_id(ledger, locked, movement, taken[movement.id]))
        else:
            status.due(ledger, movement.happened_at)
            entry = ledger.accept(locked.id, movement, role=locked.role)
            outcomes.append(_outcome(entry, ledger.server_seq(entry)))
            taken[movement.id] = (locked.id, movement.seq)
        last = movement.seq
    status.due(ledger, None)
    locked.last_applied_seq = last
    _note_device(session, ledger, locked, request, last)
    ledger.finish()
    return PushResponse(
        last_applied_seq=last,
        expected_next_seq=last + 1,
        server_time=ledger.now,
        outcomes=outcomes,
    )


# ---- push, inside -----------------------------------------------------------------------


def _stored_outcomes(
    session: Session, device_id: str, seqs: list[int]
) -> dict[int, tuple[Entry, int | None]]:
    """The entries (and ledger numbers) of numbers a retry sends again, in one query."""
    if not seqs:
        return {}
    rows = session.execute(
        select(SyncEntry, Movement.server_seq)
        .outerjoin(Movement, Movement.id == SyncEntry.movement_id)
        .where(SyncEntry.device_id == device_id, among(session, SyncEntry.device_seq, seqs))
    ).all()
    return {entry.device_seq: (entry, server_seq) for entry, server_seq in rows}


def _ids_taken(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, int]]:
    """Which of these movement ids the store already has, and under what device's number
    (what a device pushed before what the ledger holds), in one query."""
    if not ids:
        return {}
    pushed_among, recorded_among = among_each(session, [SyncEntry.movement_id, Movement.id], ids)
    pushed = select(
        SyncEntry.movement_id, SyncEntry.device_id, SyncEntry.device_seq, literal(0)
    ).where(pushed_among)
    recorded = select(Movement.id, Movement.device_id, Movement.device_seq, literal(1)).where(
        recorded_among
    )
    taken: dict[uuid.UUID, tuple[str, int]] = {}
    for movement_id, device_id, seq, _first in session.execute(
        union_all(pushed, recorded).order_by(literal_column("4"))
    ):
        taken.setdefault(movement_id, (device_id, seq))
    return taken


def _pushed_before(
    ledger: CentralLedger, device_id: str, seq: int
) -> tuple[Entry, int | None] | None:
    """A number sent twice in this very batch: the entry its first copy got."""
    entry = ledger.entry(device_id, seq)
    return (entry, ledger.server_seq(entry)) if entry is not None else None


def _again(
    ledger: CentralLedger,
    device: Device,
    movement: MovementIn,
    stored: tuple[Entry, int | None] | None,
) -> MovementOutcome:
    """A number already applied: the stored outcome when it is the same movement again."""
    if stored is not None:
        entry, server_seq = stored
        if entry.payload_hash == movement_hash(movement):
            return _outcome(entry, server_seq if entry.status in COUNTING else None)
        reason = (
            f"Number {movement.seq} from this handheld was already used for movement"
            f" {entry.movement_id}: this one ({_facts(movement)}) was not applied and a"
            " supervisor was alerted"
        )
        return _reject(ledger, device, movement, reason, with_entry=True)
    reason = (
        f"Number {movement.seq} from this handheld was already used: this movement"
        f" ({_facts(movement)}) was not applied and a supervisor was alerted"
    )
    return _reject(ledger, device, movement, reason, with_entry=False)


def _facts(movement: MovementIn) -> str:
    """What a rejected movement was, for the alert a supervisor reads: it is kept only as
    sent (`sync_rejections`), which no list shows, so the alert says it ("receive 5.5 kg
    of lot R-1 of RESIN to RCV, id ...") where it gave the first characters of a hash."""
    places = " ".join(
        f"{word} {place}"
        for word, place in (("from", movement.from_location), ("to", movement.to_location))
        if place
    )
    what = describe(movement.part, movement.lot, movement.serial)
    return f"{movement.kind} {format_quantity(movement.qty)} of {what} {places}, id {movement.id}"


def _reused_id(
    ledger: CentralLedger, device: Device, movement: MovementIn, holder: tuple[str, int]
) -> MovementOutcome:
    reason = (
        f"Movement id {movement.id} was already pushed as {holder[0]} number {holder[1]}:"
        f" number {movement.seq} ({_facts(movement)}) was not applied and a supervisor was"
        " alerted"
    )
    return _reject(ledger, device, movement, reason, with_entry=False)


def _reject(
    ledger: CentralLedger,
    device: Device,
    movement: MovementIn,
    reason: str,
    *,
    with_entry: bool,
) -> MovementOutcome:
    """A protocol violation: kept as sent with an alert for a supervisor, never applied.
    Sending the same thing again alerts nobody twice."""
    reason = ledger.reject(device.id, movement, reason, with_entry=with_entry)
    return MovementOutcome(
        seq=movement.seq,
        status=Outcome.REJECTED.value,
        codes=[ExceptionCode.IDEMPOTENCY_CONFLICT.value],
        message=fit(reason),
    )


def _outcome(entry: Entry, server_seq: int | None) -> MovementOutcome:
    return MovementOutcome(
        seq=entry.device_seq,
        status=entry.status,  # type: ignore[arg-type]
        server_seq=server_seq,
        codes=entry_codes(entry),
        message=entry.message,
    )


def _note_device(
    session: Session, ledger: CentralLedger, device: Device, request: PushRequest, last: int
) -> None:
    """What the device said about itself, for the supervisors' view. Its queue is what it
    reported less what this push took off it."""
    device.last_seen_at = device.last_push_at = ledger.now
    device.app_version = request.app_version or device.app_version
    device.max_local_seq = request.max_local_seq
    device.queue_depth = min(request.queue_depth, max(0, request.max_local_seq - last))
    device.oldest_pending_at = request.oldest_pending_at if device.queue_depth else None
    # The door gave the device's time in UTC and within the store's range (sync.wire_values),
    # so this difference cannot overflow; the column holds a 32-bit number of seconds.
    offset = round((request.device_time - aware(ledger.now)).total_seconds())
    before, device.clock_offset = device.clock_offset, max(-_INT32, min(_INT32, offset))
    if _within(before) and _within(offset):
        # Only a push opens a clock alert, and one that notes the clock right closes it:
        # with the clock right at the last push and now, none can be open to look for.
        return
    _note_clock(session, ledger, device, offset)


def _within(offset: int | None) -> bool:
    return offset is not None and abs(offset) <= CLOCK_SKEW_LIMIT


def _note_clock(session: Session, ledger: CentralLedger, device: Device, offset: int) -> None:
    """A device clock far off opens one alert; it clears when the clock is right again.
    The store never orders anything by a device's clock, so this is only for people."""
    alert = session.scalars(
        select(SyncException).where(
            SyncException.device_id == device.id,
            SyncException.code == ExceptionCode.CLOCK_SKEW.value,
            SyncException.status == ExceptionStatus.OPEN.value,
        )
    ).first()
    if abs(offset) > CLOCK_SKEW_LIMIT and alert is None:
        session.add(
            SyncException(
                device_id=device.id,
                code=ExceptionCode.CLOCK_SKEW.value,
                message=fit(
                    f"The clock of {device.name} ({device.id}) is {clock_words(offset)} the"
                    " store's: its movements keep their order, but the times it records are"
                    " its own"
                ),
                status=ExceptionStatus.OPEN.value,
                opened_at=ledger.now,
            )
        )
    elif abs(offset) <= CLOCK_SKEW_LIMIT and alert is not None:
        ledger.close(alert, ExceptionStatus.AUTO_CLEARED, "The clock is right again", by=None)
