"""Reference data for tests, added with the models directly: parts, locations, jobs and their
components, purchase and sales orders, operators. History (movements) is never built here:
tests record it through `scanner.ledger.Ledger`, the way the floor does."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from scanner.models import (
    Job,
    JobComponent,
    Location,
    Operator,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
)

Qty = Decimal | int | str


def add_part(
    session: Session,
    number: str,
    tracking: str = "lot",
    *,
    description: str | None = None,
    backflush: bool = False,
    uom: str = "ea",
) -> Part:
    part = Part(
        number=number,
        description=description or number.title(),
        tracking=tracking,
        backflush=backflush,
        uom=uom,
    )
    session.add(part)
    session.flush()
    return part


def add_location(session: Session, code: str, kind: str = "storage") -> Location:
    location = Location(code=code, name=code.title(), kind=kind)
    session.add(location)
    session.flush()
    return location


def add_operator(session: Session, badge: str, role: str = "floor") -> Operator:
    operator = Operator(badge=badge, name=f"Operator {badge}", role=role)
    session.add(operator)
    session.flush()
    return operator


def add_job(
    session: Session, number: str, part: str, qty: Qty, components: dict[str, Qty] | None = None
) -> Job:
    """A job making `qty` of `part`, needing `components` (part → quantity for the job)."""
    job = Job(number=number, part=part, qty=Decimal(str(qty)))
    session.add(job)
    session.flush()
    for component, needed in (components or {}).items():
        session.add(JobComponent(job=number, part=component, qty=Decimal(str(needed))))
    session.flush()
    return job


def add_po(session: Session, number: str, supplier: str, *lines: tuple[str, Qty]) -> PurchaseOrder:
    """A purchase order with lines 1, 2, ... of (part, qty)."""
    order = PurchaseOrder(number=number, supplier=supplier)
    session.add(order)
    session.flush()
    for line, (part, qty) in enumerate(lines, start=1):
        session.add(PurchaseOrderLine(po=number, line=line, part=part, qty=Decimal(str(qty))))
    session.flush()
    return order


def add_so(
    session: Session,
    number: str,
    customer: str,
    *lines: tuple[str, Qty],
    lot_control: bool = False,
) -> SalesOrder:
    """A sales order with lines 1, 2, ... of (part, qty); `lot_control` applies to each."""
    order = SalesOrder(number=number, customer=customer)
    session.add(order)
    session.flush()
    for line, (part, qty) in enumerate(lines, start=1):
        session.add(
            SalesOrderLine(
                so=number, line=line, part=part, qty=Decimal(str(qty)), lot_control=lot_control
            )
        )
    session.flush()
    return order
