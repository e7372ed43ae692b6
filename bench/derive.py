"""The ledger's caches folded from generated movements, by `scanner.balances`' rules.

`scanner.balances.apply_to_caches` folds one movement at a time through the ORM, which is far
too slow for a million of them; this fold works on plain rows in memory and keeps the same
rules: minus at `from_location`, plus at `to_location`, under `stock_key`'s (lot, serial);
a job's consumed and produced quantities net of reversals; a serial's state set by its last
movement (`serial_state_after`). A zero balance or job row is no row at all.
`scanner.balance_check.cache_differences` checks the result (tests/bench/test_bench.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bench.recorder import MovementRow
from scanner.balances import serial_state_after, stock_key
from scanner.models import JobLotRole, Movement, MovementKind, Part

StockKey = tuple[str, str, str, str]
JobKey = tuple[str, str, str, str, str]
SerialKey = tuple[str, str]
Key = TypeVar("Key", StockKey, JobKey)


@dataclass
class Caches:
    balances: dict[StockKey, int]
    """(part, lot, serial, location) -> thousandths on hand."""
    job_lots: dict[JobKey, int]
    """(job, role, part, lot, serial) -> thousandths consumed or produced, net."""
    serial_states: dict[SerialKey, tuple[str, str | None]]
    """(part, serial) -> (status, location)."""


def derive_caches(parts: Mapping[str, Part], movements: Sequence[MovementRow]) -> Caches:
    """Folds `movements`, in ledger order, into balances, job genealogy and serial states.
    `parts` are the part records (only their number and tracking are read)."""
    reversed_ids = {m.reverses for m in movements if m.reverses is not None}
    kinds: dict[uuid.UUID, str] = {}
    keys = _StockKeys(parts)
    balances: dict[StockKey, int] = {}
    job_lots: dict[JobKey, int] = {}
    last: dict[SerialKey, tuple[MovementRow, str]] = {}
    issue, produce = MovementKind.ISSUE.value, MovementKind.PRODUCE.value
    consumed, produced = JobLotRole.CONSUMED.value, JobLotRole.PRODUCED.value
    for m in movements:
        if m.id in reversed_ids:
            kinds[m.id] = m.kind
        lot, serial = keys(m.part, m.lot, m.serial)
        if m.from_location is not None:
            _add(balances, (m.part, lot, serial, m.from_location), -m.qty)
        if m.to_location is not None:
            _add(balances, (m.part, lot, serial, m.to_location), m.qty)
        kind = kinds[m.reverses] if m.reverses is not None else m.kind
        if m.job is not None and kind in (issue, produce):
            role = consumed if kind == issue else produced
            change = -m.qty if m.reverses is not None else m.qty
            _add(job_lots, (m.job, role, m.part, lot, serial), change)
        if m.serial is not None:
            last[(m.part, m.serial)] = (m, kind)
    return Caches(
        balances=balances,
        job_lots=job_lots,
        serial_states={key: _serial_state(m, kind) for key, (m, kind) in last.items()},
    )


def _add(totals: dict[Key, int], key: Key, change: int) -> None:
    total = totals.get(key, 0) + change
    if total:
        totals[key] = total
    else:
        del totals[key]


def _serial_state(m: MovementRow, kind: str) -> tuple[str, str | None]:
    movement = Movement(kind=m.kind, to_location=m.to_location)
    return serial_state_after(movement, MovementKind(kind))


class _StockKeys:
    """`stock_key` per (part, lot, serial), remembered: most rows repeat a key."""

    def __init__(self, parts: Mapping[str, Part]) -> None:
        self.parts = parts
        self.known: dict[tuple[str, str | None, str | None], tuple[str, str]] = {}

    def __call__(self, part: str, lot: str | None, serial: str | None) -> tuple[str, str]:
        key = (part, lot, serial)
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = stock_key(self.parts[part], lot, serial)
        return found
