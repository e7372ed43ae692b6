"""trace_recall: a supplier recalls a raw-material lot; find everything made from it and every
customer it reached.

Ours is `scanner.trace.trace()`: one statement per direction that walks the genealogy and
returns the relatives with their receipts or shipments (and returns). The baseline does the
same work the way code without recursive SQL would: a breadth-first walk over the genealogy
(`JobLot`) with a query per node for the jobs that consumed it and a query per job for what
it made, then a query per lot for its shipments and one for its returns (and the same,
backwards, for its origins). Both return the same trace; the benchmark checks that before
timing anything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple, dataclass, fields
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, exists, literal_column, select
from sqlalchemy.orm import Session, aliased

from bench.generate import Plant, plant_database
from bench.result import Result
from bench.suite import QUICK
from bench.timing import alternating_medians
from scanner.db import open_database, reading
from scanner.models import (
    NO_LOT,
    Balance,
    JobLot,
    JobLotRole,
    Lot,
    Movement,
    MovementKind,
    PurchaseOrder,
    SalesOrder,
)
from scanner.stock import StockRow
from scanner.trace import GoodsReturn, JobUse, Receipt, Relative, Shipment, Trace, trace
from scanner.trace_queries import FROM_CUSTOMER, MAX_DEPTH, TO_SUPPLIER

NAME = "trace_recall"
GOAL = 0.05
SEED = 1
ROUNDS = 5
OURS_PER_ROUND = 3

Node = tuple[str, str, str]
"""(part, lot, serial) as the caches key them: "" for none."""


def run(scale: float) -> Result:
    plant = plant_database(SEED, scale)
    sessions = open_database(plant.url)
    part, lot = plant.recall_part, plant.recall_lot

    def ours() -> Trace:
        with reading(sessions) as session:
            return trace(session, part, lot=lot)

    def baseline() -> Trace:
        with reading(sessions) as session:
            return walk_per_node(session, part, lot).trace

    expected = ours()  # also warms the page cache for both
    with reading(sessions) as session:
        walked = walk_per_node(session, part, lot)
    differing = differences(expected, walked.trace)
    if differing:
        raise AssertionError(f"trace() and the per-node walk disagree on {', '.join(differing)}")
    tiny = scale < QUICK  # the smoke test: one run shows it runs
    ours_time, baseline_time = alternating_medians(
        ours, baseline, 1 if tiny else ROUNDS, 1 if tiny else OURS_PER_ROUND
    )
    sessions.kw["bind"].dispose()
    return Result(
        name=NAME,
        ours=ours_time,
        baseline=baseline_time,
        goal=GOAL,
        facts=_facts(plant, expected, walked.queries),
    )


@dataclass(frozen=True)
class Walked:
    trace: Trace
    queries: int


def walk_per_node(session: Session, part: str, lot: str) -> Walked:
    """The trace of a lot (of a lot-tracked part) with one query per node and per job."""
    queries = _Queries(session)
    seed: Node = (part, lot, NO_LOT)
    backward = _walk(queries, seed, JobLotRole.PRODUCED, JobLotRole.CONSUMED)
    forward = _walk(queries, seed, JobLotRole.CONSUMED, JobLotRole.PRODUCED)
    receipts = [
        Receipt(*row)
        for node in _lineage(seed, backward)
        for row in _summed(queries.rows(_movements(MovementKind.RECEIVE, node), node))
    ]
    shipments = [
        Shipment(*row)
        for node in _lineage(seed, forward)
        for row in _summed(queries.rows(_movements(MovementKind.SHIP, node), node))
    ]
    returns = [
        GoodsReturn(part, lot, serial, so, po, customer, supplier, qty=qty, direction=direction)
        for node in _lineage(seed, forward)
        for part, lot, serial, so, po, customer, supplier, direction, qty in _summed(
            queries.rows(_returns_of(by_serial=bool(node[2])), node)
        )
    ]
    on_hand = queries.rows(_ON_HAND, seed)
    jobs = queries.rows(_JOBS, seed)
    result = Trace(
        part=part,
        lot=lot,
        serial=None,
        backward=_relatives(backward),
        receipts=tuple(receipts),
        forward=_relatives(forward),
        shipments=tuple(shipments),
        on_hand=tuple(StockRow.from_balance(*row) for row in on_hand),
        jobs=tuple(
            JobUse(job, p, lot_key or None, serial or None, qty, role)
            for job, p, lot_key, serial, qty, role in jobs
        ),
        returns=tuple(returns),
    )
    return Walked(result, queries.count)


class _Queries:
    """Runs the baseline's queries, a node's (part, lot, serial) as their parameters, and
    counts them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.count = 0

    def rows(self, query: Select[Any], node: Node | None = None, **params: str) -> list[Any]:
        self.count += 1
        if node is not None:
            params.update(part=node[0], lot=node[1], serial=node[2])
        return list(self.session.execute(query, params).all())


def _walk(
    queries: _Queries, seed: Node, start: JobLotRole, end: JobLotRole
) -> dict[tuple[Node, str], int]:
    """Breadth first: each (relative, job) at the depth it is first reached. A job is asked
    for its other side once; untracked relatives are listed but not walked from."""
    found: dict[tuple[Node, str], int] = {}
    seen = {seed}
    asked: set[str] = set()
    frontier = [seed]
    depth = 0
    while frontier and depth < MAX_DEPTH:
        depth += 1
        following: list[Node] = []
        for node in frontier:
            for (job,) in queries.rows(_jobs_of_node(start), node):
                if job in asked:
                    continue
                asked.add(job)
                for relative in queries.rows(_nodes_of_job(end), job=job):
                    child: Node = (relative.part, relative.lot, relative.serial)
                    found.setdefault((child, job), depth)
                    if child not in seen and (child[1] or child[2]):
                        seen.add(child)
                        following.append(child)
        frontier = following
    return found


def _lineage(seed: Node, walked: dict[tuple[Node, str], int]) -> list[Node]:
    nodes = dict.fromkeys([seed, *(node for node, _job in walked if node[1] or node[2])])
    return list(nodes)


# The baseline's statements, built once with bound parameters as trace()'s are, so the
# comparison is of round trips, not of statement building.


@cache
def _jobs_of_node(role: JobLotRole) -> Select[Any]:
    return select(JobLot.job).where(
        JobLot.part == bindparam("part"),
        JobLot.lot == bindparam("lot"),
        JobLot.serial == bindparam("serial"),
        JobLot.role == role.value,
        JobLot.qty > 0,
    )


@cache
def _nodes_of_job(role: JobLotRole) -> Select[Any]:
    return select(JobLot.part, JobLot.lot, JobLot.serial).where(
        JobLot.job == bindparam("job"), JobLot.role == role.value, JobLot.qty > 0
    )


def _movements(kind: MovementKind, node: Node) -> Select[Any]:
    return _movements_of(kind, by_serial=bool(node[2]))


@cache
def _movements_of(kind: MovementKind, *, by_serial: bool) -> Select[Any]:
    """A lot's or a serial's movements of `kind` that were not reversed, with the order
    (receipts: and the supplier and the supplier lot; shipments: and the customer), their
    quantity last. Summed in Python (`_summed`): with GROUP BY part, lot, serial in the same
    query, SQLite (without ANALYZE statistics) walks every movement of a serial's part by
    `ix_movements_part_lot`, whose order suits the grouping, instead of using
    `ix_movements_part_serial`: 11 ms a serial at full scale instead of 0.1 ms."""
    reversal = aliased(Movement)
    which = (
        Movement.serial == bindparam("serial") if by_serial else Movement.lot == bindparam("lot")
    )
    kept = and_(
        Movement.part == bindparam("part"),
        which,
        # Written into the statement, as trace() writes it, so both use the partial
        # indexes of shipments (`ix_movements_shipped_lot` and `_serial`).
        Movement.kind == literal_column(f"'{kind.value}'"),
        ~exists().where(reversal.reverses == Movement.id),
    )
    moved = (Movement.part, Movement.lot, Movement.serial)
    if kind == MovementKind.RECEIVE:
        return (
            select(*moved, Movement.po, PurchaseOrder.supplier, Lot.supplier_lot, Movement.qty)
            .outerjoin(PurchaseOrder, PurchaseOrder.number == Movement.po)
            .outerjoin(Lot, and_(Lot.part == Movement.part, Lot.number == Movement.lot))
            .where(kept)
        )
    return (
        select(*moved, Movement.so, SalesOrder.customer, Movement.qty)
        .join(SalesOrder, SalesOrder.number == Movement.so)
        .where(kept)
    )


@cache
def _returns_of(*, by_serial: bool) -> Select[Any]:
    """A lot's or a serial's returns that were not reversed, with their order, customer or
    supplier and direction, their quantity last (summed in Python, as `_movements_of`)."""
    reversal = aliased(Movement)
    which = (
        Movement.serial == bindparam("serial") if by_serial else Movement.lot == bindparam("lot")
    )
    direction = case((Movement.to_location.is_not(None), FROM_CUSTOMER), else_=TO_SUPPLIER)
    return (
        select(
            Movement.part,
            Movement.lot,
            Movement.serial,
            Movement.so,
            Movement.po,
            SalesOrder.customer,
            PurchaseOrder.supplier,
            direction,
            Movement.qty,
        )
        .outerjoin(SalesOrder, SalesOrder.number == Movement.so)
        .outerjoin(PurchaseOrder, PurchaseOrder.number == Movement.po)
        .where(
            Movement.part == bindparam("part"),
            which,
            Movement.kind == literal_column(f"'{MovementKind.RETURN.value}'"),
            ~exists().where(reversal.reverses == Movement.id),
        )
    )


def _summed(rows: list[Any]) -> list[tuple[Any, ...]]:
    """Rows whose last column is a quantity, summed per the other columns."""
    totals: dict[tuple[Any, ...], Decimal] = {}
    for *columns, qty in rows:
        key = tuple(columns)
        totals[key] = totals.get(key, Decimal(0)) + qty
    return [(*key, total) for key, total in totals.items()]


_ON_HAND = select(Balance.part, Balance.lot, Balance.serial, Balance.location, Balance.qty).where(
    Balance.part == bindparam("part"),
    Balance.lot == bindparam("lot"),
    Balance.serial == bindparam("serial"),
)
_JOBS = select(JobLot.job, JobLot.part, JobLot.lot, JobLot.serial, JobLot.qty, JobLot.role).where(
    JobLot.part == bindparam("part"),
    JobLot.lot == bindparam("lot"),
    JobLot.serial == bindparam("serial"),
    JobLot.qty > 0,
)


def _relatives(walked: dict[tuple[Node, str], int]) -> tuple[Relative, ...]:
    return tuple(
        Relative(part, lot or None, serial or None, job, depth)
        for ((part, lot, serial), job), depth in walked.items()
    )


def differences(ours: Trace, theirs: Trace) -> list[str]:
    """The sections of two traces that hold different rows (order aside)."""
    differing = []
    for section in fields(Trace):
        mine, other = getattr(ours, section.name), getattr(theirs, section.name)
        if isinstance(mine, tuple):
            if Counter(map(astuple, mine)) != Counter(map(astuple, other)):
                differing.append(section.name)
        elif mine != other:
            differing.append(section.name)
    return differing


def _facts(plant: Plant, result: Trace, queries: int) -> tuple[str, ...]:
    depth = max((each.depth for each in result.forward), default=0)
    descendants = len({(r.part, r.lot, r.serial) for r in result.forward})
    shipped = sum((each.qty for each in result.shipments), Decimal(0))
    made = "cached" if plant.cached else "generated now"
    return (
        f"plant: {plant.movements:,} movements, {plant.lots:,} lots, {plant.serials:,} serials,"
        f" {plant.jobs:,} jobs (made in {plant.seconds:.1f} s, {made})",
        f"recalled lot {plant.recall_lot} of {plant.recall_part}: {descendants:,} descendants"
        f" over {depth} levels, {len(result.shipments):,} shipments ({shipped:,} units)",
        f"baseline: {queries:,} queries per trace; medians of {ROUNDS * OURS_PER_ROUND}"
        f" (ours) and {ROUNDS} (baseline) runs, in turns",
    )
