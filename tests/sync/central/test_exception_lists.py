"""The supervisors' list of exceptions when one device floods it, over HTTP on SQLite and
PostgreSQL: the list comes a page at a time; past its cap a minute a device's exceptions
are grouped under one summary, each movement still recorded with its outcome; and a
supervisor voids every held movement of a device, a code or a part at once."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import open_database, unit_of_work
from sync.central import cli, exception_cap
from sync.central.enrollment import enroll, issue_code
from sync.central.models import Device, SyncEntry, SyncException
from sync.central.push import push
from sync.central.service import create_app, prepare_central
from sync.protocol import EnrollRequest, PushRequest, PushResponse
from tests.conftest import NOW
from tests.support.cli_in_process import lotscan as in_process
from tests.support.sync_service import (
    TEST_HTTP_TIMEOUT,
    Central,
    bearer,
    error_of,
    lotscan,
    push_body,
    receipt,
    running,
    with_plant,
)


class MovingClock:
    """The store's clock, set by the test."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock()


@pytest.fixture
def central(sessions: sessionmaker[Session], clock: MovingClock) -> Iterator[Central]:
    with_plant(sessions, clock)
    with (
        running(create_app(sessions, clock)) as url,
        httpx.Client(base_url=url, timeout=TEST_HTTP_TIMEOUT) as http,
    ):
        yield Central(sessions, clock, http)


def push_held(central: Central, device: str, token: str, first: int, count: int) -> list[str]:
    """`count` receipts of a part the store does not know, numbered from `first`: held."""
    movements = [receipt(seq, part="NO-SUCH-PART") for seq in range(first, first + count)]
    answer = central.push(token, push_body(device, *movements))
    assert answer.status_code == 200, answer.text
    return [outcome.status for outcome in PushResponse.model_validate(answer.json()).outcomes]


def listed(central: Central, boss: str, **params: Any) -> list[dict[str, Any]]:
    answer = central.http.get("/v1/exceptions", params=params, headers=bearer(boss))
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_the_exceptions_come_a_page_at_a_time(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exception_cap, "PER_MINUTE", 1000)
    _office, boss = central.enroll("office", supervisor=True)
    device, token = central.enroll("forklift-1")
    assert push_held(central, device, token, 1, 250) == ["held"] * 250

    first = listed(central, boss)
    assert len(first) == 200  # the default page
    rest = listed(central, boss, after=first[-1]["id"])
    assert len(rest) == 50 and rest[0]["id"] > first[-1]["id"]
    ids = [row["id"] for row in first + rest]
    assert ids == sorted(set(ids))
    small = listed(central, boss, limit=3, after=ids[9])
    assert [row["id"] for row in small] == ids[10:13]
    assert listed(central, boss, after=ids[-1]) == []
    assert len(listed(central, boss, limit=1000, device=device, code="UNKNOWN_REFERENCE")) == 250
    assert listed(central, boss, device="ZZZZ") == []
    # As a pull's cursor is read: ASCII digits, nothing Python reads otherwise (probe).
    written_otherwise = ({"after": "1_0"}, {"after": "+1"}, {"after": " 1"}, {"limit": "\uff11"})
    for params in (
        {"limit": 1001}, {"limit": 0}, {"after": -1}, {"code": "NO_SUCH_CODE"}, *written_otherwise
    ):  # fmt: skip
        answer = central.http.get("/v1/exceptions", params=params, headers=bearer(boss))
        assert error_of(answer)[:2] == (422, "bad_request"), params


def test_past_its_cap_a_devices_exceptions_are_grouped_under_one_summary(
    central: Central, clock: MovingClock
) -> None:
    cap = exception_cap.PER_MINUTE
    _office, boss = central.enroll("office", supervisor=True)
    rogue, token = central.enroll("rogue")
    dock, dock_token = central.enroll("dock")
    assert push_held(central, rogue, token, 1, cap + 30) == ["held"] * (cap + 30)
    assert push_held(central, dock, dock_token, 1, 1) == ["held"]

    rows = listed(central, boss, limit=1000)
    own = [row for row in rows if row["code"] == "UNKNOWN_REFERENCE"]
    (summary,) = [row for row in rows if row["code"] == "TOO_MANY_EXCEPTIONS"]
    assert len(own) == cap + 1  # the rogue's first hundred, and the dock's own
    assert [row["device"] for row in own].count(dock) == 1
    assert (summary["device"], summary["grouped"], summary["status"]) == (rogue, 30, "open")
    assert f"opened more than {cap} exceptions in a minute" in summary["message"]
    grouped = listed(central, boss, summary=summary["id"], limit=1000)
    assert len(grouped) == 30 and {row["summary_id"] for row in grouped} == {summary["id"]}
    assert {row["entry_status"] for row in grouped} == {"held"}
    with unit_of_work(central.sessions) as session:  # every movement kept with its outcome
        held = select(func.count()).where(SyncEntry.status == "held", SyncEntry.device_id == rogue)
        assert session.scalar(held) == cap + 30

    clock.now = NOW + timedelta(minutes=2)  # a minute later the device opens its own again
    assert push_held(central, rogue, token, cap + 31, 1) == ["held"]
    assert len(listed(central, boss, limit=1000, device=rogue)) == cap + 2

    dismissed = central.http.post(
        f"/v1/exceptions/{summary['id']}/resolve",
        json={"action": "dismiss", "reason": "looked into it"},
        headers=bearer(boss),
    )
    assert dismissed.status_code == 200, dismissed.text
    assert len(listed(central, boss, limit=1000, device=rogue)) == cap + 31  # back in the list


def test_a_supervisor_voids_every_held_movement_of_a_device_at_once(
    central: Central, clock: MovingClock
) -> None:
    cap = exception_cap.PER_MINUTE
    office, boss = central.enroll("office", supervisor=True)
    rogue, token = central.enroll("rogue")
    dock, dock_token = central.enroll("dock")
    push_held(central, rogue, token, 1, cap + 20)
    push_held(central, dock, dock_token, 1, 2)

    voided = central.http.post(
        "/v1/exceptions/void",
        json={"device": rogue, "reason": "a stolen token", "operator": "B9001"},
        headers=bearer(boss),
    )
    assert voided.status_code == 200, voided.text
    assert voided.json() == {
        "voided": cap + 20,
        "device": rogue,
        "code": None,
        "part": None,
        "reason": "a stolen token",
    }
    assert [row["device"] for row in listed(central, boss)] == [dock, dock]  # summary cleared
    closed = listed(central, boss, status="resolved", device=rogue, limit=1000)
    assert len(closed) == cap + 20
    assert {row["resolved_by"] for row in closed} == {f"Sam Okafor on office ({office})"}
    assert {row["entry_status"] for row in closed} == {"voided"}
    (summary,) = listed(central, boss, status="auto_cleared", code="TOO_MANY_EXCEPTIONS")
    assert summary["device"] == rogue
    withdrawn = [c for c in central.pull(token).changes if c.kind == "movement"]
    assert [c.data["status"] for c in withdrawn][-(cap + 20) :] == ["voided"] * (cap + 20)

    by_part = central.http.post(
        "/v1/exceptions/void",
        json={"part": "NO-SUCH-PART", "code": "UNKNOWN_REFERENCE", "reason": "no such part"},
        headers=bearer(boss),
    )
    assert by_part.json()["voided"] == 2 and listed(central, boss) == []
    again = central.http.post(
        "/v1/exceptions/void", json={"device": rogue, "reason": "again"}, headers=bearer(boss)
    )
    assert again.json()["voided"] == 0

    for body in ({"reason": "everything"}, {"device": rogue, "reason": " "}, {"device": rogue}):
        answer = central.http.post("/v1/exceptions/void", json=body, headers=bearer(boss))
        assert error_of(answer)[:2] == (422, "bad_request"), body
    handheld = central.http.post(
        "/v1/exceptions/void", json={"device": dock, "reason": "x"}, headers=bearer(dock_token)
    )
    assert error_of(handheld)[:2] == (403, "not_supervisor")


def test_the_console_voids_held_movements_at_once(db_url: str, tmp_path: Path) -> None:
    sessions = open_database(db_url)
    prepare_central(sessions)
    with unit_of_work(sessions) as session:
        code = issue_code(session, "forklift-1").code
    with unit_of_work(sessions) as session:
        device = enroll(session, EnrollRequest(code=code)).device_id
    with unit_of_work(sessions) as session:
        body = push_body(device, *(receipt(seq, part="NO-SUCH-PART") for seq in (1, 2, 3)))
        push(session, session.get_one(Device, device), PushRequest.model_validate(body))
    sessions.kw["bind"].dispose()

    result = lotscan(
        "exceptions", "void", "--device", device, "--reason", "test run", "--json",
        "--db", db_url, home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "voided": 3,
        "device": device,
        "code": None,
        "part": None,
        "reason": "test run",
    }
    words = lotscan(
        "exceptions", "void", "--code", "UNKNOWN_REFERENCE", "--reason", "again",
        "--db", db_url, home=tmp_path,
    )  # fmt: skip
    assert words.returncode == 0 and words.stdout.startswith("Voided 0 held movements")
    nothing = lotscan("exceptions", "void", "--reason", "all", "--db", db_url, home=tmp_path)
    assert nothing.returncode == 1 and "a device, a code or a part" in nothing.stderr
    nobody = lotscan(
        "exceptions", "void", "--device", "NOPE", "--reason", "x", "--db", db_url, home=tmp_path
    )
    assert (nobody.returncode, nobody.stdout) == (1, "")
    assert nobody.stderr == "lotscan: No device 'NOPE': `lotscan devices list` shows them\n"


def test_the_command_line_lists_what_the_service_lists(
    central: Central, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "EXCEPTIONS_READ", 2)  # pages of two: five rows take three
    _office, boss = central.enroll("office", supervisor=True)
    forklift, token = central.enroll("forklift-1")
    dock, dock_token = central.enroll("dock")
    push_held(central, forklift, token, 1, 4)
    push_held(central, dock, dock_token, 1, 1)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return in_process("exceptions", "list", *args, "--db", db_url, home=tmp_path)

    listing = run("--json")
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout) == listed(central, boss, limit=1000)
    assert len(json.loads(listing.stdout)) == 5
    mine = run("--json", "--device", dock, "--code", "UNKNOWN_REFERENCE", "--part", "NO-SUCH-PART")
    assert json.loads(mine.stdout) == listed(central, boss, device=dock)

    text = run().stdout.splitlines()
    assert text[-1] == "5 open exceptions"
    first = json.loads(listing.stdout)[0]
    head = f"#{first['id']}  UNKNOWN_REFERENCE  open  forklift-1 ({forklift}) #1"
    assert text[0].startswith(head)
    assert text[1:3] == ["    NO-SUCH-PART at RCV", f"    {first['message']}"]

    voided = in_process(
        "exceptions", "void", "--device", dock, "--reason", "a test label",
        "--db", db_url, home=tmp_path,
    )  # fmt: skip
    assert voided.returncode == 0, voided.stderr
    assert run().stdout.splitlines()[-1] == "4 open exceptions"
    resolved = run("--status", "resolved").stdout.splitlines()
    assert resolved[0].startswith("#5  UNKNOWN_REFERENCE  resolved  dock")
    assert "Voided by the central console" in resolved[3] and "a test label" in resolved[3]
    assert resolved[-1] == "1 resolved exception"
    assert run("--status", "auto_cleared").stdout == "No auto-cleared exceptions\n"
    assert (
        run("--status", "all", "--json").stdout
        == in_process(
            "exceptions", "list", "--status", "all", "--json", "--db", db_url, home=tmp_path
        ).stdout
    )

    nobody = run("--device", "NOPE")
    assert (nobody.returncode, nobody.stdout) == (1, "")
    assert nobody.stderr == "lotscan: No device 'NOPE': `lotscan devices list` shows them\n"
    missing = run("--summary", "99999")
    assert (missing.returncode, missing.stderr) == (
        1,
        "lotscan: No exception #99999: `lotscan exceptions list` shows them\n",
    )
    not_a_summary = run("--summary", str(first["id"]))
    assert not_a_summary.stderr == (
        f"lotscan: #{first['id']} is not a TOO_MANY_EXCEPTIONS summary but UNKNOWN_REFERENCE:"
        " --summary lists what a summary groups\n"
    )
    for bad in ("0", "x", "99999999999", "-3"):
        refused = run("--summary", bad)
        assert refused.returncode == 2 and "is not an exception's id" in refused.stderr, bad


def test_the_list_never_writes_a_stored_control_character_to_the_terminal(
    central: Central, db_url: str, tmp_path: Path
) -> None:
    device, token = central.enroll("forklift-1")
    push_held(central, device, token, 1, 1)
    with unit_of_work(central.sessions) as session:  # as a store older than the door's checks
        session.execute(update(SyncException).values(message="red \x1b[31m text \u202e"))
    written = in_process("exceptions", "list", "--db", db_url, home=tmp_path).stdout
    assert "\x1b" not in written and "\u202e" not in written
    assert "    red \\u001b[31m text \\u202e" in written.splitlines()
