"""SHIP: goods leave on a sales order (DESIGN §4).

`SO:` names the order; then items, only parts on it. A line that requests lot control
needs a lot even for a part that is not lot-tracked: scanned, typed or generated with
CMD:GEN. A serial already shipped is refused.
"""

from __future__ import annotations

from scanner.errors import NotFound
from scanner.models import Part, SalesOrder, Tracking
from scanner.orders import sales_order_line
from scanner.rows import find
from scanner.scan import Scan, ScanKind
from scanner.workflows.base import Context, Refusal, Response, location_of
from scanner.workflows.lines import Line, TakingWorkflow, line_text, start_line


class Ship(TakingWorkflow):
    name = "SHIP"

    def __init__(self) -> None:
        super().__init__()
        self.so: str | None = None
        self.source: str | None = None
        self.order_line: int | None = None

    def prompt(self) -> str:
        if self.so is None:
            return "Scan the sales order (SO:...)"
        if self.line is None:
            return f"Scan item for {self.so}"
        return self.line.prompt(self.places)

    def take(self, scan: Scan, context: Context) -> Response:
        if self.line is None:
            if scan.kind == ScanKind.SO:
                order = find(context.session, SalesOrder, scan.value)
                if order is None:
                    raise NotFound(f"Unknown sales order {scan.value}")
                self.so = order.number
                return self.respond(context, f"Shipping {order.number} to {order.customer}")
            if scan.kind == ScanKind.LOCATION:
                self.source = location_of(context.session, scan.value or "").code
                return self.respond(context, f"Taking from {self.source}")
            if self.so is None:
                raise Refusal("Scan the sales order first (SO:...)")
            line = start_line(scan, context, self.source)
            part = find(context.session, Part, line.part)
            assert part is not None
            order_line = sales_order_line(context.session, self.so, None, part)
            line.lot_required = order_line.lot_control and part.tracking != Tracking.SERIAL
            if line.lot_required and line.lot is None and scan.item is not None:
                line.lot = scan.item.lot  # the (10) on the label names the shipment's lot
            self.line, self.order_line = line, order_line.line
            return self.next_step(context)
        return self.answer(scan, context)

    def next_step(self, context: Context) -> Response:
        line = self.line
        assert line is not None
        asking = self.gather(context)
        if asking is not None:
            return asking
        return self._record(line, context)

    def _record(self, line: Line, context: Context) -> Response:
        assert self.so is not None and line.qty is not None
        first = len(context.recorded)
        movement = context.ledger.ship(
            self.so, line.part, line.qty, line=self.order_line, from_location=line.source,
            lot=line.lot, serial=line.serial, operator=context.operator,
        )  # fmt: skip
        context.note(movement, f"Shipped {line_text(line)}")
        self.line_done(context, first)
        return self.respond(context, f"Shipped {line_text(line)} on {self.so}")
