"""Rows as the ledger and the reference data keep them, for a simulated history: each
movement with its id, device, sequence number, operator and times, each lot made on first
sight as `scanner.ledger.Ledger` makes it, and the orders the movements refer to.

Quantities are whole thousandths (`bench.catalogue.UNIT` is one); ids come from the
simulation's random generator, so a seed always gives the same rows.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from bench.catalogue import DEVICES, OPERATORS, SUPPLIERS, PartSpec

START = datetime(2025, 1, 6, 6, 0, tzinfo=UTC)

Row = dict[str, Any]


class MovementRow(NamedTuple):
    """One ledger row as `scanner.models.Movement` stores it; `qty` in thousandths."""

    id: uuid.UUID
    device_id: str
    device_seq: int
    kind: str
    part: str
    lot: str | None
    serial: str | None
    qty: int
    from_location: str | None
    to_location: str | None
    job: str | None
    po: str | None
    po_line: int | None
    so: str | None
    so_line: int | None
    operator: str | None
    reverses: uuid.UUID | None
    reason: str | None
    happened_at: datetime
    recorded_at: datetime | None


@dataclass
class History:
    """Reference data and movements, ready to insert; quantities in thousandths."""

    parts: dict[str, PartSpec]
    recall: tuple[str, str]
    lots: dict[tuple[str, str], Row] = field(default_factory=dict)
    serial_lots: dict[tuple[str, str], str | None] = field(default_factory=dict)
    purchase_orders: dict[str, str] = field(default_factory=dict)
    purchase_order_lines: list[Row] = field(default_factory=list)
    sales_orders: dict[str, str] = field(default_factory=dict)
    sales_order_lines: list[Row] = field(default_factory=list)
    jobs: list[Row] = field(default_factory=list)
    job_components: list[Row] = field(default_factory=list)
    movements: list[MovementRow] = field(default_factory=list)


class Recorder:
    """Writes a history: the clock, the handheld and operator scanning, the numbering."""

    def __init__(self, rng: random.Random, history: History) -> None:
        self.rng = rng
        self.history = history
        self.seq = dict.fromkeys(DEVICES, 0)
        self.counters: dict[str, int] = {}
        self.now = START
        self.device = DEVICES[0]
        self.operator = OPERATORS[0]
        self.open_pos: dict[str, tuple[str, int]] = {}

    def start_day(self, day: int) -> None:
        self.now = START + timedelta(days=day)
        self.open_pos = {}

    def crew(self) -> None:
        """The handheld and operator for the next few scans."""
        self.device = self.rng.choice(DEVICES)
        self.operator = self.rng.choice(OPERATORS)

    def ensure_lot(
        self,
        part: PartSpec,
        number: str,
        origin: str,
        *,
        supplier_lot: str | None = None,
        job: str | None = None,
    ) -> None:
        """The lot as `Ledger._ensure_lot` makes it on first sight."""
        key = (part.number, number)
        if key in self.history.lots:
            return
        shelf = part.shelf_life_days
        expiry: date | None = self.now.date() + timedelta(days=shelf) if shelf else None
        self.history.lots[key] = {
            "part": part.number, "number": number, "expiry": expiry,
            "supplier_lot": supplier_lot, "status": "active", "origin": origin,
            "assigned_job": job, "created_at": self.now,
        }  # fmt: skip

    def reverse(self, movement: MovementRow, reason: str) -> MovementRow:
        """A compensating movement, as `Ledger.reverse` records it."""
        return self.record(
            "reverse", movement.part, movement.qty, lot=movement.lot, serial=movement.serial,
            from_location=movement.to_location, to_location=movement.from_location,
            job=movement.job, po=movement.po, po_line=movement.po_line, so=movement.so,
            so_line=movement.so_line, reverses=movement.id, reason=reason,
        )  # fmt: skip

    def record(
        self,
        kind: str,
        part: str,
        qty: int,
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
        reverses: uuid.UUID | None = None,
        reason: str | None = None,
    ) -> MovementRow:
        self.now += timedelta(seconds=self.rng.randint(1, 9))
        self.seq[self.device] += 1
        movement = MovementRow(
            uuid.UUID(int=self.rng.getrandbits(128), version=4), self.device,
            self.seq[self.device], kind, part, lot, serial, qty, from_location, to_location,
            job, po, po_line, so, so_line, self.operator, reverses, reason, self.now,
            self.now + timedelta(seconds=self.rng.randint(5, 900)),
        )  # fmt: skip
        self.history.movements.append(movement)
        return movement

    def next(self, counter: str, width: int) -> str:
        """The next number of a series: `next("PO", 6)` is PO000001, then PO000002."""
        value = self.counters.get(counter, 0) + 1
        self.counters[counter] = value
        return f"{counter}{value:0{width}d}"

    def po_line(self, part: PartSpec, qty: int) -> tuple[str, int]:
        """A line on today's purchase order from the part's supplier."""
        supplier = SUPPLIERS[sum(map(ord, part.number)) % len(SUPPLIERS)]
        po, lines = self.open_pos.get(supplier, ("", 0))
        if not po:
            po = self.next("PO", 6)
            self.history.purchase_orders[po] = supplier
        self.open_pos[supplier] = (po, lines + 1)
        self.history.purchase_order_lines.append(
            {"po": po, "line": lines + 1, "part": part.number, "qty": qty}
        )
        return po, lines + 1

    def sales_order(self, customer: str) -> str:
        so = self.next("SO", 6)
        self.history.sales_orders[so] = customer
        return so

    def sales_order_line(
        self, so: str, line: int, part: str, qty: int, *, lot_control: bool = False
    ) -> None:
        self.history.sales_order_lines.append(
            {"so": so, "line": line, "part": part, "qty": qty, "lot_control": lot_control}
        )

    def job(self, part: str, qty: int, components: dict[str, int]) -> str:
        """A new job making `qty` of `part` from `components` (quantities for the whole job);
        its number. It stays open until `Recorder.close_jobs`."""
        number = self.next("J", 7)
        self.history.jobs.append({"number": number, "part": part, "qty": qty, "status": "open"})
        self.history.job_components.extend(
            {"job": number, "part": component, "qty": amount}
            for component, amount in components.items()
        )
        return number

    def close_jobs(self, share: float) -> None:
        """Closes about `share` of the jobs; the rest stay open, as some do on a real floor."""
        for job in self.history.jobs:
            job["status"] = "closed" if self.rng.random() < share else "open"
