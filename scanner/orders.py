"""Finding the purchase- or sales-order line a movement belongs to, and how far it has come.

What was received or shipped on a line is always derived from the ledger (`net_on_line`),
never kept in a counter that could drift from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from scanner.closing import line_is_open, order_lines
from scanner.errors import NotFound, RuleViolation
from scanner.models import (
    LineStatus,
    Movement,
    MovementKind,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
)
from scanner.quantity import format_quantity
from scanner.row_by_key import find


def purchase_order_line(
    session: Session, po: str, line: int | None, part: Part
) -> PurchaseOrderLine:
    """The line of `po` for `part`: the one named, else the first not yet fully received."""
    if session.get(PurchaseOrder, po) is None:
        raise NotFound(f"Unknown purchase order {po}")
    lines = session.scalars(
        select(PurchaseOrderLine)
        .where(PurchaseOrderLine.po == po, PurchaseOrderLine.part == part.number)
        .order_by(PurchaseOrderLine.line)
    ).all()
    return _line_to_use(
        session, [each for each in lines if line is None or each.line == line], po, line, part
    )


def sales_order_line(session: Session, so: str, line: int | None, part: Part) -> SalesOrderLine:
    """The line of `so` for `part`: the one named, else the first not yet fully shipped."""
    if session.get(SalesOrder, so) is None:
        raise NotFound(f"Unknown sales order {so}")
    lines = session.scalars(
        select(SalesOrderLine)
        .where(SalesOrderLine.so == so, SalesOrderLine.part == part.number)
        .order_by(SalesOrderLine.line)
    ).all()
    return _line_to_use(
        session, [each for each in lines if line is None or each.line == line], so, line, part
    )


Line = TypeVar("Line", PurchaseOrderLine, SalesOrderLine)


def _line_to_use(
    session: Session, matching: Sequence[Line], order: str, line: int | None, part: Part
) -> Line:
    """Of an order's lines for a part (just the one named, when `line` is given): the first
    open one not yet filled, else the last open one. A closed line takes nothing more."""
    if not matching:
        where = f"line {line} of {order}" if line is not None else order
        raise RuleViolation(f"{part.number} is not on {where}")
    usable = [each for each in matching if each.status == LineStatus.OPEN]
    if not usable:
        line_is_open(session, matching[-1])  # raises, saying who closed it
    if len(usable) == 1:
        return usable[0]
    kind = MovementKind.SHIP if isinstance(matching[0], SalesOrderLine) else MovementKind.RECEIVE
    for each in usable:
        if net_on_line(session, kind, line=each.line, **_order_of(each)) < each.qty:
            return each
    return usable[-1]


def _order_of(line: PurchaseOrderLine | SalesOrderLine) -> dict[str, str]:
    return {"so": line.so} if isinstance(line, SalesOrderLine) else {"po": line.po}


def net_on_line(
    session: Session,
    kind: MovementKind,
    *,
    po: str | None = None,
    so: str | None = None,
    line: int,
) -> Decimal:
    """Net quantity received (or shipped) on an order line: those movements less their
    reversals. Returns are not counted: what came back is told apart (`scanner.returns`).

    Read through the line's part (every movement on a line is of its part), so the query
    reads that part's movements by their index, not the whole ledger."""
    original = aliased(Movement)
    query = select(Movement.kind, Movement.qty, original.kind).outerjoin(
        original, original.id == Movement.reverses
    )
    if po is not None:
        part = select(PurchaseOrderLine.part).where(
            PurchaseOrderLine.po == po, PurchaseOrderLine.line == line
        )
        query = query.where(Movement.po == po, Movement.po_line == line)
    else:
        part = select(SalesOrderLine.part).where(
            SalesOrderLine.so == so, SalesOrderLine.line == line
        )
        query = query.where(Movement.so == so, Movement.so_line == line)
    total = Decimal(0)
    for row_kind, qty, reversed_kind in session.execute(
        query.where(Movement.part == part.scalar_subquery())
    ):
        if row_kind == kind:
            total += qty
        elif row_kind == MovementKind.REVERSE and reversed_kind == kind:
            total -= qty
    return total


@dataclass(frozen=True)
class LineProgress:
    """How far an order line has come: `done` of the `ordered` quantity, from the ledger."""

    order: str
    line: int
    ordered: Decimal
    done: Decimal
    verb: str
    """What was done on the line: received or shipped."""

    @property
    def summary(self) -> str:
        """As the screen shows it after each line: "PO-7001 line 1: 40 of 100 received"."""
        return (
            f"{self.order} line {self.line}: {format_quantity(self.done)}"
            f" of {format_quantity(self.ordered)} {self.verb}"
        )

    @property
    def filled(self) -> bool:
        return self.done >= self.ordered

    def details(self) -> tuple[str, ...]:
        """What the screen shows after a line: how far it has come, and once it is filled,
        the offer to close it (an offer that stops nothing)."""
        if not self.filled:
            return (self.summary,)
        return (self.summary, "Line filled: CMD:CLOSE closes it")

    def beyond(self, more: Decimal) -> str | None:
        """The warning, when `more` on top of what is done goes past what the line asks."""
        after = self.done + more
        if after <= self.ordered:
            return None
        return (
            f"{self.order} line {self.line} asks {format_quantity(self.ordered)};"
            f" {format_quantity(self.done)} {self.verb}, this would make {format_quantity(after)}"
        )


def purchase_line_progress(session: Session, po: str, line: int) -> LineProgress:
    """What line `line` of `po` asks and what was received on it."""
    order_line = find(session, PurchaseOrderLine, (po, line))
    if order_line is None:
        raise NotFound(f"No line {line} on {po}")
    done = net_on_line(session, MovementKind.RECEIVE, po=po, line=line)
    return LineProgress(po, line, order_line.qty, done, "received")


def sales_line_progress(session: Session, so: str, line: int) -> LineProgress:
    """What line `line` of `so` asks and what was shipped on it."""
    order_line = find(session, SalesOrderLine, (so, line))
    if order_line is None:
        raise NotFound(f"No line {line} on {so}")
    done = net_on_line(session, MovementKind.SHIP, so=so, line=line)
    return LineProgress(so, line, order_line.qty, done, "shipped")


def still_to_receive(session: Session, po: str) -> tuple[str, ...]:
    """What `po`'s open lines still ask, as RECEIVE shows it when the order is scanned:
    "line 1 CAST-GP10: receive 20" (as SHIP's list says "ship 20"), or that every open line
    is received. A closed line takes nothing more, so it is not listed."""
    shown = []
    for line in order_lines(session, po, None, sales=False):
        if line.status != LineStatus.OPEN:
            continue
        left = line.qty - net_on_line(session, MovementKind.RECEIVE, po=po, line=line.line)
        if left > 0:
            shown.append(f"line {line.line} {line.part}: receive {format_quantity(left)}")
    return tuple(shown) or ("Every open line is received",)
