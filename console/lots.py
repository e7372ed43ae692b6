"""The Lots pages (docs/architecture.md, "Office console"): search by part, lot or serial
(a GS1 scan typed by a scanner jumps to its lot or serial), one lot or serial with its
status, its history and the whole recall answer, the forms that hold, release and recall
it, and a job's standing.

Every decision goes through `scanner.quality` and `scanner.recall` as the signed-in
operator, and is published for the handhelds as `lotscan lot hold` on the central store
publishes it (`scanner.cli_control.publish_to_handhelds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console.guard import SignedIn, checked_form, signed_in
from console.lot_search import Scanned, scanned, search
from console.templating import PageNumber, render
from console.writes import writing
from scanner.cli_control import publish_to_handhelds
from scanner.clock import aware
from scanner.db import reading
from scanner.errors import LotscanError
from scanner.lot_report import LotReport, lot_report
from scanner.models import LotStatus
from scanner.quality import Action, Item, Standing, change_status, described_item, find_item
from scanner.quantity import format_quantity
from scanner.recall import Recall, recall, recall_and_hold
from scanner.summaries import job_standing
from sync.central.recall_waiting import waiting_devices

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]
CheckedForm = Annotated[FormData, Depends(checked_form)]

ACTIONS = {
    LotStatus.ACTIVE.value: (Action.HOLD, Action.RECALL),
    LotStatus.HOLD.value: (Action.RELEASE, Action.RECALL),
    LotStatus.RECALLED.value: (Action.RELEASE, Action.HOLD),
}
"""The actions offered for a lot or serial by its own status: those that change it."""


def read_status(status: str | None) -> str:
    """A status as people read it: "on hold", "released", ..."""
    if status is None:
        return "-"
    return "on hold" if status == Standing.HOLD.value else str(status)


def when(moment: datetime | None) -> str:
    return f"{aware(moment):%Y-%m-%d %H:%M}" if moment is not None else "-"


PAGE_HELPERS: dict[str, Any] = {"read": read_status, "when": when, "qty": format_quantity}
"""What the Lots pages' templates call to show a status, a time and a quantity."""


def lot_url(part: str, lot: str | None = None, serial: str | None = None) -> str:
    """The page of one lot or serial (numbers go in the query: a lot number may hold `/`)."""
    named = {"part": part, "lot": lot, "serial": serial}
    return "/console/lot?" + urlencode({key: value for key, value in named.items() if value})


def job_url(number: str) -> str:
    return "/console/job?" + urlencode({"number": number})


# ---- search ---------------------------------------------------------------------------------


@router.get("/lots")
def lots_page(request: Request, who: Who, q: str = "", page: PageNumber = 1) -> Response:
    """The search form and a page of results; a scan that names a lot, serial, job or part
    goes straight to its page."""
    store = request.app.state.store
    found: list[Any] = []
    more = False
    error = target = None
    if q.strip():
        with reading(store.sessions) as session:
            try:
                jump = scanned(session, q)
                if jump is None:
                    found, more = search(session, q, page, store.clock().date())
                else:
                    target = _jump_url(jump)
            except LotscanError as refused:
                error = str(refused)
    if target is not None:
        return RedirectResponse(target, status_code=303)
    return render(
        request,
        "lots.html",
        who,
        status_code=404 if error else 200,
        q=q,
        found=found,
        page=max(page, 1),
        more=more,
        error=error,
        lot_url=lot_url,
        page_url=lambda number: "/console/lots?" + urlencode({"q": q, "page": number}),
    )


def _jump_url(jump: Scanned) -> str:
    """The page a scan names: its lot or serial, its job, or its part's lots."""
    if jump.item is not None:
        return _item_url(jump.item)
    if jump.job is not None:
        return job_url(jump.job)
    return "/console/lots?" + urlencode({"q": jump.part or ""})


def _item_url(item: Item) -> str:
    if item.serial is not None:
        return lot_url(item.part.number, serial=item.serial.number)
    assert item.lot is not None
    return lot_url(item.part.number, lot=item.lot.number)


# ---- one lot or serial ----------------------------------------------------------------------


@dataclass(frozen=True)
class LotView:
    """All the lot page shows of a lot or serial."""

    item: Item
    words: str
    description: str
    report: LotReport
    answer: Recall
    actions: tuple[Action, ...]

    @property
    def statuses(self) -> dict[tuple[str, str | None, str | None], str]:
        """The status of each lot and serial of the family still in the plant."""
        return {
            (each.part, each.lot, each.serial): read_status(each.status)
            for each in self.answer.statuses
        }


def _lot_view(
    session: Session, part: str, lot: str | None, serial: str | None, today: date
) -> LotView:
    item = find_item(session, part, lot=lot, serial=serial)
    lot, serial = _numbers(item)
    own = item.serial.quality_status if item.serial is not None else item.subject.status
    return LotView(
        item=item,
        words=described_item(item),
        description=item.part.description,
        report=lot_report(session, item, today),
        answer=recall(
            session,
            item.part.number,
            lot,
            serial,
            today=today,
            waiting_devices=waiting_devices(session),
        ),
        actions=ACTIONS.get(own, (Action.HOLD, Action.RELEASE, Action.RECALL)),
    )


def _numbers(item: Item) -> tuple[str | None, str | None]:
    """(lot, serial) as the recall names them: a serial alone, or a lot."""
    if item.serial is not None:
        return None, item.serial.number
    assert item.lot is not None
    return item.lot.number, None


def _show_lot(
    request: Request,
    who: SignedIn,
    named: tuple[str, str | None, str | None],
    *,
    notice: str | None = None,
    error: str | None = None,
    held: Recall | None = None,
) -> Response:
    store = request.app.state.store
    part, lot, serial = named
    try:
        with reading(store.sessions) as session:
            view = _lot_view(session, part, lot, serial, store.clock().date())
    except LotscanError as refused:
        return render(
            request, "lots.html", who, status_code=404, q=serial or lot or part, found=[],
            page=1, more=False, error=str(refused), lot_url=lot_url, page_url=str,
        )  # fmt: skip
    return render(
        request,
        "lot.html",
        who,
        status_code=400 if error else 200,
        view=view,
        notice=notice,
        error=error,
        held=held,
        lot_url=lot_url,
        job_url=job_url,
        **PAGE_HELPERS,
    )


@router.get("/lot")
def lot_page(
    request: Request,
    who: Who,
    part: str,
    lot: str | None = None,
    serial: str | None = None,
) -> Response:
    """One lot or serial: status, history, the recall answer and the actions."""
    return _show_lot(request, who, (part, lot or None, serial or None))


@router.post("/lot/status")
def change_lot_status(
    request: Request,
    who: Who,
    form: CheckedForm,
) -> Response:
    """Holds, releases or recalls the lot or serial of the form, as the signed-in operator,
    for the reason given; every handheld learns of it on its next sync."""
    named = _named(form)
    store = request.app.state.store
    try:
        action = Action(_field(form, "action") or "")
    except ValueError:
        return _show_lot(request, who, named, error="Choose hold, release or recall")
    try:
        with writing(request) as session:
            item = find_item(session, named[0], lot=named[1], serial=named[2])
            change = change_status(
                session, item, action, reason=_field(form, "reason") or "",
                by=who.badge, clock=store.clock,
            )  # fmt: skip
            published = publish_to_handhelds(session, [change])
            notice = f"{described_item(item)} {_done(action)} by {who.name}{published}"
    except LotscanError as refused:
        return _show_lot(request, who, named, error=str(refused))
    return _show_lot(request, who, named, notice=notice)


@router.post("/lot/recall-all")
def recall_everything(
    request: Request,
    who: Who,
    form: CheckedForm,
) -> Response:
    """Recalls the lot or serial and everything made from it still in the plant
    (`lotscan recall --hold`), as the signed-in operator, in one transaction, once the
    confirmation page's "Yes, recall" sent `confirm=yes`; before that, the confirmation."""
    named = _named(form)
    if form.get("confirm") != "yes":
        return _confirm_recall(request, who, named, _field(form, "reason") or "")
    store = request.app.state.store
    try:
        with writing(request) as session:
            answer = recall_and_hold(
                session, named[0], named[1], named[2], reason=_field(form, "reason") or "",
                by=who.badge, clock=store.clock, waiting_devices=waiting_devices(session),
            )  # fmt: skip
            published = publish_to_handhelds(session, answer.changes)
    except LotscanError as refused:
        return _show_lot(request, who, named, error=str(refused))
    count = len(answer.held or ())
    if count == 0:  # the form sent again (a page reloaded): nothing was left to recall
        notice = (
            "Nothing recalled: it and everything made from it in the plant are recalled already"
        )
    else:
        notice = f"Recalled {lots_and_serials(count)} by {who.name}{published}"
    return _show_lot(request, who, named, notice=notice, held=answer)


def lots_and_serials(count: int) -> str:
    """ "1 lot or serial", "4 lots and serials": what a recall counts."""
    return "1 lot or serial" if count == 1 else f"{count} lots and serials"


def _confirm_recall(
    request: Request, who: SignedIn, named: tuple[str, str | None, str | None], reason: str
) -> Response:
    """What the recall would change, asked before it is made. It is the recall itself,
    rehearsed in a transaction that is rolled back: the same rules refuse it (who may, the
    reason), and the list is the one it would recall now, not a second reading of the
    family that could disagree with it."""
    store = request.app.state.store
    try:
        with writing(request) as session:
            rehearsed = recall_and_hold(
                session, named[0], named[1], named[2], reason=reason, by=who.badge,
                clock=store.clock, waiting_devices=waiting_devices(session),
            )  # fmt: skip
            session.rollback()  # nothing of the rehearsal is kept
    except LotscanError as refused:
        return _show_lot(request, who, named, error=str(refused))
    part, lot, serial = named
    return render(
        request, "recall_confirm.html", who, part=part, lot=lot, serial=serial, reason=reason,
        to_recall=rehearsed.held or (), already=rehearsed.already_recalled or (),
        waiting=rehearsed.waiting_devices, back=lot_url(part, lot, serial), lot_url=lot_url,
    )  # fmt: skip


def _named(form: FormData) -> tuple[str, str | None, str | None]:
    part = _field(form, "part")
    if not part:
        raise HTTPException(400, "The form names no part")
    return part, _field(form, "lot"), _field(form, "serial")


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _done(action: Action) -> str:
    return {Action.HOLD: "put on hold", Action.RELEASE: "released"}.get(action, "recalled")


# ---- a job ----------------------------------------------------------------------------------


@router.get("/job")
def job_page(request: Request, who: Who, number: str) -> Response:
    """A job's standing: what it makes, how far it is, what it consumed and produced."""
    store = request.app.state.store
    try:
        with reading(store.sessions) as session:
            job = job_standing(session, number)
    except LotscanError as refused:
        return render(
            request, "job.html", who, status_code=404, job=None, error=str(refused),
            number=number, lot_url=lot_url, **PAGE_HELPERS,
        )  # fmt: skip
    return render(
        request, "job.html", who, job=job, error=None, number=number, lot_url=lot_url,
        **PAGE_HELPERS,
    )  # fmt: skip
