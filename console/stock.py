"""The Stock page (docs/architecture.md, "Office console"): stock on hand by part, lot and
location with each balance's expiry and status, a page at a time, read from the balances
as `lotscan stock` reads them (`scanner.stock.stock_standing`); and the page's table as a
CSV download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from console.downloads import CSV, download
from console.guard import SignedIn, signed_in
from console.lots import PAGE_HELPERS, lot_url
from console.templating import PageNumber, render
from scanner.db import reading
from scanner.errors import LotscanError
from scanner.spreadsheet import table_file
from scanner.stock import StockStanding, stock_standing

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]

PAGE = 100
"""Balances a page."""
BATCH = 1000
"""Balances read at a time for the CSV download."""
COLUMNS = ("part", "lot", "serial", "location", "qty", "expiry", "status")


@dataclass(frozen=True)
class Filter:
    """What the page shows: one part, lot or location (each exact), or all."""

    part: str | None
    lot: str | None
    location: str | None

    @classmethod
    def typed(cls, part: str, lot: str, location: str) -> Filter:
        return cls(part.strip() or None, lot.strip() or None, location.strip() or None)

    def rows(self, session: Session, today: date, limit: int, offset: int) -> list[StockStanding]:
        return stock_standing(
            session, today, self.part, self.lot, self.location, limit=limit, offset=offset
        )

    def query(self) -> dict[str, str]:
        named = {"part": self.part, "lot": self.lot, "location": self.location}
        return {key: value for key, value in named.items() if value}


@router.get("/stock")
def stock_page(
    request: Request,
    who: Who,
    part: str = "",
    lot: str = "",
    location: str = "",
    page: PageNumber = 1,
) -> Response:
    """A page of stock on hand, filtered by part, lot and location (each exact)."""
    store = request.app.state.store
    filters = Filter.typed(part, lot, location)
    page = max(page, 1)
    rows: list[StockStanding] = []
    error = None
    try:
        with reading(store.sessions) as session:
            rows = filters.rows(session, store.clock().date(), PAGE + 1, (page - 1) * PAGE)
    except LotscanError as refused:
        error = str(refused)
    query = filters.query()
    return render(
        request,
        "stock.html",
        who,
        status_code=404 if error else 200,
        rows=rows[:PAGE],
        more=len(rows) > PAGE,
        page=page,
        part=part,
        lot=lot,
        location=location,
        error=error,
        today=store.clock().date(),
        csv_url="/console/stock.csv?" + urlencode(query),
        page_url=lambda number: "/console/stock?" + urlencode({**query, "page": number}),
        lot_url=lot_url,
        **PAGE_HELPERS,
    )


@router.get("/stock.csv")
def stock_csv(
    request: Request,
    who: Who,
    part: str = "",
    lot: str = "",
    location: str = "",
) -> Response:
    """Every balance the page's filter selects, as a CSV file (read a batch at a time)."""
    store = request.app.state.store
    filters = Filter.typed(part, lot, location)
    today = store.clock().date()
    try:
        with reading(store.sessions) as session:
            return download(
                f"stock-{today.isoformat()}.csv",
                CSV,
                lambda path: _write_stock(session, path, today, filters),
            )
    except LotscanError as refused:
        return PlainTextResponse(str(refused), status_code=404)


def _write_stock(session: Session, path: Path, today: date, filters: Filter) -> None:
    with table_file(path, COLUMNS, title="Stock") as write:
        offset = 0
        while True:
            rows = filters.rows(session, today, BATCH, offset)
            for row in rows:
                write([row.part, row.lot, row.serial, row.location, row.qty, row.expiry,
                       row.status.value])  # fmt: skip
            if len(rows) < BATCH:
                return
            offset += BATCH
