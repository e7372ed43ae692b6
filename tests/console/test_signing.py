"""Signing in to the office console and out of it: who may, how often they may try, how
long a session lasts, and that no console page or action is had without one
(docs/architecture.md, "Office console")."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute, Mount

from console.models import ConsoleSession, ConsoleSignIn
from console.sessions import COOKIE, start_session, token_id
from console.signing import FORM_COOKIE
from scanner.clock import aware
from scanner.db import reading, unit_of_work
from scanner.models import Operator
from scanner.passwords import set_password
from scanner.settings import CONSOLE_IDLE_MINUTES, write_setting
from sync.central.enrollment import enroll, issue_code
from sync.protocol import EnrollRequest
from tests.console.conftest import (
    FLOOR,
    PASSWORD,
    QUALITY,
    SUPERVISOR,
    MovableClock,
    sign_in,
    sign_in_token,
)
from tests.support.sync_service import bearer

NOT_RECOGNISED = "Badge or password not recognised"


def signed_in_page(client: TestClient) -> bool:
    """Whether the console takes the browser in: its home sends it on to the devices page,
    not to the sign-in form."""
    answer = client.get("/console/")
    assert answer.status_code == 303
    return bool(answer.headers["location"] == "/console/devices")


def reasons(sessions: sessionmaker[Session]) -> list[tuple[str, bool, str]]:
    with reading(sessions) as session:
        rows = session.execute(
            select(ConsoleSignIn.badge, ConsoleSignIn.succeeded, ConsoleSignIn.reason).order_by(
                ConsoleSignIn.id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def csrf_of(client: TestClient) -> str:
    """The CSRF token the signed-in browser's forms carry, as its session keeps it."""
    app = client.app
    assert isinstance(app, FastAPI)
    with reading(app.state.store.sessions) as session:
        return session.get_one(ConsoleSession, token_id(client.cookies[COOKIE])).csrf_token


def console_of(app: FastAPI) -> FastAPI:
    mounted = next(
        route.app for route in app.routes if isinstance(route, Mount) and route.path == "/console"
    )
    assert isinstance(mounted, FastAPI)
    return mounted


# ---- signing in and out --------------------------------------------------------------------


def test_the_sign_in_form_has_badge_password_and_a_sign_in_button(browser: TestClient) -> None:
    page = browser.get("/console/sign-in", params={"next": "/console/lots"})
    assert page.status_code == 200
    assert 'name="badge"' in page.text and 'name="password"' in page.text
    assert 'type="password"' in page.text
    assert re.search(r"<button[^>]*>Sign in</button>", page.text)
    assert 'name="next" value="/console/lots"' in page.text


@pytest.mark.parametrize("badge", [SUPERVISOR, QUALITY])
def test_a_supervisor_or_quality_staff_signs_in_to_the_devices_page_and_out_again(
    browser: TestClient, sessions: sessionmaker[Session], badge: str
) -> None:
    answer = sign_in(browser, badge)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/devices"
    assert signed_in_page(browser)
    assert browser.get("/console/").headers["location"] == "/console/devices"

    out = browser.post("/console/sign-out", data={"csrf": csrf_of(browser)})
    assert out.status_code == 303
    assert out.headers["location"] == "/console/sign-in"
    assert COOKIE not in browser.cookies
    assert not signed_in_page(browser)
    with reading(sessions) as session:
        (row,) = session.scalars(select(ConsoleSession))
        assert row.badge == badge and row.ended_at is not None
    assert reasons(sessions) == [(badge, True, "signed_in")]


def test_a_sign_in_posted_without_its_forms_token_is_refused_before_it_is_tried(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    # Another site's page posts the form from the supervisor's browser: with no token, or
    # with its own page's token, which is not the one in this browser's cookie.
    its_own = sign_in_token(browser)
    browser.cookies.clear()
    theirs = sign_in_token(browser)
    for token in (None, its_own):
        fields = {"badge": SUPERVISOR, "password": PASSWORD}
        if token is not None:
            fields["csrf"] = token
        answer = browser.post("/console/sign-in", data=fields)
        assert answer.status_code == 403
        assert "This sign-in form has expired or was not sent from the console" in answer.text
        assert COOKIE not in browser.cookies
    assert reasons(sessions) == []  # not a try: nothing counts against the badge
    # The page it answered with carries this browser's token, and signs in.
    assert theirs != its_own
    again = browser.post(
        "/console/sign-in", data={"csrf": theirs, "badge": SUPERVISOR, "password": PASSWORD}
    )
    assert again.status_code == 303 and signed_in_page(browser)
    assert FORM_COOKIE not in browser.cookies  # done with once signed in


def test_the_sign_in_forms_token_cookie_is_strict_and_for_the_console_only(
    browser: TestClient,
) -> None:
    cookie = set_cookie_of(browser.get("/console/sign-in"), FORM_COOKIE)
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/console", "samesite=strict"} <= attributes
    assert "secure" not in attributes  # over plain HTTP (see the HTTPS test below)
    # Two tabs' forms carry the same token, so either signs in.
    assert sign_in_token(browser) == sign_in_token(browser)


def test_the_store_keeps_only_the_hash_of_the_session_token(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    sign_in(browser)
    token = browser.cookies[COOKIE]
    with reading(sessions) as session:
        (kept,) = session.scalars(select(ConsoleSession.id))
    assert len(token) >= 43 and kept != token
    assert re.fullmatch(r"[0-9a-f]{64}", kept)


def test_sign_in_goes_back_to_the_console_page_asked_for_and_nowhere_else(
    browser: TestClient,
) -> None:
    asked = browser.get("/console/?part=BOLT")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/console/sign-in?next=%2Fconsole%2F%3Fpart%3DBOLT"
    assert sign_in(browser, next="/console/lots?part=BOLT").headers["location"] == (
        "/console/lots?part=BOLT"
    )
    for elsewhere in ("https://evil.example/console/", "//evil.example/console", "/v1/sync/pull"):
        browser.cookies.clear()
        assert sign_in(browser, next=elsewhere).headers["location"] == "/console/devices"


def test_a_wrong_password_and_an_unknown_badge_read_the_same_and_are_recorded_apart(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    wrong = sign_in(browser, SUPERVISOR, "not the password at all")
    unknown = sign_in(browser, "NOBODY", PASSWORD)
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert NOT_RECOGNISED in answer.text
        assert COOKIE not in browser.cookies
    assert reasons(sessions) == [
        (SUPERVISOR, False, "wrong_password"),
        ("NOBODY", False, "unknown_badge"),
    ]


def test_an_operator_without_a_password_cannot_sign_in(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions) as session:
        session.get_one(Operator, QUALITY).password_hash = None
    answer = sign_in(browser, QUALITY, "")
    assert answer.status_code == 401 and NOT_RECOGNISED in answer.text
    assert reasons(sessions) == [(QUALITY, False, "no_password")]


def test_a_floor_badge_is_refused_even_with_its_password(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    answer = sign_in(browser, FLOOR, PASSWORD)
    assert answer.status_code == 401 and NOT_RECOGNISED in answer.text
    assert COOKIE not in browser.cookies
    assert not signed_in_page(browser)
    assert reasons(sessions) == [(FLOOR, False, "not_console_role")]


def test_text_typed_in_the_form_shows_as_text(browser: TestClient) -> None:
    answer = sign_in(browser, "<script>alert(1)</script>", "x")
    assert "<script>alert(1)</script>" not in answer.text
    assert "&lt;script&gt;" in answer.text


# ---- too many tries ------------------------------------------------------------------------


def test_after_three_failures_each_further_try_waits(
    browser: TestClient, sessions: sessionmaker[Session], movable_clock: MovableClock
) -> None:
    for _ in range(3):
        assert sign_in(browser, SUPERVISOR, "wrong password!").status_code == 401
    waiting = sign_in(browser, SUPERVISOR, PASSWORD)
    assert waiting.status_code == 429
    assert waiting.headers["retry-after"] == "5"
    assert "wait 5 seconds" in waiting.text
    assert COOKIE not in browser.cookies
    movable_clock.advance(seconds=5)
    assert sign_in(browser, SUPERVISOR, PASSWORD).status_code == 303
    assert [reason for _b, _s, reason in reasons(sessions)][-2:] == ["throttled", "signed_in"]


def test_ten_failures_lock_the_badge_for_fifteen_minutes_even_to_the_right_password(
    browser: TestClient, sessions: sessionmaker[Session], movable_clock: MovableClock
) -> None:
    for _ in range(10):
        assert sign_in(browser, SUPERVISOR, "wrong password!").status_code == 401
        movable_clock.advance(seconds=60)  # past every wait
    locked_at = movable_clock.now - timedelta(seconds=60)
    locked = sign_in(browser, SUPERVISOR, PASSWORD)
    assert locked.status_code == 429
    until = (locked_at + timedelta(minutes=15)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"Badge {SUPERVISOR} is locked after too many failed sign-ins, until {until}" in (
        locked.text
    )
    assert int(locked.headers["retry-after"]) == 14 * 60
    assert COOKIE not in browser.cookies

    movable_clock.advance(minutes=13, seconds=59)
    assert sign_in(browser, SUPERVISOR, PASSWORD).status_code == 429
    movable_clock.advance(seconds=1)
    assert sign_in(browser, SUPERVISOR, PASSWORD).status_code == 303
    assert signed_in_page(browser)
    assert [reason for _b, _s, reason in reasons(sessions)][-3:] == [
        "locked",
        "locked",
        "signed_in",
    ]


def test_a_lock_on_one_badge_leaves_the_others_be(
    browser: TestClient, movable_clock: MovableClock
) -> None:
    for _ in range(10):
        sign_in(browser, "NOBODY", PASSWORD)
        movable_clock.advance(seconds=60)
    assert sign_in(browser, "NOBODY", PASSWORD).status_code == 429
    assert sign_in(browser, QUALITY, PASSWORD).status_code == 303


# ---- how long a session lasts ------------------------------------------------------------


def test_a_session_unused_past_the_idle_time_has_ended(
    browser: TestClient, sessions: sessionmaker[Session], movable_clock: MovableClock
) -> None:
    sign_in(browser)
    movable_clock.advance(minutes=29)
    assert signed_in_page(browser)  # and used now: the idle time starts again
    movable_clock.advance(minutes=29)
    assert signed_in_page(browser)
    movable_clock.advance(minutes=30, seconds=1)
    assert not signed_in_page(browser)
    with reading(sessions) as session:
        (row,) = session.scalars(select(ConsoleSession))
        assert aware(row.ended_at) == movable_clock.now


def test_the_idle_time_is_a_setting_of_the_central_store(
    browser: TestClient, sessions: sessionmaker[Session], movable_clock: MovableClock
) -> None:
    with unit_of_work(sessions) as session:
        write_setting(session, CONSOLE_IDLE_MINUTES, 5)
    sign_in(browser)
    movable_clock.advance(minutes=5, seconds=1)
    assert not signed_in_page(browser)


def test_a_session_used_within_a_minute_is_not_written_again(
    browser: TestClient, sessions: sessionmaker[Session], movable_clock: MovableClock
) -> None:
    sign_in(browser)
    started = movable_clock.now
    movable_clock.advance(seconds=59)
    signed_in_page(browser)
    with reading(sessions) as session:
        assert aware(session.scalars(select(ConsoleSession.last_used_at)).one()) == started
    movable_clock.advance(seconds=1)
    signed_in_page(browser)
    with reading(sessions) as session:
        assert aware(session.scalars(select(ConsoleSession.last_used_at)).one()) == (
            movable_clock.now
        )


def test_an_operator_moved_to_the_floor_loses_their_session(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    sign_in(browser)
    with unit_of_work(sessions) as session:
        session.get_one(Operator, SUPERVISOR).role = "floor"
    assert not signed_in_page(browser)


def test_a_new_password_ends_the_operators_sessions(
    browser: TestClient, sessions: sessionmaker[Session], movable_clock: MovableClock
) -> None:
    sign_in(browser)
    with unit_of_work(sessions) as session:
        set_password(session, SUPERVISOR, "another long password", movable_clock())
    assert not signed_in_page(browser)
    assert sign_in(browser, SUPERVISOR, "another long password").status_code == 303


# ---- the cookie ---------------------------------------------------------------------------


def set_cookie_of(answer: httpx.Response, name: str = COOKIE) -> str:
    (cookie,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    return cookie


def test_the_cookie_is_http_only_same_site_lax_for_the_console_and_not_secure_over_http(
    browser: TestClient,
) -> None:
    cookie = set_cookie_of(sign_in(browser))
    assert cookie.startswith(f"{COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/console"} <= flags
    assert "secure" not in flags


def test_the_cookie_is_secure_when_the_browser_came_over_https(central_app: FastAPI) -> None:
    with TestClient(central_app, base_url="https://testserver", follow_redirects=False) as web:
        form_cookie = set_cookie_of(web.get("/console/sign-in"), FORM_COOKIE)
        cookie = set_cookie_of(sign_in(web))
        for each in (form_cookie, cookie):
            assert "secure" in {part.strip().lower() for part in each.split(";")[1:]}
        assert signed_in_page(web)


# ---- the guard on every route ---------------------------------------------------------------


def test_sign_out_without_the_csrf_token_changes_nothing(browser: TestClient) -> None:
    sign_in(browser)
    assert browser.post("/console/sign-out").status_code == 403
    assert browser.post("/console/sign-out", data={"csrf": "forged"}).status_code == 403
    assert signed_in_page(browser)


def test_a_device_token_is_no_console_session_and_a_console_cookie_no_device_token(
    browser: TestClient, sessions: sessionmaker[Session], movable_clock: MovableClock
) -> None:
    with unit_of_work(sessions) as session:
        code = issue_code(session, "Office", supervisor=True, clock=movable_clock).code
        token = enroll(session, EnrollRequest(code=code), clock=movable_clock).device_token
    answer = browser.get("/console/", headers=bearer(token))
    assert answer.status_code == 303 and "/console/sign-in" in answer.headers["location"]
    assert browser.get("/v1/sync/pull", headers=bearer(token)).status_code == 200

    sign_in(browser)
    # The cookie's path keeps it off the API; sent anyway, the API does not read it.
    cookie = {"Cookie": f"{COOKIE}={browser.cookies[COOKIE]}"}
    assert browser.get("/v1/sync/pull", headers=cookie).status_code == 401


def console_requests(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every console route but the sign-in page, its parameters filled."""
    found = []
    for path, methods in _endpoints(console_of(app).routes):
        if path != "/sign-in":
            filled = "/console" + re.sub(r"\{[^}]+\}", "X", path)
            found.extend((method, filled) for method in sorted(methods))
    return found


def _endpoints(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """The path and methods of every endpoint among `routes`. FastAPI (0.165) keeps an
    included router as one route holding the router (`original_router`), so look inside."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _endpoints(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, APIRoute):
            yield prefix + route.path, set(route.methods)


def refused(client: TestClient, method: str, path: str) -> bool:
    answer = client.request(method, path)
    if method in ("GET", "HEAD"):
        return answer.status_code == 303 and answer.headers["location"].startswith(
            "/console/sign-in?next="
        )
    return answer.status_code == 401


def test_every_console_route_refuses_a_request_without_a_session(
    central_app: FastAPI, browser: TestClient
) -> None:
    routes = console_requests(central_app)
    assert ("POST", "/console/sign-out") in routes and ("GET", "/console/") in routes
    browser.cookies.set(COOKIE, "not a token the store knows", path="/console")
    for method, path in routes:
        assert refused(browser, method, path), (method, path)


def test_every_console_route_refuses_a_floor_operator_with_a_session(
    central_app: FastAPI, browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    # A session left from before the operator was moved to the floor, say.
    with unit_of_work(sessions) as session:
        token = start_session(session, FLOOR, central_app.state.store.clock(), None)
    browser.cookies.set(COOKIE, token, path="/console")
    for method, path in console_requests(central_app):
        assert refused(browser, method, path), (method, path)
