"""Real-browser tests of the office console: `lotscan serve` in a process of its own on a
free loopback port, and Debian's Chromium (the `chromium` package, which `make test`
installs) driven headless by Playwright.

Playwright is always pointed at that Chromium (`executable_path`): its own browser download
(`playwright install`) is never used. Without a `chromium` on PATH the browser tests skip,
saying what to install."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    sync_playwright,
)

from tests.support import cli_in_process

ROOT = Path(__file__).resolve().parents[2]
HEALTH = "/v1/health"
READY_TIMEOUT = 60.0
WIDE = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
NO_CHROMIUM = (
    "the browser tests need Chromium as `chromium` on PATH (`make test` installs Debian's"
    " chromium package with apt; elsewhere install chromium); Playwright's own browser"
    " download is never used"
)


class ConsoleServer:
    """`lotscan serve --db URL --port 0` as its own process: the address it prints on
    standard error, healthy before a test uses it, and stopped (SIGTERM, then SIGKILL) at
    the end. Whatever else it writes is kept for the failure message."""

    def __init__(self, db_url: str, home: Path) -> None:
        self.db_url = db_url
        self.home = home
        self.url = ""
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ConsoleServer:
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scanner", "serve", "--db", self.db_url, "--port", "0"],
            cwd=ROOT,
            env=lotscan_env(self.home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        first = self.process.stderr.readline().strip()
        # Drained from now on, so a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        if not first.startswith("lotscan central store on http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"lotscan serve did not start: {first!r} {self.log()}")
        self.url = first.split(" on ", 1)[1].split(",", 1)[0].split()[0]
        self._wait_until_healthy()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.output.append(line)

    def log(self) -> str:
        return "".join(self.output)[-2000:]

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"lotscan serve exited with status {self.process.returncode}: {self.log()}"
                    )
                try:
                    answer = client.get(self.url + HEALTH)
                    if answer.status_code == 200:
                        return
                    last = f"HTTP {answer.status_code}"
                except httpx.TransportError as error:
                    last = str(error) or type(error).__name__
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.url} was not healthy within {READY_TIMEOUT}s: {last}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def lotscan_env(home: Path) -> dict[str, str]:
    """The environment a `lotscan` process of these tests runs in: its own workspace."""
    return {
        "LOTSCAN_HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
    }


def lotscan(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`lotscan ARGS` run to its end in the workspace `home`, `stdin` typed into it."""
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=lotscan_env(home),
        check=False,
    )


def set_console_password(db_url: str, badge: str, password: str, home: Path) -> None:
    """`lotscan operators password BADGE`, the password read from standard input as a
    script gives it; run in the test's process (tests/support/cli_in_process.py), as the
    tests using it are about the console, not about the command."""
    done = cli_in_process.lotscan(
        "operators", "password", badge, "--db", db_url, home=home, stdin=f"{password}\n"
    )
    assert done.returncode == 0, done.stderr


def chromium_path() -> str | None:
    """Debian's Chromium (or whatever `chromium` PATH names), or None."""
    return shutil.which("chromium")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium driven by Playwright, always the one on PATH. Root (CI, this
    container) cannot use Chromium's sandbox, hence --no-sandbox."""
    path = chromium_path()
    if path is None:
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        yield launch(playwright, path)


def launch(playwright: Playwright, path: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )


@contextmanager
def fresh_page(
    browser: Browser, base_url: str, viewport: dict[str, int] | None = None
) -> Iterator[Page]:
    """A page in a context of its own (its own cookies), against `base_url`, 1280x800 unless
    `viewport` says otherwise."""
    size = viewport or WIDE
    context: BrowserContext = browser.new_context(
        base_url=base_url, viewport={"width": size["width"], "height": size["height"]}
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, badge: str, password: str) -> None:
    """Fills and sends the console's sign-in form (docs/architecture.md, "Office console")."""
    page.goto("/console/sign-in")
    page.locator('input[name="badge"]').fill(badge)
    page.locator('input[name="password"]').fill(password)
    follow(page, page.get_by_role("button", name="Sign in"))


def follow(page: Page, target: Locator) -> None:
    """Clicks a button or link that leads to another page (a form sent, a link followed) and
    waits until that page has loaded. A click returns once it is dispatched, and waiting for
    the load state then may see the page being left, already loaded: what comes next would
    read the old page, or find the form not yet sent."""
    with page.expect_navigation():
        target.click()
