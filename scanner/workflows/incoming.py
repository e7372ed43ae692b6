"""Goods coming into stock on one line (RECEIVE, COMPLETE): the part, how many, and the lot
or serial numbers still to be given, scanned, typed or generated with CMD:GEN."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from scanner.models import Part, Tracking
from scanner.scan import Item, Scan, ScanKind
from scanner.workflows.base import (
    Context,
    NumberEntry,
    Refusal,
    label_count,
    quantity_answer,
    whole_count,
)


@dataclass
class Incoming:
    """RECEIVE numbers a lot per container (`one_lot` False: a range shares the quantity
    among its containers); COMPLETE makes one lot. Serials are always one per unit."""

    part: str
    tracking: str
    uom: str
    one_lot: bool = False
    qty: Decimal | None = None
    lots: list[str] = field(default_factory=list)
    serials: list[str] = field(default_factory=list)
    numbers: NumberEntry | None = None

    def read_item(self, part: Part, item: Item) -> None:
        """Takes what the item label says: its count, serial or lot."""
        self.qty = label_count(item)
        if part.tracking == Tracking.SERIAL and item.serial:
            if self.qty not in (None, 1):
                raise Refusal(f"{part.number} is serial-tracked: scan one serial at a time")
            self.qty, self.serials = Decimal(1), [item.serial]
        if part.tracking == Tracking.LOT and item.lot:
            self.lots = [item.lot]

    def read_rest(self, item: Item) -> bool:
        """Takes what the rest of the label says, when `item` names no part: the next
        symbol of a label whose first named it (a label too long for one symbol carries
        the part and expiry in one and the lot or serial and the count in the next,
        `labels.compose`; a supplier's may too). Its count, lot or serial fill what the
        line still lacks; whether it filled anything."""
        if item.names_part:
            return False  # a label of its own, not the rest of this one
        count = label_count(item)
        took = False
        if self.tracking == Tracking.SERIAL and item.serial and not self.serials:
            if count not in (None, 1) or self.qty not in (None, 1):
                raise Refusal(f"{self.part} is serial-tracked: scan one serial at a time")
            self.qty, self.serials, self.numbers = Decimal(1), [item.serial], None
            return True
        if count is not None and self.qty is None:
            self.qty, took = count, True
        if self.tracking == Tracking.LOT and item.lot and not self.lots:
            self.lots, self.numbers, took = [item.lot], None, True
        return took

    def prompt(self) -> str:
        if self.qty is None:
            return f"Quantity of {self.part} ({self.uom})?"
        assert self.numbers is not None
        return self.numbers.prompt()

    def answer(self, scan: Scan, context: Context) -> str | None:
        """Takes the quantity or a number, or the rest of the label (`read_rest`); returns a
        message when a range must be given again."""
        if scan.kind == ScanKind.ITEM and scan.item is not None and self.read_rest(scan.item):
            return None
        if self.qty is None:
            self.qty = quantity_answer(scan)
            return None
        assert self.numbers is not None
        return self.numbers.take(scan, context)

    def still_needs(self) -> str | None:
        """What to ask for next ("how many?", "which lot?", serials), or None when complete."""
        if self.qty is None:
            return f"{self.part}: how many?"
        if self.numbers is not None and self.numbers.done:
            if self.tracking == Tracking.SERIAL:
                self.serials = self.numbers.numbers
            else:
                self.lots = self.numbers.numbers
            self.numbers = None
        if self.tracking == Tracking.LOT and not self.lots:
            count = 1 if self.one_lot else None
            self.numbers = self.numbers or NumberEntry(
                self.part, "lot", count=count, qty=self.qty, uom=self.uom
            )
            return f"{self.part}: {self.numbers.range_step() or 'which lot?'}"
        if self.tracking == Tracking.SERIAL:
            wanted = whole_count(self.qty, self.part)
            if len(self.serials) < wanted:
                self.numbers = self.numbers or NumberEntry(self.part, "serial", count=wanted)
                return f"{self.part}: {self.numbers.range_step() or 'serial numbers'}"
        return None
