"""The SQL behind `scanner.recall`: where a whole family is now, in one statement per question,
whatever the family's size.

The trace (`scanner.trace_queries`) has already walked the genealogy; walking it again for
each question would cost the walk again (most of a trace). So the family it found is handed
back as one bound parameter, a JSON list of `[part, lot, serial]` keys (read with `json_each`
on SQLite, `json_array_elements` on PostgreSQL), beside the trace's own seeds. From each node
every step is an index lookup, in the order written (`scanner.trace_queries.joined_in_order`):
its balances by their primary key, its lot and serial rows by theirs, the jobs that consumed it
by `ix_job_lots_node` and each job by its key, its shipments by `ix_movements_part_lot` or
`ix_movements_part_serial`.

A handheld's movements still waiting for the store are found by each node's movements
(`ix_movements_part_lot`, `ix_movements_part_serial`), not from the outbox: on a store or
a database copied from one every movement may be marked pending, and the family's are a
few thousand at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FunctionElement,
    Select,
    String,
    bindparam,
    case,
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
)

BALANCES = Balance.__table__
JOBS = Job.__table__
LOTS = Lot.__table__
SERIALS = Serial.__table__
SALES_ORDERS = SalesOrder.__table__
MOVEMENTS = Movement.__table__


@dataclass(frozen=True)
class FamilyQueries:
    """A recall's statements over the family a trace found: the parameters are the trace's
    (`part`, `lot`, `serial`) and `family`, the JSON list of the descendants' keys."""

    state: Prepared
    """Each node's stored status and expiry (a serial's, its own and its lot's), a serial's
    state and lot, and its stock by location: (part, lot, serial, lot status, expiry, serial
    status, serial state, serial lot, location, qty); a node without stock once, with no
    location."""
    wip: Prepared
    """What open jobs consumed of the family: (job, the part it makes, its location, part,
    lot, serial, qty)."""
    deliveries: Prepared
    """Each shipment of the family, not reversed: (part, lot, serial, so, so line,
    customer, happened_at, qty)."""
    pending: Prepared
    """The family's movements still waiting for the store (a handheld's outbox): (part,
    lot, serial, kind, qty, from, to, job, so, happened_at, device)."""


@cache
def family_queries_for(serials_of_lot: bool) -> FamilyQueries:
    """The recall's statements; the seeds are the trace's (`scanner.trace_queries.seeds_of`)."""
    family = _family(seeds_of(serials_of_lot))
    return FamilyQueries(
        state=Prepared(_state(family)),
        wip=Prepared(_wip(family)),
        deliveries=Prepared(_deliveries(family)),
        pending=Prepared(_pending(family)),
    )


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


def _state(family: CTE) -> Select[Any]:
    serial = SERIALS.alias("serial_row")
    lot = LOTS.alias("lot_row")
    stock = BALANCES.alias("stock")
    # A serial's lot is its record's; a lot node's is its own key.
    lot_number = case((family.c.lot != NO_LOT, family.c.lot), else_=serial.c.lot)
    found = joined_in_order(
        joined_in_order(
            joined_in_order(
                family,
                serial,
                serial.c.part == family.c.part,
                serial.c.number == family.c.serial,
                outer=True,
            ),
            lot,
            lot.c.part == family.c.part,
            lot.c.number == lot_number,
            outer=True,
        ),
        stock,
        same_node(stock, family),
        outer=True,
    )
    return (
        select(
            family.c.part,
            family.c.lot,
            family.c.serial,
            lot.c.status.label("lot_status"),
            lot.c.expiry,
            serial.c.quality_status,
            serial.c.status.label("serial_state"),
            serial.c.lot.label("serial_lot"),
            stock.c.location,
            stock.c.qty,
        )
        .select_from(found)
        .order_by(family.c.part, family.c.lot, family.c.serial, stock.c.location)
    )


def _wip(family: CTE) -> Select[Any]:
    used = JOB_LOTS.alias("used")
    job = JOBS.alias("job")
    found = joined_in_order(
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
    return (
        select(
            used.c.job,
            job.c.part.label("job_part"),
            job.c.location,
            used.c.part,
            used.c.lot,
            used.c.serial,
            used.c.qty,
        )
        .select_from(found)
        .order_by(used.c.job, used.c.part, used.c.lot, used.c.serial)
    )


def _deliveries(family: CTE) -> Select[Any]:
    shipped = movements_of(family, MovementKind.SHIP, extra=("so_line", "happened_at"))
    order = SALES_ORDERS.alias("sales_order")
    found = joined_in_order(shipped, order, order.c.number == shipped.c.ref)
    when: ColumnElement[Any] = shipped.c.happened_at
    return (
        select(
            shipped.c.part,
            shipped.c.lot,
            shipped.c.serial,
            shipped.c.ref.label("so"),
            shipped.c.so_line,
            order.c.customer,
            when,
            shipped.c.qty,
        )
        .select_from(found)
        .order_by(
            when, shipped.c.ref, shipped.c.so_line, shipped.c.part, shipped.c.lot, shipped.c.serial
        )
    )


def _pending(family: CTE) -> Select[Any]:
    moved = MOVEMENTS.alias("waiting")
    waiting = moved.c.sync_state == literal_column(f"'{SyncState.PENDING.value}'")
    columns = (
        moved.c.part,
        moved.c.lot,
        moved.c.serial,
        moved.c.kind,
        moved.c.qty,
        moved.c.from_location,
        moved.c.to_location,
        moved.c.job,
        moved.c.so,
        moved.c.happened_at,
        moved.c.device_id,
        moved.c.device_seq,
    )
    by_lot = (
        select(*columns)
        .select_from(
            joined_in_order(
                family, moved, moved.c.part == family.c.part, moved.c.lot == family.c.lot, waiting
            )
        )
        .where(family.c.lot != NO_LOT, family.c.serial == NO_LOT)
    )
    by_serial = (
        select(*columns)
        .select_from(
            joined_in_order(
                family,
                moved,
                moved.c.part == family.c.part,
                moved.c.serial == family.c.serial,
                waiting,
            )
        )
        .where(family.c.serial != NO_LOT)
    )
    found = union_all(by_lot, by_serial).subquery("pending")
    return select(*found.c).order_by(found.c.device_id, found.c.device_seq)
