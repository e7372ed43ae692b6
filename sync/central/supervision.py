"""What supervisors see and decide (docs/architecture.md, "Supervisors' resolutions"): each
device's sync state, the open exceptions, and the four ways to resolve one.

- apply: a held movement is applied now (an unknown reference must be known by then; a
  serial conflict is applied as recorded: the supervisor decided the scan is true, so a
  serial the store has at another place is moved to the scan's first, and one that cannot
  be there, shipped or already in stock, is refused);
- void: a held movement will never count, and its handheld withdraws it;
- adjust: a count: the store records the adjustment that makes the balance what was counted;
- dismiss: a flag is closed with a reason; nothing else changes.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.clock import Clock, iso, utc_now
from scanner.models import Operator, Role
from scanner.quantity import format_quantity
from sync.central.apply import CentralLedger
from sync.central.changes import publish_rows
from sync.central.enrollment import role_changes
from sync.central.errors import SyncError
from sync.central.evaluate import fit
from sync.central.models import (
    Device,
    DeviceRoleChange,
    ExceptionStatus,
    Outcome,
    SyncEntry,
    SyncException,
    SyncRejection,
)
from sync.exception_codes import SHORTFALLS, ExceptionCode

ACTIONS = ("apply", "void", "adjust", "dismiss")


def device_rows(session: Session) -> list[dict[str, Any]]:
    """Every device with what it last reported and how many of its movements are flagged,
    held or rejected (`lotscan devices list`)."""
    counts: dict[tuple[str, str], int] = {
        (device_id, status): count
        for device_id, status, count in session.execute(
            select(SyncEntry.device_id, SyncEntry.status, func.count())
            .where(SyncEntry.status.in_([Outcome.FLAGGED.value, Outcome.HELD.value]))
            .group_by(SyncEntry.device_id, SyncEntry.status)
        )
    }
    rejected: dict[str, int] = {
        device_id: count
        for device_id, count in session.execute(
            select(SyncRejection.device_id, func.count()).group_by(SyncRejection.device_id)
        )
    }
    last_role_change = {change.device_id: change for change in role_changes(session)}
    return [
        {
            "device": device.id,
            "name": device.name,
            "status": device.status,
            "last_seen": iso(device.last_seen_at),
            "last_applied_seq": device.last_applied_seq,
            "queue_depth": device.queue_depth,
            "flagged": counts.get((device.id, Outcome.FLAGGED.value), 0),
            "held": counts.get((device.id, Outcome.HELD.value), 0),
            "rejected": rejected.get(device.id, 0),
            "role": device.role,
            "last_push": iso(device.last_push_at),
            "last_pull": iso(device.last_pull_at),
            "oldest_pending_at": iso(device.oldest_pending_at),
            "clock_offset": device.clock_offset,
            **_role_changed(last_role_change.get(device.id)),
        }
        for device in session.scalars(select(Device).order_by(Device.name, Device.id))
    ]


def _role_changed(change: DeviceRoleChange | None) -> dict[str, Any]:
    """When a device's role last changed, who changed it and how (None: never)."""
    return {
        "role_changed_at": iso(change.changed_at) if change else None,
        "role_changed_by": change.changed_by if change else None,
        "role_changed_how": change.how if change else None,
    }


def exception_rows(session: Session, status: str | None = "open") -> list[dict[str, Any]]:
    """The exceptions with `status` (all of them for None), oldest first, each with the
    movement it is about as the device pushed it."""
    query = (
        select(SyncException, SyncEntry)
        .outerjoin(
            SyncEntry,
            (SyncEntry.device_id == SyncException.device_id)
            & (SyncEntry.device_seq == SyncException.device_seq),
        )
        .order_by(SyncException.id)
    )
    if status is not None:
        query = query.where(SyncException.status == status)
    return [_row(exception, entry) for exception, entry in session.execute(query).tuples()]


def resolve(
    session: Session,
    exception_id: int,
    action: str,
    *,
    by: str,
    operator: str | None = None,
    qty: Decimal | None = None,
    location: str | None = None,
    reason: str | None = None,
    clock: Clock = utc_now,
) -> dict[str, Any]:
    """Resolves an open exception with one of `ACTIONS`; returns it as `exception_rows`
    shows it. `by` is the supervisor's device; `operator`, the badge of the supervisor
    signed in on it, who is then named as the one who decided, and on the movements the
    store records for the decision. Raises SyncError 404 for an unknown exception, 409 when
    it is not open or the action does not fit it, 422 for a missing quantity or reason or an
    unknown badge, 403 for a badge that is not a supervisor's."""
    if action not in ACTIONS:
        raise SyncError(422, "bad_request", f"{action!r} is not one of {', '.join(ACTIONS)}")
    if operator is not None:
        by = f"{supervisor_named(session, operator)} on {by}"
    ledger = CentralLedger(session, clock)
    ledger.log.lock()
    exception = session.get(SyncException, exception_id, with_for_update=True)
    if exception is None:
        raise SyncError(404, "unknown_exception", f"No exception {exception_id}")
    if exception.status != ExceptionStatus.OPEN:
        raise SyncError(
            409,
            "not_open",
            f"Exception {exception_id} is already {exception.status.replace('_', ' ')}"
            + (f": {exception.resolution}" if exception.resolution else ""),
        )
    entry = (
        session.get(SyncEntry, (exception.device_id, exception.device_seq), with_for_update=True)
        if exception.device_seq is not None
        else None
    )
    held = entry is not None and entry.status == Outcome.HELD
    if action in ("apply", "void"):
        if entry is None or not held:
            raise SyncError(
                409,
                "not_allowed",
                f"Exception {exception_id} is not about a held movement: only a held movement"
                " can be applied or voided",
            )
        if action == "apply":
            movement = ledger.applicable(entry)
            if exception.code == ExceptionCode.UNKNOWN_REFERENCE:
                # What it names was imported but maybe not published yet: devices must
                # have it before the movement that names it.
                publish_rows(ledger.log)
            placed = ledger.place_serial(
                movement,
                because=f"Re-sourced for sync exception {exception.id}, applied by {by}",
                operator=operator,
            )
            words = "Applied as recorded" + (f"; {placed}" if placed else "")
            _close_entry(ledger, entry, words, by)
            ledger.apply_held(entry, movement)
            ledger.recheck_held()
        else:
            words = f"Voided by {by}" + (f": {reason}" if reason else "")
            _close_entry(ledger, entry, words, by)
            ledger.void(entry, words)
    elif held:
        raise SyncError(
            409,
            "not_allowed",
            f"Exception {exception_id} is about a held movement: apply it or void it",
        )
    elif action == "adjust":
        _count(
            ledger,
            exception,
            by=by,
            operator=operator,
            qty=qty,
            location=location,
            reason=reason,
        )
    else:
        if not (reason and reason.strip()):
            raise SyncError(422, "bad_request", "Say why the exception is dismissed")
        ledger.close(exception, ExceptionStatus.RESOLVED, f"Dismissed: {reason.strip()}", by=by)
        if entry is not None:
            ledger.settle_entry(entry, f"Dismissed by {by}: {reason.strip()}")
    ledger.finish()
    return _row(exception, entry)


def _count(
    ledger: CentralLedger,
    exception: SyncException,
    *,
    by: str,
    operator: str | None,
    qty: Decimal | None,
    location: str | None,
    reason: str | None,
) -> None:
    if exception.code not in SHORTFALLS or exception.part is None:
        raise SyncError(
            409,
            "not_allowed",
            f"Exception {exception.id} is not about a balance: a count does not resolve it",
        )
    place = location or exception.location
    if place is None:
        raise SyncError(422, "bad_request", "Say where the stock was counted")
    if qty is None or qty < 0:
        raise SyncError(422, "bad_request", "Say how much was counted: zero or more")
    counted = format_quantity(qty)
    ledger.close(exception, ExceptionStatus.RESOLVED, f"Counted {counted} at {place}", by=by)
    adjustment = ledger.count(
        exception.part,
        exception.lot,
        exception.serial,
        place,
        qty,
        reason=fit(reason or f"Count for sync exception {exception.id}", 200),
        operator=operator,
    )
    if adjustment is not None:
        sign = "+" if adjustment.to_location else "-"
        exception.resolution = fit(
            f"Counted {counted} at {place}: adjusted by {sign}{format_quantity(adjustment.qty)}"
            + (f" ({reason})" if reason else "")
        )
    else:
        exception.resolution = fit(
            f"Counted {counted} at {place}: the balance was right"
            + (f" ({reason})" if reason else "")
        )
    if exception.device_seq is not None:
        entry = ledger.session.get(SyncEntry, (exception.device_id, exception.device_seq))
        if entry is not None:
            ledger.settle_entry(entry, f"Settled by a count: {exception.resolution}")


def supervisor_named(session: Session, badge: str, does: str = "resolves exceptions") -> str:
    """The name of the supervisor with this badge; SyncError when it is not one (only a
    supervisor `does` what was asked)."""
    person = session.get(Operator, badge)
    if person is None:
        raise SyncError(422, "bad_request", f"The store knows no operator with badge {badge}")
    if person.role != Role.SUPERVISOR:
        raise SyncError(
            403,
            "not_supervisor",
            f"{person.name} ({badge}) is not a supervisor: only a supervisor {does}",
        )
    return person.name


def _close_entry(ledger: CentralLedger, entry: SyncEntry, words: str, by: str) -> None:
    """Closes every open exception about a held movement: it is decided."""
    for exception in ledger.session.scalars(
        select(SyncException).where(
            SyncException.device_id == entry.device_id,
            SyncException.device_seq == entry.device_seq,
            SyncException.status == ExceptionStatus.OPEN.value,
        )
    ):
        ledger.close(exception, ExceptionStatus.RESOLVED, words, by=by)


def _row(exception: SyncException, entry: SyncEntry | None) -> dict[str, Any]:
    return {
        "id": exception.id,
        "code": exception.code,
        "status": exception.status,
        "message": exception.message,
        "device": exception.device_id,
        "device_seq": exception.device_seq,
        "part": exception.part,
        "lot": exception.lot,
        "serial": exception.serial,
        "location": exception.location,
        "opened_at": iso(exception.opened_at),
        "closed_at": iso(exception.closed_at),
        "resolution": exception.resolution,
        "resolved_by": exception.resolved_by,
        "movement": json.loads(entry.payload) if entry is not None else None,
        "entry_status": entry.status if entry is not None else None,
    }
