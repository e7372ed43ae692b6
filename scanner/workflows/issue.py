"""ISSUE: components leave stock for a job (docs/architecture.md, "Workflows").

`JOB:` shows the job's pick list: what is still needed, with lots in expiry order, their
locations and expiry dates. Items scanned are issued to the job from where they are (`LOC:`
chooses when a lot sits in several places). Before recording, the operator confirms each
warning with CMD:OK: an expired lot, a lot that is not the first to expire, a part not on
the job, more than the job still needs.
"""

from __future__ import annotations

from datetime import date

from scanner.closing import open_job
from scanner.picking import PickLine, issue_warnings, pick_list
from scanner.quantity import format_quantity
from scanner.scan import Scan, ScanKind
from scanner.workflows.base import Context, Refusal, Response, location_of
from scanner.workflows.confirmation import Confirmations
from scanner.workflows.lines import (
    Line,
    TakingWorkflow,
    check_on_hand,
    line_text,
    start_line,
)


def pick_list_lines(
    lines: list[PickLine], today: date, *, done: str = "Nothing left to pick"
) -> tuple[str, ...]:
    """The pick list as short lines for a 40-column screen (a job's components, or a sales
    order's lines: `ship_list`), each with the first three places to take it from;
    expired lots are marked. `done` when nothing is left."""
    shown: list[str] = []
    for line in lines:
        if line.remaining <= 0:
            continue
        still = format_quantity(line.remaining)
        if line.line is None:
            shown.append(f"{line.part}: need {still}")
        else:
            shown.append(f"line {line.line} {line.part}: ship {still}")
        for stock in line.suggestions[:3]:
            what = stock.lot or stock.serial or "-"
            expiry = f" exp {stock.expiry}" if stock.expiry else ""
            if stock.expired(today):
                expiry = f" EXPIRED {stock.expiry}"
            shown.append(f"  {what} @{stock.location} {format_quantity(stock.qty)}{expiry}")
        if not line.suggestions:
            shown.append("  none in stock")
    return tuple(shown) or (done,)


class Issue(TakingWorkflow):
    name = "ISSUE"

    def __init__(self) -> None:
        super().__init__()
        self.job: str | None = None
        self.source: str | None = None
        self.confirmations = Confirmations("issue")

    def prompt(self) -> str:
        if self.job is None:
            return "Scan the job (JOB:...)"
        if self.line is None:
            return f"Scan item for {self.job}"
        if self.confirmations.waiting:
            return self.confirmations.prompt()
        return self.line.prompt(self.places)

    def cancel(self) -> str:
        self.confirmations.clear()
        return super().cancel()

    def take(self, scan: Scan, context: Context) -> Response:
        if self.line is None:
            if scan.kind == ScanKind.JOB:
                return self._choose_job(scan.value or "", context)
            if scan.kind == ScanKind.LOCATION:
                self.source = location_of(context.session, scan.value or "").code
                return self.respond(context, f"Taking from {self.source}")
            if self.job is None:
                raise Refusal("Scan the job first (JOB:...)")
            self.line = start_line(scan, context, self.source)
            return self.next_step(context)
        if self.confirmations.waiting:
            self.confirmations.take(scan)
            return self.next_step(context)
        return self.answer(scan, context)

    def _choose_job(self, number: str, context: Context) -> Response:
        job = open_job(context.session, number)
        self.job = job.number
        details = pick_list_lines(pick_list(context.session, job.number), context.today)
        return self.respond(context, f"Job {job.number}: {job.part}", details=details)

    def next_step(self, context: Context) -> Response:
        line = self.line
        assert line is not None and self.job is not None
        asking = self.gather(context)
        if asking is not None:
            return asking
        if line.missing() is None and self.confirmations.due:
            assert line.qty is not None
            check_on_hand(context, line)  # no warning to confirm for stock that is not there
            found = issue_warnings(
                context.session, self.job, line.part, line.qty, context.today, lot=line.lot
            )
            self.confirmations.found(warning.message for warning in found)
        if self.confirmations.waiting:
            return self.confirmations.warning(self, context)
        return self._record(line, context)

    def _record(self, line: Line, context: Context) -> Response:
        assert self.job is not None and line.qty is not None
        first = len(context.recorded)
        movement = context.ledger.issue_to_job(
            self.job, line.part, line.qty, from_location=line.source, lot=line.lot,
            serial=line.serial, operator=context.operator,
        )  # fmt: skip
        context.note(movement, f"Issued {line_text(line)}")
        self.confirmations.clear()
        self.line_done(context, first)
        return self.respond(context, f"Issued {line_text(line)} to {self.job}")
