"""Where a job or an order stands, derived from the ledger each time it is asked (never a
counter that could drift): what each order line asks for and what was received or shipped
on it, what a job has completed and what it has consumed of each component, and who closed
or reopened it. LOOKUP shows these on the handheld, `lotscan jobs show` and `lotscan orders
show` on a terminal or as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.closing import Decided, history, order_lines
from scanner.completion import progress
from scanner.describing import describe
from scanner.errors import NotFound
from scanner.models import (
    Job,
    JobComponent,
    JobLot,
    JobLotRole,
    MovementKind,
    Part,
    PurchaseOrder,
    SalesOrder,
    SalesOrderLine,
)
from scanner.orders import net_on_line
from scanner.picking import issued_by_part
from scanner.plain_text import shown_lines
from scanner.quantity import format_quantity, json_quantity
from scanner.row_by_key import find


def _decided_json(decided: Decided) -> dict[str, Any]:
    return {
        "status": decided.status,
        "operator": decided.operator,
        "name": decided.name,
        "at": decided.happened_at.isoformat(),
        "reason": decided.reason,
        "refused": decided.refused,
    }


@dataclass(frozen=True)
class LineStanding:
    line: int
    part: str
    uom: str
    qty: Decimal
    done: Decimal  # received or shipped, net of reversals
    status: str
    lot_control: bool
    history: tuple[Decided, ...]


@dataclass(frozen=True)
class OrderStanding:
    """A purchase or sales order with what moved on each of its lines."""

    number: str
    sales: bool
    party: str
    lines: tuple[LineStanding, ...]

    @property
    def verb(self) -> str:
        return "shipped" if self.sales else "received"

    def line_words(self, line: LineStanding) -> str:
        """ "line 1 GP-10: 5 of 8 ea shipped", with "(closed)" when it is."""
        closed = " (closed)" if line.status == "closed" else ""
        return (
            f"line {line.line} {line.part}: {format_quantity(line.done)} of"
            f" {format_quantity(line.qty)} {line.uom} {self.verb}{closed}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "order": self.number,
            "kind": "so" if self.sales else "po",
            "customer" if self.sales else "supplier": self.party,
            "lines": [
                {
                    "line": line.line,
                    "part": line.part,
                    "qty": json_quantity(line.qty),
                    self.verb: json_quantity(line.done),
                    "status": line.status,
                    **({"lot_control": line.lot_control} if self.sales else {}),
                    "history": [_decided_json(each) for each in line.history],
                }
                for line in self.lines
            ],
        }

    def text(self) -> str:
        title = "Sales order" if self.sales else "Purchase order"
        party = "customer" if self.sales else "supplier"
        lines = [f"{title} {self.number}, {party} {self.party}"]
        for line in self.lines:
            lines.append(f"  {self.line_words(line)}")
            lines += [f"    {each.words()}" for each in line.history]
        return shown_lines(lines)


def order_standing(session: Session, number: str, *, sales: bool) -> OrderStanding:
    """Where a purchase (or sales) order stands, line by line."""
    header: SalesOrder | PurchaseOrder | None = (
        find(session, SalesOrder, number) if sales else find(session, PurchaseOrder, number)
    )
    if header is None:
        raise NotFound(f"Unknown {'sales' if sales else 'purchase'} order {number}")
    party = header.customer if isinstance(header, SalesOrder) else header.supplier
    kind = MovementKind.SHIP if sales else MovementKind.RECEIVE
    order = {"so": number} if sales else {"po": number}
    standings = []
    for line in order_lines(session, number, None, sales=sales):
        part = find(session, Part, line.part)
        standings.append(
            LineStanding(
                line=line.line,
                part=line.part,
                uom=part.uom if part is not None else "ea",
                qty=line.qty,
                done=net_on_line(session, kind, line=line.line, **order),
                status=line.status,
                lot_control=isinstance(line, SalesOrderLine) and line.lot_control,
                history=tuple(history(session, line)),
            )
        )
    return OrderStanding(number, sales, party, tuple(standings))


@dataclass(frozen=True)
class ComponentStanding:
    part: str
    uom: str
    required: Decimal
    issued: Decimal
    backflush: bool


@dataclass(frozen=True)
class JobItem:
    """A part, lot or serial a job consumed or produced, net of reversals (`JobLot`)."""

    part: str
    lot: str | None
    serial: str | None
    qty: Decimal
    uom: str

    def as_json(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "lot": self.lot,
            "serial": self.serial,
            "qty": json_quantity(self.qty),
        }

    def words(self) -> str:
        """ "20 ea of lot CH-0101 of CAST-GP10"."""
        what = describe(self.part, self.lot, self.serial)
        return f"{format_quantity(self.qty)} {self.uom} of {what}"


@dataclass(frozen=True)
class JobStanding:
    """A job: what it makes, how much is done, what it has consumed, who closed it."""

    number: str
    part: str
    uom: str
    qty: Decimal
    completed: Decimal
    status: str
    location: str | None
    components: tuple[ComponentStanding, ...]
    history: tuple[Decided, ...]
    consumed: tuple[JobItem, ...] = ()
    produced: tuple[JobItem, ...] = ()

    def words(self) -> str:
        """ "5 of 20 ea GP-10 completed"."""
        return (
            f"{format_quantity(self.completed)} of {format_quantity(self.qty)} {self.uom}"
            f" {self.part} completed"
        )

    def status_words(self) -> str:
        """ "open", or the decision in force: "closed by Mark Jensen on 2026-11-17 11:04".
        One the central store refused is history, not the status: headlined, a refused
        reopening read as the job's status while it stayed closed."""
        kept = [each for each in self.history if not each.refused]
        return kept[-1].words() if kept else self.status

    def as_json(self) -> dict[str, Any]:
        return {
            "job": self.number,
            "part": self.part,
            "qty": json_quantity(self.qty),
            "completed": json_quantity(self.completed),
            "status": self.status,
            "location": self.location,
            "components": [
                {
                    "part": each.part,
                    "required": json_quantity(each.required),
                    "issued": json_quantity(each.issued),
                    "backflush": each.backflush,
                }
                for each in self.components
            ],
            "history": [_decided_json(each) for each in self.history],
            "consumed": [each.as_json() for each in self.consumed],
            "produced": [each.as_json() for each in self.produced],
        }

    def text(self) -> str:
        where = f" at {self.location}" if self.location else ""
        lines = [f"Job {self.number}{where}: {self.status_words()}", f"  {self.words()}"]
        if self.components:
            lines.append("Components (issued of required):")
        for each in self.components:
            how = " (backflushed)" if each.backflush else ""
            lines.append(
                f"  {each.part}: {format_quantity(each.issued)} of"
                f" {format_quantity(each.required)} {each.uom}{how}"
            )
        for title, items in (("Consumed", self.consumed), ("Produced", self.produced)):
            lines.append(f"{title}:" if items else f"{title}: nothing")
            lines += [f"  {each.words()}" for each in items]
        if self.history:
            lines.append("History:")
        lines += [f"  {each.words()}" for each in self.history]
        return shown_lines(lines)


def job_standing(session: Session, number: str) -> JobStanding:
    """Where a job stands."""
    job = find(session, Job, number)
    if job is None:
        raise NotFound(f"Unknown job {number}")
    done = progress(session, job)
    issued = issued_by_part(session, job.number)
    components = session.execute(
        select(JobComponent.part, JobComponent.qty, Part.uom, Part.backflush)
        .join(Part, Part.number == JobComponent.part)
        .where(JobComponent.job == job.number)
        .order_by(JobComponent.part)
    ).all()
    return JobStanding(
        number=job.number,
        part=job.part,
        uom=done.uom,
        qty=job.qty,
        completed=done.completed,
        status=job.status,
        location=job.location,
        components=tuple(
            ComponentStanding(part, uom, qty, issued.get(part, Decimal(0)), backflush)
            for part, qty, uom, backflush in components
        ),
        history=tuple(history(session, job)),
        consumed=_job_items(session, job.number, JobLotRole.CONSUMED),
        produced=_job_items(session, job.number, JobLotRole.PRODUCED),
    )


def _job_items(session: Session, job: str, role: JobLotRole) -> tuple[JobItem, ...]:
    """What `job` consumed or produced of each part, lot and serial, net of reversals, from
    the genealogy cache (`JobLot`); nothing left once undone is left out."""
    rows = session.execute(
        select(JobLot.part, JobLot.lot, JobLot.serial, JobLot.qty, Part.uom)
        .join(Part, Part.number == JobLot.part)
        .where(JobLot.job == job, JobLot.role == role.value, JobLot.qty != 0)
        .order_by(JobLot.part, JobLot.lot, JobLot.serial)
    ).tuples()
    return tuple(
        JobItem(part, lot or None, serial or None, qty, uom) for part, lot, serial, qty, uom in rows
    )
