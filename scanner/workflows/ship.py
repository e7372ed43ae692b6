"""SHIP: goods leave on a sales order (docs/architecture.md, "Workflows").

`SO:` names the order and shows what its open lines still ship, with the stock to take it
from, first to expire first (as ISSUE's pick list); then items, only parts on it. A line
that requests lot control needs a lot even for a part that is not lot-tracked: scanned,
typed or generated with CMD:GEN, where a first and last number give one lot per container,
each its own shipment with its share of the quantity (`scanner.containers`). A serial already
shipped is refused.
Shipping more than the order line asks waits for CMD:OK; after each line the screen shows
how much of its order line has been shipped.
"""

from __future__ import annotations

from scanner.closing import close_order_lines
from scanner.containers import container_shares
from scanner.describing import describe
from scanner.errors import NotFound
from scanner.models import Part, SalesOrder, Tracking
from scanner.orders import sales_line_progress, sales_order_line
from scanner.picking import ship_list
from scanner.quantity import format_quantity
from scanner.row_by_key import find
from scanner.scan import Scan, ScanKind
from scanner.workflows.base import Context, Refusal, Response, location_of
from scanner.workflows.confirmation import Confirmations
from scanner.workflows.issue import pick_list_lines
from scanner.workflows.lines import Line, TakingWorkflow, check_on_hand, line_text, start_line


class Ship(TakingWorkflow):
    name = "SHIP"
    closes = True

    def __init__(self) -> None:
        super().__init__()
        self.so: str | None = None
        self.source: str | None = None
        self.order_line: int | None = None
        self.confirmations = Confirmations("ship")

    def prompt(self) -> str:
        if self.so is None:
            return "Scan the sales order (SO:...)"
        if self.line is None:
            return f"Scan item for {self.so}"
        if self.confirmations.waiting:
            return self.confirmations.prompt()
        return self.line.prompt(self.places)

    def cancel(self) -> str:
        self.confirmations.clear()
        return super().cancel()

    def take(self, scan: Scan, context: Context) -> Response:
        closing = scan.kind == ScanKind.COMMAND and scan.value == "CLOSE"
        if closing and self.line is not None:
            raise Refusal("Finish this line or CMD:CANCEL it, then CMD:CLOSE")
        if closing:
            return self._close(context)
        if self.line is None:
            if scan.kind == ScanKind.SO:
                order = find(context.session, SalesOrder, scan.value)
                if order is None:
                    raise NotFound(f"Unknown sales order {scan.value}")
                self.so = order.number
                to_ship = pick_list_lines(
                    ship_list(context.session, order.number),
                    context.today,
                    done="Every open line is shipped",
                )
                return self.respond(
                    context, f"Shipping {order.number} to {order.customer}", details=to_ship
                )
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
        if self.confirmations.waiting:
            self.confirmations.take(scan)
            return self.next_step(context)
        return self.answer(scan, context)

    def next_step(self, context: Context) -> Response:
        line = self.line
        assert line is not None
        asking = self.gather(context)
        if asking is not None:
            return asking
        if self.confirmations.due:
            check_on_hand(context, line)  # no warning to confirm for stock that is not there
            self.confirmations.found(self._warnings(line, context))
        if self.confirmations.waiting:
            return self.confirmations.warning(self, context)
        return self._record(line, context)

    def _warnings(self, line: Line, context: Context) -> list[str]:
        """What the operator confirms before the line is recorded, the line as a whole."""
        assert self.so is not None and self.order_line is not None and line.qty is not None
        beyond = sales_line_progress(context.session, self.so, self.order_line).beyond(line.qty)
        return [beyond] if beyond is not None else []

    def _record(self, line: Line, context: Context) -> Response:
        assert self.so is not None and self.order_line is not None and line.qty is not None
        first = len(context.recorded)
        lots: list[str | None] = [*line.lots] or [line.lot]
        shares = container_shares(line.qty, len(lots), line.uom) if line.lots else [line.qty]
        for lot, share in zip(lots, shares, strict=True):
            movement = context.ledger.ship(
                self.so, line.part, share, line=self.order_line, from_location=line.source,
                lot=lot, serial=line.serial, operator=context.operator,
            )  # fmt: skip
            shipped = describe(line.part, lot, line.serial)
            context.note(movement, f"Shipped {format_quantity(share)} {line.uom} of {shipped}")
        self.confirmations.clear()
        self.line_done(context, first)
        message = f"Shipped {line_text(line)} on {self.so}"
        if line.lots:
            message += f": {len(line.lots)} lots"
        progress = sales_line_progress(context.session, self.so, self.order_line)
        return self.respond(context, message, details=progress.details())

    def _close(self, context: Context) -> Response:
        """CMD:CLOSE: the sales-order line the last shipment went on, filled or short."""
        if self.so is None or self.order_line is None:
            raise Refusal("Ship a line first: CMD:CLOSE closes the order line it went on")
        close_order_lines(
            context.session, self.so, self.order_line, sales=True,
            operator=context.operator, clock=context.clock,
        )  # fmt: skip
        progress = sales_line_progress(context.session, self.so, self.order_line)
        return self.respond(
            context, f"{self.so} line {self.order_line} closed", details=(progress.summary,)
        )
