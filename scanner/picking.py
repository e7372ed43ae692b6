"""What a job still needs (and a sales order still ships), which lots to use first, and what
to warn about at issue time.

Lots of a part are used first expired, first out: earliest expiry first, lots without an
expiry last. Expiry is advice, not a lock: the site's policy decides whether an expired or
out-of-order lot is a warning the operator confirms (`warn`, the default), is refused
(`block`, expired lots only), or is not mentioned (`ignore`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.errors import NotFound, RuleViolation
from scanner.models import (
    QUARANTINE,
    Balance,
    Job,
    JobComponent,
    JobLot,
    JobLotRole,
    LineStatus,
    Location,
    Lot,
    LotStatus,
    MovementKind,
    Part,
    SalesOrderLine,
    Serial,
    Tracking,
)
from scanner.orders import net_on_line
from scanner.quantity import format_quantity
from scanner.settings import EXPIRY_POLICY, ExpiryPolicy, read_setting


class WarningCode(StrEnum):
    EXPIRED = "expired"
    NOT_FIRST_TO_EXPIRE = "not_first_to_expire"
    NOT_ON_JOB = "not_on_job"
    MORE_THAN_NEEDED = "more_than_needed"
    BACKFLUSHED = "backflushed"


@dataclass(frozen=True)
class IssueWarning:
    code: WarningCode
    message: str


@dataclass(frozen=True)
class LotStock:
    """Some of a lot (or serial) on hand at one location."""

    part: str
    lot: str | None
    serial: str | None
    location: str
    qty: Decimal
    expiry: date | None

    def expired(self, today: date) -> bool:
        return self.expiry is not None and self.expiry < today


@dataclass(frozen=True)
class PickLine:
    """One component of a job (or one line of a sales order, `line`): what it needs in all,
    what it has had, and where to find it."""

    part: str
    description: str
    required: Decimal
    issued: Decimal
    suggestions: list[LotStock]
    line: int | None = None
    """The sales order's line number; None for a job's component."""

    @property
    def remaining(self) -> Decimal:
        return max(self.required - self.issued, Decimal(0))


def stock_in_expiry_order(session: Session, part: str) -> list[LotStock]:
    """Usable stock of `part`, first to expire first: lots and serials on hold or recalled
    are left out, and so is stock in a quarantine location, released or not (a customer's
    return waiting there to be looked at was offered first for a shipment). Scanned
    anyway, such stock moves as its status allows (`scanner.quality`)."""
    released = LotStatus.ACTIVE.value
    rows = session.execute(
        select(Balance, Lot.expiry)
        .join(Location, Location.code == Balance.location)
        .outerjoin(Lot, (Lot.part == Balance.part) & (Lot.number == Balance.lot))
        .outerjoin(Serial, (Serial.part == Balance.part) & (Serial.number == Balance.serial))
        .where(Balance.part == part, Balance.qty > 0, Location.kind != QUARANTINE)
        .where((Lot.status.is_(None)) | (Lot.status == released))
        .where((Serial.quality_status.is_(None)) | (Serial.quality_status == released))
        .order_by(
            Lot.expiry.is_(None),
            Lot.expiry,
            Balance.lot,
            Balance.serial,
            Balance.location,
        )
    ).all()
    return [
        LotStock(
            part=balance.part,
            lot=balance.lot or None,
            serial=balance.serial or None,
            location=balance.location,
            qty=balance.qty,
            expiry=expiry,
        )
        for balance, expiry in rows
    ]


def pick_list(session: Session, job: str) -> list[PickLine]:
    """The job's components with what is still needed and the stock to take, in FEFO order.
    Backflush parts are left out: nobody picks them, completion consumes them."""
    order = session.get(Job, job)
    if order is None:
        raise NotFound(f"Unknown job {job}")
    issued = issued_by_part(session, job)
    rows = session.execute(
        select(JobComponent, Part.description)
        .join(Part, Part.number == JobComponent.part)
        .where(JobComponent.job == job, Part.backflush.is_(False))
        .order_by(JobComponent.part)
    ).all()
    return [
        PickLine(
            part=component.part,
            description=description,
            required=component.qty,
            issued=issued.get(component.part, Decimal(0)),
            suggestions=stock_in_expiry_order(session, component.part),
        )
        for component, description in rows
    ]


def ship_list(session: Session, so: str) -> list[PickLine]:
    """A sales order's open lines with what each still ships and the stock to take, in FEFO
    order, as `pick_list` gives a job's. A closed line ships nothing more: left out."""
    rows = session.execute(
        select(SalesOrderLine, Part.description)
        .join(Part, Part.number == SalesOrderLine.part)
        .where(SalesOrderLine.so == so, SalesOrderLine.status == LineStatus.OPEN.value)
        .order_by(SalesOrderLine.line)
    ).all()
    stock = {line.part: stock_in_expiry_order(session, line.part) for line, _ in rows}
    return [
        PickLine(
            part=line.part,
            description=description,
            required=line.qty,
            issued=net_on_line(session, MovementKind.SHIP, so=so, line=line.line),
            suggestions=stock[line.part],
            line=line.line,
        )
        for line, description in rows
    ]


def issue_warnings(
    session: Session,
    job: str,
    part: str,
    qty: Decimal,
    today: date,
    *,
    lot: str | None = None,
) -> list[IssueWarning]:
    """What the operator must confirm before issuing `qty` of `part` (lot `lot`) to `job`.

    Under the `block` policy an expired lot is refused here, as the ledger would refuse it.
    """
    item = session.get(Part, part)
    if item is None:
        raise NotFound(f"Unknown part {part}")
    if session.get(Job, job) is None:
        raise NotFound(f"Unknown job {job}")
    warnings: list[IssueWarning] = []
    component = session.get(JobComponent, (job, part))
    if component is None:
        warnings.append(IssueWarning(WarningCode.NOT_ON_JOB, f"{part} is not on job {job}'s list"))
    elif item.backflush:
        warnings.append(
            IssueWarning(
                WarningCode.BACKFLUSHED,
                f"{part} is backflushed: completing {job} takes what it needs",
            )
        )
    else:
        remaining = component.qty - issued_by_part(session, job).get(part, Decimal(0))
        if qty > remaining:
            still = format_quantity(max(remaining, Decimal(0)))
            warnings.append(
                IssueWarning(
                    WarningCode.MORE_THAN_NEEDED,
                    f"Job {job} needs {still} more {item.uom} of {part},"
                    f" not {format_quantity(qty)}",
                )
            )
    if lot is not None and item.tracking == Tracking.LOT:
        warnings.extend(_expiry_warnings(session, item, lot, today))
    return warnings


def _expiry_warnings(session: Session, part: Part, lot: str, today: date) -> list[IssueWarning]:
    policy = read_setting(session, EXPIRY_POLICY)
    if policy == ExpiryPolicy.IGNORE:
        return []
    record = session.get(Lot, (part.number, lot))
    if record is None:
        raise NotFound(f"No lot {lot} of {part.number}")
    warnings: list[IssueWarning] = []
    if record.expiry is not None and record.expiry < today:
        message = f"Lot {lot} of {part.number} expired on {record.expiry}"
        if policy == ExpiryPolicy.BLOCK:
            raise RuleViolation(message)
        warnings.append(IssueWarning(WarningCode.EXPIRED, message))
    first = next(
        (
            each
            for each in stock_in_expiry_order(session, part.number)
            if not each.expired(today) and each.lot != lot
        ),
        None,
    )
    if (
        first is not None
        and first.expiry is not None
        and _expires_before(first.expiry, record.expiry)
    ):
        warnings.append(
            IssueWarning(
                WarningCode.NOT_FIRST_TO_EXPIRE,
                f"Lot {first.lot} at {first.location} expires first ({first.expiry})",
            )
        )
    return warnings


def _expires_before(first: date, other: date | None) -> bool:
    return other is None or first < other


def issued_by_part(session: Session, job: str) -> dict[str, Decimal]:
    """What has been issued to `job` of each part, net of reversals."""
    rows = session.execute(
        select(JobLot.part, func.sum(JobLot.qty))
        .where(JobLot.job == job, JobLot.role == JobLotRole.CONSUMED.value)
        .group_by(JobLot.part)
    ).all()
    return {part: total or Decimal(0) for part, total in rows}
