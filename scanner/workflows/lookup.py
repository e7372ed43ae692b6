"""LOOKUP: any scan shows what it is (docs/architecture.md, "Workflows"): a lot (part,
its status as people read it with who decided it, when and why, expiry, stock by location,
jobs that used it, a trace summary with what came back of it), a serial (its status and its
lot's, its shipments and returns), a part, a location (its contents), a job
(what it has completed, its pick list and the lots it used), a purchase or sales order (each
line: what it asks for, what was received or shipped)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from scanner.errors import NotFound
from scanner.models import Job, JobLot, Lot, Part, Tracking
from scanner.picking import pick_list
from scanner.quality import Item, Standing
from scanner.quantity import format_quantity
from scanner.row_by_key import find
from scanner.scan import Scan, ScanKind
from scanner.spelling import known_lot, known_serial
from scanner.stock import StockRow, on_hand
from scanner.summaries import job_standing, order_standing
from scanner.trace import GoodsReturn, trace
from scanner.trace_queries import FROM_CUSTOMER, TO_SUPPLIER
from scanner.workflows.base import Context, Refusal, Response, Workflow, location_of, part_of
from scanner.workflows.hold import READ_AS, item_standing, status_lines
from scanner.workflows.issue import pick_list_lines


def _stock_lines(rows: list[StockRow], show_part: bool = False) -> list[str]:
    lines = []
    for row in rows:
        what = row.lot or row.serial or ""
        name = f"{row.part} {what}".strip() if show_part else (what or row.part)
        lines.append(f"  {name} @{row.location}: {format_quantity(row.qty)}")
    return lines or ["  none in stock"]


def _returned(
    returns: tuple[GoodsReturn, ...], part: str, lot: str | None, serial: str | None
) -> list[str]:
    """What came back of this lot or serial itself, from customers and to suppliers."""
    mine = [
        each
        for each in returns
        if each.part == part and (each.serial == serial if serial else each.lot == lot)
    ]
    if serial is not None:
        return [
            f"  back from {each.customer} on {each.so}"
            if each.direction == FROM_CUSTOMER
            else f"  back to {each.supplier} on {each.po}"
            for each in mine
        ]
    totals: dict[str, Decimal] = {}
    for each in mine:
        totals[each.direction] = totals.get(each.direction, Decimal(0)) + each.qty
    words = {FROM_CUSTOMER: "from customers", TO_SUPPLIER: "to suppliers"}
    back = [f"{format_quantity(qty)} {words[way]}" for way, qty in sorted(totals.items())]
    return [f"Returned {', '.join(back)}"] if back else []


def _unless_released(item: Item, context: Context) -> str:
    """ ": on hold" (recalled, expired) for the feedback line; nothing for released stock."""
    counts = item_standing(item, context.today)
    return "" if counts == Standing.RELEASED else f": {READ_AS[counts]}"


class Lookup(Workflow):
    name = "LOOKUP"

    def prompt(self) -> str:
        return "Scan anything to look it up"

    def cancel(self) -> str:
        return "Nothing to cancel"

    def handle(self, scan: Scan, context: Context) -> Response:
        session = context.session
        if scan.kind == ScanKind.LOCATION:
            code = location_of(session, scan.value or "").code
            details = ["Contents:", *_stock_lines(on_hand(session, location=code), True)]
            return self.respond(context, f"Location {code}", details=tuple(details))
        if scan.kind == ScanKind.JOB:
            return self._job(scan.value or "", context)
        if scan.kind in (ScanKind.PO, ScanKind.SO):
            return self._order(scan.value or "", scan.kind == ScanKind.SO, context)
        if scan.kind == ScanKind.ITEM and scan.item is not None:
            part = part_of(session, scan.item)
            if scan.item.serial and part.tracking == Tracking.SERIAL:
                return self._serial(part, scan.item.serial, context)
            if scan.item.lot and part.tracking == Tracking.LOT:
                return self._lot(part, scan.item.lot, context)
            details = ["Stock:", *_stock_lines(on_hand(session, part=part.number))]
            return self.respond(
                context, f"{part.number}: {part.description}", details=tuple(details)
            )
        raise Refusal("Scan a lot, serial, part, location, job or order label")

    def _lot(self, part: Part, number: str, context: Context) -> Response:
        lot = known_lot(context.session, part.number, number)
        if lot is None:
            raise NotFound(f"No lot {number} of {part.number}")
        number = lot.number
        found = trace(context.session, part.number, lot=number)
        item = Item(part, lot, None)
        details = [
            f"{part.description}",
            *status_lines(context.session, item, context.today),
            *([] if lot.expiry else ["No expiry"]),
            "Stock:",
            *_stock_lines(list(found.on_hand)),
        ]
        if found.jobs:
            details.append("Jobs:")
        details += [f"  {use.role} by {use.job}: {format_quantity(use.qty)}" for use in found.jobs]
        customers = sorted({shipment.customer for shipment in found.shipments})
        details.append(
            f"Made from {len(found.backward)}, into {len(found.forward)};"
            f" shipped to {len(customers)} customer{'s' if len(customers) != 1 else ''}"
        )
        details += _returned(found.returns, part.number, number, None)
        title = f"Lot {number} of {part.number}" + _unless_released(item, context)
        return self.respond(context, title, details=tuple(details))

    def _serial(self, part: Part, number: str, context: Context) -> Response:
        serial = known_serial(context.session, part.number, number)
        if serial is None:
            raise NotFound(f"No serial {number} of {part.number}")
        number = serial.number
        where = f" at {serial.location}" if serial.location else ""
        found = trace(context.session, part.number, serial=number)
        lot = find(context.session, Lot, (part.number, serial.lot)) if serial.lot else None
        item = Item(part, lot, serial)
        details = [
            part.description,
            f"{serial.status.replace('_', ' ')}{where}",
            *status_lines(context.session, item, context.today),
            f"Made from {len(found.backward)}, into {len(found.forward)}",
            *[f"  shipped on {each.so} to {each.customer}" for each in found.shipments],
            *_returned(found.returns, part.number, None, number),
        ]
        title = f"Serial {number} of {part.number}" + _unless_released(item, context)
        return self.respond(context, title, details=tuple(details))

    def _order(self, number: str, sales: bool, context: Context) -> Response:
        standing = order_standing(context.session, number, sales=sales)
        details = [standing.party, *(standing.line_words(line) for line in standing.lines)]
        title = "Sales order" if sales else "Purchase order"
        return self.respond(context, f"{title} {standing.number}", details=tuple(details))

    def _job(self, number: str, context: Context) -> Response:
        job = find(context.session, Job, number)
        if job is None:
            raise NotFound(f"Unknown job {number}")
        standing = job_standing(context.session, number)
        used = context.session.execute(
            select(JobLot.role, JobLot.part, JobLot.lot, JobLot.serial, JobLot.qty)
            .where(JobLot.job == number)
            .order_by(JobLot.role, JobLot.part, JobLot.lot, JobLot.serial)
        ).all()
        details = [standing.status_words(), standing.words(), "To pick:"]
        details += pick_list_lines(pick_list(context.session, number), context.today)
        details.append("Used and made:")
        details += [
            f"  {role} {part} {lot or serial or ''} {format_quantity(qty)}".rstrip()
            for role, part, lot, serial, qty in used
        ] or ["  nothing yet"]
        return self.respond(context, f"Job {number}", details=tuple(details))
