"""The Lots page's search box: what a person typed, or a scanner plugged into the desk PC
sent (docs/architecture.md, "Office console").

A GS1 scan (`]C1...`, `(01)...(10)...`, an element string with GS, a Digital Link) names a
lot or serial: `scanned` reads it as the handheld does (`scanner.scan.read_scan` with the
site's settings) and finds it. Anything else searches part, lot and serial numbers by
prefix, one page at a time (`search`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, String, and_, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session

from scanner.models import Lot, LotStatus, Part, Serial
from scanner.quality import Item, Standing, find_item, standing, stricter
from scanner.scan import ScanError, ScanKind, read_scan, scan_config
from scanner.workflows.base import part_of

PAGE = 50
"""Rows of search results a page."""

_LOOKS_SCANNED = ("]", "(", "http://", "https://")
_GS = "\x1d"


@dataclass(frozen=True)
class Scanned:
    """What a scan in the search box names: a lot or serial (`item`), a job, or a part."""

    item: Item | None = None
    job: str | None = None
    part: str | None = None


def scanned(session: Session, typed: str) -> Scanned | None:
    """What a scan typed into the search box names; None for text to search. A scan that
    cannot be read, or names a lot or serial this store lacks, is refused with the
    handheld's words (a `LotscanError`)."""
    try:
        scan = read_scan(typed, scan_config(session))
    except ScanError:
        if _looks_scanned(typed):
            raise
        return None
    if scan.kind is ScanKind.JOB and scan.value:
        return Scanned(job=scan.value)
    if scan.kind is not ScanKind.ITEM or scan.item is None:
        return None
    part = part_of(session, scan.item)
    if scan.item.lot is None and scan.item.serial is None:
        return Scanned(part=part.number)
    return Scanned(item=find_item(session, part.number, lot=scan.item.lot, serial=scan.item.serial))


def _looks_scanned(typed: str) -> bool:
    text = typed.strip().lower()
    return text.startswith(_LOOKS_SCANNED) or _GS in text or "<gs>" in text


@dataclass(frozen=True)
class Found:
    """A lot or serial whose number, or whose part's number, starts with what was typed."""

    part: str
    description: str
    lot: str | None
    serial: str | None
    expiry: date | None
    status: Standing


def search(session: Session, typed: str, page: int, today: date) -> tuple[list[Found], bool]:
    """One page (from 1) of the lots and serials matching `typed` by prefix, without regard
    to case, ordered by part, lot and serial; and whether another page follows."""
    pattern = _escaped(typed.strip().upper()) + "%"
    lots = select(
        Lot.part,
        Lot.number.label("lot"),
        cast(literal(""), String).label("serial"),
        Lot.expiry,
        Lot.status.label("lot_status"),
        cast(literal(LotStatus.ACTIVE.value), String).label("own_status"),
    ).where(or_(_starts(Lot.number, pattern), _starts(Lot.part, pattern)))
    serials = (
        select(
            Serial.part,
            func.coalesce(Serial.lot, "").label("lot"),
            Serial.number.label("serial"),
            Lot.expiry,
            func.coalesce(Lot.status, LotStatus.ACTIVE.value).label("lot_status"),
            Serial.quality_status.label("own_status"),
        )
        .outerjoin(Lot, and_(Lot.part == Serial.part, Lot.number == Serial.lot))
        .where(or_(_starts(Serial.number, pattern), _starts(Serial.part, pattern)))
    )
    matches = union_all(lots, serials).subquery()
    rows = session.execute(
        select(matches, Part.description)
        .join(Part, Part.number == matches.c.part)
        .order_by(matches.c.part, matches.c.lot, matches.c.serial)
        .limit(PAGE + 1)
        .offset((max(page, 1) - 1) * PAGE)
    ).all()
    found = [
        Found(
            part,
            description,
            lot or None,
            serial or None,
            expiry,
            standing(stricter(lot_status, own_status), expiry, today),
        )
        for part, lot, serial, expiry, lot_status, own_status, description in rows[:PAGE]
    ]
    return found, len(rows) > PAGE


def _starts(column: InstrumentedAttribute[str], pattern: str) -> ColumnElement[bool]:
    return func.upper(column).like(pattern, escape="\\")


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
