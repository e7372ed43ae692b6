"""`lotscan demo`: a fresh workspace holding a small plant and four weeks of its history.

The plant is Harbor Hydraulics, which casts nothing and machines little: it assembles gear
pumps (GP-10, lot-tracked) from bought-in housing castings, gear sets and seal kits, and builds
hydraulic power units (HPU-5, serial-tracked) from those pumps, serial-tracked motors, steel
reservoirs and hydraulic oil. Seal kits and oil have expiry dates; fasteners are untracked, and
the pumps' cap screws are backflushed.

Reference data comes in through the same CSV import a site would use (`demo_data/`), so the
demo also shows what import files look like. The history is recorded through the ledger, with
a clock walking over the working days before `today`: the same `today` gives the same demo.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import ColumnElement, create_engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from scanner.closing import close_job
from scanner.completion import complete
from scanner.db import open_database, unit_of_work
from scanner.errors import NotFound, RuleViolation
from scanner.importing import import_file
from scanner.ledger import Ledger
from scanner.models import (
    Balance,
    Base,
    Job,
    JobStatus,
    Location,
    Lot,
    LotStatus,
    Movement,
    Operator,
    Part,
    PurchaseOrder,
    Role,
    SalesOrder,
    Serial,
    Tracking,
)
from scanner.numbering import mint_numbers, number_range
from scanner.quality import Action, change_status, find_item
from scanner.settings import DEMO_BUILT_ON, DEVICE_ID, read_setting, stored_text, write_setting
from scanner.workspace import DATABASE_FILE, sqlite_url, workspace_home

DEMO_DATA = Path(__file__).parent / "demo_data"
# One file per import kind, parents before what refers to them.
IMPORTS = (
    ("parts", "parts.csv"),
    ("locations", "locations.csv"),
    ("operators", "operators.csv"),
    ("purchase-orders", "purchase-orders.csv"),
    ("sales-orders", "sales-orders.csv"),
    ("jobs", "jobs.csv"),
    ("job-components", "job-components.csv"),
    # This site's name, address and phone for the exports; Riverside Waterworks has no
    # phone on its sales order, so the FSMA 204 export shows a missing key data element.
    ("site", "site.csv"),
)
DEMO_DEVICE = "DM01"
LABELS_FOLDER = "labels"
"""The folder in the demo workspace where its labels are written, one PNG file each."""

HISTORY_DAYS = 20
"""Working days of history, the last one the working day before `today`."""

# What the summary suggests tracing.
FINISHED_LOT = ("GP-10", "GP10-0415")
RAW_LOT = ("CAST-GP10", "CH-0101")
FINISHED_SERIAL = ("HPU-5", "HPU5-0001")
HELD_LOT = ("CAST-GP10", "CH-0103")


def demo_url() -> str:
    """The demo workspace's database: its own folder, so a demo never touches real data."""
    folder = workspace_home() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(folder / DATABASE_FILE)


def build_demo(url: str, today: date) -> str:
    """Builds the demo at `url` from nothing and returns a summary of what it holds.

    A SQLite file is replaced when it is an earlier demo or holds no movements; any other
    database must hold no data: real scans are never wiped.
    """
    _start_empty(url)
    sessions = open_database(url)
    try:
        with unit_of_work(sessions) as session:
            write_setting(session, DEVICE_ID, DEMO_DEVICE)
            write_setting(session, DEMO_BUILT_ON, today)
            _import_reference_data(session)
            _record_history(session, today)
            return _summary(session, url, today)
    finally:
        sessions.kw["bind"].dispose()


# ---- starting from nothing --------------------------------------------------------------


def _start_empty(url: str) -> None:
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        path = Path(database)
        if path.exists():
            _refuse_real_data(url, allow_demo=True)
        for leftover in (path, *(Path(f"{path}{end}") for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    _refuse_real_data(url, allow_demo=False)


def labels_folder(url: str) -> Path:
    """Where the demo's labels are written (`lotscan demo` points its printer there, as the
    CLI alone may use `labels`): `labels` next to a SQLite file, else in the demo
    workspace. Made when missing."""
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database and database != ":memory:":
        folder = Path(database).resolve().parent / LABELS_FOLDER
    else:
        folder = workspace_home().resolve() / "demo" / LABELS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _refuse_real_data(url: str, *, allow_demo: bool) -> None:
    """Raises unless the database at `url` holds nothing worth keeping (an earlier demo counts
    as nothing only when it can be deleted as a whole file)."""
    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            if not tables:
                return
            if not {"movements", "parts", "settings"} <= tables:
                raise RuleViolation(
                    f"{shown} holds tables that are not lotscan's: the demo will not replace it"
                )
            with Session(connection) as session:
                movements = session.scalar(select(func.count()).select_from(Movement)) or 0
                parts = session.scalar(select(func.count()).select_from(Part)) or 0
                is_demo = stored_text(session, DEMO_BUILT_ON) is not None
    except DBAPIError as error:
        raise RuleViolation(f"{shown} cannot be read as a database: {error.orig}") from None
    finally:
        engine.dispose()
    if allow_demo and (is_demo or movements == 0):
        return
    if movements or parts:
        raise RuleViolation(
            f"{shown} already holds {_plural(movements, 'movement')} and"
            f" {_plural(parts, 'part')}: the demo builds only on an empty database (or in"
            " its own workspace, without --db)"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _import_reference_data(session: Session) -> None:
    for kind, file in IMPORTS:
        import_file(session, kind, DEMO_DATA / file)


# ---- the history ------------------------------------------------------------------------


class ShiftClock:
    """The demo's clock: set to a time on one of the working days before `today`, it moves on
    a minute at each reading, so every movement gets a time of its own and later steps
    happen later. Deterministic: no reading of the real clock."""

    def __init__(self, today: date, days: int) -> None:
        self.days = working_days(today, days)
        self.now = datetime.combine(self.days[0], time(7), tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        moment = datetime.combine(self.days[day], time(hour, minute), tzinfo=UTC)
        if moment < self.now:
            raise ValueError(f"the demo's clock cannot go back from {self.now} to {moment}")
        self.now = moment


def working_days(today: date, count: int) -> list[date]:
    """The last `count` weekdays before `today`, oldest first."""
    days: list[date] = []
    day = today
    while len(days) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days[::-1]


def _record_history(session: Session, today: date) -> None:
    clock = ShiftClock(today, HISTORY_DAYS)
    ledger = Ledger(session, clock)
    _first_week(ledger, clock, today)
    _pump_job(ledger, clock)
    _power_unit_job(ledger, clock, today)
    _last_week(ledger, clock)


Delivery = Sequence[tuple[str, int, str, date | None]]
"""Lots arriving together: (lot, quantity, supplier lot, expiry)."""


def _receive_lots(ledger: Ledger, part: str, po: str, lots: Delivery) -> None:
    for lot, qty, supplier_lot, expiry in lots:
        ledger.receive(part, qty, "RECV", lot=lot, expiry=expiry, supplier_lot=supplier_lot,
                       po=po, operator="B1001")  # fmt: skip


def _put_away(ledger: Ledger, to: str, items: Sequence[tuple[str, str | None, int]]) -> None:
    """Moves each (part, lot, quantity) from the receiving dock to `to`."""
    for part, lot, qty in items:
        ledger.move(part, qty, to, from_location="RECV", lot=lot, operator="B1003")


def _receive_motors(ledger: Ledger, first: str, last: str) -> None:
    motors = number_range(first, last)
    for serial in motors:
        ledger.receive("MOT-5K5", 1, "RECV", serial=serial, po="PO-7005", operator="B1001")
    for serial in motors:
        ledger.move("MOT-5K5", 1, "RACK-A1", serial=serial, operator="B1003")


def _first_week(ledger: Ledger, clock: ShiftClock, today: date) -> None:
    """Deliveries against the purchase orders, put away from the dock; one pallet of castings
    fails incoming inspection."""
    clock.at(0, 7, 10)
    pallets = number_range("CH-0101", "CH-0103", expected=3)  # heat numbers from the foundry
    _receive_lots(ledger, "CAST-GP10", "PO-7001", [
        (pallets[0], 16, "H24-5510", None),
        (pallets[1], 24, "H24-5510", None),
        (pallets[2], 20, "H24-5523", None),
    ])  # fmt: skip
    drums = number_range("OL-0401", "OL-0402", expected=2)
    _receive_lots(ledger, "OIL-HM46", "PO-7004", [
        (drums[0], 208, "NL-23187", today - timedelta(days=4)),  # old stock: expired by now
        (drums[1], 208, "NL-24022", today + timedelta(days=25)),
    ])  # fmt: skip
    clock.at(0, 10)
    _put_away(ledger, "RACK-A1", [("CAST-GP10", "CH-0101", 16), ("CAST-GP10", "CH-0102", 24)])
    _put_away(ledger, "RACK-A2", [("OIL-HM46", "OL-0401", 208), ("OIL-HM46", "OL-0402", 208)])

    clock.at(1, 8)
    _receive_lots(ledger, "GEAR-GP10", "PO-7002", [("GS-0201", 50, "MW-88412", None)])
    _receive_lots(ledger, "SEAL-GP10", "PO-7003", [
        ("SK-0301", 30, "ST-2291", today + timedelta(days=18)),
        ("SK-0302", 30, "ST-2340", today + timedelta(days=700)),
    ])  # fmt: skip
    _put_away(ledger, "RACK-A1", [
        ("GEAR-GP10", "GS-0201", 50), ("SEAL-GP10", "SK-0301", 30), ("SEAL-GP10", "SK-0302", 30),
    ])  # fmt: skip
    clock.at(1, 13)
    # Porosity on the machined faces: quality holds the pallet, which waits in quarantine
    # for the foundry (held stock moves only into quarantine).
    pallet = find_item(ledger.session, "CAST-GP10", lot="CH-0103", serial=None)
    change_status(ledger.session, pallet, Action.HOLD, reason="Porosity on the machined faces",
                  by="B1020", clock=clock)  # fmt: skip
    ledger.move("CAST-GP10", 20, "QUAR", lot="CH-0103", operator="B1003")

    clock.at(2, 7, 30)
    for part, qty, line in (("BOLT-M10X40", 200, 1), ("SCR-M6X20", 500, 2), ("HOSE-12", 20, 3)):
        ledger.receive(part, qty, "RECV", po="PO-7006", po_line=line, operator="B1002")
    ledger.receive("TANK-40", 12, "RECV", po="PO-7007", operator="B1002")
    clock.at(2, 9)
    _put_away(ledger, "RACK-A2", [("BOLT-M10X40", None, 200), ("HOSE-12", None, 20)])
    _put_away(ledger, "RACK-A1", [("TANK-40", None, 12)])
    _put_away(ledger, "LINE-1", [("SCR-M6X20", None, 500)])  # backflushed from the line

    clock.at(3, 8)
    _receive_motors(ledger, "VM55-24101", "VM55-24108")


def _pump_job(ledger: Ledger, clock: ShiftClock) -> None:
    """J-1001 assembles 20 pumps into lot GP10-0415, assigned before it started. The first
    pallet of castings runs out, so the job uses two lots of them."""
    clock.at(4, 7)
    for part, lot, qty in (
        ("CAST-GP10", "CH-0101", 16),
        ("CAST-GP10", "CH-0102", 4),
        ("GEAR-GP10", "GS-0201", 20),
        ("SEAL-GP10", "SK-0301", 20),  # first to expire, first out
    ):
        ledger.issue_to_job("J-1001", part, qty, lot=lot, operator="B1002")
    for day, hour, done in ((5, 14, 12), (6, 11, 8)):
        clock.at(day, hour)
        # Each completion backflushes the pumps' cap screws from the line, four to a pump.
        complete(ledger, "J-1001", Decimal(done), "LINE-1", operator="B1002")
    ledger.move("GP-10", 20, "RACK-B1", lot="GP10-0415", operator="B1003")
    close_job(ledger.session, "J-1001", operator="B1010", clock=clock)

    clock.at(7, 9)
    ledger.ship("SO-5002", "GP-10", 8, line=1, lot="GP10-0415", operator="B1003")


def _power_unit_job(ledger: Ledger, clock: ShiftClock, today: date) -> None:
    """J-1002 builds six power units from pumps of GP10-0415, motors and two drums of oil;
    an expired drum scanned by mistake is put back by a reversal."""
    clock.at(8, 7, 30)
    drums = number_range("OL-0403", "OL-0404", expected=2)
    _receive_lots(ledger, "OIL-HM46", "PO-7004", [
        (drums[0], 208, "NL-24101", today + timedelta(days=400)),
        (drums[1], 208, "NL-24102", today + timedelta(days=420)),
    ])  # fmt: skip
    _put_away(ledger, "RACK-A2", [("OIL-HM46", drum, 208) for drum in drums])

    clock.at(9, 7)
    ledger.issue_to_job("J-1002", "GP-10", 6, lot="GP10-0415", operator="B1002")
    for serial in number_range("VM55-24101", "VM55-24106"):
        ledger.issue_to_job("J-1002", "MOT-5K5", 1, serial=serial, operator="B1002")
    ledger.issue_to_job("J-1002", "TANK-40", 6, operator="B1002")
    ledger.issue_to_job("J-1002", "BOLT-M10X40", 48, operator="B1002")
    clock.at(9, 10)
    mistake = ledger.issue_to_job("J-1002", "OIL-HM46", 40, lot="OL-0401", operator="B1002")
    ledger.reverse(mistake.id, operator="B1010",
                   reason="Expired drum OL-0401 scanned by mistake; drum not opened")  # fmt: skip
    ledger.issue_to_job("J-1002", "OIL-HM46", 208, lot="OL-0402", operator="B1002")
    ledger.issue_to_job("J-1002", "OIL-HM46", 32, lot="OL-0403", operator="B1002")

    clock.at(11, 15)
    units = number_range("HPU5-0001", "HPU5-0006", expected=6)
    complete(ledger, "J-1002", Decimal(6), "RACK-B1", serials=units, operator="B1002")
    close_job(ledger.session, "J-1002", operator="B1010", clock=clock)

    clock.at(12, 8)
    for serial in ("HPU5-0001", "HPU5-0002"):
        ledger.move("HPU-5", 1, "SHIP", serial=serial, operator="B1003")
        ledger.ship("SO-5001", "HPU-5", 1, line=1, serial=serial, operator="B1003")
    # The marine customer asks for lot control on hoses, which are not lot-tracked here:
    # the shipment gets a lot of its own, generated from the part's numbering pattern.
    hose = ledger.session.get(Part, "HOSE-12")
    if hose is None:
        raise NotFound("Unknown part HOSE-12")
    (hose_lot,) = mint_numbers(ledger.session, hose, 1, clock.now.date())
    ledger.ship("SO-5001", "HOSE-12", 4, line=2, lot=hose_lot, operator="B1003")


def _last_week(ledger: Ledger, clock: ShiftClock) -> None:
    """A cycle count, more shipments, a power unit sent back, the rest of the motors, and the
    next pump job started but not finished: its seal kits are staged at the line, not yet
    issued."""
    clock.at(13, 7, 15)
    ledger.adjust("BOLT-M10X40", -4, "RACK-A2", operator="B1010",
                  reason="Cycle count: 148 on the shelf, 152 on record")  # fmt: skip
    clock.at(14, 9)
    for serial in ("HPU5-0003", "HPU5-0004"):
        ledger.ship("SO-5002", "HPU-5", 1, line=2, serial=serial, operator="B1003")
    clock.at(15, 8)
    _receive_motors(ledger, "VM55-24109", "VM55-24110")
    clock.at(16, 7)
    ledger.issue_to_job("J-1003", "CAST-GP10", 20, lot="CH-0102", operator="B1001")
    ledger.issue_to_job("J-1003", "GEAR-GP10", 20, lot="GS-0201", operator="B1001")
    clock.at(17, 10)
    ledger.ship("SO-5003", "HPU-5", 1, line=1, serial="HPU5-0005", operator="B1003")
    ledger.ship("SO-5003", "GP-10", 2, line=2, lot="GP10-0415", operator="B1003")
    clock.at(18, 11)
    # Riverside sends a power unit back with a weeping fitting: it waits in quarantine.
    ledger.return_from_customer("HPU-5", 1, "QUAR", serial="HPU5-0005", operator="B1003")
    clock.at(18, 14)
    ledger.move("SEAL-GP10", 10, "LINE-1", lot="SK-0301", operator="B1001")


# ---- the summary ------------------------------------------------------------------------


def _count(session: Session, model: type[Base], *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _summary(session: Session, url: str, today: date) -> str:
    tracking: dict[str, int] = {
        mode: count
        for mode, count in session.execute(
            select(Part.tracking, func.count()).group_by(Part.tracking)
        ).tuples()
    }
    in_stock = (
        select(Balance.lot)
        .where(Balance.part == Lot.part, Balance.lot == Lot.number, Balance.qty > 0)
        .exists()
    )
    soon = today + timedelta(days=30)
    first, last = session.execute(
        select(func.min(Movement.happened_at), func.max(Movement.happened_at))
    ).one()
    supervisors = _count(session, Operator, Operator.role == Role.SUPERVISOR)
    quality = _count(session, Operator, Operator.role == Role.QUALITY)
    db = shlex.quote(url)
    lines = [
        "Demo built: Harbor Hydraulics, a small plant assembling gear pumps (lots) and",
        "hydraulic power units (serials) from bought-in castings, seals, oil and motors.",
        "",
        f"  parts            {_count(session, Part)}: {tracking.get(Tracking.LOT, 0)} lot-tracked,"
        f" {tracking.get(Tracking.SERIAL, 0)} serial-tracked,"
        f" {tracking.get(Tracking.NONE, 0)} untracked"
        f" ({_count(session, Part, Part.backflush.is_(True))} backflushed)",
        f"  locations        {_count(session, Location)}",
        f"  operators        {_count(session, Operator)}:"
        f" {_count(session, Operator) - supervisors - quality} floor, {supervisors} supervisor,"
        f" {quality} quality",
        f"  open jobs        {_count(session, Job, Job.status == JobStatus.OPEN)}"
        f" of {_count(session, Job)}",
        f"  purchase orders  {_count(session, PurchaseOrder)}",
        f"  sales orders     {_count(session, SalesOrder)}",
        f"  lots             {_count(session, Lot)}:"
        f" {_count(session, Lot, Lot.status == LotStatus.HOLD)} on hold;"
        f" in stock, {_count(session, Lot, in_stock, Lot.expiry < today)} expired and"
        f" {_count(session, Lot, in_stock, Lot.expiry >= today, Lot.expiry <= soon)}"
        " expiring within 30 days",
        f"  serials          {_count(session, Serial)}",
        f"  movements        {_count(session, Movement)}, {first:%Y-%m-%d} to {last:%Y-%m-%d}",
        "",
        "Things to try:",
        f"  lotscan stock --db {db}",
        f"  lotscan trace --db {db} --part {FINISHED_LOT[0]} --lot {FINISHED_LOT[1]}",
        "      a finished-goods lot: back to its supplier lots, on to power units and customers",
        f"  lotscan trace --db {db} --part {RAW_LOT[0]} --lot {RAW_LOT[1]}",
        "      a raw-material lot: forward through pumps and power units to every shipment",
        f"  lotscan trace --db {db} --part {FINISHED_SERIAL[0]} --serial {FINISHED_SERIAL[1]}",
        "      a power unit: what its job used (motors, pumps, oil), down to the castings",
        f"  lotscan stock --db {db} --location QUAR",
        "      the pallet of castings on hold",
        f"  lotscan lot show --db {db} --part {HELD_LOT[0]} --lot {HELD_LOT[1]}",
        "      who held it, when and why; release it with lotscan lot release ... --by B1020",
        f"  lotscan recall --db {db} --part GEAR-GP10 --lot GS-0201",
        "      a supplier recalls gears: finished stock on racks, the open job, three customers",
        f"  lotscan export epcis --db {db}"
        f" -o {shlex.quote(str(labels_folder(url).parent / 'epcis.json'))}",
        "      every movement as GS1 EPCIS 2.0 events, for a customer or a regulator",
        f"  lotscan export fsma204 --db {db} --from {first:%Y-%m-%d} --to {last:%Y-%m-%d}"
        f" -o {shlex.quote(str(labels_folder(url).parent / 'fsma204.xlsx'))}",
        "      the FDA FSMA 204 sortable spreadsheet (one customer's phone is missing)",
        "The parts, locations, operators, orders and jobs were imported, as files like these",
        f"would be with `lotscan import KIND FILE.csv`, from {DEMO_DATA}",
        "",
        _where(url, read_setting(session, DEVICE_ID) or DEMO_DEVICE),
    ]
    return "\n".join(lines)


def _where(url: str, device: str) -> str:
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database and database != ":memory:":
        path = Path(database).resolve()
        return f"Workspace: {path.parent} (database {path.name}, device {device})"
    shown = make_url(url).render_as_string(hide_password=True)
    return f"Database: {shown} (device {device})"
