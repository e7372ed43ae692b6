"""The exports as downloads (docs/architecture.md, "Office console"): the EPCIS document
and the FSMA 204 spreadsheet, written by the same writers as `lotscan export epcis` and
`lotscan export fsma204`, each read in batches as the ledger is read (nothing loads the
whole ledger), into a temporary file that is then sent (`console.downloads`)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console.downloads import CSV, JSON_LD, XLSX, download
from console.guard import SignedIn, signed_in
from console.templating import error_page
from scanner.clock import day_range_problem, written_day
from scanner.db import reading
from scanner.errors import LotscanError, NotFound, RuleViolation
from scanner.export_epcis import Naming, Selection, write_file
from scanner.export_fsma import write_fsma
from scanner.fsma_events import Period
from scanner.models import Part
from scanner.progress import Progress

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]

FSMA_DAYS = 30
"""The days an FSMA 204 download covers when no dates are given: the last 30, as the FDA's
24-hour request usually asks for a recent period."""


@router.get("/export/epcis")
def export_epcis(
    request: Request,
    who: Who,
    since: str = "",
    until: str = "",
    part: str = "",
    lot: str = "",
) -> Response:
    """The ledger's movements (of the days, part and lot asked for) as EPCIS 2.0 JSON-LD."""
    store = request.app.state.store
    try:
        first, last = _day(since, "since"), _day(until, "until")
        if first is not None and last is not None and first > last:
            raise RuleViolation(f"From {first} is after to {last}")
        if lot.strip() and not part.strip():
            raise RuleViolation("A lot needs its part: a lot number is one part's")
        with reading(store.sessions) as session:
            selection = Selection.named(
                session, first, last, part.strip() or None, lot.strip() or None
            )
            naming = Naming.of_site(session)
            return download(
                f"epcis-{store.clock().date().isoformat()}.jsonld",
                JSON_LD,
                lambda path: write_file(
                    session, naming, selection, path, Progress("EPCIS events", io.StringIO())
                ),
            )
    except LotscanError as refused:
        return error_page(request, 400, "Nothing exported", str(refused))


@router.get("/export/fsma204")
def export_fsma204(
    request: Request,
    who: Who,
    part: str = "",
) -> Response:
    """The FDA FSMA 204 sortable spreadsheet of the days asked for (`from`, `to`: both
    included; the last 30 days when none are given), as CSV or XLSX."""
    store = request.app.state.store
    today = store.clock().date()
    params = request.query_params
    form = params.get("format", "csv")
    try:
        last = _day(params.get("to", ""), "to") or today
        first = _day(params.get("from", ""), "from") or last - timedelta(days=FSMA_DAYS - 1)
        if first > last:
            raise RuleViolation(f"From {first} is after to {last}")
        if form not in ("csv", "xlsx"):
            raise RuleViolation("The format is csv or xlsx")
        named = part.strip() or None
        with reading(store.sessions) as session:
            if named is not None and session.get(Part, named) is None:
                raise NotFound(f"Unknown part {named}")
            return download(
                f"fsma204-{first.isoformat()}-{last.isoformat()}.{form}",
                CSV if form == "csv" else XLSX,
                lambda path: write_fsma(
                    session, Period(first, last), path, part=named, progress_stream=io.StringIO()
                ),
            )
    except LotscanError as refused:
        return error_page(request, 400, "Nothing exported", str(refused))


def _day(typed: str, name: str) -> date | None:
    """A day typed as YYYY-MM-DD (a date field's value), or None when left empty."""
    if not typed.strip():
        return None
    try:
        day = written_day(typed.strip())
    except ValueError:
        raise RuleViolation(f"{name}: {typed!r} is not a day (YYYY-MM-DD)") from None
    problem = day_range_problem(day)
    if problem is not None:
        raise RuleViolation(f"{name}: {problem}")
    return day
