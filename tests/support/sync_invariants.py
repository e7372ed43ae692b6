"""One checker for every sync reliability test (docs/architecture.md, "Invariants").

After a final sync (every device online, queues drained, one last pull), the central store
and the handhelds must agree:

- I1 nothing lost: each device's movements are exactly the ones the store received from it;
- I2 nothing applied twice: a movement id is in the store's ledger at most once, and it is
  there exactly when its outcome counts (applied or flagged);
- I3 per-device order: the store numbered each device's movements in the device's order;
- I4 replay equality: every database's caches equal a fold of its ledger;
- I5 every anomaly explained: each flagged or held movement, each rejection and each negative
  balance has an exception, and no shortage exception stays open once its balance is back;
- I6 convergence: each device holds the store's ledger (the same movements, numbers and
  outcomes), mirrors its own movements' outcomes, holds the store's stock and serial states,
  its lots' and serials' statuses and every status change (kept or refused), and has pulled
  everything;
- I7 liveness: no device has anything left to send, and the store has applied each device's
  last number.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.balance_check import cache_differences
from scanner.balances import stock_key
from scanner.models import (
    NOT_EFFECTIVE,
    Balance,
    Lot,
    Movement,
    Part,
    Serial,
    StatusChange,
    SyncState,
)
from scanner.settings import PULL_CURSOR, SEQ_FLOOR, device_id, read_setting
from sync.central.models import (
    Change,
    Device,
    ExceptionStatus,
    Outcome,
    SyncClock,
    SyncEntry,
    SyncException,
    SyncRejection,
)
from sync.exception_codes import ExceptionCode

COUNTING = (Outcome.APPLIED.value, Outcome.FLAGGED.value)
SHORTAGE = (ExceptionCode.NEGATIVE_BALANCE.value, ExceptionCode.STALE_SOURCE.value)

StockKey = tuple[str, str, str, str]
# What two databases must agree on about one movement that counts.
Fact = tuple[object, ...]


class HasDatabase(Protocol):
    """A handheld as the checker sees it: its database."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...


@dataclass(frozen=True)
class Handheld:
    """A handheld given by its database alone."""

    sessions: sessionmaker[Session]

    def device(self) -> str:
        with self.sessions() as session:
            return device_id(session)


@dataclass
class Store:
    """What the checker reads from the central store, once."""

    entries: dict[tuple[str, int], SyncEntry]
    rejected: set[tuple[str, int]]
    ledger: list[Movement]
    exceptions: list[SyncException]
    stock: dict[StockKey, Decimal]
    serials: dict[tuple[str, str], tuple[str, str | None]]
    applied_up_to: dict[str, int]
    clock: int
    tracking: dict[str, str]
    held_once: set[str]
    statuses: dict[tuple[str, str, str], str]
    decisions: dict[uuid.UUID, tuple[str, str]]


def violations(central: sessionmaker[Session], handhelds: Sequence[HasDatabase]) -> list[str]:
    """Every way the store and the handhelds break I1 to I7; empty when all hold."""
    problems: list[str] = []
    with central() as session:
        store = _read_store(session)
        problems += [f"I4 store: {p}" for p in cache_differences(session)]
    problems += _no_double_apply(store)
    problems += _order_kept(store)
    problems += _anomalies_explained(store)
    store_facts = {m.id: _fact(m) for m in store.ledger}
    for handheld in handhelds:
        with handheld.sessions() as session:
            device = device_id(session)
            own = list(session.scalars(select(Movement).where(Movement.device_id == device)))
            problems += [f"I4 {device}: {p}" for p in cache_differences(session)]
            problems += _mirrors(device, own, store, read_setting(session, SEQ_FLOOR))
            problems += _converged(device, session, store, store_facts)
    return problems


def _read_store(session: Session) -> Store:
    clock = session.get(SyncClock, 1)
    return Store(
        entries={(e.device_id, e.device_seq): e for e in session.scalars(select(SyncEntry))},
        rejected={(r.device_id, r.device_seq) for r in session.scalars(select(SyncRejection))},
        ledger=list(session.scalars(select(Movement))),
        exceptions=list(session.scalars(select(SyncException))),
        stock=_stock(session),
        serials=_serials(session),
        applied_up_to={d.id: d.last_applied_seq for d in session.scalars(select(Device))},
        clock=clock.seq if clock else 0,
        tracking={p.number: p.tracking for p in session.scalars(select(Part))},
        held_once=set(
            session.scalars(
                select(Change.key).where(
                    Change.kind == "movement", Change.payload.like('%"status":"held"%')
                )
            )
        ),
        statuses=_statuses(session),
        decisions=_decisions(session),
    )


def _statuses(session: Session) -> dict[tuple[str, str, str], str]:
    """Each lot's status and each serial's own, by (lot or serial, part, number)."""
    found = {("lot", lot.part, lot.number): lot.status for lot in session.scalars(select(Lot))}
    for serial in session.scalars(select(Serial)):
        found[("serial", serial.part, serial.number)] = serial.quality_status
    return found


def _decisions(session: Session) -> dict[uuid.UUID, tuple[str, str]]:
    """Every status change: its status, and whether it was kept (applied) or refused."""
    return {
        change.id: (change.status, change.sync_state)
        for change in session.scalars(select(StatusChange))
    }


def _stock(session: Session) -> dict[StockKey, Decimal]:
    return {(b.part, b.lot, b.serial, b.location): b.qty for b in session.scalars(select(Balance))}


def _serials(session: Session) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {(s.part, s.number): (s.status, s.location) for s in session.scalars(select(Serial))}


def _fact(movement: Movement) -> Fact:
    return (
        movement.device_id,
        movement.device_seq,
        movement.kind,
        movement.part,
        movement.lot,
        movement.serial,
        Decimal(movement.qty),
        movement.from_location,
        movement.to_location,
        movement.server_seq,
        movement.sync_state,
    )


def _no_double_apply(store: Store) -> list[str]:
    problems = []
    seen: dict[object, int] = defaultdict(int)
    for movement in store.ledger:
        seen[movement.id] += 1
    problems += [
        f"I2 movement {m} is in the store's ledger {n} times" for m, n in seen.items() if n > 1
    ]
    in_ledger = set(seen)
    for (device, seq), entry in store.entries.items():
        counts = entry.status in COUNTING
        if counts != (entry.movement_id in in_ledger):
            problems.append(
                f"I2 {device}#{seq} is {entry.status} but"
                f" {'missing from' if counts else 'present in'} the store's ledger"
            )
    for movement in store.ledger:
        if movement.sync_state not in COUNTING:
            problems.append(
                f"I2 {movement.device_id}#{movement.device_seq} is in the store's ledger as"
                f" {movement.sync_state}"
            )
    return problems


def _order_kept(store: Store) -> list[str]:
    """The store numbers each device's movements in the device's order. A held movement
    applied later (master data arrived, a supervisor decided) takes a later number, so it
    is left out of the comparison."""
    problems = []
    by_device: dict[str, list[Movement]] = defaultdict(list)
    for movement in store.ledger:
        if str(movement.id) not in store.held_once:
            by_device[movement.device_id].append(movement)
    for device, movements in by_device.items():
        movements.sort(key=lambda m: m.device_seq)
        numbers = [m.server_seq or 0 for m in movements]
        if not all(numbers):
            problems.append(f"I3 {device}: a movement in the store's ledger has no number")
        elif numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            problems.append(f"I3 {device}: the store's numbers do not follow the device's order")
    return problems


def _anomalies_explained(store: Store) -> list[str]:
    problems = []
    explained = {(x.device_id, x.device_seq) for x in store.exceptions}
    for key, entry in store.entries.items():
        if entry.status in (Outcome.FLAGGED.value, Outcome.HELD.value) and key not in explained:
            problems.append(f"I5 {key[0]}#{key[1]} is {entry.status} with no exception")
    alerted = {
        x.device_id for x in store.exceptions if x.code == ExceptionCode.IDEMPOTENCY_CONFLICT
    }
    for key in store.rejected:
        # A reused movement id under a new number has no entry to point at: the alert then
        # names the device only.
        if key not in explained and key[0] not in alerted:
            problems.append(f"I5 {key[0]}#{key[1]} was rejected with no exception")
    # A negative balance is explained by an exception about it that is open, or that a
    # supervisor resolved (dismissed, say) with a reason; never by one cleared on its own.
    decided = (ExceptionStatus.OPEN.value, ExceptionStatus.RESOLVED.value)
    explained_keys = {_exception_key(store, x) for x in store.exceptions if x.status in decided}
    for (part, lot, serial, location), qty in store.stock.items():
        if qty < 0 and (part, lot, serial, location) not in explained_keys:
            problems.append(
                f"I5 {part}/{lot}/{serial} at {location} is {qty} with no exception about it"
            )
    # A shortfall on a movement that counts clears itself once the balance is back.
    for exception in store.exceptions:
        flagged = store.entries.get((exception.device_id or "", exception.device_seq or 0))
        if (
            exception.status == ExceptionStatus.OPEN.value
            and exception.code in SHORTAGE
            and flagged is not None
            and flagged.status in COUNTING
        ):
            place = _exception_key(store, exception)
            if store.stock.get(place, Decimal(0)) >= 0:
                problems.append(
                    f"I5 {exception.code} #{exception.id} on {'/'.join(place)} is still open"
                    f" though the balance is back to {store.stock.get(place, Decimal(0))}"
                )
    return problems


def _exception_key(store: Store, exception: SyncException) -> StockKey:
    """The balance an exception is about, keyed as the balances are (a lot only for a
    lot-tracked part, a serial only for a serial-tracked one)."""
    part = Part(number=exception.part or "", tracking=store.tracking.get(exception.part or ""))
    lot, serial = stock_key(part, exception.lot, exception.serial)
    return (exception.part or "", lot, serial, exception.location or "")


def _mirrors(device: str, own: list[Movement], store: Store, floor: int) -> list[str]:
    """I1, I6 and I7 for one device's own movements. A handheld enrolled in place of a
    broken one takes over its numbers up to `floor`: of those, the ones the store held or
    voided never reach its ledger (nothing on the floor changed)."""
    problems = []
    sent = {s for d, s in store.entries if d == device}
    sent |= {s for d, s in store.rejected if d == device}
    recorded = {m.device_seq for m in own}
    taken_over = {
        s
        for s in sent - recorded
        if s <= floor
        and ((device, s) in store.rejected or store.entries[(device, s)].status not in COUNTING)
    }
    problems += [f"I1 {device}#{s} never reached the store" for s in sorted(recorded - sent)]
    problems += [
        f"I1 the store has {device}#{s}, which the device never recorded"
        for s in sorted(sent - recorded - taken_over)
    ]
    highest = max(recorded | {floor})
    if store.applied_up_to.get(device, 0) != highest:
        problems.append(
            f"I7 {device}: the store applied up to #{store.applied_up_to.get(device, 0)},"
            f" the device numbered up to #{highest}"
        )
    for movement in own:
        if movement.sync_state == SyncState.PENDING.value:
            problems.append(f"I7 {device}#{movement.device_seq} is still waiting to sync")
            continue
        entry = store.entries.get((device, movement.device_seq))
        if entry is None:
            if movement.sync_state != SyncState.REJECTED.value:
                problems.append(f"I6 {device}#{movement.device_seq} has no outcome at the store")
            continue
        if entry.movement_id != movement.id:
            problems.append(
                f"I6 {device}#{movement.device_seq} is movement {movement.id} on the device but"
                f" {entry.movement_id} at the store"
            )
        if movement.sync_state != entry.status:
            problems.append(
                f"I6 {device}#{movement.device_seq}: device says {movement.sync_state},"
                f" store says {entry.status}"
            )
    return problems


def _converged(
    device: str, session: Session, store: Store, facts: dict[uuid.UUID, Fact]
) -> list[str]:
    """I6: the device's ledger, stock, serials and cursor are the store's."""
    problems = _same_ledger(device, session, facts)
    stock = _stock(session)
    for place in sorted(set(stock) | set(store.stock)):
        here, there = stock.get(place, Decimal(0)), store.stock.get(place, Decimal(0))
        if here != there:
            problems.append(f"I6 {device}: {'/'.join(place)} is {here} here, {there} at the store")
    serials = _serials(session)
    for serial in sorted(set(serials) & set(store.serials)):
        if serials[serial] != store.serials[serial]:
            problems.append(
                f"I6 {device}: serial {serial[1]} of {serial[0]} is {serials[serial]} here,"
                f" {store.serials[serial]} at the store"
            )
    statuses = _statuses(session)
    for key in sorted(set(statuses) & set(store.statuses)):
        if statuses[key] != store.statuses[key]:
            problems.append(
                f"I6 {device}: {key[0]} {key[2]} of {key[1]} is {statuses[key]} here,"
                f" {store.statuses[key]} at the store"
            )
    decisions = _decisions(session)
    if decisions != store.decisions:
        differ = sorted(str(i) for i in set(decisions) ^ set(store.decisions))
        differ += sorted(
            str(i) for i in set(decisions) & set(store.decisions)
            if decisions[i] != store.decisions[i]
        )  # fmt: skip
        problems.append(f"I6 {device}: status changes differ from the store's: {differ[:3]}")
    cursor = read_setting(session, PULL_CURSOR) or 0
    if cursor != store.clock:
        problems.append(f"I6 {device}: pulled up to {cursor}, the store is at {store.clock}")
    return problems


def _same_ledger(device: str, session: Session, facts: dict[uuid.UUID, Fact]) -> list[str]:
    """The movements that count here are the store's ledger, with the same numbers and
    outcomes."""
    problems = []
    mine = {
        m.id: _fact(m)
        for m in session.scalars(select(Movement).where(Movement.sync_state.not_in(NOT_EFFECTIVE)))
    }
    for movement_id in sorted(set(facts) | set(mine), key=str):
        here, there = mine.get(movement_id), facts.get(movement_id)
        if here == there:
            continue
        if there is None:
            problems.append(f"I6 {device}: counts movement {here}, which the store does not")
        elif here is None:
            problems.append(f"I6 {device}: lacks the store's movement {there}")
        else:
            problems.append(f"I6 {device}: has movement {here}, the store {there}")
    return problems
