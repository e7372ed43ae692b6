"""Trace a lot or serial: what it was made from, down to the supplier receipts, and what was
made from it, out to every customer shipment (DESIGN §1, §8).

The genealogy is the `JobLot` cache: what a job consumed is the parent of what it produced.
Each direction is one recursive query over it (`WITH RECURSIVE`, on SQLite and PostgreSQL
alike), and its receipts or shipments one more query over the same recursion, so a trace
costs the same eight statements whatever the size of the family tree. Every step is an
index lookup: a node's job rows by `ix_job_lots_node`, a job's other rows by the job_lots
primary key, a node's movements by `ix_movements_part_lot` or `ix_movements_part_serial`,
and "was it reversed?" by `ix_movements_reverses`.

Nodes are keyed as in the caches (see `scanner.caches.stock_key`): (part, lot, "") for a
lot, (part, "", serial) for a serial, (part, "", "") for an untracked part. The walk does not
go through an untracked node: "4 of part X" can be a parent, but every other job that used
or made part X has nothing to do with this lot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Result,
    Select,
    Subquery,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import NamedFromClause

from scanner.errors import NotFound, RuleViolation
from scanner.json_output import json_record
from scanner.ledger import describe
from scanner.models import (
    NO_LOT,
    Balance,
    JobLot,
    JobLotRole,
    Lot,
    Movement,
    MovementKind,
    Part,
    PurchaseOrder,
    SalesOrder,
    Serial,
    Tracking,
)
from scanner.quantity import format_quantity
from scanner.stock import StockRow

MAX_DEPTH = 64
"""How many generations a walk follows. Rework (a job that consumes lot X and makes lot X
again) makes cycles; the cap is what ends the recursion on them."""


@dataclass(frozen=True)
class Relative:
    """An ancestor (with the job that consumed it) or a descendant (with the job that made
    it), `depth` generations away: 1 is a direct parent or child."""

    part: str
    lot: str | None
    serial: str | None
    job: str
    depth: int

    def as_json(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(frozen=True)
class Receipt:
    part: str
    lot: str | None
    serial: str | None
    po: str | None
    supplier: str | None
    supplier_lot: str | None
    qty: Decimal

    def as_json(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(frozen=True)
class Shipment:
    part: str
    lot: str | None
    serial: str | None
    so: str
    customer: str
    qty: Decimal

    def as_json(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(frozen=True)
class JobUse:
    """How much of the traced lot or serial a job consumed or produced."""

    job: str
    part: str
    lot: str | None
    serial: str | None
    qty: Decimal
    role: str

    def as_json(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(frozen=True)
class Trace:
    """Everything known about one lot or serial: its ancestors and their receipts, its
    descendants and their shipments, where it is now and the jobs that used or made it."""

    part: str
    lot: str | None
    serial: str | None
    backward: tuple[Relative, ...]
    receipts: tuple[Receipt, ...]
    forward: tuple[Relative, ...]
    shipments: tuple[Shipment, ...]
    on_hand: tuple[StockRow, ...]
    jobs: tuple[JobUse, ...]

    def as_json(self) -> dict[str, Any]:
        """DESIGN §8's trace shape; a missing lot or serial is null."""
        return json_record(self)


def trace(session: Session, part: str, lot: str | None = None, serial: str | None = None) -> Trace:
    """Traces a lot or a serial of `part` both ways.

    A lot of a serial-tracked part traces every serial in it. A lot of an untracked part is
    one a sales-order line asked for at shipping: it has shipments and nothing else.
    """
    item = session.get(Part, part)
    if item is None:
        raise NotFound(f"Unknown part {part}")
    if lot is None and serial is None:
        raise RuleViolation(f"Name a lot or a serial of {part} to trace")
    if serial is not None:
        record = session.get(Serial, (part, serial))
        if record is None:
            raise NotFound(f"No {describe(part, serial=serial)}")
        if lot is not None and record.lot != lot:
            raise NotFound(f"{describe(part, serial=serial)} is not in lot {lot}")
        lot = record.lot
        seed = {"part": part, "lot": NO_LOT, "serial": serial}
    else:
        assert lot is not None
        if session.get(Lot, (part, lot)) is None:
            raise NotFound(f"No {describe(part, lot)}")
        # An untracked part's lot (named at shipping) is a key no cache row carries: the
        # walk and the stock find nothing, its shipments are found by the movements' lot.
        seed = {"part": part, "lot": lot, "serial": NO_LOT}

    queries = _queries(serials_of_lot=serial is None and item.tracking == Tracking.SERIAL)
    return Trace(
        part=part,
        lot=lot,
        serial=serial,
        backward=_relatives(session.execute(queries.backward, seed)),
        receipts=tuple(Receipt(*row) for row in session.execute(queries.receipts, seed)),
        forward=_relatives(session.execute(queries.forward, seed)),
        shipments=tuple(Shipment(*row) for row in session.execute(queries.shipments, seed)),
        on_hand=tuple(
            StockRow.from_balance(*row) for row in session.execute(queries.on_hand, seed)
        ),
        jobs=tuple(
            JobUse(job, part, lot or None, serial or None, qty, role)
            for job, part, lot, serial, qty, role in session.execute(queries.jobs, seed)
        ),
    )


def _relatives(rows: Result[Any]) -> tuple[Relative, ...]:
    return tuple(
        Relative(part, lot or None, serial or None, job, depth)
        for part, lot, serial, job, depth in rows
    )


# ---- the queries ------------------------------------------------------------------------
#
# Built once per kind of seed, with the seed as bound parameters (part, lot, serial), so a
# trace neither rebuilds nor recompiles them: SQLAlchemy caches the compiled SQL.

JOB_LOTS = JobLot.__table__
MOVEMENTS = Movement.__table__


@dataclass(frozen=True)
class _Queries:
    backward: Select[Any]
    receipts: Select[Any]
    forward: Select[Any]
    shipments: Select[Any]
    on_hand: Select[Any]
    jobs: Select[Any]


@cache
def _queries(serials_of_lot: bool) -> _Queries:
    """The six queries of a trace. The seeds are the traced node, or, for a lot of a
    serial-tracked part, each serial in that lot."""
    if serials_of_lot:
        seeds = select(Serial.part, _key(literal(NO_LOT), "lot"), Serial.number.label("serial"))
        seeds = seeds.where(Serial.part == bindparam("part"), Serial.lot == bindparam("lot"))
    else:
        seeds = select(
            _key(bindparam("part"), "part"),
            _key(bindparam("lot"), "lot"),
            _key(bindparam("serial"), "serial"),
        )
    seed = seeds.cte("seeds")
    backward = _walk(seed, JobLotRole.PRODUCED, JobLotRole.CONSUMED)
    forward = _walk(seed, JobLotRole.CONSUMED, JobLotRole.PRODUCED)
    return _Queries(
        backward=_relatives_of(backward),
        receipts=_receipts(_lineage(seed, backward)),
        forward=_relatives_of(forward),
        shipments=_shipments(_lineage(seed, forward)),
        on_hand=_on_hand(seed),
        jobs=_jobs(seed),
    )


def _key(value: ColumnElement[Any], name: str) -> ColumnElement[str]:
    return type_coerce(value, JobLot.lot.type).label(name)


def _walk(seeds: CTE, start: JobLotRole, end: JobLotRole) -> CTE:
    """Every (part, lot, serial, job, depth) reachable from the seeds through jobs: a node's
    `start` rows name the jobs, their `end` rows the next generation (backward: produced →
    consumed; forward: consumed → produced). Untracked nodes are listed, never walked from."""
    here = JOB_LOTS.alias("here")
    there = JOB_LOTS.alias("there")

    def step(source: NamedFromClause, depth: ColumnElement[int]) -> Select[Any]:
        return (
            select(there.c.part, there.c.lot, there.c.serial, there.c.job, depth.label("depth"))
            .select_from(source)
            .join(
                here,
                and_(
                    here.c.part == source.c.part,
                    here.c.lot == source.c.lot,
                    here.c.serial == source.c.serial,
                    here.c.role == start.value,
                    here.c.qty > 0,
                ),
            )
            .join(
                there,
                and_(there.c.job == here.c.job, there.c.role == end.value, there.c.qty > 0),
            )
        )

    walk = step(seeds, literal(1)).cte(f"walk_{end.value}", recursive=True)
    previous = walk.alias("previous")
    # UNION, not UNION ALL: a row met again at the same depth is not walked twice.
    return walk.union(
        step(previous, previous.c.depth + 1).where(
            previous.c.depth < MAX_DEPTH,
            or_(previous.c.lot != NO_LOT, previous.c.serial != NO_LOT),
        )
    )


def _relatives_of(walk: CTE) -> Select[Any]:
    """One row per (node, job), at the smallest depth it was reached."""
    depth = func.min(walk.c.depth).label("depth")
    return (
        select(walk.c.part, walk.c.lot, walk.c.serial, walk.c.job, depth)
        .group_by(walk.c.part, walk.c.lot, walk.c.serial, walk.c.job)
        .order_by(depth, walk.c.part, walk.c.lot, walk.c.serial, walk.c.job)
    )


def _lineage(seeds: CTE, walk: CTE) -> CTE:
    """The seeds and the tracked nodes of a walk: whose receipts or shipments count."""
    tracked = select(walk.c.part, walk.c.lot, walk.c.serial).where(
        or_(walk.c.lot != NO_LOT, walk.c.serial != NO_LOT)
    )
    return union(select(seeds.c.part, seeds.c.lot, seeds.c.serial), tracked).cte(
        f"{walk.name}_lineage"
    )


def _movements(nodes: CTE, kind: MovementKind) -> Subquery:
    """The movements of `kind`, not reversed, of the nodes' lots and serials. Two halves so
    each can use its index: lots by (part, lot), serials by (part, serial)."""
    moved = MOVEMENTS.alias("moved")
    reversal = MOVEMENTS.alias("reversal")
    columns = (moved.c.part, moved.c.lot, moved.c.serial, moved.c.po, moved.c.so, moved.c.qty)
    kept = and_(
        moved.c.kind == kind.value,
        ~exists().where(reversal.c.reverses == moved.c.id),
    )
    by_lot = (
        select(*columns)
        .join(nodes, and_(moved.c.part == nodes.c.part, moved.c.lot == nodes.c.lot))
        .where(nodes.c.lot != NO_LOT, nodes.c.serial == NO_LOT, kept)
    )
    by_serial = (
        select(*columns)
        .join(nodes, and_(moved.c.part == nodes.c.part, moved.c.serial == nodes.c.serial))
        .where(nodes.c.serial != NO_LOT, kept)
    )
    return union_all(by_lot, by_serial).subquery(f"{kind.value}s")


def _receipts(lineage: CTE) -> Select[Any]:
    received = _movements(lineage, MovementKind.RECEIVE)
    key = (
        received.c.part,
        received.c.lot,
        received.c.serial,
        received.c.po,
        PurchaseOrder.supplier,
        Lot.supplier_lot,
    )
    return (
        select(*key, func.sum(received.c.qty))
        .outerjoin(PurchaseOrder, PurchaseOrder.number == received.c.po)
        .outerjoin(Lot, and_(Lot.part == received.c.part, Lot.number == received.c.lot))
        .group_by(*key)
        .order_by(*_nulls_first(key))
    )


def _shipments(lineage: CTE) -> Select[Any]:
    shipped = _movements(lineage, MovementKind.SHIP)
    key = (shipped.c.part, shipped.c.lot, shipped.c.serial, shipped.c.so, SalesOrder.customer)
    return (
        select(*key, func.sum(shipped.c.qty))
        .join(SalesOrder, SalesOrder.number == shipped.c.so)
        .group_by(*key)
        .order_by(*_nulls_first(key))
    )


def _nulls_first(columns: Sequence[Any]) -> list[ColumnElement[Any]]:
    """Sort keys that put a missing value first on both databases (PostgreSQL puts NULL
    last, SQLite first)."""
    return [func.coalesce(column, "") for column in columns]


def _on_hand(seeds: CTE) -> Select[Any]:
    return (
        select(Balance.part, Balance.lot, Balance.serial, Balance.location, Balance.qty)
        .join(
            seeds,
            and_(
                Balance.part == seeds.c.part,
                Balance.lot == seeds.c.lot,
                Balance.serial == seeds.c.serial,
            ),
        )
        .order_by(Balance.part, Balance.lot, Balance.serial, Balance.location)
    )


def _jobs(seeds: CTE) -> Select[Any]:
    return (
        select(JobLot.job, JobLot.part, JobLot.lot, JobLot.serial, JobLot.qty, JobLot.role)
        .join(
            seeds,
            and_(
                JobLot.part == seeds.c.part,
                JobLot.lot == seeds.c.lot,
                JobLot.serial == seeds.c.serial,
            ),
        )
        .where(JobLot.qty > 0)
        .order_by(JobLot.job, JobLot.role, JobLot.serial)
    )


# ---- text for a terminal ----------------------------------------------------------------


def format_trace(result: Trace) -> str:
    """The trace as text: the family tree each way (indented by generation), the receipts
    and shipments, where the lot or serial is now and the jobs that used or made it."""
    title = describe(result.part, result.lot, result.serial)
    if result.serial and result.lot:
        title += f" (lot {result.lot})"
    sections = [
        f"Trace of {title}",
        _section("Made from", [_relative(each, "used in") for each in result.backward]),
        _section("Received", [_receipt(each) for each in result.receipts]),
        _section("Made into", [_relative(each, "made by") for each in result.forward]),
        _section("Shipped", [_shipment(each) for each in result.shipments]),
        _section("On hand", [_stock(each) for each in result.on_hand]),
        _section("Jobs", [_job(each) for each in result.jobs]),
    ]
    return "\n\n".join(sections)


def _section(heading: str, lines: Sequence[str]) -> str:
    body = lines or ["none"]
    return "\n".join([f"{heading}:", *(f"  {line}" for line in body)])


def _what(part: str, lot: str | None, serial: str | None) -> str:
    if lot is None and serial is None:
        return f"{part} (untracked)"
    return describe(part, lot, serial)


def _relative(each: Relative, how: str) -> str:
    indent = "  " * (each.depth - 1)
    what = _what(each.part, each.lot, each.serial)
    return f"{indent}level {each.depth}: {what}, {how} job {each.job}"


def _receipt(each: Receipt) -> str:
    source = f"on {each.po} from {each.supplier}" if each.po else "without a purchase order"
    supplier_lot = f", supplier lot {each.supplier_lot}" if each.supplier_lot else ""
    what = describe(each.part, each.lot, each.serial)
    return f"{format_quantity(each.qty)} of {what} {source}{supplier_lot}"


def _shipment(each: Shipment) -> str:
    what = describe(each.part, each.lot, each.serial)
    return f"{format_quantity(each.qty)} of {what} on {each.so} to {each.customer}"


def _stock(each: StockRow) -> str:
    what = describe(each.part, each.lot, each.serial)
    return f"{format_quantity(each.qty)} of {what} at {each.location}"


def _job(each: JobUse) -> str:
    what = describe(each.part, each.lot, each.serial)
    return f"job {each.job} {each.role} {format_quantity(each.qty)} of {what}"
