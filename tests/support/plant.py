"""A small pump plant as reference data, shared by the engine-level tests.

Raw resin and pigment (lot-tracked, with shelf life) are moulded into housings (lot-tracked)
on job J-HOUSING; housings and motors (serial-tracked) become pumps (serial-tracked) on job
J-PUMP. Bolts are untracked; grease is a backflush part.
"""

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


def add_plant(session: Session) -> None:
    session.add_all(
        [
            Part(number="RESIN", description="PA66 resin, 25 kg bag", tracking="lot",
                 shelf_life_days=180, uom="kg"),
            Part(number="PIGMENT", description="Black masterbatch", tracking="lot", uom="kg"),
            Part(number="BOLT", description="M6x20 bolt", tracking="none"),
            Part(number="GREASE", description="Assembly grease", tracking="none",
                 backflush=True),
            Part(number="MOTOR", description="0.75 kW motor", tracking="serial"),
            Part(number="HOUSING", description="Pump housing", tracking="lot"),
            Part(number="PUMP", description="Centrifugal pump", tracking="serial"),
            Location(code="RCV", name="Receiving dock", kind="receiving"),
            Location(code="A-01", name="Rack A-01"),
            Location(code="A-02", name="Rack A-02"),
            Location(code="LINE", name="Moulding line", kind="production"),
            Location(code="SHIP", name="Shipping dock", kind="shipping"),
            Operator(badge="B1001", name="Ana Ruiz"),
            Operator(badge="B9001", name="Sam Okafor", role="supervisor"),
            PurchaseOrder(number="PO-1", supplier="Acme Polymers"),
            SalesOrder(number="SO-1", customer="Hydro Systems"),
            SalesOrder(number="SO-2", customer="AquaFlow Ltd"),
        ]
    )  # fmt: skip
    session.flush()
    session.add_all(
        [
            PurchaseOrderLine(po="PO-1", line=1, part="RESIN", qty=Decimal(100)),
            PurchaseOrderLine(po="PO-1", line=2, part="MOTOR", qty=Decimal(10)),
            SalesOrderLine(so="SO-1", line=1, part="PUMP", qty=Decimal(5)),
            SalesOrderLine(so="SO-1", line=2, part="BOLT", qty=Decimal(50), lot_control=True),
            SalesOrderLine(so="SO-2", line=1, part="HOUSING", qty=Decimal(4)),
            SalesOrderLine(so="SO-2", line=2, part="BOLT", qty=Decimal(10)),
            Job(number="J-HOUSING", part="HOUSING", qty=Decimal(10)),
            Job(number="J-HOUSING-2", part="HOUSING", qty=Decimal(5)),
            Job(number="J-PUMP", part="PUMP", qty=Decimal(5)),
        ]
    )
    session.flush()
    session.add_all(
        [
            JobComponent(job="J-HOUSING", part="RESIN", qty=Decimal(20)),
            JobComponent(job="J-HOUSING", part="PIGMENT", qty=Decimal(2)),
            JobComponent(job="J-PUMP", part="HOUSING", qty=Decimal(5)),
            JobComponent(job="J-PUMP", part="MOTOR", qty=Decimal(5)),
            JobComponent(job="J-PUMP", part="BOLT", qty=Decimal(20)),
        ]
    )
    session.flush()
