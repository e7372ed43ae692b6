"""`lotscan export fsma204 --from DATE --to DATE [--part P] -o FILE.csv|FILE.xlsx`: the FDA
FSMA 204 electronic sortable spreadsheet (docs/architecture.md, "FSMA 204 spreadsheet").

One row per critical tracking event (`scanner.fsma_events`), one column per key data element,
written as it is read (`scanner.spreadsheet`). A key data element the records do not hold is
left empty and named in the row's `missing_kdes` column, and the command counts them on
standard error, so nothing is blank without saying so.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session

from scanner.errors import NotFound, RuleViolation
from scanner.fsma_events import (
    RECEIVING,
    SHIPPING,
    TRANSFORMATION,
    Event,
    LeftOut,
    Party,
    Period,
    events,
    left_out,
)
from scanner.models import Part
from scanner.plain_text import quoted, shown, shown_lines
from scanner.progress import Progress
from scanner.spreadsheet import Cell, WriteRow, table_file, table_format

COLUMNS: tuple[str, ...] = (
    "event_type",
    "event_date",
    "event_time_utc",
    "traceability_lot_code",
    "product_id",
    "product_description",
    "quantity",
    "unit_of_measure",
    "serial",
    "supplier_lot",
    "trading_partner_role",
    "trading_partner_name",
    "trading_partner_address",
    "trading_partner_phone",
    "trading_partner_gln",
    "location_name",
    "location_address",
    "location_phone",
    "location_gln",
    "location_code",
    "tlc_source_name",
    "tlc_source_address",
    "tlc_source_phone",
    "reference_document_type",
    "reference_document_number",
    "input_tlcs",
    "input_lots",
    "movement_kind",
    "event_id",
    "missing_kdes",
)
"""The spreadsheet's columns, in order: a contract, as the CLI's CSV columns are (add, never
rename or drop)."""

_EVERY_EVENT = (
    "traceability_lot_code",
    "product_description",
    "quantity",
    "unit_of_measure",
    "event_date",
    "location_name",
    "location_address",
    "location_phone",
    "tlc_source_name",
    "tlc_source_address",
    "tlc_source_phone",
    "reference_document_type",
    "reference_document_number",
)
_PARTNER = ("trading_partner_name", "trading_partner_address", "trading_partner_phone")
REQUIRED: dict[str, tuple[str, ...]] = {
    RECEIVING: _EVERY_EVENT + _PARTNER,  # 21 CFR 1.1345(a)
    SHIPPING: _EVERY_EVENT + _PARTNER,  # 21 CFR 1.1340(a)
    TRANSFORMATION: (*_EVERY_EVENT, "input_lots"),  # 21 CFR 1.1350(a)
}
"""The columns holding each event type's key data elements: empty, they are missing."""

INPUT_SEPARATOR = "; "

# Where each missing element comes from, for the summary, by its columns' prefix.
_REMEDY = {
    "location": "this site's name, address and phone: lotscan import site FILE.csv",
    "trading_partner": "the orders' supplier_ and customer_ address and phone columns:"
    " lotscan import purchase-orders|sales-orders FILE.csv",
    "tlc_source": "the site's description (a TLC this site gave), or the purchase order of the"
    " lot's first receipt (a TLC its supplier gave)",
    "reference_document": "the order or job: the movement was recorded without one",
    "input_lots": "the job's issues: it completed without consuming anything",
}


def run_export_fsma(args: argparse.Namespace) -> int:
    from scanner.db import open_database, reading
    from scanner.workspace import database_url

    output: Path = args.output
    table_format(output)  # a wrong name or folder is refused before any work
    if args.start > args.end:
        raise RuleViolation(f"--from {args.start.isoformat()} is after --to {args.end.isoformat()}")
    period = Period(args.start, args.end)
    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        if args.part is not None and session.get(Part, args.part) is None:
            raise NotFound(f"Unknown part {quoted(args.part)}")
        tally = write_fsma(session, period, output, part=args.part)
        skipped = left_out(session, period, args.part)
    print(shown(tally.written_words(output)))
    report = tally.report(skipped)
    if report:
        print(shown_lines(report), file=sys.stderr)
    return 0


@dataclass
class Tally:
    """What a run wrote: events by type, and each missing key data element's count."""

    by_type: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    def written_words(self, output: Path) -> str:
        kinds = ", ".join(
            f"{self.by_type[kind]:,} {kind.lower()}"
            for kind in (RECEIVING, TRANSFORMATION, SHIPPING)
            if self.by_type[kind]
        )
        return f"Wrote {_plural(self.total, 'FSMA 204 event')}" + (
            f" ({kinds}) to {output}" if kinds else f" to {output}"
        )

    def report(self, skipped: LeftOut) -> list[str]:
        """The summary for standard error: missing key data elements, and what the period
        held that is not in the spreadsheet; no lines when there is nothing to say."""
        lines: list[str] = []
        if self.missing:
            lines.append("Missing key data elements (named in each row's missing_kdes column):")
            remedies: dict[str, None] = {}
            for column in COLUMNS:
                if self.missing[column]:
                    lines.append(f"  {column}: {_plural(self.missing[column], 'event')}")
                    remedies[_remedy(column)] = None
            lines.extend(f"  (fill in {remedy})" for remedy in remedies)
        if skipped.untracked:
            parts = ", ".join(f"{part} {count}" for part, count in skipped.untracked.items())
            lines.append(
                f"Not in the spreadsheet: {_plural(sum(skipped.untracked.values()), 'movement')}"
                f" of untracked parts, with no traceability lot code ({parts})"
            )
        if skipped.reversed:
            lines.append(
                f"Not in the spreadsheet: {_plural(skipped.reversed, 'movement')} undone by a"
                " reversal (the mistake and its undoing both left out)"
            )
        return lines


def write_fsma(
    session: Session,
    period: Period,
    output: Path,
    *,
    part: str | None = None,
    progress_stream: TextIO | None = None,
) -> Tally:
    """Writes the spreadsheet of `period`'s events to `output` (CSV or XLSX); returns what
    it wrote. The file appears whole, or not at all."""
    tally = Tally()
    progress = Progress("FSMA 204 events", progress_stream)
    with table_file(output, COLUMNS, title="FSMA 204") as write:
        for event in events(session, period, part):
            _write_event(write, event, tally)
            progress.advance()
    progress.done()
    return tally


def _write_event(write: WriteRow, event: Event, tally: Tally) -> None:
    row = event_cells(event)
    missing = [
        column for column in REQUIRED[event.event_type] if row[column] is None or row[column] == ""
    ]
    row["missing_kdes"] = INPUT_SEPARATOR.join(missing) or None
    tally.by_type[event.event_type] += 1
    tally.missing.update(missing)
    write([row[column] for column in COLUMNS])


def event_cells(event: Event) -> dict[str, Cell]:
    """An event's cells by column (but `missing_kdes`)."""
    partner = event.partner or Party()
    inputs = event.inputs
    return {
        "event_type": event.event_type,
        "event_date": event.happened_at.date(),
        "event_time_utc": event.happened_at.strftime("%H:%M:%S"),
        "traceability_lot_code": event.tlc,
        "product_id": event.part,
        "product_description": event.description,
        "quantity": event.qty,
        "unit_of_measure": event.uom,
        "serial": event.serial,
        "supplier_lot": event.supplier_lot,
        "trading_partner_role": event.partner_role,
        "trading_partner_name": partner.name,
        "trading_partner_address": partner.address,
        "trading_partner_phone": partner.phone,
        "trading_partner_gln": partner.gln,
        "location_name": event.site.name,
        "location_address": event.site.address,
        "location_phone": event.site.phone,
        "location_gln": event.site.gln,
        "location_code": event.location,
        "tlc_source_name": event.tlc_source.name,
        "tlc_source_address": event.tlc_source.address,
        "tlc_source_phone": event.tlc_source.phone,
        "reference_document_type": event.document_type,
        "reference_document_number": event.document_number,
        "input_tlcs": _joined(each.tlc for each in inputs if each.tlc) if inputs else None,
        "input_lots": _joined(each.words() for each in inputs) if inputs else None,
        "movement_kind": event.movement_kind,
        "event_id": event.movement_id,
    }


def _joined(texts: Iterable[str]) -> str | None:
    return INPUT_SEPARATOR.join(texts) or None


def _remedy(column: str) -> str:
    for prefix, words in _REMEDY.items():
        if column.startswith(prefix):
            return words
    return "the part's description and unit"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
