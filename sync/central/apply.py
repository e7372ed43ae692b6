"""Writing to the central ledger: a device's movement applied or held, a held movement
applied or voided later, a supervisor's count, and exceptions opened and cleared.

The central ledger (`movements`) holds only movements that count, each numbered by the
store's clock (`server_seq`, the number of the change that told devices about it). Held and
voided movements live only in `sync_entries`. Every outcome is also a "movement" change, and
every lot or serial a movement brings into being is a change just before it, so a device
pulling in order always has the lot before the movement that names it.

An operation judges its movements one after the other, each seeing what the ones before it
did, but writes the new ledger rows, entries, exceptions and cache changes together when it
finishes (`sync.central.pending`): a push of 500 movements is a few dozen statements, not a
few per movement.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from operator import attrgetter

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from scanner.balances import cache_deltas, serial_state_after, stock_key
from scanner.clock import Clock
from scanner.describing import describe
from scanner.errors import LotscanError, NotFound
from scanner.ledger import Ledger
from scanner.models import (
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
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    Serial,
    SerialStatus,
    Tracking,
)
from scanner.quantity import MOST_MOVED, format_quantity
from sync.central.batch import Batch
from sync.central.bulk_sql import among
from sync.central.changes import (
    CHANGES,
    ChangeLog,
    ledger_fields,
    movement_text,
    reference_data,
)
from sync.central.errors import SyncError
from sync.central.evaluate import (
    Rows,
    Verdict,
    closed_reference,
    fit,
    held_for,
    hold_reason,
    holding_rule,
    missing_references,
    not_released,
    numbers_fit,
    rejection,
    reversal_conflict,
    rule_broken,
    rule_rejection,
    rule_words,
    shortfall,
    shown_number,
)
from sync.central.exception_cap import ExceptionCap
from sync.central.models import (
    Device,
    ExceptionStatus,
    Outcome,
    SyncEntry,
    SyncException,
    SyncRejection,
)
from sync.central.pending import (
    ENTRIES,
    MOVEMENTS,
    NewEntry,
    NewException,
    NewLot,
    NewMovement,
    NewRejection,
    NewSerial,
)
from sync.central.write_behind import WriteBehind
from sync.exception_codes import SHORTFALLS, ExceptionCode
from sync.protocol import MovementIn, canonical, movement_hash, movement_payload

StockKey = tuple[str, str, str, str]
Entry = SyncEntry | NewEntry
"""A sync entry: stored, or pushed in this operation and written when it finishes."""
Alert = SyncException | NewException
COUNTING = (Outcome.APPLIED.value, Outcome.FLAGGED.value)
_APPLIED, _FLAGGED = COUNTING
_ORIGINS = frozenset(origin.value for origin in LotOrigin)
_ORIGIN_BY_KIND = {
    MovementKind.RECEIVE.value: LotOrigin.RECEIVED,
    MovementKind.PRODUCE.value: LotOrigin.PRODUCED,
    MovementKind.SHIP.value: LotOrigin.SHIPPED,
}


_NAMED = attrgetter(
    "part", "from_location", "to_location", "job", "lot_job", "operator", "po", "po_line",
    "so", "so_line", "lot", "serial_lot", "serial", "reverses", "kind",
)  # fmt: skip
"""What `CentralLedger.expect` reads for a movement, and the kind."""
_CACHE_FACTS = attrgetter(
    "part", "lot", "serial", "qty", "from_location", "to_location", "job", "kind", "reverses"
)


def entry_codes(entry: Entry) -> list[str]:
    return entry.codes.split(",") if entry.codes else []


class CentralLedger:
    """The store's writes for one operation (a push, a publication, a supervisor's
    decision), which calls `finish` before it returns. It holds the rows it read and what
    it decided (`rows`, `pending`), and remembers which balances have an open shortfall, so
    a batch of movements looks each of those up once, not once per movement."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.now = clock()
        self.rows = Rows(session)
        self.pending = self.rows.pending
        self.log = ChangeLog(session, self.now)
        self.cap = ExceptionCap(session, self.now, self.pending)
        # Open shortfall exceptions on movements that count, by balance: the stored ones by
        # id, the pending ones themselves.
        self._shortfalls: dict[StockKey, set[int | NewException]] | None = None
        self._batch: Batch | None = None
        self.behind: WriteBehind | None = None
        """Where a push judged as a set writes its clean rows as it goes, on PostgreSQL."""

    def judge_as_set(self, device_id: str, role: str) -> None:
        """From now on, `accept` applies the movements of `device_id` (whose role is `role`)
        that apply clean as a set (`sync.central.batch`), and judges the others alone."""
        self._batch = Batch(self, device_id, role)
        if WriteBehind.available(self.session):
            self.behind = WriteBehind(self.session, (MOVEMENTS, ENTRIES, CHANGES))

    def finish(self) -> None:
        """Writes what the operation decided, the changes appended and the clock."""
        self._write_pending()
        if self.behind is not None:
            self.behind.close()
            self.behind = None
        self.log.write()
        self.session.flush()

    # ---- a device's movement ------------------------------------------------------------

    def expect(self, movements: list[MovementIn]) -> None:
        """Reads what a batch of movements names, and the balances it takes stock from, in
        a few queries, not a few per movement. A lot or serial no label can carry is looked
        up nowhere (PostgreSQL refuses a NUL even as a parameter): its movement is rejected
        before anything is read for it."""
        rows = self.rows
        # A backlog names the same few things hundreds of times: each distinct set is read
        # for once. The kind goes with them for `_stock_read`, as it decides which caches a
        # movement changes; its quantity decides only by how much.
        distinct = {_NAMED(m): m for m in movements}
        movements = [m for m in distinct.values() if numbers_fit(m)]
        rows.preload(Part, (m.part for m in movements))
        rows.preload(
            Location, (code for m in movements for code in (m.from_location, m.to_location) if code)
        )
        rows.preload(Job, (job for m in movements for job in (m.job, m.lot_job) if job))
        rows.preload(Operator, (m.operator for m in movements if m.operator))
        rows.preload(
            PurchaseOrderLine,
            ((m.po, m.po_line) for m in movements if m.po and m.po_line is not None),
        )
        rows.preload(PurchaseOrder, (m.po for m in movements if m.po and m.po_line is None))
        rows.preload(
            SalesOrderLine,
            ((m.so, m.so_line) for m in movements if m.so and m.so_line is not None),
        )
        rows.preload(SalesOrder, (m.so for m in movements if m.so and m.so_line is None))
        rows.preload(
            Lot, ((m.part, lot) for m in movements for lot in (m.lot, m.serial_lot) if lot)
        )
        rows.preload(Serial, ((m.part, m.serial) for m in movements if m.serial))
        reversed_ids = [m.reverses for m in movements if m.reverses is not None]
        rows.preload(Movement, reversed_ids)
        rows.preload_reversals(reversed_ids)
        self._stock_read(movements)

    def _stock_read(self, movements: list[MovementIn]) -> None:
        """Reads the cache rows judging these movements reads: every balance and job
        genealogy row each one changes (is it short? would it pass what a balance holds?)."""
        balances: list[StockKey] = []
        job_lots: list[tuple[str, ...]] = []
        seen: set[tuple[object, ...]] = set()
        for movement in movements:
            # What cache_deltas reads of a movement: a backlog repeats a few of these.
            facts = _CACHE_FACTS(movement)
            if facts in seen:
                continue
            seen.add(facts)
            part = self.rows.get(Part, movement.part)
            if part is None:
                continue
            reverses = self.rows.movement(movement.reverses) if movement.reverses else None
            for model, key, _change in cache_deltas(
                movement, part, reverses.kind if reverses is not None else None
            ):
                if model is Balance:
                    balances.append((key[0], key[1], key[2], key[3]))
                else:
                    job_lots.append(key)
        self.rows.preload_balances(balances)
        self.rows.preload_job_lots(job_lots)

    def accept(self, device_id: str, movement: MovementIn, *, role: str) -> Entry:
        """Records a pushed movement (the next of its device's numbers, `role` the device's):
        rejected when it breaks a rule of the ledger, else applied, flagged or held. Returns
        its entry, which carries the outcome."""
        batch = self._batch
        if batch is not None and (batch.device_id, batch.role) == (device_id, role):
            applied = batch.applied(movement)
            if applied is not None:
                return applied
        payload = movement_payload(movement)
        entry = NewEntry(
            device_id=device_id,
            device_seq=movement.seq,
            movement_id=movement.id,
            payload=payload,
            payload_hash=movement_hash(movement, payload),
            received_at=self.now,
        )
        self.pending.entries[(device_id, movement.seq)] = entry
        broken = rule_rejection(self.rows, device_id, role, movement)
        if broken is not None:
            self._refuse(entry, movement, broken)
            return entry
        verdict = hold_reason(self.rows, device_id, movement)
        if verdict is not None:
            self._hold(entry, movement, verdict)
            return entry
        beyond = holding_rule(self.rows, movement, self.rows.get_one(Part, movement.part))
        if beyond is not None:
            self._refuse(entry, movement, rejection(beyond))
        else:
            self._apply(entry, movement)
        return entry

    def entry(self, device_id: str, seq: int) -> Entry | None:
        """A device's entry for a number, pending or stored."""
        pending = self.pending.entries.get((device_id, seq))
        if pending is not None:
            return pending
        return self.session.get(SyncEntry, (device_id, seq))

    def server_seq(self, entry: Entry) -> int | None:
        """The ledger number of an entry's movement, when it counts."""
        if entry.status not in COUNTING:
            return None
        movement = self.rows.movement(entry.movement_id)
        assert movement is not None  # a counting entry's movement is in the ledger
        return movement.server_seq

    def reject(self, device_id: str, movement: MovementIn, reason: str, *, with_entry: bool) -> str:
        """Keeps a movement the store refuses as sent, with an alert for a supervisor;
        returns the reason. The same thing sent again alerts nobody twice: it gets the
        first reason back."""
        payload = movement_payload(movement)
        for earlier in self.pending.rejections:
            if (earlier.device_id, earlier.device_seq, earlier.payload) == (
                device_id,
                movement.seq,
                payload,
            ):
                return earlier.reason
        stored = self.session.scalar(
            select(SyncRejection.reason).where(
                SyncRejection.device_id == device_id,
                SyncRejection.device_seq == movement.seq,
                SyncRejection.payload == payload,
            )
        )
        if stored is not None:
            return stored
        self.pending.rejections.append(
            NewRejection(
                device_id=device_id,
                device_seq=movement.seq,
                payload=payload,
                reason=fit(reason),
                received_at=self.now,
            )
        )
        self._add_exception(
            NewException(
                device_id=device_id,
                device_seq=movement.seq if with_entry else None,
                code=ExceptionCode.IDEMPOTENCY_CONFLICT.value,
                message=fit(reason),
                part=movement.part,
                lot=movement.lot,
                serial=movement.serial,
                location=movement.from_location or movement.to_location,
                status=ExceptionStatus.OPEN.value,
                opened_at=self.now,
            )
        )
        return reason

    def recheck_held(self) -> int:
        """Applies held movements whose unknown references are now known (reference data
        was imported); returns how many left the wait. Repeats, because a movement applied
        now can be the one a held reversal was waiting for."""
        settled = 0
        while True:
            waiting = [
                (entry, exception, MovementIn.model_validate_json(entry.payload))
                for entry, exception in self.session.execute(
                    select(SyncEntry, SyncException)
                    .join(SyncException, _exception_of_entry())
                    .where(
                        SyncEntry.status == Outcome.HELD.value,
                        SyncException.code == ExceptionCode.UNKNOWN_REFERENCE.value,
                        SyncException.status == ExceptionStatus.OPEN.value,
                    )
                    .order_by(SyncEntry.received_at, SyncEntry.device_id, SyncEntry.device_seq)
                ).all()
            ]
            self.expect([movement for _entry, _exception, movement in waiting])
            progress = 0
            for entry, exception, movement in waiting:
                if missing_references(self.rows, movement):
                    continue
                self.close(
                    exception, ExceptionStatus.AUTO_CLEARED, "The reference data arrived", by=None
                )
                verdict = hold_reason(self.rows, entry.device_id, movement)
                beyond = verdict is None and holding_rule(
                    self.rows, movement, self.rows.get_one(Part, movement.part)
                )
                if beyond:
                    verdict = held_for(beyond)
                if verdict is not None:
                    self._hold(entry, movement, verdict)
                else:
                    self._apply(entry, movement)
                progress += 1
            settled += progress
            if not progress:
                return settled

    def applicable(self, entry: SyncEntry) -> MovementIn:
        """A held movement as a supervisor may apply it: everything it names known, and not
        a second reversal of one movement. Serial conflicts do not stop it: the supervisor
        decided the scan is true."""
        movement = MovementIn.model_validate_json(entry.payload)
        device = self.session.get(Device, entry.device_id)
        broken = rule_broken(self.rows, entry.device_id, device.role if device else "", movement)
        if broken is not None:
            raise SyncError(
                409,
                "not_allowed",
                fit(
                    f"It cannot be applied: {rule_words(broken)}. Correct the store's data"
                    " first, or void the movement"
                ),
            )
        missing = missing_references(self.rows, movement)
        if missing:
            raise SyncError(
                409,
                "still_unknown",
                fit(
                    f"The store still does not know {', '.join(missing)}: import it first,"
                    " or void the movement"
                ),
            )
        reversal = reversal_conflict(self.rows, movement)
        if reversal is not None:
            raise SyncError(409, "not_allowed", reversal.message.removeprefix("Held: "))
        return movement

    def apply_held(self, entry: SyncEntry, movement: MovementIn) -> None:
        """Applies a held movement as recorded (see `applicable`)."""
        self._apply(entry, movement)

    def void(self, entry: SyncEntry, words: str) -> None:
        """A held movement that will never count: devices learn it is voided."""
        entry.status = Outcome.VOIDED.value
        entry.message = fit(words)
        entry.change_seq = self._tell(entry, None)

    # ---- the store's own movements ------------------------------------------------------

    def count(
        self,
        part: str,
        lot: str | None,
        serial: str | None,
        location: str,
        qty: Decimal,
        *,
        reason: str,
        operator: str | None = None,
    ) -> Movement | None:
        """A supervisor's count: records the adjustment that makes the balance `qty`, in the
        central ledger under the store's own device id, by `operator` (a badge the store
        knows) when given. None when it already is."""
        self._write_pending()
        item = self.session.get(Part, part)
        if item is None:
            raise SyncError(409, "not_allowed", f"The store does not know part {part}")
        lot_key, serial_key = stock_key(item, lot, serial)
        balance = self.rows.balance((item.number, lot_key, serial_key, location))
        delta = qty - balance
        if delta == 0:
            return None
        if abs(delta) > MOST_MOVED:
            raise SyncError(
                409,
                "not_allowed",
                f"Counted {format_quantity(qty)} at {location}, where the balance is"
                f" {format_quantity(balance)}: the adjustment, {format_quantity(abs(delta))}, is"
                f" more than one movement carries (at most {format_quantity(MOST_MOVED)}):"
                " check the count",
            )
        return self._own_movement(
            item,
            lot_key,
            serial_key,
            lambda ledger: ledger.adjust(
                item.number,
                delta,
                location,
                lot=lot_key or None,
                serial=serial_key or None,
                reason=reason,
                operator=operator,
            ),
        )

    def place_serial(
        self, movement: MovementIn, *, because: str, operator: str | None = None
    ) -> str | None:
        """Before a supervisor applies a held movement of a serial as recorded: makes the
        store's record of the serial fit the scan, or refuses, so that one unit is never in
        stock at two places. A serial taken from a place while the store has it at another
        was really at the scan's place: the store moves it there first, under its own
        device id, by `operator` (`because` is the move's reason), and says so in the words
        it returns (None when nothing had to move). A unit cannot arrive while the store
        has it in stock: that is SyncError 409, and the supervisor voids it instead."""
        item = self.rows.get(Part, movement.part)
        if movement.serial is None or item is None or item.tracking != Tracking.SERIAL:
            return None
        record = self.rows.serial(item.number, movement.serial)
        what = describe(item.number, serial=movement.serial)
        here = (
            record.location
            if record is not None and record.status == SerialStatus.IN_STOCK
            else None
        )
        source = movement.from_location
        if source is None:
            if here is None or movement.to_location is None:
                return None
            raise SyncError(
                409,
                "not_allowed",
                fit(
                    f"{what[:1].upper()}{what[1:]} is already in stock at {here}: one unit"
                    " cannot arrive twice. Void this movement; if the unit is really at"
                    f" {movement.to_location}, move it there on a handheld"
                ),
            )
        if here == source:
            return None
        if here is None:
            # Shipped, used or never arrived: applied as recorded, its source goes below
            # zero and is flagged, as a second scan of one unit should be.
            return None
        self._write_pending()
        moved = self._own_movement(
            item,
            "",
            movement.serial,
            lambda ledger: ledger.move(
                item.number,
                1,
                source,
                from_location=here,
                serial=movement.serial,
                operator=operator,
            ),
            reason=because,
        )
        return (
            f"the store first moved {what} from {moved.from_location} to {source}, where the"
            " scan found it"
        )

    def _own_movement(
        self,
        item: Part,
        lot_key: str,
        serial_key: str,
        record: Callable[[Ledger], Movement],
        *,
        reason: str | None = None,
    ) -> Movement:
        """A movement of the store's own (a count, a re-sourced serial), recorded by
        `record` through the handheld's `Ledger`, which writes as it goes: what this
        operation has pending must be written first, and what was read of the ledger is
        read again after. Devices learn of the lot or serial it brings into being, then of
        the movement."""
        lot_new = lot_key != "" and self.session.get(Lot, (item.number, lot_key)) is None
        serial_new = (
            serial_key != "" and self.session.get(Serial, (item.number, serial_key)) is None
        )
        try:
            movement = record(Ledger(self.session, self.clock))
        except NotFound as error:
            raise SyncError(404, "not_found", str(error)) from None
        except LotscanError as error:
            raise SyncError(409, "not_allowed", str(error)) from None
        finally:
            self.rows.forget_ledger()
        if lot_new:
            self.log.emit_row(self.session.get_one(Lot, (item.number, lot_key)))
        if serial_new:
            # As it was before the movement, like every serial a movement brings into being.
            made = self.session.get_one(Serial, (item.number, serial_key))
            data = {**reference_data(made), "status": SerialStatus.GONE.value, "location": None}
            self.log.emit_row(made, data)
        if reason is not None:
            movement.reason = fit(reason, 200)
        movement.server_seq = self.log.number()
        movement.sync_state = Outcome.APPLIED.value
        movement.recorded_at = self.now
        text = movement_text(
            canonical(ledger_fields(self.session, movement)),
            device_id=movement.device_id,
            status=Outcome.APPLIED.value,
            server_seq=movement.server_seq,
            codes=[],
            message="",
        )
        self.log.add_text(movement.server_seq, "movement", str(movement.id), text)
        if movement.to_location is not None:
            lot, serial = stock_key(item, movement.lot, movement.serial)
            self._settle_key((item.number, lot, serial, movement.to_location))
        self.session.flush()
        return movement

    # ---- exceptions ---------------------------------------------------------------------

    def alert(
        self,
        code: ExceptionCode,
        message: str,
        *,
        device_id: str | None,
        part: str | None = None,
        lot: str | None = None,
        serial: str | None = None,
    ) -> None:
        """Opens an exception about no movement (a status change refused or in conflict),
        for supervisors to read and dismiss."""
        self._add_exception(
            NewException(
                device_id=device_id,
                device_seq=None,
                code=code.value,
                message=fit(message),
                part=part,
                lot=lot,
                serial=serial,
                location=None,
                status=ExceptionStatus.OPEN.value,
                opened_at=self.now,
            )
        )

    def write_pending(self) -> None:
        """Writes what the operation decided so far (a lot a pushed movement brought into
        being, before a status change of it settles its row); read as rows from now on."""
        self._write_pending()

    def close(
        self, exception: Alert, status: ExceptionStatus, words: str, *, by: str | None
    ) -> None:
        was_open = exception.status == ExceptionStatus.OPEN
        exception.status = status.value
        exception.closed_at = self.now
        exception.resolution = fit(words)
        exception.resolved_by = fit(by, 80) if by else None
        if was_open and exception.code in SHORTFALLS and self._shortfalls is not None:
            key = _stock_of(exception)
            open_here = self._shortfalls.get(key)
            if open_here is not None:
                open_here.discard(_identity(exception))
                if not open_here:
                    del self._shortfalls[key]

    def settle_entry(self, entry: Entry, words: str) -> None:
        """A flagged movement whose exceptions are all closed counts as plainly applied:
        devices learn it is no longer flagged."""
        if entry.status != Outcome.FLAGGED.value:
            return
        pending = self.pending.exceptions_of.get((entry.device_id, entry.device_seq), [])
        if any(e.status == ExceptionStatus.OPEN for e in pending):
            return
        if isinstance(entry, SyncEntry) and self.session.scalar(
            select(func.count())
            .select_from(SyncException)
            .where(
                SyncException.device_id == entry.device_id,
                SyncException.device_seq == entry.device_seq,
                SyncException.status == ExceptionStatus.OPEN.value,
            )
        ):
            return
        movement = self.rows.movement(entry.movement_id)
        assert movement is not None  # a flagged entry's movement is in the ledger
        entry.status = movement.sync_state = Outcome.APPLIED.value
        entry.message = fit(words)
        movement.outcome = entry.message
        entry.change_seq = self._tell(entry, movement.server_seq)

    # ---- inside ---------------------------------------------------------------------------

    def _write_pending(self) -> None:
        if self.behind is not None:
            self.behind.flush()  # what comes now may name what went behind
        if self.pending.is_empty():
            return
        self.pending.write(self.session)
        self.rows.forget_ledger()
        self._shortfalls = None  # pending exceptions are rows now: read again when needed

    def _refuse(self, entry: Entry, movement: MovementIn, verdict: Verdict) -> None:
        """A movement that breaks a rule of the ledger: its number is used, its entry says
        rejected (a retry gets that answer again), it is kept as sent with an exception for
        a supervisor, and nothing of it is applied or told to other devices."""
        entry.status = Outcome.REJECTED.value
        entry.codes = verdict.code.value
        entry.message = verdict.message
        self.pending.rejections.append(
            NewRejection(
                device_id=entry.device_id,
                device_seq=entry.device_seq,
                payload=entry.payload,
                reason=verdict.message,
                received_at=self.now,
            )
        )
        self._open(
            entry,
            verdict,
            movement.part,
            shown_number(movement.lot, "Lot"),
            shown_number(movement.serial, "Serial"),
            movement.from_location or movement.to_location,
        )

    def _hold(self, entry: Entry, movement: MovementIn, verdict: Verdict) -> None:
        entry.status = Outcome.HELD.value
        entry.codes = verdict.code.value
        entry.message = verdict.message
        self._open(
            entry,
            verdict,
            movement.part,
            movement.lot,
            movement.serial,
            movement.from_location or movement.to_location,
        )
        entry.change_seq = self._tell(entry, None)

    def _apply(self, entry: Entry, pushed: MovementIn) -> None:
        """Puts the movement in the central ledger and its caches; flags it when its source
        went below zero; clears shortfalls its arrival covers."""
        part = self.rows.get(Part, pushed.part)
        assert part is not None  # a movement naming an unknown part is held, not applied
        reverses = self.rows.movement(pushed.reverses) if pushed.reverses else None
        self._bring_into_being(pushed, part)
        server_seq = self.log.number()
        movement = NewMovement.pushed(
            pushed,
            device_id=entry.device_id,
            recorded_at=self.now,
            sync_state=_APPLIED,
            server_seq=server_seq,
        )
        self.pending.add_movement(movement)
        reverses_kind = reverses.kind if reverses is not None else None
        self.pending.add_to_caches(cache_deltas(movement, part, reverses_kind))
        if pushed.serial is not None:
            record = self.rows.serial(part.number, pushed.serial)
            if record is not None:
                kind = MovementKind(reverses_kind or pushed.kind)
                record.status, record.location = serial_state_after(movement, kind)
        verdict = shortfall(self.rows, movement, part, pushed.observed_cursor)
        closed = closed_reference(self.rows, pushed)
        unreleased = not_released(self.rows, pushed, part)
        flags = [each for each in (verdict, closed, unreleased) if each is not None]
        entry.status = _APPLIED
        entry.codes = entry.message = ""
        if flags:
            entry.status = movement.sync_state = _FLAGGED
            entry.codes = ",".join(each.code.value for each in flags)
            entry.message = fit(" ".join(each.message for each in flags))
            movement.outcome = entry.message
        lot_key, serial_key = stock_key(part, pushed.lot, pushed.serial)
        if verdict is not None:
            assert pushed.from_location is not None  # only a source can fall short
            key = (part.number, lot_key, serial_key, pushed.from_location)
            opened = self._open(
                entry, verdict, part.number, lot_key, serial_key, pushed.from_location
            )
            self._shortfall_keys().setdefault(key, set()).add(opened)
        for other in (closed, unreleased):
            if other is None:
                continue
            self._open(
                entry,
                other,
                part.number,
                lot_key,
                serial_key,
                pushed.from_location or pushed.to_location,
            )
        self.log.add_text(server_seq, "movement", str(pushed.id), self._text(entry, server_seq))
        entry.change_seq = server_seq
        if pushed.to_location is not None:
            self._settle_key((part.number, lot_key, serial_key, pushed.to_location))

    def _bring_into_being(self, pushed: MovementIn, part: Part) -> None:
        """Creates the lot and serial a movement names when the store has never seen them,
        from what the device sent with it, and tells devices before the movement."""
        if pushed.lot is not None:
            self._ensure_lot(part, pushed.lot, pushed, described_by_movement=True)
        if pushed.serial is None or part.tracking != Tracking.SERIAL:
            return
        serial_lot = pushed.serial_lot if pushed.serial_lot is not None else pushed.lot
        if serial_lot is not None and serial_lot != pushed.lot:
            self._ensure_lot(part, serial_lot, pushed, described_by_movement=False)
        if self.rows.serial(part.number, pushed.serial) is None:
            record = NewSerial(
                part=part.number,
                number=pushed.serial,
                lot=serial_lot,
                status=SerialStatus.GONE.value,
                location=None,
            )
            self.pending.serials.append(record)
            self.rows.hold(Serial, (part.number, pushed.serial), record)
            self.log.emit_record(Serial, record)

    def _ensure_lot(
        self, part: Part, number: str, pushed: MovementIn, *, described_by_movement: bool
    ) -> None:
        if self.rows.lot(part.number, number) is not None:
            return
        origin = _ORIGIN_BY_KIND.get(pushed.kind, LotOrigin.ADJUSTED)
        if described_by_movement and pushed.lot_origin in _ORIGINS:
            origin = LotOrigin(pushed.lot_origin)
        lot = NewLot(
            part=part.number,
            number=number,
            expiry=pushed.lot_expiry if described_by_movement else None,
            supplier_lot=pushed.supplier_lot if described_by_movement else None,
            status=LotStatus.ACTIVE.value,
            origin=origin.value,
            assigned_job=pushed.lot_job if described_by_movement else None,
            created_at=self.now,
        )
        self.pending.lots.append(lot)
        self.rows.hold(Lot, (part.number, number), lot)
        self.log.emit_record(Lot, lot)

    def _open(
        self,
        entry: Entry,
        verdict: Verdict,
        part: str,
        lot: str | None,
        serial: str | None,
        location: str | None,
    ) -> NewException:
        exception = NewException(
            device_id=entry.device_id,
            device_seq=entry.device_seq,
            code=verdict.code.value,
            message=verdict.message,
            part=part,
            lot=lot or None,
            serial=serial or None,
            location=location,
            status=ExceptionStatus.OPEN.value,
            opened_at=self.now,
        )
        self._add_exception(exception)
        return exception

    def _add_exception(self, exception: NewException) -> None:
        """Opens an exception: in the supervisors' list, or past its device's cap a minute
        grouped under the device's summary (`sync.central.exception_cap`)."""
        self.cap.place(exception)
        self.pending.add_exception(exception)

    def _shortfall_keys(self) -> dict[StockKey, set[int | NewException]]:
        """Balances with an open shortfall on a movement that counts: one query per
        operation, kept up to date as shortfalls open and close."""
        if self._shortfalls is None:
            rows = self.session.execute(
                select(
                    SyncException.id,
                    SyncException.part,
                    SyncException.lot,
                    SyncException.serial,
                    SyncException.location,
                ).where(
                    SyncException.status == ExceptionStatus.OPEN.value,
                    SyncException.code.in_(SHORTFALLS),
                    # Asked as EXISTS, so that the query starts from the open exceptions
                    # (a partial index) and looks up each one's entry: as a join, SQLite
                    # started from the entries that count, nearly every entry in the store.
                    exists().where(_exception_of_entry(), SyncEntry.status.in_(COUNTING)),
                )
            ).all()
            self._shortfalls = {}
            for exception_id, part, lot, serial, location in rows:
                key = (part or "", lot or "", serial or "", location or "")
                self._shortfalls.setdefault(key, set()).add(exception_id)
        return self._shortfalls

    def shortfall_open(self, key: StockKey) -> bool:
        """Whether the balance at `key` has an open shortfall on a movement that counts."""
        return key in self._shortfall_keys()

    def _settle_key(self, key: StockKey) -> None:
        """Stock arrived at `key`: if the balance is no longer below zero, its open
        shortfalls clear, and the movements they flagged count as plainly applied."""
        if key not in self._shortfall_keys():
            return
        on_hand = self.rows.balance(key)
        if on_hand < 0:
            return
        exceptions = self._open_shortfalls(key)
        part, lot, serial, location = key
        words = (
            f"{describe(part, lot or None, serial or None)} at {location} is back to"
            f" {format_quantity(on_hand)}: a later movement covered it"
        )
        for exception in exceptions:
            self.close(exception, ExceptionStatus.AUTO_CLEARED, words, by=None)
        self._shortfall_keys().pop(key, None)
        for exception in exceptions:
            assert exception.device_id is not None and exception.device_seq is not None
            entry = self.entry(exception.device_id, exception.device_seq)
            if entry is not None:
                self.settle_entry(entry, f"Cleared: {words}")

    def _open_shortfalls(self, key: StockKey) -> list[Alert]:
        """The open shortfall exceptions on a balance, about movements that count, oldest
        first: the stored ones (read by the ids `_shortfall_keys` keeps), then the pending
        ones."""
        open_here = self._shortfall_keys().get(key, set())
        stored_ids = [e for e in open_here if isinstance(e, int)]
        found: list[Alert] = []
        if stored_ids:
            found += self.session.scalars(
                select(SyncException)
                .where(among(self.session, SyncException.id, stored_ids))
                .order_by(SyncException.id)
            )
        found += [e for e in self.pending.exceptions if e in open_here]
        return found

    def _text(self, entry: Entry, server_seq: int | None) -> str:
        return movement_text(
            entry.payload,
            device_id=entry.device_id,
            status=entry.status,
            server_seq=server_seq,
            codes=entry_codes(entry),
            message=entry.message,
        )

    def _tell(self, entry: Entry, server_seq: int | None) -> int:
        """A movement change for an entry's new outcome; returns its number."""
        seq = self.log.number()
        self.log.add_text(seq, "movement", str(entry.movement_id), self._text(entry, server_seq))
        return seq


def _exception_of_entry() -> ColumnElement[bool]:
    return and_(
        SyncEntry.device_id == SyncException.device_id,
        SyncEntry.device_seq == SyncException.device_seq,
    )


def _stock_of(exception: Alert) -> StockKey:
    """The balance a shortfall exception is about."""
    return (
        exception.part or "",
        exception.lot or "",
        exception.serial or "",
        exception.location or "",
    )


def _identity(exception: Alert) -> int | NewException:
    return exception if isinstance(exception, NewException) else exception.id
