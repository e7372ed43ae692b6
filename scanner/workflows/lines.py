"""An item line that takes stock from a place: what ISSUE, SHIP and MOVE gather from an
item scan and the answers after it (its lot or serial, its quantity, where it comes from)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import select

from scanner.balances import stock_key
from scanner.describing import describe, described
from scanner.errors import RuleViolation
from scanner.locations import locations_of_kind
from scanner.models import (
    QUARANTINE,
    Balance,
    Lot,
    LotStatus,
    Part,
    Serial,
    SerialStatus,
    Tracking,
)
from scanner.quality import not_released_words, status_of
from scanner.quantity import format_quantity
from scanner.row_by_key import find
from scanner.scan import Scan, ScanKind
from scanner.spelling import lot_spelling, serial_spelling
from scanner.workflows.base import (
    Context,
    Level,
    NumberEntry,
    Refusal,
    Response,
    Workflow,
    label_count,
    location_of,
    number_answer,
    part_of,
    quantity_answer,
)


@dataclass
class Line:
    part: str
    tracking: str
    uom: str
    lot: str | None = None
    serial: str | None = None
    qty: Decimal | None = None
    source: str | None = None
    lot_required: bool = False
    generated_lot: NumberEntry | None = None
    lots: list[str] = field(default_factory=list)
    """The shipment's lots when a range numbered several containers (`lot` is then None)."""

    @property
    def what(self) -> str:
        return describe(self.part, self.lot, self.serial)

    @property
    def stock(self) -> str:
        """What the line takes from stock: the lot of an untracked part names only its
        shipment (a sales line asking for lot control), never the stock it comes from."""
        lot = self.lot if self.tracking == Tracking.LOT else None
        return describe(self.part, lot, self.serial)

    def missing(self) -> str | None:
        """The next thing this line needs: serial, lot, qty, source, or None when complete."""
        if self.tracking == Tracking.SERIAL and self.serial is None:
            return "serial"
        lot_wanted = self.tracking == Tracking.LOT or self.lot_required
        if lot_wanted and self.lot is None and not self.lots:
            if self.tracking != Tracking.LOT and self.qty is None:
                return "qty"  # a new lot names the shipment: how many first, then its lots
            return "lot"
        if self.qty is None:
            return "qty"
        if self.source is None:
            return "source"
        return None

    def prompt(self, places: list[str]) -> str:
        needed = self.missing()
        if needed == "serial":
            return f"Serial of {self.part}?"
        if needed == "lot":
            if self.generated_lot is not None:
                return self.generated_lot.prompt()
            return f"Lot of {self.part}?" + (" (or CMD:GEN)" if self.lot_required else "")
        if needed == "qty":
            return f"Quantity of {self.what} ({self.uom})?"
        if needed == "source":
            return f"From where? {', '.join(places)} (LOC:)"
        return "Scan CMD:OK to confirm"

    def answer(self, scan: Scan, context: Context) -> str | None:
        """Fills in what the line is missing from one scan; returns a message if the scan was
        taken but must be given again (a generated range that did not fit)."""
        needed = self.missing()
        if needed == "source":
            if scan.kind != ScanKind.LOCATION:
                raise Refusal("Scan the location it comes from (LOC:...)")
            code = location_of(context.session, scan.value or "").code
            places = places_holding(context, self)
            if code not in places:
                raise Refusal(f"No {self.stock} at {code}: it is at {', '.join(places)}")
            self.source = code
            return None
        if needed == "qty":
            self.qty = quantity_answer(scan)
            return None
        if needed == "lot" and self.tracking != Tracking.LOT:
            # A sales line asking for lot control on an untracked part: the lots are new, one
            # typed, or one per container numbered with CMD:GEN (the quantity shared).
            entry = self.generated_lot or NumberEntry(self.part, "lot", qty=self.qty, uom=self.uom)
            self.generated_lot = entry
            problem = entry.take(scan, context)
            if entry.done:
                if len(entry.numbers) == 1:
                    self.lot = entry.numbers[0]
                else:
                    self.lots = entry.numbers
                self.generated_lot = None
            return problem
        what = "lot" if needed == "lot" else "serial"
        value = number_answer(scan, self.part, what, context.session, generate=False)
        if needed == "lot":
            self.lot = value
            if scan.item is not None and self.qty is None:
                # The rest of a label too long for one symbol: its lot and count together.
                self.qty = label_count(scan.item)
        else:
            self.serial = value
            self.qty = Decimal(1)
        return None

    def spell(self, context: Context) -> None:
        """Takes the plant's spelling of the line's lot and serial (`b-77` typed is lot
        `B-77`: scanner.spelling)."""
        if self.lot is not None:
            self.lot = lot_spelling(context.session, self.part, self.lot)
        if self.serial is not None:
            self.serial = serial_spelling(context.session, self.part, self.serial)

    def answered_by(self, scan: Scan, context: Context) -> bool:
        """Whether an item label answers what this line asks (its lot or serial: the label
        names this part, or no part) rather than naming an item of its own."""
        needed = self.missing()
        if needed not in ("lot", "serial"):
            return False
        try:
            number_answer(scan, self.part, needed, context.session)
        except Refusal:
            return False
        return True


def start_line(scan: Scan, context: Context, source: str | None) -> Line:
    """A line from an item scan: the part, and whatever its label says."""
    if scan.kind != ScanKind.ITEM or scan.item is None:
        raise Refusal("Scan an item label")
    item = scan.item
    part = part_of(context.session, item)
    line = Line(part.number, part.tracking, part.uom, source=source)
    if part.tracking == Tracking.SERIAL:
        line.serial = item.serial
        line.qty = Decimal(1) if item.serial else None
        if item.count not in (None, 1):
            raise Refusal(f"{part.number} is serial-tracked: scan one serial at a time")
    else:
        line.lot = item.lot if part.tracking == Tracking.LOT else None
        line.qty = label_count(item)
    return line


def places_holding(context: Context, line: Line) -> list[str]:
    """The locations holding the line's part, lot or serial, in code order."""
    part = find(context.session, Part, line.part)
    assert part is not None
    lot, serial = stock_key(part, line.lot, line.serial)
    return list(
        context.session.scalars(
            select(Balance.location)
            .where(
                Balance.part == line.part,
                Balance.lot == lot,
                Balance.serial == serial,
                Balance.qty > 0,
            )
            .order_by(Balance.location)
        )
    )


def settle_source(context: Context, line: Line, *, held_may_move: bool = False) -> list[str]:
    """Fills in the source when one place holds the stock; returns the places to choose
    from otherwise. Refuses when no place holds it, or when it is on hold or recalled (its
    lot, or the serial itself: before any warning is confirmed or destination scanned for
    it), saying who decided so. Such stock may still be moved into quarantine
    (`held_may_move`, MOVE's) when the site has a quarantine (`scanner.quality`)."""
    words = not_released(context, line)
    if words is not None and not (held_may_move and quarantines(context)):
        raise RuleViolation(f"{described(line.part, line.lot, line.serial)} is {words}")
    if line.missing() != "source":
        return []
    places = places_holding(context, line)
    if not places:
        raise RuleViolation(f"No {line.stock} in stock{_whereabouts(context, line)}")
    if len(places) == 1:
        line.source = places[0]
        return []
    return places


def quarantines(context: Context) -> list[str]:
    """The site's quarantine locations, where stock on hold or recalled may still be moved."""
    return locations_of_kind(context.session, QUARANTINE)


def _line_records(context: Context, line: Line) -> tuple[Lot | None, Serial | None]:
    serial = None
    if line.serial is not None:
        serial = find(context.session, Serial, (line.part, line.serial))
    lot_number = serial.lot if serial is not None else line.lot
    lot = None
    if lot_number is not None and (line.tracking == Tracking.LOT or serial is not None):
        lot = find(context.session, Lot, (line.part, lot_number))
    return lot, serial


def not_released(context: Context, line: Line) -> str | None:
    """Why the line's stock is not released ("on hold by Mark Jensen on ... (porosity)"),
    or None when it is."""
    lot, serial = _line_records(context, line)
    if status_of(lot, serial) == LotStatus.ACTIVE:
        return None
    return not_released_words(context.session, lot, serial)


def held_status(context: Context, line: Line) -> str | None:
    """ "on hold" or "recalled" when the line's stock is (its lot's or its serial's own
    status, the stricter), None when it is released: short, for MOVE's feedback."""
    lot, serial = _line_records(context, line)
    status = status_of(lot, serial)
    if status == LotStatus.ACTIVE:
        return None
    return "on hold" if status == LotStatus.HOLD else "recalled"


def _whereabouts(context: Context, line: Line) -> str:
    """Where a serial that is not in stock went, if it went anywhere."""
    if line.serial is None:
        return ""
    record = find(context.session, Serial, (line.part, line.serial))
    if record is None or record.status not in (SerialStatus.SHIPPED, SerialStatus.CONSUMED):
        return ""
    return ": it was shipped" if record.status == SerialStatus.SHIPPED else ": it went into a job"


def check_on_hand(context: Context, line: Line) -> None:
    """Refuses a line taking more than its source holds, before anything else is asked."""
    part = find(context.session, Part, line.part)
    assert part is not None and line.qty is not None and line.source is not None
    lot, serial = stock_key(part, line.lot, line.serial)
    balance = find(context.session, Balance, (line.part, lot, serial, line.source))
    held = balance.qty if balance is not None else Decimal(0)
    if held == 0:
        raise RuleViolation(f"No {line.stock} at {line.source}")
    if held < line.qty:
        raise RuleViolation(
            f"Only {format_quantity(held)} {line.uom} of {line.stock} at {line.source},"
            f" not {format_quantity(line.qty)}"
        )


def line_text(line: Line) -> str:
    assert line.qty is not None
    return f"{format_quantity(line.qty)} {line.uom} of {line.what}"


class TakingWorkflow(Workflow):
    """A workflow whose lines take stock from a place (ISSUE, SHIP, MOVE): the line in
    progress, and the places to choose from when its stock sits in more than one."""

    held_may_move: ClassVar[bool] = False
    """Whether a lot on hold may be taken, into quarantine (MOVE only)."""

    def __init__(self) -> None:
        super().__init__()
        self.line: Line | None = None
        self.places: list[str] = []

    @property
    def in_progress(self) -> bool:
        return self.line is not None

    def cancel(self) -> str:
        self.line, self.places = None, []
        return "Line cancelled"

    def handle(self, scan: Scan, context: Context) -> Response:
        """A new item's label while a line waits (for its quantity, its source, a
        destination, a warning's CMD:OK) starts that item's line: the waiting line recorded
        nothing, and the next scan must apply to the item the operator scanned last, which
        is the one the screen then shows. A label that answers the line (its lot or serial)
        is an answer."""
        waiting = self.line
        if waiting is None or scan.kind != ScanKind.ITEM or waiting.answered_by(scan, context):
            return self.take(scan, context)
        self.cancel()
        started = self.take(scan, context)
        level = Level.WARNING if started.level in (Level.OK, Level.INFO) else started.level
        dropped = line_text(waiting) if waiting.qty is not None else waiting.what
        message = f"Unfinished line dropped ({dropped}). {started.message}"
        return replace(started, message=message, level=level)

    def take(self, scan: Scan, context: Context) -> Response:
        """Handles one scan of this workflow's own (`handle` has seen to a new item)."""
        raise NotImplementedError

    def answer(self, scan: Scan, context: Context) -> Response:
        """Feeds one answer to the line in progress, then asks for what comes next."""
        assert self.line is not None
        problem = self.line.answer(scan, context)
        if problem:
            return self.respond(context, problem, Level.ERROR)
        return self.next_step(context)

    def next_step(self, context: Context) -> Response:
        raise NotImplementedError

    def gather(self, context: Context) -> Response | None:
        """Asks for what the line still lacks (its lot, serial, quantity, or which of several
        places it comes from); None once the line has it all."""
        line = self.line
        assert line is not None
        line.spell(context)
        if line.missing() not in ("source", None):
            step = line.generated_lot.range_step() if line.generated_lot else None
            return self.respond(context, f"{line.what}: {step}" if step else line.what, Level.INFO)
        self.places = settle_source(context, line, held_may_move=self.held_may_move)
        if self.places:
            return self.respond(context, f"{line.stock} is in several places", Level.INFO)
        return None

    def line_done(self, context: Context, first: int) -> None:
        self.line, self.places = None, []
        self.line_recorded(context, first)
