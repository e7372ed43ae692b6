"""HOLD: a supervisor or quality staff holds, releases or recalls a lot or serial
(docs/architecture.md, "Workflows" and "Quality and recall").

Only an operator whose role is supervisor or quality starts it; anyone else is refused at
CMD:HOLD and stays where they were. Then, for each lot or serial:

1. its label: an item label with the lot (10) or serial (21); a label naming only the part
   asks for the number, typed or scanned. The screen shows what it is, its status as people
   read it (released, on hold, recalled, expired), who decided it, when and why, its expiry
   and where it is;
2. the action: CMD:HOLD, CMD:RELEASE or CMD:RECALL. The step offers those that would change
   something; one that changes nothing is refused, saying who decided the status it has;
3. the reason, typed or scanned (a reason-code barcode is text): required, plain text on one
   line, at most 200 characters.

The decision is a `StatusChange` (`scanner.quality.change_status`), pending for the next
push, and the workflow waits for the next label. Another item label at any step starts
again with it; nothing was recorded for the one dropped. The state is plain values, as every
workflow's (`scanner.workflows.state`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from scanner.errors import NotFound, RuleViolation
from scanner.models import QUALITY_ROLES, Lot, LotStatus, Operator, Serial, Tracking
from scanner.plain_text import refuse_control
from scanner.quality import (
    REASON_LENGTH,
    Action,
    Item,
    Standing,
    change_status,
    described_item,
    find_item,
    last_status_decision,
    standing,
    status_of,
)
from scanner.quantity import format_quantity
from scanner.row_by_key import find
from scanner.scan import Scan, ScanKind
from scanner.stock import on_hand
from scanner.workflows.base import (
    Context,
    Level,
    Refusal,
    Response,
    Workflow,
    number_answer,
    part_of,
)

ACTIONS = {action.name: action for action in Action}
"""The commands that decide, by name: CMD:HOLD, CMD:RELEASE, CMD:RECALL."""

READ_AS = {
    Standing.RELEASED: "released",
    Standing.HOLD: "on hold",
    Standing.RECALLED: "recalled",
    Standing.EXPIRED: "expired",
}
"""A status as the screen says it."""

_DONE = {Action.HOLD: "put on hold", Action.RELEASE: "released", Action.RECALL: "recalled"}
_LOGGED = {Action.HOLD: "Held", Action.RELEASE: "Released", Action.RECALL: "Recalled"}
_PLACES_SHOWN = 3  # a lot in more places says how many more: the screen has few lines


class Hold(Workflow):
    name = "HOLD"
    not_undone = "Decisions are not undone: scan the label and decide anew"

    def __init__(self) -> None:
        super().__init__()
        self.part: str | None = None
        self.what = "lot"  # lot or serial: what the part is tracked by
        self.number: str | None = None  # the lot or serial number, as first written
        self.action: Action | None = None
        self.status = LotStatus.ACTIVE.value  # the subject's own stored status
        self.decisions = 0

    @property
    def in_progress(self) -> bool:
        return self.part is not None

    def prompt(self) -> str:
        if self.part is None:
            return "Scan the lot or serial label"
        if self.number is None:
            return f"{self.what.capitalize()} of {self.part}? (scan or type)"
        if self.action is None:
            verbs = [ACTIONS[name].value for name in self.offers()]
            return f"{' or '.join(verbs).capitalize()} {self.what} {self.number}?"
        return f"Why {self.action.value} it? Type the reason"

    def offers(self) -> tuple[str, ...]:
        if self.number is None or self.action is not None:
            return ()
        return tuple(name for name, action in ACTIONS.items() if action.status != self.status)

    def answers(self, command: str) -> bool:
        return command in ACTIONS and self.number is not None

    def start(self, context: Context) -> Response:
        may_decide_here(context.session, context.operator)
        return super().start(context)

    def cancel(self) -> str:
        self._drop()
        return "Nothing decided: scan the next label"

    def done_words(self) -> str:
        return f"{self.name} done: {self.decisions} decision{'s' if self.decisions != 1 else ''}"

    def handle(self, scan: Scan, context: Context) -> Response:
        if scan.kind == ScanKind.COMMAND and scan.value in ACTIONS:
            if self.number is None:
                raise Refusal(f"Scan the lot or serial label first, then CMD:{scan.value}")
            return self._choose(ACTIONS[scan.value], context)
        if self.part is not None and self.number is None:
            return self._number(scan, context)
        if scan.kind == ScanKind.ITEM:
            return self._label(scan, context)
        if self.action is not None:
            return self._record(reason_of(scan), context)
        if self.part is None:
            raise Refusal("Scan the label of a lot or serial: (10) lot or (21) serial")
        raise Refusal(f"Choose first: CMD:{', CMD:'.join(self.offers())}")

    # ---- the label --------------------------------------------------------------------

    def _label(self, scan: Scan, context: Context) -> Response:
        assert scan.item is not None
        part = part_of(context.session, scan.item)
        if part.tracking == Tracking.NONE:
            raise Refusal(f"{part.number} has no lots or serials: there is nothing to hold")
        self._drop()
        self.part = part.number
        # A serial-tracked part's label with a lot and no serial names the lot of serials.
        serial, lot = scan.item.serial, scan.item.lot
        by_lot = part.tracking == Tracking.LOT or (serial is None and lot is not None)
        self.what = "lot" if by_lot else "serial"
        number = lot if by_lot else serial
        if number is None:
            return self.respond(context, f"{part.number}: {part.description}", Level.INFO)
        return self._found(number, context)

    def _number(self, scan: Scan, context: Context) -> Response:
        assert self.part is not None
        try:
            number = number_answer(scan, self.part, self.what, context.session, generate=False)
        except Refusal:
            if scan.kind == ScanKind.ITEM:  # another part's label: start again with it
                return self._label(scan, context)
            raise
        return self._found(number, context)

    def _found(self, number: str, context: Context) -> Response:
        item = self._item(context, number)
        self.number = item.subject.number
        self.status = item.own_status
        counts = item_standing(item, context.today)
        details = (item.part.description, *status_lines(context.session, item, context.today))
        details += tuple(_where(context.session, item))
        return self.respond(
            context, f"{described_item(item)}: {READ_AS[counts]}", Level.INFO, details=details
        )

    def _item(self, context: Context, number: str | None = None) -> Item:
        assert self.part is not None
        number = number or self.number
        if self.what == "serial":
            return find_item(context.session, self.part, lot=None, serial=number)
        return find_item(context.session, self.part, lot=number, serial=None)

    # ---- the action and the reason ------------------------------------------------------

    def _choose(self, action: Action, context: Context) -> Response:
        item = self._item(context)
        self.status = item.own_status
        if action.status == self.status:
            raise RuleViolation(f"{described_item(item)} is already {_decided(context, item)}")
        self.action = action
        return self.respond(context, f"To {action.value}: {item.words()}", Level.INFO)

    def _record(self, reason: str, context: Context) -> Response:
        action = self.action
        assert action is not None
        item = self._item(context)
        change_status(
            context.session, item, action, reason=reason, by=context.operator,
            clock=context.clock,
        )  # fmt: skip
        context.decided.append(f"{_LOGGED[action]} {item.subject.number} of {item.part.number}")
        self._drop()
        self.decisions += 1
        details = (item.part.description, *status_lines(context.session, item, context.today))
        return self.respond(
            context, f"{described_item(item)} {_DONE[action]}", Level.OK, details=details
        )

    def _drop(self) -> None:
        self.part, self.number, self.action = None, None, None
        self.status = LotStatus.ACTIVE.value


def may_decide_here(session: Session, badge: str) -> None:
    """Refuses HOLD to anyone but a supervisor or quality staff, in words for the floor."""
    person = find(session, Operator, badge)
    if person is None:
        raise NotFound(f"Unknown operator {badge}: scan your badge again")
    if person.role not in QUALITY_ROLES:
        raise RuleViolation(
            f"HOLD is for supervisors and quality staff; {person.name} is {person.role} staff"
        )


def reason_of(scan: Scan) -> str:
    """The reason, typed or scanned: any text; a code that reads as a location, job or
    order (`LOC:A-01 flooded`) is taken as typed."""
    if scan.kind == ScanKind.TEXT and scan.value:
        words = scan.value
    elif scan.kind in (ScanKind.LOCATION, ScanKind.JOB, ScanKind.PO, ScanKind.SO):
        words = scan.raw
    else:
        raise Refusal("Type the reason, or scan a reason code")
    words = refuse_control(words.strip(), "The reason")
    if len(words) > REASON_LENGTH:
        raise Refusal(f"The reason is {len(words)} characters; at most {REASON_LENGTH}")
    return words


# ---- what the screen says of a lot or serial ------------------------------------------------


def status_lines(session: Session, item: Item, today: date) -> list[str]:
    """A lot's or serial's status as people read it, who decided it, when and why, and its
    expiry: short lines for a 40-column screen (HOLD and LOOKUP show them)."""
    counts = item_standing(item, today)
    deciding = _deciding(item)
    status = f"Status: {READ_AS[counts]}"
    if deciding is item.lot and item.serial is not None and item.lot is not None:
        status += f" (lot {item.lot.number})"
    lines = [status]
    latest = last_status_decision(session, deciding)
    if latest is not None:
        who = latest.name or latest.operator
        when = f"{latest.happened_at:%Y-%m-%d %H:%M}"
        lines.append(f"By {who}, {when}" if who else f"On {when}")
        if latest.reason:
            lines.append(f"Why: {latest.reason}")
    expiry = item.lot.expiry if item.lot is not None else None
    if expiry is not None:
        lines.append(f"{'Expired' if expiry < today else 'Expires'} {expiry}")
    return lines


def item_standing(item: Item, today: date) -> Standing:
    """A lot's or serial's status as people read it (a serial's with its lot's)."""
    expiry = item.lot.expiry if item.lot is not None else None
    return standing(status_of(item.lot, item.serial), expiry, today)


def _deciding(item: Item) -> Lot | Serial:
    """The lot or serial whose status counts: a serial's own, unless its lot's is stricter."""
    counts = status_of(item.lot, item.serial)
    if item.serial is not None and item.serial.quality_status == counts:
        return item.serial
    return item.lot if item.lot is not None else item.subject


def _decided(context: Context, item: Item) -> str:
    """The status the lot or serial has and who gave it, short enough for the two lines of
    a handheld's feedback: "on hold (Sam Okafor, 2026-11-17)"; the rest is on the screen."""
    own = item.own_status
    words = READ_AS[standing(own, None, context.today)]
    latest = last_status_decision(context.session, item.subject)
    if latest is None or latest.status != own:
        return words
    who = f"{latest.name or latest.operator}, " if latest.operator else ""
    return f"{words} ({who}{latest.happened_at:%Y-%m-%d})"


def _where(session: Session, item: Item) -> list[str]:
    """Where the lot or serial is: a few places and how many more."""
    if item.serial is not None:
        place = item.serial.location
        state = item.serial.status.replace("_", " ")
        return [f"{state.capitalize()}" + (f" at {place}" if place else "")]
    assert item.lot is not None
    rows = on_hand(session, part=item.part.number, lot=item.lot.number)
    if not rows:
        return ["None in stock"]
    uom = item.part.uom
    lines = [f"  {format_quantity(row.qty)} {uom} @{row.location}" for row in rows]
    more = len(lines) - _PLACES_SHOWN
    if more > 0:
        lines = [*lines[:_PLACES_SHOWN], f"  and {more} more place{'s' if more != 1 else ''}"]
    return ["Stock:", *lines]
