"""`lotscan export epcis`: the ledger as a GS1 EPCIS 2.0 JSON-LD document (docs/architecture.md,
"EPCIS").

One event a movement, in ledger order (the time it happened, then its id): receipts,
shipments, moves, adjustments and returns are ObjectEvents; an issue to a job is a
TransformationEvent with inputs only, and a completion one whose outputs are what it made
and whose inputs are everything the job consumed (its `job_lots` rows: the trace's direct
parents), all of a job's events sharing its `transformationID`. A reversal is the copy of the
event it undoes with an `errorDeclaration`. Held, rejected and voided movements are left out:
they are records of scans the store did not count.

The document is written as it is read: the movements come from one query read a thousand
rows at a time (a server-side cursor on PostgreSQL), each becomes one line of the file, and
nothing grows with the ledger but the file. It goes to a temporary file beside the output,
renamed over it at the end, so a failed export leaves no half file.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Session

from scanner.clock import aware
from scanner.db import open_database, reading
from scanner.describing import describe
from scanner.errors import LotscanError, NotFound
from scanner.models import (
    NO_LOT,
    NOT_EFFECTIVE,
    JobLot,
    JobLotRole,
    Lot,
    Movement,
    MovementKind,
    Part,
    PurchaseOrder,
    SalesOrder,
)
from scanner.output_files import file_mode, output_target
from scanner.plain_text import CSET82, shown
from scanner.progress import Progress
from scanner.quantity import json_quantity
from scanner.settings import SITE_GLN, SITE_URI, read_setting
from scanner.spelling import known_lot
from scanner.units import un_ece_code
from scanner.workspace import database_url

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
DIGITAL_LINK = "https://id.gs1.org"
OFFSET = "+00:00"
"""Every time is written in UTC (`eventTimeZoneOffset`): the ledger keeps no site time zone."""
NO_EVENTS_DATE = "1970-01-01T00:00:00.000Z"
"""`creationDate` of a document without events (see `write_document`)."""
BATCH = 1000
"""Movements read from the database at a time."""
JOBS_KEPT = 2 * BATCH
"""Jobs whose inputs are kept for their next completions (completions of a job come close
together in the ledger; the rest are read again): more than one batch can name."""


def run_export_epcis(args: argparse.Namespace) -> int:
    if args.lot is not None and args.part is None:
        raise LotscanError("--lot needs --part: a lot number is one part's")
    if args.since is not None and args.until is not None and args.since > args.until:
        raise LotscanError(f"--since {args.since} is after --until {args.until}")
    output: Path = args.output
    check_output(output)
    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        selection = Selection.named(session, args.since, args.until, args.part, args.lot)
        naming = Naming.of_site(session)
        written = write_file(session, naming, selection, output, Progress("EPCIS events"))
    print(f"Wrote {written.events:,} EPCIS events to {shown(str(output))}")
    if written.left_out:
        print(
            f"Left out {written.left_out:,} movements held, rejected or voided by the store "
            "(not counted as stock)"
        )
    return 0


def check_output(output: Path) -> None:
    """Refuses an output the export could not write, before reading anything."""
    if str(output) == "-":
        raise LotscanError(
            "An export is written to a file, whole or not at all: name it (-o FILE.jsonld),"
            " not - (standard output)"
        )
    folder = output.parent
    if output.is_dir():
        raise LotscanError(f"{shown(str(output))} is a folder: name the file to write")
    if not folder.is_dir():
        raise LotscanError(
            f"Cannot write {shown(str(output))}: there is no folder {shown(str(folder))}"
        )


@dataclass(frozen=True)
class Selection:
    """Which movements the export takes: happened from `start` (inclusive) to `end`
    (exclusive), of one part, of one lot of it."""

    start: datetime | None = None
    end: datetime | None = None
    part: str | None = None
    lot: str | None = None

    @classmethod
    def named(
        cls,
        session: Session,
        since: date | None = None,
        until: date | None = None,
        part: str | None = None,
        lot: str | None = None,
    ) -> Selection:
        """The selection of the command's flags: days are UTC days, `until` included; the
        part must exist, and the lot (matched as `scanner.spelling` matches numbers)."""
        if part is not None and session.get(Part, part) is None:
            raise NotFound(f"Unknown part {part}")
        if part is not None and lot is not None:
            found = known_lot(session, part, lot)
            if found is None:
                raise NotFound(f"No {describe(part, lot)}")
            lot = found.number
        return cls(
            start=_midnight(since) if since is not None else None,
            end=_midnight(until + timedelta(days=1)) if until is not None else None,
            part=part,
            lot=lot,
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


@dataclass(frozen=True)
class Naming:
    """The URIs the document names things by (docs/architecture.md, "EPCIS"): GS1 Digital
    Link for what has a GS1 key (a part's GTIN, the site's GLN, a party's GLN), else URIs
    under the site's base URI (`site.uri`), each name percent-encoded."""

    base: str
    gln: str | None = None

    @classmethod
    def of_site(cls, session: Session) -> Naming:
        base = read_setting(session, SITE_URI)
        if base is None:
            raise LotscanError(
                "EPCIS names this site's items without a GTIN, its places, orders and jobs "
                "under a base URI of the site's own, and none is set: set one first with "
                "`lotscan settings set site.uri https://your-company.example/lotscan`"
            )
        return cls(base, read_setting(session, SITE_GLN))

    def item_class(self, part: str, gtin: str | None, lot: str | None) -> str:
        """A lot of a part (`epcClass`: LGTIN), or the part itself when `lot` is None."""
        if gtin:
            where = f"{DIGITAL_LINK}/01/{gtin.zfill(14)}"
            return where if lot is None else f"{where}/10/{_pct(lot)}"
        where = f"{self.base}/part/{_pct(part)}"
        return where if lot is None else f"{where}/lot/{_pct(lot)}"

    def serial(self, part: str, gtin: str | None, serial: str) -> str:
        """One serialised item (SGTIN)."""
        if gtin:
            return f"{DIGITAL_LINK}/01/{gtin.zfill(14)}/21/{_pct(serial)}"
        return f"{self.base}/part/{_pct(part)}/serial/{_pct(serial)}"

    def location(self, code: str) -> str:
        """A location of the site: the site's GLN with the code as its extension (AI 254)
        when the site has a GLN and the code fits one (1 to 20 characters of GS1 character
        set 82), else under the base URI."""
        if self.gln and len(code) <= 20 and all(ch in CSET82 for ch in code):
            return f"{DIGITAL_LINK}/414/{self.gln}/254/{_pct(code)}"
        return f"{self.base}/location/{_pct(code)}"

    def site(self) -> str:
        """This site as a party (owning or possessing goods)."""
        return f"{DIGITAL_LINK}/417/{self.gln}" if self.gln else self.base

    def party(self, kind: str, name: str, gln: str | None) -> str:
        """A supplier or customer (`kind`), by its GLN when the order gives one."""
        if gln:
            return f"{DIGITAL_LINK}/417/{gln}"
        return f"{self.base}/{kind}/{_pct(name)}"

    def order(self, kind: str, number: str) -> str:
        """A purchase order ("po"), sales order ("so") or job ("job") of this site."""
        return f"{self.base}/{kind}/{_pct(number)}"


@lru_cache(maxsize=8192)
def _pct(name: str) -> str:
    """A name as one URI path segment: everything but letters, digits and `-._~` encoded."""
    return quote(name, safe="")


def uom_code(part: str, uom: str) -> str | None:
    """The UN/ECE Rec 20 code of a part's unit (None: a count), or a refusal naming it."""
    try:
        return un_ece_code(uom)
    except ValueError as problem:
        raise LotscanError(f"{part}'s {problem} (import its parts again)") from None


# The columns one movement's event is made from, in this order (see `Row`).
_COLUMNS = (
    Movement.id,
    Movement.kind,
    Movement.part,
    Movement.lot,
    Movement.serial,
    Movement.qty,
    Movement.from_location,
    Movement.to_location,
    Movement.job,
    Movement.po,
    Movement.so,
    Movement.reverses,
    Movement.happened_at,
    Movement.recorded_at,
    Movement.sync_state,
    Part.gtin,
    Part.uom,
    PurchaseOrder.supplier,
    PurchaseOrder.supplier_gln,
    SalesOrder.customer,
    SalesOrder.customer_gln,
    Lot.expiry,
)


@dataclass(slots=True)
class Row:
    """A movement with what its event says of its part, order and lot."""

    id: uuid.UUID
    kind: str
    part: str
    lot: str | None
    serial: str | None
    qty: Decimal
    from_location: str | None
    to_location: str | None
    job: str | None
    po: str | None
    so: str | None
    reverses: uuid.UUID | None
    happened_at: datetime
    recorded_at: datetime | None
    sync_state: str
    gtin: str | None
    uom: str
    supplier: str | None
    supplier_gln: str | None
    customer: str | None
    customer_gln: str | None
    expiry: date | None


def movement_rows() -> Select[Any]:
    """Every movement with its part, order and lot, not yet filtered or ordered."""
    return (
        select(*_COLUMNS)
        .join(Part, Part.number == Movement.part)
        .outerjoin(PurchaseOrder, PurchaseOrder.number == Movement.po)
        .outerjoin(SalesOrder, SalesOrder.number == Movement.so)
        .outerjoin(Lot, and_(Lot.part == Movement.part, Lot.number == Movement.lot))
    )


def ledger_batches(session: Session, selection: Selection) -> Iterator[list[Row]]:
    """The selected movements in ledger order, `BATCH` at a time."""
    query = movement_rows()
    if selection.start is not None:
        query = query.where(Movement.happened_at >= selection.start)
    if selection.end is not None:
        query = query.where(Movement.happened_at < selection.end)
    if selection.part is not None:
        query = query.where(Movement.part == selection.part)
    if selection.lot is not None:
        query = query.where(Movement.lot == selection.lot)
    query = query.order_by(Movement.happened_at, Movement.id)
    # On the session's connection, as Core: the ORM's row handling is not needed here.
    result = session.connection().execute(query, execution_options={"yield_per": BATCH})
    for batch in result.partitions():
        yield [Row(*values) for values in batch]


class Events:
    """Makes each movement's event; one per export, as it keeps the inputs of recent jobs."""

    def __init__(self, session: Session, naming: Naming) -> None:
        self.session = session
        self.naming = naming
        self._inputs: OrderedDict[str, dict[str, list[Any]]] = OrderedDict()
        self._consumed = (
            select(JobLot.job, JobLot.part, JobLot.lot, JobLot.serial, Part.gtin)
            .join(Part, Part.number == JobLot.part)
            .where(
                JobLot.job.in_(bindparam("jobs", expanding=True)),
                JobLot.role == JobLotRole.CONSUMED.value,
                JobLot.qty > 0,
            )
            .order_by(JobLot.job, JobLot.part, JobLot.lot, JobLot.serial)
        )

    def prepare(self, batch: list[Row]) -> None:
        """Reads the inputs of the batch's completions' jobs not kept yet, in one query."""
        wanted = {
            row.job for row in batch if row.kind == MovementKind.PRODUCE and row.job is not None
        }
        self._read_inputs(sorted(job for job in wanted if job not in self._inputs))

    def _read_inputs(self, missing: list[str]) -> None:
        if not missing:
            return
        found: dict[str, tuple[list[str], list[dict[str, str]]]] = {
            job: ([], []) for job in missing
        }
        for job, part, lot, serial, gtin in self.session.execute(self._consumed, {"jobs": missing}):
            serials, classes = found[job]
            if serial != NO_LOT:
                serials.append(self.naming.serial(part, gtin, serial))
            else:
                classes.append({"epcClass": self.naming.item_class(part, gtin, lot or None)})
        for job, (serials, classes) in found.items():
            inputs: dict[str, list[Any]] = {}
            if serials:
                inputs["inputEPCList"] = serials
            if classes:
                inputs["inputQuantityList"] = classes
            self._inputs[job] = inputs
        while len(self._inputs) > JOBS_KEPT:
            self._inputs.popitem(last=False)

    def of(self, row: Row) -> dict[str, Any] | None:
        """The event of a movement, or None for one that is not in the document (held,
        rejected or voided; a reversal of one)."""
        if row.sync_state in NOT_EFFECTIVE:
            return None
        if row.kind == MovementKind.REVERSE:
            return self._declaration(row)
        return self._event(row)

    def _event(self, row: Row) -> dict[str, Any]:
        if row.kind == MovementKind.ISSUE:
            return self._issue(row)
        if row.kind == MovementKind.PRODUCE:
            return self._completion(row)
        return self._object_event(row)

    def _declaration(self, row: Row) -> dict[str, Any] | None:
        """A reversal: the event it undoes, as first written but for its record time, with
        an error declaration saying it did not occur (EPCIS 2.0's way to retract one)."""
        assert row.reverses is not None
        original = self.session.execute(
            movement_rows().where(Movement.id == row.reverses)
        ).one_or_none()
        if original is None:
            return None
        undone = Row(*original)
        if undone.sync_state in NOT_EFFECTIVE:
            return None
        event = self._event(undone)
        event.pop("recordTime", None)
        declared = _header(event["type"], undone, row.recorded_at)
        declared["errorDeclaration"] = {
            "declarationTime": _time(row.happened_at),
            "reason": "did_not_occur",
        }
        del event["type"], event["eventID"], event["eventTime"], event["eventTimeZoneOffset"]
        return declared | event

    # ---- ObjectEvents -------------------------------------------------------------------

    def _object_event(self, row: Row) -> dict[str, Any]:
        naming = self.naming
        event = _header("ObjectEvent", row, row.recorded_at) | self._what(row)
        here = row.to_location or row.from_location
        assert here is not None
        arriving = row.to_location is not None
        event["action"] = "OBSERVE"
        if row.kind == MovementKind.RECEIVE:
            event |= {"bizStep": "receiving", "disposition": "in_progress"}
        elif row.kind == MovementKind.SHIP:
            event |= {"bizStep": "shipping", "disposition": "in_transit"}
        elif row.kind == MovementKind.MOVE:
            event["bizStep"] = "storing"
        elif row.kind == MovementKind.ADJUST:
            # Stock found comes into the books, stock missing leaves them.
            event["action"] = "ADD" if arriving else "DELETE"
            event["bizStep"] = "cycle_counting"
            event["disposition"] = "active" if arriving else "unknown"
        elif row.kind == MovementKind.RETURN:
            event["bizStep"] = "receiving" if arriving else "shipping"
            event["disposition"] = "returned"
        event["readPoint"] = {"id": naming.location(here)}
        if arriving:
            event["bizLocation"] = {"id": naming.location(here)}
        if row.po is not None:
            event["bizTransactionList"] = [
                {"type": "po", "bizTransaction": naming.order("po", row.po)}
            ]
        elif row.so is not None:
            # Our sales order is the customer's purchase order: CBV's type "po".
            event["bizTransactionList"] = [
                {"type": "po", "bizTransaction": naming.order("so", row.so)}
            ]
        supplier = customer = None
        if row.supplier is not None:
            supplier = naming.party("supplier", row.supplier, row.supplier_gln)
        if row.customer is not None:
            customer = naming.party("customer", row.customer, row.customer_gln)
        if row.kind == MovementKind.MOVE:
            assert row.from_location is not None
            event["sourceList"] = [
                {"type": "location", "source": naming.location(row.from_location)}
            ]
            event["destinationList"] = [{"type": "location", "destination": naming.location(here)}]
        elif arriving and (supplier or customer):
            event["sourceList"] = _parties("source", supplier or customer)
            event["destinationList"] = _parties("destination", naming.site())
        elif not arriving and (supplier or customer):
            event["sourceList"] = _parties("source", naming.site())
            event["destinationList"] = _parties("destination", customer or supplier)
        return event

    def _what(self, row: Row, side: str = "") -> dict[str, Any]:
        """The goods of a movement: `epcList` for a serial, else `quantityList` of its lot's
        class (or its part's) with the quantity and unit. `side` is "input" or "output" in a
        TransformationEvent."""
        if row.serial is not None:
            name = f"{side}EPCList" if side else "epcList"
            return {name: [self.naming.serial(row.part, row.gtin, row.serial)]}
        element: dict[str, Any] = {
            "epcClass": self.naming.item_class(row.part, row.gtin, row.lot),
            "quantity": json_quantity(row.qty),
        }
        uom = uom_code(row.part, row.uom)
        if uom is not None:
            element["uom"] = uom
        name = f"{side}QuantityList" if side else "quantityList"
        return {name: [element]}

    # ---- TransformationEvents -----------------------------------------------------------

    def _issue(self, row: Row) -> dict[str, Any]:
        """Components leaving stock for a job: the job's transformation takes them in."""
        assert row.job is not None and row.from_location is not None
        event = _header("TransformationEvent", row, row.recorded_at) | self._what(row, "input")
        event["transformationID"] = self.naming.order("job", row.job)
        event["readPoint"] = {"id": self.naming.location(row.from_location)}
        event["bizTransactionList"] = self._job_transaction(row.job)
        return event

    def _completion(self, row: Row) -> dict[str, Any]:
        """A job completing some of its assembly: what it made, from everything the job
        consumed (no quantities: which part of an issued lot went into which completion is
        not recorded; the issues' events carry them)."""
        assert row.job is not None and row.to_location is not None
        event = _header("TransformationEvent", row, row.recorded_at)
        event |= self._job_inputs(row.job)
        event |= self._what(row, "output")
        event["transformationID"] = self.naming.order("job", row.job)
        event["bizStep"] = "commissioning"
        event["disposition"] = "active"
        event["readPoint"] = {"id": self.naming.location(row.to_location)}
        event["bizLocation"] = {"id": self.naming.location(row.to_location)}
        event["bizTransactionList"] = self._job_transaction(row.job)
        ilmd: dict[str, str] = {}
        if row.serial is not None and row.lot is not None:
            ilmd["cbvmda:lotNumber"] = row.lot
        if row.expiry is not None:
            ilmd["cbvmda:itemExpirationDate"] = row.expiry.isoformat()
        if ilmd:
            event["ilmd"] = ilmd
        return event

    def _job_transaction(self, job: str) -> list[dict[str, str]]:
        return [{"type": "prodorder", "bizTransaction": self.naming.order("job", job)}]

    def _job_inputs(self, job: str) -> dict[str, list[Any]]:
        """`inputEPCList` and `inputQuantityList` of everything `job` consumed (its
        `job_lots` rows of a quantity above zero, as the trace reads them)."""
        kept = self._inputs.get(job)
        if kept is None:  # a reversal's undone completion, from another batch
            self._read_inputs([job])
            kept = self._inputs[job]
        self._inputs.move_to_end(job)
        return kept


def _header(kind: str, row: Row, recorded_at: datetime | None) -> dict[str, Any]:
    """What every event starts with: its type, its id (the movement's), its times."""
    header: dict[str, Any] = {
        "type": kind,
        "eventID": f"urn:uuid:{row.id}",
        "eventTime": _time(row.happened_at),
        "eventTimeZoneOffset": OFFSET,
    }
    if recorded_at is not None:
        header["recordTime"] = _time(recorded_at)
    return header


def _parties(side: str, party: str | None) -> list[dict[str, str]]:
    assert party is not None
    return [{"type": kind, side: party} for kind in ("owning_party", "possessing_party")]


def _time(moment: datetime) -> str:
    """A stored time as EPCIS writes one: UTC, to the millisecond, `Z`."""
    if moment.tzinfo is None:  # SQLite's: naive UTC, as stored (scanner.clock)
        return moment.isoformat(timespec="milliseconds") + "Z"
    return aware(moment).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@dataclass(frozen=True)
class Written:
    events: int
    left_out: int


def write_file(
    session: Session, naming: Naming, selection: Selection, output: Path, progress: Progress
) -> Written:
    """Writes the document to a temporary file beside `output`, then renames it over
    `output` (the file it names, when it is a link: `scanner.output_files`): a failure
    leaves neither a half file nor the temporary one."""
    target = output_target(output)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", encoding="ascii", newline="\n") as stream:
            written = write_document(session, naming, selection, stream, progress)
        partial.chmod(file_mode(target))
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise LotscanError(f"Cannot write {shown(str(output))}: {error.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


def write_document(
    session: Session, naming: Naming, selection: Selection, stream: IO[str], progress: Progress
) -> Written:
    """The EPCISDocument of the selected movements, one event a line.

    `creationDate` comes last (JSON members have no order) and is the latest time the
    document holds (an event's, record's or declaration's), not the clock's: exporting the
    same ledger twice gives the same bytes."""
    events = Events(session, naming)
    encode = json.JSONEncoder(check_circular=False).encode
    stream.write(
        '{"@context": ["' + CONTEXT + '"], "type": "EPCISDocument", "schemaVersion": "2.0",\n'
        '"epcisBody": {"eventList": ['
    )
    count = left_out = 0
    latest = NO_EVENTS_DATE
    for batch in ledger_batches(session, selection):
        events.prepare(batch)
        for row in batch:
            event = events.of(row)
            if event is None:
                left_out += 1
                continue
            stream.write(",\n" if count else "\n")
            stream.write(encode(event))
            count += 1
            latest = max(latest, _latest(event))
            progress.advance()
    progress.done()
    stream.write('\n]},\n"creationDate": ' + json.dumps(latest) + "}\n")
    return Written(count, left_out)


def _latest(event: dict[str, Any]) -> str:
    times: list[str] = [event["eventTime"], event.get("recordTime", "")]
    declared = event.get("errorDeclaration")
    if declared is not None:
        times.append(declared["declarationTime"])
    return max(times)
