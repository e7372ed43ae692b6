"""The README's screenshots of the console, made from the demo: `lotscan demo` on a central
SQLite database, two handhelds enrolled and synced with the `lotscan serve` started on it,
Mark Jensen (the demo's supervisor) signed in in Debian's Chromium, at 1280x800, and the
devices page once more 768 wide, as a tablet shows it.

The pictures go to the test's own folder, so a test run leaves the clone as it found it;
with `--snapshot-update` (as the handheld's snapshot tests take it) they replace the
committed ones in docs/console/: `pytest tests/console/test_console_screenshots.py
--snapshot-update`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page

from scanner.db import unit_of_work
from scanner.workspace import sqlite_url
from sync.central.enrollment import issue_code
from sync.device.client import enroll_handheld
from tests.support.browser import (
    TABLET,
    WIDE,
    ConsoleServer,
    chromium,
    follow,
    fresh_page,
    lotscan,
    set_console_password,
    sign_in,
)
from tests.support.sync_over_http import Handheld, open_copy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
SUPERVISOR = "B1010"  # Mark Jensen, scanner/demo_data/operators.csv
PASSWORD = "demo console password"


@pytest.fixture
def demo_console(tmp_path: Path) -> Iterator[str]:
    """`lotscan serve` on the demo's database, with two handhelds synced; yields its URL."""
    url = sqlite_url(tmp_path / "central.db")
    built = lotscan("demo", "--db", url, home=tmp_path)
    assert built.returncode == 0, built.stderr
    set_console_password(url, SUPERVISOR, PASSWORD, home=tmp_path)
    with ConsoleServer(url, tmp_path / "office") as server:
        central = open_copy(url)
        handhelds = [Handheld(name, tmp_path / name) for name in ("dock-1", "line-2")]
        try:
            for handheld in handhelds:
                with unit_of_work(central) as session:
                    code = issue_code(session, handheld.name, supervisor=False).code
                enroll_handheld(handheld.sessions, handheld.folder, server.url, code)
                handheld.sync()
            crossing_scans(*handhelds)
            yield server.url
        finally:
            for handheld in handhelds:
                handheld.close()
            central.kw["bind"].dispose()


def crossing_scans(dock: Handheld, line: Handheld) -> None:
    """Both handhelds receive the same new motor serial before either syncs: the store
    holds the second receipt for a supervisor, so the exceptions page has one to show."""
    for handheld, where in ((dock, "RECV"), (line, "QUAR")):
        handheld.record(
            lambda ledger, where=where: ledger.receive(
                "MOT-5K5", 1, where, serial="VM55-24199", operator="B1003"
            )
        )
    dock.sync()
    line.sync()


def shoot(page: Page, path: str, picture: Path) -> None:
    answer = page.goto(path)
    assert answer is not None and answer.status == 200, f"{path}: {answer and answer.status}"
    page.screenshot(path=picture, full_page=False)


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the pictures go: docs/console/ with `--snapshot-update`, else a folder of the
    test's own (see the module)."""
    if request.config.getoption("--snapshot-update", default=False):
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    folder = tmp_path / "shots"
    folder.mkdir()
    return folder


def test_the_readmes_screenshots_of_the_console_are_made_from_the_demo(
    demo_console: str, shots: Path
) -> None:
    with chromium() as browser:
        take_wide(browser, demo_console, shots)
        with fresh_page(browser, demo_console, TABLET) as page:
            sign_in(page, SUPERVISOR, PASSWORD)
            shoot(page, "/console/devices", shots / "devices-tablet.png")
    for name, size in PICTURES.items():
        with Image.open(shots / name) as picture:
            assert (picture.format, picture.size) == ("PNG", size), name
    assert {path.name for path in DOCS.glob("*.png")} == set(PICTURES), (
        "the README shows these pictures from docs/console/"
    )


PICTURES = {
    "devices.png": (WIDE["width"], WIDE["height"]),
    "exceptions.png": (WIDE["width"], WIDE["height"]),
    "stock.png": (WIDE["width"], WIDE["height"]),
    "lot.png": (WIDE["width"], WIDE["height"]),
    "devices-tablet.png": (TABLET["width"], TABLET["height"]),
}


def take_wide(browser: Browser, url: str, shots: Path) -> None:
    with fresh_page(browser, url, WIDE) as page:
        sign_in(page, SUPERVISOR, PASSWORD)
        assert page.url.endswith("/console/devices"), page.url
        shoot(page, "/console/devices", shots / "devices.png")
        shoot(page, "/console/exceptions", shots / "exceptions.png")
        shoot(page, "/console/stock", shots / "stock.png")
        page.goto("/console/lots")
        page.locator("#search").fill("GS-0201")
        follow(page, page.get_by_role("button", name="Search"))
        if not page.get_by_role("button", name="Hold").count():  # a list of matches
            follow(page, page.get_by_role("link", name=re.compile("GS-0201")).first)
        page.get_by_text("GEAR-GP10").first.wait_for()
        page.screenshot(path=shots / "lot.png")
