"""An item line that takes stock from a place: what ISSUE, SHIP and MOVE gather from an
item scan and the answers after it (its lot or serial, its quantity, where it comes from)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from scanner.caches import stock_key
from scanner.errors import RuleViolation
from scanner.ledger import describe
from scanner.models import Balance, Part, Tracking
from scanner.quantity import format_quantity
from scanner.scan import Scan, ScanKind
from scanner.workflows.base import (
    Context,
    NumberEntry,
    Refusal,
    location_of,
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
    checked: bool = False  # warnings found and shown (ISSUE)

    @property
    def what(self) -> str:
        return describe(self.part, self.lot, self.serial)

    def missing(self) -> str | None:
        """The next thing this line needs: serial, lot, qty, source, or None when complete."""
        if self.tracking == Tracking.SERIAL and self.serial is None:
            return "serial"
        if (self.tracking == Tracking.LOT or self.lot_required) and self.lot is None:
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
            self.source = location_of(context.session, scan.value or "").code
            return None
        if needed == "qty":
            self.qty = quantity_answer(scan)
            return None
        if needed == "lot" and self.tracking != Tracking.LOT:
            # A sales line asking for lot control on an untracked part: the lot is new.
            self.generated_lot = self.generated_lot or NumberEntry(self.part, "lot", count=1)
            problem = self.generated_lot.take(scan, context)
            if self.generated_lot.done:
                self.lot = self.generated_lot.numbers[0]
                self.generated_lot = None
            return problem
        if scan.kind == ScanKind.ITEM and scan.item is not None:
            value = scan.item.lot if needed == "lot" else scan.item.serial
        elif scan.kind == ScanKind.TEXT:
            value = scan.value
        else:
            value = None
        if not value:
            raise Refusal(f"Scan or type the {needed} of {self.part}")
        if needed == "lot":
            self.lot = value
        else:
            self.serial = value
            self.qty = Decimal(1)
        return None


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
        line.qty = Decimal(item.count) if item.count is not None else None
    return line


def places_holding(context: Context, line: Line) -> list[str]:
    """The locations holding the line's part, lot or serial, in code order."""
    part = context.session.get(Part, line.part)
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


def settle_source(context: Context, line: Line) -> list[str]:
    """Fills in the source when one place holds the stock; returns the places to choose
    from otherwise. Refuses when no place holds it."""
    if line.missing() != "source":
        return []
    places = places_holding(context, line)
    if not places:
        raise RuleViolation(f"No {line.what} in stock")
    if len(places) == 1:
        line.source = places[0]
        return []
    return places


def line_text(line: Line) -> str:
    assert line.qty is not None
    return f"{format_quantity(line.qty)} {line.uom} of {line.what}"
