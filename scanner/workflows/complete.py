"""COMPLETE: a job's assembly goes into stock (DESIGN §4).

`JOB:` then the assembly item; its lot defaults to the one assigned to the job beforehand,
its quantity comes from (30) or is asked for, and a serial-tracked assembly asks for its
serials (or CMD:GEN). `LOC:` chooses where it goes, by default the production location.
Recording links the genealogy: what the job consumed becomes the parent of what it made.
"""

from __future__ import annotations

from sqlalchemy import select

from scanner.errors import RuleViolation
from scanner.models import Job, Lot, Part, Tracking
from scanner.quantity import format_quantity
from scanner.rows import find
from scanner.scan import Scan, ScanKind
from scanner.spelling import lot_spelling, serial_spelling
from scanner.workflows.base import (
    Context,
    LabelDue,
    Level,
    Refusal,
    Response,
    Workflow,
    first_location_of_kind,
    location_of,
    open_job,
    part_of,
)
from scanner.workflows.incoming import Incoming


class Complete(Workflow):
    name = "COMPLETE"

    def __init__(self) -> None:
        super().__init__()
        self.job: str | None = None
        self.location: str | None = None
        self.output: Incoming | None = None

    @property
    def in_progress(self) -> bool:
        return self.output is not None

    def prompt(self) -> str:
        if self.job is None:
            return "Scan the job (JOB:...)"
        output = self.output
        if output is None:
            return f"Scan {self.job}'s assembly to {self.location or 'LOC:?'}"
        return output.prompt()

    def cancel(self) -> str:
        self.output = None
        return "Line cancelled"

    def start(self, context: Context) -> Response:
        self.location = first_location_of_kind(context.session, "production")
        return super().start(context)

    def handle(self, scan: Scan, context: Context) -> Response:
        output = self.output
        if output is None:
            if scan.kind == ScanKind.JOB:
                return self._choose_job(scan.value or "", context)
            if scan.kind == ScanKind.LOCATION:
                self.location = location_of(context.session, scan.value or "").code
                return self.respond(context, f"Completing to {self.location}")
            if self.job is None:
                raise Refusal("Scan the job first (JOB:...)")
            return self._assembly(scan, context)
        problem = output.answer(scan, context)
        if problem:
            return self.respond(context, problem, Level.ERROR)
        return self._next(context)

    def _choose_job(self, number: str, context: Context) -> Response:
        job = open_job(context.session, number)
        self.job = job.number
        return self.respond(context, f"Job {job.number}: {job.part}")

    def _assembly(self, scan: Scan, context: Context) -> Response:
        if scan.kind != ScanKind.ITEM or scan.item is None:
            raise Refusal(f"Scan {self.job}'s assembly label")
        if self.location is None:
            raise Refusal("Scan where it goes first (LOC:...)")
        job = find(context.session, Job, self.job)
        part = part_of(context.session, scan.item)
        assert job is not None
        if part.number != job.part:
            raise RuleViolation(f"Job {job.number} makes {job.part}, not {part.number}")
        output = Incoming(part.number, part.tracking, part.uom, one_lot=True)
        output.read_item(part, scan.item)
        assigned = self._assigned_lot(context) if part.tracking == Tracking.LOT else None
        if not output.lots and assigned:
            output.lots = [assigned]
        self.output = output
        return self._next(context)

    def _assigned_lot(self, context: Context) -> str | None:
        lots = context.session.scalars(select(Lot.number).where(Lot.assigned_job == self.job)).all()
        return lots[0] if len(lots) == 1 else None

    def _next(self, context: Context) -> Response:
        output = self.output
        assert output is not None
        asking = output.still_needs()
        if asking is not None:
            return self.respond(context, asking, Level.INFO)
        return self._record(output, context)

    def _record(self, output: Incoming, context: Context) -> Response:
        assert self.job is not None and self.location is not None and output.qty is not None
        first = len(context.recorded)
        ledger = context.ledger
        part = find(context.session, Part, output.part)
        assert part is not None
        if output.tracking == Tracking.SERIAL:
            for typed in output.serials:
                serial = serial_spelling(context.session, part.number, typed)
                movement = ledger.produce(
                    self.job, 1, self.location, serial=serial, operator=context.operator
                )
                context.note(movement, f"Completed {part.number} serial {serial}")
                context.labels.append(LabelDue("serial", part.number, serial=serial))
        else:
            lot_number = (
                lot_spelling(context.session, part.number, output.lots[0]) if output.lots else None
            )
            movement = ledger.produce(
                self.job, output.qty, self.location, lot=lot_number, operator=context.operator
            )
            amount = f"{format_quantity(output.qty)} {part.uom}"
            context.note(
                movement, f"Completed {amount}" + (f" lot {lot_number}" if lot_number else "")
            )
            if lot_number:
                lot = find(context.session, Lot, (part.number, lot_number))
                context.labels.append(
                    LabelDue("lot", part.number, lot=lot_number,
                             expiry=lot.expiry if lot else None, qty=output.qty)
                )  # fmt: skip
        self.output = None
        self.line_recorded(context, first)
        return self.respond(context, f"Completed {part.number} into {self.location}")
