"""ISSUE: components leave stock for a job (DESIGN §4).

`JOB:` shows the job's pick list: what is still needed, with lots in expiry order, their
locations and expiry dates. Items scanned are issued to the job from where they are (`LOC:`
chooses when a lot sits in several places). Before recording, the operator confirms each
warning with CMD:OK: an expired lot, a lot that is not the first to expire, a part not on
the job, more than the job still needs.
"""

from __future__ import annotations

from datetime import date

from scanner.errors import NotFound, RuleViolation
from scanner.models import Job, JobStatus
from scanner.picking import PickLine, issue_warnings, pick_list
from scanner.quantity import format_quantity
from scanner.scan import Scan, ScanKind
from scanner.workflows.base import Context, Level, Refusal, Response, Workflow, location_of
from scanner.workflows.lines import Line, check_on_hand, line_text, settle_source, start_line


def pick_list_lines(lines: list[PickLine], today: date) -> tuple[str, ...]:
    """The pick list as short lines for a 40-column screen; expired lots are marked."""
    shown: list[str] = []
    for line in lines:
        if line.remaining <= 0:
            continue
        shown.append(f"{line.part}: need {format_quantity(line.remaining)}")
        for stock in line.suggestions[:3]:
            what = stock.lot or stock.serial or "-"
            expiry = f" exp {stock.expiry}" if stock.expiry else ""
            if stock.expired(today):
                expiry = f" EXPIRED {stock.expiry}"
            shown.append(f"  {what} @{stock.location} {format_quantity(stock.qty)}{expiry}")
    return tuple(shown) or ("Nothing left to pick",)


class Issue(Workflow):
    name = "ISSUE"

    def __init__(self) -> None:
        super().__init__()
        self.job: str | None = None
        self.source: str | None = None
        self.line: Line | None = None
        self.places: list[str] = []
        self.warnings: list[str] = []

    @property
    def in_progress(self) -> bool:
        return self.line is not None

    def prompt(self) -> str:
        if self.job is None:
            return "Scan the job (JOB:...)"
        if self.line is None:
            return f"Scan item for {self.job}"
        if self.warnings:
            return "CMD:OK to issue, CMD:CANCEL not"
        return self.line.prompt(self.places)

    def cancel(self) -> str:
        self.line, self.warnings, self.places = None, [], []
        return "Line cancelled"

    def handle(self, scan: Scan, context: Context) -> Response:
        if self.line is None:
            if scan.kind == ScanKind.JOB:
                return self._choose_job(scan.value or "", context)
            if scan.kind == ScanKind.LOCATION:
                self.source = location_of(context.session, scan.value or "").code
                return self.respond(context, f"Taking from {self.source}")
            if self.job is None:
                raise Refusal("Scan the job first (JOB:...)")
            self.line = start_line(scan, context, self.source)
            return self._next(context)
        if self.warnings:
            if scan.kind == ScanKind.COMMAND and scan.value == "OK":
                self.warnings.pop(0)
                return self._next(context)
            raise Refusal(f"{self.warnings[0]}: scan CMD:OK to go on or CMD:CANCEL")
        problem = self.line.answer(scan, context)
        if problem:
            return self.respond(context, problem, Level.ERROR)
        return self._next(context)

    def _choose_job(self, number: str, context: Context) -> Response:
        job = context.session.get(Job, number)
        if job is None:
            raise NotFound(f"Unknown job {number}")
        if job.status != JobStatus.OPEN:
            raise RuleViolation(f"Job {number} is {job.status}")
        self.job = job.number
        details = pick_list_lines(pick_list(context.session, job.number), context.today)
        return self.respond(context, f"Job {job.number}: {job.part}", details=details)

    def _next(self, context: Context) -> Response:
        line = self.line
        assert line is not None and self.job is not None
        if line.missing() not in ("source", None):
            return self.respond(context, line.what, Level.INFO)
        self.places = settle_source(context, line)
        if self.places:
            return self.respond(context, f"{line.what} is in several places", Level.INFO)
        if line.missing() is None and not self.warnings and not line.checked:
            assert line.qty is not None
            check_on_hand(context, line)  # no warning to confirm for stock that is not there
            found = issue_warnings(
                context.session, self.job, line.part, line.qty, context.today, lot=line.lot
            )
            line.checked = True
            self.warnings = [warning.message for warning in found]
        if self.warnings:
            return self.respond(
                context, self.warnings[0], Level.WARNING, awaiting_confirmation=True
            )
        return self._record(line, context)

    def _record(self, line: Line, context: Context) -> Response:
        assert self.job is not None and line.qty is not None
        first = len(context.recorded)
        movement = context.ledger.issue_to_job(
            self.job, line.part, line.qty, from_location=line.source, lot=line.lot,
            serial=line.serial, operator=context.operator,
        )  # fmt: skip
        context.note(movement, f"Issued {line_text(line)}")
        self.line, self.places = None, []
        self.line_recorded(context, first)
        return self.respond(context, f"Issued {line_text(line)} to {self.job}")
