"""Signing in to the console and out of it (docs/architecture.md, "Office console"):
`/console/sign-in` (the form, and its POST), `/console/sign-out` (POST, CSRF-checked) and
`/console/` (to the devices page). The rules of a try are `console.sign_in_rules`'."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from console.guard import SignedIn, checked_form, signed_in
from console.sessions import COOKIE, end_session, start_session
from console.sign_in_rules import try_sign_in
from console.templating import render
from console.writes import writing

PREFIX = "/console"  # console.app.PREFIX: where `lotscan serve` mounts the console
HOME = f"{PREFIX}/devices"

router = APIRouter()


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = HOME) -> HTMLResponse:
    return _form(request, next)


@router.post("/sign-in")
def sign_in(
    request: Request,
    badge: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    store = request.app.state.store
    now = store.clock()
    address = request.client.host if request.client else None
    with writing(request) as session:
        attempt = try_sign_in(session, badge, password, now, address)
        token = start_session(session, attempt.badge, now, address) if attempt.succeeded else None
    if token is None:
        status = 401 if attempt.retry_at is None else 429
        refused = _form(
            request, next, badge=attempt.badge, error=attempt.message(now), status=status
        )
        if attempt.retry_at is not None:
            refused.headers["Retry-After"] = str(attempt.wait_seconds(now))
        return refused
    answer = RedirectResponse(_local(next), status_code=303)
    answer.set_cookie(
        COOKIE,
        token,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return answer


@router.post("/sign-out")
def sign_out(
    request: Request,
    who: Annotated[SignedIn, Depends(signed_in)],
    form: Annotated[FormData, Depends(checked_form)],
) -> Response:
    store = request.app.state.store
    with writing(request) as session:
        end_session(session, who.session_id, store.clock())
    answer = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    answer.delete_cookie(
        COOKIE, path=PREFIX, httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
    return answer


@router.get("/")
def home(who: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    return RedirectResponse(HOME, status_code=303)


def _form(
    request: Request, next: str, *, badge: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "sign_in.html",
        None,
        status_code=status,
        next=_local(next),
        badge=badge,
        error=error,
    )


def _local(wanted: str) -> str:
    """`wanted` if it is a page of the console on this site, else the devices page: a
    sign-in link never sends anyone elsewhere."""
    parts = urlsplit(wanted)
    local = not (parts.scheme or parts.netloc) and "\\" not in wanted
    within = parts.path == PREFIX or parts.path.startswith(f"{PREFIX}/")
    if local and within and not wanted.startswith("//") and "sign-in" not in parts.path:
        return wanted
    return HOME
