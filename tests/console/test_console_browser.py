"""The office console in a real browser: Debian's Chromium, headless, driven by Playwright
(tests/support/browser.py), against `lotscan serve` started on a free loopback port over the
test plant's central store, on SQLite and on PostgreSQL. Handhelds sync with the same server
over HTTP, so what a supervisor does in the browser is seen where the floor sees it.

The pages are the contract of docs/architecture.md, "Office console": the sign-in form
(`badge`, `password`, "Sign in"), "Sign out" in the header, the devices table `#devices`, the
exceptions table `#exceptions`, the lots search `#search` with "Search", and the lot page's
"Hold"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from console.models import ConsoleSignIn, SignInOutcome
from scanner.clock import utc_now
from scanner.db import unit_of_work
from scanner.errors import LotscanError
from sync.device.client import DeviceRevoked
from tests.support.browser import (
    ConsoleServer,
    chromium,
    follow,
    fresh_page,
    set_console_password,
    sign_in,
)
from tests.support.sync_over_http import Handheld, Site

SUPERVISOR = "B9001"  # Sam Okafor, tests/support/plant.py
FLOOR = "B1001"  # Ana Ruiz
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module; each test has a context (cookies) of its own."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Site]:
    """The test plant on a central store served by `lotscan serve` in its own process."""
    plant = Site(db_url, tmp_path)
    try:
        with ConsoleServer(db_url, tmp_path / "office") as server:
            plant.url = server.url
            yield plant
    finally:
        plant.close()


@pytest.fixture
def site(served: Site, tmp_path: Path) -> Site:
    """`served`, with a console password for Sam Okafor, the plant's supervisor."""
    set_console_password(served.db_url, SUPERVISOR, PASSWORD, home=tmp_path / "office")
    return served


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    with fresh_page(browser, site.url) as opened:
        yield opened


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?", 1)[0]


def on_sign_in_page(page: Page) -> None:
    assert path_of(page) == "/console/sign-in", page.url
    expect(page.locator('input[name="password"]')).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_the_harness_serves_chromium_from_lotscan_serve(browser: Browser, served: Site) -> None:
    """Chromium reaches the `lotscan serve` this test started and reads its answer."""
    with fresh_page(browser, served.url) as page:
        answer = page.goto("/v1/health")
        assert answer is not None and answer.status == 200
        assert answer.json()["status"] == "ok"


# ---- signing in and out ------------------------------------------------------------------


def test_a_supervisor_signs_in_lands_on_devices_and_signs_out(page: Page) -> None:
    sign_in(page, SUPERVISOR, PASSWORD)

    assert path_of(page) == "/console/devices"
    expect(page.locator("#devices")).to_be_visible()
    expect(page.get_by_text("Sam Okafor").first).to_be_visible()

    follow(page, page.get_by_role("button", name="Sign out"))
    on_sign_in_page(page)
    page.goto("/console/devices")  # the session is gone: the page asks to sign in again
    on_sign_in_page(page)


def test_the_devices_page_stops_refreshing_and_says_so_once_signed_out(
    site: Site, page: Page, tmp_path: Path
) -> None:
    signed_in(page)
    # A new password ends the sessions its operator had (set elsewhere, say).
    set_console_password(site.db_url, SUPERVISOR, PASSWORD + "!", home=tmp_path / "office")

    notice = page.locator("#signed-out")
    expect(notice).to_contain_text("Signed out", timeout=15_000)  # the next refresh, in 5 s
    expect(notice.get_by_role("link", name="Sign in again")).to_have_attribute(
        "href", "/console/sign-in?next=%2Fconsole%2Fdevices"
    )


def test_back_after_signing_out_shows_no_page_the_browser_kept(page: Page) -> None:
    signed_in(page)
    follow(page, page.get_by_role("button", name="Sign out"))
    on_sign_in_page(page)
    page.go_back()  # to the devices page: asked for again (no-store), so the sign-in page
    on_sign_in_page(page)


def test_a_wrong_password_is_refused_on_the_sign_in_page(page: Page) -> None:
    sign_in(page, SUPERVISOR, "not the password")

    on_sign_in_page(page)
    expect(page.locator("body")).to_contain_text(re.compile("password", re.IGNORECASE))
    page.goto("/console/devices")
    on_sign_in_page(page)


def test_a_floor_badge_cannot_sign_in(page: Page) -> None:
    sign_in(page, FLOOR, PASSWORD)

    on_sign_in_page(page)
    page.goto("/console/exceptions")
    on_sign_in_page(page)


def test_repeated_failures_make_a_badge_wait_even_for_the_right_password(page: Page) -> None:
    # After three failures each try waits a little longer; the ten-failure lock, which needs
    # a clock that can be moved, is tested without a browser (tests/console/test_signing.py).
    for _attempt in range(3):
        sign_in(page, SUPERVISOR, "guess")
        expect(page.locator("body")).to_contain_text("not recognised")

    sign_in(page, SUPERVISOR, PASSWORD)

    on_sign_in_page(page)
    expect(page.locator("body")).to_contain_text(re.compile(r"wait \d+ seconds"))


def test_a_locked_badge_is_refused_even_for_the_right_password(site: Site, page: Page) -> None:
    # Ten failures a minute apart (no wait holds between them): the badge is locked for a
    # quarter of an hour from the last. Recorded in the store as the form records them.
    now = utc_now()
    with unit_of_work(site.central) as session:
        session.add_all(
            ConsoleSignIn(
                badge=SUPERVISOR,
                at=now - timedelta(minutes=10 - tries),
                succeeded=False,
                address="127.0.0.1",
                reason=SignInOutcome.WRONG_PASSWORD.value,
            )
            for tries in range(10)
        )

    sign_in(page, SUPERVISOR, PASSWORD)

    on_sign_in_page(page)
    expect(page.locator("body")).to_contain_text(re.compile("locked", re.IGNORECASE))


def test_a_form_posted_without_its_csrf_token_changes_nothing(site: Site, page: Page) -> None:
    dock = site.enroll("dock")
    signed_in(page)
    row = page.locator(f'#devices tr[data-device="{dock.device}"]')
    # The token is stripped from the confirmation page once it has loaded, not from the list
    # it leaves (which let the real page post its token now and then).
    follow(page, row.get_by_text("Revoke", exact=True))
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    expect(page.locator("input[name=csrf]")).to_have_count(0)
    with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        page.get_by_role("button", name=re.compile("revoke", re.IGNORECASE)).click()
    assert posted.value.status == 403
    page.goto("/console/devices")
    expect(page.locator(f'#devices tr[data-device="{dock.device}"]')).not_to_contain_text("revoked")
    dock.sync()  # still enrolled: a revoked device raises DeviceRevoked here


# ---- what the console does reaches the floor ----------------------------------------------


def signed_in(page: Page) -> Page:
    sign_in(page, SUPERVISOR, PASSWORD)
    assert path_of(page) == "/console/devices", page.url
    return page


def fill_reason(scope: Locator | Page, reason: str) -> None:
    """The reason a settlement or a hold asks for, where the form has a field for it."""
    field = scope.locator('[name="reason"]')
    if field.count():
        field.first.fill(reason)


def test_voiding_a_held_movement_in_the_browser_reaches_the_handheld(
    site: Site, page: Page
) -> None:
    """A serial received on two handhelds: the second receipt is held for a supervisor,
    who voids it in the console; the handheld's next pull shows it voided."""
    dock, line = site.enroll("dock"), site.enroll("line")
    dock.record(lambda ledger: ledger.receive("PUMP", 1, "A-01", serial="P-2"))
    line.record(lambda ledger: ledger.receive("PUMP", 1, "A-02", serial="P-2"))
    dock.sync()
    line.sync()
    assert [m.sync_state for m in line.own()] == ["held"]

    signed_in(page).goto("/console/exceptions")
    row = page.locator("#exceptions tr[data-exception]", has_text="P-2")
    expect(row).to_have_count(1)
    follow(page, row.get_by_role("link").first)  # the exception, beside its movement
    void = page.locator("form", has=page.get_by_role("button", name="Void"))
    fill_reason(void, "a duplicate label")
    follow(page, void.get_by_role("button", name="Void"))
    expect(page.locator("body")).to_contain_text("Sam Okafor")  # who settled it

    assert site.exceptions(status="open") == []
    line.sync()
    assert [m.sync_state for m in line.own()] == ["voided"]


def test_a_device_revoked_in_the_browser_is_refused_and_keeps_its_queue(
    site: Site, page: Page
) -> None:
    dock = site.enroll("dock")
    dock.record(lambda ledger: ledger.receive("BOLT", 5, "A-01"))

    signed_in(page)
    row = page.locator(f'#devices tr[data-device="{dock.device}"]')
    follow(page, row.get_by_text("Revoke", exact=True))
    follow(page, page.get_by_role("button", name=re.compile("revoke", re.IGNORECASE)))
    page.goto("/console/devices")
    expect(page.locator(f'#devices tr[data-device="{dock.device}"]')).to_contain_text("revoked")

    with pytest.raises(DeviceRevoked):
        dock.sync()
    assert dock.pending() == [1]


def test_a_hold_set_in_the_console_refuses_the_next_issue_after_a_pull(
    site: Site, page: Page
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    dock.record(lambda ledger: ledger.receive("PIGMENT", 5, "RCV", lot="PG-1"))
    dock.sync()
    line.sync()

    signed_in(page).goto("/console/lots")
    page.locator("#search").fill("PG-1")
    follow(page, page.get_by_role("button", name="Search"))
    hold = page.get_by_role("button", name="Hold")
    if not hold.count():  # a list of matches: open the lot's page
        follow(page, page.get_by_role("link", name=re.compile("PG-1")).first)
    fill_reason(page, "porosity")
    follow(page, page.get_by_role("button", name="Hold"))

    line.sync()
    with pytest.raises(LotscanError, match="hold"):
        issue_pigment(line)


def issue_pigment(handheld: Handheld) -> None:
    handheld.record(lambda ledger: ledger.issue_to_job("J-HOUSING", "PIGMENT", 2, lot="PG-1"))
