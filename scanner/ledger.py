"""The movement ledger: every operation that moves stock, with the rules it must keep.

Each operation checks the domain rules (docs/architecture.md, "Ledger rules"), appends one
immutable `Movement`, and updates the derived caches (balances, serial states, job
genealogy) in the caller's transaction. Nothing is ever edited or deleted: a mistake is
undone by `reverse`, which appends a compensating movement.

Every movement carries a positive quantity and goes from a location, to a location, or both;
a movement's effect on stock is always "minus at `from_location`, plus at `to_location`".
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ScalarSelect, Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from scanner.balances import apply_to_caches, stock_key, stock_on_hand
from scanner.clock import Clock, utc_now
from scanner.closing import open_job
from scanner.cursor_statements import Prepared
from scanner.describing import describe, described
from scanner.errors import NotFound, RuleViolation
from scanner.ids import new_movement_id
from scanner.locations import locations_of_kind
from scanner.models import (
    QUARANTINE,
    Balance,
    Job,
    Location,
    Lot,
    LotOrigin,
    LotStatus,
    Movement,
    MovementKind,
    Operator,
    Part,
    Serial,
    SerialStatus,
    Setting,
    SyncState,
    Tracking,
)
from scanner.movement_rules import (
    Facts,
    check_number,
    movement_rule,
    numbers_rule,
    quantity_rule,
    reason_rule,
    refuse,
    reversal_rule,
    serial_unit_rule,
    shape_rule,
    tracking_rule,
)
from scanner.orders import purchase_order_line, sales_order_line
from scanner.plain_text import refuse_control
from scanner.quality import (
    MOVES_INTO,
    may_move_unreleased,
    not_released_words,
    recalled_input,
    status_of,
)
from scanner.quantity import format_quantity, to_quantity
from scanner.returns import (
    customer_return_line,
    reversal_keeps_returns_covered,
    supplier_return_line,
)
from scanner.row_by_key import as_loaded, find
from scanner.settings import (
    DEVICE_ID,
    EXPIRY_POLICY,
    PULL_CURSOR,
    SEQ_FLOOR,
    ExpiryPolicy,
    SettingKey,
    device_id,
    read_setting,
)
from scanner.spelling import refuse_case_twin

BACKFLUSH_REASON = "backflush"
"""The reason on an issue a completion recorded (`Ledger.backflush`), not a person."""


KnownRows = set[tuple[str, str]]
"""Locations and operators found to exist, by table and code. Reference rows are never
deleted (an import or a pull adds or changes them), so one found once stays: a handheld keeps
this from scan to scan (`scanner.workflows.engine`) and looks each code up once, not once
per movement."""


class Ledger:
    """The ledger operations on one database session, for one device.

    The caller owns the transaction (see `scanner.db.unit_of_work`); an operation that raises
    has written nothing the caller needs to keep.
    """

    def __init__(
        self, session: Session, clock: Clock = utc_now, *, known: KnownRows | None = None
    ) -> None:
        self.session = session
        self.clock = clock
        self.known: KnownRows = known if known is not None else set()

    # ---- operations ---------------------------------------------------------------------

    def receive(
        self,
        part: str,
        qty: Decimal | int | str,
        to_location: str,
        *,
        lot: str | None = None,
        serial: str | None = None,
        expiry: date | None = None,
        supplier_lot: str | None = None,
        po: str | None = None,
        po_line: int | None = None,
        operator: str | None = None,
    ) -> Movement:
        """Goods arrive: from a supplier against a purchase order line, or without one."""
        item = self._part(part)
        amount = self._tracked_quantity(item, qty, lot, serial)
        self._location(to_location)
        line = purchase_order_line(self.session, po, po_line, item) if po else None
        self._may_take(MovementKind.RECEIVE, item, lot, serial, into=to_location)
        if lot is not None:
            self._ensure_lot(
                item, lot, LotOrigin.RECEIVED, expiry=expiry, supplier_lot=supplier_lot
            )
        if serial is not None:
            self._serial_arrives(item, serial, lot)
        return self._record(
            MovementKind.RECEIVE,
            item,
            amount,
            lot=lot,
            serial=serial,
            to_location=to_location,
            po=line.po if line else None,
            po_line=line.line if line else None,
            operator=operator,
        )

    def issue_to_job(
        self,
        job: str,
        part: str,
        qty: Decimal | int | str,
        *,
        from_location: str | None = None,
        lot: str | None = None,
        serial: str | None = None,
        operator: str | None = None,
    ) -> Movement:
        """Components leave stock for a job. Warnings (expiry order, not on the job, more
        than needed) are the workflow's to show first: see `scanner.picking`."""
        order = self._open_job(job)
        item = self._part(part)
        amount = self._tracked_quantity(item, qty, lot, serial)
        lot = self._serial_lot(item, serial, lot)
        self._may_take(MovementKind.ISSUE, item, lot, serial)
        self._not_expired(item, lot)
        source = self._take(item, lot, serial, amount, from_location)
        return self._record(
            MovementKind.ISSUE,
            item,
            amount,
            lot=lot,
            serial=serial,
            from_location=source,
            job=order.number,
            operator=operator,
        )

    def backflush(
        self,
        job: str,
        part: str,
        qty: Decimal | int | str,
        from_location: str,
        *,
        operator: str | None = None,
    ) -> Movement:
        """A backflush part consumed by a completion (`scanner.completion`): an issue to the
        job recorded in full even when `from_location` holds less, its balance then going
        below zero. A completion happened; the screws it used were there, whatever the
        books said."""
        order = self._open_job(job)
        item = self._part(part)
        if not item.backflush:
            raise RuleViolation(f"{item.number} is not a backflush part: issue it by scan")
        amount = self._tracked_quantity(item, qty, None, None)
        self._location(from_location)
        return self._record(
            MovementKind.ISSUE,
            item,
            amount,
            from_location=from_location,
            job=order.number,
            reason=BACKFLUSH_REASON,
            operator=operator,
        )

    def produce(
        self,
        job: str,
        qty: Decimal | int | str,
        to_location: str,
        *,
        lot: str | None = None,
        serial: str | None = None,
        expiry: date | None = None,
        operator: str | None = None,
    ) -> Movement:
        """A job completes some of its assembly into stock. Its lot defaults to the one
        assigned to the job beforehand; what the job consumed becomes the lot's parents."""
        order = self._open_job(job)
        item = self._part(order.part)
        made_of = recalled_input(self.session, order.number)
        if made_of is not None:
            raise RuleViolation(
                f"Job {order.number} used {made_of}, which is recalled: what it makes now"
                " would be made of recalled stock, so nothing more is completed from it;"
                " quality staff decide"
            )
        if item.tracking == Tracking.LOT and lot is None:
            lot = self._assigned_lot(order)
        amount = self._tracked_quantity(item, qty, lot, serial)
        self._location(to_location)
        self._may_take(MovementKind.PRODUCE, item, lot, serial, into=to_location)
        if lot is not None:
            made = self._ensure_lot(item, lot, LotOrigin.PRODUCED, expiry=expiry, job=order)
            if made.assigned_job not in (None, order.number):
                raise RuleViolation(
                    f"{described(item.number, lot)} belongs to job {made.assigned_job}, not {job}"
                )
        if serial is not None:
            self._serial_arrives(item, serial, lot)
        return self._record(
            MovementKind.PRODUCE,
            item,
            amount,
            lot=lot,
            serial=serial,
            to_location=to_location,
            job=order.number,
            operator=operator,
        )

    def ship(
        self,
        so: str,
        part: str,
        qty: Decimal | int | str,
        *,
        line: int | None = None,
        from_location: str | None = None,
        lot: str | None = None,
        serial: str | None = None,
        operator: str | None = None,
    ) -> Movement:
        """Goods leave for a customer on a sales-order line. A line that requests lot control
        needs a lot even when the part is not lot-tracked: the lot then names the shipment."""
        item = self._part(part)
        order_line = sales_order_line(self.session, so, line, item)
        if order_line.lot_control and lot is None and item.tracking != Tracking.SERIAL:
            raise RuleViolation(
                f"{so} line {order_line.line} asks for lot control: scan, type or generate a lot"
                f" for {item.number}"
            )
        shipping_lot = order_line.lot_control and item.tracking == Tracking.NONE
        amount = self._tracked_quantity(
            item, qty, lot, serial, naming_shipment=order_line.lot_control
        )
        lot = self._serial_lot(item, serial, lot)
        if shipping_lot and lot is not None:
            self._ensure_lot(item, lot, LotOrigin.SHIPPED)
        self._may_take(MovementKind.SHIP, item, lot, serial)
        self._not_expired(item, lot)
        if serial is not None:
            self._serial_not_shipped(item, serial)
        source = self._take(item, lot, serial, amount, from_location)
        return self._record(
            MovementKind.SHIP,
            item,
            amount,
            lot=lot,
            serial=serial,
            from_location=source,
            so=order_line.so,
            so_line=order_line.line,
            operator=operator,
        )

    def return_from_customer(
        self,
        part: str,
        qty: Decimal | int | str,
        to_location: str,
        *,
        lot: str | None = None,
        serial: str | None = None,
        so: str | None = None,
        so_line: int | None = None,
        operator: str | None = None,
    ) -> Movement:
        """A customer sends back what was shipped, its lot or serial kept: on the sales-order
        line it went out on (found from the shipments when `so` is None), never more than
        is left to come back (`scanner.returns`). A held or recalled lot comes back too. An
        untracked part comes back by quantity, or by the lot a lot-control line named."""
        item = self._part(part)
        naming_shipment = item.tracking == Tracking.NONE and lot is not None
        amount = self._tracked_quantity(item, qty, lot, serial, naming_shipment=True)
        lot = self._serial_lot(item, serial, lot)
        if naming_shipment and lot is not None:
            self._lot(item, lot)
        self._location(to_location)
        line = customer_return_line(
            self.session, item, amount, lot=lot, serial=serial, so=so, so_line=so_line
        )
        return self._record(
            MovementKind.RETURN, item, amount, lot=lot, serial=serial, to_location=to_location,
            so=line[0] if line else None, so_line=line[1] if line else None, operator=operator,
        )  # fmt: skip

    def return_to_supplier(
        self,
        part: str,
        qty: Decimal | int | str,
        *,
        from_location: str | None = None,
        lot: str | None = None,
        serial: str | None = None,
        po: str | None = None,
        po_line: int | None = None,
        operator: str | None = None,
    ) -> Movement:
        """Stock on hand goes back to a supplier, its lot or serial kept: on the purchase
        order's line that received it when `po` is given, never more than that line
        received less what went back already. A held or recalled lot goes back too."""
        item = self._part(part)
        amount = self._tracked_quantity(item, qty, lot, serial)
        lot = self._serial_lot(item, serial, lot)
        line = None
        if po is not None:
            line = supplier_return_line(
                self.session, item, amount, lot=lot, serial=serial, po=po, po_line=po_line
            )
        source = self._take(item, lot, serial, amount, from_location)
        return self._record(
            MovementKind.RETURN, item, amount, lot=lot, serial=serial, from_location=source,
            po=line[0] if line else None, po_line=line[1] if line else None, operator=operator,
        )  # fmt: skip

    def move(
        self,
        part: str,
        qty: Decimal | int | str,
        to_location: str,
        *,
        from_location: str | None = None,
        lot: str | None = None,
        serial: str | None = None,
        operator: str | None = None,
    ) -> Movement:
        """Stock changes place inside the site."""
        item = self._part(part)
        if from_location is not None:
            # What the store would reject, in the order it judges (a move to where it is).
            facts = Facts(
                MovementKind.MOVE.value, item.number, lot, serial, to_quantity(qty),
                from_location, to_location, None, None,
            )  # fmt: skip
            refuse(shape_rule(facts))
        amount = self._tracked_quantity(item, qty, lot, serial)
        lot = self._serial_lot(item, serial, lot)
        self._location(to_location)
        self._may_take(MovementKind.MOVE, item, lot, serial, into=to_location)
        source = self._take(item, lot, serial, amount, from_location)
        return self._record(  # which refuses a move to where the stock already is
            MovementKind.MOVE,
            item,
            amount,
            lot=lot,
            serial=serial,
            from_location=source,
            to_location=to_location,
            operator=operator,
        )

    def adjust(
        self,
        part: str,
        delta: Decimal | int | str,
        location: str,
        *,
        lot: str | None = None,
        serial: str | None = None,
        reason: str,
        operator: str | None = None,
    ) -> Movement:
        """A count correction: `delta` is what was found (positive) or missing (negative)."""
        item = self._part(part)
        change = to_quantity(delta)
        if change == 0:
            raise RuleViolation("An adjustment needs a quantity other than zero")
        refuse(reason_rule(MovementKind.ADJUST, reason))
        amount = self._tracked_quantity(item, abs(change), lot, serial)
        self._location(location)
        if change > 0:
            # A serial found in a count may be one lotscan has never seen: it arrives here.
            known = serial is not None and self._serial_known(item, serial)
            if known:
                lot = self._serial_lot(item, serial, lot)
            if lot is not None:
                self._ensure_lot(item, lot, LotOrigin.ADJUSTED)
            if serial is not None:
                self._serial_arrives(item, serial, lot)
            return self._record(
                MovementKind.ADJUST, item, amount, lot=lot, serial=serial,
                to_location=location, reason=reason, operator=operator,
            )  # fmt: skip
        lot = self._serial_lot(item, serial, lot)
        self._take(item, lot, serial, amount, location)
        return self._record(
            MovementKind.ADJUST, item, amount, lot=lot, serial=serial,
            from_location=location, reason=reason, operator=operator,
        )  # fmt: skip

    def reverse(
        self, movement_id: uuid.UUID, *, reason: str, operator: str | None = None
    ) -> Movement:
        """Undoes a movement with a compensating one: the same goods, the other way."""
        original = find(self.session, Movement, movement_id)
        if original is None:
            raise NotFound(f"No movement {movement_id}")
        # Pulled movements of other devices are here too: a device undoes only its own.
        refuse(reversal_rule(device_id(self.session), original))
        undone = self.session.scalar(select(Movement.id).where(Movement.reverses == original.id))
        if undone is not None:
            raise RuleViolation(f"That {original.kind} was already reversed")
        item = self._part(original.part)
        if original.to_location is not None:
            self._take(item, original.lot, original.serial, original.qty, original.to_location)
        if original.serial is not None and original.to_location is None:
            # The serial left stock (issued, shipped, written off); it may not come back twice.
            self._serial_not_in_stock(item, original.serial)
        reversal_keeps_returns_covered(self.session, original, item)
        return self._record(
            MovementKind.REVERSE,
            item,
            original.qty,
            lot=original.lot,
            serial=original.serial,
            from_location=original.to_location,
            to_location=original.from_location,
            job=original.job,
            po=original.po,
            po_line=original.po_line,
            so=original.so,
            so_line=original.so_line,
            reverses=original,
            reason=reason,
            operator=operator,
        )

    def assign_lot(self, job: str, lot: str, *, expiry: date | None = None) -> Lot:
        """Pre-assigns a lot to a job's assembly, so its label can travel with the work."""
        order = self._open_job(job)
        item = self._part(order.part)
        if item.tracking != Tracking.LOT:
            raise RuleViolation(f"{item.number} is not lot-tracked: job {job} makes no lots")
        made = self._ensure_lot(item, lot, LotOrigin.ASSIGNED, expiry=expiry, job=order)
        if made.assigned_job != order.number:
            owner = f"job {made.assigned_job}" if made.assigned_job else "existing stock"
            raise RuleViolation(f"{described(item.number, lot)} already belongs to {owner}")
        return made

    def set_lot_status(self, part: str, lot: str, status: str) -> Lot:
        """Gives a lot a status without a person's decision or its history: for tests that
        need held stock. People hold, release and recall through `scanner.quality`."""
        try:
            new_status = LotStatus(status)
        except ValueError:
            raise RuleViolation(
                f"Lot status {status!r} is not one of active, hold, recalled"
            ) from None
        record = self._lot(self._part(part), lot)
        record.status = new_status.value
        self.session.flush()
        return record

    # ---- rules --------------------------------------------------------------------------

    def _part(self, number: str) -> Part:
        part = find(self.session, Part, number)
        if part is None:
            raise NotFound(f"Unknown part {number}")
        return part

    def _location(self, code: str) -> None:
        if not self._known(_LOCATION, code):
            raise NotFound(f"Unknown location {code}")

    def _known(self, table: str, code: str) -> bool:
        """Whether a reference row with this code exists, without loading it: from `known`,
        else from the database (and then remembered in `known`)."""
        if (table, code) in self.known:
            return True
        self.session.flush()  # a plain table query does not flush by itself
        if _EXISTS[table].first(self.session, {"code": code}) is None:
            return False
        self.known.add((table, code))
        return True

    def _lot(self, part: Part, number: str) -> Lot:
        lot = find(self.session, Lot, (part.number, number))
        if lot is None:
            raise NotFound(f"No {describe(part.number, number)}")
        return lot

    def _open_job(self, number: str) -> Job:
        return open_job(self.session, number)

    def _tracked_quantity(
        self,
        part: Part,
        qty: Decimal | int | str,
        lot: str | None,
        serial: str | None,
        *,
        naming_shipment: bool = False,
    ) -> Decimal:
        """Checks the quantity, the lot and serial, and the part's tracking mode against what
        was given (`scanner.movement_rules`), before anything is looked up; returns the
        quantity. `naming_shipment`: a lot on an untracked part names a shipment."""
        amount = to_quantity(qty)
        refuse(
            quantity_rule(amount)
            or numbers_rule(lot, serial)
            or serial_unit_rule(part.number, amount, serial)
            or tracking_rule(part, lot, serial, naming_shipment=naming_shipment)
        )
        return amount

    def _serial_lot(self, part: Part, serial: str | None, lot: str | None) -> str | None:
        """A serial keeps the lot it arrived with; the caller need not name it again."""
        if serial is None:
            return lot
        record = find(self.session, Serial, (part.number, serial))
        if record is None:
            raise NotFound(f"No {describe(part.number, serial=serial)}")
        if lot is not None and record.lot != lot:
            raise RuleViolation(f"{described(part.number, serial=serial)} is not in lot {lot}")
        return record.lot

    def _ensure_lot(
        self,
        part: Part,
        number: str,
        origin: LotOrigin,
        *,
        expiry: date | None = None,
        supplier_lot: str | None = None,
        job: Job | None = None,
    ) -> Lot:
        """The lot, created on first sight with its expiry (default: the part's shelf life),
        unless it differs from an existing lot only in case."""
        if supplier_lot is not None:
            refuse_control(supplier_lot, "The supplier lot")
        lot = find(self.session, Lot, (part.number, number))
        if lot is None:
            refuse_case_twin(self.session, Lot, part.number, number)
            if expiry is None and part.shelf_life_days:
                expiry = self.clock().date() + timedelta(days=part.shelf_life_days)
            lot = Lot(
                part=part.number,
                number=check_number(number, "Lot"),
                expiry=expiry,
                supplier_lot=supplier_lot,
                status=LotStatus.ACTIVE.value,
                origin=origin.value,
                assigned_job=job.number if job else None,
                created_at=self.clock(),
            )
            self.session.add(lot)
            self.session.flush()
            return lot
        if expiry is not None and lot.expiry not in (None, expiry):
            raise RuleViolation(
                f"{described(part.number, number)} expires {lot.expiry}, not {expiry}:"
                " check the label"
            )
        if supplier_lot is not None and lot.supplier_lot not in (None, supplier_lot):
            raise RuleViolation(
                f"{described(part.number, number)} is supplier lot {lot.supplier_lot},"
                f" not {supplier_lot}"
            )
        lot.expiry = lot.expiry or expiry
        lot.supplier_lot = lot.supplier_lot or supplier_lot
        return lot

    def _may_take(
        self,
        kind: MovementKind,
        part: Part,
        lot: str | None,
        serial: str | None,
        *,
        into: str | None = None,
    ) -> None:
        """Refuses a movement of held or recalled stock (its lot's status, or a serial's own)
        that `scanner.quality.may_move_unreleased` does not allow: such stock moves only
        into quarantine, and is never issued or shipped. The refusal says who decided the
        status, when and why. A lot or serial not seen before is released."""
        record: Lot | None
        if lot is None:
            record = None
        elif kind.value in MOVES_INTO and kind != MovementKind.MOVE:
            record = find(self.session, Lot, (part.number, lot))  # a new lot arrives released
        else:
            record = self._lot(part, lot)
        unit = find(self.session, Serial, (part.number, serial)) if serial is not None else None
        if status_of(record, unit) == LotStatus.ACTIVE:
            return
        into_quarantine = into is not None and self._is_quarantine(into)
        if may_move_unreleased(kind.value, into_quarantine):
            return
        words = not_released_words(self.session, record, unit)
        what = described(part.number, lot, serial)
        if kind.value in MOVES_INTO:
            quarantines = locations_of_kind(self.session, QUARANTINE)
            where = f" ({', '.join(quarantines)})" if quarantines else ", and the site has none"
            words = f"{words}: it may move only into quarantine{where}"
        raise RuleViolation(f"{what} is {words}")

    def _is_quarantine(self, code: str) -> bool:
        location = find(self.session, Location, code)
        return location is not None and location.kind == QUARANTINE

    def _not_expired(self, part: Part, lot: str | None) -> None:
        """Under the `block` policy, an expired lot is neither issued nor shipped."""
        if lot is None:
            return
        record = self._lot(part, lot)
        if (
            record.expiry is not None
            and record.expiry < self.clock().date()
            and read_setting(self.session, EXPIRY_POLICY) == ExpiryPolicy.BLOCK
        ):
            raise RuleViolation(f"Lot {lot} of {part.number} expired on {record.expiry}")

    def _assigned_lot(self, job: Job) -> str:
        assigned = self.session.scalars(
            select(Lot.number)
            .where(Lot.assigned_job == job.number)
            .order_by(Lot.created_at, Lot.number)
        ).all()
        if not assigned:
            raise RuleViolation(
                f"{job.part} is lot-tracked and job {job.number} has no lot: assign one"
            )
        if len(assigned) > 1:
            raise RuleViolation(
                f"Job {job.number} has lots {', '.join(assigned)}: scan the one being completed"
            )
        return assigned[0]

    def _serial_arrives(self, part: Part, serial: str, lot: str | None) -> None:
        self._serial_not_in_stock(part, serial)
        record = find(self.session, Serial, (part.number, serial))
        if record is not None and record.status == SerialStatus.SHIPPED:
            raise RuleViolation(
                f"{described(part.number, serial=serial)} was shipped; it cannot arrive again"
            )
        if record is not None and record.status == SerialStatus.CONSUMED:
            raise RuleViolation(
                f"{described(part.number, serial=serial)} went into job"
                f" {self._last_job(part, serial)}; it cannot arrive again"
            )
        if record is None:
            refuse_case_twin(self.session, Serial, part.number, serial)
            self.session.add(
                Serial(part=part.number, number=serial, lot=lot, status=SerialStatus.GONE.value)
            )
            self.session.flush()
        elif record.lot != lot:
            record.lot = lot

    def _serial_known(self, part: Part, serial: str) -> bool:
        return find(self.session, Serial, (part.number, serial)) is not None

    def _serial_not_in_stock(self, part: Part, serial: str) -> None:
        record = find(self.session, Serial, (part.number, serial))
        if record is not None and record.status == SerialStatus.IN_STOCK:
            raise RuleViolation(
                f"{described(part.number, serial=serial)} is already in stock at {record.location}"
            )

    def _serial_not_shipped(self, part: Part, serial: str) -> None:
        record = find(self.session, Serial, (part.number, serial))
        if record is not None and record.status == SerialStatus.SHIPPED:
            so = self.session.scalar(
                select(Movement.so)
                .where(
                    Movement.part == part.number,
                    Movement.serial == serial,
                    Movement.kind == MovementKind.SHIP,
                )
                .order_by(Movement.happened_at.desc())
            )
            raise RuleViolation(
                f"{described(part.number, serial=serial)} was already shipped on {so}"
            )

    def _last_job(self, part: Part, serial: str) -> str | None:
        return self.session.scalar(
            select(Movement.job)
            .where(
                Movement.part == part.number,
                Movement.serial == serial,
                Movement.kind == MovementKind.ISSUE,
            )
            .order_by(Movement.happened_at.desc())
        )

    def _take(
        self, part: Part, lot: str | None, serial: str | None, amount: Decimal, location: str | None
    ) -> str:
        """Checks that `amount` is on hand at `location` (or, when none is given, at the one
        place that holds it); returns the location. The balance itself changes in `_record`."""
        lot_key, serial_key = stock_key(part, lot, serial)
        what = describe(part.number, lot_key or None, serial_key or None)
        if location is None:
            places = self.session.scalars(
                select(Balance.location)
                .where(
                    Balance.part == part.number,
                    Balance.lot == lot_key,
                    Balance.serial == serial_key,
                )
                .order_by(Balance.location)
            ).all()
            if not places:
                raise RuleViolation(f"No {what} in stock")
            if len(places) > 1:
                raise RuleViolation(
                    f"{what[:1].upper()}{what[1:]} is at {', '.join(places)}: scan the location"
                )
            location = places[0]
        self._location(location)
        on_hand = stock_on_hand(self.session, part.number, lot_key, serial_key, location)
        if on_hand < amount:
            if on_hand == 0:
                raise RuleViolation(f"No {what} at {location}")
            raise RuleViolation(
                f"Only {format_quantity(on_hand)} {part.uom} of {what} at {location},"
                f" not {format_quantity(amount)}"
            )
        return location

    # ---- recording ----------------------------------------------------------------------

    def _record(
        self,
        kind: MovementKind,
        part: Part,
        qty: Decimal,
        *,
        lot: str | None = None,
        serial: str | None = None,
        from_location: str | None = None,
        to_location: str | None = None,
        job: str | None = None,
        po: str | None = None,
        po_line: int | None = None,
        so: str | None = None,
        so_line: int | None = None,
        reverses: Movement | None = None,
        reason: str | None = None,
        operator: str | None = None,
    ) -> Movement:
        # Every rule the store judges a pushed movement by, on the facts as recorded: the
        # operations above check most of them before they look anything up. A shipment's
        # lot on an untracked part was checked against its sales line by `ship`.
        facts = Facts(
            kind.value, part.number, lot, serial, qty, from_location, to_location, reason,
            reverses.id if reverses else None,
        )  # fmt: skip
        refuse(movement_rule(facts, part, lot_control=kind == MovementKind.SHIP))
        if operator is not None and not self._known(_OPERATOR, operator):
            raise NotFound(f"Unknown operator {operator}")
        if reason is not None:
            refuse_control(reason, "The reason")
        # The device, what it last pulled, and the next number, in one statement: the
        # settings travel with the numbering instead of costing a scan a statement of their
        # own. Not one INSERT RETURNING the number it took: for RETURNING, SQLite keeps a
        # statement journal of every page the INSERT changes, and writes it to a temporary
        # file whenever an index page splits.
        self.session.flush()
        numbering = _NUMBERING.first(self.session, {})
        assert numbering is not None
        device, cursor, floor, last = numbering
        if device is None:
            device = device_id(self.session)  # made now: a new device has no movements yet
        fields = {
            **_NO_FIELDS,
            "id": new_movement_id(),
            "device_id": device,
            "device_seq": max(last, SEQ_FLOOR.value_of(floor)) + 1,
            "kind": kind.value,
            "part": part.number,
            "lot": lot,
            "serial": serial,
            "qty": qty,
            "from_location": from_location,
            "to_location": to_location,
            "job": job,
            "po": po,
            "po_line": po_line,
            "so": so,
            "so_line": so_line,
            "operator": operator,
            "reverses": reverses.id if reverses else None,
            "reason": reason,
            "happened_at": self.clock(),
            "sync_state": SyncState.PENDING.value,
            "observed_cursor": PULL_CURSOR.value_of(cursor),
        }
        # A plain INSERT, then the same row as a persistent object without another trip:
        # the unit of work's flush of one new object cost more than the INSERT itself.
        _INSERT_MOVEMENT.run(self.session, fields)
        movement = as_loaded(self.session, Movement, fields)
        apply_to_caches(self.session, movement, part, reverses)
        self.session.flush()
        return movement


_MOVEMENTS = Movement.__table__
assert isinstance(_MOVEMENTS, Table)
_NO_FIELDS: dict[str, Any] = dict.fromkeys(_MOVEMENTS.columns.keys())
"""Every column of a movement, none given yet: the object made from an INSERT's values must
hold them all, or reading one it lacks would query the database."""
_SETTINGS = Setting.__table__
assert isinstance(_SETTINGS, Table)


def _setting(setting: SettingKey[Any]) -> ScalarSelect[str]:
    """`setting`'s stored text, as a subquery: read with the statement that needs it
    instead of costing a statement of its own (`SettingKey.value_of` reads the text)."""
    return select(_SETTINGS.c.value).where(_SETTINGS.c.key == setting.key).scalar_subquery()


_DEVICE = _setting(DEVICE_ID)
_NUMBERING = Prepared(
    select(
        _DEVICE,
        _setting(PULL_CURSOR),
        _setting(SEQ_FLOOR),
        select(func.coalesce(func.max(_MOVEMENTS.c.device_seq), 0))
        .where(_MOVEMENTS.c.device_id == _DEVICE)
        .scalar_subquery(),
    )
)
"""The device id (None while the database has none yet), its pull cursor and its number
floor (`scanner.settings.SEQ_FLOOR`), as the settings table holds them, and its last movement
number (0 for none). The next number is after the last and after the floor. On SQLite the
transaction holds the write lock from its start (`scanner.db`), so no other movement can
take the number before the INSERT; on PostgreSQL two store transactions numbering at once
collide on the unique index, as they did when the INSERT numbered the movement itself."""
_INSERT_MOVEMENT = Prepared(
    insert(_MOVEMENTS).values(
        {column.name: bindparam(column.name, type_=column.type) for column in _MOVEMENTS.columns}
    )
)
_LOCATION = "locations"
_OPERATOR = "operators"
_EXISTS = {
    _LOCATION: Prepared(
        select(Location.__table__.c.code).where(Location.__table__.c.code == bindparam("code"))
    ),
    _OPERATOR: Prepared(
        select(Operator.__table__.c.badge).where(Operator.__table__.c.badge == bindparam("code"))
    ),
}
