"""A plant's history, simulated day by day: receipts, jobs, completions, moves, shipments,
count corrections and the odd mistake undone by a reversal.

Every movement keeps the ledger's rules (`scanner.ledger`): positive quantities, a lot on
every lot-tracked movement and a serial on every serial-tracked one, stock taken only where
it is, a serial shipped at most once unless the shipment was reversed. The simulation keeps
its own stock in memory to know what it can issue or ship; the caches written to the
database are folded from the movements afterwards (`bench.derive`), not from this stock.

The same seed and scale always give the same history.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from bench.catalogue import (
    CUSTOMERS,
    LEVELS,
    LINES,
    RACKS,
    RECEIVING,
    SHIPPING,
    SPARES_CUSTOMER,
    UNIT,
    PartSpec,
    build_catalogue,
)
from bench.recorder import History, MovementRow, Recorder

FULL_DAYS = 300
"""A full-scale history: about 100k lots and 1M movements."""
JOBS_PER_PART_PER_DAY = 6
RECALL_PART = "RM-BASE"
RECALL_SIZE = 15
"""The recalled lot is a silo delivery this many times a normal one: it feeds many jobs."""


@dataclass(slots=True)
class Holding:
    """Stock the simulation may take: one lot or serial at one place, or an untracked bulk."""

    part: str
    lot: str | None
    serial: str | None
    location: str
    qty: int
    day: int


def simulate(seed: int, scale: float) -> History:
    """`scale` 1.0 is a full-scale history (`FULL_DAYS` days); the plant stays the same size."""
    days = max(2, round(FULL_DAYS * scale))
    floor = _Floor(random.Random(seed))
    for day in range(days):
        floor.work_day(day)
    floor.books.close_jobs(0.97)
    return floor.history


class _Floor:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.parts = build_catalogue()
        self.history = History(self.parts, (RECALL_PART, ""))
        self.books = Recorder(rng, self.history)
        self.stock: dict[str, deque[Holding]] = {n: deque() for n in self.parts}
        self.on_hand: dict[str, int] = dict.fromkeys(self.parts, 0)
        self.bulk: dict[str, Holding] = {}
        self.home = {n: self.rng.choice(RACKS) for n in self.parts}
        self.day = 0
        self.levels = [
            [p for p in self.parts.values() if p.level == level] for level in range(LEVELS + 1)
        ]

    # ---- a day on the floor -------------------------------------------------------------

    def work_day(self, day: int) -> None:
        self.day = day
        self.books.start_day(day)
        for level in range(1, LEVELS + 1):
            runs = [p for p in self.levels[level] for _ in range(JOBS_PER_PART_PER_DAY)]
            self.rng.shuffle(runs)
            for part in runs:
                self.run_job(part)
        self.ship_finished_goods()
        self.ship_spares()
        self.housekeeping()

    # ---- jobs ---------------------------------------------------------------------------

    def run_job(self, spec: PartSpec) -> None:
        components = [self.parts[n] for n in spec.usage]
        needs = {c.number: spec.needs(c) for c in components}
        for c in components:
            if c.made and not self.available(c, needs[c.number]):
                return  # starved: the job waits for its components
        number = self.books.job(
            spec.number,
            spec.batch_thousandths(),
            {
                c.number: needs[c.number] * (UNIT if c.tracking == "serial" else 1)
                for c in components
            },
        )
        self.books.crew()
        assigned = None
        if spec.tracking == "lot" and self.rng.random() < 0.3:
            assigned = self.books.next("L", 7)
            self.books.ensure_lot(spec, assigned, "assigned", job=number)
        for c in components:
            if not c.backflush:
                self.issue(number, c, needs[c.number])
        self.complete(number, spec, assigned)
        for c in components:
            if c.backflush:
                self.issue(number, c, needs[c.number])

    def available(self, part: PartSpec, need: int) -> bool:
        if part.tracking == "serial":
            return len(self.stock[part.number]) >= need
        return self.on_hand[part.number] >= need

    def issue(self, job: str, part: PartSpec, need: int) -> None:
        """Issues `need` (thousandths, or serials) FIFO, buying first what is bought."""
        if not part.made:
            self.replenish(part, need)
        if part.tracking == "none":
            bulk = self.bulk[part.number]
            self.books.record("issue", part.number, need, from_location=bulk.location, job=job)
            bulk.qty -= need
            return
        pool = self.stock[part.number]
        if part.tracking == "serial":
            for _ in range(need):
                unit = pool.popleft()
                self.books.record(
                    "issue",
                    part.number,
                    UNIT,
                    lot=unit.lot,
                    serial=unit.serial,
                    from_location=unit.location,
                    job=job,
                )
            return
        if len(pool) > 1 and self.rng.random() < 0.01:
            self.wrong_lot_issued(job, pool[1], need)
        while need:
            holding = pool[0]
            take = min(holding.qty, need)
            self.books.record(
                "issue", part.number, take, lot=holding.lot, from_location=holding.location, job=job
            )
            self.take(holding, take)
            need -= take

    def wrong_lot_issued(self, job: str, holding: Holding, need: int) -> None:
        """The operator scans the wrong lot, then undoes it."""
        wrong = self.books.record(
            "issue",
            holding.part,
            min(holding.qty, need),
            lot=holding.lot,
            from_location=holding.location,
            job=job,
        )
        self.books.reverse(wrong, "wrong lot scanned")

    def complete(self, job: str, spec: PartSpec, assigned: str | None) -> None:
        line = LINES[spec.level - 1]
        pool = self.stock[spec.number]
        if spec.tracking == "serial":
            build = self.books.next("B", 6) if spec.build_lots else None
            if build:
                self.books.ensure_lot(spec, build, "produced", job=job)
            for _ in range(spec.batch):
                serial = self.books.next(spec.serial_prefix, 7)
                self.history.serial_lots[(spec.number, serial)] = build
                self.books.record(
                    "produce",
                    spec.number,
                    UNIT,
                    lot=build,
                    serial=serial,
                    to_location=line,
                    job=job,
                )
                unit = Holding(spec.number, build, serial, line, UNIT, self.day)
                if spec.level == LEVELS:
                    self.move(unit, self.rng.choice(RACKS))
                pool.append(unit)
            return
        total = spec.batch
        amounts = [total]
        if total >= 2 * UNIT and self.rng.random() < 0.1:  # two pallets, two lots
            half = total // 2 if spec.uom != "ea" else total // UNIT // 2 * UNIT
            amounts = [half, total - half]
        for amount in amounts:
            lot = assigned or self.books.next("L", 7)
            assigned = None
            self.books.ensure_lot(spec, lot, "produced", job=job)
            if self.rng.random() < 0.005:
                wrong = self.books.record(
                    "produce", spec.number, amount + UNIT, lot=lot, to_location=line, job=job
                )
                self.books.reverse(wrong, "wrong quantity")
            self.books.record("produce", spec.number, amount, lot=lot, to_location=line, job=job)
            holding = Holding(spec.number, lot, None, line, amount, self.day)
            self.move(holding, self.rng.choice(RACKS))
            pool.append(holding)
            self.on_hand[spec.number] += amount

    # ---- buying -------------------------------------------------------------------------

    def replenish(self, part: PartSpec, need: int) -> None:
        if part.tracking == "none":
            bulk = self.bulk.get(part.number)
            if bulk is None:
                bulk = self.bulk[part.number] = Holding(
                    part.number, None, None, self.home[part.number], 0, self.day
                )
            while bulk.qty < need:
                po, po_line = self.books.po_line(part, part.supply)
                self.books.record(
                    "receive",
                    part.number,
                    part.supply,
                    to_location=bulk.location,
                    po=po,
                    po_line=po_line,
                )
                bulk.qty += part.supply
            return
        if part.tracking == "serial":
            while len(self.stock[part.number]) < need:
                self.receive_serials(part)
            return
        while self.on_hand[part.number] < need:
            self.receive_lot(part)

    def receive_lot(self, part: PartSpec) -> None:
        size = part.supply
        if part.number == RECALL_PART and not self.history.recall[1]:
            size *= RECALL_SIZE
        po, po_line = self.books.po_line(part, size)
        lot = self.books.next("R", 7)
        if part.number == RECALL_PART and not self.history.recall[1]:
            self.history.recall = (part.number, lot)
        supplier_lot = f"{self.history.purchase_orders[po][:3].upper()}-{self.books.next('S', 6)}"
        self.books.ensure_lot(part, lot, "received", supplier_lot=supplier_lot)
        self.books.record(
            "receive", part.number, size, lot=lot, to_location=RECEIVING, po=po, po_line=po_line
        )
        holding = Holding(part.number, lot, None, RECEIVING, size, self.day)
        self.move(holding, self.rng.choice(RACKS))
        self.stock[part.number].append(holding)
        self.on_hand[part.number] += size

    def receive_serials(self, part: PartSpec) -> None:
        po, po_line = self.books.po_line(part, part.supply * UNIT)
        lot = None
        if part.number.startswith("MOTOR"):
            lot = self.books.next("R", 7)
            self.books.ensure_lot(
                part, lot, "received", supplier_lot=f"VM-{self.books.next('S', 6)}"
            )
        for _ in range(part.supply):
            serial = self.books.next(part.serial_prefix, 7)
            self.history.serial_lots[(part.number, serial)] = lot
            self.books.record(
                "receive",
                part.number,
                UNIT,
                lot=lot,
                serial=serial,
                to_location=RECEIVING,
                po=po,
                po_line=po_line,
            )
            unit = Holding(part.number, lot, serial, RECEIVING, UNIT, self.day)
            self.move(unit, self.home[part.number])
            self.stock[part.number].append(unit)

    # ---- shipping -----------------------------------------------------------------------

    def ship_finished_goods(self) -> None:
        """Yesterday's finished goods go out on sales orders of one to three lines."""
        ready = [p for p in self.levels[LEVELS] if self.shippable(p)]
        while ready:
            so = self.books.sales_order(self.rng.choice(CUSTOMERS))
            lines = self.rng.sample(ready, min(len(ready), self.rng.randint(1, 3)))
            for line, part in enumerate(lines, start=1):
                self.ship_line(so, line, part)
            ready = [p for p in ready if self.shippable(p)]

    def shippable(self, part: PartSpec) -> bool:
        pool = self.stock[part.number]
        return bool(pool) and pool[0].day < self.day

    def ship_line(self, so: str, line: int, part: PartSpec) -> None:
        self.books.crew()
        pool = self.stock[part.number]
        shipped = 0
        count = self.rng.randint(1, 10) if part.tracking == "serial" else self.rng.randint(1, 2)
        for _ in range(count):
            if not self.shippable(part):
                break
            holding = pool[0]
            amount = holding.qty
            if part.tracking == "lot" and amount > 2 * UNIT and self.rng.random() < 0.2:
                amount = amount // UNIT // 2 * UNIT  # half the lot; the rest ships later
            if holding.location != SHIPPING:
                self.move(holding, SHIPPING)
            self.ship(so, line, holding, amount)
            shipped += amount
        self.books.sales_order_line(so, line, part.number, shipped)

    def ship(self, so: str, line: int, holding: Holding, amount: int) -> None:
        def once() -> MovementRow:
            return self.books.record(
                "ship",
                holding.part,
                amount,
                lot=holding.lot,
                serial=holding.serial,
                from_location=holding.location,
                so=so,
                so_line=line,
            )

        if self.rng.random() < 0.005:
            self.books.reverse(once(), "shipped on the wrong order")
        once()
        self.take(holding, amount)

    def ship_spares(self) -> None:
        """Now and then a subassembly lot ships as a spare, and a carton of bulk goods goes
        out on a line that asks for lot control (the lot names the shipment)."""
        if self.rng.random() < 0.5:
            part = self.rng.choice(self.levels[3] + self.levels[4])
            pool = self.stock[part.number]
            if pool and pool[0].day < self.day:
                so = self.books.sales_order(SPARES_CUSTOMER)
                self.books.crew()
                holding, amount = pool[0], pool[0].qty
                self.ship(so, 1, holding, amount)
                self.books.sales_order_line(so, 1, part.number, amount)
        if self.rng.random() < 0.5:
            part = self.parts["BOX-S"]
            amount = 50 * UNIT
            self.replenish(part, amount)
            so = self.books.sales_order(self.rng.choice(CUSTOMERS))
            lot = self.books.next("SL", 6)
            self.books.ensure_lot(part, lot, "shipped")
            bulk = self.bulk[part.number]
            self.books.record(
                "ship", part.number, amount, lot=lot, from_location=bulk.location, so=so, so_line=1
            )
            bulk.qty -= amount
            self.books.sales_order_line(so, 1, part.number, amount, lot_control=True)

    # ---- housekeeping -------------------------------------------------------------------

    def housekeeping(self) -> None:
        """Rack-to-rack moves and count corrections."""
        self.books.crew()
        for _ in range(5):
            pool = self.stock[self.rng.choice(self.levels[self.rng.randint(0, LEVELS - 1)]).number]
            if pool:
                holding = self.rng.choice(pool)
                if holding.location in RACKS:
                    self.move(holding, self.rng.choice([r for r in RACKS if r != holding.location]))
        for bulk in self.rng.sample(list(self.bulk.values()), min(2, len(self.bulk))):
            if bulk.qty > 10 * UNIT:
                found = self.rng.choice((-1, 1)) * UNIT * self.rng.randint(1, 5)
                self.books.record(
                    "adjust",
                    bulk.part,
                    abs(found),
                    from_location=None if found > 0 else bulk.location,
                    to_location=bulk.location if found > 0 else None,
                    reason="cycle count",
                )
                bulk.qty += found
        raw = self.stock[self.rng.choice(self.levels[0]).number]
        if raw and raw[-1].lot and raw[-1].qty > 10 * UNIT:
            holding = raw[-1]
            self.books.record(
                "adjust",
                holding.part,
                UNIT,
                lot=holding.lot,
                from_location=holding.location,
                reason="damaged bag",
            )
            self.take(holding, UNIT)

    # ---- recording ----------------------------------------------------------------------

    def move(self, holding: Holding, to: str) -> None:
        self.books.record(
            "move",
            holding.part,
            holding.qty,
            lot=holding.lot,
            serial=holding.serial,
            from_location=holding.location,
            to_location=to,
        )
        holding.location = to

    def take(self, holding: Holding, amount: int) -> None:
        holding.qty -= amount
        if holding.serial is None:
            self.on_hand[holding.part] -= amount
        if holding.qty == 0:
            pool = self.stock[holding.part]
            if pool[0] is holding:
                pool.popleft()
            else:
                pool.remove(holding)
