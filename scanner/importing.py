"""`lotscan import KIND FILE.csv`: reference data from the ERP (docs/architecture.md,
"Import files").

Re-importing is how the ERP keeps a device up to date: a row whose key is known updates that
record, a new key adds one, nothing is deleted. A column left out of the file keeps what is
stored; a column given but left empty goes back to its default.

A job's or order line's `status` is a decision with a history (`scanner.closing`): a file
that closes an open one records the close, as `lotscan jobs close` would, and no file
reopens a closed one, which only a supervisor does; the import says which stayed closed.

Every row is checked before anything is written: its cells (`scanner.csv_reading`), then the
file as a whole (repeated keys) and the database (references, rules that depend on history),
with a few bulk queries rather than one per row. The writing happens inside a savepoint, so a
bad file leaves the caller's session exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import QueryableAttribute, Session

from scanner.clock import utc_now
from scanner.closing import CLOSED, Subject, decide, last_decision
from scanner.csv_reading import (
    BadValue,
    Columns,
    Record,
    Row,
    choice,
    gtin,
    limited,
    lot_number,
    numbering_pattern,
    phone_number,
    quantity,
    read_rows,
    unique,
    whole_number,
    yes_no,
)
from scanner.errors import ImportRowError, LotscanError, RuleViolation
from scanner.import_kinds import KINDS as KINDS
from scanner.ledger import Ledger
from scanner.models import (
    QUARANTINE,
    Base,
    Job,
    JobComponent,
    JobStatus,
    LineStatus,
    Location,
    Lot,
    Movement,
    Operator,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    SalesOrder,
    SalesOrderLine,
    StatusChange,
    Tracking,
)
from scanner.operators import checked_badge, refuse_badge_twin
from scanner.plain_text import CSET82, quoted
from scanner.settings import (
    SITE_ADDRESS,
    SITE_GLN,
    SITE_NAME,
    SITE_PHONE,
    SITE_URI,
    Gln,
    Kind,
    SettingKey,
    forget_setting,
    is_enrolled,
    write_setting,
)
from scanner.units import un_ece_code

CODE = limited(40)
TEXT = limited(200)
# Keys per IN (...) list: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 2000

E = TypeVar("E", bound=Base)


@dataclass
class Imported:
    """What an import did besides its rows: the closes it recorded (for the handhelds, on
    the central store) and what the person importing should know."""

    path: Path
    clock: Callable[[], datetime] = utc_now
    rows: int = 0
    decisions: list[StatusChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Loader = Callable[[Session, list[Row], Imported], None]


def import_file(session: Session, kind: str, path: Path) -> int:
    """Imports a reference-data CSV file of `kind`; returns the number of rows imported
    (`import_reference` says what else it did)."""
    return import_reference(session, kind, path).rows


def import_reference(
    session: Session, kind: str, path: Path, clock: Callable[[], datetime] = utc_now
) -> Imported:
    """Imports a reference-data CSV file of `kind`.

    Raises `ImportRowError` (file, row, column) for the first bad row; nothing from the file
    is then left in the session, which the caller may go on using.
    """
    if kind not in _KINDS:
        raise RuleViolation(f"Cannot import {kind}: the kinds are {', '.join(KINDS)}")
    columns, load = _KINDS[kind]
    rows = read_rows(path, columns, kind)
    imported = Imported(path, clock, rows=len(rows))
    with session.begin_nested():
        load(session, rows, imported)
        session.flush()
    return imported


def _settle_statuses(
    session: Session,
    records: Iterable[Record],
    existing: Mapping[tuple[Any, ...], Job | PurchaseOrderLine | SalesOrderLine],
    imported: Imported,
    named: Callable[[Record], tuple[str, str]],
) -> list[tuple[Subject, str]]:
    """Takes the `status` out of the rows of stored jobs or order lines whose status it would
    change (see the module): a close is returned, to be recorded once the rows are written
    (`_record_closes`); a reopen is left undone and noted. `named` gives a record's words
    ("job J-1") and the command that reopens it."""
    closing: list[tuple[Subject, str]] = []
    for record in records:
        stored = existing.get(record.key)
        wanted = record.values.get("status")
        if stored is None or wanted is None or wanted == stored.status:
            continue
        del record.values["status"]
        what, reopen = named(record)
        if wanted == CLOSED:
            closing.append((stored, what))
            continue
        decided = last_decision(session, stored)
        how = f" ({decided.words()})" if decided is not None and decided.status == CLOSED else ""
        imported.notes.append(
            f"{what} stays closed{how}: an import does not reopen it; a supervisor does, with"
            f" {reopen} --by BADGE"
        )
    return closing


def _record_closes(
    session: Session, closing: list[tuple[Subject, str]], imported: Imported
) -> None:
    """Closes what the file closes, each as a decision with its history, and says so."""
    reason = f"imported from {imported.path.name}"
    for subject, what in closing:
        imported.decisions.append(decide(session, subject, CLOSED, None, reason, imported.clock))
        imported.notes.append(f"{what} closed, as the file says")


# ---- parts ----------------------------------------------------------------------------


PARTS = Columns(
    ("part", "description", "tracking"),
    ("gtin", "backflush", "shelf_life_days", "uom", "lot_pattern"),
)
_CONTROLLED = {Tracking.LOT: "lot-controlled", Tracking.SERIAL: "serial-controlled"}


def _load_parts(session: Session, rows: list[Row], _imported: Imported) -> None:
    records = [_read_part(row) for row in rows]
    unique(records, "part", lambda key: f"{key[0]}")
    unique(
        [Record(r.row, (r.values["gtin"],), {}) for r in records if r.values.get("gtin")],
        "gtin",
        lambda key: f"GTIN {key[0]}",
    )
    existing = {(part.number,): part for part in _fetch(session, Part, Part.number, _keys(records))}
    for record in records:
        _check_backflush(record, existing.get(record.key))
        _check_scannable(record, existing.get(record.key))
    _check_moved_parts_keep(session, records, existing)
    _check_gtins_free(session, records)
    # Free the GTINs that move first, so two parts can swap theirs in one file.
    for record in records:
        part = existing.get(record.key)
        if part is not None and "gtin" in record.values and part.gtin != record.values["gtin"]:
            part.gtin = None
    session.flush()
    _upsert(session, Part, existing, records)


def _read_part(row: Row) -> Record:
    number = row.required("part", CODE)
    values: dict[str, Any] = {
        "number": number,
        "description": row.required("description", TEXT),
        "tracking": row.required("tracking", choice(Tracking)),
    }
    row.given(values, "gtin", gtin, None)
    row.given(values, "backflush", yes_no, False)
    row.given(values, "shelf_life_days", whole_number(1, 36500), None)
    row.given(values, "uom", _unit, "ea")
    row.given(values, "lot_pattern", numbering_pattern(number), None)
    return Record(row, (number,), values)


def _unit(value: str) -> str:
    """A part's unit of measure: one an EPCIS export can name (`scanner.units`)."""
    unit = limited(10)(value)
    try:
        un_ece_code(unit)
    except ValueError as problem:
        raise BadValue(f"the {problem}") from None
    return unit


PART_NUMBER_LENGTH = 30
"""The longest part number a GS1 label carries, in (240)."""


def _check_scannable(record: Record, part: Part | None) -> None:
    """A part without a GTIN is known on a label by its number, in (240): a number a GS1
    barcode cannot carry could never be scanned, nor its label printed."""
    values = record.values
    has_gtin = values.get("gtin", part is not None and part.gtin)
    number = values["number"]
    if has_gtin:
        return
    bad = sorted({c for c in number if c not in CSET82})
    if bad:
        why = "it holds " + " ".join("a space" if c == " " else quoted(c) for c in bad)
    elif len(number) > PART_NUMBER_LENGTH:
        why = f"it is {len(number)} characters; at most {PART_NUMBER_LENGTH} fit"
    else:
        return
    raise record.row.error(
        "part",
        f"{quoted(number)} cannot go in a GS1 barcode ({why}), and the part has no GTIN to be"
        f" scanned by: give it a GTIN, or a part number of at most {PART_NUMBER_LENGTH}"
        " letters, digits and - . / _ and the like",
    )


def _check_backflush(record: Record, part: Part | None) -> None:
    """A backflush part cannot be lot- or serial-controlled."""
    values = record.values
    backflush = values.get("backflush", part.backflush if part else False)
    tracking = Tracking(values["tracking"])
    if backflush and tracking != Tracking.NONE:
        raise record.row.error(
            "backflush" if "backflush" in values else "tracking",
            f"{values['number']} is a backflush part, and a backflush part cannot be"
            f" {_CONTROLLED[tracking]} (tracking is {tracking})",
        )


def _check_moved_parts_keep(
    session: Session, records: list[Record], existing: Mapping[tuple[Any, ...], Part]
) -> None:
    """Once a part has moved, its tracking mode, its unit and its GTIN stay: its stock and
    history are counted in the unit and depend on the tracking, and its labels on the floor
    (and the events already exported) name it by the GTIN."""
    changing: dict[str, tuple[Record, str]] = {}  # each part's first field that changes
    for record in records:
        part = existing.get(record.key)
        if part is None:
            continue
        for name, now in (("tracking", part.tracking), ("uom", part.uom), ("gtin", part.gtin)):
            given = name in record.values and record.values[name] != now
            # A part with no GTIN yet may be given one.
            if given and (name != "gtin" or now is not None):
                changing.setdefault(record.key[0], (record, name))
    moved = _present(session, Movement.part, changing)
    for number, (record, name) in changing.items():
        if number not in moved:
            continue
        was, to = getattr(existing[record.key], name), record.values[name]
        if name == "tracking":
            why = (
                f"its tracking cannot change from {was} to {to}: its stock and history would"
                " no longer make sense"
            )
        elif name == "uom":
            why = (
                f"its unit cannot change from {was} to {to}: every quantity recorded in {was}"
                f" would read as {to}"
            )
        else:
            why = (
                f"its GTIN {was} stays{' (the file leaves it empty)' if to is None else ''}:"
                " its labels on the floor carry it, and its events are exported under it"
            )
        raise record.row.error(name, f"{number} has movements, so {why}")


def _check_gtins_free(session: Session, records: list[Record]) -> None:
    """A GTIN the file gives a part must not stay with another part."""
    claims = {r.values["gtin"]: r for r in records if r.values.get("gtin")}
    by_number = {r.key[0]: r for r in records}
    conflicts: list[tuple[Record, str]] = []
    for chunk in _chunks(claims):
        query = select(Part.number, Part.gtin).where(Part.gtin.in_(chunk))
        for owner, taken in session.execute(query):
            claimant = claims[taken]
            releasing = owner in by_number and "gtin" in by_number[owner].values
            if owner != claimant.key[0] and not releasing:
                conflicts.append((claimant, owner))
    if conflicts:
        claimant, owner = min(conflicts, key=lambda conflict: conflict[0].row.number)
        raise claimant.row.error(
            "gtin", f"GTIN {claimant.values['gtin']} already belongs to part {owner}"
        )


# ---- locations and operators ----------------------------------------------------------


LOCATIONS = Columns(("code", "name"), ("kind",))
OPERATORS = Columns(("badge", "name"), ("role",))


def _location_code(value: str) -> str:
    """A location code its label can print as a barcode (`LOC:` and the code, in Code 128):
    letters, digits, spaces and ASCII punctuation."""
    code = CODE(value)
    if not all(" " <= c <= "~" for c in code):
        bad = sorted({c for c in code if not " " <= c <= "~"})
        raise BadValue(
            f"{quoted(code)} cannot be printed as a barcode on its label (it holds"
            f" {' '.join(quoted(c) for c in bad)}): use letters, digits and ASCII punctuation"
        )
    return code


LOCATION_KINDS = ("storage", "receiving", "production", "shipping", QUARANTINE)
"""The kinds of location lotscan knows; it acts on three (`scanner.locations`): where
receipts arrive, where jobs are made, where held stock may go."""


def _load_locations(session: Session, rows: list[Row], imported: Imported) -> None:
    records = []
    for row in rows:
        code = row.required("code", _location_code)
        values: dict[str, Any] = {"code": code, "name": row.required("name", TEXT)}
        row.given(values, "kind", limited(20), "storage")
        kind = values.get("kind")
        if kind is not None and kind.lower() in LOCATION_KINDS:
            values["kind"] = kind.lower()  # "Quarantine" is quarantine
        elif kind is not None:
            imported.notes.append(
                f"Row {row.number}: location {code} has kind {quoted(kind)}, which lotscan"
                f" gives no meaning (it knows {', '.join(LOCATION_KINDS)}): held stock, for"
                " one, moves only into a location of kind quarantine"
            )
        records.append(Record(row, (code,), values))
    unique(records, "code", lambda key: f"{key[0]}")
    found = _fetch(session, Location, Location.code, _keys(records))
    _upsert(session, Location, {(each.code,): each for each in found}, records)


def _badge(value: str) -> str:
    """A badge as `lotscan operators add` takes one (`scanner.operators.checked_badge`):
    ASCII letters, digits and signs, no spaces. A full-width B1001 beside the ASCII one was
    imported where the command refused it, and no scanner sends it."""
    try:
        return checked_badge(value)
    except RuleViolation as problem:
        raise BadValue(str(problem)) from None


def _load_operators(session: Session, rows: list[Row], _imported: Imported) -> None:
    records = []
    for row in rows:
        badge = row.required("badge", _badge)
        values: dict[str, Any] = {"badge": badge, "name": row.required("name", TEXT)}
        row.given(values, "role", choice(Role), Role.FLOOR.value)
        records.append(Record(row, (badge,), values))
    unique(records, "badge", lambda key: f"badge {key[0]}")
    folded: dict[str, Record] = {}
    for record in records:
        seen = folded.setdefault(record.key[0].lower(), record)
        if seen is not record:
            raise record.row.error(
                "badge",
                f"Badge {record.key[0]} differs from {seen.key[0]} on row {seen.row.number}"
                " only in case: give a badge of its own",
            )
    found = _fetch(session, Operator, Operator.badge, _keys(records))
    known = {each.badge for each in found}
    for record in records:
        if record.key[0] not in known:
            try:
                refuse_badge_twin(session, record.key[0])
            except RuleViolation as twin:
                raise record.row.error("badge", str(twin)) from None
    _upsert(session, Operator, {(each.badge,): each for each in found}, records)


# ---- jobs and their components --------------------------------------------------------


JOBS = Columns(("job", "part", "qty"), ("output_lot", "location", "status"))
JOB_COMPONENTS = Columns(("job", "part", "qty"))


def _load_jobs(session: Session, rows: list[Row], imported: Imported) -> None:
    records: list[Record] = []
    lots: dict[int, str] = {}
    for row in rows:
        number = row.required("job", CODE)
        values = {
            "number": number,
            "part": row.required("part", CODE),
            "qty": row.required("qty", quantity),
        }
        row.given(values, "location", CODE, None)
        row.given(values, "status", choice(JobStatus), JobStatus.OPEN.value)
        lot = row.optional("output_lot", lot_number)
        if lot is not None:
            lots[row.number] = lot
        records.append(Record(row, (number,), values))
    unique(records, "job", lambda key: f"job {key[0]}")
    parts = _require_parts(session, records)
    _require_locations(session, records)
    for record in records:
        part = parts[record.values["part"]]
        if record.row.number in lots and part.tracking != Tracking.LOT:
            raise record.row.error(
                "output_lot",
                f"{part.number} is not lot-tracked (tracking is {part.tracking}), so job"
                f" {record.key[0]} makes no lot to pre-assign",
            )
    existing = {(job.number,): job for job in _fetch(session, Job, Job.number, _keys(records))}
    _check_job_parts(session, records, existing)
    closing = _settle_statuses(
        session,
        records,
        existing,
        imported,
        lambda record: (f"job {record.key[0]}", f"lotscan jobs reopen {record.key[0]}"),
    )
    # Held until the lots are assigned: the session keeps flushed objects only weakly, and
    # the ledger then finds each job without a query.
    jobs = _upsert(session, Job, existing, records)
    session.flush()
    _record_closes(session, closing, imported)
    assignments = [(r, lots[r.row.number]) for r in records if r.row.number in lots]
    if assignments:
        _assign_lots(session, assignments)
    del jobs


def _check_job_parts(
    session: Session, records: list[Record], existing: Mapping[tuple[Any, ...], Job]
) -> None:
    """A job that has lots or movements keeps the part it makes."""
    changing = {
        record.key[0]: record
        for record in records
        if record.key in existing and existing[record.key].part != record.values["part"]
    }
    started = _present(session, Movement.job, changing) | _present(
        session, Lot.assigned_job, changing
    )
    for number, record in changing.items():
        if number in started:
            raise record.row.error(
                "part",
                f"job {number} has already started (it has lots or movements), so its part"
                f" cannot change from {existing[record.key].part} to {record.values['part']}",
            )


def _assign_lots(session: Session, assignments: list[tuple[Record, str]]) -> None:
    """Pre-assigns each job's output lot through the ledger, where the rules live."""
    known = _fetch(session, Lot, Lot.number, {lot for _, lot in assignments})
    assigned = {(lot.part, lot.number): lot.assigned_job for lot in known}
    ledger = Ledger(session)
    for record, lot in assignments:
        job = record.key[0]
        if assigned.get((record.values["part"], lot)) == job:
            continue  # a re-import: already done, even if the job has closed since
        try:
            ledger.assign_lot(job, lot)
        except LotscanError as problem:
            raise record.row.error("output_lot", str(problem)) from None


def _load_job_components(session: Session, rows: list[Row], _imported: Imported) -> None:
    records = []
    for row in rows:
        job, part = row.required("job", CODE), row.required("part", CODE)
        values = {"job": job, "part": part, "qty": row.required("qty", quantity)}
        records.append(Record(row, (job, part), values))
    unique(records, "part", lambda key: f"{key[1]} for job {key[0]}")
    jobs = _present(session, Job.number, {record.key[0] for record in records})
    for record in records:
        if record.key[0] not in jobs:
            raise record.row.error(
                "job", f"there is no job {record.key[0]}: import it in a jobs file first"
            )
    _require_parts(session, records)
    found = _fetch(session, JobComponent, JobComponent.job, {r.key[0] for r in records})
    _upsert(session, JobComponent, {(each.job, each.part): each for each in found}, records)


# ---- purchase and sales orders --------------------------------------------------------


PURCHASE_ORDERS = Columns(
    ("po", "supplier", "line", "part", "qty"),
    ("status", "supplier_address", "supplier_phone", "supplier_gln"),
)
SALES_ORDERS = Columns(
    ("so", "customer", "line", "part", "qty"),
    ("lot_control", "status", "customer_address", "customer_phone", "customer_gln"),
)


@dataclass(frozen=True)
class _Orders:
    """What purchase and sales orders have in common: orders from one party, with lines."""

    key: str
    party: str
    title: str
    order: type[PurchaseOrder] | type[SalesOrder]
    line: type[PurchaseOrderLine] | type[SalesOrderLine]
    moved: str
    """What moved on such an order, and how it is its party's: "what was received came from"."""

    @property
    def described_by(self) -> tuple[tuple[str, Callable[[str], str]], ...]:
        """The optional columns that describe the party (an export's location description),
        and how each cell reads."""
        return (
            (f"{self.party}_address", TEXT),
            (f"{self.party}_phone", phone_number),
            (f"{self.party}_gln", setting_kind(Gln())),
        )

    @property
    def moved_on(self) -> tuple[QueryableAttribute[Any], QueryableAttribute[Any]]:
        """The movement columns that name an order line of this kind."""
        return getattr(Movement, self.key), getattr(Movement, f"{self.key}_line")


PURCHASES = _Orders(
    "po",
    "supplier",
    "purchase order",
    PurchaseOrder,
    PurchaseOrderLine,
    "what was received on it came from",
)
SALES = _Orders(
    "so", "customer", "sales order", SalesOrder, SalesOrderLine, "what was shipped on it went to"
)


def _load_orders(orders: _Orders) -> Loader:
    def load(session: Session, rows: list[Row], imported: Imported) -> None:
        heads: dict[str, Record] = {}
        lines: list[Record] = []
        for row in rows:
            number = row.required(orders.key, CODE)
            party = row.required(orders.party, TEXT)
            line = row.required("line", whole_number(1, 999999))
            values = {
                orders.key: number,
                "line": line,
                "part": row.required("part", CODE),
                "qty": row.required("qty", quantity),
            }
            row.given(values, "lot_control", yes_no, False)
            row.given(values, "status", choice(LineStatus), LineStatus.OPEN.value)
            head: dict[str, Any] = {"number": number, orders.party: party}
            for column, read in orders.described_by:
                row.given(head, column, read, None)
            first = heads.setdefault(number, Record(row, (number,), head))
            _check_same_order(orders, first, row, head)
            lines.append(Record(row, (number, line), values))
        unique(lines, "line", lambda key: f"line {key[1]} of {orders.title} {key[0]}")
        _require_parts(session, lines)
        order_key = getattr(orders.line, orders.key)
        found = _fetch(session, orders.line, order_key, heads)
        existing = {(getattr(each, orders.key), each.line): each for each in found}
        _check_line_parts(session, orders, lines, existing)
        known = {
            (each.number,): each
            for each in _fetch(session, orders.order, orders.order.number, heads)
        }
        _check_parties(session, orders, heads, known)
        closing = _settle_statuses(
            session,
            lines,
            existing,
            imported,
            lambda record: (
                f"line {record.key[1]} of {orders.title} {record.key[0]}",
                f"lotscan orders reopen --{orders.key} {record.key[0]} --line {record.key[1]}",
            ),
        )
        _upsert(session, orders.order, known, heads.values())
        session.flush()
        _upsert(session, orders.line, existing, lines)
        session.flush()
        _record_closes(session, closing, imported)

    return load


def _check_same_order(orders: _Orders, first: Record, row: Row, head: dict[str, Any]) -> None:
    """Every row of one order names the same party, described the same way."""
    number = head["number"]
    if first.values[orders.party] != head[orders.party]:
        raise row.error(
            orders.party,
            f"{orders.title} {number} is for {orders.party} {first.values[orders.party]}"
            f" on row {first.row.number}, so it cannot be for {head[orders.party]} here",
        )
    for column, _ in orders.described_by:
        if column in head and first.values.get(column) != head[column]:
            said = first.values.get(column)
            raise row.error(
                column,
                f"{orders.title} {number} has {column} {_said(said)} on row"
                f" {first.row.number}, so it cannot have {_said(head[column])} here",
            )


def _check_parties(
    session: Session, orders: _Orders, heads: Mapping[str, Record], known: Mapping[Any, Any]
) -> None:
    """An order goods have moved on keeps its supplier (or customer): the trace, the recall
    and the exports name it as the party of what moved. Its address, phone and GLN may be
    corrected."""
    changing = {
        number: record
        for number, record in heads.items()
        if (number,) in known
        and getattr(known[(number,)], orders.party) != record.values[orders.party]
    }
    moved = _present(session, orders.moved_on[0], changing)
    for number, record in changing.items():
        if number in moved:
            stored = getattr(known[(number,)], orders.party)
            raise record.row.error(
                orders.party,
                f"{orders.title} {number} has movements, so its {orders.party} cannot change"
                f" from {quoted(stored)} to {quoted(record.values[orders.party])}: {orders.moved}"
                f" {quoted(stored)}",
            )


def _said(value: str | None) -> str:
    return "none" if value is None else quoted(value)


def _check_line_parts(
    session: Session, orders: _Orders, lines: list[Record], existing: Mapping[Any, Any]
) -> None:
    """An order line that goods have moved on keeps its part."""
    changing = [
        record
        for record in lines
        if record.key in existing and existing[record.key].part != record.values["part"]
    ]
    if not changing:
        return
    moved: set[tuple[Any, ...]] = set()
    order, line = orders.moved_on
    for chunk in _chunks({record.key[0] for record in changing}):
        query = select(order, line).where(order.in_(chunk))
        moved.update(tuple(pair) for pair in session.execute(query))
    for record in changing:
        if record.key in moved:
            raise record.row.error(
                "part",
                f"line {record.key[1]} of {orders.title} {record.key[0]} has movements, so its"
                f" part cannot change from {existing[record.key].part} to"
                f" {record.values['part']}",
            )


# ---- this site ------------------------------------------------------------------------


SITE = Columns(("name", "address", "phone"), ("gln", "uri"))
_SITE_SETTINGS: dict[str, SettingKey[Any]] = {
    "name": SITE_NAME,
    "address": SITE_ADDRESS,
    "phone": SITE_PHONE,
    "gln": SITE_GLN,
    "uri": SITE_URI,
}


def _load_site(session: Session, rows: list[Row], imported: Imported) -> None:
    """This site's description (the `site.*` settings, as the exports say it): one row.
    An enrolled handheld takes the site's settings from the central store, so it imports
    none (as `lotscan settings set` refuses them there)."""
    if is_enrolled(session):
        raise RuleViolation(
            f"This handheld is enrolled: it takes the site's description from the central"
            f" store on its next sync. Import {imported.path.name} there (lotscan import site"
            f" {imported.path.name} --db CENTRAL-DATABASE)"
        )
    if not rows:
        raise ImportRowError(
            imported.path.name,
            2,
            None,
            "a site file has one row, describing this site; this one has only its header",
        )
    if len(rows) > 1:
        raise rows[1].error(
            None, f"a site file has one row, describing this site (it is on row {rows[0].number})"
        )
    values: dict[str, Any] = {}
    for row in rows:
        for column, setting in _SITE_SETTINGS.items():
            read = _site_cell(setting)
            if column in SITE.required:
                values[column] = row.required(column, read)
            else:
                row.given(values, column, read, None)
    for column, value in values.items():
        setting = _SITE_SETTINGS[column]
        if value is None:
            forget_setting(session, setting)
        else:
            write_setting(session, setting, value)


def _site_cell(setting: SettingKey[Any]) -> Callable[[str], Any]:
    return setting_kind(setting.kind)


def setting_kind(kind: Kind[Any]) -> Callable[[str], Any]:
    """A cell reader from a setting's kind: its refusal becomes the cell's."""

    def read(value: str) -> Any:
        try:
            return kind.parse(value)
        except ValueError as problem:
            raise BadValue(str(problem)) from None

    return read


# ---- shared steps ---------------------------------------------------------------------


def _require_parts(session: Session, records: list[Record]) -> dict[str, Part]:
    """The parts the records name; a part that does not exist is an error on its row."""
    wanted = {record.values["part"] for record in records}
    parts = {part.number: part for part in _fetch(session, Part, Part.number, wanted)}
    for record in records:
        number = record.values["part"]
        if number not in parts:
            raise record.row.error(
                "part", f"there is no part {number}: import it in a parts file first"
            )
    return parts


def _require_locations(session: Session, records: list[Record]) -> None:
    """The locations the records name (in a `location` column) must exist."""
    wanted = {r.values["location"] for r in records if r.values.get("location")}
    known = _present(session, Location.code, wanted)
    for record in records:
        code = record.values.get("location")
        if code and code not in known:
            raise record.row.error(
                "location", f"there is no location {code}: import it in a locations file first"
            )


def _keys(records: Iterable[Record]) -> set[Any]:
    return {record.key[0] for record in records}


def _chunks(keys: Collection[Any]) -> Iterator[list[Any]]:
    ordered = list(keys)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _fetch(
    session: Session, entity: type[E], column: QueryableAttribute[Any], keys: Collection[Any]
) -> list[E]:
    """Every stored `entity` whose `column` is one of `keys`, in a query per few thousand."""
    found: list[E] = []
    for chunk in _chunks(keys):
        found.extend(session.scalars(select(entity).where(column.in_(chunk))))
    return found


def _present(session: Session, column: QueryableAttribute[Any], keys: Collection[Any]) -> set[Any]:
    """Which of `keys` occur in `column`."""
    found: set[Any] = set()
    for chunk in _chunks(keys):
        found.update(session.scalars(select(column).where(column.in_(chunk)).distinct()))
    return found


def _upsert(
    session: Session,
    entity: type[E],
    existing: Mapping[tuple[Any, ...], E],
    records: Iterable[Record],
) -> list[E]:
    """Updates the stored records, adds the new ones; returns them all."""
    targets: list[E] = []
    for record in records:
        target = existing.get(record.key)
        if target is None:
            target = entity(**record.values)
            session.add(target)
        else:
            for name, value in record.values.items():
                setattr(target, name, value)
        targets.append(target)
    return targets


_KINDS: dict[str, tuple[Columns, Loader]] = {
    "parts": (PARTS, _load_parts),
    "locations": (LOCATIONS, _load_locations),
    "operators": (OPERATORS, _load_operators),
    "jobs": (JOBS, _load_jobs),
    "job-components": (JOB_COMPONENTS, _load_job_components),
    "purchase-orders": (PURCHASE_ORDERS, _load_orders(PURCHASES)),
    "sales-orders": (SALES_ORDERS, _load_orders(SALES)),
    "site": (SITE, _load_site),
}
