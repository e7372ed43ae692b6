"""What the console answers when a request goes wrong: a page of its own that says what
happened and the way back, never the API's JSON, a server error or what was typed; and
what keeps a signed-out console from showing or refreshing what it showed
(docs/architecture.md, "Office console")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from console.sessions import REFRESH_HEADER
from scanner.db import unit_of_work
from scanner.settings import CONSOLE_IDLE_MINUTES, write_setting
from tests.console.conftest import SUPERVISOR, MovableClock, sign_in
from tests.console.test_signing import csrf_of, signed_in_page

REFRESH = {REFRESH_HEADER: "1"}
ROWS = "/console/devices?fragment=rows"


def is_page(answer: object) -> bool:
    headers = answer.headers
    return bool(headers["content-type"].startswith("text/html"))


# ---- a refreshing page is nobody using the console ----------------------------------------


def test_a_page_refreshing_itself_does_not_keep_its_session_from_ending(
    browser: TestClient, movable_clock: MovableClock
) -> None:
    sign_in(browser)
    for _ in range(12):  # an hour of the devices page left open, refreshing
        movable_clock.advance(minutes=5)
        refreshed = browser.get(ROWS, headers=REFRESH)
        if refreshed.status_code != 200:
            break
    # Unused for 30 minutes (the default), it ended: the refresh is sent to the sign-in page.
    assert refreshed.status_code == 303
    assert refreshed.headers["location"].startswith("/console/sign-in?next=")
    assert not signed_in_page(browser)


def test_someone_using_the_page_keeps_it(browser: TestClient, movable_clock: MovableClock) -> None:
    sign_in(browser)
    for _ in range(12):
        movable_clock.advance(minutes=5)
        assert browser.get(ROWS).status_code == 200  # a person reloading it, say
    assert signed_in_page(browser)


def test_the_shortest_idle_time_holds_while_the_console_is_used(
    browser: TestClient, sessions: sessionmaker[Session], movable_clock: MovableClock
) -> None:
    with unit_of_work(sessions) as session:
        write_setting(session, CONSOLE_IDLE_MINUTES, 1)
    sign_in(browser)
    for _ in range(18):  # three minutes, a page every ten seconds
        movable_clock.advance(seconds=10)
        assert browser.get("/console/lots").status_code == 200
    movable_clock.advance(minutes=1, seconds=1)
    assert not signed_in_page(browser)


# ---- nothing kept to show after signing out -------------------------------------------------


def test_console_pages_are_not_kept_by_the_browser_but_its_static_files_may_be(
    browser: TestClient,
) -> None:
    assert browser.get("/console/sign-in").headers["cache-control"] == "no-store"
    sign_in(browser)
    for path in ("/console/devices", ROWS, "/console/lots", "/console/stock"):
        assert browser.get(path).headers["cache-control"] == "no-store", path
    assert "no-store" not in browser.get("/console/static/refresh.js").headers.get(
        "cache-control", ""
    )


# ---- refusals are pages ---------------------------------------------------------------------


def test_a_form_sent_after_the_session_ended_says_nothing_was_done_and_how_to_go_on(
    browser: TestClient, movable_clock: MovableClock
) -> None:
    sign_in(browser)
    csrf = csrf_of(browser)
    movable_clock.advance(minutes=31)
    lot = "/console/lot?part=RESIN&lot=R-1"
    answer = browser.post(
        "/console/lot/status",
        data={"csrf": csrf, "part": "RESIN", "lot": "R-1", "action": "hold", "reason": "Porosity"},
        headers={"Referer": f"http://testserver{lot}"},
    )
    assert answer.status_code == 401 and is_page(answer)
    assert "Your console session has ended" in answer.text
    assert "nothing was done" in answer.text
    assert 'href="/console/sign-in?next=%2Fconsole%2Flot%3Fpart%3DRESIN%26lot%3DR-1"' in (
        answer.text.replace("&amp;", "&")
    )


def test_a_form_from_before_signing_in_again_is_refused_on_a_page(browser: TestClient) -> None:
    sign_in(browser)
    old = csrf_of(browser)
    sign_in(browser)  # in another tab, say
    answer = browser.post("/console/sign-out", data={"csrf": old})
    assert answer.status_code == 403 and is_page(answer)
    assert "This form is out of date" in answer.text
    assert signed_in_page(browser)


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("GET", "/console/nowhere", 404, "There is no such page in the console"),
        ("GET", "/console/lots?q=G&page=abc", 422, "page: Input should be a valid integer"),
        ("GET", "/console/lots?q=G&page=99999999999999999999", 422, "page: Input should be"),
        ("GET", "/console/stock?page=9223372036854775807", 422, "page: Input should be"),
        ("GET", "/console/exceptions/9223372036854775808", 422, "exception_id: Input should"),
        ("POST", "/console/exceptions/99999999999999999999/void", 422, "exception_id:"),
        ("GET", "/console/lot", 422, "part: Field required"),
    ],
)
def test_a_request_the_console_cannot_answer_gets_a_page_naming_what_is_wrong(
    browser: TestClient, method: str, path: str, status: int, words: str
) -> None:
    sign_in(browser)
    data = {"csrf": csrf_of(browser)} if method == "POST" else None
    answer = browser.request(method, path, data=data)
    assert (answer.status_code, is_page(answer)) == (status, True), answer.text
    assert words in answer.text


def test_a_sign_in_longer_than_any_is_not_recognised_and_not_repeated(
    browser: TestClient,
) -> None:
    typed = "p" * 1500
    for badge, password in ((SUPERVISOR, typed), ("B" * 300, "correct horse battery")):
        answer = sign_in(browser, badge, password)
        assert answer.status_code == 401 and is_page(answer)
        assert "Badge or password not recognised" in answer.text
        assert typed not in answer.text and "B" * 300 not in answer.text


# ---- a NUL, and ids past what the store holds --------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/console/exceptions?device=%00", "device"),
        ("/console/stock?part=P%00", "part"),
        ("/console/lots?q=%00", "q"),
        ("/console/devices/%00/revoke", "the address"),
        ("/console/exceptions/3000000000", None),
    ],
)
def test_a_nul_or_an_id_past_the_store_s_is_refused_by_a_page(
    browser: TestClient, path: str, field: str | None
) -> None:
    """On PostgreSQL each of these answered a bare "Internal Server Error" (the database
    refused the NUL, or the 32-bit id), where SQLite answered a page (probe)."""
    sign_in(browser)
    answer = browser.get(path)
    assert answer.status_code == 422 and is_page(answer)
    if field is not None:
        assert f"{field}: holds a NUL character, which no field of the console takes" in (
            answer.text
        )
    else:
        assert "exception_id: Input should be less than or equal to 2147483647" in answer.text
    assert signed_in_page(browser)


def test_a_form_holding_a_nul_changes_nothing_and_names_its_field(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    refused = sign_in(browser, badge="B9001\x00")
    assert refused.status_code == 422 and is_page(refused)
    assert "badge: holds a NUL character" in refused.text
    assert not signed_in_page(browser)
    sign_in(browser)
    posted = browser.post(
        "/console/lot/status",
        data={"csrf": csrf_of(browser), "part": "\x00", "lot": "L-1", "action": "hold"},
    )
    assert posted.status_code == 422 and "part: holds a NUL character" in posted.text
    assert signed_in_page(browser)
