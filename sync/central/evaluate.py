"""What the store makes of a pushed movement (docs/architecture.md, "Sync outcomes").

Physical scans are facts: nothing here refuses a movement for a rule about the floor's state
(an expired or held lot, an over-shipment). But a movement the handheld's ledger would never
record is no fact: it is judged by the ledger's own rules (`scanner.movement_rules`), and
one that breaks a rule no data can make true is rejected (`rule_rejection`): a serial of
five, a receipt with a source, an adjustment from a device that is not a supervisor's, a
reversal of another device's movement. A movement is held when the store cannot apply it as
it stands (it names something the store does not know; its lot or serial does not fit its
part's tracking as the store has it; it moves a serial the store has elsewhere; it undoes
something already undone), and flagged when applying it leaves a balance below zero.
These functions only read (but for `Rows.write_caches`); `sync.central.apply` does the
writing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import inspect, select, tuple_
from sqlalchemy.orm import Session

from scanner.balances import CacheDelta, CacheModel, beyond_holding, cache_deltas, stock_key
from scanner.balances import Moved as CacheMoved
from scanner.closing import last_decision
from scanner.describing import describe, described
from scanner.ledger import BACKFLUSH_REASON
from scanner.models import (
    QUARANTINE,
    Balance,
    Job,
    JobLot,
    Location,
    Lot,
    LotStatus,
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
from scanner.movement_rules import (
    BrokenRule,
    lot_names_shipment,
    mirror_rule,
    number_rule,
    reversal_rule,
    shape_rule,
    tracking_rule,
)
from scanner.plain_text import shown
from scanner.quality import may_move_unreleased, not_released_words, recalled_input
from scanner.quantity import format_quantity, within_holding
from sync.central.bulk_sql import among
from sync.central.models import DeviceRole
from sync.central.pending import NewLot, NewMovement, NewSerial, Pending
from sync.exception_codes import ExceptionCode
from sync.protocol import MovementIn

MESSAGE_LIMIT = 300
_CHUNK = 400  # values per IN list: well under both databases' bound-parameter limits
_ZERO = Decimal(0)
_RELEASED = LotStatus.ACTIVE.value
R = TypeVar("R")
StockKey = tuple[str, str, str, str]


class Rows:
    """What the store has, as one operation sees it: rows read once and held on to, and
    what the operation decided and has not written yet (`pending`), which reads through.

    The session's identity map keeps rows only weakly, so without this a batch of movements
    would read the same part and location again for every movement. Whoever brings a lot
    or serial into being during the operation tells `hold` about it (its pending record).
    Balances are the ones read (each once) plus what the pending movements add to them."""

    def __init__(self, session: Session, pending: Pending | None = None) -> None:
        self.session = session
        self.pending = pending if pending is not None else Pending()
        self._held: dict[tuple[type[Any], Any], Any] = {}
        self._reversals: dict[uuid.UUID, tuple[str, int] | None] = {}
        self._balances: dict[StockKey, Decimal] = {}  # as written, without `pending`
        self._job_lots: dict[tuple[str, ...], Decimal] = {}  # the same, of the genealogy
        self._movers: dict[tuple[str, StockKey], Mover | None] = {}

    def get_one(self, model: type[R], key: Any) -> R:
        """A row the caller knows exists (`missing_references` found it)."""
        row = self.get(model, key)
        assert row is not None, f"{model.__name__} {key} was found before"
        return row

    def get(self, model: type[R], key: Any) -> R | None:
        slot = (model, key)
        if slot not in self._held:
            self._held[slot] = self.session.get(model, key)
        row: R | None = self._held[slot]
        return row

    def hold(self, model: type[Any], key: Any, row: Any) -> None:
        """Remembers a row (or a pending record of one) this operation brought into being."""
        self._held[(model, key)] = row

    def lot(self, part: str, number: str) -> Lot | NewLot | None:
        found: Lot | NewLot | None = self.get(Lot, (part, number))
        return found

    def serial(self, part: str, number: str) -> Serial | NewSerial | None:
        found: Serial | NewSerial | None = self.get(Serial, (part, number))
        return found

    def preload(self, model: type[Any], keys: Iterable[Any]) -> None:
        """Reads the rows with these keys (tuples for a composite key) in a few queries,
        and remembers which do not exist."""
        wanted = [key for key in dict.fromkeys(keys) if (model, key) not in self._held]
        if not wanted:
            return
        columns = inspect(model).primary_key
        if len(columns) == 1:
            for row in self.session.scalars(
                select(model).where(among(self.session, columns[0], wanted))
            ):
                self._held[(model, getattr(row, columns[0].key))] = row
        else:
            size = _CHUNK // len(columns)
            for start in range(0, len(wanted), size):
                chunk = wanted[start : start + size]
                for row in self.session.scalars(select(model).where(tuple_(*columns).in_(chunk))):
                    identity = inspect(row).identity
                    assert identity is not None
                    self._held[(model, identity)] = row
        for key in wanted:
            self._held.setdefault((model, key), None)

    # ---- the ledger ---------------------------------------------------------------------

    def movement(self, movement_id: uuid.UUID) -> Movement | NewMovement | None:
        """A movement of the central ledger, written or pending."""
        pending = self.pending.movements.get(movement_id)
        if pending is not None:
            return pending
        return self.get(Movement, movement_id)

    def reversal_of(self, movement_id: uuid.UUID) -> tuple[str, int] | None:
        """The device and number of the movement in the ledger that reverses this one."""
        pending = self.pending.reversals.get(movement_id)
        if pending is not None:
            return pending.device_id, pending.device_seq
        if movement_id not in self._reversals:
            self.preload_reversals([movement_id])
        return self._reversals[movement_id]

    def preload_reversals(self, movement_ids: Iterable[uuid.UUID]) -> None:
        wanted = [m for m in dict.fromkeys(movement_ids) if m not in self._reversals]
        if not wanted:
            return
        for reverses, device, seq in self.session.execute(
            select(Movement.reverses, Movement.device_id, Movement.device_seq).where(
                among(self.session, Movement.reverses, wanted)
            )
        ):
            self._reversals[reverses] = (device, seq)
        for movement_id in wanted:
            self._reversals.setdefault(movement_id, None)

    def last_mover(self, device: str, key: StockKey) -> Mover | None:
        """The ledger's latest movement out of this stock (part, lot, serial, location; an
        empty lot or serial matches any) by a device other than `device`. Written movements
        only: read once per operation, as pending movements never become written ones
        while it judges."""
        slot = (device, key)
        if slot not in self._movers:
            part, lot, serial, location = key
            query = select(
                Movement.device_id,
                Movement.server_seq,
                Movement.kind,
                Movement.to_location,
                Movement.job,
                Movement.so,
            ).where(
                Movement.part == part,
                Movement.from_location == location,
                Movement.device_id != device,
                Movement.server_seq.is_not(None),
            )
            if lot:
                query = query.where(Movement.lot == lot)
            if serial:
                query = query.where(Movement.serial == serial)
            found = self.session.execute(
                query.order_by(Movement.server_seq.desc()).limit(1)
            ).first()
            self._movers[slot] = Mover(*found) if found is not None else None
        return self._movers[slot]

    def forget_ledger(self) -> None:
        """Forgets what was read of the ledger and the balances, and the records of lots and
        serials: pending rows were just written (read them as rows from now on), or someone
        wrote past this view (the ledger, for a supervisor's count)."""
        self._held = {
            slot: row
            for slot, row in self._held.items()
            if slot[0] is not Movement and not isinstance(row, NewLot | NewSerial)
        }
        self._reversals.clear()
        self._movers.clear()
        self._balances.clear()
        self._job_lots.clear()

    # ---- balances -----------------------------------------------------------------------

    def balance(self, key: StockKey) -> Decimal:
        """The balance at (part, lot, serial, location), pending movements included."""
        if key not in self._balances:
            self.preload_balances([key])
        return self._balances[key] + self.pending.cache.get((Balance, key), _ZERO)

    def preload_balances(self, keys: Iterable[StockKey]) -> None:
        wanted = [key for key in dict.fromkeys(keys) if key not in self._balances]
        columns = (Balance.part, Balance.lot, Balance.serial, Balance.location)
        size = _CHUNK // len(columns)
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            for part, lot, serial, location, qty in self.session.execute(
                select(*columns, Balance.qty).where(tuple_(*columns).in_(chunk))
            ):
                self._balances[(part, lot, serial, location)] = qty
            for key in chunk:
                self._balances.setdefault(key, _ZERO)

    def cached(self, model: CacheModel, key: tuple[str, ...]) -> Decimal:
        """A cache row's quantity (a balance, or a job's genealogy row), pending movements
        included."""
        if model is Balance:
            part, lot, serial, location = key
            return self.balance((part, lot, serial, location))
        if key not in self._job_lots:
            self.preload_job_lots([key])
        return self._job_lots[key] + self.pending.cache.get((JobLot, key), _ZERO)

    def preload_job_lots(self, keys: Iterable[tuple[str, ...]]) -> None:
        wanted = [key for key in dict.fromkeys(keys) if key not in self._job_lots]
        columns = (JobLot.job, JobLot.role, JobLot.part, JobLot.lot, JobLot.serial)
        size = _CHUNK // len(columns)
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            for job, role, part, lot, serial, qty in self.session.execute(
                select(*columns, JobLot.qty).where(tuple_(*columns).in_(chunk))
            ):
                self._job_lots[(job, role, part, lot, serial)] = qty
            for key in chunk:
                self._job_lots.setdefault(key, _ZERO)

    def write_caches(self) -> None:
        """Writes what pending movements add to the caches, for a query that reads the
        balances table itself; the balances held here stay what they are."""
        for (model, key), qty in self.pending.write_caches(self.session).items():
            if model is Balance and key in self._balances:
                stock = (key[0], key[1], key[2], key[3])
                self._balances[stock] += qty
            elif model is JobLot and key in self._job_lots:
                self._job_lots[key] += qty


@dataclass(frozen=True)
class Verdict:
    """Why a movement is held or flagged, in the words a supervisor reads."""

    code: ExceptionCode
    message: str


def fit(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Text cut to a column's size, with an ellipsis when it had to be cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rule_rejection(rows: Rows, device_id: str, role: str, movement: MovementIn) -> Verdict | None:
    """The first rule of the ledger `movement` breaks whatever the store holds, as the
    verdict that rejects it; None when it breaks none. What a device may record (an
    adjustment only on a supervisor's) and what it may reverse (its own movements, exactly)
    are rules only the store can judge."""
    broken = _broken_anywhere(rows, device_id, role, movement)
    return rejection(broken) if broken is not None else None


def rejection(broken: BrokenRule) -> Verdict:
    """The verdict that rejects a movement for a broken rule."""
    return Verdict(
        ExceptionCode.RULE_VIOLATION,
        fit(
            f"Rejected, {rule_words(broken)}."
            " The handheld's ledger never records this; nothing was applied"
        ),
    )


def held_for(broken: BrokenRule) -> Verdict:
    """The verdict that keeps held a movement found to break a rule only once it was held
    (its original, or the stock it adds to, arrived later): a supervisor voids it."""
    return Verdict(
        ExceptionCode.RULE_VIOLATION, fit(f"Held, {rule_words(broken)}. A supervisor voids it")
    )


def _broken_anywhere(
    rows: Rows, device_id: str, role: str, movement: MovementIn
) -> BrokenRule | None:
    """The first rule the movement breaks whatever the store's reference data says."""
    return (
        shape_rule(movement)
        or hint_rule(movement)
        or device_rule(movement.kind, role)
        or reversed_rule(rows, device_id, movement)
    )


def hint_rule(movement: MovementIn) -> BrokenRule | None:
    """The lot a pushed serial arrived in becomes a lot row at the store: a number a label
    can carry, like every lot."""
    if movement.serial_lot is None:
        return None
    broken = number_rule(movement.serial_lot, "Lot")
    return BrokenRule(broken.rule, "serial_lot", broken.message) if broken else None


def numbers_fit(movement: MovementIn) -> bool:
    """Whether every lot and serial number a movement names could be on a label, so that
    looking it up in the store is safe."""
    return all(
        number_rule(number, "Lot") is None
        for number in (movement.lot, movement.serial, movement.serial_lot)
        if number is not None
    )


def device_rule(kind: str, role: str) -> BrokenRule | None:
    """A count correction is a supervisor's: an adjustment comes only from a supervisor's
    device. The store's own counts (a supervisor's resolution) are not pushed."""
    if kind == MovementKind.ADJUST and role != DeviceRole.SUPERVISOR:
        return BrokenRule(
            "adjust-by-supervisor",
            "kind",
            "Only a supervisor's device records an adjustment: ask a supervisor to count it",
        )
    return None


def reversed_rule(rows: Rows, device_id: str, movement: MovementIn) -> BrokenRule | None:
    """A reversal undoes a movement of its own device, not a reversal, and mirrors it. The
    store judges it when it has the original (until then it is held: an unknown
    reference)."""
    if movement.reverses is None:
        return None
    original = rows.movement(movement.reverses)
    if original is None:
        return None
    return reversal_rule(device_id, original) or mirror_rule(movement, original)


def hold_reason(rows: Rows, device_id: str, movement: MovementIn) -> Verdict | None:
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
    part = rows.get(Part, movement.part)
    assert part is not None  # missing_references checked it
    mismatch = tracking_mismatch(rows, movement, part)
    if mismatch is not None:
        return mismatch
    late = reversed_rule(rows, device_id, movement)
    if late is not None:  # its original arrived after it did
        return held_for(late)
    reversal = reversal_conflict(rows, movement)
    if reversal is not None:
        return reversal
    return serial_conflict(rows, movement, part)


def tracking_mismatch(rows: Rows, movement: MovementIn, part: Part) -> Verdict | None:
    """A lot or serial that does not fit the part's tracking as the store has it. The
    handheld that recorded it had the part otherwise (or would not have): a supervisor
    corrects the part and applies it, or voids it."""
    broken = _tracking(rows, movement, part)
    if broken is None:
        return None
    return Verdict(
        ExceptionCode.TRACKING_MISMATCH,
        fit(
            f"Held, {rule_words(broken)} (as the store"
            f" has {part.number}: tracked by {part.tracking}). A supervisor corrects the part"
            " and applies it, or voids it"
        ),
    )


def rule_broken(rows: Rows, device_id: str, role: str, movement: MovementIn) -> BrokenRule | None:
    """The first rule of the ledger a movement breaks by what the store holds now, or None:
    what a supervisor may not apply."""
    part = rows.get(Part, movement.part)
    return _broken_anywhere(rows, device_id, role, movement) or (
        (_tracking(rows, movement, part) or holding_rule(rows, movement, part))
        if part is not None
        else None
    )


def rule_words(broken: BrokenRule) -> str:
    """A broken rule as an exception names it: the field, the rule, the ledger's words, with
    any control character the pushed text held spelled out."""
    return f"{broken.field} breaks rule {broken.rule}: {shown(broken.message)}"


def shown_number(number: str | None, what: str) -> str | None:
    """A lot or serial as an exception row may keep it: only one a GS1 label can carry."""
    if number is None or number_rule(number, what) is not None:
        return None
    return number


def _tracking(rows: Rows, movement: MovementIn, part: Part) -> BrokenRule | None:
    naming = lot_names_shipment(
        movement.kind, movement.from_location, lot_control=_lot_control(rows, movement)
    )
    return tracking_rule(part, movement.lot, movement.serial, naming_shipment=naming)


def _lot_control(rows: Rows, movement: MovementIn) -> bool:
    """Whether the movement's sales line asks for lot control."""
    if movement.so is None or movement.so_line is None:
        return False
    line = rows.get(SalesOrderLine, (movement.so, movement.so_line))
    return line is not None and line.lot_control


def holding_rule(rows: Rows, movement: MovementIn, part: Part) -> BrokenRule | None:
    """A movement that would take a balance (or a job's use of a lot) past what one holds
    (`scanner.quantity.MOST_HELD`), which the handheld's ledger refuses too: applied, it
    would overflow the column for every device after it."""
    reverses = rows.movement(movement.reverses) if movement.reverses is not None else None
    return beyond_held(rows, cache_deltas(movement, part, reverses.kind if reverses else None))


def beyond_held(rows: Rows, deltas: Iterable[CacheDelta]) -> BrokenRule | None:
    """`holding_rule` for what a movement adds to the caches (`scanner.balances.cache_deltas`)."""
    for model, key, change in deltas:
        total = rows.cached(model, key) + change
        if not within_holding(total):
            return BrokenRule("balance-bounded", "qty", beyond_holding(model, key, total))
    return None


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
    if movement.reverses is not None and rows.movement(movement.reverses) is None:
        missing.append(f"the movement it reverses ({movement.reverses})")
    return missing


def reversal_conflict(rows: Rows, movement: MovementIn) -> Verdict | None:
    """A reversal of a movement another reversal already undid: applying both would undo
    it twice."""
    if movement.reverses is None:
        return None
    earlier = rows.reversal_of(movement.reverses)
    if earlier is None:
        return None
    device, seq = earlier
    return Verdict(
        ExceptionCode.DOUBLE_REVERSAL,
        fit(
            f"Held: device {device} already reversed that movement (its number"
            f" {seq}); applying this reversal too would undo it twice"
        ),
    )


def serial_conflict(rows: Rows, movement: MovementIn, part: Part) -> Verdict | None:
    """A serial taken from a place the store does not have it, or arriving while the store
    has it in stock."""
    if movement.serial is None or part.tracking != Tracking.SERIAL:
        return None
    record = rows.serial(part.number, movement.serial)
    in_stock = record is not None and record.status == SerialStatus.IN_STOCK
    what = describe(part.number, serial=movement.serial)
    if movement.from_location is not None:
        if in_stock and record is not None and record.location == movement.from_location:
            return None
        return Verdict(
            ExceptionCode.SERIAL_CONFLICT,
            fit(
                f"Held: the store does not have {what} at {movement.from_location}; it has it"
                f" {_whereabouts(rows, part, record)}. A supervisor decides which scan is"
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
    rows: Rows, movement: Moved, part: Part, observed_cursor: int | None
) -> Verdict | None:
    """After `movement` was applied: whether it left its source below zero, and whether that
    is because another device had already moved the stock away (a stale source) or the
    store simply has less than the handheld thought."""
    if movement.from_location is None:
        return None
    lot_key, serial_key = stock_key(part, movement.lot, movement.serial)
    source = movement.from_location
    on_hand = rows.balance((part.number, lot_key, serial_key, source))
    if on_hand >= 0:
        return None
    what = describe(part.number, lot_key or None, serial_key or None)
    mover = _unseen_mover(rows, movement, lot_key, serial_key, observed_cursor or 0)
    before = on_hand + movement.qty
    if mover is not None:
        if before > 0:  # some of it was still there, not all this movement took
            left = (
                f"Only {_quantity(before, part)} of {what} was still at {source}, not"
                f" {_quantity(movement.qty, part)}"
            )
        else:
            named = described(part.number, lot_key or None, serial_key or None)
            left = f"{named} had already left {source}"
        return Verdict(
            ExceptionCode.STALE_SOURCE,
            fit(
                f"{left}: device {mover.device} {mover.did} after this handheld last synced;"
                f" the balance there is now {_quantity(on_hand, part)}."
                f" {_now_at(rows, part, lot_key, serial_key, source, movement)}. Flagged for a"
                " supervisor"
            ),
        )
    return Verdict(
        ExceptionCode.NEGATIVE_BALANCE,
        fit(
            f"The store had {_quantity(before, part)} of {what} at {source}, not"
            f" {_quantity(movement.qty, part)}: the balance there is now"
            f" {_quantity(on_hand, part)}. Flagged for a supervisor; a later receipt or a"
            " count settles it"
        ),
    )


_ON_JOB = {MovementKind.ISSUE.value: "issue", MovementKind.PRODUCE.value: "completion"}
Closable = Job | PurchaseOrderLine | SalesOrderLine


def closed_reference(rows: Rows, movement: MovementIn) -> Verdict | None:
    """An issue or completion on a job the store has closed, or a receipt or shipment on a
    closed order line: the scan happened, so it counts, but whoever closed it should know
    (a handheld that had not pulled the close yet, or scanned before it)."""
    found = _closable(rows, movement)
    if found is None:
        return None
    subject, named, what, code = found
    if subject.status != "closed":
        return None
    decided = last_decision(rows.session, subject)
    by = f" ({decided.words()})" if decided is not None and decided.status == "closed" else ""
    return Verdict(
        code,
        fit(
            f"{named} was closed{by} when this {what} reached the store: it counts, and is"
            " flagged for a supervisor (reopen it, or dismiss this)"
        ),
    )


def _closable(rows: Rows, movement: MovementIn) -> tuple[Closable, str, str, ExceptionCode] | None:
    """The job or order line a movement adds to, as (row, its name, the movement in words,
    the code a closed one raises), or None."""
    subject: Closable | None = None
    if movement.reason == BACKFLUSH_REASON:
        return None  # the completion that consumed it answers for it
    if movement.kind in _ON_JOB and movement.job:
        subject = rows.get(Job, movement.job)
        named, what = f"Job {movement.job}", _ON_JOB[movement.kind]
        code = ExceptionCode.JOB_CLOSED
    elif movement.po_line is not None and movement.kind == "receive" and movement.po:
        subject = rows.get(PurchaseOrderLine, (movement.po, movement.po_line))
        named, what = f"{movement.po} line {movement.po_line}", "receipt"
        code = ExceptionCode.LINE_CLOSED
    elif movement.so_line is not None and movement.kind == "ship" and movement.so:
        subject = rows.get(SalesOrderLine, (movement.so, movement.so_line))
        named, what = f"{movement.so} line {movement.so_line}", "shipment"
        code = ExceptionCode.LINE_CLOSED
    return (subject, named, what, code) if subject is not None else None


def not_released(rows: Rows, movement: MovementIn, part: Part) -> Verdict | None:
    """A movement of stock on hold or recalled (its lot's status, a serial's own or its
    lot's, as the store has them when the movement is judged) that such stock may not take
    (`scanner.quality.may_move_unreleased`): it happened, so it counts, flagged for quality
    staff with who decided the status. Reads only rows the push preloaded; the words, read
    from the history, only for a movement it flags."""
    if movement.kind == MovementKind.PRODUCE.value and movement.job is not None:
        made_of = recalled_input(rows.session, movement.job)
        if made_of is not None:
            return Verdict(
                ExceptionCode.LOT_NOT_RELEASED,
                fit(
                    f"Job {movement.job} had used {made_of}, recalled, when this produce"
                    " reached the store: it counts, and is flagged for quality staff (what"
                    " it made is made of recalled stock)"
                ),
            )
    lot_number = movement.lot
    serial: Serial | NewSerial | None = None
    if movement.serial is not None and part.tracking == Tracking.SERIAL:
        serial = rows.serial(part.number, movement.serial)
        if serial is not None and serial.lot is not None:
            lot_number = serial.lot
    lot = rows.lot(part.number, lot_number) if lot_number is not None else None
    released = (lot is None or lot.status == _RELEASED) and (
        serial is None or serial.quality_status == _RELEASED
    )
    if released:
        return None
    to = rows.get(Location, movement.to_location) if movement.to_location else None
    if may_move_unreleased(movement.kind, to is not None and to.kind == QUARANTINE):
        return None
    words = not_released_words(
        rows.session,
        lot if isinstance(lot, Lot) else None,
        serial if isinstance(serial, Serial) else None,
    )
    what = describe(part.number, lot_number, movement.serial)
    return Verdict(
        ExceptionCode.LOT_NOT_RELEASED,
        fit(
            f"{what[:1].upper()}{what[1:]} was {words or 'not released'} when this"
            f" {movement.kind} reached the store: it counts, and is flagged for quality staff"
            " (it may only go into quarantine)"
        ),
    )


class Moved(CacheMoved, Protocol):
    """A movement in the central ledger, written or pending, as the store judges it."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def device_id(self) -> str: ...
    @property
    def part(self) -> str: ...


@dataclass(frozen=True)
class Mover:
    """Another device's movement that took stock from a place: who, and what it did."""

    device: str
    server_seq: int
    kind: str
    to_location: str | None
    job: str | None
    so: str | None

    @property
    def did(self) -> str:
        """What the movement did with the stock, in a supervisor's words."""
        if self.kind == MovementKind.ISSUE:
            return f"issued it to job {self.job}"
        if self.kind == MovementKind.SHIP:
            return f"shipped it on {self.so}"
        if self.kind == MovementKind.MOVE:
            return f"moved it to {self.to_location}"
        if self.kind == MovementKind.ADJUST:
            return "counted it out"
        if self.kind == MovementKind.RETURN:
            return "returned it to the supplier"
        if self.kind == MovementKind.REVERSE:
            return "reversed its arrival"
        return f"took it ({self.kind})"


def _unseen_mover(
    rows: Rows, movement: Moved, lot_key: str, serial_key: str, cursor: int
) -> Mover | None:
    """Another device that took the same stock from the same place after the handheld's
    last pull (so the handheld could not know). Pending movements come after every
    written one, so the latest of them that fits is the answer when there is one."""
    assert movement.from_location is not None
    for other in reversed(rows.pending.by_source.get((movement.part, movement.from_location), [])):
        if (
            other.device_id != movement.device_id
            and other.server_seq > cursor
            and other.id != movement.id
            and (not lot_key or other.lot == lot_key)
            and (not serial_key or other.serial == serial_key)
        ):
            return Mover(
                other.device_id, other.server_seq, other.kind, other.to_location, other.job,
                other.so,
            )  # fmt: skip
    latest = rows.last_mover(
        movement.device_id, (movement.part, lot_key, serial_key, movement.from_location)
    )
    if latest is None or latest.server_seq <= cursor:
        return None
    return latest


def _now_at(
    rows: Rows, part: Part, lot_key: str, serial_key: str, source: str, movement: Moved
) -> str:
    """Where the stock is now, so the supervisor can re-source the movement: not counting
    what the movement itself put at its destination. The balances table answers (in the
    database's order), so what pending movements add is written first."""
    rows.write_caches()
    found = rows.session.execute(
        select(Balance.location, Balance.qty)
        .where(
            Balance.part == part.number,
            Balance.lot == lot_key,
            Balance.serial == serial_key,
            Balance.location != source,
            Balance.qty > 0,
        )
        .order_by(Balance.qty.desc(), Balance.location)
    ).all()
    own = movement.to_location
    others = ((where, qty - movement.qty if where == own else qty) for where, qty in found)
    places = sorted((each for each in others if each[1] > 0), key=lambda each: -each[1])[:3]
    if not places:
        return "None of it is in stock anywhere now"
    where = ", ".join(f"{location} ({_quantity(qty, part)})" for location, qty in places)
    return f"It is at {where} now"


def _whereabouts(rows: Rows, part: Part, record: Serial | NewSerial | None) -> str:
    if record is None:
        return "nowhere: it never arrived"
    if record.status == SerialStatus.IN_STOCK:
        return f"at {record.location}"
    if record.status in (SerialStatus.SHIPPED, SerialStatus.CONSUMED):
        kind = MovementKind.SHIP if record.status == SerialStatus.SHIPPED else MovementKind.ISSUE
        so, job = _last_of_serial(rows, part, record.number, kind)
        if record.status == SerialStatus.SHIPPED:
            return f"shipped on {so}" if so else "shipped"
        return f"issued to job {job}" if job else "issued to a job"
    return "out of stock"


def _last_of_serial(
    rows: Rows, part: Part, serial: str, kind: MovementKind
) -> tuple[str | None, str | None]:
    """The sales order and job of the serial's last movement of this kind: a pending one
    (they come after every written one), else the ledger's."""
    for movement in reversed(rows.pending.by_serial.get((part.number, serial), [])):
        if movement.kind == kind:
            return movement.so, movement.job
    last = rows.session.execute(
        select(Movement.so, Movement.job)
        .where(
            Movement.part == part.number,
            Movement.serial == serial,
            Movement.kind == kind,
        )
        .order_by(Movement.server_seq.desc())
        .limit(1)
    ).first()
    return (last.so, last.job) if last is not None else (None, None)


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
