"""RETURN: goods going back where they came from, their lot or serial kept.

From a customer (the default): `SO:` (optional; without it the order that shipped the lot
or serial is found), `LOC:` where the returns go (default: the site's first location of kind
quarantine), then items. Only what was shipped comes back, and no more than is left to come
back; a returned serial is in stock again and may be shipped again.

To a supplier: `PO:` turns the workflow round, and `LOC:` is then where the goods are taken
from (asked for when they sit in several places). Only what the order received goes back.

Items as elsewhere: (10), (21) and (30) on the label, otherwise asked for. A returned lot or
serial keeps its label: none is printed.
"""

from __future__ import annotations

from scanner.errors import NotFound, RuleViolation
from scanner.locations import first_location_of_kind
from scanner.models import QUARANTINE, Lot, Part, PurchaseOrder, SalesOrder, Tracking
from scanner.orders import purchase_order_line, sales_order_line
from scanner.returns import customer_return_line, supplier_return_line
from scanner.row_by_key import find
from scanner.scan import Scan, ScanKind
from scanner.workflows.base import (
    Context,
    Level,
    Refusal,
    Response,
    location_of,
)
from scanner.workflows.lines import (
    Line,
    TakingWorkflow,
    check_on_hand,
    line_text,
    places_holding,
    start_line,
)


class Return(TakingWorkflow):
    name = "RETURN"

    def __init__(self) -> None:
        super().__init__()
        self.so: str | None = None
        self.po: str | None = None
        self.location: str | None = None  # as scanned: where returns go, or come from
        self.quarantine: str | None = None

    @property
    def to_supplier(self) -> bool:
        return self.po is not None

    @property
    def destination(self) -> str | None:
        """Where a customer's return goes."""
        return self.location or self.quarantine

    def prompt(self) -> str:
        if self.line is not None:
            return self.line.prompt(self.places)
        if self.to_supplier:
            source = f" from {self.location}" if self.location else ""
            return f"Scan item back to {self.po}{source}"
        if self.destination is None:
            return "Where do returns go? (LOC:)"
        order = f" ({self.so})" if self.so else ""
        return f"Scan item returned to {self.destination}{order}"

    def start(self, context: Context) -> Response:
        self.quarantine = first_location_of_kind(context.session, QUARANTINE)
        return super().start(context)

    def take(self, scan: Scan, context: Context) -> Response:
        if self.line is not None:
            return self.answer(scan, context)
        if scan.kind == ScanKind.SO:
            order = find(context.session, SalesOrder, scan.value)
            if order is None:
                raise NotFound(f"Unknown sales order {scan.value}")
            self.so, self.po = order.number, None
            return self.respond(context, f"Returns from {order.customer} on {order.number}")
        if scan.kind == ScanKind.PO:
            supplier = find(context.session, PurchaseOrder, scan.value)
            if supplier is None:
                raise NotFound(f"Unknown purchase order {scan.value}")
            self.po, self.so = supplier.number, None
            return self.respond(context, f"Back to {supplier.supplier} on {supplier.number}")
        if scan.kind == ScanKind.LOCATION:
            self.location = location_of(context.session, scan.value or "").code
            if self.to_supplier:
                return self.respond(context, f"Taking from {self.location}")
            return self.respond(context, f"Returns go to {self.location}")
        return self._item(scan, context)

    def _item(self, scan: Scan, context: Context) -> Response:
        if scan.kind != ScanKind.ITEM or scan.item is None:
            raise Refusal("Scan an item label (or SO:, PO:, LOC:)")
        if not self.to_supplier and self.destination is None:
            raise Refusal("No location of kind quarantine: scan where the returns go (LOC:...)")
        line = start_line(scan, context, self.location if self.to_supplier else None)
        part = find(context.session, Part, line.part)
        assert part is not None
        if self.po is not None:
            purchase_order_line(context.session, self.po, None, part)  # refuses early
        elif self.so is not None:
            sales_order_line(context.session, self.so, None, part)
        if not self.to_supplier and _names_shipment(context, part, scan.item.lot):
            line.lot = scan.item.lot
        self.line = line
        return self.next_step(context)

    def next_step(self, context: Context) -> Response:
        line = self.line
        assert line is not None
        if line.missing() not in ("source", None):
            if line.missing() == "qty":
                self._check_named(line, context)  # before its quantity is asked for
            return self.respond(context, line.what, Level.INFO)
        self._check_named(line, context)
        if not self.to_supplier:
            return self._record(line, context)
        if line.source is None:
            self.places = _places(context, line)
            if len(self.places) > 1:
                return self.respond(context, f"{line.what} is in several places", Level.INFO)
            line.source = self.places[0]
        check_on_hand(context, line)
        return self._record(line, context)

    def _check_named(self, line: Line, context: Context) -> None:
        """Refuses a lot or serial the order never shipped or received (or, without a sales
        order, one that went out on several), before anything more is asked."""
        part = find(context.session, Part, line.part)
        assert part is not None
        if self.po is not None:
            supplier_return_line(
                context.session, part, None, lot=line.lot, serial=line.serial, po=self.po
            )
        else:
            customer_return_line(
                context.session, part, None, lot=line.lot, serial=line.serial, so=self.so
            )

    def _record(self, line: Line, context: Context) -> Response:
        assert line.qty is not None
        first = len(context.recorded)
        ledger = context.ledger
        if self.to_supplier:
            movement = ledger.return_to_supplier(
                line.part, line.qty, from_location=line.source, lot=line.lot,
                serial=line.serial, po=self.po, operator=context.operator,
            )  # fmt: skip
            supplier = movement.po and find(context.session, PurchaseOrder, movement.po)
            party = f" to {supplier.supplier}" if supplier else ""
            where = f" from {movement.from_location}"
        else:
            assert self.destination is not None
            movement = ledger.return_from_customer(
                line.part, line.qty, self.destination, lot=line.lot, serial=line.serial,
                so=self.so, operator=context.operator,
            )  # fmt: skip
            customer = movement.so and find(context.session, SalesOrder, movement.so)
            party = f" from {customer.customer}" if customer else ""
            where = f" into {self.destination}"
        context.note(movement, f"Returned {line_text(line)}")
        self.line_done(context, first)
        return self.respond(context, f"Returned {line_text(line)}{party}{where}")


def _places(context: Context, line: Line) -> list[str]:
    """Where the stock going back to the supplier is. Unlike ISSUE and SHIP, a lot on hold
    or recalled may go: sending a bad lot back is what a supplier return is for."""
    places = places_holding(context, line)
    if not places:
        raise RuleViolation(f"No {line.what} in stock")
    return places


def _names_shipment(context: Context, part: Part, lot: str | None) -> bool:
    """Whether a label's (10) on an untracked part is a lot a lot-control sales line named
    the shipment with: the goods then come back under it."""
    return (
        part.tracking == Tracking.NONE
        and lot is not None
        and find(context.session, Lot, (part.number, lot)) is not None
    )
