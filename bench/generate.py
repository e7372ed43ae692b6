"""The benchmark plant as a SQLite database: generated once per seed and scale, then reused.

`plant_database(seed, scale)` returns the database for that history, generating it if the
cache folder (`bench/.data`, or `$LOTSCAN_BENCH_DATA`) has none. Generation simulates the
history (`bench.history`), folds the caches from it (`bench.derive`), and bulk-inserts
reference data, movements and caches with SQLAlchemy Core in one transaction into a database
made by `scanner.db.open_database` (so migrated, with the app's SQLite settings). Going
through `scanner.ledger.Ledger` would take hours for a million movements.

A manifest beside the database says what is in it (the recalled lot, counts, how long it took
to make); it is written last, so a database without one is incomplete and made again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, insert

from bench.catalogue import (
    LEVELS,
    LINES,
    OPERATORS,
    RACKS,
    RECEIVING,
    SHIPPING,
    SUPERVISORS,
    PartSpec,
)
from bench.derive import Caches, derive_caches
from bench.history import simulate
from bench.recorder import History
from scanner.db import open_database
from scanner.models import (
    Balance,
    Job,
    JobComponent,
    JobLot,
    Location,
    Lot,
    Movement,
    Operator,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    Serial,
    Setting,
)
from scanner.settings import DEVICE_ID
from scanner.workspace import sqlite_url

GENERATOR_VERSION = 2
"""Raise it when the generator changes what it makes: cached databases are then remade."""
DATA_DIR = Path(__file__).resolve().parent / ".data"
CHUNK = 20_000
BENCH_DEVICE = "BNCH"
"""The generated database's own device id: no movement carries it."""


@dataclass(frozen=True)
class Plant:
    """A generated plant database and what is in it."""

    path: Path
    seed: int
    scale: float
    recall_part: str
    recall_lot: str
    lots: int
    serials: int
    jobs: int
    movements: int
    shipments: int
    seconds: float
    """How long generating it took (whenever that was)."""
    cached: bool = False

    @property
    def url(self) -> str:
        return sqlite_url(self.path)


def data_dir() -> Path:
    configured = os.environ.get("LOTSCAN_BENCH_DATA")
    return Path(configured) if configured else DATA_DIR


def plant_database(seed: int = 1, scale: float = 1.0, folder: Path | None = None) -> Plant:
    """The plant database for `seed` and `scale`, from the cache when it is there."""
    folder = folder or data_dir()
    stem = f"plant-v{GENERATOR_VERSION}-seed{seed}-scale{scale:g}"
    path, manifest = folder / f"{stem}.db", folder / f"{stem}.json"
    if path.exists() and manifest.exists():
        fields = json.loads(manifest.read_text(encoding="utf-8"))
        return Plant(path=path, cached=True, **fields)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating {path.name} (a minute or so at full scale)...", file=sys.stderr, flush=True)
    partial = folder / f"{stem}.partial-{os.getpid()}.db"
    plant = generate(partial, seed, scale)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.replace(path)
    fields = {k: v for k, v in asdict(plant).items() if k not in ("path", "cached")}
    manifest.write_text(json.dumps(fields, indent=2) + "\n", encoding="utf-8")
    return Plant(path=path, **fields)


def generate(path: Path, seed: int, scale: float) -> Plant:
    """Writes the plant's history for `seed` and `scale` to a new SQLite database at `path`."""
    started = time.perf_counter()
    path.unlink(missing_ok=True)
    history = simulate(seed, scale)
    parts = {n: Part(number=n, tracking=spec.tracking) for n, spec in history.parts.items()}
    caches = derive_caches(parts, history.movements)
    sessions = open_database(sqlite_url(path))
    engine = sessions.kw["bind"]
    with engine.begin() as connection:
        # Bulk loading: a bigger page cache for the random inserts into the primary key index.
        connection.exec_driver_sql("PRAGMA cache_size=-512000")
        _insert_all(connection, history, caches)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return Plant(
        path=path,
        seed=seed,
        scale=scale,
        recall_part=history.recall[0],
        recall_lot=history.recall[1],
        lots=len(history.lots),
        serials=len(history.serial_lots),
        jobs=len(history.jobs),
        movements=len(history.movements),
        shipments=sum(1 for m in history.movements if m.kind == "ship"),
        seconds=round(time.perf_counter() - started, 3),
    )


def _insert_all(connection: Connection, history: History, caches: Caches) -> None:
    def put(model: type[Any], rows: Iterable[dict[str, Any]]) -> None:
        table = model.__table__
        assert isinstance(table, Table)
        for chunk in _chunks(rows, CHUNK):
            connection.execute(insert(table), chunk)

    put(Part, (_part_row(spec) for spec in history.parts.values()))
    put(Location, _locations())
    put(Operator, _operators())
    put(Setting, [{"key": DEVICE_ID.key, "value": BENCH_DEVICE}])
    put(PurchaseOrder, ({"number": n, "supplier": s} for n, s in history.purchase_orders.items()))
    put(PurchaseOrderLine, (_with_quantity(row) for row in history.purchase_order_lines))
    put(SalesOrder, ({"number": n, "customer": c} for n, c in history.sales_orders.items()))
    put(SalesOrderLine, (_with_quantity(row) for row in history.sales_order_lines))
    put(Job, (_with_quantity(row) for row in history.jobs))
    put(JobComponent, (_with_quantity(row) for row in history.job_components))
    put(Lot, history.lots.values())
    put(Serial, _serials(history, caches))
    put(Movement, (_with_quantity(m._asdict()) for m in history.movements))
    put(
        Balance,
        (
            {"part": p, "lot": lot, "serial": s, "location": where, "qty": _quantity(q)}
            for (p, lot, s, where), q in caches.balances.items()
        ),
    )
    put(
        JobLot,
        (
            {"job": j, "role": role, "part": p, "lot": lot, "serial": s, "qty": _quantity(q)}
            for (j, role, p, lot, s), q in caches.job_lots.items()
        ),
    )


def _part_row(spec: PartSpec) -> dict[str, Any]:
    return {
        "number": spec.number,
        "description": spec.description,
        "tracking": spec.tracking,
        "gtin": _gtin(spec),
        "backflush": spec.backflush,
        "shelf_life_days": spec.shelf_life_days,
        "uom": spec.uom,
        "lot_pattern": None,
    }


def _gtin(spec: PartSpec) -> str | None:
    """Finished goods carry a GTIN-14 (a made-up company prefix, a real check digit)."""
    if spec.level != LEVELS:
        return None
    body = f"0{4006381}{sum(map(ord, spec.number)) % 100_000:05d}"
    weights = [3 if i % 2 == 0 else 1 for i in range(len(body))]
    check = -sum(int(d) * w for d, w in zip(reversed(body), weights, strict=True)) % 10
    return f"{body}{check}"


def _locations() -> list[dict[str, Any]]:
    rows = [
        {"code": RECEIVING, "name": "Receiving dock", "kind": "receiving"},
        {"code": SHIPPING, "name": "Shipping dock", "kind": "shipping"},
    ]
    rows += [{"code": c, "name": f"Production line {c[-1]}", "kind": "production"} for c in LINES]
    rows += [{"code": c, "name": f"Rack {c}", "kind": "storage"} for c in RACKS]
    return rows


def _operators() -> list[dict[str, Any]]:
    floor = [{"badge": b, "name": f"Operator {b}", "role": "floor"} for b in OPERATORS]
    return floor + [
        {"badge": b, "name": f"Supervisor {b}", "role": "supervisor"} for b in SUPERVISORS
    ]


def _serials(history: History, caches: Caches) -> Iterator[dict[str, Any]]:
    for (part, number), lot in history.serial_lots.items():
        status, location = caches.serial_states[(part, number)]
        yield {"part": part, "number": number, "lot": lot, "status": status, "location": location}


def _with_quantity(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "qty": _quantity(row["qty"])}


def _quantity(thousandths: int) -> Decimal:
    return Decimal(thousandths).scaleb(-3)


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk
