"""Completing a job: what it has made so far, what to warn about before more is recorded,
and the backflush that consumes its untracked components in the same transaction.

A backflush part is never lot- or serial-tracked (the rules of `scanner.models.Part`):
nobody picks it, completion issues it. A job's bill says what the whole job needs; each
completion takes what the job is due by then, `bill x completed / job quantity`, less what
was already issued to the job (by hand or by earlier completions). The running total is
rounded to the ledger's three decimals, never each share, so the job's last completion
leaves exactly the bill consumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.ledger import Ledger
from scanner.locations import first_location_of_kind
from scanner.models import (
    Balance,
    Job,
    JobComponent,
    JobLot,
    JobLotRole,
    Movement,
    Part,
    Tracking,
)
from scanner.picking import issued_by_part
from scanner.quantity import format_quantity

_THOUSANDTH = Decimal("0.001")
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Progress:
    """How much of a job's assembly has been completed (net of reversals)."""

    job: str
    part: str
    uom: str
    ordered: Decimal
    completed: Decimal

    @property
    def done(self) -> bool:
        return self.completed >= self.ordered

    def words(self) -> str:
        return (
            f"{self.job}: {format_quantity(self.completed)} of {format_quantity(self.ordered)}"
            f" {self.uom} {self.part} completed"
        )


def progress(session: Session, job: Job) -> Progress:
    """What `job` has completed, from the genealogy the ledger keeps."""
    part = session.get(Part, job.part)
    completed = session.scalar(
        select(func.coalesce(func.sum(JobLot.qty), 0)).where(
            JobLot.job == job.number, JobLot.role == JobLotRole.PRODUCED.value
        )
    )
    return Progress(
        job=job.number,
        part=job.part,
        uom=part.uom if part is not None else "ea",
        ordered=job.qty,
        completed=Decimal(completed or 0),
    )


def completion_warnings(session: Session, job: Job, qty: Decimal) -> list[str]:
    """What the operator confirms (CMD:OK) before `qty` more of the job's assembly is
    recorded: more than the job asks for, and a bill of tracked components none of which
    was issued (what it makes would trace back to nothing)."""
    warnings: list[str] = []
    done = progress(session, job)
    if done.completed + qty > job.qty:
        warnings.append(
            f"{job.number} asks {format_quantity(job.qty)}; {format_quantity(done.completed)}"
            f" completed, this would make {format_quantity(done.completed + qty)}"
        )
    tracked = session.scalars(
        select(JobComponent.part)
        .join(Part, Part.number == JobComponent.part)
        .where(JobComponent.job == job.number, Part.tracking != Tracking.NONE.value)
    ).all()
    if tracked:
        issued = issued_by_part(session, job.number)
        if not any(issued.get(part, _ZERO) > 0 for part in tracked):
            warnings.append(f"Nothing issued to {job.number} yet: its lots will trace to nothing")
    return warnings


@dataclass(frozen=True)
class Draw:
    """One backflush issue: `qty` (in `uom`) of `part` from `location`, of which `short`
    was more than the location held (its balance goes below zero by that much)."""

    part: str
    uom: str
    qty: Decimal
    location: str
    short: Decimal = _ZERO


def backflush_draws(session: Session, job: Job, completed: Decimal, fallback: str) -> list[Draw]:
    """The issues completing `completed` more of `job` makes of its backflush parts. Each is
    taken from the job's location (else the site's production location, else `fallback`,
    where the completion goes), then from any other place that holds it, most first; what
    nobody holds is still taken from the first place, below zero: a shortfall never stops a
    completion."""
    components = session.execute(
        select(JobComponent.part, Part.uom, JobComponent.qty)
        .join(Part, Part.number == JobComponent.part)
        .where(JobComponent.job == job.number, Part.backflush.is_(True))
        .order_by(JobComponent.part)
    ).all()
    if not components:
        return []
    after = progress(session, job).completed + completed
    issued = issued_by_part(session, job.number)
    home = job.location or first_location_of_kind(session, "production") or fallback
    draws: list[Draw] = []
    for part, uom, bill in components:
        take = _due(bill, after, job.qty) - issued.get(part, _ZERO)
        if take > 0:
            draws += _sources(session, part, uom, take, home)
    return draws


def _due(bill: Decimal, completed: Decimal, ordered: Decimal) -> Decimal:
    """What a job that has completed `completed` of `ordered` has consumed of a component its
    whole bill needs `bill` of, to the ledger's three decimals."""
    if ordered <= 0:
        return bill
    return (bill * completed / ordered).quantize(_THOUSANDTH, rounding=ROUND_HALF_UP)


def _sources(session: Session, part: str, uom: str, take: Decimal, home: str) -> list[Draw]:
    held = dict(
        session.execute(
            select(Balance.location, Balance.qty).where(
                Balance.part == part, Balance.lot == "", Balance.serial == "", Balance.qty > 0
            )
        )
        .tuples()
        .all()
    )
    others = sorted((place for place in held if place != home), key=lambda p: (-held[p], p))
    taken: dict[str, Decimal] = {}
    left = take
    for place in [home, *others]:
        here = min(left, held.get(place, _ZERO))
        if here > 0:
            taken[place] = here
            left -= here
    if left > 0:  # nobody holds the rest: it comes from home all the same, below zero
        taken[home] = taken.get(home, _ZERO) + left
    return [
        Draw(part, uom, qty, place, short=left if place == home else _ZERO)
        for place, qty in sorted(taken.items(), key=lambda item: item[0] != home)
    ]


@dataclass(frozen=True)
class Completion:
    """What one completion recorded: the assembly made, and the backflush issues."""

    made: tuple[Movement, ...]
    backflushed: tuple[tuple[Movement, Draw], ...]

    def shortfalls(self) -> list[Draw]:
        return [draw for _movement, draw in self.backflushed if draw.short > 0]


def complete(
    ledger: Ledger,
    job: str,
    qty: Decimal,
    to_location: str,
    *,
    lot: str | None = None,
    serials: Sequence[str] = (),
    expiry: date | None = None,
    operator: str | None = None,
) -> Completion:
    """Records a completion: the assembly into `to_location` (one movement a serial for a
    serial-tracked assembly, else `qty` of `lot`), then the job's backflush, in the caller's
    transaction."""
    order = ledger.session.get(Job, job)
    draws = backflush_draws(ledger.session, order, qty, to_location) if order is not None else []
    if serials:
        made = tuple(
            ledger.produce(job, 1, to_location, serial=serial, operator=operator)
            for serial in serials
        )
    else:
        made = (ledger.produce(job, qty, to_location, lot=lot, expiry=expiry, operator=operator),)
    backflushed = tuple(
        (
            ledger.backflush(job, draw.part, draw.qty, draw.location, operator=operator),
            draw,
        )
        for draw in draws
    )
    return Completion(made, backflushed)


def backflush_words(draw: Draw) -> str:
    """A backflush issue, as the operator reads it."""
    return f"Backflushed {format_quantity(draw.qty)} {draw.uom} {draw.part} from {draw.location}"


def shortfall_words(completion: Completion) -> str:
    """The backflush parts that were short, or "" when none was."""
    return "; ".join(
        f"{draw.part} short by {format_quantity(draw.short)} {draw.uom} at {draw.location}"
        for draw in completion.shortfalls()
    )
