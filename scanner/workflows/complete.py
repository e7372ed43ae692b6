"""COMPLETE: a job's assembly goes into stock (DESIGN §4).

`JOB:` then the assembly item; its lot defaults to the one assigned to the job beforehand,
its quantity comes from (30) or is asked for, and a serial-tracked assembly asks for its
serials (or CMD:GEN). `LOC:` chooses where it goes, by default the production location.
Recording links the genealogy: what the job consumed becomes the parent of what it made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from scanner.errors import RuleViolation
from scanner.models import Job, Lot, Part, Tracking
from scanner.quantity import format_quantity
from scanner.scan import Scan, ScanKind
from scanner.workflows.base import (
    Context,
    LabelDue,
    Level,
    NumberEntry,
    Refusal,
    Response,
    Workflow,
    first_location_of_kind,
    label_count,
    location_of,
    open_job,
    part_of,
    quantity_answer,
    whole_count,
)


@dataclass
class Output:
    part: str
    tracking: str
    uom: str
    qty: Decimal | None = None
    lot: str | None = None
    serials: list[str] = field(default_factory=list)
    numbers: NumberEntry | None = None


class Complete(Workflow):
    name = "COMPLETE"

    def __init__(self) -> None:
        super().__init__()
        self.job: str | None = None
        self.location: str | None = None
        self.output: Output | None = None

    @property
    def in_progress(self) -> bool:
        return self.output is not None

    def prompt(self) -> str:
        if self.job is None:
            return "Scan the job (JOB:...)"
        output = self.output
        if output is None:
            return f"Scan {self.job}'s assembly to {self.location or 'LOC:?'}"
        if output.qty is None:
            return f"Quantity of {output.part} made ({output.uom})?"
        assert output.numbers is not None
        return output.numbers.prompt()

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
        if output.qty is None:
            output.qty = quantity_answer(scan)
            return self._next(context)
        assert output.numbers is not None
        problem = output.numbers.take(scan, context)
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
        job = context.session.get(Job, self.job)
        part = part_of(context.session, scan.item)
        assert job is not None
        if part.number != job.part:
            raise RuleViolation(f"Job {job.number} makes {job.part}, not {part.number}")
        output = Output(part.number, part.tracking, part.uom)
        item = scan.item
        output.qty = label_count(item)
        if part.tracking == Tracking.SERIAL and item.serial:
            if output.qty not in (None, 1):
                raise Refusal(f"{part.number} is serial-tracked: scan one serial at a time")
            output.qty, output.serials = Decimal(1), [item.serial]
        if part.tracking == Tracking.LOT:
            output.lot = item.lot or self._assigned_lot(context)
        self.output = output
        return self._next(context)

    def _assigned_lot(self, context: Context) -> str | None:
        lots = context.session.scalars(select(Lot.number).where(Lot.assigned_job == self.job)).all()
        return lots[0] if len(lots) == 1 else None

    def _next(self, context: Context) -> Response:
        output = self.output
        assert output is not None
        if output.qty is None:
            return self.respond(context, f"{output.part}: how many?", Level.INFO)
        if output.numbers is not None and output.numbers.done:
            if output.tracking == Tracking.SERIAL:
                output.serials = output.numbers.numbers
            else:
                output.lot = output.numbers.numbers[0]
            output.numbers = None
        if output.tracking == Tracking.LOT and output.lot is None:
            output.numbers = output.numbers or NumberEntry(output.part, "lot", count=1)
            return self.respond(context, f"{output.part}: which lot?", Level.INFO)
        if output.tracking == Tracking.SERIAL:
            wanted = whole_count(output.qty, output.part)
            if len(output.serials) < wanted:
                output.numbers = output.numbers or NumberEntry(output.part, "serial", count=wanted)
                return self.respond(context, f"{output.part}: serial numbers", Level.INFO)
        return self._record(output, context)

    def _record(self, output: Output, context: Context) -> Response:
        assert self.job is not None and self.location is not None and output.qty is not None
        first = len(context.recorded)
        ledger = context.ledger
        part = context.session.get(Part, output.part)
        assert part is not None
        if output.tracking == Tracking.SERIAL:
            for serial in output.serials:
                movement = ledger.produce(
                    self.job, 1, self.location, serial=serial, operator=context.operator
                )
                context.note(movement, f"Completed {part.number} serial {serial}")
                context.labels.append(LabelDue("serial", part.number, serial=serial))
        else:
            movement = ledger.produce(
                self.job, output.qty, self.location, lot=output.lot, operator=context.operator
            )
            amount = f"{format_quantity(output.qty)} {part.uom}"
            context.note(
                movement, f"Completed {amount}" + (f" lot {output.lot}" if output.lot else "")
            )
            if output.lot:
                lot = context.session.get(Lot, (part.number, output.lot))
                context.labels.append(
                    LabelDue("lot", part.number, lot=output.lot,
                             expiry=lot.expiry if lot else None, qty=output.qty)
                )  # fmt: skip
        self.output = None
        self.line_recorded(context, first)
        return self.respond(context, f"Completed {part.number} into {self.location}")
