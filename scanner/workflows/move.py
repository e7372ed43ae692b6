"""MOVE: stock changes place (docs/architecture.md, "Workflows"). The item first, then the
destination `LOC:`; the source is asked for only when the item sits in more than one place.
A lot whose label gives no count (30) and that sits in one place is offered whole: CMD:OK
takes all of it. Stock on hold or recalled moves only into quarantine."""

from __future__ import annotations

from decimal import Decimal

from scanner.balances import stock_key
from scanner.models import Balance, Part, Tracking
from scanner.quantity import format_quantity
from scanner.row_by_key import find
from scanner.scan import Scan, ScanKind
from scanner.workflows.base import Context, Level, Refusal, Response, location_of
from scanner.workflows.lines import (
    Line,
    TakingWorkflow,
    check_on_hand,
    held_status,
    line_text,
    places_holding,
    quarantines,
    start_line,
)


class Move(TakingWorkflow):
    name = "MOVE"
    held_may_move = True

    def __init__(self) -> None:
        super().__init__()
        self.whole: Decimal | None = None  # all of the lot, offered while its quantity is asked

    def prompt(self) -> str:
        if self.line is None:
            return "Scan the item to move"
        if self.line.missing() is None:
            return f"Move {line_text(self.line)} to? (LOC:)"
        asking = self.line.prompt(self.places)
        if self.whole is not None and self.line.missing() == "qty":
            return f"{asking} CMD:OK: all {format_quantity(self.whole)}"
        return asking

    def cancel(self) -> str:
        self.whole = None
        return super().cancel()

    def take(self, scan: Scan, context: Context) -> Response:
        if self.line is None:
            self.line = start_line(scan, context, None)
            return self.next_step(context)
        if self.line.missing() is None:
            if scan.kind != ScanKind.LOCATION:
                raise Refusal("Scan the destination (LOC:...)")
            return self._record(
                self.line, location_of(context.session, scan.value or "").code, context
            )
        if self.whole is not None and scan.kind == ScanKind.COMMAND and scan.value == "OK":
            self.line.qty = self.whole
        else:
            return self.answer(scan, context)
        return self.next_step(context)

    def next_step(self, context: Context) -> Response:
        line = self.line
        assert line is not None
        line.spell(context)
        self.whole = _whole_lot(context, line) if line.missing() == "qty" else None
        asking = self.gather(context)
        if asking is not None:
            return asking
        check_on_hand(context, line)
        message = f"{line_text(line)} from {line.source}"
        held = held_status(context, line)
        if held is not None:
            message += f": {held}, into quarantine only ({', '.join(quarantines(context))})"
        return self.respond(context, message, Level.INFO)

    def _record(self, line: Line, destination: str, context: Context) -> Response:
        assert line.qty is not None
        first = len(context.recorded)
        movement = context.ledger.move(
            line.part, line.qty, destination, from_location=line.source, lot=line.lot,
            serial=line.serial, operator=context.operator,
        )  # fmt: skip
        context.note(movement, f"Moved {line_text(line)} to {destination}")
        self.line_done(context, first)
        return self.respond(
            context, f"Moved {line_text(line)} {movement.from_location}>{destination}"
        )


def _whole_lot(context: Context, line: Line) -> Decimal | None:
    """All of the line's lot, when it sits in one place; None otherwise (an untracked part
    is never offered whole: its stock is not one container)."""
    if line.tracking != Tracking.LOT or line.lot is None:
        return None
    places = places_holding(context, line)
    if len(places) != 1:
        return None
    part = find(context.session, Part, line.part)
    assert part is not None
    lot, serial = stock_key(part, line.lot, None)
    balance = find(context.session, Balance, (line.part, lot, serial, places[0]))
    return balance.qty if balance is not None else None
