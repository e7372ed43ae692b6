"""ASSIGN: a lot number for a job's assembly before the job completes, so its label can be
printed and travel with the work in process (docs/architecture.md, "Workflows")."""

from __future__ import annotations

from scanner.closing import open_job
from scanner.errors import RuleViolation
from scanner.models import Part, Tracking
from scanner.row_by_key import find
from scanner.scan import Scan, ScanKind
from scanner.spelling import lot_spelling
from scanner.workflows.base import (
    Context,
    LabelDue,
    Level,
    NumberEntry,
    Refusal,
    Response,
    Workflow,
)


class Assign(Workflow):
    name = "ASSIGN"

    def __init__(self) -> None:
        super().__init__()
        self.job: str | None = None
        self.numbers: NumberEntry | None = None

    @property
    def in_progress(self) -> bool:
        return self.numbers is not None and bool(self.numbers.numbers or self.numbers.generating)

    def prompt(self) -> str:
        if self.job is None or self.numbers is None:
            return "Scan the job (JOB:...)"
        return self.numbers.prompt()

    def cancel(self) -> str:
        if self.numbers is not None:
            self.numbers = NumberEntry(self.numbers.part, "lot", count=1)
        return "Cancelled: scan the lot again"

    def handle(self, scan: Scan, context: Context) -> Response:
        if scan.kind == ScanKind.JOB:
            job = open_job(context.session, scan.value or "")  # a closed one is refused now
            part = find(context.session, Part, job.part)
            assert part is not None
            if part.tracking != Tracking.LOT:
                raise RuleViolation(
                    f"{part.number} is not lot-tracked: job {job.number} makes no lots"
                )
            self.job, self.numbers = job.number, NumberEntry(part.number, "lot", count=1)
            return self.respond(context, f"Job {job.number}: {part.number}")
        if self.job is None or self.numbers is None:
            raise Refusal("Scan the job first (JOB:...)")
        problem = self.numbers.take(scan, context)
        if problem:
            return self.respond(context, problem, Level.ERROR)
        if not self.numbers.done:
            asking = self.numbers.range_step() or "which lot?"
            return self.respond(context, f"{self.job}: {asking}", Level.INFO)
        number = lot_spelling(context.session, self.numbers.part, self.numbers.numbers[0])
        lot = context.ledger.assign_lot(self.job, number)
        context.labels.append(
            LabelDue("assembly", lot.part, lot=lot.number, expiry=lot.expiry, job=self.job)
        )
        self.numbers = NumberEntry(lot.part, "lot", count=1)
        return self.respond(context, f"Lot {lot.number} assigned to {self.job}")
