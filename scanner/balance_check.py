"""Rebuilding the ledger's caches from the ledger alone, and checking them against it.

Balances and job genealogy are kept movement by movement in `scanner.balances`. Here the same
figures come from one aggregate query each over the whole ledger, written independently, so
`cache_differences` is a real check that the caches are what the ledger says.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from sqlalchemy import ColumnElement, String, case, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from scanner.models import (
    NO_LOT,
    NOT_EFFECTIVE,
    Balance,
    JobLot,
    JobLotRole,
    Movement,
    MovementKind,
    Part,
    Serial,
    SerialStatus,
)

StockKey = tuple[str, str, str, str]
JobKey = tuple[str, str, str, str, str]


def _keys() -> tuple[ColumnElement[str], ColumnElement[str]]:
    lot = case((Part.tracking == "lot", func.coalesce(Movement.lot, NO_LOT)), else_=literal(NO_LOT))
    serial = case(
        (Part.tracking == "serial", func.coalesce(Movement.serial, NO_LOT)), else_=literal(NO_LOT)
    )
    return lot, serial


def _counts() -> ColumnElement[bool]:
    """Movements that count towards stock: not held, rejected or voided by the store."""
    return Movement.sync_state.not_in(NOT_EFFECTIVE)


def replayed_balances(session: Session) -> dict[StockKey, Decimal]:
    """Stock on hand per (part, lot, serial, location), folded from every movement that
    counts."""
    lot, serial = _keys()
    arrivals = (
        select(
            Movement.part,
            lot.label("lot"),
            serial.label("serial"),
            Movement.to_location.label("location"),
            Movement.qty.label("change"),
        )
        .join(Part, Part.number == Movement.part)
        .where(Movement.to_location.is_not(None), _counts())
    )
    departures = (
        select(
            Movement.part,
            lot.label("lot"),
            serial.label("serial"),
            Movement.from_location.label("location"),
            (-Movement.qty).label("change"),
        )
        .join(Part, Part.number == Movement.part)
        .where(Movement.from_location.is_not(None), _counts())
    )
    flows = union_all(arrivals, departures).subquery()
    rows = session.execute(
        select(
            flows.c.part, flows.c.lot, flows.c.serial, flows.c.location, func.sum(flows.c.change)
        ).group_by(flows.c.part, flows.c.lot, flows.c.serial, flows.c.location)
    ).all()
    return {
        (part, lot_key, serial_key, location): Decimal(total)
        for part, lot_key, serial_key, location, total in rows
        if total
    }


def replayed_job_lots(session: Session) -> dict[JobKey, Decimal]:
    """Net quantity each job consumed and produced per (part, lot, serial)."""
    lot, serial = _keys()
    original = aliased(Movement)
    kind = func.coalesce(original.kind, Movement.kind)
    role = case(
        (kind == MovementKind.ISSUE.value, JobLotRole.CONSUMED.value),
        else_=JobLotRole.PRODUCED.value,
    )
    signed = case((Movement.kind == MovementKind.REVERSE.value, -Movement.qty), else_=Movement.qty)
    rows = session.execute(
        select(
            Movement.job,
            role.cast(String),
            Movement.part,
            lot,
            serial,
            func.sum(signed),
        )
        .join(Part, Part.number == Movement.part)
        .outerjoin(original, original.id == Movement.reverses)
        .where(
            Movement.job.is_not(None),
            _counts(),
            kind.in_([MovementKind.ISSUE.value, MovementKind.PRODUCE.value]),
        )
        .group_by(Movement.job, role, Movement.part, lot, serial)
    ).all()
    return {
        (job, job_role, part, lot_key, serial_key): Decimal(total)
        for job, job_role, part, lot_key, serial_key, total in rows
        if total
    }


def cache_differences(session: Session) -> list[str]:
    """Every way the cached balances, genealogy and serial states differ from the ledger."""
    problems: list[str] = []
    cached = {
        (b.part, b.lot, b.serial, b.location): b.qty for b in session.scalars(select(Balance))
    }
    problems += _compare("balance", cached, replayed_balances(session))
    cached_jobs = {
        (j.job, j.role, j.part, j.lot, j.serial): j.qty for j in session.scalars(select(JobLot))
    }
    problems += _compare("job lot", cached_jobs, replayed_job_lots(session))
    in_stock = {
        (part, serial): location
        for (part, _lot, serial, location), qty in replayed_balances(session).items()
        if serial and qty > 0
    }
    for record in session.scalars(select(Serial)):
        where = in_stock.get((record.part, record.number))
        if (record.status == SerialStatus.IN_STOCK) != (where is not None) or (
            where is not None and record.location != where
        ):
            problems.append(
                f"serial {record.number} of {record.part}: cached {record.status} at"
                f" {record.location}, ledger says {'at ' + where if where else 'not in stock'}"
            )
    return problems


Key = TypeVar("Key", StockKey, JobKey)


def _compare(what: str, cached: dict[Key, Decimal], replayed: dict[Key, Decimal]) -> list[str]:
    problems = []
    for key in sorted(set(cached) | set(replayed)):
        have, want = cached.get(key, Decimal(0)), replayed.get(key, Decimal(0))
        if have != want:
            problems.append(f"{what} {'/'.join(key)}: cached {have}, ledger says {want}")
    return problems
