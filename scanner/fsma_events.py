"""The FDA FSMA 204 critical tracking events in the ledger, with their key data elements
(docs/architecture.md, "FSMA 204 spreadsheet"), read in one streamed query.

21 CFR 1.1345 (receiving), 1.1340 (shipping) and 1.1350 (transformation) ask of each event:
the traceability lot code (TLC), quantity and unit of measure, product description, the
location description (name, address, phone) of the immediate previous source or subsequent
recipient and of where it happened, the date, the TLC source, and the reference document's
type and number; a transformation also its input lots. The events are the ledger's effective
movements that carry a lot or serial (the TLC: the lot, else the serial):

- Receiving: a receipt (from the supplier of its purchase order), and a customer's return
  (from the customer of its sales order);
- Shipping: a shipment (to the customer of its sales order), and a return to a supplier
  (to the supplier of its purchase order);
- Transformation: a job's completion (`produce`), one event per lot or serial made, its
  inputs what the job consumed (net, from `job_lots`).

A movement undone by a reversal is not an event, nor is its reversal: the mistake did not
happen. Held, rejected and voided movements are not events (`NOT_EFFECTIVE`). A movement of
an untracked part without a lot has no TLC and is not an event either; `left_out` counts
them, so the command can say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from scanner.clock import aware
from scanner.models import (
    NOT_EFFECTIVE,
    JobLot,
    JobLotRole,
    Lot,
    Movement,
    MovementKind,
    Part,
    PurchaseOrder,
    SalesOrder,
)
from scanner.quantity import format_quantity
from scanner.settings import SITE_ADDRESS, SITE_GLN, SITE_NAME, SITE_PHONE, read_setting

RECEIVING = "Receiving"
SHIPPING = "Shipping"
TRANSFORMATION = "Transformation"

PREVIOUS_SOURCE = "immediate previous source"
SUBSEQUENT_RECIPIENT = "immediate subsequent recipient"

PURCHASE_ORDER = "Purchase Order"
SALES_ORDER = "Sales Order"
JOB = "Job"

EVENT_KINDS = (
    MovementKind.RECEIVE.value,
    MovementKind.SHIP.value,
    MovementKind.PRODUCE.value,
    MovementKind.RETURN.value,
)

BATCH = 1000
"""Rows fetched at a time: on PostgreSQL from a server-side cursor, so memory stays flat."""


class Party(NamedTuple):
    """A location description as FSMA 204 defines it (21 CFR 1.1310): business name, phone
    and address; a GLN where one is known."""

    name: str | None = None
    address: str | None = None
    phone: str | None = None
    gln: str | None = None


class Input(NamedTuple):
    """A lot, serial or untracked part a transformation consumed, and how much."""

    part: str
    tlc: str | None
    qty: Decimal
    uom: str
    description: str

    def words(self) -> str:
        lot = f"{self.tlc} " if self.tlc else ""
        return f"{lot}{format_quantity(self.qty)} {self.uom} {self.part} {self.description}"


class Event(NamedTuple):
    """One critical tracking event with its key data elements (a tuple: an export makes one
    per row, hundreds of thousands)."""

    event_type: str
    happened_at: datetime
    tlc: str
    part: str
    description: str
    qty: Decimal
    uom: str
    serial: str | None
    supplier_lot: str | None
    partner_role: str | None
    partner: Party | None
    site: Party
    location: str | None
    tlc_source: Party
    document_type: str | None
    document_number: str | None
    inputs: tuple[Input, ...] | None
    movement_kind: str
    movement_id: str


@dataclass(frozen=True)
class Period:
    """The days asked for, both included, as UTC days."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)


def site_party(session: Session) -> Party:
    """This site as the `site.*` settings describe it."""
    return Party(
        read_setting(session, SITE_NAME),
        read_setting(session, SITE_ADDRESS),
        read_setting(session, SITE_PHONE),
        read_setting(session, SITE_GLN),
    )


def events(session: Session, period: Period, part: str | None = None) -> Iterator[Event]:
    """The events of `period` (of `part`, or of transformations that consumed it), in the
    order they happened, streamed."""
    site = site_party(session)
    inputs = _InputsOfJob(session)
    rows = session.execute(_events(period, part), execution_options={"yield_per": BATCH})
    for row in rows:
        yield _event(row, site, inputs)


@dataclass(frozen=True)
class LeftOut:
    """What the period holds that is not an event: movements undone by a reversal, and
    receipts, shipments and completions of untracked parts without a TLC (count by part)."""

    reversed: int
    untracked: dict[str, int]


def left_out(session: Session, period: Period, part: str | None = None) -> LeftOut:
    m = Movement
    kept = _in_scope(period, part)
    reversed_count = session.scalar(select(func.count()).select_from(m).where(*kept, _reversed(m)))
    untracked = session.execute(
        select(m.part, func.count())
        .where(*kept, ~_reversed(m), m.lot.is_(None), m.serial.is_(None))
        .group_by(m.part)
        .order_by(m.part)
    ).tuples()
    return LeftOut(reversed_count or 0, dict(untracked.all()))


# ---- the query --------------------------------------------------------------------------


def _effective(movement: Any) -> ColumnElement[bool]:
    return movement.sync_state.not_in(NOT_EFFECTIVE)  # type: ignore[no-any-return]


def _reversed(movement: Any) -> ColumnElement[bool]:
    undo = aliased(Movement)
    return exists().where(undo.reverses == movement.id, _effective(undo))


def _in_scope(period: Period, part: str | None) -> list[ColumnElement[bool]]:
    m = Movement
    where = [
        m.kind.in_(EVENT_KINDS),
        _effective(m),
        m.happened_at >= period.start,
        m.happened_at < period.end,
    ]
    if part is not None:
        consumed_by = select(JobLot.job).where(
            JobLot.part == part, JobLot.role == JobLotRole.CONSUMED.value
        )
        where.append(
            or_(m.part == part, and_(m.kind == MovementKind.PRODUCE.value, m.job.in_(consumed_by)))
        )
    return where


def _first_receipt(by_lot: bool) -> Any:
    """The id of the earliest effective receipt of the movement's lot (or serial): where its
    TLC came from, when it came in at all."""
    receipt = aliased(Movement)
    same = receipt.lot == Movement.lot if by_lot else receipt.serial == Movement.serial
    return (
        select(receipt.id)
        .where(
            receipt.part == Movement.part,
            same,
            receipt.kind == MovementKind.RECEIVE.value,
            _effective(receipt),
        )
        .order_by(receipt.happened_at, receipt.device_id, receipt.device_seq)
        .limit(1)
        .scalar_subquery()
    )


def _events(period: Period, part: str | None) -> Select[Any]:
    m = Movement
    receipt = aliased(Movement)
    source = aliased(PurchaseOrder)
    first_receipt = case(
        (m.lot.is_not(None), _first_receipt(by_lot=True)), else_=_first_receipt(by_lot=False)
    )
    # fmt: off
    return (
        select(
            m.id, m.kind, m.part, m.lot, m.serial, m.qty, m.from_location, m.to_location,
            m.job, m.po, m.so, m.happened_at,
            Part.description, Part.uom, Lot.supplier_lot,
            PurchaseOrder.supplier, PurchaseOrder.supplier_address,
            PurchaseOrder.supplier_phone, PurchaseOrder.supplier_gln,
            SalesOrder.customer, SalesOrder.customer_address,
            SalesOrder.customer_phone, SalesOrder.customer_gln,
            receipt.id.label("source_receipt"), receipt.po.label("source_po"),
            source.supplier.label("source_name"), source.supplier_address.label("source_address"),
            source.supplier_phone.label("source_phone"),
        )
        .join(Part, Part.number == m.part)
        .outerjoin(Lot, and_(Lot.part == m.part, Lot.number == m.lot))
        .outerjoin(PurchaseOrder, PurchaseOrder.number == m.po)
        .outerjoin(SalesOrder, SalesOrder.number == m.so)
        .outerjoin(receipt, receipt.id == first_receipt)
        .outerjoin(source, source.number == receipt.po)
        .where(
            *_in_scope(period, part),
            or_(m.lot.is_not(None), m.serial.is_not(None)),
            ~_reversed(m),
        )
        .order_by(m.happened_at, m.device_id, m.device_seq)
    )
    # fmt: on


# ---- rows to events ---------------------------------------------------------------------


def _event(row: Any, site: Party, inputs: _InputsOfJob) -> Event:
    kind = MovementKind(row.kind)
    supplier = Party(row.supplier, row.supplier_address, row.supplier_phone, row.supplier_gln)
    customer = Party(row.customer, row.customer_address, row.customer_phone, row.customer_gln)
    if kind == MovementKind.PRODUCE:
        event_type, role, partner, location = TRANSFORMATION, None, None, row.to_location
        document = (JOB, row.job)
    elif kind == MovementKind.SHIP:
        event_type, role, partner, location = SHIPPING, SUBSEQUENT_RECIPIENT, customer, None
        document = (SALES_ORDER, row.so)
    elif kind == MovementKind.RECEIVE:
        event_type, role, partner, location = RECEIVING, PREVIOUS_SOURCE, supplier, None
        document = (PURCHASE_ORDER, row.po)
    elif row.to_location is not None:  # back from a customer
        event_type, role, partner, location = RECEIVING, PREVIOUS_SOURCE, customer, None
        document = (SALES_ORDER, row.so)
    else:  # back to a supplier
        event_type, role, partner, location = SHIPPING, SUBSEQUENT_RECIPIENT, supplier, None
        document = (PURCHASE_ORDER, row.po)
    if location is None:
        location = row.to_location if event_type == RECEIVING else row.from_location
    document_type, number = document if document[1] else (None, None)
    # Where the TLC was given: by the supplier it first came in from, else by this site.
    if row.source_receipt is None:
        tlc_source = site
    else:
        tlc_source = Party(row.source_name, row.source_address, row.source_phone)
    return Event(
        event_type=event_type,
        happened_at=aware(row.happened_at),
        tlc=row.lot or row.serial,
        part=row.part,
        description=row.description,
        qty=row.qty,
        uom=row.uom,
        serial=row.serial,
        supplier_lot=row.supplier_lot,
        partner_role=role,
        partner=partner,
        site=site,
        location=location,
        tlc_source=tlc_source,
        document_type=document_type,
        document_number=number,
        inputs=inputs.of(row.job) if kind == MovementKind.PRODUCE else None,
        movement_kind=kind.value,
        movement_id=str(row.id),
    )


class _InputsOfJob:
    """What a job consumed, read once for a run of its completions (the last job only, so
    memory stays flat however many jobs the period holds)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._job: str | None = None
        self._inputs: tuple[Input, ...] = ()

    def of(self, job: str) -> tuple[Input, ...]:
        if job != self._job:
            self._job, self._inputs = job, self._read(job)
        return self._inputs

    def _read(self, job: str) -> tuple[Input, ...]:
        query = (
            select(JobLot.part, JobLot.lot, JobLot.serial, JobLot.qty, Part.uom, Part.description)
            .join(Part, Part.number == JobLot.part)
            .where(JobLot.job == job, JobLot.role == JobLotRole.CONSUMED.value, JobLot.qty > 0)
            .order_by(JobLot.part, JobLot.lot, JobLot.serial)
        )
        return tuple(
            Input(part, lot or serial or None, qty, uom, description)
            for part, lot, serial, qty, uom, description in self.session.execute(query)
        )
