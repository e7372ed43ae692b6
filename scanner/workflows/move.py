"""MOVE: stock changes place (DESIGN §4). The item first, then the destination `LOC:`; the
source is asked for only when the item sits in more than one place."""

from __future__ import annotations

from scanner.scan import Scan, ScanKind
from scanner.workflows.base import Context, Level, Refusal, Response, location_of
from scanner.workflows.lines import (
    Line,
    TakingWorkflow,
    check_on_hand,
    line_text,
    start_line,
)


class Move(TakingWorkflow):
    name = "MOVE"

    def prompt(self) -> str:
        if self.line is None:
            return "Scan the item to move"
        if self.line.missing() is None:
            return f"Move {line_text(self.line)} to? (LOC:)"
        return self.line.prompt(self.places)

    def handle(self, scan: Scan, context: Context) -> Response:
        if self.line is None:
            self.line = start_line(scan, context, None)
            return self.next_step(context)
        if self.line.missing() is None:
            if scan.kind != ScanKind.LOCATION:
                raise Refusal("Scan the destination (LOC:...)")
            return self._record(
                self.line, location_of(context.session, scan.value or "").code, context
            )
        return self.answer(scan, context)

    def next_step(self, context: Context) -> Response:
        line = self.line
        assert line is not None
        asking = self.gather(context)
        if asking is not None:
            return asking
        check_on_hand(context, line)
        return self.respond(context, f"{line_text(line)} from {line.source}", Level.INFO)

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
