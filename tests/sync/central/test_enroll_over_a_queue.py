"""Enrolling a handheld under the name of one whose scans still wait to sync: the code
replaces that device's token, so whoever issues it is told first, on the command line and
in the office console, how many movements the old handheld said were waiting."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.db import unit_of_work
from sync.central.enrollment import issue_code, revoke
from tests.conftest import NOW
from tests.support.cli_in_process import lotscan
from tests.support.sync_service import Central, push_body, receipt

WORDS = (
    "Dock 1 reported 19 movements still waiting at its last sync (2026-11-02 08:30 UTC)."
    " This code replaces its token: a handheld that still holds them stops syncing. Sync"
    " that handheld first, or enroll the new one under a name of its own."
)


def report_a_queue(central: Central) -> str:
    """Dock 1, enrolled, pushes 1 of the 20 movements it holds: 19 still wait."""
    device, token = central.enroll("Dock 1")
    body = push_body(device, receipt(1))
    body.update(queue_depth=20, max_local_seq=20)
    answer = central.push(token, body)
    assert answer.status_code == 200, answer.text
    return device


def test_a_code_for_a_device_with_movements_waiting_says_so(central: Central) -> None:
    device = report_a_queue(central)
    with unit_of_work(central.sessions) as session:
        again = issue_code(session, "Dock 1", clock=lambda: NOW)
        fresh = issue_code(session, "Dock 2", clock=lambda: NOW)
    assert (again.device, again.waiting) == (device, 19)
    assert again.replacing_words("Dock 1") == WORDS
    assert (fresh.waiting, fresh.replacing_words("Dock 2")) == (0, None)


def test_the_command_line_warns_before_a_queue_is_stranded(
    central: Central, db_url: str, tmp_path: Path
) -> None:
    report_a_queue(central)
    text = lotscan("devices", "enroll", "Dock 1", "--db", db_url, home=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1].startswith("Before you do: Dock 1 reported 19 movements")
    data = lotscan("devices", "enroll", "Dock 1", "--json", "--db", db_url, home=tmp_path)
    assert json.loads(data.stdout)["waiting"] == 19
    assert data.stderr == f"lotscan: {WORDS}\n"
    new = lotscan("devices", "enroll", "Dock 9", "--json", "--db", db_url, home=tmp_path)
    assert (json.loads(new.stdout)["waiting"], new.stderr) == (0, "")


def test_a_code_for_a_revoked_device_says_to_bring_its_movements_in(central: Central) -> None:
    device = report_a_queue(central)
    with unit_of_work(central.sessions) as session:
        revoke(session, device, lambda: NOW)
    with unit_of_work(central.sessions) as session:
        again = issue_code(session, "Dock 1", clock=lambda: NOW)
    assert again.replacing_words("Dock 1") == (
        "Dock 1 is revoked and reported 19 movements still waiting at its last sync"
        " (2026-11-02 08:30 UTC). Enroll that same handheld with this code and they come"
        " through, each once; a new handheld under this name would leave them on the old one."
    )


def test_a_name_differing_from_a_device_s_only_in_case_is_refused(
    central: Central, db_url: str, tmp_path: Path
) -> None:
    """`devices enroll "dock 1"` made a second device beside Dock 1, where the supervisor
    meant Dock 1 (to let its queue through after a revoke, or to replace it): the list then
    showed two devices the floor calls by one name, and Dock 1's queue stayed on it."""
    device = report_a_queue(central)
    with unit_of_work(central.sessions) as session:
        revoke(session, device, lambda: NOW)
    refused = lotscan("devices", "enroll", "dock 1", "--db", db_url, home=tmp_path)
    assert refused.returncode != 0 and refused.stdout == ""
    assert refused.stderr == (
        f"lotscan: Device {device} is called 'Dock 1', which differs from 'dock 1' only in"
        " case or spacing: write its name as it is to give it a new code, or give a new"
        " device a name of its own\n"
    )
    spaced = lotscan("devices", "enroll", "Dock  1", "--db", db_url, home=tmp_path)
    assert spaced.returncode != 0 and "differs from 'Dock  1' only in case" in spaced.stderr
    listed = json.loads(lotscan("devices", "list", "--json", "--db", db_url, home=tmp_path).stdout)
    assert [each["name"] for each in listed] == ["Dock 1"]  # nothing made, no code issued
    again = lotscan("devices", "enroll", "Dock 1", "--json", "--db", db_url, home=tmp_path)
    assert json.loads(again.stdout)["device"] == device


def test_a_device_named_in_the_other_case_is_pointed_to(
    central: Central, db_url: str, tmp_path: Path
) -> None:
    device = report_a_queue(central)
    for typed in ("dock 1", device.lower()):
        refused = lotscan("devices", "revoke", typed, "--db", db_url, home=tmp_path)
        assert refused.returncode != 0
        assert refused.stderr == (
            f"lotscan: No device '{typed}': device {device} is called 'Dock 1'; give its id"
            " or its name as written\n"
        )
    listed = json.loads(lotscan("devices", "list", "--json", "--db", db_url, home=tmp_path).stdout)
    assert [each["status"] for each in listed] == ["active"]


def test_a_device_is_revoked_whoever_long_named_revokes_it(central: Central) -> None:
    """Who revoked a device is kept in 80 characters: a supervisor of a long name (a
    console operator may have 200) made the revoke fail on PostgreSQL, and a lost handheld
    stayed active."""
    device = report_a_queue(central)
    by = f"{'Maria-Fernanda ' * 12}on the office console"
    with unit_of_work(central.sessions) as session:
        revoked = revoke(session, device, lambda: NOW, by=by)
        assert revoked.status == "revoked"
        assert revoked.revoked_by == by[:79] + "…"
