"""RECEIVE: goods arriving, against a purchase order or not (DESIGN §4).

`PO:` (optional) names the order, `LOC:` (optional) where the goods go, by default the
receiving location. Then items: a lot-tracked item without (10) asks for its lot (typed,
scanned, or CMD:GEN with a first and last number: one lot per container, the quantity split
evenly); a serial-tracked item with a count above one asks for that many serials. Expiry
comes from (17), else from the part's shelf life. A label is due for each lot container and
each serial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scanner.errors import NotFound
from scanner.models import Lot, Part, PurchaseOrder, Tracking
from scanner.orders import purchase_order_line
from scanner.quantity import format_quantity
from scanner.rows import find
from scanner.scan import Scan, ScanKind
from scanner.spelling import lot_spelling, serial_spelling
from scanner.workflows.base import (
    Context,
    LabelDue,
    Level,
    Refusal,
    Response,
    Workflow,
    first_location_of_kind,
    location_of,
    part_of,
    split_evenly,
)
from scanner.workflows.incoming import Incoming


@dataclass
class Arrival(Incoming):
    """The line in progress: one item scan, its expiry and supplier lot, what it still needs."""

    expiry: date | None = None
    supplier_lot: str | None = None


class Receive(Workflow):
    name = "RECEIVE"

    def __init__(self) -> None:
        super().__init__()
        self.po: str | None = None
        self.location: str | None = None
        self.arrival: Arrival | None = None

    @property
    def in_progress(self) -> bool:
        return self.arrival is not None

    def prompt(self) -> str:
        arrival = self.arrival
        if arrival is None:
            where = self.location or "LOC:?"
            return f"Scan item to {where}" + (f" ({self.po})" if self.po else "")
        return arrival.prompt()

    def start(self, context: Context) -> Response:
        self.location = first_location_of_kind(context.session, "receiving")
        return super().start(context)

    def cancel(self) -> str:
        self.arrival = None
        return "Line cancelled: scan the item again"

    def handle(self, scan: Scan, context: Context) -> Response:
        arrival = self.arrival
        if scan.kind == ScanKind.PO and arrival is None:
            order = find(context.session, PurchaseOrder, scan.value)
            if order is None:
                raise NotFound(f"Unknown purchase order {scan.value}")
            self.po = order.number
            return self.respond(context, f"Receiving on {order.number} from {order.supplier}")
        if scan.kind == ScanKind.LOCATION and arrival is None:
            self.location = location_of(context.session, scan.value or "").code
            return self.respond(context, f"Receiving to {self.location}")
        if arrival is None:
            return self._item(scan, context)
        problem = arrival.answer(scan, context)
        if problem:
            return self.respond(context, problem, Level.ERROR)
        return self._next(context)

    def _item(self, scan: Scan, context: Context) -> Response:
        if scan.kind != ScanKind.ITEM or scan.item is None:
            raise Refusal("Scan an item label (or PO:, LOC:)")
        if self.location is None:
            raise Refusal("Scan the location first (LOC:...)")
        item = scan.item
        part = part_of(context.session, item)
        if self.po is not None:
            purchase_order_line(context.session, self.po, None, part)  # refuses early
        arrival = Arrival(part.number, part.tracking, part.uom, expiry=item.expiry)
        arrival.read_item(part, item)
        if arrival.lots and self.po:
            arrival.supplier_lot = arrival.lots[0]
        self.arrival = arrival
        return self._next(context)

    def _next(self, context: Context) -> Response:
        """Asks for what the line still needs, or records it."""
        arrival = self.arrival
        assert arrival is not None
        asking = arrival.still_needs()
        if asking is not None:
            return self.respond(context, asking, Level.INFO)
        return self._record(arrival, context)

    def _record(self, arrival: Arrival, context: Context) -> Response:
        part = find(context.session, Part, arrival.part)
        assert part is not None and arrival.qty is not None and self.location is not None
        first = len(context.recorded)
        ledger = context.ledger
        if arrival.tracking == Tracking.SERIAL:
            for typed in arrival.serials:
                serial = serial_spelling(context.session, part.number, typed)
                movement = ledger.receive(
                    part.number, 1, self.location, serial=serial, expiry=arrival.expiry,
                    po=self.po, operator=context.operator,
                )  # fmt: skip
                context.note(movement, f"Received {part.number} serial {serial}")
                context.labels.append(LabelDue("serial", part.number, serial=serial))
        elif arrival.tracking == Tracking.LOT:
            each = split_evenly(arrival.qty, len(arrival.lots), part.uom)
            for typed in arrival.lots:
                lot = lot_spelling(context.session, part.number, typed)
                movement = ledger.receive(
                    part.number, each, self.location, lot=lot, expiry=arrival.expiry,
                    supplier_lot=arrival.supplier_lot, po=self.po, operator=context.operator,
                )  # fmt: skip
                context.note(movement, f"Received {format_quantity(each)} {part.uom} lot {lot}")
                context.labels.append(
                    LabelDue("lot", part.number, lot=lot, expiry=_expiry(context, part, lot),
                             qty=each)
                )  # fmt: skip
        else:
            movement = ledger.receive(
                part.number, arrival.qty, self.location, po=self.po, operator=context.operator
            )
            context.note(movement, f"Received {format_quantity(arrival.qty)} {part.uom}")
        self.arrival = None
        self.line_recorded(context, first)
        count = len(context.recorded) - first
        what = f"{count} {'containers' if arrival.tracking == Tracking.LOT else 'units'}"
        summary = f"Received {part.number}" + (f": {what}" if count > 1 else "")
        return self.respond(context, summary, Level.OK)


def _expiry(context: Context, part: Part, lot: str) -> date | None:
    record = find(context.session, Lot, (part.number, lot))
    return record.expiry if record else None
