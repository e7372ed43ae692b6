"""Finding the purchase- or sales-order line a movement belongs to, and what it still needs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.closing import line_is_open
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
    """Net quantity received (or shipped) on an order line: movements less their reversals."""
    query = select(Movement.kind, Movement.qty)
    if po is not None:
        query = query.where(Movement.po == po, Movement.po_line == line)
    else:
        query = query.where(Movement.so == so, Movement.so_line == line)
    total = Decimal(0)
    for row_kind, qty in session.execute(query).all():
        total += qty if row_kind == kind else -qty
    return total
