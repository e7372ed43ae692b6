"""MOVE: stock changes place (DESIGN §4). The item first, then the destination `LOC:`; the
source is asked for only when the item sits in more than one place."""

from __future__ import annotations

from scanner.scan import Scan, ScanKind
from scanner.workflows.base import Context, Level, Refusal, Response, Workflow, location_of
from scanner.workflows.lines import Line, check_on_hand, line_text, settle_source, start_line


class Move(Workflow):
    name = "MOVE"

    def __init__(self) -> None:
        super().__init__()
        self.line: Line | None = None
        self.places: list[str] = []

    @property
    def in_progress(self) -> bool:
        return self.line is not None

    def prompt(self) -> str:
        if self.line is None:
            return "Scan the item to move"
        if self.line.missing() is None:
            return f"Move {line_text(self.line)} to? (LOC:)"
        return self.line.prompt(self.places)

    def cancel(self) -> str:
        self.line, self.places = None, []
        return "Line cancelled"

    def handle(self, scan: Scan, context: Context) -> Response:
        if self.line is None:
            self.line = start_line(scan, context, None)
            return self._next(context)
        if self.line.missing() is None:
            if scan.kind != ScanKind.LOCATION:
                raise Refusal("Scan the destination (LOC:...)")
            return self._record(
                self.line, location_of(context.session, scan.value or "").code, context
            )
        problem = self.line.answer(scan, context)
        if problem:
            return self.respond(context, problem, Level.ERROR)
        return self._next(context)

    def _next(self, context: Context) -> Response:
        line = self.line
        assert line is not None
        if line.missing() not in ("source", None):
            return self.respond(context, line.what, Level.INFO)
        self.places = settle_source(context, line)
        if self.places:
            return self.respond(context, f"{line.what} is in several places", Level.INFO)
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
        self.line, self.places = None, []
        self.line_recorded(context, first)
        return self.respond(
            context, f"Moved {line_text(line)} {movement.from_location}>{destination}"
        )
