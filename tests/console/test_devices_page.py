"""The console's Devices page: each device with what it reported, stale ones marked;
enrolling (a code that works, and its QR code) and revoking after a confirmation."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from sync.central.enrollment import issue_code
from sync.central.models import Device
from sync.central.supervision import device_rows
from sync.protocol import EnrollResponse
from tests.support.console_pages import QUALITY, console_client, form
from tests.support.sync_service import bearer, error_of, push_body, receipt

Clock = Callable[[], datetime]


def enrolled(client: TestClient, sessions: sessionmaker[Session], name: str) -> tuple[str, str]:
    with unit_of_work(sessions) as session:
        code = issue_code(session, name).code
    answer = client.post("/v1/devices/enroll", json={"code": code})
    assert answer.status_code == 201, answer.text
    done = EnrollResponse.model_validate(answer.json())
    return done.device_id, done.device_token


def row_of(page: str, device: str) -> str:
    found = re.search(rf'<tr data-device="{device}".*?</tr>', page, re.S)
    assert found, f"no row for {device}"
    return found.group(0)


def test_the_page_lists_each_device_with_its_counts_and_marks_a_stale_one(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        device, token = enrolled(client, sessions, "forklift-1")
        quiet, _token = enrolled(client, sessions, "forklift-2")
        pushed = client.post(
            "/v1/sync/push",
            json=push_body(device, receipt(1, part="NO-SUCH-PART"), receipt(2)),
            headers=bearer(token),
        )
        assert pushed.status_code == 200, pushed.text
        with unit_of_work(sessions) as session:
            session.get_one(Device, quiet).last_seen_at = clock() - timedelta(hours=2)
        page = client.get("/console/devices")
    assert page.status_code == 200
    busy = row_of(page.text, device)
    cells = re.findall(r"<td>(.*?)</td>", busy, re.S)
    assert "forklift-1" in cells[0] and "stale" not in busy
    with unit_of_work(sessions) as session:
        (row,) = [row for row in device_rows(session) if row["device"] == device]
    reported = [row["queue_depth"], row["flagged"], row["held"], row["rejected"]]
    assert row["held"] == 1 and cells[5:9] == [str(count) for count in reported]
    assert "stale" in row_of(page.text, quiet)
    assert 'id="devices"' in page.text and "refresh.js" in page.text
    # Times read as people write them, in UTC, not as ISO text with microseconds.
    seen = datetime.fromisoformat(str(row["last_seen"]))
    assert cells[3].strip() == f"{seen.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def test_the_rows_fragment_agrees_with_devices_list(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        enrolled(client, sessions, "forklift-1")
        rows = client.get("/console/devices", params={"fragment": "rows"})
    with unit_of_work(sessions) as session:
        listed = device_rows(session)
    assert rows.status_code == 200 and "<html" not in rows.text
    assert [row["device"] for row in listed] == re.findall(r'data-device="([^"]+)"', rows.text)


def test_enroll_shows_a_code_and_its_qr_code_and_the_code_enrolls(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        page = client.post("/console/devices/enroll", data=form(name="forklift-7"))
        assert page.status_code == 200, page.text
        code = re.search(r'<p class="code" id="code">([0-9A-Z-]+)</p>', page.text)
        assert code is not None
        assert (
            "<svg" in page.text and f"lotscan enroll http://testserver {code.group(1)}" in page.text
        )
        answer = client.post("/v1/devices/enroll", json={"code": code.group(1)})
    assert answer.status_code == 201, answer.text
    with unit_of_work(sessions) as session:
        (row,) = [row for row in device_rows(session) if row["name"] == "forklift-7"]
    assert row["status"] == "active" and row["role"] == "handheld"


def test_enroll_over_a_device_with_scans_waiting_warns_first(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        device, token = enrolled(client, sessions, "forklift<1>")
        body = push_body(device, receipt(1))
        body.update(queue_depth=5, max_local_seq=5)
        assert client.post("/v1/sync/push", json=body, headers=bearer(token)).status_code == 200
        page = client.post("/console/devices/enroll", data=form(name="forklift<1>"))
        other = client.post("/console/devices/enroll", data=form(name="forklift-2"))
    assert page.status_code == 200, page.text
    warning = re.search(r'<p class="error" role="alert" id="replacing">(.*?)</p>', page.text)
    assert warning is not None
    assert warning.group(1).startswith(
        "Before you do: forklift&lt;1&gt; reported 4 movements still waiting at its last sync"
    )
    assert 'id="replacing"' not in other.text


def test_revoke_asks_first_then_the_device_is_refused_and_keeps_its_queue(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        device, token = enrolled(client, sessions, "forklift-1")
        held = push_body(device, receipt(1, part="NO-SUCH-PART"))
        assert client.post("/v1/sync/push", json=held, headers=bearer(token)).status_code == 200
        asked = client.get(f"/console/devices/{device}/revoke")
        assert asked.status_code == 200 and "Yes, revoke" in asked.text
        unconfirmed = client.post(f"/console/devices/{device}/revoke", data=form())
        assert unconfirmed.status_code == 422
        assert client.post("/v1/sync/push", json=held, headers=bearer(token)).status_code == 200
        revoked = client.post(f"/console/devices/{device}/revoke", data=form(confirm="yes"))
        assert revoked.status_code == 200 and "is revoked" in revoked.text
        refused = client.post(
            "/v1/sync/push", json=push_body(device, receipt(2)), headers=bearer(token)
        )
    assert error_of(refused)[:2] == (401, "device_revoked")
    with unit_of_work(sessions) as session:
        (row,) = [row for row in device_rows(session) if row["device"] == device]
    assert row["status"] == "revoked" and row["held"] == 1
    assert row["revoked_by"] == "Sam Okafor (B9001) on the console"


def test_without_the_csrf_token_nothing_is_enrolled_or_revoked(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        device, _token = enrolled(client, sessions, "forklift-1")
        enroll = client.post("/console/devices/enroll", data={"name": "forklift-9"})
        revoke = client.post(f"/console/devices/{device}/revoke", data={"confirm": "yes"})
    assert (enroll.status_code, revoke.status_code) == (403, 403)
    with unit_of_work(sessions) as session:
        assert {row["name"]: row["status"] for row in device_rows(session)} == {
            "forklift-1": "active"
        }


def test_quality_staff_see_the_page_but_cannot_enroll_or_revoke(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock, QUALITY) as client:
        device, _token = enrolled(client, sessions, "forklift-1")
        page = client.get("/console/devices")
        enroll = client.post("/console/devices/enroll", data=form(QUALITY, name="x"))
        revoke = client.post(f"/console/devices/{device}/revoke", data=form(QUALITY, confirm="yes"))
    assert page.status_code == 200 and "Only a supervisor" in page.text
    assert ">Enroll<" not in page.text and ">Revoke<" not in page.text
    assert (enroll.status_code, revoke.status_code) == (403, 403)
    with unit_of_work(sessions) as session:
        assert [row["status"] for row in device_rows(session)] == ["active"]


def test_a_device_name_with_markup_shows_as_text(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        with unit_of_work(sessions) as session:
            issue_code(session, "<script>alert(1)</script>")
        page = client.get("/console/devices")
        issued = client.post("/console/devices/enroll", data=form(name="<script>alert(2)</script>"))
    assert "<script>alert" not in page.text + issued.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
