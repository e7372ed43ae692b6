"""Trace a lot or serial: what it was made from, down to the supplier receipts, and what was
made from it, out to every customer shipment (DESIGN §1, §8).

The genealogy is the `JobLot` cache: what a job consumed is the parent of what it produced.
Each direction is one statement: a recursive walk over the jobs (`WITH RECURSIVE`, on SQLite
and PostgreSQL alike), then the relatives those jobs consumed or produced and the receipts
or shipments of every lot and serial in the family, so a trace costs the same six
statements whatever the size of the family tree. Every step is an index lookup: a node's
job rows by `ix_job_lots_node` (which covers them), a job's other rows by the job_lots
primary key, a node's receipts or shipments by `ix_movements_part_lot` or
`ix_movements_part_serial` (both end in the movement's kind), and "was it reversed?" by
`ix_movements_reverses`.

Nodes are keyed as in the caches (see `scanner.caches.stock_key`): (part, lot, "") for a
lot, (part, "", serial) for a serial, (part, "", "") for an untracked part. The walk does not
go through an untracked node: "4 of part X" can be a parent, but every other job that used
or made part X has nothing to do with this lot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Dialect,
    FromClause,
    Integer,
    Join,
    Row,
    Select,
    Subquery,
    and_,
    bindparam,
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
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import NamedFromClause
from sqlalchemy.types import TypeEngine

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
from scanner.quantity import Quantity, format_quantity
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
    dialect = session.get_bind().dialect
    backward, receipts = _family(session.execute(queries.backward, seed).all(), Receipt, dialect)
    forward, shipments = _family(
        session.execute(queries.forward, seed).all(), _shipment_of, dialect
    )
    return Trace(
        part=part,
        lot=lot,
        serial=serial,
        backward=backward,
        receipts=receipts,
        forward=forward,
        shipments=shipments,
        on_hand=tuple(
            StockRow.from_balance(*row) for row in session.execute(queries.on_hand, seed).all()
        ),
        jobs=tuple(
            JobUse(job, part, lot or None, serial or None, qty, role)
            for job, part, lot, serial, qty, role in session.execute(queries.jobs, seed).all()
        ),
    )


_Moved = TypeVar("_Moved", Receipt, Shipment)


def _family(
    rows: Sequence[Row[Any]], moved: Callable[..., _Moved], dialect: Dialect
) -> tuple[tuple[Relative, ...], tuple[_Moved, ...]]:
    """A family query's rows (see `_family_of`) as the relatives and the receipts or
    shipments, each of those made by `moved` from (part, lot, serial, order, supplier or
    customer, supplier lot, qty)."""
    relatives: list[Relative] = []
    movements: list[_Moved] = []
    quantity = _STORED.process_result_value
    for section, part, lot, serial, ref, party, supplier_lot, depth, qty in rows:
        if section == _RELATIVE:
            relatives.append(Relative(part, lot or None, serial or None, ref, depth))
        else:
            amount = quantity(qty, dialect)
            movements.append(moved(part, lot, serial, ref, party, supplier_lot, amount))
    return tuple(relatives), tuple(movements)


def _shipment_of(
    part: str,
    lot: str | None,
    serial: str | None,
    so: str,
    customer: str,
    _supplier_lot: None,
    qty: Decimal,
) -> Shipment:
    """A shipment from a family query's row, whose supplier lot is always empty."""
    return Shipment(part, lot, serial, so, customer, qty)


# ---- the queries ------------------------------------------------------------------------
#
# Built once per kind of seed, with the seed as bound parameters (part, lot, serial), so a
# trace neither rebuilds nor recompiles them: SQLAlchemy caches the compiled SQL.

# Tables, not the mapped classes: a statement that names no ORM entity skips the ORM's
# row loading, milliseconds on a recall's thousands of rows.
JOB_LOTS = JobLot.__table__
MOVEMENTS = Movement.__table__
SERIALS = Serial.__table__
LOTS = Lot.__table__
PURCHASE_ORDERS = PurchaseOrder.__table__
SALES_ORDERS = SalesOrder.__table__
BALANCES = Balance.__table__

_STORED = Quantity()
"""Reads a family query's quantities, stored thousandths, for its receipts or shipments
(see `_family`)."""

_RELATIVE, _MOVED = 0, 1
"""The `section` of a family query's row: a relative, or a receipt or shipment."""

_MovementsOf = Callable[[CTE], Select[Any]]
"""Builds the receipts or the shipments of a lineage's nodes (`_receipts`, `_shipments`)."""


@dataclass(frozen=True)
class _Queries:
    backward: CompoundSelect[Any]
    forward: CompoundSelect[Any]
    on_hand: Select[Any]
    jobs: Select[Any]


@cache
def _queries(serials_of_lot: bool) -> _Queries:
    """The four queries of a trace. The seeds are the traced node, or, for a lot of a
    serial-tracked part, each serial in that lot."""
    if serials_of_lot:
        serials = SERIALS.c
        seeds = select(serials.part, _key(literal(NO_LOT), "lot"), serials.number.label("serial"))
        seeds = seeds.where(serials.part == bindparam("part"), serials.lot == bindparam("lot"))
    else:
        seeds = select(
            _key(bindparam("part"), "part"),
            _key(bindparam("lot"), "lot"),
            _key(bindparam("serial"), "serial"),
        )
    seed = seeds.cte("seeds")
    return _Queries(
        backward=_family_of(seed, JobLotRole.PRODUCED, JobLotRole.CONSUMED, _receipts),
        forward=_family_of(seed, JobLotRole.CONSUMED, JobLotRole.PRODUCED, _shipments),
        on_hand=_on_hand(seed),
        jobs=_jobs(seed),
    )


def _key(value: ColumnElement[Any], name: str) -> ColumnElement[str]:
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


def _then(
    left: FromClause, right: NamedFromClause, *on: ColumnElement[bool], outer: bool = False
) -> _JoinInOrder:
    """`left` joined to `right` on all of `on`, read in that order (see `_JoinInOrder`);
    `outer` keeps the rows of `left` that `right` has no match for."""
    return _JoinInOrder(left, right, and_(*on), isouter=outer)


def _same_node(row: FromClause, node: FromClause) -> ColumnElement[bool]:
    return and_(row.c.part == node.c.part, row.c.lot == node.c.lot, row.c.serial == node.c.serial)


def _tracked(node: FromClause) -> ColumnElement[bool]:
    return or_(node.c.lot != NO_LOT, node.c.serial != NO_LOT)


def _family_of(
    seeds: CTE, start: JobLotRole, end: JobLotRole, moved: _MovementsOf
) -> CompoundSelect[Any]:
    """One direction of a trace in one statement: its relatives and the receipts or
    shipments (`moved`) of the seeds and of every tracked relative, as rows of (section,
    part, lot, serial, job or order, supplier or customer, supplier lot, depth, qty), the
    relatives first, each section in the order the trace lists it."""
    relatives = _relatives_in(_walk(seeds, start, end), end)
    lineage = union(
        select(seeds.c.part, seeds.c.lot, seeds.c.serial),
        select(relatives.c.part, relatives.c.lot, relatives.c.serial).where(_tracked(relatives)),
    ).cte("lineage")
    orders = moved(lineage).subquery("orders")
    family = union_all(
        select(
            literal_column(str(_RELATIVE), Integer).label("section"),
            relatives.c.part,
            relatives.c.lot,
            relatives.c.serial,
            relatives.c.job.label("ref"),
            _nothing(SALES_ORDERS.c.customer.type).label("party"),
            _nothing(LOTS.c.supplier_lot.type).label("supplier_lot"),
            relatives.c.depth,
            # Stored thousandths: `_family` reads them for the movements alone. Typed as a
            # Quantity, SQLAlchemy would read every relative's NULL too (most of a recall).
            _nothing(BigInteger()).label("qty"),
        ),
        select(
            literal_column(str(_MOVED), Integer),
            orders.c.part,
            orders.c.lot,
            orders.c.serial,
            orders.c.ref,
            orders.c.party,
            orders.c.supplier_lot,
            _nothing(Integer()),
            orders.c.qty,
        ),
    )
    c = family.selected_columns
    return family.order_by(
        c.section, c.depth, *_nulls_first([c.part, c.lot, c.serial, c.ref, c.party, c.supplier_lot])
    )


def _nothing(type_: TypeEngine[Any]) -> ColumnElement[Any]:
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
        _then(seeds, named, _same_node(named, seeds), named.c.role == start.value, named.c.qty > 0)
    )
    walk = first.cte("walk", recursive=True)
    previous = walk.alias("previous")
    through = JOB_LOTS.alias("through")
    following = JOB_LOTS.alias("following")
    steps = _then(
        _then(
            previous,
            through,
            through.c.job == previous.c.job,
            through.c.role == end.value,
            through.c.qty > 0,
            _tracked(through),
        ),
        following,
        _same_node(following, through),
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
            _then(
                nearest,
                relative,
                relative.c.job == nearest.c.job,
                relative.c.role == end.value,
                relative.c.qty > 0,
            )
        )
        .cte("relatives")
    )


def _movements(nodes: CTE, kind: MovementKind) -> Subquery:
    """The movements of `kind`, not reversed, of the nodes' lots and serials. Two halves so
    each can use its index: lots by (part, lot, kind), serials by (part, serial, kind)."""
    moved = MOVEMENTS.alias("moved")
    reversal = MOVEMENTS.alias("reversal")
    columns = (moved.c.part, moved.c.lot, moved.c.serial, moved.c.po, moved.c.so, moved.c.qty)
    # EXISTS (SELECT reverses ...), not SELECT *: SQLite then answers from the index alone.
    reversed_ = select(reversal.c.reverses).where(reversal.c.reverses == moved.c.id).exists()
    kept = (moved.c.kind == kind.value, ~reversed_)
    by_lot = (
        select(*columns)
        .select_from(
            _then(nodes, moved, moved.c.part == nodes.c.part, moved.c.lot == nodes.c.lot, *kept)
        )
        .where(nodes.c.lot != NO_LOT, nodes.c.serial == NO_LOT)
    )
    by_serial = (
        select(*columns)
        .select_from(
            _then(
                nodes, moved, moved.c.part == nodes.c.part, moved.c.serial == nodes.c.serial, *kept
            )
        )
        .where(nodes.c.serial != NO_LOT)
    )
    return union_all(by_lot, by_serial).subquery(f"{kind.value}s")


def _receipts(lineage: CTE) -> Select[Any]:
    """(part, lot, serial, ref: the PO, party: the supplier, supplier_lot, qty), summed."""
    received = _movements(lineage, MovementKind.RECEIVE)
    order = PURCHASE_ORDERS.alias("purchase_order")
    record = LOTS.alias("lot_record")
    found = _then(
        _then(received, order, order.c.number == received.c.po, outer=True),
        record,
        record.c.part == received.c.part,
        record.c.number == received.c.lot,
        outer=True,
    )
    key = (
        received.c.part,
        received.c.lot,
        received.c.serial,
        received.c.po.label("ref"),
        order.c.supplier.label("party"),
        record.c.supplier_lot.label("supplier_lot"),
    )
    return select(*key, func.sum(received.c.qty).label("qty")).select_from(found).group_by(*key)


def _shipments(lineage: CTE) -> Select[Any]:
    """(part, lot, serial, ref: the sales order, party: the customer, supplier_lot: none,
    qty), summed."""
    shipped = _movements(lineage, MovementKind.SHIP)
    order = SALES_ORDERS.alias("sales_order")
    key = (
        shipped.c.part,
        shipped.c.lot,
        shipped.c.serial,
        shipped.c.so.label("ref"),
        order.c.customer.label("party"),
    )
    return (
        select(
            *key,
            _nothing(LOTS.c.supplier_lot.type).label("supplier_lot"),
            func.sum(shipped.c.qty).label("qty"),
        )
        .select_from(_then(shipped, order, order.c.number == shipped.c.so))
        .group_by(*key)
    )


def _nulls_first(columns: Sequence[Any]) -> list[ColumnElement[Any]]:
    """Sort keys that put a missing value first on both databases (PostgreSQL puts NULL
    last by default, SQLite first)."""
    return [column.nulls_first() for column in columns]


def _on_hand(seeds: CTE) -> Select[Any]:
    stock = BALANCES.alias("stock")
    return (
        select(stock.c.part, stock.c.lot, stock.c.serial, stock.c.location, stock.c.qty)
        .select_from(_then(seeds, stock, _same_node(stock, seeds)))
        .order_by(stock.c.part, stock.c.lot, stock.c.serial, stock.c.location)
    )


def _jobs(seeds: CTE) -> Select[Any]:
    used = JOB_LOTS.alias("used")
    return (
        select(used.c.job, used.c.part, used.c.lot, used.c.serial, used.c.qty, used.c.role)
        .select_from(_then(seeds, used, _same_node(used, seeds)))
        .where(used.c.qty > 0)
        .order_by(used.c.job, used.c.role, used.c.serial)
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
