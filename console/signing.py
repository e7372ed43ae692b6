"""Signing in to the console and out of it (docs/architecture.md, "Office console"):
`/console/sign-in` (the form, and its POST), `/console/sign-out` (POST, CSRF-checked) and
`/console/` (to the devices page). The rules of a try are `console.sign_in_rules`'.

The sign-in form has no session to take a CSRF token from, so it carries one of its own:
the form's page sets it in a cookie of its own (SameSite=Strict) and in the form, and a
sign-in whose form does not carry its cookie's token is refused (403) before it is tried.
Another site's page can post a form here, but cannot read or set that cookie: so it cannot
sign a supervisor's browser in as someone else, whose session would then see and record
what the supervisor does."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from console.guard import CSRF_FIELD, SignedIn, checked_form, signed_in
from console.sessions import COOKIE, end_session, start_session
from console.sign_in_rules import try_sign_in
from console.templating import render
from console.writes import writing

PREFIX = "/console"  # console.app.PREFIX: where `lotscan serve` mounts the console
HOME = f"{PREFIX}/devices"
LONGEST_NEXT = 2000
"""The longest page address a sign-in goes on to; past it, the devices page."""
FORM_COOKIE = "lotscan_sign_in"
"""The cookie that holds the sign-in form's own CSRF token (see the module)."""
STALE_FORM = (
    "This sign-in form has expired or was not sent from the console: nothing was tried."
    " Sign in again"
)

router = APIRouter()


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = HOME) -> HTMLResponse:
    return _form(request, next)


@router.post("/sign-in")
def sign_in(
    request: Request,
    badge: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """A try at signing in. Text of any length is taken (the service's body limit bounds
    it) and judged by the rules of a try: a badge or password longer than any can be is
    not recognised, on the form, never repeated back."""
    next = next if len(next) <= LONGEST_NEXT else HOME
    expected = _form_token(request)
    if expected is None or not hmac.compare_digest(csrf, expected):
        return _form(request, next, badge=badge, error=STALE_FORM, status=403)
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
    answer.set_cookie(COOKIE, token, **_cookie(request, "lax"))
    answer.delete_cookie(FORM_COOKIE, **_cookie(request, "strict"))
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
    answer.delete_cookie(COOKIE, **_cookie(request, "lax"))
    return answer


@router.get("/")
def home(who: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    return RedirectResponse(HOME, status_code=303)


def _form(
    request: Request, next: str, *, badge: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    """The sign-in page, its form carrying the token of its cookie (set anew when the
    browser has none yet, so that two tabs' forms both sign in)."""
    token = _form_token(request) or secrets.token_urlsafe(32)
    page = render(
        request,
        "sign_in.html",
        None,
        status_code=status,
        next=_local(next),
        badge=badge,
        error=error,
        csrf=token,
    )
    page.set_cookie(FORM_COOKIE, token, **_cookie(request, "strict"))
    return page


def _cookie(request: Request, same_site: Literal["lax", "strict"]) -> dict[str, Any]:
    """How the console's cookies are set and deleted: for the console's paths alone, out of
    scripts' reach, sent from other sites as `same_site` says, and only over HTTPS when the
    browser came over HTTPS."""
    secure = request.url.scheme == "https"
    return {"path": PREFIX, "httponly": True, "samesite": same_site, "secure": secure}


def _form_token(request: Request) -> str | None:
    """The sign-in form's token from its cookie, when it holds one this page could have
    set (`secrets.token_urlsafe(32)`: 43 characters of the URL-safe alphabet)."""
    token = request.cookies.get(FORM_COOKIE)
    if token is None or len(token) != 43 or not token.isascii():
        return None
    if not all(c.isalnum() or c in "-_" for c in token):
        return None
    return token


def _local(wanted: str) -> str:
    """`wanted` if it is a page of the console on this site, else the devices page: a
    sign-in link never sends anyone elsewhere."""
    parts = urlsplit(wanted)
    local = not (parts.scheme or parts.netloc) and "\\" not in wanted
    within = parts.path == PREFIX or parts.path.startswith(f"{PREFIX}/")
    if local and within and not wanted.startswith("//") and "sign-in" not in parts.path:
        return wanted
    return HOME
