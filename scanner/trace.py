"""Trace a lot or serial: what it was made from, down to the supplier receipts, and what was
made from it, out to every customer shipment and every return (the README's `trace`
command, and its JSON shape).

The genealogy is the `JobLot` cache: what a job consumed is the parent of what it produced.
Each direction is one statement: a recursive walk over the jobs (`WITH RECURSIVE`, on SQLite
and PostgreSQL alike), then the relatives those jobs consumed or produced and the receipts
or shipments (forward: and returns) of every lot and serial in the family, so a trace costs
the same six statements whatever the size of the family tree. Every step is an index
lookup: a node's job rows by `ix_job_lots_node` (which covers them), a job's other rows by
the job_lots primary key, a node's receipts, shipments or returns by `ix_movements_part_lot`
or `ix_movements_part_serial` (both end in the movement's kind), and "was it reversed?" by
`ix_movements_reverses`.

Nodes are keyed as in the caches (see `scanner.balances.stock_key`): (part, lot, "") for a
lot, (part, "", serial) for a serial, (part, "", "") for an untracked part. The walk does not
go through an untracked node: "4 of part X" can be a parent, but every other job that used
or made part X has nothing to do with this lot.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from scanner.cycle_collector import collector_paused
from scanner.describing import describe
from scanner.errors import NotFound, RuleViolation
from scanner.json_output import json_record
from scanner.models import (
    NO_LOT,
    Part,
    Tracking,
)
from scanner.plain_text import shown
from scanner.quantity import format_quantity, from_stored
from scanner.spelling import known_lot, known_serial, lot_spelling
from scanner.stock import StockRow
from scanner.trace_queries import FROM_CUSTOMER, MOVED, RETURNED, queries_for

# The records a recall has thousands of are slotted, not frozen: a frozen dataclass sets each
# field through object.__setattr__, and building 5,465 relatives took 4.8 ms instead of 1.6.


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
class Shipment:
    part: str
    lot: str | None
    serial: str | None
    so: str
    customer: str
    qty: Decimal

    def as_json(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(slots=True)
class GoodsReturn:
    """What came back from a customer (`direction` "from_customer", on `so`), or went back
    to a supplier ("to_supplier", on `po`), of a lot or serial in the trace."""

    part: str
    lot: str | None
    serial: str | None
    so: str | None
    po: str | None
    customer: str | None
    supplier: str | None
    qty: Decimal
    direction: str

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
    descendants and their shipments and returns, where it is now and the jobs that used or
    made it."""

    part: str
    lot: str | None
    serial: str | None
    backward: tuple[Relative, ...]
    receipts: tuple[Receipt, ...]
    forward: tuple[Relative, ...]
    shipments: tuple[Shipment, ...]
    on_hand: tuple[StockRow, ...]
    jobs: tuple[JobUse, ...]
    returns: tuple[GoodsReturn, ...] = ()
    """Of the lot or serial and its descendants, as `shipments` (added last: the JSON
    shape scripts read only grows)."""

    def as_json(self) -> dict[str, Any]:
        """The trace's JSON shape (docs/architecture.md, "JSON shapes"); a missing lot or
        serial is null."""
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
        record = known_serial(session, part, serial)
        if record is None and item.tracking != Tracking.SERIAL:
            raise NotFound(f"{part} is not serial-tracked: it has no serials")
        if record is None:
            raise NotFound(f"No {describe(part, serial=serial)}")
        serial = record.number
        lot = lot_spelling(session, part, lot) if lot is not None else None
        if lot is not None and record.lot != lot:
            raise NotFound(f"{describe(part, serial=serial)} is not in lot {lot}")
        lot = record.lot
        seed = {"part": part, "lot": NO_LOT, "serial": serial}
    else:
        assert lot is not None
        found = known_lot(session, part, lot)
        if found is None and item.tracking == Tracking.NONE:
            raise NotFound(f"{part} is not lot-tracked: no shipment of it was given lot {lot}")
        if found is None:
            raise NotFound(f"No {describe(part, lot)}")
        lot = found.number
        # An untracked part's lot (named at shipping) is a key no cache row carries: the
        # walk and the stock find nothing, its shipments are found by the movements' lot.
        seed = {"part": part, "lot": lot, "serial": NO_LOT}

    queries = queries_for(serials_of_lot=serial is None and item.tracking == Tracking.SERIAL)
    with collector_paused():  # thousands of rows and records, all kept (scanner/cycle_collector.py)
        backward, received, _ = _family(queries.backward.run(session, seed))
        forward, shipped, returned = _family(queries.forward.run(session, seed))
        return Trace(
            part=part,
            lot=lot,
            serial=serial,
            backward=backward,
            receipts=_receipts(received),
            forward=forward,
            shipments=_shipments(shipped),
            on_hand=tuple(
                StockRow.from_balance(*row) for row in queries.on_hand.run(session, seed)
            ),
            jobs=tuple(
                JobUse(job, part, lot or None, serial or None, qty, role)
                for job, part, lot, serial, qty, role in queries.jobs.run(session, seed)
            ),
            returns=_returns(returned),
        )


def _family(
    rows: Sequence[tuple[Any, ...]],
) -> tuple[tuple[Relative, ...], Sequence[tuple[Any, ...]], Sequence[tuple[Any, ...]]]:
    """A family query's rows (see `_family_of`), relatives first: the relatives, then the
    rows of the receipts or shipments and those of the returns, (section, part, lot, serial,
    order, supplier or customer, supplier lot or direction, depth, stored qty) each."""
    split = bisect.bisect_left(rows, MOVED, key=itemgetter(0))
    returns_at = bisect.bisect_left(rows, RETURNED, lo=split, key=itemgetter(0))
    relatives = [
        Relative(part, lot or None, serial or None, ref, depth)
        for _, part, lot, serial, ref, _, _, depth, _ in rows[:split]
    ]
    return tuple(relatives), rows[split:returns_at], rows[returns_at:]


def _receipts(rows: Sequence[tuple[Any, ...]]) -> tuple[Receipt, ...]:
    receipts = [
        Receipt(part, lot, serial, po, supplier, supplier_lot, from_stored(int(qty)))
        for _, part, lot, serial, po, supplier, supplier_lot, _, qty in rows
    ]
    return tuple(receipts)


def _shipments(rows: Sequence[tuple[Any, ...]]) -> tuple[Shipment, ...]:
    shipments = [
        Shipment(part, lot, serial, so, customer, from_stored(int(qty)))
        for _, part, lot, serial, so, customer, _, _, qty in rows
    ]
    return tuple(shipments)


def _returns(rows: Sequence[tuple[Any, ...]]) -> tuple[GoodsReturn, ...]:
    found = []
    for _, part, lot, serial, order, party, direction, _, qty in rows:
        customer = direction == FROM_CUSTOMER
        found.append(
            GoodsReturn(
                part,
                lot,
                serial,
                so=order if customer else None,
                po=None if customer else order,
                customer=party if customer else None,
                supplier=None if customer else party,
                qty=from_stored(int(qty)),
                direction=direction,
            )
        )
    return tuple(found)


# ---- as text -------------------------------------------------------------------------------


def format_trace(result: Trace) -> str:
    """The trace as text: the family tree each way (indented by generation), the receipts
    and shipments, where the lot or serial is now and the jobs that used or made it. Each
    line is `shown` before the lines are joined, so stored text cannot drive the terminal
    or start a line of its own."""
    title = describe(result.part, result.lot, result.serial)
    if result.serial and result.lot:
        title += f" (lot {result.lot})"
    sections = [
        f"Trace of {shown(title)}",
        _section("Made from", [_relative(each, "used in") for each in result.backward]),
        _section("Received", [_receipt(each) for each in result.receipts]),
        _section("Made into", [_relative(each, "made by") for each in result.forward]),
        _section("Shipped", [_shipment(each) for each in result.shipments]),
        _section("Returned", [_return(each) for each in result.returns]),
        _section("On hand", [_stock(each) for each in result.on_hand]),
        _section("Jobs", [_job(each) for each in result.jobs]),
    ]
    return "\n\n".join(sections)


def _section(heading: str, lines: Sequence[str]) -> str:
    body = lines or ["none"]
    return "\n".join([f"{heading}:", *(f"  {shown(line)}" for line in body)])


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


def _return(each: GoodsReturn) -> str:
    what = f"{format_quantity(each.qty)} of {describe(each.part, each.lot, each.serial)}"
    if each.direction == FROM_CUSTOMER:
        if each.so is None:
            return f"{what} from a customer, on no sales order"
        return f"{what} from {each.customer} on {each.so}"
    if each.po is None:
        return f"{what} to a supplier, on no purchase order"
    return f"{what} to {each.supplier} on {each.po}"


def _stock(each: StockRow) -> str:
    what = describe(each.part, each.lot, each.serial)
    return f"{format_quantity(each.qty)} of {what} at {each.location}"


def _job(each: JobUse) -> str:
    what = describe(each.part, each.lot, each.serial)
    return f"job {each.job} {each.role} {format_quantity(each.qty)} of {what}"
