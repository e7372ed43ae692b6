"""Closing and reopening jobs and order lines, with who decided, when and why.

A closed job takes no more issues or completions; a closed purchase- or sales-order line
takes no more receipts or shipments. The handheld's CMD:UNDO of a line recorded on one is
refused too until a supervisor reopens it (`closed_under`): the close was decided on the
quantities as they stood, and an undo would leave it standing short. (A reversal the store
receives from a handheld still counts: it happened.) A job
closes on the floor (CMD:CLOSE in COMPLETE), by `lotscan jobs close`, or by import; only a
supervisor reopens one. Each decision is a `StatusChange`, never an edit without history:
the subject's status is its latest change's, by the time it happened, and the others stay
as its history. On a handheld a change waits for the next push; the central store keeps
every device's and sends the subject's row to every handheld (`sync.central.status_changes`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from scanner.clock import aware
from scanner.errors import NotFound, RuleViolation
from scanner.models import (
    Job,
    JobStatus,
    Lot,
    LotStatus,
    Movement,
    MovementKind,
    Operator,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    SalesOrder,
    SalesOrderLine,
    Serial,
    StatusChange,
    StatusSubject,
    SyncState,
)
from scanner.plain_text import refuse_control
from scanner.row_by_key import find
from scanner.settings import device_id

OPEN, CLOSED = JobStatus.OPEN.value, JobStatus.CLOSED.value
REFUSED = SyncState.REJECTED.value
"""A status change the central store refused: history only (`sync.central.status_changes`)."""
REASON_LENGTH = 200

OrderLine = PurchaseOrderLine | SalesOrderLine
Subject = Job | OrderLine | Lot | Serial
"""What a status change is about: a job or order line closes and reopens; a lot or serial is
held, released or recalled (`scanner.quality`)."""


@dataclass(frozen=True)
class Decided:
    """Who changed a subject's status, and when (in UTC)."""

    status: str
    operator: str | None
    name: str | None
    happened_at: datetime
    reason: str | None
    refused: bool = False
    """The central store refused this change (its operator could not decide it): kept as
    history, never the subject's status."""

    def words(self, reason_room: int | None = None) -> str:
        """ "closed by Mark Jensen on 2026-11-17 11:04 (run finished)"; for a lot or
        serial, "put on hold by ...", "released by ...", "recalled by ..."; a change the
        store refused ends "- refused by the central store". A reason longer than
        `reason_room` characters is cut there, with an ellipsis."""
        done = _DONE.get(self.status, self.status)
        who = f" by {self.name or self.operator}" if self.operator else ""
        reason = self.reason or ""
        if reason_room is not None and len(reason) > reason_room:
            reason = reason[: reason_room - 1].rstrip() + "…"
        why = f" ({reason})" if reason else ""
        refused = " - refused by the central store" if self.refused else ""
        return f"{done}{who} on {self.happened_at:%Y-%m-%d %H:%M}{why}{refused}"


_DONE = {
    OPEN: "reopened",
    LotStatus.ACTIVE.value: "released",
    LotStatus.HOLD.value: "put on hold",
    LotStatus.RECALLED.value: "recalled",
}


# ---- what is open ---------------------------------------------------------------------------


def open_job(session: Session, number: str) -> Job:
    """The job `number`, if it is open; a closed one is refused with who closed it."""
    job = _job(session, number)
    if job.status != OPEN:
        raise RuleViolation(f"Job {job.number} is {_closed_words(session, job)}")
    return job


def _job(session: Session, number: str) -> Job:
    job = find(session, Job, number)
    if job is None:
        raise NotFound(f"Unknown job {number}")
    return job


def closed_under(session: Session, movement: Movement) -> str | None:
    """Why `movement` may not be undone, if the job it issued to or completed from, or the
    order line it received or shipped on, has closed since: the closed one's words, with
    who closed it. None while it is open (or not on this handheld)."""
    subject: Job | OrderLine | None = None
    if movement.kind in _ON_JOB and movement.job is not None:
        subject = find(session, Job, movement.job)
        named = f"job {movement.job}"
    elif movement.kind == RECEIVE and movement.po is not None and movement.po_line is not None:
        subject = find(session, PurchaseOrderLine, (movement.po, movement.po_line))
    elif movement.kind == SHIP and movement.so is not None and movement.so_line is not None:
        subject = find(session, SalesOrderLine, (movement.so, movement.so_line))
    if subject is None or subject.status == OPEN:
        return None
    if not isinstance(subject, Job):
        named = f"{_line_name(subject)} ({subject.part})"
    return f"{named} is {_closed_words(session, subject)}"


_ON_JOB = (MovementKind.ISSUE.value, MovementKind.PRODUCE.value)
RECEIVE, SHIP = MovementKind.RECEIVE.value, MovementKind.SHIP.value


def line_is_open(session: Session, line: OrderLine) -> None:
    """Refuses a closed order line with who closed it."""
    if line.status != OPEN:
        raise RuleViolation(f"{_line_name(line)} ({line.part}) is {_closed_words(session, line)}")


def _closed_words(session: Session, subject: Subject) -> str:
    """ "closed (Mark Jensen, 2026-11-17): ask a supervisor": short enough for the two
    lines a handheld's feedback has."""
    latest = last_decision(session, subject)
    if latest is None or latest.status != CLOSED:
        return "closed: ask a supervisor"
    who = f"{latest.name or latest.operator}, " if latest.operator else ""
    return f"closed ({who}{latest.happened_at:%Y-%m-%d}): ask a supervisor"


# ---- deciding -------------------------------------------------------------------------------


def close_job(
    session: Session,
    number: str,
    *,
    operator: str | None,
    reason: str | None = None,
    clock: Callable[[], datetime],
) -> StatusChange:
    """Closes an open job: nothing more is issued to it or completed from it."""
    job = _job(session, number)
    if job.status == CLOSED:
        raise RuleViolation(f"Job {job.number} is already {_closed_words(session, job)}")
    return decide(session, job, CLOSED, operator, reason, clock)


def reopen_job(
    session: Session,
    number: str,
    *,
    operator: str,
    reason: str | None = None,
    clock: Callable[[], datetime],
) -> StatusChange:
    """Reopens a closed job; only a supervisor may."""
    job = _job(session, number)
    supervisor(session, operator, f"reopen job {job.number}")
    if job.status == OPEN:
        raise RuleViolation(f"Job {job.number} is open already")
    return decide(session, job, OPEN, operator, reason, clock)


def close_order_lines(
    session: Session,
    order: str,
    line: int | None,
    *,
    sales: bool,
    operator: str | None,
    reason: str | None = None,
    clock: Callable[[], datetime],
) -> list[StatusChange]:
    """Closes one line of a purchase (or sales) order, or every open line of it when `line`
    is None: filled, or short-closed because no more will come (or go)."""
    lines = order_lines(session, order, line, sales=sales)
    chosen = [each for each in lines if each.status == OPEN]
    if not chosen:
        raise RuleViolation(f"{_named(order, line)} is already closed")
    return [decide(session, each, CLOSED, operator, reason, clock) for each in chosen]


def reopen_order_lines(
    session: Session,
    order: str,
    line: int | None,
    *,
    sales: bool,
    operator: str,
    reason: str | None = None,
    clock: Callable[[], datetime],
) -> list[StatusChange]:
    """Reopens one closed line of an order, or every closed line; only a supervisor may."""
    supervisor(session, operator, f"reopen {_named(order, line)}")
    lines = order_lines(session, order, line, sales=sales)
    chosen = [each for each in lines if each.status == CLOSED]
    if not chosen:
        raise RuleViolation(f"{_named(order, line)} is open already")
    return [decide(session, each, OPEN, operator, reason, clock) for each in chosen]


def order_lines(
    session: Session, order: str, line: int | None, *, sales: bool
) -> Sequence[OrderLine]:
    """The lines of a purchase or sales order (just `line`, when given), in line order."""
    found: Sequence[OrderLine]
    if sales:
        if find(session, SalesOrder, order) is None:
            raise NotFound(f"Unknown sales order {order}")
        found = session.scalars(
            select(SalesOrderLine)
            .where(SalesOrderLine.so == order, _line_is(SalesOrderLine.line, line))
            .order_by(SalesOrderLine.line)
        ).all()
    else:
        if find(session, PurchaseOrder, order) is None:
            raise NotFound(f"Unknown purchase order {order}")
        found = session.scalars(
            select(PurchaseOrderLine)
            .where(PurchaseOrderLine.po == order, _line_is(PurchaseOrderLine.line, line))
            .order_by(PurchaseOrderLine.line)
        ).all()
    if not found:
        raise NotFound(f"{order} has no line {line}")
    return found


def _line_is(column: InstrumentedAttribute[int], line: int | None) -> ColumnElement[bool]:
    return column == line if line is not None else true()


def _named(order: str, line: int | None) -> str:
    return f"{order} line {line}" if line is not None else f"every line of {order}"


def _line_name(line: OrderLine) -> str:
    order = line.so if isinstance(line, SalesOrderLine) else line.po
    return f"{order} line {line.line}"


def supervisor(session: Session, badge: str, action: str) -> None:
    """Refuses `badge` for `action` unless it is a supervisor's."""
    person = find(session, Operator, badge)
    if person is None:
        raise NotFound(f"Unknown operator {badge}")
    if person.role != Role.SUPERVISOR:
        raise RuleViolation(f"Only a supervisor can {action}; {person.name} ({badge}) is not one")


def decide(
    session: Session,
    subject: Subject,
    status: str,
    operator: str | None,
    reason: str | None,
    clock: Callable[[], datetime],
) -> StatusChange:
    """Records that `operator` gave `subject` the status `status`, for `reason`, now (a
    `StatusChange` pending for the next push), and gives it that status. The caller has
    checked that the operator may."""
    if operator is not None and find(session, Operator, operator) is None:
        raise NotFound(f"Unknown operator {operator}")
    words = (reason or "").strip() or None
    if words is not None:
        refuse_control(words, "The reason")
    if words is not None and len(words) > REASON_LENGTH:
        raise RuleViolation(f"The reason is {len(words)} characters; at most {REASON_LENGTH}")
    kind, key = subject_key(subject)
    change = StatusChange(
        device_id=device_id(session),
        subject=kind,
        key=key,
        status=status,
        reason=words,
        operator=operator,
        happened_at=_after_the_latest(session, kind, key, clock()),
        sync_state=SyncState.PENDING.value,
    )
    session.add(change)
    _give_status(subject, status)
    session.flush()
    return change


def _after_the_latest(session: Session, kind: str, key: str, now: datetime) -> datetime:
    """When a decision made now happened: now, or just after the latest change of its
    subject this database keeps when that one is dated later (a handheld's clock a few
    minutes ahead, within what the central store takes: `sync.central.status_changes`).
    The status is the latest change's by when it happened, so a supervisor's reopening at
    the store ranked under such a close, and the command said it was done."""
    latest = session.scalar(
        select(func.max(StatusChange.happened_at)).where(
            StatusChange.subject == kind,
            StatusChange.key == key,
            StatusChange.sync_state != REFUSED,
        )
    )
    if latest is None or aware(latest) < aware(now):
        return now
    return aware(latest) + timedelta(milliseconds=1)


def _give_status(subject: Subject, status: str) -> None:
    if isinstance(subject, Serial):
        subject.quality_status = status
    else:
        subject.status = status


def current_status(subject: Subject) -> str:
    """The status a change to `subject` sets: a serial's quality status, else `status`."""
    return subject.quality_status if isinstance(subject, Serial) else subject.status


# ---- history --------------------------------------------------------------------------------


def subject_key(subject: Subject) -> tuple[str, str]:
    """A status change's subject and key for a job, an order line, a lot or a serial."""
    if isinstance(subject, Job):
        return StatusSubject.JOB.value, subject.number
    if isinstance(subject, Lot):
        return StatusSubject.LOT.value, f"{subject.part}|{subject.number}"
    if isinstance(subject, Serial):
        return StatusSubject.SERIAL.value, f"{subject.part}|{subject.number}"
    if isinstance(subject, SalesOrderLine):
        return StatusSubject.SO_LINE.value, f"{subject.so}|{subject.line}"
    return StatusSubject.PO_LINE.value, f"{subject.po}|{subject.line}"


def subject_row(session: Session, subject: str, key: str) -> Subject | None:
    """The job, order line, lot or serial a status change is about, if this database has
    it."""
    if subject == StatusSubject.JOB:
        return find(session, Job, key)
    if subject in (StatusSubject.LOT, StatusSubject.SERIAL):
        # A part number may hold "|"; a lot or serial never does (GS1 character set 82).
        part, _bar, number = key.rpartition("|")
        numbered: type[Lot | Serial] = Lot if subject == StatusSubject.LOT else Serial
        return find(session, numbered, (part, number))
    order, _bar, line = key.rpartition("|")
    if not line.isdigit():
        return None
    model: type[OrderLine] = (
        SalesOrderLine if subject == StatusSubject.SO_LINE else PurchaseOrderLine
    )
    return find(session, model, (order, int(line)))


def history(session: Session, subject: Subject) -> list[Decided]:
    """Every status change of a job or order line, oldest first, with the operator's name."""
    kind, key = subject_key(subject)
    rows = session.execute(
        select(StatusChange, Operator.name)
        .outerjoin(Operator, Operator.badge == StatusChange.operator)
        .where(StatusChange.subject == kind, StatusChange.key == key)
        .order_by(StatusChange.happened_at, StatusChange.id)
    ).all()
    return [
        Decided(
            change.status,
            change.operator,
            name,
            aware(change.happened_at),
            change.reason,
            refused=change.sync_state == REFUSED,
        )
        for change, name in rows
    ]


def last_decision(session: Session, subject: Subject) -> Decided | None:
    """The decision that gave `subject` its status: its latest change the store did not
    refuse."""
    decided = [each for each in history(session, subject) if not each.refused]
    return decided[-1] if decided else None


def settle_status(session: Session, subject: str, key: str) -> Subject | None:
    """Gives a job, order line, lot or serial the status of its latest change (by when it
    happened) that the store did not refuse; returns it, or None when this database does
    not have it."""
    row = subject_row(session, subject, key)
    if row is None:
        return None
    latest = session.scalar(
        select(StatusChange.status)
        .where(
            StatusChange.subject == subject,
            StatusChange.key == key,
            StatusChange.sync_state != REFUSED,
        )
        .order_by(StatusChange.happened_at.desc(), StatusChange.id.desc())
        .limit(1)
    )
    if latest is not None and latest in _STATUSES[subject] and current_status(row) != latest:
        _give_status(row, latest)
        session.flush()
    return row


_LOT_STATUSES = frozenset(each.value for each in LotStatus)
_STATUSES = {
    StatusSubject.JOB.value: frozenset({OPEN, CLOSED}),
    StatusSubject.PO_LINE.value: frozenset({OPEN, CLOSED}),
    StatusSubject.SO_LINE.value: frozenset({OPEN, CLOSED}),
    StatusSubject.LOT.value: _LOT_STATUSES,
    StatusSubject.SERIAL.value: _LOT_STATUSES,
}
"""The statuses a change of each subject may set; any other is not applied."""
