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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from scanner.clock import Clock, iso, utc_now
from scanner.models import Operator, Role
from scanner.plain_text import refuse_control
from scanner.quantity import format_quantity
from sync.central.apply import CentralLedger
from sync.central.bulk_sql import among
from sync.central.changes import publish_rows
from sync.central.enrollment import role_changes, unknown_device
from sync.central.errors import SyncError
from sync.central.evaluate import fit
from sync.central.exception_cap import SUMMARY
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
            "revoked_at": iso(device.revoked_at),
            "revoked_by": device.revoked_by,
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


def exception_rows(
    session: Session,
    status: str | None = "open",
    *,
    after: int = 0,
    limit: int | None = None,
    summary: int | None = None,
    device: str | None = None,
    code: str | None = None,
    part: str | None = None,
) -> list[dict[str, Any]]:
    """The exceptions with `status` (all of them for None), oldest first, each with the
    movement it is about as the device pushed it: a page of at most `limit` after the id
    `after`. Those grouped under a summary are left out (the summary stands for them, with
    how many it groups), unless `summary` asks for that summary's own."""
    query = (
        select(SyncException, SyncEntry)
        .outerjoin(
            SyncEntry,
            (SyncEntry.device_id == SyncException.device_id)
            & (SyncEntry.device_seq == SyncException.device_seq),
        )
        .where(SyncException.id > after)
        .order_by(SyncException.id)
        .limit(limit)
    )
    query = query.where(SyncException.summary_id == summary)  # IS NULL for None
    if status is not None:
        query = query.where(SyncException.status == status)
    for column, wanted in (
        (SyncException.device_id, device),
        (SyncException.code, code),
        (SyncException.part, part),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    rows = session.execute(query).tuples().all()
    grouped = _grouped(session, [e.id for e, _entry in rows if e.code == SUMMARY])
    return [_row(exception, entry, grouped.get(exception.id)) for exception, entry in rows]


def _grouped(session: Session, summaries: list[int]) -> dict[int, int]:
    """How many open exceptions each of these summaries groups."""
    if not summaries:
        return {}
    counted = session.execute(
        select(SyncException.summary_id, func.count())
        .where(
            SyncException.summary_id.in_(summaries),
            SyncException.status == ExceptionStatus.OPEN.value,
        )
        .group_by(SyncException.summary_id)
    ).tuples()
    return {summary: count for summary, count in counted if summary is not None}


def void_held(
    session: Session,
    *,
    by: str,
    reason: str,
    device: str | None = None,
    code: str | None = None,
    part: str | None = None,
    operator: str | None = None,
    clock: Clock = utc_now,
) -> int:
    """Voids, in one transaction, every held movement with an open exception from
    `device`, of `code`, naming `part` (at least one of them given); returns how many.
    Each is voided as `resolve` voids one: its exceptions are closed with `reason` and
    who decided, and its handheld withdraws it."""
    if device is None and code is None and part is None:
        raise SyncError(
            422, "bad_request", "Say which held movements to void: a device, a code or a part"
        )
    if not reason.strip():
        raise SyncError(422, "bad_request", "reason: say why the movements are voided")
    refuse_control(reason, "reason")
    if operator is not None:
        by = f"{supervisor_named(session, operator)} on {by}"
    if device is not None and session.get(Device, device) is None:
        raise unknown_device(session, device)
    ledger = CentralLedger(session, clock)
    ledger.log.lock()
    entries = _held_matching(session, device, code, part)
    words = fit(f"Voided by {by}: {reason.strip()}")
    by_device: dict[str, list[int]] = {}
    for entry in entries:
        by_device.setdefault(entry.device_id, []).append(entry.device_seq)
    for device_id, seqs in by_device.items():
        session.execute(
            update(SyncException)
            .where(
                SyncException.device_id == device_id,
                among(session, SyncException.device_seq, seqs),
                SyncException.status == ExceptionStatus.OPEN.value,
            )
            .values(
                status=ExceptionStatus.RESOLVED.value,
                closed_at=ledger.now,
                resolution=words,
                resolved_by=fit(by, 80),
            )
            .execution_options(synchronize_session=False)
        )
    for entry in entries:
        ledger.void(entry, words)
    _clear_empty_summaries(ledger)
    ledger.finish()
    return len(entries)


def _held_matching(
    session: Session, device: str | None, code: str | None, part: str | None
) -> list[SyncEntry]:
    """The held entries with an open exception matching the filter, read from the
    exceptions' side: a correlated EXISTS per entry scanned a device's every exception
    for each of its entries (90,000 of them: minutes)."""
    query = (
        select(SyncEntry)
        .join(
            SyncException,
            (SyncException.device_id == SyncEntry.device_id)
            & (SyncException.device_seq == SyncEntry.device_seq),
        )
        .where(
            SyncException.status == ExceptionStatus.OPEN.value,
            SyncEntry.status == Outcome.HELD.value,
        )
        .order_by(SyncEntry.device_id, SyncEntry.device_seq)
    )
    for column, wanted in (
        (SyncException.device_id, device),
        (SyncException.code, code),
        (SyncException.part, part),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    found: dict[tuple[str, int], SyncEntry] = {}
    for entry in session.scalars(query.with_for_update(of=SyncEntry)):
        found.setdefault((entry.device_id, entry.device_seq), entry)
    return list(found.values())


def _clear_empty_summaries(ledger: CentralLedger) -> None:
    """A summary whose grouped exceptions are all closed has nothing left to stand for."""
    grouped = aliased(SyncException)
    for summary in ledger.session.scalars(
        select(SyncException).where(
            SyncException.code == SUMMARY,
            SyncException.status == ExceptionStatus.OPEN.value,
            ~select(grouped.id)
            .where(
                grouped.summary_id == SyncException.id,
                grouped.status == ExceptionStatus.OPEN.value,
            )
            .exists(),
        )
    ):
        ledger.close(
            summary,
            ExceptionStatus.AUTO_CLEARED,
            "Every exception grouped here was resolved",
            by=None,
        )
        _ungroup(ledger.session, summary.id)


def _ungroup(session: Session, summary: int) -> None:
    """A summary closed: what it grouped is listed on its own again, open or closed."""
    session.execute(
        update(SyncException)
        .where(SyncException.summary_id == summary)
        .values(summary_id=None)
        .execution_options(synchronize_session=False)
    )


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
    person = _operator(session, operator) if operator is not None else None
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
    if person is not None:
        by = f"{_decider(person, exception, action)} on {by}"
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
    if exception.code == SUMMARY and exception.status != ExceptionStatus.OPEN:
        _ungroup(session, exception.id)
    if exception.summary_id is not None:
        _clear_empty_summaries(ledger)
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


def _operator(session: Session, badge: str) -> Operator:
    person = session.get(Operator, badge)
    if person is None:
        raise SyncError(422, "bad_request", f"The store knows no operator with badge {badge}")
    return person


QUALITY_DISMISSES = frozenset({ExceptionCode.LOT_NOT_RELEASED})
"""What quality staff settle as well as a supervisor: a flag of stock that moved while on
hold or recalled, their own decision, which they dismiss once they have looked at it."""


def _decider(person: Operator, exception: SyncException, action: str) -> str:
    """The name of who decides `action` on `exception`: a supervisor, or quality staff
    dismissing what is theirs (`QUALITY_DISMISSES`); SyncError 403 for anyone else."""
    if person.role == Role.SUPERVISOR:
        return person.name
    if person.role == Role.QUALITY and action == "dismiss" and exception.code in QUALITY_DISMISSES:
        return person.name
    if person.role == Role.QUALITY:
        raise SyncError(
            403,
            "not_supervisor",
            f"{person.name} ({person.badge}) is quality staff: quality staff dismiss a"
            f" {ExceptionCode.LOT_NOT_RELEASED.value} flag; a supervisor settles the rest",
        )
    raise SyncError(
        403,
        "not_supervisor",
        f"{person.name} ({person.badge}) is not a supervisor: only a supervisor resolves"
        " exceptions",
    )


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


def _row(
    exception: SyncException, entry: SyncEntry | None, grouped: int | None = None
) -> dict[str, Any]:
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
        "summary_id": exception.summary_id,
        # A summary (TOO_MANY_EXCEPTIONS): how many open exceptions it groups.
        "grouped": grouped if exception.code == SUMMARY else None,
    }
