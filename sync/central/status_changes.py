"""Status changes on the central store: jobs and order lines closed or reopened
(`scanner.closing`), lots and serials held, released or recalled (`scanner.quality`)
(docs/architecture.md, "Status changes").

A handheld pushes its status changes with its movements; a supervisor at the store records
them with `lotscan jobs|orders close|reopen` or `lotscan lot hold|release|recall`. Either
way the store keeps every change, gives the subject the status of its latest (by when it
happened), and tells every handheld: the subject's row with its status, and the change
itself for its history. A change pushed again (a retry) is kept once.

A pushed change is judged by the core's rules: what it is about must be one the store has;
a lot's or serial's operator one the store knows whose role is supervisor or quality
(`scanner.quality.may_decide`); a job or order line reopened by a supervisor
(`scanner.closing.supervisor`; anyone closes one). A change dated more than
`CLOCK_SKEW_LIMIT` after it reached the store is refused whatever it is about: a device
whose clock ran years ahead would otherwise have its decision stand over every one made
since, a supervisor's at the store included. One that breaks a rule is refused: kept as sent, marked
refused (history, never a status), with a `RULE_VIOLATION` alert naming the rule, and sent
to every handheld like any change, so the one that recorded it takes its own decision back.
A change that reaches the store after a later one of the same subject with another status
loses (the later one stands), is kept in the history, and opens a `STATUS_CONFLICT` alert
naming both decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.clock import aware
from scanner.closing import OPEN, REFUSED, settle_status, subject_row, supervisor
from scanner.describing import describe
from scanner.errors import LotscanError
from scanner.models import Operator, StatusChange, StatusSubject, SyncState
from scanner.quality import Action, may_decide
from sync.central.bulk_sql import among
from sync.central.changes import ChangeLog, reference_data
from sync.central.evaluate import fit
from sync.central.pending import NewLot, NewSerial
from sync.exception_codes import ExceptionCode
from sync.protocol import QUALITY_SUBJECTS, STATUS_CHANGE, StatusChangeIn

if TYPE_CHECKING:
    from sync.central.apply import CentralLedger

CLOCK_SKEW_LIMIT = 300
"""Seconds a device's clock may be off the store's before a supervisor hears of it; a status
change dated further ahead than this of its arrival is refused."""
CLOCK_ALLOWANCE = timedelta(seconds=CLOCK_SKEW_LIMIT)


def status_change_data(change: StatusChange) -> dict[str, object]:
    """A status change as devices pull it: kept (`applied`) or refused (`rejected`)."""
    state = REFUSED if change.sync_state == REFUSED else SyncState.APPLIED.value
    return reference_data(change, StatusChange) | {"sync_state": state}


def publish_status(log: ChangeLog, changes: Iterable[StatusChange]) -> None:
    """Marks status changes the store recorded or received as kept (but those it refused),
    settles the status of what each is about, and tells devices of both."""
    for change in changes:
        if change.sync_state != REFUSED:
            change.sync_state = SyncState.APPLIED.value
        change.recorded_at = change.recorded_at or log.now
        log.session.flush()
        row = settle_status(log.session, change.subject, change.key)
        log.emit(STATUS_CHANGE, str(change.id), status_change_data(change))
        if row is not None:
            log.emit_row(row)


class PushedStatus:
    """The status changes of one push, handed to the store in the order they happened,
    each before the first movement that happened after it (`due`), the rest at the end."""

    def __init__(self, session: Session, device_id: str, pushed: Sequence[StatusChangeIn]):
        self.session = session
        self.device_id = device_id
        known = _known(session, [change.id for change in pushed])
        fresh = {change.id: change for change in pushed if change.id not in known}
        self._waiting = sorted(fresh.values(), key=lambda c: (aware(c.happened_at), c.id))

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def due(self, ledger: CentralLedger, before: datetime | None) -> None:
        """Keeps the changes that happened no later than `before` (all of them for None),
        each judged as the store stands then."""
        if not self._waiting:
            return  # nearly every push: asked once a movement
        for pushed in list(self._taken(before)):
            self._take(ledger, pushed)

    def _taken(self, before: datetime | None) -> Iterator[StatusChangeIn]:
        while self._waiting and (
            before is None or aware(self._waiting[0].happened_at) <= aware(before)
        ):
            yield self._waiting.pop(0)

    def _take(self, ledger: CentralLedger, pushed: StatusChangeIn) -> None:
        refusal = self._refusal(ledger, pushed)
        later = (
            None if refusal is not None else later_decision(self.session, pushed, self.device_id)
        )
        change = self._record(pushed)
        if refusal is not None:
            change.sync_state = REFUSED
            self._alert(ledger, pushed, ExceptionCode.RULE_VIOLATION, refusal)
        publish_status(ledger.log, [change])
        if later is not None:
            self._alert(ledger, pushed, ExceptionCode.STATUS_CONFLICT, later)

    def _refusal(self, ledger: CentralLedger, pushed: StatusChangeIn) -> str | None:
        """Why the store refuses a change, in a supervisor's words; None when it keeps it.
        A change dated after it reached the store (past the clocks' allowance) is refused
        whatever it is about: by the time it happened it would stand over every decision
        made since, the store's own included."""
        subject = _subject_words(pushed.subject, pushed.key)
        by = f" by {pushed.operator}" if pushed.operator else ""
        refused = (
            f"Refused the {_noun(pushed.status)} of {subject}{by} on device {self.device_id}"
            f" at {_at(pushed)}"
        )
        kept = "kept as sent, its status unchanged"
        if aware(pushed.happened_at) > aware(ledger.now) + CLOCK_ALLOWANCE:
            return (
                f"{refused}: that is after it reached the store"
                f" ({aware(ledger.now):%Y-%m-%d %H:%M} UTC), so the device's clock is ahead;"
                f" decide again with the clock right; {kept}"
            )
        if pushed.subject in QUALITY_SUBJECTS:
            return self._quality_refusal(ledger, pushed, refused, kept)
        if subject_row(self.session, pushed.subject, pushed.key) is None:
            return f"{refused}: the store has no {subject}; {kept}"
        if pushed.status == OPEN:
            if pushed.operator is None:
                return f"{refused}: only a supervisor reopens {subject}, and none is named; {kept}"
            try:
                supervisor(self.session, pushed.operator, f"reopen {subject}")
            except LotscanError as error:
                return f"{refused}: {error}; {kept}"
        return None

    def _quality_refusal(
        self, ledger: CentralLedger, pushed: StatusChangeIn, refused: str, kept: str
    ) -> str | None:
        """A lot's or serial's change: the store must have it, and its operator must be one
        who may decide it (`scanner.quality.may_decide`). A lot or serial a movement of this
        very push brought into being is written first, so the change settles its row."""
        part, _bar, number = pushed.key.rpartition("|")
        lot, serial = (number, None) if pushed.subject == "lot" else (None, number)
        found = ledger.rows.lot(part, number) if lot else ledger.rows.serial(part, number)
        what = describe(part, lot, serial)
        if found is None:
            return f"{refused}: the store has no {what}; {kept}"
        if isinstance(found, NewLot | NewSerial):
            ledger.write_pending()
        assert pushed.operator is not None  # the door refuses a lot's change without one
        try:
            may_decide(self.session, pushed.operator, _ACTION[pushed.status], what)
        except LotscanError as error:
            return f"{refused}: {error}; {kept}"
        return None

    def _record(self, pushed: StatusChangeIn) -> StatusChange:
        change = StatusChange(
            id=pushed.id,
            device_id=self.device_id,
            subject=pushed.subject,
            key=pushed.key,
            status=pushed.status,
            reason=pushed.reason,
            operator=pushed.operator,
            happened_at=aware(pushed.happened_at),
            sync_state=SyncState.APPLIED.value,
        )
        self.session.add(change)
        return change

    def _alert(
        self, ledger: CentralLedger, pushed: StatusChangeIn, code: ExceptionCode, words: str
    ) -> None:
        part, lot, serial = _item(pushed.subject, pushed.key)
        ledger.alert(code, fit(words), device_id=self.device_id, part=part, lot=lot, serial=serial)


def later_decision(session: Session, pushed: StatusChangeIn, device_id: str) -> str | None:
    """When the subject's latest change (of those the store kept) happened after `pushed`
    (from device `device_id`) and gives another status, the words of the conflict (`pushed`
    loses); else None."""
    found = session.execute(
        select(StatusChange, Operator.name)
        .outerjoin(Operator, Operator.badge == StatusChange.operator)
        .where(
            StatusChange.subject == pushed.subject,
            StatusChange.key == pushed.key,
            StatusChange.sync_state != REFUSED,
        )
        .order_by(StatusChange.happened_at.desc(), StatusChange.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    latest, latest_name = found
    if aware(latest.happened_at) <= aware(pushed.happened_at) or latest.status == pushed.status:
        return None
    pushed_name = _name(session, pushed.operator)
    by = f" by {pushed_name}" if pushed_name else ""
    latest_by = f" by {latest_name or latest.operator}" if latest.operator else ""
    stands = _noun(latest.status)
    return (
        f"The {_noun(pushed.status)} of {_subject_words(pushed.subject, pushed.key)}{by} on"
        f" device {device_id} at {_at(pushed)} reached the store after"
        f" the {stands}{latest_by} at {aware(latest.happened_at):%Y-%m-%d %H:%M}: the {stands}"
        " stands; both are in the history"
    )


def _name(session: Session, badge: str | None) -> str | None:
    if badge is None:
        return None
    person = session.get(Operator, badge)
    return person.name if person is not None else badge


def _at(pushed: StatusChangeIn) -> str:
    return f"{aware(pushed.happened_at):%Y-%m-%d %H:%M} UTC"


_NOUNS = {
    "hold": "hold",
    "active": "release",
    "recalled": "recall",
    "closed": "close",
    "open": "reopening",
}
_ACTION = {"hold": Action.HOLD, "active": Action.RELEASE, "recalled": Action.RECALL}


def _noun(status: str) -> str:
    return _NOUNS.get(status, status)


def _item(subject: str, key: str) -> tuple[str | None, str | None, str | None]:
    """The part, lot and serial an alert about a status change names (none for a job)."""
    head, _bar, tail = key.rpartition("|")
    if subject == StatusSubject.LOT:
        return head, tail, None
    if subject == StatusSubject.SERIAL:
        return head, None, tail
    return None, None, None


def _subject_words(subject: str, key: str) -> str:
    head, _bar, tail = key.rpartition("|")
    if subject == StatusSubject.LOT:
        return describe(head, tail)
    if subject == StatusSubject.SERIAL:
        return describe(head, serial=tail)
    if subject == StatusSubject.JOB:
        return f"job {key}"
    return f"{head} line {tail}"


def _known(session: Session, ids: list[object]) -> set[object]:
    if not ids:
        return set()
    return set(session.scalars(select(StatusChange.id).where(among(session, StatusChange.id, ids))))
