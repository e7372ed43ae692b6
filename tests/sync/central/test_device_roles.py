"""Which devices are supervisors', and which device ids the store takes, as supervisors and
handhelds meet them over HTTP and at the central console: a role changes only when a code
issued for it is redeemed, or by an explicit command kept in the device's history; a new
device never takes an id that differs from another only in case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.db import unit_of_work
from scanner.settings import DEVICE_ID, write_setting
from sync.central import enrollment
from sync.central.enrollment import issue_code
from sync.central.models import Device
from tests.support.sync_service import (
    Central,
    bearer,
    error_of,
    lotscan,
)


def is_supervisor(central: Central, token: str) -> bool:
    """Whether the store takes `token` as a supervisor's (lists its devices)."""
    answer = central.http.get("/v1/devices", headers=bearer(token))
    assert answer.status_code in (200, 403), answer.text
    return answer.status_code == 200


def device_row(central: Central, boss: str, device: str) -> dict[str, object]:
    answer = central.http.get("/v1/devices", headers=bearer(boss))
    (row,) = [row for row in answer.json() if row["device"] == device]
    return dict(row)


def test_asking_for_a_supervisors_code_promotes_nobody_until_it_is_redeemed(
    central: Central,
) -> None:
    office, boss = central.enroll("office", supervisor=True)
    h2, token = central.enroll("h2")
    issued = central.http.post(
        "/v1/devices", json={"name": "h2", "supervisor": True}, headers=bearer(boss)
    )
    assert issued.status_code == 201
    assert not is_supervisor(central, token)  # the code is not redeemed: nothing changed
    assert issued.json()["role"] == "supervisor"
    assert device_row(central, boss, h2)["role"] == "handheld"

    redeemed = central.http.post("/v1/devices/enroll", json={"code": issued.json()["code"]})
    assert redeemed.status_code == 201 and redeemed.json()["role"] == "supervisor"
    assert is_supervisor(central, redeemed.json()["device_token"])
    row = device_row(central, boss, h2)
    assert row["role"] == "supervisor"
    assert row["role_changed_by"] == f"office ({office})"
    assert row["role_changed_how"] == f"enrollment code issued by office ({office}), redeemed"


def test_asking_for_a_handhelds_code_demotes_no_supervisor(central: Central) -> None:
    _office, boss = central.enroll("office", supervisor=True)
    _desk, desk = central.enroll("desk", supervisor=True)
    issued = central.http.post("/v1/devices", json={"name": "desk"}, headers=bearer(boss))
    assert issued.status_code == 201
    assert is_supervisor(central, desk)  # still, until the code is redeemed
    assert issued.json()["role"] == "handheld"

    redeemed = central.http.post("/v1/devices/enroll", json={"code": issued.json()["code"]})
    assert redeemed.json()["role"] == "handheld"
    assert not is_supervisor(central, redeemed.json()["device_token"])


def test_a_supervisor_changes_a_role_explicitly_and_it_is_kept_in_the_history(
    central: Central,
) -> None:
    office, boss = central.enroll("office", supervisor=True)
    h2, token = central.enroll("h2")
    changed = central.http.post(
        f"/v1/devices/{h2}/role",
        json={"role": "supervisor", "operator": "B9001", "reason": "night shift lead"},
        headers=bearer(boss),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "supervisor"
    assert changed.json()["role_changed_by"] == f"Sam Okafor on office ({office})"
    assert is_supervisor(central, token)  # its own token, at once
    row = device_row(central, boss, h2)
    assert (row["role"], row["role_changed_by"]) == (
        "supervisor",
        f"Sam Okafor on office ({office})",
    )
    assert row["role_changed_how"] == "role changed by a supervisor: night shift lead"

    again = central.http.post(
        f"/v1/devices/{h2}/role", json={"role": "supervisor"}, headers=bearer(boss)
    )
    assert error_of(again)[:2] == (409, "no_change")
    floor = central.http.post(
        f"/v1/devices/{h2}/role",
        json={"role": "handheld", "operator": "B1001"},
        headers=bearer(boss),
    )
    assert error_of(floor)[:2] == (403, "not_supervisor")
    unknown = central.http.post(
        "/v1/devices/ZZZZ/role", json={"role": "handheld"}, headers=bearer(boss)
    )
    assert error_of(unknown)[0] == 404
    handheld = central.http.post(
        f"/v1/devices/{office}/role",
        json={"role": "handheld"},
        headers=bearer(central.enroll("h3")[1]),
    )
    assert error_of(handheld)[:2] == (403, "not_supervisor")
    assert is_supervisor(central, boss)


def test_the_console_asks_for_codes_and_changes_roles_only_when_told(
    db_url: str, tmp_path: Path
) -> None:
    def run(*args: str) -> str:
        result = lotscan("devices", *args, "--db", db_url, home=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def role_of(name: str) -> dict[str, object]:
        (row,) = [row for row in json.loads(run("list", "--json")) if row["name"] == name]
        return dict(row)

    device = json.loads(run("enroll", "h2", "--json"))["device"]
    run("enroll", "h2", "--supervisor")
    assert role_of("h2")["role"] == "handheld"
    assert role_of("h2")["role_changed_at"] is None

    said = run("role", "h2", "supervisor", "--reason", "night shift lead")
    assert said.startswith(f"Device {device} (h2) is now a supervisor's (it was a handheld's)")
    row = role_of("h2")
    assert row["role"] == "supervisor"
    assert str(row["role_changed_by"]).startswith("the central console")
    assert row["role_changed_at"] is not None

    shown = json.loads(run("role", device, "handheld", "--json"))
    assert (shown["device"], shown["role"], shown["was"]) == (device, "handheld", "supervisor")
    same = lotscan("devices", "role", "h2", "handheld", "--db", db_url, home=tmp_path)
    assert same.returncode == 1 and "already a handheld's" in same.stderr
    unknown = lotscan("devices", "role", "nobody", "supervisor", "--db", db_url, home=tmp_path)
    assert unknown.returncode == 1 and unknown.stderr.startswith("lotscan: No device 'nobody'")


def test_a_new_device_cannot_take_an_id_that_differs_from_anothers_only_in_case(
    central: Central,
) -> None:
    # The first handheld proposes its own id, as a handheld enrolling with a queue does:
    # an id the store makes may be all digits one time in a hundred, with no case to differ.
    first = central.http.post(
        "/v1/devices/enroll",
        json={"code": central.code("forklift-1"), "device_id": "FK1A", "queued": 1},
    )
    assert first.status_code == 201, first.text
    existing = first.json()["device_id"]
    assert existing == "FK1A"
    lower = existing.lower()
    code = central.code("forklift-2")
    answer = central.http.post(
        "/v1/devices/enroll", json={"code": code, "device_id": lower, "queued": 3}
    )
    status, error, message = error_of(answer)
    assert (status, error) == (409, "device_id_taken")
    assert existing in message and lower in message
    with unit_of_work(central.sessions) as session:
        ids = list(session.scalars(select(Device.id)))
        assert lower not in ids
    # The code is still unused: the same handheld, its queue elsewhere, takes the new id.
    taken = central.http.post("/v1/devices/enroll", json={"code": code})
    assert taken.status_code == 201 and taken.json()["device_id"].upper() != existing


def test_a_new_device_cannot_take_the_stores_own_id_in_another_case(central: Central) -> None:
    with unit_of_work(central.sessions) as session:
        write_setting(session, DEVICE_ID, "CTRL")
    answer = central.http.post(
        "/v1/devices/enroll",
        json={"code": central.code("forklift-2"), "device_id": "ctrl", "queued": 1},
    )
    status, error, message = error_of(answer)
    assert (status, error) == (409, "device_id_taken") and "CTRL" in message


def test_a_handheld_keeps_its_own_id_when_it_differs_only_in_case_from_its_codes_device(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A drawn id may be all digits (about one in a hundred), which has no other case.
    monkeypatch.setattr(enrollment, "_new_device_id", lambda session: "K7QX")
    with unit_of_work(central.sessions) as session:
        pending = issue_code(session, "forklift-2", clock=central.clock)
    wanted = pending.device.lower()
    answer = central.http.post(
        "/v1/devices/enroll", json={"code": pending.code, "device_id": wanted, "queued": 1}
    )
    assert answer.status_code == 201 and answer.json()["device_id"] == wanted
    with unit_of_work(central.sessions) as session:
        assert session.get(Device, pending.device) is None  # replaced, not kept beside it
