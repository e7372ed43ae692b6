"""console_pages: the office console's Devices and Exceptions pages (issue 19) on a busy
central store: 500 devices and 20,000 open exceptions at full scale.

The store is a central SQLite store made with bulk inserts: the devices (varied last seen,
queue depth, pushes and pulls; a few revoked) and, for each exception, the movement its
device pushed (a flagged or held sync entry with its payload) and the exception itself
(varied kinds, devices, parts, lots and messages).

Ours is one GET of `/console/devices` and one of `/console/exceptions` (its first page, at the
console's default of 100 rows), through a TestClient on the central service with the console
mounted and a supervisor signed in (standing in for the session lookup, as the console tests
do), each rendered to HTML whole. The baseline is the same data as bare JSON from the API on
the same app: `GET /v1/devices` and `GET /v1/exceptions?limit=100`, with a supervisor
device's token. Both go through the same HTTP stack and read the same rows with the same
queries (`device_rows`, `exception_rows`), so the ratio is what the pages add: the guard,
the templates, the HTML. GOAL says why 3.

Bounded: the exceptions page reads one page, not every exception. It is timed again on a
store a tenth the size (2,000 exceptions at full scale) at the same page size; the two times
should be close (`flat_ratio` in the extra measurements).
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bench.result import Result
from bench.suite import QUICK
from bench.timing import alternating_medians
from console.app import mount_console
from console.exceptions import PAGE
from console.guard import SignedIn
from scanner.db import open_database, unit_of_work
from scanner.workspace import sqlite_url
from sync.central.enrollment import ensure_central, token_hash
from sync.central.models import (
    Device,
    DeviceRole,
    DeviceStatus,
    ExceptionStatus,
    Outcome,
    SyncEntry,
    SyncException,
)
from sync.central.service import create_app
from sync.exception_codes import ExceptionCode

NAME = "console_pages"
GOAL = 3.0
"""Both sides read the same rows with the same queries through the same HTTP stack; the
pages add the sign-in guard and a Jinja template per row (a devices row, an exceptions row
and its movement). Three times the bare JSON leaves room for that and still catches a page
that reads more than it shows or renders something per row it should not."""
DEVICES_AT_FULL = 500
EXCEPTIONS_AT_FULL = 20_000
SMALLER = 10
"""The flatness check's store: this many times fewer exceptions, the same page size."""
MIN_DEVICES = 5
MIN_EXCEPTIONS = 2 * PAGE
"""Below quick scale (the smoke test): still more than a page, so one page is measured."""
ROUNDS = 7
TOKEN = "bench-console-supervisor-token"
SUPERVISOR = SignedIn(
    badge="B9001", name="Bench Supervisor", role="supervisor", session_id="bench", csrf_token="c"
)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CODES = (
    ExceptionCode.NEGATIVE_BALANCE,
    ExceptionCode.UNKNOWN_REFERENCE,
    ExceptionCode.SERIAL_CONFLICT,
    ExceptionCode.CLOCK_SKEW,
    ExceptionCode.STALE_SOURCE,
    ExceptionCode.LOT_NOT_RELEASED,
)


def sizes(scale: float) -> tuple[int, int]:
    """How many devices and exceptions at `scale`."""
    return (
        max(round(DEVICES_AT_FULL * scale), MIN_DEVICES),
        max(round(EXCEPTIONS_AT_FULL * scale), MIN_EXCEPTIONS),
    )


def run(scale: float) -> Result:
    devices, exceptions = sizes(scale)
    smaller = max(exceptions // SMALLER, PAGE + 1)
    rounds = ROUNDS if scale >= QUICK else 1
    with tempfile.TemporaryDirectory(prefix="bench-console-") as scratch:
        big = build_store(Path(scratch) / "big.db", devices, exceptions)
        small = build_store(Path(scratch) / "small.db", devices, smaller)
        with console_client(big) as client, console_client(small) as small_client:
            pages: dict[str, Callable[[], str]] = {
                "devices": (lambda: get(client, "/console/devices", html=True)),
                "exceptions": (lambda: get(client, "/console/exceptions", html=True)),
            }
            bare: dict[str, Callable[[], str]] = {
                "devices": (lambda: get(client, "/v1/devices")),
                "exceptions": (lambda: get(client, f"/v1/exceptions?limit={PAGE}")),
            }
            shown = check_same_rows(client, devices)
            for work in (*pages.values(), *bare.values()):
                work()  # warms the caches, the templates and the routes
            times = {
                name: alternating_medians(pages[name], bare[name], rounds, 1) for name in pages
            }
            big_page, small_page = alternating_medians(
                pages["exceptions"],
                lambda: get(small_client, "/console/exceptions", html=True),
                rounds,
                1,
            )
    ours = sum(page for page, _json in times.values())
    baseline = sum(json_time for _page, json_time in times.values())
    (devices_page, devices_json), (exceptions_page, exceptions_json) = (
        times["devices"],
        times["exceptions"],
    )
    return Result(
        name=NAME,
        ours=ours,
        baseline=baseline,
        goal=GOAL,
        facts=(
            f"{devices:,} devices and {exceptions:,} open exceptions (each with its pushed "
            f"movement) in a central SQLite store; pages of {PAGE} ({shown} rows shown)",
            f"devices: page {devices_page * 1e3:.1f} ms, GET /v1/devices "
            f"{devices_json * 1e3:.1f} ms (x{devices_page / devices_json:.2f})",
            f"exceptions: page {exceptions_page * 1e3:.1f} ms, GET /v1/exceptions "
            f"{exceptions_json * 1e3:.1f} ms (x{exceptions_page / exceptions_json:.2f})",
            f"bounded: the exceptions page over {exceptions:,} exceptions "
            f"{big_page * 1e3:.1f} ms, over {smaller:,} {small_page * 1e3:.1f} ms "
            f"(x{big_page / small_page:.2f})",
            f"ours and baseline: one GET of each page, each of the two JSON lists; "
            f"medians of {rounds} runs each, in turns, through a TestClient",
        ),
        extra={
            "devices_page_s": devices_page,
            "devices_json_s": devices_json,
            "exceptions_page_s": exceptions_page,
            "exceptions_json_s": exceptions_json,
            "exceptions_page_smaller_s": small_page,
            "flat_ratio": big_page / small_page,
        },
    )


def get(client: TestClient, path: str, *, html: bool = False) -> str:
    answer = client.get(path, headers=None if html else {"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    text: str = answer.text
    return text


def check_same_rows(client: TestClient, devices: int) -> int:
    """The pages show what the API lists: every device, and the first page's exceptions."""
    listed = json.loads(get(client, "/v1/devices"))
    page = get(client, "/console/devices", html=True)
    assert len(listed) == devices + 1  # and the supervisor's own device
    assert all(f'data-device="{row["device"]}"' in page for row in listed)
    exceptions = json.loads(get(client, f"/v1/exceptions?limit={PAGE}"))
    assert len(exceptions) == PAGE
    shown = get(client, "/console/exceptions", html=True)
    assert all(row["message"] in shown for row in exceptions)
    return len(listed) + len(exceptions)


@contextmanager
def console_client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    """The service with the console mounted, a supervisor signed in to the console."""
    clock: Callable[[], datetime] = lambda: NOW  # noqa: E731
    app = create_app(sessions, clock)
    mount_console(app, sessions, clock)
    with (
        patch("console.sessions.session_of", lambda _request: SUPERVISOR),
        TestClient(app) as client,
    ):
        yield client
    sessions.kw["bind"].dispose()


def build_store(path: Path, devices: int, exceptions: int) -> sessionmaker[Session]:
    """A central store at `path` with `devices` handhelds, a supervisor's device whose token
    is `TOKEN`, and `exceptions` open exceptions spread over the handhelds."""
    sessions = open_database(sqlite_url(path))
    with unit_of_work(sessions) as session:
        ensure_central(session)
        session.execute(insert(Device), [_device(n) for n in range(devices)] + [_supervisor()])
        entries, flagged = [], []
        for n in range(exceptions):
            entry, exception = _exception(n, devices)
            entries.append(entry)
            flagged.append(exception)
        session.execute(insert(SyncEntry), entries)
        session.execute(insert(SyncException), flagged)
    return sessions


def _device(n: int) -> dict[str, Any]:
    revoked = n % 50 == 49
    seen = NOW - timedelta(seconds=(n * 37) % 3600) if n % 20 else None
    return {
        "id": f"H{n:04d}",
        "name": f"Handheld {n:04d}",
        "role": DeviceRole.HANDHELD.value,
        "status": (DeviceStatus.REVOKED if revoked else DeviceStatus.ACTIVE).value,
        "token_hash": f"{n:064x}",
        "created_at": NOW - timedelta(days=90),
        "enrolled_at": NOW - timedelta(days=89),
        "revoked_at": NOW - timedelta(days=1) if revoked else None,
        "last_seen_at": seen,
        "last_push_at": seen,
        "last_pull_at": seen,
        "last_applied_seq": n * 1000,
        "queue_depth": (n * 7) % 120 if seen else None,
        "max_local_seq": n * 1000,
        "oldest_pending_at": seen - timedelta(minutes=n % 30) if seen and n % 3 else None,
        "clock_offset": (n % 11) - 5,
        "app_version": "1.0.0",
    }


def _supervisor() -> dict[str, Any]:
    return {
        **_device(0),
        "id": "S0001",
        "name": "Office supervisor",
        "role": DeviceRole.SUPERVISOR.value,
        "status": DeviceStatus.ACTIVE.value,
        "token_hash": token_hash(TOKEN),
        "revoked_at": None,
    }


def _exception(n: int, devices: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pushed movement and its open exception, the `n`th of the store."""
    device = f"H{n % devices:04d}"
    seq = n // devices + 1
    code = CODES[n % len(CODES)]
    part = f"PART-{n % 400:04d}"
    lot = f"L{n % 3000:06d}"
    happened = NOW - timedelta(minutes=EXCEPTIONS_AT_FULL - n)
    held = code in (ExceptionCode.UNKNOWN_REFERENCE, ExceptionCode.SERIAL_CONFLICT)
    movement = {
        "from_location": f"A-{n % 60:02d}",
        "happened_at": happened.isoformat(),
        "id": str(uuid.UUID(int=n + 1)),
        "kind": "issue",
        "lot": lot,
        "operator": f"B{1000 + n % 40}",
        "part": part,
        "qty": f"{n % 17 + 1}",
        "seq": seq,
    }
    payload = json.dumps(movement, sort_keys=True)
    entry = {
        "device_id": device,
        "device_seq": seq,
        "movement_id": uuid.UUID(int=n + 1),
        "payload": payload,
        "payload_hash": f"{n:064x}",
        "status": (Outcome.HELD if held else Outcome.FLAGGED).value,
        "codes": code.value,
        "message": "",
        "received_at": happened,
    }
    exception = {
        "id": n + 1,
        "device_id": device,
        "device_seq": seq,
        "code": code.value,
        "message": f"{code.value.replace('_', ' ').lower()}: {part} lot {lot} at A-{n % 60:02d}"
        f" (#{n + 1})",
        "part": part,
        "lot": lot,
        "serial": None,
        "location": f"A-{n % 60:02d}",
        "status": ExceptionStatus.OPEN.value,
        "opened_at": happened,
    }
    return entry, exception
