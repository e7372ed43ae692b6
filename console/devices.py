"""The Devices page (issue 19): every handheld with what it last reported and how many of
its movements wait for a supervisor, the same rows `lotscan devices list` prints
(`sync.central.supervision.device_rows`); enrolling a device (its one-time code, also as a
QR code) and revoking one, after a confirmation.

Quality staff see the page; only a supervisor enrolls or revokes, as only a supervisor's
handheld may (`lotscan devices` runs on the central machine itself).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from console.guard import SignedIn, checked_form, signed_in
from console.templating import render
from console.writes import writing
from scanner.db import reading
from sync.central import enrollment
from sync.central.errors import SyncError
from sync.central.models import DeviceStatus
from sync.central.supervision import device_rows

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]
CheckedForm = Annotated[FormData, Depends(checked_form)]

STALE_AFTER = timedelta(minutes=10)
"""An enrolled handheld syncs every 30 seconds while it is on: one unheard of for ten
minutes is off, out of reach, or stuck."""
STALE_MINUTES = int(STALE_AFTER.total_seconds() // 60)
ONLY_SUPERVISORS = "Only a supervisor enrolls or revokes devices: quality staff see this page"


def console_by(who: SignedIn) -> str:
    """The signed-in operator as the store's history names who did something."""
    return f"{who.name} ({who.badge}) on the console"


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, who: Who, fragment: str | None = None) -> Response:
    """The devices; `?fragment=rows` is only the table's body, which the page fetches every
    five seconds to refresh itself (static/refresh.js)."""
    if fragment == "rows":
        return render(
            request, "device_rows.html", who, devices=_devices(request), stale_minutes=STALE_MINUTES
        )
    return _page(request, who)


@router.post("/devices/enroll", response_class=HTMLResponse)
def enroll_device(
    request: Request,
    who: Who,
    form: CheckedForm,
) -> Response:
    """A one-time code for the device named in the form (a new one, or an existing one
    coming back), shown with its expiry and as a QR code."""
    if not who.supervisor:
        return _page(request, who, refused=ONLY_SUPERVISORS, status_code=403)
    name = form.get("name")
    store = request.app.state.store
    try:
        with writing(request) as session:
            issued = enrollment.issue_code(
                session,
                name if isinstance(name, str) else "",
                supervisor=form.get("supervisor") is not None,
                by=console_by(who),
                clock=store.clock,
            )
            address = enrollment.service_address(session)
    except SyncError as refused:
        return _page(request, who, refused=refused.message, status_code=refused.status)
    command = enroll_command(address or _own_address(request), issued.code)
    return _page(
        request,
        who,
        issued=issued,
        issued_name=name,
        replacing=issued.replacing_words(name if isinstance(name, str) else ""),
        command=command,
        qr_svg=segno.make(command, error="m").svg_inline(scale=4, dark="#000", light="#fff"),
    )


def enroll_command(address: str, code: str) -> str:
    """What the QR code carries: the handheld's own enroll command, whole. A 2D scanner or a
    camera app types it into the handheld's shell; the handheld has no enroll-by-scan of its
    own, so this is the one text it accepts as it is."""
    return f"lotscan enroll {address} {code}"


@router.get("/devices/{device_id}/revoke", response_class=HTMLResponse)
def confirm_revoke(request: Request, device_id: str, who: Who) -> Response:
    """Asks before revoking: a revoked handheld stops syncing at once."""
    store = request.app.state.store
    try:
        with reading(store.sessions) as session:
            device = enrollment.find_device(session, device_id)
            shown = {"id": device.id, "name": device.name, "status": device.status}
    except SyncError as refused:
        return _page(request, who, refused=refused.message, status_code=refused.status)
    return render(request, "revoke.html", who, device=shown, only=ONLY_SUPERVISORS)


@router.post("/devices/{device_id}/revoke", response_class=HTMLResponse)
def revoke_device(
    request: Request,
    device_id: str,
    who: Who,
    form: CheckedForm,
) -> Response:
    """Revokes the device once the confirmation page's "Yes, revoke" sent `confirm=yes`;
    it keeps its queue, and a new code brings it back."""
    if not who.supervisor:
        return _page(request, who, refused=ONLY_SUPERVISORS, status_code=403)
    if form.get("confirm") != "yes":
        return _page(request, who, refused="Nothing was revoked: confirm it first", status_code=422)
    store = request.app.state.store
    try:
        with writing(request) as session:
            device = enrollment.revoke(session, device_id, by=console_by(who), clock=store.clock)
            done = (
                f"Device {device.id} ({device.name}) is revoked: it no longer syncs. It keeps"
                " its queue; enrolling it again under its name brings it back."
            )
    except SyncError as refused:
        return _page(request, who, refused=refused.message, status_code=refused.status)
    return _page(request, who, done=done)


def _page(request: Request, who: SignedIn, status_code: int = 200, **context: Any) -> HTMLResponse:
    values: dict[str, Any] = {
        "refused": None,
        "done": None,
        "issued": None,
        "only": ONLY_SUPERVISORS,
        **context,
    }
    return render(
        request,
        "devices.html",
        who,
        status_code=status_code,
        devices=_devices(request),
        stale_minutes=STALE_MINUTES,
        **values,
    )


def _devices(request: Request) -> list[dict[str, Any]]:
    """`device_rows`, each marked stale or not by the store's clock."""
    store = request.app.state.store
    with reading(store.sessions) as session:
        rows = device_rows(session)
    now: datetime = store.clock()
    return [{**row, "stale": _stale(row, now)} for row in rows]


def _stale(row: dict[str, Any], now: datetime) -> bool:
    """An enrolled device unheard of for `STALE_AFTER` (or never heard of)."""
    if row["status"] != DeviceStatus.ACTIVE:
        return False
    if row["last_seen"] is None:
        return True
    return now - datetime.fromisoformat(row["last_seen"]) > STALE_AFTER


def _own_address(request: Request) -> str:
    """The service as this browser reached it, before `lotscan serve` recorded its own."""
    return f"{request.url.scheme}://{request.url.netloc}"
