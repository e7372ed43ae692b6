"""What the sync service takes at its door (docs/architecture.md, "Values at the door"):
every time with its offset, normalised to UTC and within the store's range; whole numbers,
flags and quantities as JSON writes them, not as Python would stretch to read them; text
without control characters; UTF-8 bodies. A refusal is 422 (400 for a body that is not
UTF-8) naming the field, and nothing is recorded. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.sync_service import Central, bearer, error_of, push_body, receipt

Change = Callable[[dict[str, Any]], object]


def _movement(field: str, value: Any) -> Change:
    def change(body: dict[str, Any]) -> None:
        body["movements"][0][field] = value

    return change


def _push(field: str, value: Any) -> Change:
    def change(body: dict[str, Any]) -> None:
        body[field] = value

    return change


def _status_change(field: str, value: Any) -> Change:
    def change(body: dict[str, Any]) -> None:
        body["status_changes"] = [
            {
                "id": str(uuid.uuid4()),
                "subject": "job",
                "key": "J-HOUSING",
                "status": "closed",
                "happened_at": "2026-11-02T08:30:00Z",
                field: value,
            }
        ]

    return change


def _lot_change(**fields: Any) -> Change:
    """A lot's status change with `fields` in place of a held lot's (None: left out)."""

    def change(body: dict[str, Any]) -> None:
        held = {
            "id": str(uuid.uuid4()),
            "subject": "lot",
            "key": "PIGMENT|PG-1",
            "status": "hold",
            "operator": "B9001",
            "happened_at": "2026-11-02T08:30:00Z",
        }
        held.update(fields)
        body["status_changes"] = [{key: value for key, value in held.items() if value is not None}]

    return change


EARLIEST_PYTHON = "0001-01-01T00:00:00+14:00"  # year 0 in UTC: PostgreSQL stores a date BC
LATEST_PYTHON = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC: Python overflows
RANGE = "must be between 1900-01-01 and 2999-12-31"

REFUSED_AT_THE_DOOR: list[tuple[Change, str]] = [
    # times outside the store's range, or without an offset
    (_push("oldest_pending_at", EARLIEST_PYTHON), f"oldest_pending_at: {RANGE}"),
    (_push("oldest_pending_at", LATEST_PYTHON), f"oldest_pending_at: {RANGE}"),
    (_push("device_time", LATEST_PYTHON), f"device_time: {RANGE}"),
    (_push("device_time", EARLIEST_PYTHON), f"device_time: {RANGE}"),
    (_movement("happened_at", EARLIEST_PYTHON), f"movements[0].happened_at: {RANGE}"),
    (_movement("happened_at", LATEST_PYTHON), f"movements[0].happened_at: {RANGE}"),
    (_movement("happened_at", "1899-12-31T23:59:59Z"), f"movements[0].happened_at: {RANGE}"),
    (_movement("happened_at", "3000-01-01T00:00:00Z"), f"movements[0].happened_at: {RANGE}"),
    (_status_change("happened_at", LATEST_PYTHON), f"status_changes[0].happened_at: {RANGE}"),
    (_movement("lot_expiry", "0001-01-01"), f"movements[0].lot_expiry: {RANGE}"),
    (_movement("lot_expiry", "9999-12-31"), f"movements[0].lot_expiry: {RANGE}"),
    (
        _movement("happened_at", "2026-11-02T08:30:00"),
        "movements[0].happened_at: must give its offset from UTC",
    ),
    # lenient parsing
    (_movement("seq", True), "movements[0].seq: must be a whole number"),
    (_movement("seq", 1.0), "movements[0].seq: must be a whole number"),
    (_movement("seq", "1"), "movements[0].seq: must be a whole number"),
    (_push("queue_depth", False), "queue_depth: must be a whole number"),
    (_movement("qty", "1_000"), "movements[0].qty: must be a number"),
    (_movement("qty", "\u0661\u0660"), "movements[0].qty: must be a number"),  # Arabic-Indic 10
    (_movement("qty", "\uff11"), "movements[0].qty: must be a number"),  # fullwidth 1
    (_movement("qty", True), "movements[0].qty: must be a number"),
    (_movement("qty", " 5"), "movements[0].qty: must be a number"),
    (_movement("happened_at", 1_793_608_200), "movements[0].happened_at: must be a date and"),
    (_movement("happened_at", "1793608200"), "movements[0].happened_at: must be a date and"),
    (_push("device_time", 1_793_608_200), "device_time: must be a date and time"),
    (_movement("lot_expiry", 20261102), "movements[0].lot_expiry: must be a date"),
    (_movement("lot_expiry", "2026-11-02T00:00:00Z"), "movements[0].lot_expiry: must be a date"),
    # control characters in text
    (_movement("lot", "\x1b]0;owned\x07X"), "movements[0].lot: holds U+001B (ESC)"),
    (_movement("reason", "wrong bin\x1b[2J"), "movements[0].reason: holds U+001B (ESC)"),
    (_movement("supplier_lot", "S\r\n9"), "movements[0].supplier_lot: holds U+000D"),
    (_movement("part", "BOLT\u202e"), "movements[0].part: holds U+202E"),
    (_movement("operator", "B1001\x00"), "movements[0].operator: holds U+0000 (NUL)"),
    (_movement("reason", "\ud800"), "movements[0].reason: holds U+D800, half of a UTF-16"),
    (_push("app_version", "1.0\x1b[31m"), "app_version: holds U+001B (ESC)"),
    (_status_change("reason", "closed\x07"), "status_changes[0].reason: holds U+0007 (BEL)"),
    (_status_change("key", "J\x1bH"), "status_changes[0].key: holds U+001B (ESC)"),
    # a status the subject cannot have, a lot's change without who decided it
    (_status_change("status", "hold"), "status_changes[0].status: a job cannot be 'hold'"),
    (_lot_change(status="closed"), "status_changes[0].status: a lot cannot be 'closed'"),
    (
        _lot_change(subject="serial", status="open"),
        "status_changes[0].status: a serial cannot be 'open'",
    ),
    (_lot_change(operator=None), "status_changes[0].operator: a lot's or serial's status"),
    (_lot_change(key="PG-1"), "status_changes[0].key: a lot's key is PART|NUMBER"),
    (_lot_change(key="PIGMENT|PG 1"), "status_changes[0].key: a lot's key is PART|NUMBER"),
]


def test_what_the_door_refuses_is_422_naming_the_field_and_nothing_is_recorded(
    central: Central,
) -> None:
    device, token = central.enroll("forklift-1")
    for change, problem in REFUSED_AT_THE_DOOR:
        body = push_body(device, receipt(1))
        change(body)
        answer = central.http.post(
            "/v1/sync/push",
            content=json.dumps(body).encode(),
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        status, error, message = error_of(answer)
        assert (status, error) == (422, "bad_request"), (problem, message)
        assert message.startswith(problem), message
    assert central.applied_seq(device) == 0 and central.ledger_count() == 0
    assert central.push(token, push_body(device, receipt(1))).status_code == 200


def test_a_time_past_pythons_range_leaves_the_device_list_working(central: Central) -> None:
    """Once a time of year 0 was stored on PostgreSQL, listing devices (and revoking, and
    `lotscan devices list`) failed for good."""
    _office, boss = central.enroll("office", supervisor=True)
    device, token = central.enroll("forklift-1")
    body = {**push_body(device, receipt(1)), "oldest_pending_at": EARLIEST_PYTHON}
    assert central.push(token, body).status_code == 422
    listed = central.http.get("/v1/devices", headers=bearer(boss))
    assert listed.status_code == 200, listed.text
    assert central.push(token, push_body(device, receipt(1))).status_code == 200
    revoked = central.http.post(f"/v1/devices/{device}/revoke", headers=bearer(boss))
    assert revoked.status_code == 200, revoked.text


def test_a_handheld_whose_clock_reset_to_1970_still_syncs(central: Central) -> None:
    """A handheld whose clock battery ran out: its queue goes through, its times as it
    recorded them, and a supervisor hears that its clock is off."""
    device, token = central.enroll("forklift-1")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    movement = receipt(1).model_copy(update={"happened_at": epoch})
    body = {**push_body(device, movement), "device_time": "1970-01-01T00:00:05Z"}
    body["oldest_pending_at"] = "1970-01-01T00:00:00Z"
    answer = central.push(token, body)
    assert answer.status_code == 200, answer.text
    assert [outcome["status"] for outcome in answer.json()["outcomes"]] == ["applied"]
    (pulled,) = [c for c in central.pull(token).changes if c.kind == "movement"]
    assert datetime.fromisoformat(pulled.data["happened_at"]) == epoch


HONEST_QUANTITIES = ["12.5", "12.500", "1E+3", "0.001", 12.5, 7]


def test_a_quantity_as_a_handheld_writes_it_is_taken(central: Central) -> None:
    device, token = central.enroll("forklift-1")
    for seq, qty in enumerate(HONEST_QUANTITIES, start=1):
        body = push_body(device, receipt(seq))
        body["movements"][0]["qty"] = qty
        answer = central.push(token, body)
        assert answer.status_code == 200, (qty, answer.text)
    assert central.ledger_count() == len(HONEST_QUANTITIES)


def test_a_body_that_is_not_utf8_is_400(central: Central) -> None:
    """JSON's own reader would take UTF-16 and UTF-32, guessing from the first bytes."""
    device, token = central.enroll("forklift-1")
    text = json.dumps(push_body(device, receipt(1)))
    for content in (
        text.encode("utf-16"),
        text.encode("utf-16-le"),
        text.encode("utf-32"),
        text.encode().replace(b'"test"', b'"\xff"'),
        text.encode().replace(b'"test"', b'"\xed\xa0\x80"'),  # an encoded UTF-16 half
    ):
        answer = central.http.post(
            "/v1/sync/push",
            content=content,
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        status, error, message = error_of(answer)
        assert (status, error) == (400, "bad_request") and "UTF-8" in message
    assert central.ledger_count() == 0


SUPERVISOR_TEXT = [
    ("POST", "/v1/devices", {"name": "forklift\x1b[2J"}, "name: holds U+001B (ESC)"),
    ("POST", "/v1/devices", {"name": "x", "supervisor": 1}, "supervisor: must be true or"),
    ("POST", "/v1/devices", {"name": "x", "supervisor": "true"}, "supervisor: must be true or"),
    (
        "POST",
        "/v1/exceptions/1/resolve",
        {"action": "dismiss", "reason": "ok\x1b]0;x\x07"},
        "reason: holds U+001B (ESC)",
    ),
    (
        "POST",
        "/v1/exceptions/1/resolve",
        {"action": "adjust", "qty": "1_0", "location": "A-01"},
        "qty: must be a number",
    ),
    (
        "POST",
        "/v1/exceptions/1/resolve",
        {"action": "adjust", "qty": "5", "location": "A-01\x00"},
        "location: holds U+0000 (NUL)",
    ),
]


def test_supervisors_words_and_numbers_are_checked_at_the_door(central: Central) -> None:
    _office, boss = central.enroll("office", supervisor=True)
    for method, path, body, problem in SUPERVISOR_TEXT:
        answer = central.http.request(method, path, json=body, headers=bearer(boss))
        status, error, message = error_of(answer)
        assert (status, error) == (422, "bad_request") and message.startswith(problem), message


def test_an_enrollment_with_a_control_character_is_422_naming_the_field(
    central: Central,
) -> None:
    code = central.code("forklift-1")
    for field in ("device_name", "app_version", "code"):
        answer = central.http.post("/v1/devices/enroll", json={"code": code, field: "x\x1b[2J"})
        status, _error, message = error_of(answer)
        assert status == 422 and message.startswith(f"{field}: holds U+001B (ESC)"), message
    assert central.http.post("/v1/devices/enroll", json={"code": code}).status_code == 201


def test_a_pull_cursor_is_ascii_digits(central: Central) -> None:
    _device, token = central.enroll("forklift-1")
    for cursor in ("1_0", "\u0663", " 3", "+3"):
        answer = central.http.get("/v1/sync/pull", params={"cursor": cursor}, headers=bearer(token))
        assert error_of(answer) == (422, "bad_request", "cursor: must be a whole number")


# ---- one instant, whatever offset it came with ----------------------------------------------


@pytest.mark.parametrize("offset", ["+05:00", "-09:30", "Z"])
def test_a_time_comes_back_as_the_same_instant_whatever_its_offset(
    central: Central, offset: str
) -> None:
    """A SQLite store kept a `+05:00` time's digits and dropped the offset, so it came back
    five hours off; the door now gives every time to the store in UTC."""
    _office, boss = central.enroll("office", supervisor=True)
    device, token = central.enroll("forklift-1")
    local = {"+05:00": "13:30:00", "-09:30": "23:00:00", "Z": "08:30:00"}[offset]
    day = "2026-11-01" if offset == "-09:30" else "2026-11-02"
    written = f"{day}T{local}{offset}"
    instant = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    body = push_body(device, receipt(1), receipt(2))
    body["movements"][0]["happened_at"] = written
    body["oldest_pending_at"] = written
    body["device_time"] = written
    body["max_local_seq"] = 3  # one more waits on the handheld
    body["queue_depth"] = 3
    assert central.push(token, body).status_code == 200

    changes = central.pull(token).changes
    (movement, _second) = [c for c in changes if c.kind == "movement"]
    assert datetime.fromisoformat(movement.data["happened_at"]) == instant
    rows = {row["device"]: row for row in _devices(central, boss)}
    assert datetime.fromisoformat(rows[device]["oldest_pending_at"]) == instant
    assert rows[device]["clock_offset"] == 0


def _devices(central: Central, token: str) -> list[dict[str, Any]]:
    answer = central.http.get("/v1/devices", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


# ---- every answer documented ---------------------------------------------------------------


def test_head_health_answers_as_get_does(central: Central) -> None:
    """A load balancer may ask with HEAD: it was 405."""
    answer = central.http.head("/v1/health")
    assert answer.status_code == 200 and answer.content == b""


def test_the_answers_the_schema_once_left_out_are_documented(central: Central) -> None:
    """400 for a body that is not UTF-8, 409 on enroll, HEAD /v1/health: given here, and
    checked against the schema by `running` (tests/support/sync_service.py) as every
    answer in these tests is."""
    central.enroll("forklift-1")
    answer = central.http.post(
        "/v1/devices/enroll",
        content=b'{"code": "\xff"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    other = central.http.post(
        "/v1/devices/enroll",
        # a code for a device already enrolled, from a handheld with a queue of its own
        json={"code": central.code("forklift-1"), "device_id": "HH-OLD", "queued": 3},
    )
    assert other.status_code == 409, other.text
    assert central.http.head("/v1/health").status_code == 200
    paths = central.http.get("/openapi.json").json()["paths"]
    assert "400" in paths["/v1/devices/enroll"]["post"]["responses"]
    assert "409" in paths["/v1/devices/enroll"]["post"]["responses"]
    assert "200" in paths["/v1/health"]["head"]["responses"]


def test_a_protocol_field_in_another_body_is_not_an_upgrade(central: Central) -> None:
    """Only a push says its protocol: `protocol` in an enrollment is an unknown field."""
    answer = central.http.post(
        "/v1/devices/enroll", json={"code": central.code("forklift-1"), "protocol": 2}
    )
    assert error_of(answer)[:2] == (422, "bad_request")


@pytest.mark.parametrize("device_id", ["--", "-H7KQ", "H7 KQ", "H" * 21])
def test_an_enrolling_handheld_s_own_id_starts_with_a_letter_or_digit(
    central: Central, device_id: str
) -> None:
    """A handheld enrolling with its own id `--` became device `--`, which `lotscan devices
    revoke --` read as an option (probe): the store's ids are plain words."""
    answer = central.http.post(
        "/v1/devices/enroll",
        json={"code": central.code("forklift-1"), "device_id": device_id, "queued": 1},
    )
    status, error, message = error_of(answer)
    assert (status, error) == (422, "bad_request") and message.startswith("device_id")


def test_json_nested_past_what_python_reads_is_said_to_be_so(central: Central) -> None:
    """A body of 100,000 arrays in arrays was answered "The body is not UTF-8 text" (probe)."""
    _device, token = central.enroll("forklift-1")
    body = b"[" * 100_000 + b"]" * 100_000
    for path in ("/v1/devices/enroll", "/v1/sync/push"):
        answer = central.http.post(
            path,
            content=body,
            headers={"Content-Type": "application/json", **bearer(token)},
        )
        assert error_of(answer) == (
            400,
            "bad_request",
            "The JSON is nested too deeply: no request nests so",
        ), path
