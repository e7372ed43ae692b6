"""The SQL behind `scanner.recall`: where a whole family is now, in one statement per question,
whatever the family's size.

The trace (`scanner.trace_queries`) has already walked the genealogy; walking it again for
each question would cost the walk again (most of a trace). So the family it found is handed
back as one bound parameter, a JSON list of `[part, lot, serial]` keys (read with `json_each`
on SQLite, `json_array_elements` on PostgreSQL), beside the trace's own seeds. From each node
every step is an index lookup, in the order written (`scanner.trace_queries.joined_in_order`):
its balances by their primary key, the jobs that consumed it by `ix_job_lots_node` and each
job by its key, its shipments by `ix_movements_shipped_lot` or `_serial`; the lot and serial
rows (for their statuses) only of the few nodes with stock or in an open job.

A handheld's movements still waiting for the store are read from its outbox
(`ix_movements_outbox`), a shift's scans at most, and matched to the family in Python; the
central store asks its devices' last reports instead (`sync.central.recall_waiting`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    FunctionElement,
    Integer,
    Select,
    String,
    bindparam,
    case,
    func,
    literal_column,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from scanner.cursor_statements import Prepared
from scanner.models import (
    NO_LOT,
    Balance,
    Job,
    JobLotRole,
    JobStatus,
    Lot,
    Movement,
    MovementKind,
    SalesOrder,
    Serial,
    SyncState,
)
from scanner.trace_queries import (
    JOB_LOTS,
    joined_in_order,
    movements_of,
    node_column,
    same_node,
    seeds_of,
    typed_null,
)

BALANCES = Balance.__table__
JOBS = Job.__table__
LOTS = Lot.__table__
SERIALS = Serial.__table__
SALES_ORDERS = SalesOrder.__table__
MOVEMENTS = Movement.__table__


STOCK, WIP, SHIPPED = 0, 1, 2
"""The `section` of a row of `where_now`: stock on hand, what an open job consumed, a
shipment."""


@dataclass(frozen=True)
class FamilyQueries:
    """A recall's statement over the family a trace found: the parameters are the trace's
    (`part`, `lot`, `serial`) and `family`, the JSON list of the descendants' keys."""

    where_now: Prepared
    """Where the family is now, as rows of (section, part, lot, serial, ref, party, place,
    line, at, lot status, expiry, serial status, qty):

    - `STOCK`: a node's stock at a location (ref), with its lot's status and expiry and
      a serial's own status;
    - `WIP`: what an open job (ref) making `party` at `place` consumed of a node, with the
      same statuses;
    - `SHIPPED`: each shipment, not reversed, on sales order `ref` line `line` to customer
      `party` at `at`.

    The family is read once, and each node costs an index lookup for each question (most
    nodes have no stock, no open job and no shipment)."""


@cache
def family_queries_for(serials_of_lot: bool) -> FamilyQueries:
    """The recall's statement; the seeds are the trace's (`scanner.trace_queries.seeds_of`)."""
    family = _family(seeds_of(serials_of_lot))
    arms = (_stock(family), _wip(family), _shipped(family))
    where_now = union_all(*arms)
    c = where_now.selected_columns
    return FamilyQueries(
        where_now=Prepared(
            where_now.order_by(c.section, c.at, c.part, c.lot, c.serial, c.ref, c.line)
        )
    )


PENDING = Prepared(
    select(
        MOVEMENTS.c.part,
        MOVEMENTS.c.lot,
        MOVEMENTS.c.serial,
        MOVEMENTS.c.kind,
        MOVEMENTS.c.qty,
        MOVEMENTS.c.from_location,
        MOVEMENTS.c.to_location,
        MOVEMENTS.c.job,
        MOVEMENTS.c.so,
        MOVEMENTS.c.happened_at,
        MOVEMENTS.c.device_id,
    )
    # The literal matches the outbox index's condition, so both planners read that index.
    .where(MOVEMENTS.c.sync_state == literal_column(f"'{SyncState.PENDING.value}'"))
    .order_by(MOVEMENTS.c.device_id, MOVEMENTS.c.device_seq)
)
"""A handheld's movements still waiting for the store, read from its outbox
(`ix_movements_outbox`): a shift's scans at most, matched to the family in Python."""


class _ListedKeys(FunctionElement[Any]):
    """The elements of the JSON list bound as `family`, as a table of one column, `value`."""

    name = "json_each"
    inherit_cache = True


@compiles(_ListedKeys)
def _json_each(element: _ListedKeys, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(_ListedKeys, "postgresql")
def _json_array_elements(element: _ListedKeys, compiler: SQLCompiler, **kw: Any) -> str:
    listed = compiler.process(element.clauses, **kw)
    return f"json_array_elements(CAST({listed} AS json))"


def _family(seeds: CTE) -> CTE:
    """The seeds and every node named in the `family` parameter, once each."""
    listed = _ListedKeys(bindparam("family", type_=String())).table_valued("value").alias("listed")
    # `->>` with a number reads that element of a JSON array as text, on both databases.
    fields = [listed.c.value.op("->>")(literal_column(str(place))) for place in range(3)]
    named = select(*(node_column(field, name) for field, name in zip(fields, _KEY, strict=True)))
    return union(select(seeds.c.part, seeds.c.lot, seeds.c.serial), named).cte("family")


_KEY = ("part", "lot", "serial")


def _statuses(found: FromClause, family: CTE) -> tuple[FromClause, list[ColumnElement[Any]]]:
    """`found` (rows of family nodes) with the node's serial and lot rows: its lot's status
    and expiry (a serial's lot is its record's), and a serial's own status."""
    serial = SERIALS.alias("serial_row")
    lot = LOTS.alias("lot_row")
    lot_number = case((family.c.lot != NO_LOT, family.c.lot), else_=serial.c.lot)
    joined = joined_in_order(
        joined_in_order(
            found,
            serial,
            serial.c.part == family.c.part,
            serial.c.number == family.c.serial,
            outer=True,
        ),
        lot,
        lot.c.part == family.c.part,
        lot.c.number == lot_number,
        outer=True,
    )
    return joined, [lot.c.status, lot.c.expiry, serial.c.quality_status]


def _section(number: int) -> ColumnElement[int]:
    return literal_column(str(number), Integer).label("section")


def _stock(family: CTE) -> Select[Any]:
    stock = BALANCES.alias("stock")
    found, statuses = _statuses(
        joined_in_order(family, stock, same_node(stock, family), stock.c.qty != 0), family
    )
    return select(
        _section(STOCK),
        # Named: a compound statement's ORDER BY names the first arm's columns.
        family.c.part.label("part"),
        family.c.lot.label("lot"),
        family.c.serial.label("serial"),
        stock.c.location.label("ref"),
        typed_null(JOBS.c.part.type).label("party"),
        typed_null(JOBS.c.location.type).label("place"),
        typed_null(Integer()).label("line"),
        typed_null(MOVEMENTS.c.happened_at.type).label("at"),
        *statuses,
        stock.c.qty,
    ).select_from(found)


def _wip(family: CTE) -> Select[Any]:
    used = JOB_LOTS.alias("used")
    job = JOBS.alias("job")
    consumed = joined_in_order(
        joined_in_order(
            family,
            used,
            same_node(used, family),
            used.c.role == literal_column(f"'{JobLotRole.CONSUMED.value}'"),
            used.c.qty > 0,
        ),
        job,
        job.c.number == used.c.job,
        job.c.status == literal_column(f"'{JobStatus.OPEN.value}'"),
    )
    found, statuses = _statuses(consumed, family)
    return select(
        _section(WIP),
        family.c.part,
        family.c.lot,
        family.c.serial,
        used.c.job,
        job.c.part,
        job.c.location,
        typed_null(Integer()),
        typed_null(MOVEMENTS.c.happened_at.type),
        *statuses,
        used.c.qty,
    ).select_from(found)


def _shipped(family: CTE) -> Select[Any]:
    shipped = movements_of(family, MovementKind.SHIP, extra=("so_line", "happened_at"))
    order = SALES_ORDERS.alias("sales_order")
    return select(
        _section(SHIPPED),
        shipped.c.part,
        func.coalesce(shipped.c.lot, NO_LOT),
        func.coalesce(shipped.c.serial, NO_LOT),
        shipped.c.ref,
        order.c.customer,
        typed_null(JOBS.c.location.type),
        shipped.c.so_line,
        shipped.c.happened_at,
        typed_null(LOTS.c.status.type),
        typed_null(LOTS.c.expiry.type),
        typed_null(SERIALS.c.quality_status.type),
        shipped.c.qty,
    ).select_from(joined_in_order(shipped, order, order.c.number == shipped.c.ref))
