"""Finding the purchase- or sales-order line a movement belongs to, and what it still needs."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from scanner.errors import NotFound, RuleViolation
from scanner.models import (
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
    matching = [each for each in lines if line is None or each.line == line]
    if not matching:
        where = f"line {line} of {po}" if line is not None else po
        raise RuleViolation(f"{part.number} is not on {where}")
    for each in matching:
        if net_on_line(session, MovementKind.RECEIVE, po=each.po, line=each.line) < each.qty:
            return each
    return matching[-1]


def sales_order_line(session: Session, so: str, line: int | None, part: Part) -> SalesOrderLine:
    """The line of `so` for `part`: the one named, else the first not yet fully shipped."""
    if session.get(SalesOrder, so) is None:
        raise NotFound(f"Unknown sales order {so}")
    lines = session.scalars(
        select(SalesOrderLine)
        .where(SalesOrderLine.so == so, SalesOrderLine.part == part.number)
        .order_by(SalesOrderLine.line)
    ).all()
    matching = [each for each in lines if line is None or each.line == line]
    if not matching:
        where = f"line {line} of {so}" if line is not None else so
        raise RuleViolation(f"{part.number} is not on {where}")
    for each in matching:
        if net_on_line(session, MovementKind.SHIP, so=each.so, line=each.line) < each.qty:
            return each
    return matching[-1]


def net_on_line(
    session: Session,
    kind: MovementKind,
    *,
    po: str | None = None,
    so: str | None = None,
    line: int,
) -> Decimal:
    """Net quantity received (or shipped) on an order line: those movements less their
    reversals. Returns are not counted: what came back is told apart (`scanner.returns`)."""
    original = aliased(Movement)
    query = select(Movement.kind, Movement.qty, original.kind).outerjoin(
        original, original.id == Movement.reverses
    )
    if po is not None:
        query = query.where(Movement.po == po, Movement.po_line == line)
    else:
        query = query.where(Movement.so == so, Movement.so_line == line)
    total = Decimal(0)
    for row_kind, qty, reversed_kind in session.execute(query).all():
        if row_kind == kind:
            total += qty
        elif row_kind == MovementKind.REVERSE and reversed_kind == kind:
            total -= qty
    return total
