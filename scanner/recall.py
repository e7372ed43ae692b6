"""The recall answer (docs/architecture.md, "The recall answer"): everything made from a lot
or serial, at every depth, and everything it was made from, with where each of them is now:
stock on hand by location, work in progress on open jobs, movements still waiting for the
store, and what was shipped to whom, when, on which order and how much. `hold` recalls the
lot or serial and every lot and serial made from it that is still in the plant, in the
caller's one transaction.

It is the trace (`scanner.trace`) and then a few statements over the family the trace found
(`scanner.recall_queries`), so a recall costs the same statements whatever the family's size.
Its JSON is the trace's, keys and values alike, with fields added.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from scanner.clock import aware, iso
from scanner.cycle_collector import collector_paused
from scanner.json_output import json_record
from scanner.models import (
    NO_LOT,
    Lot,
    LotStatus,
    Part,
    Serial,
    SerialStatus,
    StatusChange,
    Tracking,
)
from scanner.quality import Action, Item, change_status, find_item, standing, status_of, stricter
from scanner.recall_queries import family_queries_for
from scanner.row_by_key import find
from scanner.trace import Trace, trace

Node = tuple[str, str, str]
"""(part, lot, serial) as the caches key them: "" for none."""


@dataclass(slots=True)
class NodeStatus:
    """The status of the traced lot or serial, or of one made from it, as people read it
    (released, hold, recalled, expired), its expiry, and whether it is still in the plant:
    on hand somewhere, consumed by an open job, or a serial in stock."""

    part: str
    lot: str | None
    serial: str | None
    status: str
    expiry: date | None
    in_plant: bool


@dataclass(slots=True)
class FamilyStock:
    """Stock on hand of something made from the traced lot or serial, with its status."""

    part: str
    lot: str | None
    serial: str | None
    location: str
    qty: Decimal
    status: str
    expiry: date | None


@dataclass(frozen=True)
class WorkInProgress:
    """What an open job consumed of the family: the job, the part it makes, where."""

    job: str
    job_part: str
    job_location: str | None
    part: str
    lot: str | None
    serial: str | None
    qty: Decimal


@dataclass(slots=True)
class Delivery:
    """One shipment of the family: to whom, when, on which order and line, how much."""

    part: str
    lot: str | None
    serial: str | None
    so: str
    so_line: int | None
    customer: str
    shipped_at: datetime
    qty: Decimal


@dataclass(frozen=True)
class Customer:
    """A customer who received something of the family, on which orders, first and last."""

    customer: str
    orders: tuple[str, ...]
    first_shipped_at: datetime
    last_shipped_at: datetime


@dataclass(frozen=True)
class PendingMovement:
    """A movement of the family this database recorded that has not reached the store."""

    part: str
    lot: str | None
    serial: str | None
    kind: str
    qty: Decimal
    from_location: str | None
    to_location: str | None
    job: str | None
    so: str | None
    happened_at: datetime
    device: str


@dataclass(frozen=True)
class WaitingDevice:
    """On the central store: a handheld that last said it had movements queued, which may
    touch the family and are not here yet."""

    device: str
    name: str
    queue_depth: int
    last_seen: datetime | None
    oldest_pending_at: datetime | None


@dataclass(frozen=True)
class HeldItem:
    """A lot or serial `hold` recalled (`was` its status before), or found recalled
    already."""

    part: str
    lot: str | None
    serial: str | None
    was: str


@dataclass(frozen=True)
class Recall:
    """The whole recall answer: the trace, and where everything in it is now."""

    trace: Trace
    status: str
    """The traced lot's or serial's status as people read it."""
    statuses: tuple[NodeStatus, ...]
    descendants_on_hand: tuple[FamilyStock, ...]
    wip: tuple[WorkInProgress, ...]
    deliveries: tuple[Delivery, ...]
    customers: tuple[Customer, ...]
    pending: tuple[PendingMovement, ...]
    waiting_devices: tuple[WaitingDevice, ...] = ()
    held: tuple[HeldItem, ...] | None = None
    """After `hold`: what it recalled (None when no hold was asked for)."""
    already_recalled: tuple[HeldItem, ...] | None = None
    changes: tuple[StatusChange, ...] = field(default=(), repr=False, compare=False)
    """The status changes `hold` recorded, for the caller to publish."""

    def in_plant(self) -> list[NodeStatus]:
        return [each for each in self.statuses if each.in_plant]

    def as_json(self) -> dict[str, Any]:
        """The trace's JSON (docs/architecture.md, "JSON shapes"), then the recall's fields;
        times and dates are ISO 8601."""
        document = self.trace.as_json()
        document["status"] = self.status
        document["statuses"] = [_dated(each) for each in self.statuses]
        document["descendants_on_hand"] = [_dated(each) for each in self.descendants_on_hand]
        document["wip"] = [json_record(each) for each in self.wip]
        document["deliveries"] = [_dated(each) for each in self.deliveries]
        document["customers"] = [_dated(each) for each in self.customers]
        document["pending"] = [_dated(each) for each in self.pending]
        document["waiting_devices"] = [_dated(each) for each in self.waiting_devices]
        if self.held is not None:
            document["held"] = [json_record(each) for each in self.held]
            document["already_recalled"] = [
                json_record(each) for each in self.already_recalled or ()
            ]
        return document


def _dated(record: Any) -> dict[str, Any]:
    document = json_record(record)
    for name, value in document.items():
        if isinstance(value, datetime):
            document[name] = iso(value)
        elif isinstance(value, date):
            document[name] = value.isoformat()
    return document


def recall(
    session: Session,
    part: str,
    lot: str | None = None,
    serial: str | None = None,
    *,
    today: date,
    waiting_devices: Sequence[WaitingDevice] = (),
) -> Recall:
    """The recall answer for a lot or serial of `part` (named as for `trace`); `today` says
    which lots have expired; `waiting_devices` are the central store's handhelds with
    movements queued (none on a handheld)."""
    traced = trace(session, part, lot=lot, serial=serial)
    item = session.get(Part, traced.part)
    assert item is not None
    serials_of_lot = traced.serial is None and item.tracking == Tracking.SERIAL
    if traced.serial is not None:
        seed: Node = (traced.part, NO_LOT, traced.serial)
    else:
        seed = (traced.part, traced.lot or NO_LOT, NO_LOT)
    params = {
        "part": traced.part,
        "lot": traced.lot if serials_of_lot else seed[1],
        "serial": seed[2],
        "family": _family_parameter(traced, seed),
    }
    queries = family_queries_for(serials_of_lot)
    with collector_paused():  # thousands of records, all kept (scanner/cycle_collector.py)
        wip = tuple(_wip(queries.wip.run(session, params)))
        state = _State(
            queries.state.run(session, params), {_key(each) for each in wip}, today=today
        )
        deliveries = tuple(_deliveries(queries.deliveries.run(session, params)))
        pending = tuple(_pending(queries.pending.run(session, params)))
    is_seed = _seed_test(traced, serials_of_lot, state.serial_lots)
    return Recall(
        trace=traced,
        status=_status(session, traced, today),
        statuses=tuple(state.statuses),
        descendants_on_hand=tuple(row for row in state.stock if not is_seed(_key(row))),
        wip=wip,
        deliveries=deliveries,
        customers=_customers(deliveries),
        pending=pending,
        waiting_devices=tuple(waiting_devices),
    )


def _family_parameter(traced: Trace, seed: Node) -> str:
    """The tracked descendants' keys as the JSON list the family statements read."""
    keys = dict.fromkeys(
        (each.part, each.lot or NO_LOT, each.serial or NO_LOT)
        for each in traced.forward
        if each.lot is not None or each.serial is not None
    )
    keys.pop(seed, None)
    return json.dumps([list(key) for key in keys], separators=(",", ":"))


def _key(row: Any) -> Node:
    return (row.part, row.lot or NO_LOT, row.serial or NO_LOT)


def _seed_test(
    traced: Trace, serials_of_lot: bool, serial_lots: dict[Node, str]
) -> Callable[[Node], bool]:
    """Whether a node is one the trace started from (its own stock is the trace's
    `on_hand`): the traced node, or a serial in the traced lot."""
    if serials_of_lot:
        return lambda node: node[0] == traced.part and serial_lots.get(node) == traced.lot
    if traced.serial is not None:
        return lambda node: node == (traced.part, NO_LOT, traced.serial)
    return lambda node: node == (traced.part, traced.lot or NO_LOT, NO_LOT)


class _State:
    """The state statement's rows, read once: each node's status and whether it is in the
    plant, and the stock rows."""

    def __init__(self, rows: Iterable[tuple[Any, ...]], in_wip: set[Node], today: date) -> None:
        self.statuses: list[NodeStatus] = []
        self.stock: list[FamilyStock] = []
        self.serial_lots: dict[Node, str] = {}
        last: Node | None = None
        for part, lot, serial, lot_status, expiry, own, state, serial_lot, location, qty in rows:
            node = (part, lot, serial)
            stored = own if lot_status is None else stricter(lot_status, own or lot_status)
            status = standing(stored or LotStatus.ACTIVE.value, expiry, today).value
            if node != last:
                last = node
                in_stock = state == SerialStatus.IN_STOCK.value
                self.statuses.append(
                    NodeStatus(part, lot or None, serial or None, status, expiry, in_stock)
                )
                if serial_lot is not None:
                    self.serial_lots[node] = serial_lot
                if node in in_wip:
                    self.statuses[-1].in_plant = True
            if location is None:
                continue
            self.stock.append(
                FamilyStock(part, lot or None, serial or None, location, qty, status, expiry)
            )
            if qty > 0:
                self.statuses[-1].in_plant = True


def _wip(rows: Iterable[tuple[Any, ...]]) -> Iterable[WorkInProgress]:
    for job, job_part, location, part, lot, serial, qty in rows:
        yield WorkInProgress(job, job_part, location, part, lot or None, serial or None, qty)


def _deliveries(rows: Iterable[tuple[Any, ...]]) -> Iterable[Delivery]:
    for part, lot, serial, so, so_line, customer, happened_at, qty in rows:
        yield Delivery(part, lot, serial, so, so_line, customer, aware(happened_at), qty)


def _pending(rows: Iterable[tuple[Any, ...]]) -> Iterable[PendingMovement]:
    for part, lot, serial, kind, qty, source, to, job, so, when, device, _seq in rows:
        yield PendingMovement(
            part, lot, serial, kind, qty, source, to, job, so, aware(when), device
        )


def _customers(deliveries: Sequence[Delivery]) -> tuple[Customer, ...]:
    """Each customer once, in the order of their first delivery."""
    found: dict[str, list[Delivery]] = {}
    for each in deliveries:
        found.setdefault(each.customer, []).append(each)
    return tuple(
        Customer(
            name,
            tuple(dict.fromkeys(each.so for each in got)),
            min(each.shipped_at for each in got),
            max(each.shipped_at for each in got),
        )
        for name, got in found.items()
    )


def _status(session: Session, traced: Trace, today: date) -> str:
    item = _item(session, traced)
    expiry = item.lot.expiry if item.lot is not None else None
    return standing(status_of(item.lot, item.serial), expiry, today).value


def _item(session: Session, traced: Trace) -> Item:
    if traced.serial is not None:
        return find_item(session, traced.part, lot=None, serial=traced.serial)
    return find_item(session, traced.part, lot=traced.lot, serial=None)


# ---- holding --------------------------------------------------------------------------------


def hold(
    session: Session,
    answer: Recall,
    *,
    reason: str,
    by: str,
    clock: Callable[[], datetime],
) -> tuple[list[HeldItem], list[HeldItem], list[StatusChange]]:
    """Recalls the traced lot or serial and every lot and serial made from it that is still
    in the plant (`NodeStatus.in_plant`); the lots it was made from are not touched. One
    reason, one moment, in the caller's transaction. Returns what it recalled, what was
    recalled already, and the status changes it recorded."""
    moment = clock()
    at_once: Callable[[], datetime] = lambda: moment  # noqa: E731 - one moment for all
    traced = answer.trace
    items = [_item(session, traced)]
    seed_key = _subject_key(items[0])
    for each in answer.in_plant():
        found = _node_item(session, each)
        if found is not None and _subject_key(found) != seed_key:
            items.append(found)
    held: list[HeldItem] = []
    already: list[HeldItem] = []
    changes: list[StatusChange] = []
    for item in items:
        was = _own_status(item)
        record = HeldItem(
            item.part.number,
            item.lot.number if item.lot is not None and item.serial is None else None,
            item.serial.number if item.serial is not None else None,
            _STANDING_WORDS.get(was, was),
        )
        if was == LotStatus.RECALLED.value:
            already.append(record)
            continue
        changes.append(
            change_status(session, item, Action.RECALL, reason=reason, by=by, clock=at_once)
        )
        held.append(record)
    return held, already, changes


_STANDING_WORDS = {LotStatus.ACTIVE.value: "released"}


def _own_status(item: Item) -> str:
    if item.serial is not None:
        return item.serial.quality_status
    assert item.lot is not None
    return item.lot.status


def _subject_key(item: Item) -> tuple[str, str, str]:
    if item.serial is not None:
        return (item.part.number, NO_LOT, item.serial.number)
    assert item.lot is not None
    return (item.part.number, item.lot.number, NO_LOT)


def _node_item(session: Session, node: NodeStatus) -> Item | None:
    """The lot or serial row of a family node (None for one this database lacks)."""
    part = find(session, Part, node.part)
    if part is None:
        return None
    if node.serial is not None:
        serial = find(session, Serial, (node.part, node.serial))
        if serial is None:
            return None
        lot = find(session, Lot, (node.part, serial.lot)) if serial.lot is not None else None
        return Item(part, lot, serial)
    if node.lot is None:
        return None
    lot_row = find(session, Lot, (node.part, node.lot))
    return Item(part, lot_row, None) if lot_row is not None else None


def recall_and_hold(
    session: Session,
    part: str,
    lot: str | None = None,
    serial: str | None = None,
    *,
    reason: str,
    by: str,
    clock: Callable[[], datetime],
    waiting_devices: Sequence[WaitingDevice] = (),
) -> Recall:
    """`hold` on the recall of a lot or serial, in the caller's transaction; the answer is
    read again after it, so the statuses it shows are those it left, with what it held."""
    today = clock().date()
    before = recall(session, part, lot, serial, today=today)
    held, already, changes = hold(session, before, reason=reason, by=by, clock=clock)
    session.flush()
    after = recall(session, part, lot, serial, today=today, waiting_devices=waiting_devices)
    return replace(after, held=tuple(held), already_recalled=tuple(already), changes=tuple(changes))
