"""The central sync service as handhelds and supervisors meet it: real HTTP on loopback
(uvicorn in a thread) over a central database on SQLite and PostgreSQL. Enrollment, push
and pull with tokens, the 4xx every bad request gets, the supervisors' endpoints, two
identical pushes at once, a database that is busy or gone; and `lotscan serve` and
`lotscan devices` as scripts run them."""

from __future__ import annotations

import gc
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import make_engine, unit_of_work
from scanner.workspace import sqlite_url
from sync.central.analyze import NOTICE
from sync.central.models import Device, SyncEntry
from sync.central.service import create_app
from sync.protocol import EnrollResponse, PushResponse
from tests.conftest import NOW
from tests.support.databases import open_migrated
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
from tests.support.transcripts import Floor

# ---- handhelds ----------------------------------------------------------------------------


def test_health_answers_without_a_token(central: Central) -> None:
    answer = central.http.get("/v1/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert datetime.fromisoformat(answer.json()["server_time"]) == NOW


def test_an_enrollment_code_works_once(central: Central) -> None:
    code = central.code("forklift-1")
    first = central.http.post(
        "/v1/devices/enroll", json={"code": code, "device_name": "forklift-1"}
    )
    assert first.status_code == 201
    enrolled = EnrollResponse.model_validate(first.json())
    assert enrolled.role == "handheld" and len(enrolled.device_token) >= 40
    again = central.http.post("/v1/devices/enroll", json={"code": code})
    status, _error, message = error_of(again)
    assert status == 401 and message
    assert central.pull(enrolled.device_token).cursor >= 0  # the first token still works


def test_a_device_pushes_its_movements_and_pulls_them_back(central: Central) -> None:
    device, token = central.enroll("forklift-1")
    movement = receipt(1)
    answer = central.push(token, push_body(device, movement))
    assert answer.status_code == 200, answer.text
    pushed = PushResponse.model_validate(answer.json())
    assert (pushed.last_applied_seq, pushed.expected_next_seq) == (1, 2)
    (outcome,) = pushed.outcomes
    assert outcome.status == "applied" and outcome.server_seq is not None

    pulled = central.pull(token)
    assert not pulled.has_more and pulled.cursor == outcome.server_seq
    kinds = {change.kind for change in pulled.changes}
    assert {"part", "location", "movement"} <= kinds
    (change,) = [change for change in pulled.changes if change.kind == "movement"]
    assert change.key == str(movement.id) and change.data["status"] == "applied"
    assert central.pull(token, pulled.cursor).changes == []


NOT_A_TOKEN = [None, "", "Bearer", "Basic Zm9yazpsaWZ0", "Bearer not-a-token-the-store-issued"]


def test_without_a_valid_token_push_and_pull_are_401(central: Central) -> None:
    device, _token = central.enroll("forklift-1")
    for authorization in NOT_A_TOKEN:
        headers = {} if authorization is None else {"Authorization": authorization}
        body = push_body(device, receipt(1))
        push = central.http.post("/v1/sync/push", json=body, headers=headers)
        pull = central.http.get("/v1/sync/pull", headers=headers)
        for answer in (push, pull):
            status, error, message = error_of(answer)
            assert (status, error) == (401, "unauthorized") and message, authorization
    assert central.applied_seq(device) == 0


def test_a_revoked_device_gets_401_device_revoked_and_nothing_is_recorded(
    central: Central,
) -> None:
    _supervisor, boss = central.enroll("office", supervisor=True)
    device, token = central.enroll("forklift-1")
    revoked = central.http.post(f"/v1/devices/{device}/revoke", headers=bearer(boss))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    status, error, _message = error_of(central.push(token, push_body(device, receipt(1))))
    assert (status, error) == (401, "device_revoked")
    assert error_of(central.http.get("/v1/sync/pull", headers=bearer(token)))[:2] == (
        401,
        "device_revoked",
    )
    assert central.applied_seq(device) == 0 and central.ledger_count() == 0


def test_a_device_cannot_push_another_devices_movements(central: Central) -> None:
    device_one, token_one = central.enroll("forklift-1")
    device_two, _token_two = central.enroll("forklift-2")
    answer = central.push(token_one, push_body(device_two, receipt(1)))
    status, error, message = error_of(answer)
    assert (status, error) == (403, "wrong_device") and message
    assert central.applied_seq(device_one) == central.applied_seq(device_two) == 0
    assert central.ledger_count() == 0


def _set_movement(field: str, value: Any) -> Callable[[dict[str, Any]], object]:
    def change(body: dict[str, Any]) -> None:
        body["movements"][0][field] = value

    return change


def _many_movements(body: dict[str, Any]) -> None:
    first = body["movements"][0]
    body["movements"] = [{**first, "seq": seq, "id": str(uuid.uuid4())} for seq in range(1, 502)]


MALFORMED_PUSHES: list[tuple[Callable[[dict[str, Any]], object], str]] = [
    (_set_movement("qty", "0"), "movements[0].qty: must be more than 0"),
    (_set_movement("qty", "1.0005"), "movements[0].qty: must have at most 3 decimal places"),
    (_set_movement("seq", 0), "movements[0].seq: must be at least 1"),
    (_set_movement("colour", "red"), "movements[0].colour: is not a field"),
    (_set_movement("kind", "steal"), "movements[0].kind: must be "),
    (_set_movement("id", "12"), "movements[0].id: must be a UUID"),
    (_set_movement("part", ""), "movements[0].part: must not be empty"),
    (_set_movement("happened_at", "yesterday"), "movements[0].happened_at: must be a date"),
    (_many_movements, "movements: must have at most 500 items, not 501"),
    (lambda body: body.pop("device_time"), "device_time: is missing"),
]

NOT_A_PUSH = [
    (b'{"device_id": "X", "movements": [', "The body is not valid JSON"),
    (b"[1, 2, 3]", "The body must be a JSON object"),
    (b"", "The request has no body"),
]


def test_a_malformed_push_is_422_saying_what_is_wrong(central: Central) -> None:
    device, token = central.enroll("forklift-1")
    for change, problem in MALFORMED_PUSHES:
        body = push_body(device, receipt(1))
        change(body)
        status, error, message = error_of(central.push(token, body))
        assert (status, error) == (422, "bad_request")
        assert message.startswith(problem), message
    for content, problem in NOT_A_PUSH:
        answer = central.http.post(
            "/v1/sync/push",
            content=content,
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        status, error, message = error_of(answer)
        assert (status, error) == (422, "bad_request") and message.startswith(problem), message
    assert central.applied_seq(device) == 0 and central.ledger_count() == 0


def test_text_with_a_nul_character_is_422_naming_the_field(central: Central) -> None:
    """PostgreSQL refuses a NUL character in text and SQLite keeps it: the door refuses it
    (a control character) on both, before either database sees it; nothing is recorded."""
    code = central.code("forklift-1")
    answer = central.http.post("/v1/devices/enroll", json={"code": code, "app_version": "1\u0000"})
    status, error, message = error_of(answer)
    assert (status, error) == (422, "bad_request")
    assert message.startswith("app_version: holds U+0000 (NUL)"), message
    assert central.http.post("/v1/devices/enroll", json={"code": code}).status_code == 201


def test_a_push_in_another_protocol_is_409_client_upgrade_required(central: Central) -> None:
    device, token = central.enroll("forklift-1")
    body = {**push_body(device, receipt(1)), "protocol": 2, "schema": "movement/2"}
    status, error, message = error_of(central.push(token, body))
    assert (status, error) == (409, "client_upgrade_required")
    assert "update lotscan on the central store" in message
    assert central.applied_seq(device) == 0


def test_a_pull_page_beyond_the_limit_is_422(central: Central) -> None:
    _device, token = central.enroll("forklift-1")
    for params, problem in (
        ({"limit": 0}, "limit: must be at least 1"),
        ({"limit": 1001}, "limit: must be at most 1000"),
        ({"cursor": -1}, "cursor: must be at least 0"),
        ({"cursor": "x"}, "cursor: must be a whole number"),
    ):
        answer = central.http.get("/v1/sync/pull", params=params, headers=bearer(token))
        assert error_of(answer) == (422, "bad_request", problem)


def test_a_body_over_the_size_limit_is_413(central: Central) -> None:
    _device, token = central.enroll("forklift-1")
    answer = central.http.post(
        "/v1/sync/push",
        content=b"{" + b" " * (6 * 1024 * 1024) + b"}",
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert error_of(answer)[:2] == (413, "too_large")


def test_an_unknown_path_or_method_is_a_json_error(central: Central) -> None:
    assert error_of(central.http.get("/v1/nothing"))[:2] == (404, "not_found")
    assert error_of(central.http.delete("/v1/sync/push"))[:2] == (405, "method_not_allowed")


def test_two_identical_pushes_at_once_apply_once_with_the_same_outcomes(
    central: Central,
) -> None:
    """T8: a double tap and a retry racing each other."""
    device, token = central.enroll("forklift-1")
    body = push_body(device, *(receipt(seq) for seq in range(1, 21)))
    start = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def push() -> None:
        with httpx.Client(base_url=str(central.http.base_url), timeout=TEST_HTTP_TIMEOUT) as http:
            start.wait()
            answers.append(http.post("/v1/sync/push", json=body, headers=bearer(token)))

    threads = [threading.Thread(target=push) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [200, 200]
    first, second = (PushResponse.model_validate(answer.json()) for answer in answers)
    assert first.outcomes == second.outcomes
    assert [outcome.status for outcome in first.outcomes] == ["applied"] * 20
    assert central.applied_seq(device) == 20 and central.ledger_count() == 20
    with unit_of_work(central.sessions) as session:
        assert session.scalar(select(func.count()).select_from(SyncEntry)) == 20


# ---- supervisors --------------------------------------------------------------------------

SUPERVISOR_CALLS = [
    ("GET", "/v1/devices", None),
    ("POST", "/v1/devices", {"name": "forklift-9"}),
    ("POST", "/v1/devices/{device}/revoke", None),
    ("GET", "/v1/exceptions", None),
    ("POST", "/v1/exceptions/1/resolve", {"action": "void"}),
]


def test_supervisor_endpoints_refuse_a_handheld_token(central: Central) -> None:
    device, token = central.enroll("forklift-1")
    for method, path, body in SUPERVISOR_CALLS:
        url = path.format(device=device)
        answer = central.http.request(method, url, json=body, headers=bearer(token))
        status, error, message = error_of(answer)
        assert (status, error) == (403, "not_supervisor") and "supervisor" in message, url
        anonymous = central.http.request(method, url, json=body)
        assert error_of(anonymous)[:2] == (401, "unauthorized"), url
    with unit_of_work(central.sessions) as session:
        assert session.get_one(Device, device).status == "active"


def test_a_supervisor_issues_codes_lists_and_revokes_devices(central: Central) -> None:
    office, boss = central.enroll("office", supervisor=True)
    issued = central.http.post("/v1/devices", json={"name": "forklift-9"}, headers=bearer(boss))
    assert issued.status_code == 201
    assert set(issued.json()) == {"device", "code", "expires_at", "role"}
    device = issued.json()["device"]
    enrolled = central.http.post("/v1/devices/enroll", json={"code": issued.json()["code"]})
    assert enrolled.status_code == 201 and enrolled.json()["device_id"] == device

    listed = central.http.get("/v1/devices", headers=bearer(boss))
    assert listed.status_code == 200
    rows = {row["device"]: row for row in listed.json()}
    assert rows[device]["name"] == "forklift-9" and rows[device]["status"] == "active"

    revoked = central.http.post(f"/v1/devices/{device}/revoke", headers=bearer(boss))
    assert revoked.status_code == 200
    body = revoked.json()
    assert (body["device"], body["name"], body["status"]) == (device, "forklift-9", "revoked")
    assert datetime.fromisoformat(body["revoked_at"]) == NOW
    assert body["revoked_by"] == f"office ({office})"  # the supervisor's device
    token = enrolled.json()["device_token"]
    assert error_of(central.http.get("/v1/sync/pull", headers=bearer(token)))[1] == (
        "device_revoked"
    )
    unknown = central.http.post("/v1/devices/ZZZZ/revoke", headers=bearer(boss))
    assert error_of(unknown)[0] == 404


def test_a_supervisor_voids_a_held_movement(central: Central) -> None:
    _office, boss = central.enroll("office", supervisor=True)
    device, token = central.enroll("forklift-1")
    pushed = central.push(token, push_body(device, receipt(1, part="NO-SUCH-PART")))
    (outcome,) = PushResponse.model_validate(pushed.json()).outcomes
    assert outcome.status == "held" and "UNKNOWN_REFERENCE" in outcome.codes

    listed = central.http.get("/v1/exceptions", headers=bearer(boss))
    assert listed.status_code == 200
    (row,) = listed.json()
    assert row["code"] == "UNKNOWN_REFERENCE"
    resolved = central.http.post(
        f"/v1/exceptions/{row['id']}/resolve",
        json={"action": "void", "reason": "no such part on the floor"},
        headers=bearer(boss),
    )
    assert resolved.status_code == 200, resolved.text
    assert central.http.get("/v1/exceptions", headers=bearer(boss)).json() == []
    everything = central.http.get(
        "/v1/exceptions", params={"status": "all"}, headers=bearer(boss)
    ).json()
    assert [exception["status"] for exception in everything] == ["resolved"]
    movements = [change for change in central.pull(token).changes if change.kind == "movement"]
    assert movements[-1].data["status"] == "voided"
    again = central.http.post(
        f"/v1/exceptions/{row['id']}/resolve", json={"action": "void"}, headers=bearer(boss)
    )
    assert 400 <= again.status_code < 500


def test_bad_supervisor_requests_are_4xx(central: Central) -> None:
    _office, boss = central.enroll("office", supervisor=True)
    for method, path, body, expected in (
        ("POST", "/v1/devices", {"name": ""}, 422),
        ("POST", "/v1/devices", {"name": "x", "admin": True}, 422),
        ("GET", "/v1/exceptions?status=closed", None, 422),
        ("POST", "/v1/exceptions/0/resolve", {"action": "void"}, 422),
        ("POST", "/v1/exceptions/999/resolve", {"action": "void"}, 404),
    ):
        answer = central.http.request(method, path, json=body, headers=bearer(boss))
        assert error_of(answer)[0] == expected, (path, body, answer.text)


# ---- the database busy or gone ------------------------------------------------------------


def _short_waits(engine: Engine) -> None:
    """Waits for a lock a fifth of a second, not the usual 30 s, before giving up."""

    @event.listens_for(engine, "connect")
    def _wait_briefly(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA busy_timeout=200")
        else:
            cursor.execute("SET lock_timeout = '200ms'")
            dbapi_connection.commit()
        cursor.close()


@contextmanager
def locked(db_url: str) -> Iterator[None]:
    """Another writer holding the central store's device rows, as a long transaction or a
    backup would."""
    engine = make_engine(db_url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # make_engine begins every transaction with BEGIN IMMEDIATE: the write lock.
            connection.exec_driver_sql("UPDATE sync_devices SET queue_depth = queue_depth")
        else:
            connection.exec_driver_sql("LOCK TABLE sync_devices IN ACCESS EXCLUSIVE MODE")
        yield
        connection.rollback()
    engine.dispose()


def test_a_locked_database_is_503_retry_later_and_the_retry_applies(
    db_url: str, sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    with_plant(sessions, clock)
    impatient = make_engine(db_url)
    _short_waits(impatient)
    with (
        running(create_app(sessionmaker(impatient), clock)) as url,
        httpx.Client(base_url=url, timeout=TEST_HTTP_TIMEOUT) as http,
    ):
        central = Central(sessions, clock, http)
        device, token = central.enroll("forklift-1")
        body = push_body(device, receipt(1), receipt(2))
        with locked(db_url):
            answer = central.push(token, body)
            assert error_of(answer)[:2] == (503, "retry_later")
            assert answer.headers["Retry-After"].isdigit()
        assert central.applied_seq(device) == 0 and central.ledger_count() == 0
        retried = central.push(token, body)
        assert retried.status_code == 200
        assert central.applied_seq(device) == 2 and central.ledger_count() == 2
    impatient.dispose()


def test_an_unreachable_database_is_503_retry_later(clock: Callable[[], datetime]) -> None:
    gone = make_engine("postgresql+psycopg://lotscan:secret@127.0.0.1:1/central")
    with (
        running(create_app(sessionmaker(gone), clock)) as url,
        httpx.Client(base_url=url, timeout=TEST_HTTP_TIMEOUT) as http,
    ):
        for answer in (
            http.get("/v1/health"),
            http.post("/v1/devices/enroll", json={"code": "ABCD-1234"}),
            http.get("/v1/sync/pull", headers=bearer("some-token")),
        ):
            status, error, message = error_of(answer)
            assert (status, error) == (503, "retry_later") and "secret" not in message
    gone.dispose()


def test_a_service_done_with_lets_go_of_its_database(
    tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    """FastAPI keeps every endpoint it has seen in caches that last as long as the process.
    An endpoint that held the database would keep each app's engine alive, with every
    statement it compiled: a test run builds hundreds of apps, and its garbage collections
    grew to seconds each."""
    engine = make_engine(sqlite_url(tmp_path / "central.db"))
    with (
        running(create_app(sessionmaker(engine), clock)) as url,
        httpx.Client(base_url=url, timeout=TEST_HTTP_TIMEOUT) as http,
    ):
        assert http.get("/v1/health").status_code == 200
    engine.dispose()
    released = weakref.ref(engine)
    del engine
    gc.collect()
    assert released() is None


# ---- the command line -------------------------------------------------------------------


def test_devices_enroll_list_and_revoke_use_the_central_database(tmp_path: Path) -> None:
    enrolled = lotscan("devices", "enroll", "forklift-1", "--json", home=tmp_path)
    assert enrolled.returncode == 0, enrolled.stderr
    issued = json.loads(enrolled.stdout)
    assert set(issued) == {"device", "code", "expires_at", "waiting"}
    assert datetime.fromisoformat(issued["expires_at"]).tzinfo is not None
    assert (tmp_path / "central.db").exists() and not (tmp_path / "lotscan.db").exists()

    text = lotscan("devices", "enroll", "office", "--supervisor", home=tmp_path)
    assert text.returncode == 0
    assert text.stdout.startswith("Enrollment code for office (device ")
    assert "(15 minutes)" in text.stdout and "lotscan enroll http://" in text.stdout

    listed = lotscan("devices", "list", "--json", home=tmp_path)
    rows = json.loads(listed.stdout)
    assert [set(row) for row in rows] == [
        {
            "device",
            "name",
            "status",
            "last_seen",
            "last_applied_seq",
            "queue_depth",
            "flagged",
            "held",
            "rejected",
            "role",
            "role_changed_at",
            "role_changed_by",
            "revoked_at",
            "revoked_by",
        }
    ] * 2
    assert {row["name"]: row["status"] for row in rows} == {
        "forklift-1": "pending",
        "office": "pending",
    }

    revoked = lotscan("devices", "revoke", issued["device"], home=tmp_path)
    assert revoked.returncode == 0 and issued["device"] in revoked.stdout
    table = lotscan("devices", "list", home=tmp_path).stdout
    (line,) = [line for line in table.splitlines() if line.startswith(issued["device"])]
    assert "forklift-1" in line and "revoked" in line
    rows = json.loads(lotscan("devices", "list", "--json", home=tmp_path).stdout)
    (row,) = [row for row in rows if row["device"] == issued["device"]]
    assert row["revoked_by"].startswith("the central console")

    again = lotscan("devices", "revoke", issued["device"], home=tmp_path)
    assert again.returncode == 1
    assert again.stderr.startswith(f"lotscan: Device {issued['device']} is revoked already since")
    assert json.loads(lotscan("devices", "list", "--json", home=tmp_path).stdout) == rows


def test_the_revoke_hint_is_a_command_to_paste(tmp_path: Path) -> None:
    issued = json.loads(
        lotscan("devices", "enroll", "Dock handheld 1", "--json", home=tmp_path).stdout
    )
    revoked = lotscan("devices", "revoke", issued["device"], home=tmp_path)
    assert "lotscan devices enroll 'Dock handheld 1' gives it a code" in revoked.stdout


def test_revoking_an_unknown_device_is_one_clear_line(tmp_path: Path) -> None:
    nowhere = lotscan("devices", "revoke", "ZZZZ", home=tmp_path)
    assert (nowhere.returncode, nowhere.stdout) == (1, "")
    assert nowhere.stderr.startswith("lotscan: No central database at ")
    assert not (tmp_path / "central.db").exists()  # a command that decides makes none
    assert lotscan("devices", "enroll", "forklift-1", home=tmp_path).returncode == 0
    result = lotscan("devices", "revoke", "ZZZZ", home=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("lotscan: ") and "ZZZZ" in line


def dump(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as connection:
        return list(connection.iterdump())


def test_the_store_commands_never_make_a_handhelds_database_a_central_store(
    tmp_path: Path,
) -> None:
    handheld = tmp_path / "lotscan.db"
    url = sqlite_url(handheld)
    floor = Floor.on_plant(open_migrated(url), lambda: NOW)
    floor.run("OP:B1001\nCMD:RECEIVE\n(240)BOLT(30)5")
    floor.sessions.kw["bind"].dispose()
    before = dump(handheld)
    for args in (
        ("exceptions", "list"),
        ("devices", "list", "--json"),
        ("exceptions", "void", "--part", "X", "--reason", "r"),
        ("devices", "revoke", "ZZZZ"),
    ):
        result = lotscan(*args, "--db", url, home=tmp_path)
        assert (result.returncode, result.stdout) == (1, ""), args
        assert result.stderr == (
            f"lotscan: {url} is not a central store: give the central database with --db\n"
        )
    made = lotscan("devices", "enroll", "dock", "--db", url, home=tmp_path)
    served = lotscan("serve", "--port", "0", "--db", url, home=tmp_path)
    for refused in (made, served):
        assert (refused.returncode, refused.stdout) == (1, "")
        assert refused.stderr.startswith(
            f"lotscan: {url} is not a central store but the database of handheld "
        )
    assert dump(handheld) == before  # not a row written
    empty = tmp_path / "empty.db"
    empty.touch()
    nothing = lotscan("devices", "list", "--db", sqlite_url(empty), home=tmp_path)
    assert nothing.stderr == f"lotscan: {empty} is an empty file, not a central store\n"
    assert empty.stat().st_size == 0


def test_serve_runs_the_service_on_the_central_database(db_url: str, tmp_path: Path) -> None:
    issued = json.loads(
        lotscan("devices", "enroll", "forklift-1", "--json", "--db", db_url, home=tmp_path).stdout
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "scanner", "serve", "--port", "0", "--db", db_url],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={"LOTSCAN_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline().strip()
        assert line.startswith("lotscan central store on http://127.0.0.1:"), line
        url = line.split(" on ", 1)[1].split(",", 1)[0]
        with httpx.Client(base_url=url, timeout=TEST_HTTP_TIMEOUT) as http:
            assert http.get("/v1/health").status_code == 200
            answer = http.post("/v1/devices/enroll", json={"code": issued["code"]})
            assert answer.status_code == 201 and answer.json()["device_id"] == issued["device"]
    finally:
        server.send_signal(signal.SIGTERM)  # how a service manager stops it
        server.wait()
    assert server.stderr is not None
    rest = server.stderr.read()
    server.stderr.close()
    # uvicorn shuts down cleanly, then lets the signal end the process as it would have.
    assert server.returncode == -signal.SIGTERM
    # One line at startup, and nothing else on the way; on a PostgreSQL server with
    # autovacuum off, one more that says so (sync/central/analyze.py).
    assert rest == ("" if _autovacuum_on(db_url) else f"lotscan: {NOTICE}\n")


def _autovacuum_on(db_url: str) -> bool:
    if not db_url.startswith("postgresql"):
        return True
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SHOW autovacuum")).scalar() == "on"
    finally:
        engine.dispose()


def test_serve_on_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = str(taken.getsockname()[1])
    try:
        result = lotscan("serve", "--port", port, home=tmp_path)
    finally:
        taken.close()
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"lotscan: Cannot listen on 127.0.0.1:{port}: "), line


def test_the_enrollment_hint_names_the_address_serve_listens_on(
    db_url: str, tmp_path: Path
) -> None:
    before = lotscan("devices", "enroll", "forklift-1", "--db", db_url, home=tmp_path)
    assert before.returncode == 0, before.stderr
    assert "lotscan enroll http://HOST:PORT " in before.stdout
    assert "it has not run on this database yet" in before.stdout
    server = subprocess.Popen(
        [sys.executable, "-m", "scanner", "serve", "--port", "0", "--db", db_url],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={"LOTSCAN_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline().strip()
        url = line.split(" on ", 1)[1].split(",", 1)[0]
        assert not url.endswith(":8470")  # port 0: any free one, never the default
        after = lotscan("devices", "enroll", "forklift-2", "--db", db_url, home=tmp_path)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        assert server.stderr is not None
        server.stderr.close()
    assert after.returncode == 0, after.stderr
    code = after.stdout.split(": ", 1)[1].split(" ", 1)[0]
    assert f"On the handheld: lotscan enroll {url} {code} (where lotscan serve last listened)" in (
        after.stdout
    )
