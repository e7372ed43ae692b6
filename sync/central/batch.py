"""A push judged as a set (docs/architecture.md, "Push, exactly once"): the movements of a
batch that apply clean are decided together, the others one by one.

Most of what the store decides about a pushed movement depends only on what the movement
says and on reference data a push does not change: the ledger's shape rules, whether the
store knows what it names, its part's tracking, a closed job or order line, stock on hold.
A backlog repeats the same few facts hundreds of times (a dock receiving one part, a line
issuing to one job), so a `Batch` judges each distinct set of facts once, by the same
functions the per-movement path calls (`sync.central.evaluate`), and remembers whether it
applies clean. What changes from one movement to the next is the stock: each movement is
checked against the running balances of the batch (nothing taken below zero, nothing past
what a balance holds, no shortfall that its arrival would settle).

A movement that passes all of it is applied clean: its ledger row, entry, change and what it
adds to the caches go straight into the operation's pending rows, which are written in bulk
when the push finishes (`sync.central.pending`); on PostgreSQL its three rows are sent while
the push judges on (`sync.central.write_behind`). `CentralLedger.accept` asks its `Batch`
first and judges alone any other movement (one that is held, rejected or flagged; a
reversal; a serial; the first of a lot the store has never seen), in its place in the batch,
seeing every movement before it. So the outcomes, rows and changes are those the
per-movement path gives: tests/sync/central/test_sync_batch.py pushes drawn histories
through both and compares the stores.

A push that carries status changes is judged movement by movement: a lot put on hold
between two of its movements changes what the second one is.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

from scanner.balances import CacheDelta, cache_deltas, stock_key
from scanner.models import Operator, Part
from sync.central.changes import movement_text
from sync.central.evaluate import (
    beyond_held,
    closed_reference,
    hold_reason,
    not_released,
    numbers_fit,
    rule_rejection,
)
from sync.central.models import Outcome
from sync.central.pending import ENTRY_ROW, MOVEMENT_ROW, NewEntry, NewLot, NewMovement
from sync.protocol import MovementIn, movement_hash, movement_payload

if TYPE_CHECKING:
    from sync.central.apply import CentralLedger

StockKey = tuple[str, str, str, str]
_APPLIED = Outcome.APPLIED.value
_PER_MOVEMENT = frozenset({"id", "seq", "happened_at", "observed_cursor", "operator"})
"""What tells one movement from another with the same facts; none of it is judged but the
cursor, which only a shortfall reads (and a movement that falls short is judged alone), and
the operator, which only has to be one the store knows (a line of forty people scanning the
same receipt is one set of facts, checked against forty operators)."""
_FACTS = attrgetter(*sorted(set(MovementIn.model_fields) - _PER_MOVEMENT))


class _Clean:
    """What judging a set of facts found, when they apply clean: the part's number, the lot
    the movement names (which must exist before it applies here), what it adds to the
    caches, its source and destination balances."""

    __slots__ = ("deltas", "destination", "lot", "part", "source", "taken")

    def __init__(self, part: Part, movement: MovementIn, deltas: list[CacheDelta]) -> None:
        self.part = part.number
        self.lot = movement.lot
        self.deltas = deltas
        lot_key, serial_key = stock_key(part, movement.lot, movement.serial)
        self.source: StockKey | None = None
        self.taken = movement.qty
        if movement.from_location is not None:
            self.source = (part.number, lot_key, serial_key, movement.from_location)
        self.destination: StockKey | None = None
        if movement.to_location is not None:
            self.destination = (part.number, lot_key, serial_key, movement.to_location)


class Batch:
    """One push's movements, judged as a set where they can be (see the module)."""

    def __init__(self, ledger: CentralLedger, device_id: str, role: str) -> None:
        self.ledger = ledger
        self.device_id = device_id
        self.role = role
        self._judged: dict[tuple[Any, ...], _Clean | None] = {}

    def applied(self, movement: MovementIn) -> NewEntry | None:
        """Applies the device's next movement when it applies clean (see the module) and
        returns its entry; None when `CentralLedger.accept` must judge it alone."""
        clean = self._clean(movement)
        return self._apply(movement, clean) if clean is not None else None

    def _clean(self, movement: MovementIn) -> _Clean | None:
        """What applying the movement does, when it applies clean as the store stands now;
        None when it must be judged alone."""
        facts = _FACTS(movement)
        if facts in self._judged:
            clean = self._judged[facts]
        else:
            clean = self._judged[facts] = self._judge(movement)
        if clean is None:
            return None
        rows = self.ledger.rows
        if movement.operator is not None and rows.get(Operator, movement.operator) is None:
            return None  # held: the store does not know its operator
        if clean.lot is not None and rows.lot(clean.part, clean.lot) is None:
            return None  # the movement brings its lot into being
        if clean.source is not None and rows.balance(clean.source) < clean.taken:
            return None  # it falls short
        if clean.destination is not None and self.ledger.shortfall_open(clean.destination):
            return None  # its arrival may settle a shortfall
        if beyond_held(rows, clean.deltas) is not None:
            return None  # rejected
        return clean

    def _judge(self, movement: MovementIn) -> _Clean | None:
        """Whether movements with these facts apply clean whatever the stock, by the rules
        of the per-movement path; those that name what can change while a push is judged
        (the movement a reversal undoes, a serial's state) never do here. The operator is
        not one of the facts (`_clean` checks each movement's own), so it is left out: an
        unknown operator on the first movement of a set does not send the rest alone."""
        if movement.reverses is not None or movement.serial is not None:
            return None
        if movement.serial_lot is not None or not numbers_fit(movement):
            return None
        movement = movement.model_copy(update={"operator": None})
        rows = self.ledger.rows
        if rule_rejection(rows, self.device_id, self.role, movement) is not None:
            return None
        if hold_reason(rows, self.device_id, movement) is not None:
            return None
        part = rows.get_one(Part, movement.part)
        if closed_reference(rows, movement) or not_released(rows, movement, part):
            return None
        return _Clean(part, movement, cache_deltas(movement, part, None))

    def _apply(self, pushed: MovementIn, clean: _Clean) -> NewEntry:
        """`CentralLedger._apply` for a movement that applies clean: a ledger row, an entry
        that says applied, its change, and what it adds to the caches."""
        ledger = self.ledger
        pending = ledger.pending
        payload = movement_payload(pushed)
        server_seq = ledger.log.number()
        entry = NewEntry(
            device_id=self.device_id,
            device_seq=pushed.seq,
            movement_id=pushed.id,
            payload=payload,
            payload_hash=movement_hash(pushed, payload),
            received_at=ledger.now,
            status=_APPLIED,
            change_seq=server_seq,
        )
        pending.entries[(self.device_id, pushed.seq)] = entry
        movement = NewMovement.pushed(
            pushed,
            device_id=self.device_id,
            recorded_at=ledger.now,
            sync_state=_APPLIED,
            server_seq=server_seq,
        )
        pending.add_movement(movement)
        pending.add_to_caches(clean.deltas)
        text = movement_text(
            payload,
            device_id=self.device_id,
            status=_APPLIED,
            server_seq=server_seq,
            codes=[],
            message="",
        )
        behind = ledger.behind
        if behind is not None and (clean.lot is None or self._lot_written(clean)):
            # Nothing changes these rows again: they are written while the push goes on.
            behind.add(
                MOVEMENT_ROW(movement),
                ENTRY_ROW(entry),
                ledger.log.row(server_seq, "movement", str(pushed.id), text),
            )
            pending.behind.add(movement)
            pending.behind.add(entry)
        else:
            ledger.log.add_text(server_seq, "movement", str(pushed.id), text)
        return entry

    def _lot_written(self, clean: _Clean) -> bool:
        """Whether the lot a clean movement names is in the store's tables already, not a
        record this operation will write (a ledger row must come after its lot)."""
        assert clean.lot is not None
        return not isinstance(self.ledger.rows.lot(clean.part, clean.lot), NewLot)
