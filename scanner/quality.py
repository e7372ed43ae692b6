"""Lots and serials held, released and recalled by people (docs/architecture.md, "Quality
and recall").

A lot or serial is released (stored as `active`, the default), on hold, or recalled; it is
expired, whatever else, once its expiry date has passed (derived, never stored). Only an
operator whose role is `supervisor` or `quality` changes a status, always with a reason.
Each change is a `StatusChange` (subject `lot` or `serial`), never an edit without
history: who, when, why and on which device, syncing both ways as a job's close does
(`scanner.closing`). A serial has a status of its own beside its lot's; what counts for a
serial is the stricter of the two.

Held stock moves only into a location of kind quarantine; recalled stock likewise; neither
is issued or shipped (`scanner.ledger`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.closing import Decided, current_status, decide, history
from scanner.describing import describe, described
from scanner.errors import NotFound, RuleViolation
from scanner.models import (
    QUALITY_ROLES,
    JobLot,
    JobLotRole,
    Lot,
    LotStatus,
    Operator,
    Part,
    Serial,
    StatusChange,
)
from scanner.row_by_key import find
from scanner.spelling import known_lot, known_serial


class Standing(StrEnum):
    """A lot's or serial's status as people read it (`--json` and the screens)."""

    RELEASED = "released"
    HOLD = "hold"
    RECALLED = "recalled"
    EXPIRED = "expired"


class Action(StrEnum):
    """What a person does to a lot or serial, and the status it gives."""

    HOLD = "hold"
    RELEASE = "release"
    RECALL = "recall"

    @property
    def status(self) -> LotStatus:
        return _GIVES[self]


STANDING = {Action.HOLD: Standing.HOLD, Action.RELEASE: Standing.RELEASED,
            Action.RECALL: Standing.RECALLED}  # fmt: skip
"""The status each action gives, as `lotscan lot ... --json` names it."""

_GIVES = {
    Action.HOLD: LotStatus.HOLD,
    Action.RELEASE: LotStatus.ACTIVE,
    Action.RECALL: LotStatus.RECALLED,
}
_STANDING = {
    LotStatus.ACTIVE.value: Standing.RELEASED,
    LotStatus.HOLD.value: Standing.HOLD,
    LotStatus.RECALLED.value: Standing.RECALLED,
}
_STRICTNESS = {LotStatus.ACTIVE.value: 0, LotStatus.HOLD.value: 1, LotStatus.RECALLED.value: 2}

REASON_LENGTH = 200


# ---- what counts ----------------------------------------------------------------------------


def stricter(*statuses: str) -> str:
    """The strictest of stored statuses: recalled over hold over active."""
    return max(statuses, key=lambda status: _STRICTNESS.get(status, 0))


def status_of(lot: Lot | None, serial: Serial | None) -> str:
    """The stored status that counts for a lot, or a serial (with its lot, when it has one)."""
    found = [each.status for each in (lot,) if each is not None]
    if serial is not None:
        found.append(serial.quality_status)
    return stricter(*found) if found else LotStatus.ACTIVE.value


def standing(status: str, expiry: date | None, today: date) -> Standing:
    """How people read a stored status: a released lot past its expiry date is expired."""
    if status == LotStatus.ACTIVE and expiry is not None and expiry < today:
        return Standing.EXPIRED
    return _STANDING.get(status, Standing.RELEASED)


# ---- what may move -------------------------------------------------------------------------

MOVES_INTO = frozenset({"move", "receive", "produce"})
"""The kinds of movement that put held or recalled stock somewhere: only into quarantine."""
MOVES_ANYWAY = frozenset({"return", "reverse", "adjust"})
"""The kinds of movement held or recalled stock takes as released stock does: coming back
from a customer or going back to a supplier, undoing a scan, a supervisor's count."""


def may_move_unreleased(kind: str, into_quarantine: bool) -> bool:
    """Whether a movement of `kind` may take stock that is on hold or recalled: the one
    rule the ledger and the store share (docs/architecture.md, "What may move").
    `into_quarantine` says whether the movement's destination is a quarantine location."""
    if kind in MOVES_ANYWAY:
        return True
    return kind in MOVES_INTO and into_quarantine


def recalled_input(session: Session, job: str) -> str | None:
    """What `job` consumed (and still holds, net of reversals) that is recalled, in words
    ("lot GS-9001 of GEAR-GP10"); None when nothing is. What the job completes from now on
    is made of it: a recall's hold recalls what the job made before, and the lot assigned
    to it (`scanner.recall`), but a lot made after it was released, made of recalled
    stock. The ledger refuses such a completion; the store flags one it receives."""
    recalled = LotStatus.RECALLED.value
    found = session.execute(
        select(JobLot.part, JobLot.lot, JobLot.serial)
        .outerjoin(Lot, (Lot.part == JobLot.part) & (Lot.number == JobLot.lot))
        .outerjoin(Serial, (Serial.part == JobLot.part) & (Serial.number == JobLot.serial))
        .where(
            JobLot.job == job,
            JobLot.role == JobLotRole.CONSUMED.value,
            JobLot.qty > 0,
            (Lot.status == recalled) | (Serial.quality_status == recalled),
        )
        .order_by(JobLot.part, JobLot.lot, JobLot.serial)
        .limit(1)
    ).first()
    if found is None:
        return None
    part, lot, serial = found
    return describe(part, lot or None, serial or None)


# ---- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A lot or a serial of a part, as the database has it."""

    part: Part
    lot: Lot | None
    serial: Serial | None

    @property
    def own_status(self) -> str:
        """The status its own decisions gave it (a serial's, not its lot's)."""
        return current_status(self.subject)

    @property
    def subject(self) -> Lot | Serial:
        if self.serial is not None:
            return self.serial
        assert self.lot is not None
        return self.lot

    def words(self) -> str:
        if self.serial is not None:
            return describe(self.part.number, serial=self.serial.number)
        assert self.lot is not None
        return describe(self.part.number, self.lot.number)


def find_item(session: Session, part: str, *, lot: str | None, serial: str | None) -> Item:
    """The lot or serial of `part` a person named (in whatever case it was first written);
    a serial named with a lot must be in it."""
    item = find(session, Part, part)
    if item is None:
        raise NotFound(f"Unknown part {part}")
    if serial is not None:
        found_serial = known_serial(session, part, serial)
        if found_serial is None:
            raise NotFound(f"No {describe(part, serial=serial)}")
        in_lot = None
        if found_serial.lot is not None:
            in_lot = find(session, Lot, (part, found_serial.lot))
        if lot is not None and (in_lot is None or in_lot.number.casefold() != lot.casefold()):
            raise NotFound(f"{described(part, serial=found_serial.number)} is not in lot {lot}")
        return Item(item, in_lot, found_serial)
    if lot is None:
        raise RuleViolation(f"Name a lot or a serial of {part}")
    found_lot = known_lot(session, part, lot)
    if found_lot is None:
        raise NotFound(f"No {describe(part, lot)}")
    return Item(item, found_lot, None)


def may_decide(session: Session, badge: str, action: Action, what: str) -> Operator:
    """The operator `badge`, if a supervisor or quality staff; refused otherwise."""
    person = find(session, Operator, badge)
    if person is None:
        raise NotFound(f"Unknown operator {badge}")
    if person.role not in QUALITY_ROLES:
        raise RuleViolation(
            f"Only a supervisor or quality staff can {action.value} {what};"
            f" {person.name} ({person.badge}) is {person.role}"
        )
    return person


def change_status(
    session: Session,
    item: Item,
    action: Action,
    *,
    reason: str,
    by: str,
    clock: Callable[[], datetime],
) -> StatusChange:
    """Holds, releases or recalls a lot or serial: `by` (a supervisor or quality staff)
    decided it, for `reason`. A change that would change nothing is refused, saying who
    decided the status it has."""
    may_decide(session, by, action, item.words())
    if not reason.strip():
        raise RuleViolation(f"Say why: a reason is needed to {action.value} {item.words()}")
    subject = item.subject
    now = current_status(subject)
    if now == action.status:
        raise RuleViolation(f"{described_item(item)} is already {_already(session, subject)}")
    return decide(session, subject, action.status.value, by, reason, clock)


def described_item(item: Item) -> str:
    words = item.words()
    return words[:1].upper() + words[1:]


def _already(session: Session, subject: Lot | Serial) -> str:
    """ "on hold: put on hold by Mark Jensen on 2026-11-17 09:12 (porosity)"."""
    status = current_status(subject)
    words = "on hold" if status == LotStatus.HOLD else _STANDING[status].value
    latest = last_status_decision(session, subject)
    if latest is None or latest.status != status:
        return words
    return f"{words}: {latest.words()}"


# ---- who decided ----------------------------------------------------------------------------


def status_history(session: Session, subject: Lot | Serial) -> list[Decided]:
    """Every status change of a lot or serial, oldest first, with the operator's name."""
    return history(session, subject)


def last_status_decision(session: Session, subject: Lot | Serial) -> Decided | None:
    """The decision that gave a lot or serial its status (a change the central store
    refused never does)."""
    decided = [each for each in status_history(session, subject) if not each.refused]
    return decided[-1] if decided else None


REASON_SHOWN = 40
"""How much of a hold's reason a refusal quotes: at 40x16 a reason of 190 characters pushed
what the operator may still do ("it may move only into quarantine") off the screen. The
whole reason is the lot's history (LOOKUP, `lotscan lot show`)."""


def not_released_words(session: Session, lot: Lot | None, serial: Serial | None) -> str | None:
    """Why a lot or serial may not move as released stock, for the person holding the
    scanner: "on hold by Mark Jensen on 2026-11-17 09:12 (porosity)", the reason cut at
    `REASON_SHOWN` characters; None when it is released. The stricter of a serial's own
    status and its lot's is named (a recalled lot over a held serial); of two alike, the
    serial's own."""
    found = [each for each in (serial, lot) if each is not None]
    found.sort(key=lambda each: -_STRICTNESS.get(current_status(each), 0))
    for subject in found:
        if subject is None or current_status(subject) == LotStatus.ACTIVE:
            continue
        latest = last_status_decision(session, subject)
        if latest is not None and latest.status == current_status(subject):
            words = latest.words(REASON_SHOWN).replace("put on hold", "on hold", 1)
        else:
            words = "on hold" if current_status(subject) == LotStatus.HOLD else "recalled"
        if subject is lot and serial is not None:
            return f"in lot {lot.number}, {words}"
        return words
    return None
