"""What every workflow shares: the response it gives, the context it runs in, and the steps
that recur (which part a scan names, a quantity, lot or serial numbers typed or generated).

A workflow is a state machine. It takes one scan at a time and answers with a `Response`:
the prompt for the next scan, feedback at one of four levels, and what it recorded. It
records through the ledger in the transaction the engine opened for that scan, so a line is
durable before the next prompt, and a scan that is refused changes nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import ClassVar

from sqlalchemy import exists, select, union
from sqlalchemy.orm import Session, aliased

from scanner.containers import most_containers
from scanner.errors import LotscanError, NotFound, RuleViolation
from scanner.ledger import KnownRows, Ledger
from scanner.models import Location, Lot, Movement, MovementKind, Part
from scanner.movement_rules import number_rule
from scanner.numbering import mint_numbers, number_range
from scanner.quantity import MOST_MOVED, format_quantity, number_shaped, to_quantity
from scanner.row_by_key import find
from scanner.scan import Item, Scan, ScanKind
from scanner.workflows.display import Level as Level  # kept here for the workflows

# The most lots or serials one line may number. A slip of the thumb in a range's last number
# (LOT0001..LOT1000 for LOT0010) must not record a thousand containers and print their labels.
MAX_NUMBERS = 500


@dataclass(frozen=True)
class Recorded:
    """One movement a scan recorded, as the operator should see it."""

    movement_id: str
    kind: str
    text: str


@dataclass(frozen=True)
class LabelDue:
    """A label the workflow says should be printed: the engine hands it to the front end's
    print hook in the scan's transaction (`scanner.workflows.engine.QueueLabels`)."""

    kind: str  # lot, serial or assembly
    part: str
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    qty: Decimal | None = None
    job: str | None = None


@dataclass(frozen=True)
class Response:
    prompt: str
    message: str = ""
    level: Level = Level.INFO
    workflow: str | None = None
    recorded: tuple[Recorded, ...] = ()
    labels: tuple[LabelDue, ...] = ()
    details: tuple[str, ...] = ()
    awaiting_confirmation: bool = False
    decided: tuple[str, ...] = ()
    """Status changes the scan recorded (a lot held), as the operator reads them: not
    movements, so not in `recorded`."""
    offers: tuple[str, ...] = ()
    """Commands this step offers beyond the usual ones (HOLD's hold, release and recall
    that would change something): the handheld's key bar shows their keys."""

    @property
    def beep(self) -> bool:
        return self.level in (Level.WARNING, Level.ERROR)


class Refusal(LotscanError):
    """A scan that does not fit the step the workflow is at; the message says what would."""


@dataclass
class Context:
    """What a workflow may use while it handles one scan."""

    session: Session
    clock: Callable[[], datetime]
    operator: str
    recorded: list[Recorded] = field(default_factory=list)
    labels: list[LabelDue] = field(default_factory=list)
    decided: list[str] = field(default_factory=list)
    """Status changes recorded in the scan, as the operator reads them (`Response.decided`)."""
    known: KnownRows = field(default_factory=set)
    """Locations and operators the handheld has found before (`scanner.ledger.KnownRows`)."""

    @cached_property
    def ledger(self) -> Ledger:
        """One ledger for the scan: it reads the device id once, not per movement."""
        return Ledger(self.session, self.clock, known=self.known)

    @property
    def today(self) -> date:
        return self.clock().date()

    def note(self, movement: Movement, text: str) -> None:
        self.recorded.append(Recorded(str(movement.id), movement.kind, text))


# ---- recurring steps ----------------------------------------------------------------------


def part_of(session: Session, item: Item) -> Part:
    """The part an item scan names: by its GTIN (01), else by its part number (240)."""
    if item.gtin:
        part = session.scalar(select(Part).where(Part.gtin == item.gtin))
        if part is None:
            raise NotFound(f"No part has GTIN {item.gtin}")
        if item.part and item.part != part.number:
            raise RuleViolation(
                f"GTIN {item.gtin} is {part.number}, but the label says {item.part}"
            )
        return part
    if item.part:
        found = find(session, Part, item.part)
        if found is None:
            raise NotFound(f"Unknown part {item.part}")
        return found
    raise Refusal("That label names no part: scan one with a GTIN (01) or part number (240)")


def location_of(session: Session, code: str) -> Location:
    location = find(session, Location, code)
    if location is None:
        raise NotFound(f"Unknown location {code}")
    return location


def quantity_answer(scan: Scan) -> Decimal:
    """A typed quantity: more than zero, at most three decimals."""
    if scan.kind != ScanKind.TEXT or scan.value is None:
        raise Refusal("Type the quantity")
    if not number_shaped(scan.value):
        raise Refusal(f"{scan.value} is not a quantity: type a number")
    if Decimal(scan.value.strip()) > MOST_MOVED:
        raise Refusal(
            f"{scan.value.strip()} is more than one movement carries (at most"
            f" {format_quantity(MOST_MOVED)}): check the quantity"
        )
    try:
        qty = to_quantity(scan.value)
    except RuleViolation as problem:  # more than three places: said as such
        raise Refusal(str(problem)) from None
    if qty <= 0:
        raise Refusal("The quantity must be more than zero")
    return qty


def number_answer(
    scan: Scan, part: str, what: str, session: Session, *, generate: bool = True
) -> str:
    """A lot or serial number scanned or typed: text, or the (10) or (21) of an item label
    that names this part or no part at all (a supplier's lone lot barcode)."""
    if scan.kind == ScanKind.TEXT and scan.value:
        # Judged as typed: refused only at the end of the line, after a warning was
        # confirmed, it left the line waiting on a confirmation that always failed.
        broken = number_rule(scan.value, what.capitalize())
        if broken is not None:
            raise Refusal(broken.message)
        return scan.value
    if scan.kind == ScanKind.ITEM and scan.item is not None:
        number = scan.item.lot if what == "lot" else scan.item.serial
        if number and _names_part(session, scan.item, part):
            return number
    raise Refusal(
        f"Scan or type the {what} number of {part}" + (", or scan CMD:GEN" if generate else "")
    )


def _names_part(session: Session, item: Item, part: str) -> bool:
    if not item.names_part:
        return True
    try:
        return part_of(session, item).number == part
    except LotscanError:
        return False


def whole_count(qty: Decimal, part: str) -> int:
    """How many serials `qty` units of `part` need: a whole number, at most MAX_NUMBERS."""
    if qty != int(qty):
        raise Refusal(
            f"{part} is serial-tracked: it comes in whole units, not {format_quantity(qty)}"
        )
    if qty > MAX_NUMBERS:
        raise Refusal(f"At most {MAX_NUMBERS} serials in one line: scan {part} in smaller counts")
    return int(qty)


def label_count(item: Item) -> Decimal | None:
    """The count (30) on an item label, if any; a label counting nothing is refused."""
    if item.count is None:
        return None
    if item.count < 1:
        raise Refusal("The label's count (30) must be at least 1")
    return Decimal(item.count)


_LAST_DIGITS = re.compile(r"(\d+)\D*$")


def _range_size(first: str, last: str) -> int | None:
    """How many numbers first..last spans, judged by their last runs of digits only, so a
    range too long to fill is refused before it is filled; None when it cannot tell."""
    low, high = _LAST_DIGITS.search(first), _LAST_DIGITS.search(last)
    if low is None or high is None:
        return None
    return int(high.group(1)) - int(low.group(1)) + 1


@dataclass
class NumberEntry:
    """Asking for lot or serial numbers: each scanned or typed, or all at once with CMD:GEN
    and a first and last number. CMD:GEN at the first-number prompt mints them from the
    part's pattern instead.

    `count` is how many serials are wanted; for lots it is None: one lot typed, or a range
    of any length, one lot per container (the caller shares the quantity among them, see
    `scanner.containers`). `qty` is that quantity, so a range never numbers more containers
    than it can fill. A range numbers new lots or serials: one already in use, or given
    twice, is refused with the rest of the range.
    """

    part: str
    what: str  # lot or serial
    count: int | None = None
    numbers: list[str] = field(default_factory=list)
    generating: bool = False
    first: str | None = None
    qty: Decimal | None = None
    uom: str = ""

    def prompt(self) -> str:
        if self.generating and self.first is None:
            return f"First {self.what} (CMD:GEN again: next from pattern)"
        if self.generating:
            return f"Last {self.what} (first is {self.first})"
        if self.count is None or self.count == 1:
            return f"{self.what.capitalize()} of {self.part}? (scan, type or CMD:GEN)"
        return f"{self.what.capitalize()} {len(self.numbers) + 1} of {self.count}? (or CMD:GEN)"

    def range_step(self) -> str | None:
        """Which end of a CMD:GEN range is asked for, as feedback; None outside a range."""
        if self.generating and self.first is None:
            return f"the first {self.what} (CMD:GEN again: the next from the pattern)"
        if self.generating:
            return f"the last {self.what}, from {self.first}"
        return None

    @property
    def done(self) -> bool:
        if self.count is None:
            return bool(self.numbers)
        return len(self.numbers) == self.count

    def take(self, scan: Scan, context: Context) -> str | None:
        """Takes one answer. Raises Refusal (changing nothing) for an answer that does not
        fit; returns a message when a generated range was wrong and must be given again
        from its first number (the prompt then asks for it)."""
        wanted = None if self.count is None else self.count - len(self.numbers)
        if scan.kind == ScanKind.COMMAND and scan.value == "GEN":
            if not self.generating:
                self.generating = True
            elif self.first is None:
                part = find(context.session, Part, self.part)
                assert part is not None
                self.numbers += mint_numbers(
                    context.session, part, wanted or 1, context.today, self.what
                )
                self.generating = False
            else:
                raise Refusal(self._asking())
            return None
        number = self._answer(scan, context)
        if self.generating and self.first is None:
            self.first = number
            return None
        if self.generating:
            first, self.first = self.first or "", None
            problem = self._fill(first, number, wanted, context)
            return f"{problem}: scan the first number again" if problem else None
        if number in self.numbers:
            raise Refusal(f"{self.what.capitalize()} {number} was already scanned")
        self.numbers.append(number)
        return None

    def _answer(self, scan: Scan, context: Context) -> str:
        if not self.generating:
            return number_answer(scan, self.part, self.what, context.session)
        try:
            return number_answer(scan, self.part, self.what, context.session, generate=False)
        except Refusal:
            raise Refusal(self._asking()) from None

    def _asking(self) -> str:
        """What a range's first or last number prompt wants, for a scan that is not it."""
        if self.first is None:
            return f"Scan or type the first {self.what} number of {self.part}, or scan CMD:GEN"
        return f"Scan or type the last {self.what} number of {self.part} (first is {self.first})"

    def _fill(self, first: str, last: str, wanted: int | None, context: Context) -> str | None:
        """Takes the numbers first..last, or says what is wrong with them."""
        size = _range_size(first, last)
        if wanted is None and size is not None and size > MAX_NUMBERS:
            return f"{first}..{last} is {size} numbers, more than one line takes ({MAX_NUMBERS})"
        try:
            numbers = number_range(first, last, expected=wanted)
        except RuleViolation as problem:
            return str(problem)
        if wanted is None and self.qty is not None:
            most = most_containers(self.qty, self.uom)
            if len(numbers) > most:
                return (
                    f"{first}..{last} is {len(numbers)} containers, more than"
                    f" {format_quantity(self.qty)} {self.uom} can fill ({most} at most)"
                )
        again = next((number for number in numbers if number in self.numbers), None)
        if again is not None:
            return f"{self.what.capitalize()} {again} was already scanned"
        known = _known_numbers(context.session, self.part, self.what, numbers)
        if known:
            more = f" (and {len(known) - 1} more)" if len(known) > 1 else ""
            return f"{self.what.capitalize()} {known[0]} of {self.part} already exists{more}"
        self.numbers += numbers
        self.generating = False
        return None


def _known_numbers(session: Session, part: str, what: str, numbers: list[str]) -> list[str]:
    """Which of `numbers` are lots (or serials) of `part` in use: moved by the ledger (a
    receipt undone leaves its numbers free to be given again), or a lot assigned to a job."""
    column = Movement.lot if what == "lot" else Movement.serial
    undone = aliased(Movement)
    moved = select(column).where(
        Movement.part == part,
        column.in_(numbers),
        Movement.kind != MovementKind.REVERSE,
        ~exists().where(undone.reverses == Movement.id),
    )
    if what == "lot":
        assigned = select(Lot.number).where(
            Lot.part == part, Lot.number.in_(numbers), Lot.assigned_job.is_not(None)
        )
        return sorted(set(session.scalars(union(moved, assigned))))
    return sorted(set(session.scalars(moved)))


def quantity_text(part: Part, qty: Decimal) -> str:
    return f"{format_quantity(qty)} {part.uom}"


_PLAIN = (str, int, float, Decimal, date, type(None))
"""Values that never change in place (an enum of ours is a str, a bool an int)."""


class Workflow:
    """One workflow's state machine. Subclasses keep their state in plain values (no
    database objects), so the engine can put it back as it was when a scan is refused."""

    name: ClassVar[str]
    closes: ClassVar[bool] = False
    """Whether CMD:CLOSE means something here: the job, or the order line."""
    not_undone: ClassVar[str | None] = None
    """Why CMD:UNDO does nothing here, when what the workflow records is not movements (a
    hold is undone by a release, with a reason of its own)."""

    def __init__(self) -> None:
        self.lines: list[list[str]] = []  # the movements of each recorded line, for UNDO

    def prompt(self) -> str:
        raise NotImplementedError

    def snapshot(self) -> Workflow:
        """A copy to put back when a scan is refused. The line in progress is copied deep;
        the recorded lines only as a list, since a recorded line never changes: copying
        them all made every scan slower the longer the shift went on. Plain values (a code,
        a quantity, no line in progress) are shared, not copied: a snapshot is taken before
        every scan, and deepcopy's walk of them cost more than the rest of it."""
        copied = object.__new__(type(self))
        vars(copied).update(vars(self))
        for name, value in vars(self).items():
            if name == "lines":
                copied.lines = list(value)
            elif not isinstance(value, _PLAIN):
                setattr(copied, name, copy.deepcopy(value))
        return copied

    def start(self, context: Context) -> Response:
        return self.respond(context, f"{self.name}: {self.prompt()}", Level.INFO)

    def handle(self, scan: Scan, context: Context) -> Response:
        raise NotImplementedError

    def cancel(self) -> str:
        """Abandons the line in progress; returns what the operator should read."""
        raise NotImplementedError

    @property
    def in_progress(self) -> bool:
        """Whether a line has been started and not yet recorded."""
        return False

    def answers(self, command: str) -> bool:
        """Whether this step takes `command` itself although it starts a workflow
        elsewhere (in HOLD, with a lot in hand, CMD:HOLD holds it)."""
        return False

    def offers(self) -> tuple[str, ...]:
        """Commands this step offers beyond the usual ones (`Response.offers`)."""
        return ()

    @property
    def awaiting_confirmation(self) -> bool:
        """Whether a warning still waits for CMD:OK, as after a scan it refused while it
        waits (`Response.awaiting_confirmation`)."""
        confirmations = vars(self).get("confirmations")
        return bool(confirmations is not None and confirmations.waiting)

    def done_words(self) -> str:
        """What CMD:DONE says of the workflow it finishes."""
        lines = len(self.lines)
        return f"{self.name} done: {lines} line{'s' if lines != 1 else ''}"

    def respond(
        self,
        context: Context,
        message: str,
        level: Level = Level.OK,
        details: tuple[str, ...] = (),
        awaiting_confirmation: bool = False,
    ) -> Response:
        return Response(
            prompt=self.prompt(),
            message=message,
            level=level,
            workflow=self.name,
            recorded=tuple(context.recorded),
            labels=tuple(context.labels),
            details=details,
            awaiting_confirmation=awaiting_confirmation,
            decided=tuple(context.decided),
            offers=self.offers(),
        )

    def line_recorded(self, context: Context, first: int) -> None:
        """Remembers the movements recorded since `first` as one line, for UNDO."""
        self.lines.append([each.movement_id for each in context.recorded[first:]])
