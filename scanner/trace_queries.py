"""The SQL behind `scanner.trace`: one statement per direction that walks the job genealogy
and returns the relatives with their receipts (backward) or shipments (forward).

The walk runs over (job, depth), from the jobs that made (or used) the traced node to the
jobs that used (or made) what they made, so each job is joined once at its smallest depth.
The join order is forced, CROSS JOIN on SQLite and LATERAL on PostgreSQL, so a planner
without statistics never scans `job_lots` whole. Every step is an index lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    CompoundSelect,
    FromClause,
    Integer,
    Join,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import NamedFromClause
from sqlalchemy.types import TypeEngine

from scanner.cursor_statements import Prepared
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
    Serial,
)

MAX_DEPTH = 64
"""How many generations a walk follows. Rework (a job that consumes lot X and makes lot X
again) makes cycles; the cap is what ends the recursion on them."""


JOB_LOTS = JobLot.__table__
MOVEMENTS = Movement.__table__
SERIALS = Serial.__table__
LOTS = Lot.__table__
PURCHASE_ORDERS = PurchaseOrder.__table__
SALES_ORDERS = SalesOrder.__table__
BALANCES = Balance.__table__

RELATIVE, MOVED, RETURNED = 0, 1, 2
"""The `section` of a family query's row: a relative, a receipt or shipment, or a return
(forward only)."""
FROM_CUSTOMER, TO_SUPPLIER = "from_customer", "to_supplier"
"""Which way a return went, as a trace names it."""

_MovementsOf = Callable[[CTE], Select[Any]]
"""Builds the receipts or the shipments of a lineage's nodes (`_receipts`, `_shipments`)."""


@dataclass(frozen=True)
class Queries:
    """A trace's four statements, run on the driver's cursor (`scanner.cursor_statements`): a
    recall's family query returns thousands of rows, and SQLAlchemy's result rows cost
    more than reading them."""

    backward: Prepared
    forward: Prepared
    on_hand: Prepared
    jobs: Prepared


@cache
def queries_for(serials_of_lot: bool) -> Queries:
    """The four queries of a trace. The seeds are the traced node, or, for a lot of a
    serial-tracked part, each serial in that lot."""
    seed = seeds_of(serials_of_lot)
    return Queries(
        backward=Prepared(_family_of(seed, JobLotRole.PRODUCED, JobLotRole.CONSUMED, _receipts)),
        forward=Prepared(
            _family_of(seed, JobLotRole.CONSUMED, JobLotRole.PRODUCED, _shipments, _returns)
        ),
        on_hand=Prepared(_on_hand(seed)),
        jobs=Prepared(_jobs(seed)),
    )


def seeds_of(serials_of_lot: bool) -> CTE:
    """Where a walk starts, from the parameters `part`, `lot` and `serial` (keys as the
    caches write them): the node they name, or, for a lot of a serial-tracked part
    (`serials_of_lot`), each serial in that lot."""
    if serials_of_lot:
        serials = SERIALS.c
        seeds = select(
            serials.part, node_column(literal(NO_LOT), "lot"), serials.number.label("serial")
        )
        seeds = seeds.where(serials.part == bindparam("part"), serials.lot == bindparam("lot"))
    else:
        seeds = select(
            node_column(bindparam("part"), "part"),
            node_column(bindparam("lot"), "lot"),
            node_column(bindparam("serial"), "serial"),
        )
    return seeds.cte("seeds")


def node_column(value: ColumnElement[Any], name: str) -> ColumnElement[str]:
    """`value` as a column of a node's key, named `name`."""
    return type_coerce(value, JOB_LOTS.c.lot.type).label(name)


class _JoinInOrder(Join):
    """A join run in the order written: for each row on the left, an index lookup of the
    matching rows on the right. A trace reads a few thousand rows of tables a thousand
    times larger and that plan reads only those, but the planners guess the size of a CTE
    and do not always find it.

    SQLite without ANALYZE statistics did not, for an earlier form of the family query: it
    scanned all of job_lots and probed the walk's jobs (131 ms instead of 59 for the
    benchmark's recall). CROSS JOIN is its documented way to fix the order, and a LEFT JOIN
    is never reordered. PostgreSQL's statistics mislead it: a lot key is "" on every
    serial's row and the other way round, so it took the walk for 87,000 jobs instead of
    2,400, hashed all of job_lots and movements and compiled the query with JIT (460 ms
    instead of 120). A LATERAL subquery that it may not flatten (OFFSET 0) is how it is told
    to look the rows up one by one."""

    inherit_cache = True

    right: NamedFromClause


@compiles(_JoinInOrder, "sqlite")
def _cross_join(join: _JoinInOrder, compiler: SQLCompiler, **kw: Any) -> str:
    left, right, on = _join_parts(join, compiler, kw)
    # SQLite never swaps the sides of a LEFT JOIN.
    how = "LEFT OUTER JOIN" if join.isouter else "CROSS JOIN"
    return f"{left} {how} {right} ON {on}"


@compiles(_JoinInOrder, "postgresql")
def _lateral_join(join: _JoinInOrder, compiler: SQLCompiler, **kw: Any) -> str:
    left, right, on = _join_parts(join, compiler, kw)
    looked_up = f"LATERAL (SELECT * FROM {right} WHERE {on} OFFSET 0)"
    name = compiler.preparer.quote(join.right.name)
    if join.isouter:
        return f"{left} LEFT OUTER JOIN {looked_up} AS {name} ON true"
    return f"{left} CROSS JOIN {looked_up} AS {name}"


def _join_parts(
    join: _JoinInOrder, compiler: SQLCompiler, kw: dict[str, Any]
) -> tuple[str, str, str]:
    """The left side, the right side and the condition of `join`, as SQL."""
    assert join.onclause is not None
    kw.pop("asfrom", None)
    return (
        compiler.process(join.left, asfrom=True, **kw),
        compiler.process(join.right, asfrom=True, **kw),
        compiler.process(join.onclause, **kw),
    )


def joined_in_order(
    left: FromClause, right: NamedFromClause, *on: ColumnElement[bool], outer: bool = False
) -> _JoinInOrder:
    """`left` joined to `right` on all of `on`, read in that order (see `_JoinInOrder`);
    `outer` keeps the rows of `left` that `right` has no match for."""
    return _JoinInOrder(left, right, and_(*on), isouter=outer)


def same_node(row: FromClause, node: FromClause) -> ColumnElement[bool]:
    """`row` is of the node `node` (part, lot and serial as the caches key them)."""
    return and_(row.c.part == node.c.part, row.c.lot == node.c.lot, row.c.serial == node.c.serial)


def _tracked(node: FromClause) -> ColumnElement[bool]:
    return or_(node.c.lot != NO_LOT, node.c.serial != NO_LOT)


def _family_of(
    seeds: CTE,
    start: JobLotRole,
    end: JobLotRole,
    moved: _MovementsOf,
    returned: _MovementsOf | None = None,
) -> CompoundSelect[Any]:
    """One direction of a trace in one statement: its relatives and the receipts or
    shipments (`moved`) of the seeds and of every tracked relative, as rows of (section,
    part, lot, serial, job or order, supplier or customer, supplier lot, depth, qty), the
    relatives first, each section in the order the trace lists it; then, with `returned`,
    their returns (the supplier lot's place holds which way each went)."""
    relatives = _relatives_in(_walk(seeds, start, end), end)
    lineage = union(
        select(seeds.c.part, seeds.c.lot, seeds.c.serial),
        select(relatives.c.part, relatives.c.lot, relatives.c.serial).where(_tracked(relatives)),
    ).cte("lineage")
    found = moved(lineage).subquery("found")
    orders: Select[Any] | CompoundSelect[Any] = select(
        literal_column(str(MOVED), Integer).label("section"), *found.c
    )
    if returned is not None:
        # In the same arm as the receipts or shipments: a third arm of the UNION cost
        # SQLite another merge of the sorted rows, a millisecond of a recall.
        back = returned(lineage).subquery("returned")
        names = ("part", "lot", "serial", "ref", "party", "way", "qty")
        orders = union_all(
            orders, select(literal_column(str(RETURNED), Integer), *(back.c[n] for n in names))
        )
    moved_rows = orders.subquery("orders")
    family = union_all(
        select(
            literal_column(str(RELATIVE), Integer).label("section"),
            relatives.c.part,
            relatives.c.lot,
            relatives.c.serial,
            relatives.c.job.label("ref"),
            typed_null(SALES_ORDERS.c.customer.type).label("party"),
            typed_null(LOTS.c.supplier_lot.type).label("supplier_lot"),
            relatives.c.depth,
            # Stored thousandths: `trace` reads them for the movements alone. Typed as a
            # Quantity, SQLAlchemy would read every relative's NULL too (most of a recall).
            typed_null(BigInteger()).label("qty"),
        ),
        select(
            moved_rows.c.section,
            moved_rows.c.part,
            moved_rows.c.lot,
            moved_rows.c.serial,
            moved_rows.c.ref,
            moved_rows.c.party,
            moved_rows.c.supplier_lot,
            typed_null(Integer()),
            moved_rows.c.qty,
        ),
    )
    c = family.selected_columns
    return family.order_by(
        c.section, c.depth, *_nulls_first([c.part, c.lot, c.serial, c.ref, c.party, c.supplier_lot])
    )


def typed_null(type_: TypeEngine[Any]) -> ColumnElement[Any]:
    """A NULL of `type_`: PostgreSQL needs the sides of a UNION to agree on their types."""
    return cast(null(), type_)


def _walk(seeds: CTE, start: JobLotRole, end: JobLotRole) -> CTE:
    """Every (job, depth) the walk from the seeds reaches: at depth 1 the jobs a seed is a
    `start` row of, at depth n + 1 the jobs a tracked `end` row of a depth-n job is a `start`
    row of (backward: produced → consumed; forward: consumed → produced). A job is expanded
    once per depth it is reached at, however many of its inputs the walk met; untracked
    nodes are never walked from."""
    named = JOB_LOTS.alias("named")
    first = select(named.c.job, literal_column("1", Integer).label("depth")).select_from(
        joined_in_order(
            seeds, named, same_node(named, seeds), named.c.role == start.value, named.c.qty > 0
        )
    )
    walk = first.cte("walk", recursive=True)
    previous = walk.alias("previous")
    through = JOB_LOTS.alias("through")
    following = JOB_LOTS.alias("following")
    steps = joined_in_order(
        joined_in_order(
            previous,
            through,
            through.c.job == previous.c.job,
            through.c.role == end.value,
            through.c.qty > 0,
            _tracked(through),
        ),
        following,
        same_node(following, through),
        following.c.role == start.value,
        following.c.qty > 0,
    )
    # UNION, not UNION ALL: a job met again at the same depth is not walked twice.
    return walk.union(
        select(following.c.job, (previous.c.depth + 1).label("depth"))
        .select_from(steps)
        .where(previous.c.depth < MAX_DEPTH)
    )


def _relatives_in(walk: CTE, end: JobLotRole) -> CTE:
    """The `end` rows of the jobs walked, each at the smallest depth its job was reached at:
    one per (node, job), as job_lots holds one row per job, role and node."""
    nearest = (
        select(walk.c.job, func.min(walk.c.depth).label("depth"))
        .group_by(walk.c.job)
        .subquery("nearest")
    )
    relative = JOB_LOTS.alias("relative")
    return (
        select(relative.c.part, relative.c.lot, relative.c.serial, relative.c.job, nearest.c.depth)
        .select_from(
            joined_in_order(
                nearest,
                relative,
                relative.c.job == nearest.c.job,
                relative.c.role == end.value,
                relative.c.qty > 0,
            )
        )
        .cte("relatives")
    )


def movements_of(nodes: CTE, kind: MovementKind, extra: tuple[str, ...] = ()) -> Subquery:
    """The movements of `kind`, not reversed, of the nodes' lots and serials, as (part, lot,
    serial, ref: the order, qty), and for returns also (so, po, way: `FROM_CUSTOMER` or
    `TO_SUPPLIER`), then the movement's columns named in `extra` (read from the table, not
    the index: a recall's shipment dates and lines). Two halves so each can use its index:
    lots by (part, lot, kind), serials by (part, serial, kind); for shipments and returns,
    the indexes of those alone, which hold all these columns (`ix_movements_shipped_lot`
    and `_serial`, `ix_movements_returned_lot` and `_serial`). The kind is written into the
    statement: a planner takes a partial index only for a literal."""
    moved = MOVEMENTS.alias("moved")
    reversal = MOVEMENTS.alias("reversal")
    order = moved.c.so if kind == MovementKind.SHIP else moved.c.po
    columns: tuple[ColumnElement[Any], ...] = (
        moved.c.part,
        moved.c.lot,
        moved.c.serial,
        order.label("ref"),
        moved.c.qty,
    )
    if kind == MovementKind.RETURN:
        way = case((moved.c.to_location.is_not(None), FROM_CUSTOMER), else_=TO_SUPPLIER)
        columns += (moved.c.so, moved.c.po, type_coerce(way, LOTS.c.supplier_lot.type).label("way"))
    columns += tuple(moved.c[name] for name in extra)
    # EXISTS (SELECT reverses ...), not SELECT *: SQLite then answers from the index alone.
    reversed_ = select(reversal.c.reverses).where(reversal.c.reverses == moved.c.id).exists()
    kept = (moved.c.kind == literal_column(f"'{kind.value}'"), ~reversed_)
    by_lot = (
        select(*columns)
        .select_from(
            joined_in_order(
                nodes, moved, moved.c.part == nodes.c.part, moved.c.lot == nodes.c.lot, *kept
            )
        )
        .where(nodes.c.lot != NO_LOT, nodes.c.serial == NO_LOT)
    )
    by_serial = (
        select(*columns)
        .select_from(
            joined_in_order(
                nodes, moved, moved.c.part == nodes.c.part, moved.c.serial == nodes.c.serial, *kept
            )
        )
        .where(nodes.c.serial != NO_LOT)
    )
    return union_all(by_lot, by_serial).subquery(f"{kind.value}s")


def _receipts(lineage: CTE) -> Select[Any]:
    """(part, lot, serial, ref: the PO, party: the supplier, supplier_lot, qty), summed."""
    received = movements_of(lineage, MovementKind.RECEIVE)
    order = PURCHASE_ORDERS.alias("purchase_order")
    record = LOTS.alias("lot_record")
    found = joined_in_order(
        joined_in_order(received, order, order.c.number == received.c.ref, outer=True),
        record,
        record.c.part == received.c.part,
        record.c.number == received.c.lot,
        outer=True,
    )
    key = (
        received.c.part,
        received.c.lot,
        received.c.serial,
        received.c.ref,
        order.c.supplier.label("party"),
        record.c.supplier_lot.label("supplier_lot"),
    )
    return select(*key, func.sum(received.c.qty).label("qty")).select_from(found).group_by(*key)


def _shipments(lineage: CTE) -> Select[Any]:
    """(part, lot, serial, ref: the sales order, party: the customer, supplier_lot: none,
    qty), summed."""
    shipped = movements_of(lineage, MovementKind.SHIP)
    order = SALES_ORDERS.alias("sales_order")
    key = (
        shipped.c.part,
        shipped.c.lot,
        shipped.c.serial,
        shipped.c.ref,
        order.c.customer.label("party"),
    )
    return (
        select(
            *key,
            typed_null(LOTS.c.supplier_lot.type).label("supplier_lot"),
            func.sum(shipped.c.qty).label("qty"),
        )
        .select_from(joined_in_order(shipped, order, order.c.number == shipped.c.ref))
        .group_by(*key)
    )


def _returns(lineage: CTE) -> Select[Any]:
    """(part, lot, serial, ref: the order, party: the customer or the supplier, way: from
    the customer or to the supplier, qty), summed. Found by the indexes of returns alone,
    `ix_movements_returned_lot` and `_serial`, which hold what is read: a recall probes them
    for every node, and most nodes have no return."""
    returned = movements_of(lineage, MovementKind.RETURN)
    sales = SALES_ORDERS.alias("customer_order")
    purchases = PURCHASE_ORDERS.alias("supplier_order")
    found = joined_in_order(
        joined_in_order(returned, sales, sales.c.number == returned.c.so, outer=True),
        purchases,
        purchases.c.number == returned.c.po,
        outer=True,
    )
    key = (
        returned.c.part,
        returned.c.lot,
        returned.c.serial,
        func.coalesce(returned.c.so, returned.c.po).label("ref"),
        func.coalesce(sales.c.customer, purchases.c.supplier).label("party"),
        returned.c.way,
    )
    return select(*key, func.sum(returned.c.qty).label("qty")).select_from(found).group_by(*key)


def _nulls_first(columns: Sequence[Any]) -> list[ColumnElement[Any]]:
    """Sort keys that put a missing value first on both databases (PostgreSQL puts NULL
    last by default, SQLite first)."""
    return [column.nulls_first() for column in columns]


def _on_hand(seeds: CTE) -> Select[Any]:
    stock = BALANCES.alias("stock")
    return (
        select(stock.c.part, stock.c.lot, stock.c.serial, stock.c.location, stock.c.qty)
        .select_from(joined_in_order(seeds, stock, same_node(stock, seeds)))
        .order_by(stock.c.part, stock.c.lot, stock.c.serial, stock.c.location)
    )


def _jobs(seeds: CTE) -> Select[Any]:
    used = JOB_LOTS.alias("used")
    return (
        select(used.c.job, used.c.part, used.c.lot, used.c.serial, used.c.qty, used.c.role)
        .select_from(joined_in_order(seeds, used, same_node(used, seeds)))
        .where(used.c.qty > 0)
        .order_by(used.c.job, used.c.role, used.c.serial)
    )
