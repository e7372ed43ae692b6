"""What the store makes of a pushed movement (research/offline-sync.md §2.3).

Physical scans are facts: nothing here refuses a movement for a domain rule (an expired or
held lot, an over-shipment). A movement is held when the store cannot apply it as it stands
(it names something the store does not know; it moves a serial the store has elsewhere; it
undoes something already undone), and flagged when applying it leaves a balance below zero.
These functions only read; `sync.central_apply` does the writing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import bindparam, inspect, select, tuple_
from sqlalchemy.orm import Session

from scanner.caches import stock_key
from scanner.ledger import describe, described
from scanner.models import (
    Balance,
    Job,
    Location,
    Movement,
    MovementKind,
    Operator,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    Serial,
    SerialStatus,
    Tracking,
)
from scanner.quantity import format_quantity
from sync.models import ExceptionCode
from sync.protocol import MovementIn

MESSAGE_LIMIT = 300
_CHUNK = 400  # keys per IN list: well under both databases' bound-parameter limits
R = TypeVar("R")


class Rows:
    """Rows read once in a transaction and held on to. The session's identity map keeps
    rows only weakly, so without this a batch of movements would read the same part and
    location again for every movement. Whoever creates a lot, serial or movement during the
    transaction tells `hold` about it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._held: dict[tuple[type[Any], Any], Any] = {}

    def get(self, model: type[R], key: Any) -> R | None:
        slot = (model, key)
        if slot not in self._held:
            self._held[slot] = self.session.get(model, key)
        row: R | None = self._held[slot]
        return row

    def hold(self, model: type[R], key: Any, row: R) -> None:
        self._held[(model, key)] = row

    def preload(self, model: type[Any], keys: Iterable[tuple[Any, ...]]) -> None:
        """Reads the rows of a composite-keyed model (lots, serials) with these keys in a
        few queries, and remembers which do not exist."""
        wanted = [key for key in dict.fromkeys(keys) if (model, key) not in self._held]
        columns = inspect(model).primary_key
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for row in self.session.scalars(select(model).where(tuple_(*columns).in_(chunk))):
                self._held[(model, inspect(row).identity)] = row
            for key in chunk:
                self._held.setdefault((model, key), None)


@dataclass(frozen=True)
class Verdict:
    """Why a movement is held or flagged, in the words a supervisor reads."""

    code: ExceptionCode
    message: str


def fit(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Text cut to a column's size, with an ellipsis when it had to be cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hold_reason(rows: Rows, movement: MovementIn) -> Verdict | None:
    """Why the store cannot apply `movement` as it stands, or None when it can."""
    missing = missing_references(rows, movement)
    if missing:
        return Verdict(
            ExceptionCode.UNKNOWN_REFERENCE,
            fit(
                f"Held: the store does not know {_and(missing)} yet; it is applied when that"
                " reference data is imported"
            ),
        )
    reversal = reversal_conflict(rows.session, movement)
    if reversal is not None:
        return reversal
    part = rows.get(Part, movement.part)
    assert part is not None  # missing_references checked it
    return serial_conflict(rows, movement, part)


def missing_references(rows: Rows, movement: MovementIn) -> list[str]:
    """Every reference the movement names that the store does not have, in words."""
    missing: list[str] = []
    if rows.get(Part, movement.part) is None:
        missing.append(f"part {movement.part}")
    for code in dict.fromkeys(c for c in (movement.from_location, movement.to_location) if c):
        if rows.get(Location, code) is None:
            missing.append(f"location {code}")
    for job in dict.fromkeys(j for j in (movement.job, movement.lot_job) if j):
        if rows.get(Job, job) is None:
            missing.append(f"job {job}")
    if movement.operator and rows.get(Operator, movement.operator) is None:
        missing.append(f"operator {movement.operator}")
    if movement.po and not _order_known(
        rows, PurchaseOrder, PurchaseOrderLine, movement.po, movement.po_line
    ):
        missing.append(_order_words("purchase order", movement.po, movement.po_line))
    if movement.so and not _order_known(
        rows, SalesOrder, SalesOrderLine, movement.so, movement.so_line
    ):
        missing.append(_order_words("sales order", movement.so, movement.so_line))
    if movement.reverses is not None and rows.get(Movement, movement.reverses) is None:
        missing.append(f"the movement it reverses ({movement.reverses})")
    return missing


def reversal_conflict(session: Session, movement: MovementIn) -> Verdict | None:
    """A reversal of a movement another reversal already undid: applying both would undo
    it twice."""
    if movement.reverses is None:
        return None
    earlier = session.execute(
        select(Movement.device_id, Movement.device_seq).where(
            Movement.reverses == movement.reverses
        )
    ).first()
    if earlier is None:
        return None
    return Verdict(
        ExceptionCode.DOUBLE_REVERSAL,
        fit(
            f"Held: device {earlier.device_id} already reversed that movement (its number"
            f" {earlier.device_seq}); applying this reversal too would undo it twice"
        ),
    )


def serial_conflict(rows: Rows, movement: MovementIn, part: Part) -> Verdict | None:
    """A serial taken from a place the store does not have it, or arriving while the store
    has it in stock."""
    if movement.serial is None or part.tracking != Tracking.SERIAL:
        return None
    record = rows.get(Serial, (part.number, movement.serial))
    in_stock = record is not None and record.status == SerialStatus.IN_STOCK
    what = describe(part.number, serial=movement.serial)
    if movement.from_location is not None:
        if in_stock and record is not None and record.location == movement.from_location:
            return None
        return Verdict(
            ExceptionCode.SERIAL_CONFLICT,
            fit(
                f"Held: the store does not have {what} at {movement.from_location}; it has it"
                f" {_whereabouts(rows.session, part, record)}. A supervisor decides which scan is"
                " true"
            ),
        )
    if movement.to_location is not None and in_stock and record is not None:
        return Verdict(
            ExceptionCode.SERIAL_DUPLICATE_RECEIPT,
            fit(
                f"Held: {what} is already in stock at {record.location}. A supervisor decides"
                " which arrival is true"
            ),
        )
    return None


def shortfall(
    session: Session, movement: Movement, part: Part, observed_cursor: int | None
) -> Verdict | None:
    """After `movement` was applied: whether it left its source below zero, and whether that
    is because another device had already moved the stock away (a stale source) or the
    store simply has less than the handheld thought."""
    if movement.from_location is None:
        return None
    lot_key, serial_key = stock_key(part, movement.lot, movement.serial)
    source = movement.from_location
    on_hand = balance_of(session, (part.number, lot_key, serial_key, source))
    if on_hand >= 0:
        return None
    what = describe(part.number, lot_key or None, serial_key or None)
    mover = _unseen_mover(session, movement, lot_key, serial_key, observed_cursor or 0)
    if mover is not None:
        return Verdict(
            ExceptionCode.STALE_SOURCE,
            fit(
                f"{described(part.number, lot_key or None, serial_key or None)} had already"
                f" left {source}: device {mover} moved it after this handheld last synced."
                f" {_now_at(session, part, lot_key, serial_key, source)}. Flagged for a"
                " supervisor"
            ),
        )
    before = on_hand + movement.qty
    return Verdict(
        ExceptionCode.NEGATIVE_BALANCE,
        fit(
            f"The store had {_quantity(before, part)} of {what} at {source}, not"
            f" {_quantity(movement.qty, part)}: the balance there is now"
            f" {_quantity(on_hand, part)}. Flagged for a supervisor; a later receipt or a"
            " count settles it"
        ),
    )


_BALANCE = select(Balance.qty).where(
    Balance.part == bindparam("part"),
    Balance.lot == bindparam("lot"),
    Balance.serial == bindparam("serial"),
    Balance.location == bindparam("location"),
)


def balance_of(session: Session, key: tuple[str, str, str, str]) -> Decimal:
    """The balance at (part, lot, serial, location), read fresh: the caches keep it with
    plain statements, past the session's copies."""
    part, lot, serial, location = key
    qty = session.scalar(
        _BALANCE, {"part": part, "lot": lot, "serial": serial, "location": location}
    )
    return qty if qty is not None else Decimal(0)


def _unseen_mover(
    session: Session, movement: Movement, lot_key: str, serial_key: str, cursor: int
) -> str | None:
    """Another device that took the same stock from the same place after the handheld's
    last pull (so the handheld could not know)."""
    query = select(Movement.device_id).where(
        Movement.part == movement.part,
        Movement.from_location == movement.from_location,
        Movement.device_id != movement.device_id,
        Movement.server_seq > cursor,
        Movement.id != movement.id,
    )
    if lot_key:
        query = query.where(Movement.lot == lot_key)
    if serial_key:
        query = query.where(Movement.serial == serial_key)
    return session.scalar(query.order_by(Movement.server_seq.desc()).limit(1))


def _now_at(session: Session, part: Part, lot_key: str, serial_key: str, source: str) -> str:
    """Where the stock is now, so the supervisor can re-source the movement."""
    places = session.execute(
        select(Balance.location, Balance.qty)
        .where(
            Balance.part == part.number,
            Balance.lot == lot_key,
            Balance.serial == serial_key,
            Balance.location != source,
            Balance.qty > 0,
        )
        .order_by(Balance.qty.desc(), Balance.location)
        .limit(3)
    ).all()
    if not places:
        return "None of it is in stock anywhere now"
    where = ", ".join(f"{location} ({_quantity(qty, part)})" for location, qty in places)
    return f"It is at {where} now"


def _whereabouts(session: Session, part: Part, record: Serial | None) -> str:
    if record is None:
        return "nowhere: it never arrived"
    if record.status == SerialStatus.IN_STOCK:
        return f"at {record.location}"
    if record.status in (SerialStatus.SHIPPED, SerialStatus.CONSUMED):
        kind = MovementKind.SHIP if record.status == SerialStatus.SHIPPED else MovementKind.ISSUE
        last = session.execute(
            select(Movement.so, Movement.job)
            .where(
                Movement.part == part.number,
                Movement.serial == record.number,
                Movement.kind == kind,
            )
            .order_by(Movement.server_seq.desc())
            .limit(1)
        ).first()
        if record.status == SerialStatus.SHIPPED:
            return f"shipped on {last.so}" if last and last.so else "shipped"
        return f"issued to job {last.job}" if last and last.job else "issued to a job"
    return "out of stock"


def _order_known(
    rows: Rows,
    order: type[PurchaseOrder] | type[SalesOrder],
    line: type[PurchaseOrderLine] | type[SalesOrderLine],
    number: str,
    line_number: int | None,
) -> bool:
    if line_number is None:
        return rows.get(order, number) is not None
    return rows.get(line, (number, line_number)) is not None


def _order_words(what: str, number: str, line: int | None) -> str:
    return f"{what} {number}" + (f" line {line}" if line is not None else "")


def _quantity(qty: Decimal, part: Part) -> str:
    return f"{format_quantity(qty)} {part.uom}"


def _and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]
