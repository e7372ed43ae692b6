"""Stock on hand: the balances per part, lot or serial and location (`lotscan stock`; see
docs/architecture.md, "Balances").

Read from the `Balance` cache, never summed from the ledger: the cache is kept in the same
transaction as every movement, so it is exact and a lookup stays fast at any ledger size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from scanner.errors import NotFound
from scanner.json_output import json_record
from scanner.models import NO_LOT, Balance, Location, Lot, LotStatus, Part, Serial, Tracking
from scanner.plain_text import shown
from scanner.quality import Standing, standing, stricter
from scanner.quantity import format_quantity
from scanner.spelling import known_lot, lots_spelled_otherwise


@dataclass(frozen=True)
class StockRow:
    """What is on hand of one part, lot or serial at one location."""

    part: str
    lot: str | None
    serial: str | None
    location: str
    qty: Decimal

    def as_json(self) -> dict[str, Any]:
        """`{"part", "lot", "serial", "location", "qty"}`; no lot or serial is null."""
        return json_record(self)

    @classmethod
    def from_balance(
        cls, part: str, lot: str, serial: str, location: str, qty: Decimal
    ) -> StockRow:
        """A row from a balance's key, where "no lot" and "no serial" are `NO_LOT` ("")."""
        return cls(part, lot or None, serial or None, location, qty)


def on_hand(
    session: Session,
    part: str | None = None,
    lot: str | None = None,
    location: str | None = None,
) -> list[StockRow]:
    """Stock on hand, optionally of one part, one lot and at one location, ordered by part,
    lot, serial and location.

    A lot of a serial-tracked part selects the serials in that lot. A part, lot or location
    that does not exist is `NotFound`, so a typo is not mistaken for "none in stock".
    """
    rows = session.execute(
        select(Balance.part, Balance.lot, Balance.serial, Balance.location, Balance.qty)
        .where(*_conditions(session, part, lot, location))
        .order_by(Balance.part, Balance.lot, Balance.serial, Balance.location)
    ).all()
    return [StockRow.from_balance(*row) for row in rows]


def _conditions(
    session: Session, part: str | None, lot: str | None, location: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if part is not None:
        if session.get(Part, part) is None:
            raise NotFound(f"Unknown part {part}")
        conditions.append(Balance.part == part)
    if lot is not None:
        conditions.append(_in_lot(session, part, lot))
    if location is not None:
        if session.get(Location, location) is None:
            raise NotFound(f"Unknown location {location}")
        conditions.append(Balance.location == location)
    return conditions


@dataclass(frozen=True)
class StockStanding(StockRow):
    """A balance with its lot's expiry and its status as people read it (released, hold,
    recalled, expired): the lot's, a serial's own with its lot's, the stricter."""

    expiry: date | None
    status: Standing

    def as_json(self) -> dict[str, Any]:
        """`{"part", "lot", "serial", "location", "qty", "expiry", "status"}`."""
        return {
            **json_record(StockRow(self.part, self.lot, self.serial, self.location, self.qty)),
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "status": self.status.value,
        }


def stock_standing(
    session: Session,
    today: date,
    part: str | None = None,
    lot: str | None = None,
    location: str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[StockStanding]:
    """`on_hand` with each balance's expiry and status (`lotscan stock`), in the same
    statement: a serial's status and expiry come from it and from its lot. `limit` and
    `offset` read one page of the rows (the console pages them on the server)."""
    own_lot, serial, serial_lot = aliased(Lot), aliased(Serial), aliased(Lot)
    rows = session.execute(
        select(
            Balance.part,
            Balance.lot,
            Balance.serial,
            Balance.location,
            Balance.qty,
            func.coalesce(own_lot.expiry, serial_lot.expiry),
            func.coalesce(own_lot.status, serial_lot.status, ACTIVE),
            func.coalesce(serial.quality_status, ACTIVE),
        )
        .outerjoin(own_lot, and_(own_lot.part == Balance.part, own_lot.number == Balance.lot))
        .outerjoin(serial, and_(serial.part == Balance.part, serial.number == Balance.serial))
        .outerjoin(
            serial_lot, and_(serial_lot.part == serial.part, serial_lot.number == serial.lot)
        )
        .where(*_conditions(session, part, lot, location))
        .order_by(Balance.part, Balance.lot, Balance.serial, Balance.location)
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        StockStanding(
            number,
            lot_key or None,
            serial_key or None,
            where,
            qty,
            expiry,
            standing(stricter(lot_status, serial_status), expiry, today),
        )
        for number, lot_key, serial_key, where, qty, expiry, lot_status, serial_status in rows
    ]


def _in_lot(session: Session, part: str | None, lot: str) -> ColumnElement[bool]:
    """Balances of `lot`: kept under the lot for a lot-tracked part, under each of its
    serials for a serial-tracked one. A lot number belongs to a part, so the parts having
    such a lot come first; each then narrows the balances by their primary key. A number
    no lot has exactly is matched without regard to case (scanner.spelling)."""
    # Part by part (there are few), each an index seek: lots has no index on number alone.
    holders = select(Part.number, Part.tracking).where(
        exists().where(Lot.part == Part.number, Lot.number == lot)
    )
    if part is not None:
        holders = holders.where(Part.number == part)
    found = [(number, tracking, lot) for number, tracking in session.execute(holders).all()]
    if not found:
        found = _spelled_otherwise(session, part, lot)
    if not found:
        raise NotFound(f"No lot {lot} of {part}" if part else f"No lot {lot}")
    return or_(*(_balances_of(number, tracking, spelled) for number, tracking, spelled in found))


def _spelled_otherwise(session: Session, part: str | None, lot: str) -> list[tuple[str, str, str]]:
    """(part, its tracking, the lot's spelling) of the lots numbered `lot` in another case."""
    if part is not None:
        known = known_lot(session, part, lot)
        named = [(part, known.number)] if known is not None else []
    else:
        named = lots_spelled_otherwise(session, lot)
    tracking: dict[str, str] = {}
    holders = select(Part.number, Part.tracking).where(Part.number.in_({p for p, _ in named}))
    for number, mode in session.execute(holders):
        tracking[number] = mode
    return [(number, tracking[number], spelled) for number, spelled in named]


def _balances_of(part: str, tracking: str, lot: str) -> ColumnElement[bool]:
    if tracking != Tracking.SERIAL:
        return and_(Balance.part == part, Balance.lot == lot)
    serials = select(Serial.number).where(Serial.part == part, Serial.lot == lot)
    return and_(Balance.part == part, Balance.lot == NO_LOT, Balance.serial.in_(serials))


ACTIVE = literal(LotStatus.ACTIVE.value)

HEADINGS = ("PART", "LOT", "SERIAL", "LOCATION", "QTY", "EXPIRY", "STATUS")
QTY_COLUMN = 4


def format_stock(rows: Sequence[StockStanding]) -> str:
    """An aligned table for a terminal: one line per balance, quantities right-aligned;
    what the database holds is `shown`, so no cell can drive the terminal."""
    if not rows:
        return "No stock"
    table = [HEADINGS] + [
        (
            shown(row.part),
            shown(row.lot or "-"),
            shown(row.serial or "-"),
            shown(row.location),
            format_quantity(row.qty),
            row.expiry.isoformat() if row.expiry else "-",
            _STATUS_WORDS.get(row.status, row.status.value),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in table) for column in range(len(HEADINGS))]
    lines = []
    for line in table:
        cells = [
            cell.rjust(width) if column == QTY_COLUMN else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


_STATUS_WORDS = {Standing.HOLD: "on hold"}
