"""COMPLETE: a job's assembly goes into stock (docs/architecture.md, "Workflows").

`JOB:` then the assembly item; its lot defaults to the one assigned to the job beforehand,
its quantity comes from (30) or is asked for, its expiry from (17), and a serial-tracked
assembly asks for its serials (or CMD:GEN). `LOC:` chooses where it goes, by default the
job's own location, else the site's production location. Before recording, the operator
confirms (CMD:OK) a completion beyond the job's quantity, or of a job none of whose tracked
components was issued. Recording links the genealogy and backflushes the job's untracked
components (`scanner.completion`), all in the scan's one transaction.

CMD:CLOSE closes the job (offered once its quantity is completed; the offer stops nothing);
short of its quantity, it asks first, and CMD:CLOSE again (or CMD:OK) closes it. A supervisor
who scans a closed job can CMD:REOPEN it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from scanner.closing import close_job, open_job, reopen_job
from scanner.completion import (
    Completion,
    backflush_words,
    completion_warnings,
    progress,
    shortfall_words,
)
from scanner.completion import complete as record_completion
from scanner.errors import RuleViolation
from scanner.locations import first_location_of_kind
from scanner.models import Job, JobStatus, Lot, Operator, Part, Role, Tracking
from scanner.quantity import format_quantity
from scanner.row_by_key import find
from scanner.scan import Scan, ScanKind
from scanner.spelling import lot_spelling, serial_spelling
from scanner.workflows.base import (
    Context,
    LabelDue,
    Level,
    Refusal,
    Response,
    Workflow,
    location_of,
    part_of,
)
from scanner.workflows.confirmation import Confirmations
from scanner.workflows.incoming import Incoming


class Complete(Workflow):
    name = "COMPLETE"
    closes = True

    def __init__(self) -> None:
        super().__init__()
        self.job: str | None = None
        self.closed_job: str | None = None  # a closed job a supervisor may reopen
        self.location: str | None = None
        self.location_scanned = False  # else the job's own location, when it has one
        self.output: Incoming | None = None
        self.expiry: date | None = None
        self.confirmations = Confirmations("complete")
        self.closing_short: str | None = None
        """The job a CMD:CLOSE short of its quantity asked about: the next CMD:CLOSE (or
        CMD:OK) closes it, any other scan asks again."""

    @property
    def in_progress(self) -> bool:
        return self.output is not None

    def prompt(self) -> str:
        if self.job is None:
            if self.closed_job is not None:
                return "CMD:REOPEN, or scan a job (JOB:...)"
            return "Scan the job (JOB:...)"
        if self.closing_short == self.job:
            return "CMD:CLOSE to close it short"
        output = self.output
        if output is None:
            return f"Scan {self.job}'s assembly to {self.location or 'LOC:?'}"
        if self.confirmations.waiting:
            return self.confirmations.prompt()
        return output.prompt()

    def cancel(self) -> str:
        if self.output is None:
            return "Nothing to cancel"
        self.output, self.expiry = None, None
        self.confirmations.clear()
        return "Line cancelled"

    def start(self, context: Context) -> Response:
        self.location = first_location_of_kind(context.session, "production")
        return super().start(context)

    def handle(self, scan: Scan, context: Context) -> Response:
        command = scan.value if scan.kind == ScanKind.COMMAND else None
        output = self.output
        asked, self.closing_short = self.closing_short, None
        if output is None:
            if scan.kind == ScanKind.JOB:
                return self._choose_job(scan.value or "", context)
            if command == "REOPEN":
                return self._reopen(context)
            if command == "CLOSE" or (command == "OK" and asked is not None):
                return self._close(context, confirmed=asked)
            if scan.kind == ScanKind.LOCATION:
                self.location = location_of(context.session, scan.value or "").code
                self.location_scanned = True
                return self.respond(context, f"Completing to {self.location}")
            if self.job is None:
                raise Refusal("Scan the job first (JOB:...)")
            return self._assembly(scan, context)
        if self.confirmations.waiting:
            self.confirmations.take(scan)
            return self._next(context)
        if command in ("CLOSE", "REOPEN"):
            raise Refusal(f"Finish this line or CMD:CANCEL it, then CMD:{command}")
        problem = output.answer(scan, context)
        if problem:
            return self.respond(context, problem, Level.ERROR)
        return self._next(context)

    # ---- the job --------------------------------------------------------------------------

    def _choose_job(self, number: str, context: Context) -> Response:
        job = find(context.session, Job, number)
        if job is not None and job.status != JobStatus.OPEN and self._supervisor(context):
            self.job, self.closed_job = None, job.number
            return self.respond(
                context,
                f"Job {job.number} is closed: CMD:REOPEN reopens it",
                Level.WARNING,
            )
        job = open_job(context.session, number)
        self.job, self.closed_job = job.number, None
        if job.location is not None and not self.location_scanned:
            self.location = job.location
        done = progress(context.session, job)
        return self.respond(context, f"Job {job.number}: {job.part}", details=(done.words(),))

    def _close(self, context: Context, *, confirmed: str | None = None) -> Response:
        """Closes the job; one short of its quantity only once CMD:CLOSE (or CMD:OK) comes
        again, as a floor operator cannot reopen it: a CMD:CLOSE scanned by mistake at 3 of
        20 closed the job at once."""
        if self.job is None:
            raise Refusal("Scan the job to close first (JOB:...)")
        job = find(context.session, Job, self.job)
        assert job is not None
        done = progress(context.session, job)
        if not done.done and confirmed != job.number:
            self.closing_short = job.number
            return self.respond(
                context,
                f"{done.words()}: CMD:CLOSE again closes it short; only a supervisor reopens it",
                Level.WARNING,
                details=(done.words(),),
            )
        close_job(context.session, job.number, operator=context.operator, clock=context.clock)
        self.job = None
        return self.respond(context, f"Job {job.number} closed", details=(done.words(),))

    def _reopen(self, context: Context) -> Response:
        if self.closed_job is None:
            raise Refusal("Scan the closed job to reopen first (JOB:...)")
        change = reopen_job(
            context.session, self.closed_job, operator=context.operator, clock=context.clock
        )
        self.job, self.closed_job = change.key, None
        return self.respond(context, f"Job {change.key} reopened")

    def _supervisor(self, context: Context) -> bool:
        operator = find(context.session, Operator, context.operator)
        return operator is not None and operator.role == Role.SUPERVISOR

    # ---- the line -------------------------------------------------------------------------

    def _assembly(self, scan: Scan, context: Context) -> Response:
        if scan.kind != ScanKind.ITEM or scan.item is None:
            raise Refusal(f"Scan {self.job}'s assembly label")
        if self.location is None:
            raise Refusal("Scan where it goes first (LOC:...)")
        job = open_job(context.session, self.job or "")
        part = part_of(context.session, scan.item)
        if part.number != job.part:
            raise RuleViolation(f"Job {job.number} makes {job.part}, not {part.number}")
        output = Incoming(part.number, part.tracking, part.uom, one_lot=True)
        output.read_item(part, scan.item)
        assigned = self._assigned_lot(context) if part.tracking == Tracking.LOT else None
        if not output.lots and assigned:
            output.lots = [assigned]
        self.output, self.expiry = output, scan.item.expiry
        self.confirmations.clear()
        return self._next(context)

    def _assigned_lot(self, context: Context) -> str | None:
        lots = context.session.scalars(select(Lot.number).where(Lot.assigned_job == self.job)).all()
        return lots[0] if len(lots) == 1 else None

    def _next(self, context: Context) -> Response:
        output = self.output
        assert output is not None and self.job is not None
        asking = output.still_needs()
        if asking is not None:
            return self.respond(context, asking, Level.INFO)
        if self.confirmations.due:
            assert output.qty is not None
            job = open_job(context.session, self.job)
            self.confirmations.found(completion_warnings(context.session, job, output.qty))
        if self.confirmations.waiting:
            return self.confirmations.warning(self, context)
        return self._record(output, context)

    def _record(self, output: Incoming, context: Context) -> Response:
        assert self.job is not None and self.location is not None and output.qty is not None
        first = len(context.recorded)
        part = find(context.session, Part, output.part)
        assert part is not None
        serial = output.tracking == Tracking.SERIAL
        # As each was first written: `b-77` scanned names the existing `B-77`.
        lot_number = (
            lot_spelling(context.session, part.number, output.lots[0])
            if output.lots and not serial
            else None
        )
        serials = [serial_spelling(context.session, part.number, typed) for typed in output.serials]
        done = record_completion(
            context.ledger,
            self.job,
            output.qty,
            self.location,
            lot=lot_number,
            serials=serials if serial else (),
            expiry=self.expiry,
            operator=context.operator,
        )
        self._note(done, part, output, context)
        self.output, self.expiry = None, None
        self.confirmations.clear()
        self.line_recorded(context, first)
        return self._after(done, part, output, context)

    def _note(self, done: Completion, part: Part, output: Incoming, context: Context) -> None:
        """What the completion recorded, for the screen, and the labels it makes due."""
        assert output.qty is not None
        for movement in done.made:
            if movement.serial is not None:
                context.note(movement, f"Completed {part.number} serial {movement.serial}")
                context.labels.append(LabelDue("serial", part.number, serial=movement.serial))
                continue
            amount = f"{format_quantity(movement.qty)} {part.uom}"
            lot = movement.lot
            context.note(movement, f"Completed {amount}" + (f" lot {lot}" if lot else ""))
            if lot:
                record = find(context.session, Lot, (part.number, lot))
                context.labels.append(
                    LabelDue("lot", part.number, lot=lot,
                             expiry=record.expiry if record else None, qty=movement.qty)
                )  # fmt: skip
        for movement, draw in done.backflushed:
            context.note(movement, backflush_words(draw))

    def _after(self, done: Completion, part: Part, output: Incoming, context: Context) -> Response:
        """The feedback after a completion: amber when a backflush part fell short, with
        the job's progress, and the offer to close it once its quantity is made."""
        assert output.qty is not None and self.job is not None
        job = find(context.session, Job, self.job)
        assert job is not None
        made = progress(context.session, job)
        message = (
            f"Completed {format_quantity(output.qty)} {part.uom} {part.number} into {self.location}"
        )
        details = [made.words()]
        if made.done:
            details.append(f"{job.number} is complete: CMD:CLOSE closes it")
        short = shortfall_words(done)
        if short:
            return self.respond(
                context, f"{message}; {short}", Level.WARNING, details=tuple(details)
            )
        return self.respond(context, message, Level.OK, details=tuple(details))
