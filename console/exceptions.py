"""The Exceptions page (issue 19): the store's exceptions, open or settled, filtered by kind,
device and part and paged on the server as `GET /v1/exceptions` pages them
(`sync.central.supervision.exception_rows`); and one exception beside its movement and the
store's words, settled as the handheld's supervisor panel settles it
(`sync.central.supervision.resolve`: apply, void, count, dismiss) with the same checks.

Quality staff see the pages and dismiss a flag of stock moved while on hold or recalled
(`sync.central.supervision.QUALITY_DISMISSES`); a supervisor settles everything, as on the
handheld. The store checks again who the signed-in badge is.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from console.guard import SignedIn, checked_form, signed_in
from console.templating import RowId, render
from console.writes import writing
from scanner.db import reading
from sync.central.errors import SyncError
from sync.central.exception_cap import SUMMARY
from sync.central.models import ExceptionStatus, SyncException
from sync.central.service import Resolution, problem_in_words
from sync.central.supervision import QUALITY_DISMISSES, exception_rows, resolve
from sync.exception_codes import ExceptionCode

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]
CheckedForm = Annotated[FormData, Depends(checked_form)]

PAGE = 100
MAX_PAGE = 1000  # as the API's largest page
STATUSES = ("open", "resolved", "auto_cleared", "all")
KINDS = tuple(code.value for code in ExceptionCode)
ACTIONS = {"apply": "apply", "void": "void", "count": "adjust", "dismiss": "dismiss"}
"""The console's buttons and the store's actions (a count is the store's `adjust`)."""
BY = "the console"
"""Where the decision was taken; the store names the signed-in supervisor "on" it."""
ONLY_SUPERVISORS = (
    "Only a supervisor settles exceptions: quality staff see this page, and dismiss a"
    " LOT_NOT_RELEASED flag"
)


class BadFilter(ValueError):
    """A filter or page the store would refuse, in words."""


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions_page(request: Request, who: Who) -> Response:
    """A page of exceptions, oldest first; the next page is `after` this one's last id."""
    try:
        wanted = _filters(dict(request.query_params))
    except BadFilter as bad:
        return _list(request, who, _filters({}), [], refused=str(bad), status_code=422)
    store = request.app.state.store
    with reading(store.sessions) as session:
        rows = exception_rows(
            session,
            None if wanted["status"] == "all" else wanted["status"],
            after=wanted["after"],
            limit=wanted["limit"] + 1,  # one more says whether there is a next page
            summary=wanted["summary"],
            device=wanted["device"],
            code=wanted["kind"],
            part=wanted["part"],
        )
    return _list(request, who, wanted, rows)


@router.get("/exceptions/{exception_id}", response_class=HTMLResponse)
def exception_page(request: Request, exception_id: RowId, who: Who) -> Response:
    """One exception with its movement and the store's words, and the ways to settle it."""
    return _one(request, who, exception_id)


@router.post("/exceptions/{exception_id}/{action}", response_class=HTMLResponse)
def settle(
    request: Request,
    exception_id: RowId,
    action: str,
    who: Who,
    form: CheckedForm,
) -> Response:
    """Settles the exception with `action` (apply, void, count, dismiss) as the API would,
    naming the signed-in supervisor; a refusal is shown on the page and changes nothing."""
    if not who.supervisor and action != "dismiss":  # what quality staff dismiss, the store says
        return _one(request, who, exception_id, refused=ONLY_SUPERVISORS, status_code=403)
    if action not in ACTIONS:
        return _one(request, who, exception_id, refused=f"No action {action}", status_code=404)
    try:
        body = Resolution.model_validate(
            {
                "action": ACTIONS[action],
                **{
                    field: value.strip()
                    for field in ("qty", "location", "reason")
                    if isinstance(value := form.get(field), str) and value.strip()
                },
            }
        )
    except ValidationError as bad:
        refused = problem_in_words(bad.errors())
        return _one(request, who, exception_id, refused=refused, status_code=422)
    store = request.app.state.store
    try:
        with writing(request) as session:
            resolve(
                session,
                exception_id,
                body.action,
                by=BY,
                operator=who.badge,
                qty=body.qty,
                location=body.location,
                reason=body.reason,
                clock=store.clock,
            )
    except SyncError as refused:
        return _one(request, who, exception_id, refused=refused.message, status_code=refused.status)
    return RedirectResponse(f"/console/exceptions/{exception_id}?settled=1", status_code=303)


def _filters(query: dict[str, str]) -> dict[str, Any]:
    """The page's filters from its query, checked as the API checks them."""
    status = query.get("status") or "open"
    if status not in STATUSES:
        raise BadFilter(f"status: one of {', '.join(STATUSES)}, not {status!r}")
    kind = query.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise BadFilter(f"kind: one of {', '.join(KINDS)}, not {kind!r}")
    device = query.get("device") or None
    part = query.get("part") or None
    if (device and len(device) > 20) or (part and len(part) > 40):
        raise BadFilter("device or part: too long to be one")
    return {
        "status": status,
        "kind": kind,
        "device": device,
        "part": part,
        "after": _whole(query, "after", 0, 0, 2**31 - 1),
        "limit": _whole(query, "limit", PAGE, 1, MAX_PAGE),
        "summary": _whole(query, "summary", None, 1, 2**31 - 1),
    }


def _whole(query: dict[str, str], name: str, default: int | None, low: int, high: int) -> Any:
    given = query.get(name)
    if not given:
        return default
    if not (given.isascii() and given.isdigit()) or not low <= int(given) <= high:
        raise BadFilter(f"{name}: a whole number from {low} to {high}, not {given!r}")
    return int(given)


def _list(
    request: Request,
    who: SignedIn,
    wanted: dict[str, Any],
    rows: list[dict[str, Any]],
    *,
    refused: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    shown = rows[: wanted["limit"]]
    kept = {
        key: value
        for key, value in wanted.items()
        if key not in ("after",) and value is not None and not (key == "limit" and value == PAGE)
    }
    more = len(rows) > wanted["limit"]
    return render(
        request,
        "exceptions.html",
        who,
        status_code=status_code,
        rows=shown,
        wanted=wanted,
        statuses=STATUSES,
        kinds=KINDS,
        refused=refused,
        only=ONLY_SUPERVISORS,
        summary_code=SUMMARY,
        next_page=f"?{urlencode({**kept, 'after': shown[-1]['id']})}" if more else None,
        first_page=f"?{urlencode(kept)}" if wanted["after"] else None,
    )


def _one(
    request: Request,
    who: SignedIn,
    exception_id: int,
    *,
    refused: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The exception page, read afresh from the store (after a refusal too: what it shows
    is what the store has)."""
    store = request.app.state.store
    with reading(store.sessions) as session:
        summary = session.scalar(
            select(SyncException.summary_id).where(SyncException.id == exception_id)
        )
        found = exception_rows(session, None, after=exception_id - 1, limit=1, summary=summary)
    row = found[0] if found and found[0]["id"] == exception_id else None
    if row is None:
        refused, status_code = f"No exception {exception_id}", 404
    return render(
        request,
        "exception.html",
        who,
        status_code=status_code,
        row=row,
        exception_id=exception_id,
        refused=refused,
        settled=request.query_params.get("settled") is not None and refused is None,
        only=ONLY_SUPERVISORS,
        quality_dismisses=[code.value for code in QUALITY_DISMISSES],
        open_status=ExceptionStatus.OPEN.value,
        summary_code=SUMMARY,
    )
