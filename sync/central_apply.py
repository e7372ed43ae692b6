"""Writing to the central ledger: a device's movement applied or held, a held movement
applied or voided later, a supervisor's count, and exceptions opened and cleared.

The central ledger (`movements`) holds only movements that count, each numbered by the
store's clock (`server_seq`, the number of the change that told devices about it). Held and
voided movements live only in `sync_entries`. Every outcome is also a "movement" change, and
every lot or serial a movement brings into being is a change just before it, so a device
pulling in order always has the lot before the movement that names it.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from scanner.caches import apply_to_caches, stock_key
from scanner.errors import LotscanError, NotFound
from scanner.ledger import Clock, Ledger, describe
from scanner.models import (
    Lot,
    LotOrigin,
    LotStatus,
    Movement,
    MovementKind,
    Operator,
    Part,
    Serial,
    SerialStatus,
    Tracking,
)
from scanner.quantity import format_quantity
from sync.central_log import ChangeLog, ledger_fields, movement_data, reference_data
from sync.errors import SyncError
from sync.evaluate import (
    Rows,
    Verdict,
    balance_of,
    fit,
    hold_reason,
    missing_references,
    reversal_conflict,
    shortfall,
)
from sync.models import ExceptionCode, ExceptionStatus, Outcome, SyncEntry, SyncException
from sync.protocol import MovementIn, canonical, movement_hash

StockKey = tuple[str, str, str, str]
SHORTFALLS = (ExceptionCode.NEGATIVE_BALANCE.value, ExceptionCode.STALE_SOURCE.value)
COUNTING = (Outcome.APPLIED.value, Outcome.FLAGGED.value)
_ORIGIN_BY_KIND = {
    MovementKind.RECEIVE.value: LotOrigin.RECEIVED,
    MovementKind.PRODUCE.value: LotOrigin.PRODUCED,
    MovementKind.SHIP.value: LotOrigin.SHIPPED,
}


def entry_codes(entry: SyncEntry) -> list[str]:
    return entry.codes.split(",") if entry.codes else []


class CentralLedger:
    """The store's writes for one operation (a push, a publication, a supervisor's
    decision), which calls `finish` before it returns. It holds the reference rows it read
    and remembers which balances have an open shortfall, so a batch of movements looks
    each of those up once, not once per movement."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.now = clock()
        self.rows = Rows(session)
        self.log = ChangeLog(session, self.now)
        self._shortfalls: set[StockKey] | None = None

    def finish(self) -> None:
        """Writes the changes appended and the clock, and flushes."""
        self.log.write()
        self.session.flush()

    # ---- a device's movement ------------------------------------------------------------

    def expect(self, movements: list[MovementIn]) -> None:
        """Reads the lots and serials a batch names in a few queries, not one per movement."""
        self.rows.preload(
            Lot,
            [(m.part, lot) for m in movements for lot in (m.lot, m.serial_lot) if lot],
        )
        self.rows.preload(Serial, [(m.part, m.serial) for m in movements if m.serial])

    def accept(self, device_id: str, movement: MovementIn) -> SyncEntry:
        """Records a pushed movement (the next of its device's numbers): applied, flagged or
        held. Returns its entry, which carries the outcome."""
        entry = SyncEntry(
            device_id=device_id,
            device_seq=movement.seq,
            movement_id=movement.id,
            payload=canonical(movement.model_dump(mode="json")),
            payload_hash=movement_hash(movement),
            codes="",
            message="",
            received_at=self.now,
        )
        verdict = hold_reason(self.rows, movement)
        if verdict is not None:
            self._hold(entry, movement, verdict)
        else:
            self._apply(entry, movement)
        return entry

    def recheck_held(self) -> int:
        """Applies held movements whose unknown references are now known (reference data
        was imported); returns how many left the wait. Repeats, because a movement applied
        now can be the one a held reversal was waiting for."""
        settled = 0
        while True:
            waiting = self.session.execute(
                select(SyncEntry, SyncException)
                .join(SyncException, _exception_of_entry())
                .where(
                    SyncEntry.status == Outcome.HELD.value,
                    SyncException.code == ExceptionCode.UNKNOWN_REFERENCE.value,
                    SyncException.status == ExceptionStatus.OPEN.value,
                )
                .order_by(SyncEntry.received_at, SyncEntry.device_id, SyncEntry.device_seq)
            ).all()
            progress = 0
            for entry, exception in waiting:
                movement = MovementIn.model_validate_json(entry.payload)
                if missing_references(self.rows, movement):
                    continue
                self.close(
                    exception, ExceptionStatus.AUTO_CLEARED, "The reference data arrived", by=None
                )
                verdict = hold_reason(self.rows, movement)
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
        reversal = reversal_conflict(self.session, movement)
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
        by: str,
    ) -> Movement | None:
        """A supervisor's count: records the adjustment that makes the balance `qty`, in the
        central ledger under the store's own device id. None when it already is."""
        item = self.session.get(Part, part)
        if item is None:
            raise SyncError(409, "not_allowed", f"The store does not know part {part}")
        lot_key, serial_key = stock_key(item, lot, serial)
        delta = qty - balance_of(self.session, (item.number, lot_key, serial_key, location))
        if delta == 0:
            return None
        lot_new = lot_key != "" and self.session.get(Lot, (item.number, lot_key)) is None
        serial_new = (
            serial_key != "" and self.session.get(Serial, (item.number, serial_key)) is None
        )
        operator = by if self.session.get(Operator, by) is not None else None
        try:
            movement = Ledger(self.session, self.clock).adjust(
                item.number,
                delta,
                location,
                lot=lot_key or None,
                serial=serial_key or None,
                reason=reason,
                operator=operator,
            )
        except NotFound as error:
            raise SyncError(404, "not_found", str(error)) from None
        except LotscanError as error:
            raise SyncError(409, "not_allowed", str(error)) from None
        if lot_new:
            self.log.emit_row(self.session.get_one(Lot, (item.number, lot_key)))
        if serial_new:
            # As it was before the count, like every serial a movement brings into being.
            record = self.session.get_one(Serial, (item.number, serial_key))
            data = {**reference_data(record), "status": SerialStatus.GONE.value, "location": None}
            self.log.emit_row(record, data)
        movement.server_seq = self.log.number()
        movement.sync_state = Outcome.APPLIED.value
        movement.recorded_at = self.now
        fields = ledger_fields(self.session, movement)
        data = movement_data(
            fields,
            device_id=movement.device_id,
            status=Outcome.APPLIED.value,
            server_seq=movement.server_seq,
            codes=[],
            message="",
        )
        self.log.add(movement.server_seq, "movement", str(movement.id), data)
        if movement.to_location is not None:
            self._settle_key((item.number, lot_key, serial_key, movement.to_location))
        self.session.flush()
        return movement

    # ---- exceptions ---------------------------------------------------------------------

    def close(
        self, exception: SyncException, status: ExceptionStatus, words: str, *, by: str | None
    ) -> None:
        exception.status = status.value
        exception.closed_at = self.now
        exception.resolution = fit(words)
        exception.resolved_by = fit(by, 80) if by else None
        if exception.code in SHORTFALLS and self._shortfalls is not None:
            self._shortfalls = None  # reloaded when next needed

    def settle_entry(self, entry: SyncEntry, words: str) -> None:
        """A flagged movement whose exceptions are all closed counts as plainly applied:
        devices learn it is no longer flagged."""
        if entry.status != Outcome.FLAGGED.value:
            return
        still_open = self.session.scalar(
            select(func.count())
            .select_from(SyncException)
            .where(
                SyncException.device_id == entry.device_id,
                SyncException.device_seq == entry.device_seq,
                SyncException.status == ExceptionStatus.OPEN.value,
            )
        )
        if still_open:
            return
        movement = self.session.get_one(Movement, entry.movement_id)
        entry.status = movement.sync_state = Outcome.APPLIED.value
        entry.message = fit(words)
        movement.outcome = entry.message
        entry.change_seq = self._tell(entry, movement.server_seq)

    # ---- inside ---------------------------------------------------------------------------

    def _hold(self, entry: SyncEntry, movement: MovementIn, verdict: Verdict) -> None:
        entry.status = Outcome.HELD.value
        entry.codes = verdict.code.value
        entry.message = verdict.message
        self.session.add(entry)
        self._open(
            entry,
            verdict,
            movement.part,
            movement.lot,
            movement.serial,
            movement.from_location or movement.to_location,
        )
        entry.change_seq = self._tell(entry, None)

    def _apply(self, entry: SyncEntry, pushed: MovementIn) -> None:
        """Puts the movement in the central ledger and its caches; flags it when its source
        went below zero; clears shortfalls its arrival covers."""
        part = self.rows.get(Part, pushed.part)
        assert part is not None  # a movement naming an unknown part is held, not applied
        reverses = self.rows.get(Movement, pushed.reverses) if pushed.reverses else None
        self._bring_into_being(pushed, part)
        server_seq = self.log.number()
        movement = Movement(
            id=pushed.id,
            device_id=entry.device_id,
            device_seq=pushed.seq,
            kind=pushed.kind,
            part=pushed.part,
            lot=pushed.lot,
            serial=pushed.serial,
            qty=pushed.qty,
            from_location=pushed.from_location,
            to_location=pushed.to_location,
            job=pushed.job,
            po=pushed.po,
            po_line=pushed.po_line,
            so=pushed.so,
            so_line=pushed.so_line,
            operator=pushed.operator,
            reverses=pushed.reverses,
            reason=pushed.reason,
            happened_at=pushed.happened_at,
            recorded_at=self.now,
            sync_state=Outcome.APPLIED.value,
            server_seq=server_seq,
            observed_cursor=pushed.observed_cursor,
        )
        self.session.add(movement)
        self.rows.hold(Movement, movement.id, movement)
        apply_to_caches(self.session, movement, part, reverses)
        verdict = shortfall(self.session, movement, part, pushed.observed_cursor)
        entry.status = Outcome.APPLIED.value
        entry.codes = entry.message = ""
        if verdict is not None:
            entry.status = movement.sync_state = Outcome.FLAGGED.value
            entry.codes, entry.message = verdict.code.value, verdict.message
            movement.outcome = verdict.message
        self.session.add(entry)
        lot_key, serial_key = stock_key(part, pushed.lot, pushed.serial)
        if verdict is not None:
            assert pushed.from_location is not None  # only a source can fall short
            key = (part.number, lot_key, serial_key, pushed.from_location)
            self._open(entry, verdict, part.number, lot_key, serial_key, pushed.from_location)
            self._shortfall_keys().add(key)
        self.log.add(server_seq, "movement", str(pushed.id), self._data(entry, server_seq))
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
        key = (part.number, pushed.serial)
        if self.rows.get(Serial, key) is None:
            record = Serial(
                part=part.number,
                number=pushed.serial,
                lot=serial_lot,
                status=SerialStatus.GONE.value,
                location=None,
            )
            self.session.add(record)
            self.rows.hold(Serial, key, record)
            self.log.emit_row(record)

    def _ensure_lot(
        self, part: Part, number: str, pushed: MovementIn, *, described_by_movement: bool
    ) -> None:
        if self.rows.get(Lot, (part.number, number)) is not None:
            return
        origin = _ORIGIN_BY_KIND.get(pushed.kind, LotOrigin.ADJUSTED)
        if described_by_movement and pushed.lot_origin in {o.value for o in LotOrigin}:
            origin = LotOrigin(pushed.lot_origin)
        lot = Lot(
            part=part.number,
            number=number,
            expiry=pushed.lot_expiry if described_by_movement else None,
            supplier_lot=pushed.supplier_lot if described_by_movement else None,
            status=LotStatus.ACTIVE.value,
            origin=origin.value,
            assigned_job=pushed.lot_job if described_by_movement else None,
            created_at=self.now,
        )
        self.session.add(lot)
        self.rows.hold(Lot, (part.number, number), lot)
        self.log.emit_row(lot)

    def _open(
        self,
        entry: SyncEntry,
        verdict: Verdict,
        part: str,
        lot: str | None,
        serial: str | None,
        location: str | None,
    ) -> None:
        self.session.add(
            SyncException(
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
        )

    def _shortfall_keys(self) -> set[StockKey]:
        """Balances with an open shortfall on a movement that counts: one query per
        transaction, kept up to date as shortfalls open."""
        if self._shortfalls is None:
            rows = self.session.execute(
                select(
                    SyncException.part,
                    SyncException.lot,
                    SyncException.serial,
                    SyncException.location,
                )
                .join(SyncEntry, _exception_of_entry())
                .where(
                    SyncException.status == ExceptionStatus.OPEN.value,
                    SyncException.code.in_(SHORTFALLS),
                    SyncEntry.status.in_(COUNTING),
                )
            ).all()
            self._shortfalls = {
                (part or "", lot or "", serial or "", location or "")
                for part, lot, serial, location in rows
            }
        return self._shortfalls

    def _settle_key(self, key: StockKey) -> None:
        """Stock arrived at `key`: if the balance is no longer below zero, its open
        shortfalls clear, and the movements they flagged count as plainly applied."""
        if key not in self._shortfall_keys():
            return
        on_hand = balance_of(self.session, key)
        if on_hand < 0:
            return
        part, lot, serial, location = key
        exceptions = self.session.scalars(
            select(SyncException)
            .join(SyncEntry, _exception_of_entry())
            .where(
                SyncException.status == ExceptionStatus.OPEN.value,
                SyncException.code.in_(SHORTFALLS),
                SyncEntry.status.in_(COUNTING),
                SyncException.part == part,
                func.coalesce(SyncException.lot, "") == lot,
                func.coalesce(SyncException.serial, "") == serial,
                SyncException.location == location,
            )
            .order_by(SyncException.id)
        ).all()
        words = (
            f"{describe(part, lot or None, serial or None)} at {location} is back to"
            f" {format_quantity(on_hand)}: a later movement covered it"
        )
        for exception in exceptions:
            self.close(exception, ExceptionStatus.AUTO_CLEARED, words, by=None)
        self._shortfall_keys().discard(key)
        for exception in exceptions:
            entry = self.session.get(SyncEntry, (exception.device_id, exception.device_seq))
            if entry is not None:
                self.settle_entry(entry, f"Cleared: {words}")

    def _data(self, entry: SyncEntry, server_seq: int | None) -> dict[str, object]:
        return movement_data(
            json.loads(entry.payload),
            device_id=entry.device_id,
            status=entry.status,
            server_seq=server_seq,
            codes=entry_codes(entry),
            message=entry.message,
        )

    def _tell(self, entry: SyncEntry, server_seq: int | None) -> int:
        """A movement change for an entry's new outcome; returns its number."""
        return self.log.emit("movement", str(entry.movement_id), self._data(entry, server_seq))


def _exception_of_entry() -> ColumnElement[bool]:
    return and_(
        SyncEntry.device_id == SyncException.device_id,
        SyncEntry.device_seq == SyncException.device_seq,
    )
