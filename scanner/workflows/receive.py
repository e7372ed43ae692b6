"""RECEIVE: goods arriving, against a purchase order or not (docs/architecture.md,
"Workflows").

`PO:` (optional) names the order, `LOC:` (optional) where the goods go, by default the
receiving location. Then items: a lot-tracked item without (10) asks for its lot (typed,
scanned, or CMD:GEN with a first and last number: one lot per container, the quantity
shared among them as `scanner.containers` says); a serial-tracked item with a count above
one asks for that many serials. Expiry comes from (17), else from the part's shelf life.
A label is due for each lot container, with its own quantity, and each serial.

Before a line is recorded the operator confirms with CMD:OK what looks wrong: more than the
purchase-order line asks, or a lot whose (17) has passed (refused instead under the site's
`block` expiry policy, not mentioned under `ignore`). After each line on an order the screen
shows how far its line has come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scanner.closing import close_order_lines
from scanner.containers import container_shares
from scanner.errors import NotFound, RuleViolation
from scanner.locations import first_location_of_kind
from scanner.models import Lot, Part, PurchaseOrder, Tracking
from scanner.orders import purchase_line_progress, purchase_order_line, still_to_receive
from scanner.quantity import format_quantity
from scanner.row_by_key import find
from scanner.scan import Item, Scan, ScanKind
from scanner.settings import EXPIRY_POLICY, ExpiryPolicy, read_setting
from scanner.spelling import lot_spelling, serial_spelling
from scanner.workflows.base import (
    Context,
    LabelDue,
    Level,
    Refusal,
    Response,
    Workflow,
    location_of,
    part_of,
)
from scanner.workflows.confirmation import Confirmations
from scanner.workflows.incoming import Incoming


@dataclass
class Arrival(Incoming):
    """The line in progress: one item scan, its expiry and supplier lot, what it still needs,
    and the purchase-order line it is received on."""

    expiry: date | None = None
    supplier_lot: str | None = None
    po_line: int | None = None
    expired: bool = False  # the label's (17) has passed and the site warns of it

    def read_rest(self, item: Item) -> bool:
        """`Incoming.read_rest`; on a purchase order, a lot the rest of the label gives is
        the supplier's, as one its first symbol gives is (`Receive._item`)."""
        took = super().read_rest(item)
        on_order = self.po_line is not None
        if took and on_order and self.supplier_lot is None and self.lots == [item.lot]:
            self.supplier_lot = item.lot
        return took


class Receive(Workflow):
    name = "RECEIVE"
    closes = True

    def __init__(self) -> None:
        super().__init__()
        self.po: str | None = None
        self.location: str | None = None
        self.arrival: Arrival | None = None
        self.confirmations = Confirmations("receive")
        self.last_po_line: int | None = None  # the order line the last line went on

    @property
    def in_progress(self) -> bool:
        return self.arrival is not None

    def prompt(self) -> str:
        arrival = self.arrival
        if arrival is None:
            where = self.location or "LOC:?"
            return f"Scan item to {where}" + (f" ({self.po})" if self.po else "")
        if self.confirmations.waiting:
            return self.confirmations.prompt()
        return arrival.prompt()

    def start(self, context: Context) -> Response:
        self.location = first_location_of_kind(context.session, "receiving")
        return super().start(context)

    def cancel(self) -> str:
        self.arrival = None
        self.confirmations.clear()
        return "Line cancelled: scan the item again"

    def handle(self, scan: Scan, context: Context) -> Response:
        arrival = self.arrival
        if arrival is not None and self.confirmations.waiting:
            self.confirmations.take(scan)
            return self._next(context)
        if scan.kind == ScanKind.COMMAND and scan.value == "CLOSE":
            if arrival is not None:
                raise Refusal("Finish this line or CMD:CANCEL it, then CMD:CLOSE")
            return self._close(context)
        if scan.kind == ScanKind.PO and arrival is None:
            order = find(context.session, PurchaseOrder, scan.value)
            if order is None:
                raise NotFound(f"Unknown purchase order {scan.value}")
            self.po, self.last_po_line = order.number, None
            return self.respond(
                context,
                f"Receiving on {order.number} from {order.supplier}",
                details=still_to_receive(context.session, order.number),
            )
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
        arrival = Arrival(part.number, part.tracking, part.uom, expiry=item.expiry)
        if self.po is not None:  # refuses a part not on the order before anything is asked
            arrival.po_line = purchase_order_line(context.session, self.po, None, part).line
        arrival.read_item(part, item)
        arrival.expired = _expired_on_arrival(context, part, item)
        if arrival.lots and self.po:
            arrival.supplier_lot = arrival.lots[0]
        self.arrival = arrival
        return self._next(context)

    def _next(self, context: Context) -> Response:
        """Asks for what the line still needs, then for each warning's CMD:OK, then records."""
        arrival = self.arrival
        assert arrival is not None
        asking = arrival.still_needs()
        if asking is not None:
            return self.respond(context, asking, Level.INFO)
        if self.confirmations.due:
            self.confirmations.found(self._warnings(arrival, context))
        if self.confirmations.waiting:
            return self.confirmations.warning(self, context)
        return self._record(arrival, context)

    def _warnings(self, arrival: Arrival, context: Context) -> list[str]:
        """What the operator confirms before the line is recorded, the line as a whole."""
        assert arrival.qty is not None
        found: list[str] = []
        if self.po is not None and arrival.po_line is not None:
            progress = purchase_line_progress(context.session, self.po, arrival.po_line)
            beyond = progress.beyond(arrival.qty)
            if beyond is not None:
                found.append(beyond)
        if arrival.expired and arrival.lots:
            lots = arrival.lots
            which = f"Lot {lots[0]}" if len(lots) == 1 else f"Lots {lots[0]}..{lots[-1]}"
            found.append(f"{which} of {arrival.part} expired on {arrival.expiry}")
        return found

    def _record(self, arrival: Arrival, context: Context) -> Response:
        part = find(context.session, Part, arrival.part)
        assert part is not None and arrival.qty is not None and self.location is not None
        first = len(context.recorded)
        ledger = context.ledger
        po, po_line = self.po, arrival.po_line
        if arrival.tracking == Tracking.SERIAL:
            for typed in arrival.serials:
                serial = serial_spelling(context.session, part.number, typed)
                movement = ledger.receive(
                    part.number, 1, self.location, serial=serial, expiry=arrival.expiry,
                    po=po, po_line=po_line, operator=context.operator,
                )  # fmt: skip
                context.note(movement, f"Received {part.number} serial {serial}")
                context.labels.append(LabelDue("serial", part.number, serial=serial))
        elif arrival.tracking == Tracking.LOT:
            shares = container_shares(arrival.qty, len(arrival.lots), part.uom)
            for typed, share in zip(arrival.lots, shares, strict=True):
                lot = lot_spelling(context.session, part.number, typed)
                movement = ledger.receive(
                    part.number, share, self.location, lot=lot, expiry=arrival.expiry,
                    supplier_lot=arrival.supplier_lot, po=po, po_line=po_line,
                    operator=context.operator,
                )  # fmt: skip
                context.note(movement, f"Received {format_quantity(share)} {part.uom} lot {lot}")
                context.labels.append(
                    LabelDue("lot", part.number, lot=lot, expiry=_expiry(context, part, lot),
                             qty=share)
                )  # fmt: skip
        else:
            movement = ledger.receive(
                part.number, arrival.qty, self.location, po=po, po_line=po_line,
                operator=context.operator,
            )  # fmt: skip
            context.note(movement, f"Received {format_quantity(arrival.qty)} {part.uom}")
        self.arrival, self.last_po_line = None, arrival.po_line
        self.confirmations.clear()
        self.line_recorded(context, first)
        count = len(context.recorded) - first
        what = f"{count} {'containers' if arrival.tracking == Tracking.LOT else 'units'}"
        summary = f"Received {part.number}" + (f": {what}" if count > 1 else "")
        return self.respond(context, summary, Level.OK, details=self._progress(arrival, context))

    def _progress(self, arrival: Arrival, context: Context) -> tuple[str, ...]:
        """How far the order line has come, now this line is on it."""
        if self.po is None or arrival.po_line is None:
            return ()
        return purchase_line_progress(context.session, self.po, arrival.po_line).details()

    def _close(self, context: Context) -> Response:
        """CMD:CLOSE: the purchase-order line the last receipt went on, filled or short."""
        if self.po is None or self.last_po_line is None:
            raise Refusal("Receive a line on a PO first: CMD:CLOSE closes its order line")
        close_order_lines(
            context.session, self.po, self.last_po_line, sales=False,
            operator=context.operator, clock=context.clock,
        )  # fmt: skip
        progress = purchase_line_progress(context.session, self.po, self.last_po_line)
        return self.respond(
            context, f"{self.po} line {self.last_po_line} closed", details=(progress.summary,)
        )


def _expired_on_arrival(context: Context, part: Part, item: Item) -> bool:
    """Whether a lot's (17) has already passed and the site wants a warning of it; under
    the `block` policy such a lot is refused at its scan, under `ignore` it is not mentioned."""
    if part.tracking != Tracking.LOT or item.expiry is None or item.expiry >= context.today:
        return False
    policy = read_setting(context.session, EXPIRY_POLICY)
    if policy == ExpiryPolicy.BLOCK:
        what = f"Lot {item.lot} of {part.number}" if item.lot else part.number
        raise RuleViolation(
            f"{what} expired on {item.expiry}: this site does not receive expired lots"
        )
    return policy == ExpiryPolicy.WARN


def _expiry(context: Context, part: Part, lot: str) -> date | None:
    record = find(context.session, Lot, (part.number, lot))
    return record.expiry if record else None
