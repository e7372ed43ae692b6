"""Rebuilding the ledger's caches from the ledger alone, and checking them against it.

Balances and job genealogy are kept movement by movement in `scanner.balances`. Here the same
figures come from one aggregate query each over the whole ledger, written independently, so
`cache_differences` is a real check that the caches are what the ledger says.

`rebuild_caches` writes those figures as the caches, for a handheld that has just taken in
a whole ledger at once (a snapshot of the central store, `sync.device.snapshot`): a few
statements instead of one fold per movement. From then on the caches are kept movement by
movement again, and checked against these queries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from scanner.balances import serial_state_after
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
    rows = session.execute(_balance_totals()).all()
    return {
        (part, lot_key, serial_key, location): Decimal(total)
        for part, lot_key, serial_key, location, total in rows
        if total
    }


def _balance_totals() -> Select[tuple[Any, ...]]:
    """The sum of every counting movement into and out of each (part, lot, serial,
    location)."""
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
    return select(
        flows.c.part, flows.c.lot, flows.c.serial, flows.c.location, func.sum(flows.c.change)
    ).group_by(flows.c.part, flows.c.lot, flows.c.serial, flows.c.location)


def replayed_job_lots(session: Session) -> dict[JobKey, Decimal]:
    """Net quantity each job consumed and produced per (part, lot, serial)."""
    rows = session.execute(_job_lot_totals()).all()
    return {
        (job, job_role, part, lot_key, serial_key): Decimal(total)
        for job, job_role, part, lot_key, serial_key, total in rows
        if total
    }


def _job_lot_totals() -> Select[tuple[Any, ...]]:
    """The net of every counting issue and production (less their reversals) per job,
    role, part, lot and serial."""
    lot, serial = _keys()
    original = aliased(Movement)
    kind = func.coalesce(original.kind, Movement.kind)
    role = case(
        (kind == MovementKind.ISSUE.value, JobLotRole.CONSUMED.value),
        else_=JobLotRole.PRODUCED.value,
    )
    signed = case((Movement.kind == MovementKind.REVERSE.value, -Movement.qty), else_=Movement.qty)
    return (
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
    )


def rebuild_caches(session: Session, chunk: int = 5000) -> None:
    """Writes the balances, the job genealogy and every serial's state afresh from the
    ledger: the sums above, inserted by the database itself, and each serial where its
    last counting movement left it (`scanner.balances.refresh_serial`'s rule), read
    `chunk` serials at a time, so memory stays flat however long the ledger."""
    session.flush()
    for model, totals in ((Balance, _balance_totals()), (JobLot, _job_lot_totals())):
        table = model.__table__
        assert isinstance(table, Table)
        session.execute(delete(table))
        names = [column.name for column in table.primary_key.columns] + ["qty"]
        total = list(totals.selected_columns)[-1]
        session.execute(insert(table).from_select(names, totals.having(total != 0)))
    _rebuild_serial_states(session, chunk)
    session.expire_all()


def _rebuild_serial_states(session: Session, chunk: int) -> None:
    serials = Serial.__table__
    assert isinstance(serials, Table)
    session.execute(update(serials).values(status=SerialStatus.GONE.value, location=None))
    change = (
        update(serials)
        .where(serials.c.part == bindparam("p"), serials.c.number == bindparam("n"))
        .values(status=bindparam("s"), location=bindparam("l"))
    )
    rows = session.execute(_last_serial_movements(), execution_options={"yield_per": chunk})
    for block in rows.partitions():
        states = []
        for row in block:
            status, location = serial_state_after(row, MovementKind(row.original or row.kind))
            if status != SerialStatus.GONE.value:
                states.append({"p": row.part, "n": row.serial, "s": status, "l": location})
        if states:
            session.execute(change, states)


def _last_serial_movements() -> Select[tuple[str, str, str, str | None, str | None]]:
    """Each serial's last movement that counts (the store's numbering first, then the
    handheld's own still unnumbered, by when they happened), with the kind of the movement
    it reverses, if it reverses one."""
    original = aliased(Movement)
    place = (
        func.row_number()
        .over(
            partition_by=(Movement.part, Movement.serial),
            order_by=(
                Movement.server_seq.is_(None).desc(),
                Movement.server_seq.desc(),
                Movement.happened_at.desc(),
            ),
        )
        .label("place")
    )
    ranked = (
        select(
            Movement.part,
            Movement.serial,
            Movement.kind,
            Movement.to_location,
            original.kind.label("original"),
            place,
        )
        .outerjoin(original, original.id == Movement.reverses)
        .where(Movement.serial.is_not(None), _counts())
        .subquery()
    )
    return select(
        ranked.c.part, ranked.c.serial, ranked.c.kind, ranked.c.to_location, ranked.c.original
    ).where(ranked.c.place == 1)


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
