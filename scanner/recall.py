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

from sqlalchemy import select
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
    StatusChange,
    Tracking,
)
from scanner.quality import Action, Item, change_status, find_item, standing, status_of, stricter
from scanner.recall_queries import PENDING, SHIPPED, STOCK, family_queries_for
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
    waiting_devices: Sequence[WaitingDevice] | None = None,
) -> Recall:
    """The recall answer for a lot or serial of `part` (named as for `trace`); `today` says
    which lots have expired. On the central store `waiting_devices` are its handhelds with
    movements queued; on a handheld (None) its own movements not yet pushed are read from
    its outbox instead."""
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
    with collector_paused():  # thousands of records, all kept (scanner/cycle_collector.py)
        found = _WhereNow(family_queries_for(serials_of_lot).where_now.run(session, params), today)
        pending: tuple[PendingMovement, ...] = ()
        if waiting_devices is None:
            pending = tuple(_pending(PENDING.run(session, {}), _family_keys(traced, seed)))
    in_lot = _serials_in_lot(session, traced) if serials_of_lot else frozenset()
    return Recall(
        trace=traced,
        status=_status(session, traced, today),
        statuses=tuple(found.statuses.values()),
        descendants_on_hand=tuple(
            row for row in found.stock if not _is_seed(_key(row), seed, in_lot)
        ),
        wip=tuple(found.wip),
        deliveries=tuple(found.deliveries),
        customers=_customers(found.deliveries),
        pending=pending,
        waiting_devices=tuple(waiting_devices or ()),
    )


def _family_parameter(traced: Trace, seed: Node) -> str:
    """The tracked descendants' keys as the JSON list the family statement reads."""
    keys = dict.fromkeys(_descendants(traced))
    keys.pop(seed, None)
    return json.dumps([list(key) for key in keys], separators=(",", ":"))


def _descendants(traced: Trace) -> Iterable[Node]:
    for each in traced.forward:
        if each.lot is not None or each.serial is not None:
            yield (each.part, each.lot or NO_LOT, each.serial or NO_LOT)


def _family_keys(traced: Trace, seed: Node) -> set[Node]:
    """Every node of the family: the descendants, the traced node and, for a lot of
    serials, the lot (a movement of one of its serials names both)."""
    return {seed, *_descendants(traced)}


def _key(row: Any) -> Node:
    return (row.part, row.lot or NO_LOT, row.serial or NO_LOT)


def _serials_in_lot(session: Session, traced: Trace) -> frozenset[Node]:
    rows = session.execute(
        select(Serial.number).where(Serial.part == traced.part, Serial.lot == traced.lot)
    ).scalars()
    return frozenset((traced.part, NO_LOT, number) for number in rows)


def _is_seed(node: Node, seed: Node, in_lot: frozenset[Node]) -> bool:
    """Whether a node is one the trace started from (its own stock is the trace's
    `on_hand`): the traced node, or a serial in the traced lot."""
    return node == seed or node in in_lot


class _WhereNow:
    """The rows of `where_now`, read once: the stock, the work in progress, the shipments
    and the status of each node still in the plant (with stock, or in an open job)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]], today: date) -> None:
        self.statuses: dict[Node, NodeStatus] = {}
        self.stock: list[FamilyStock] = []
        self.wip: list[WorkInProgress] = []
        self.deliveries: list[Delivery] = []
        for section, part, lot, serial, ref, party, place, line, at, *stored, qty in rows:
            if section == SHIPPED:
                self.deliveries.append(
                    Delivery(part, lot or None, serial or None, ref, line, party, aware(at), qty)
                )
                continue
            status, expiry = self._status((part, lot, serial), qty, stored, today)
            if section == STOCK:
                self.stock.append(
                    FamilyStock(part, lot or None, serial or None, ref, qty, status, expiry)
                )
            else:
                self.wip.append(
                    WorkInProgress(ref, party, place, part, lot or None, serial or None, qty)
                )

    def _status(
        self, node: Node, qty: Decimal, stored: list[Any], today: date
    ) -> tuple[str, date | None]:
        lot_status, expiry, own = stored
        known = self.statuses.get(node)
        if known is None:
            status = stricter(*(each for each in (lot_status, own) if each is not None))
            known = self.statuses[node] = NodeStatus(
                node[0],
                node[1] or None,
                node[2] or None,
                standing(status, expiry, today).value,
                expiry,
                in_plant=False,
            )
        known.in_plant = known.in_plant or qty > 0
        return known.status, known.expiry


def _pending(rows: Iterable[tuple[Any, ...]], family: set[Node]) -> Iterable[PendingMovement]:
    """The outbox's movements of the family: by serial, or by lot for a lot-tracked one."""
    for part, lot, serial, kind, qty, source, to, job, so, when, device in rows:
        if (part, NO_LOT, serial or NO_LOT) in family or (part, lot or NO_LOT, NO_LOT) in family:
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
    """Recalls the traced lot or serial, every lot and serial made from it that is still in
    the plant (`NodeStatus.in_plant`), and the lots pre-assigned to the open jobs that used
    it (`_assigned_lots`); the lots it was made from are not touched. One
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
    chosen = {_subject_key(item) for item in items}
    for found in _assigned_lots(session, answer.wip):
        if _subject_key(found) not in chosen:
            items.append(found)
    held: list[HeldItem] = []
    already: list[HeldItem] = []
    changes: list[StatusChange] = []
    for item in items:
        was = item.own_status
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


def _assigned_lots(session: Session, wip: Sequence[WorkInProgress]) -> list[Item]:
    """The lots pre-assigned to the open jobs that used the family (`Ledger.assign_lot`):
    what such a job completes next goes into one, made from the recalled lot like the rest.
    Left released, a completion after the recall made released goods of it."""
    made_by = {(each.job, each.job_part) for each in wip}
    if not made_by:
        return []
    lots = session.scalars(
        select(Lot)
        .where(Lot.assigned_job.in_(sorted({job for job, _part in made_by})))
        .order_by(Lot.part, Lot.number)
    )
    found: list[Item] = []
    for lot in lots:
        part = find(session, Part, lot.part)
        if (lot.assigned_job, lot.part) in made_by and part is not None:
            found.append(Item(part, lot, None))
    return found


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
    waiting_devices: Sequence[WaitingDevice] | None = None,
) -> Recall:
    """`hold` on the recall of a lot or serial, in the caller's transaction; the answer is
    read again after it, so the statuses it shows are those it left, with what it held."""
    today = clock().date()
    before = recall(session, part, lot, serial, today=today, waiting_devices=())
    held, already, changes = hold(session, before, reason=reason, by=by, clock=clock)
    session.flush()
    after = recall(session, part, lot, serial, today=today, waiting_devices=waiting_devices)
    return replace(after, held=tuple(held), already_recalled=tuple(already), changes=tuple(changes))
