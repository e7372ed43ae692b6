"""`lotscan settings` as a person and a script use it: every setting a person sets with its
value, default and meaning; get, set and reset one, each value checked by its type and by the
rules it takes part in; a refusal is one line naming the setting, exit 1, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.db import reading, unit_of_work
from scanner.models import Setting
from scanner.settings import (
    EXPIRY_POLICY,
    SCAN_PREFIX_LOCATION,
    SETTINGS,
    ExpiryPolicy,
    read_setting,
    stored_text,
)
from scanner.workspace import sqlite_url
from tests.scanner.test_cli import lotscan
from tests.support import cli_in_process
from tests.support.databases import open_migrated

PERSONS = [
    "expiry_policy",
    "scan.prefix.operator",
    "scan.prefix.command",
    "scan.prefix.location",
    "scan.prefix.job",
    "scan.prefix.po",
    "scan.prefix.so",
    "scan.separators",
    "gs1_pairing",
    "handheld.sign_out_minutes",
    "printer.url",
    "printer.layout",
    "printer.enabled",
    "site.name",
    "site.address",
    "site.phone",
    "site.gln",
    "site.uri",
    "console.idle_minutes",
]


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "device.db")
    open_migrated(url).kw["bind"].dispose()
    return url


def run(home: Path, *args: str) -> tuple[int, str, str]:
    """`lotscan ARGS` in the test's process (tests/support/cli_in_process.py)."""
    result = cli_in_process.lotscan(*args, home=home)
    return result.returncode, result.stdout, result.stderr


def run_process(home: Path, *args: str) -> tuple[int, str, str]:
    """`lotscan ARGS` as a subprocess: the real process's exit status and streams."""
    result = lotscan(*args, home=home)
    return result.returncode, result.stdout, result.stderr


def test_the_list_shows_every_setting_a_person_sets_with_its_default_and_meaning(
    db: str, tmp_path: Path
) -> None:
    code, out, err = run(tmp_path, "settings", "--db", db, "--json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert [row["name"] for row in rows] == PERSONS
    assert rows[0] == {
        "name": "expiry_policy",
        "value": "warn",
        "text": "warn",
        "default": "warn",
        "default_text": "warn",
        "stored": False,
        "takes": "one of warn, block, ignore",
        "applies_to": "any",
        "settable": True,
        "site_wide": True,
        "description": EXPIRY_POLICY.doc,
        "problem": None,
    }
    printing = next(row for row in rows if row["name"] == "printer.enabled")
    assert (printing["value"], printing["text"], printing["applies_to"]) == (True, "on", "device")

    code, out, err = run(tmp_path, "settings", "--db", db)
    assert (code, err) == (0, "")
    assert out.startswith("expiry_policy: warn (default)\n  What receiving, issuing or shipping")
    assert "scan.separators: (none) (default)" in out
    # A site-wide setting says so once.
    site_wide = " ".join(out.split()).count("Site-wide: set on the central store")
    assert site_wide == sum(row["site_wide"] for row in rows)


def test_all_adds_what_lotscan_keeps_for_itself(db: str, tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "settings", "--all", "--json", "--db", db)
    rows = json.loads(out)
    assert code == 0
    assert [row["name"] for row in rows] == [setting.key for setting in SETTINGS]
    cursor = next(row for row in rows if row["name"] == "sync.pull_cursor")
    assert (cursor["settable"], cursor["value"], cursor["takes"]) == (
        False,
        None,
        "a whole number, 0 or more, or empty for none",
    )


def test_set_checks_the_value_by_its_type_and_get_reads_it_back(db: str, tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "settings", "set", "expiry_policy", "BLOCK", "--db", db)
    assert (code, out, err) == (0, "expiry_policy: block (default: warn)\n", "")
    assert run(tmp_path, "settings", "get", "expiry_policy", "--db", db) == (0, "block\n", "")
    code, out, _ = run(tmp_path, "settings", "get", "expiry_policy", "--json", "--db", db)
    assert (code, json.loads(out)["value"], json.loads(out)["stored"]) == (0, "block", True)
    with reading(open_migrated(db)) as session:
        assert read_setting(session, EXPIRY_POLICY) == ExpiryPolicy.BLOCK
        assert stored_text(session, EXPIRY_POLICY) == "block"  # as an older lotscan kept it

    code, out, err = run(tmp_path, "settings", "reset", "expiry_policy", "--db", db)
    assert (code, out, err) == (0, "expiry_policy: warn (default)\n", "")


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (
            ("expiry_policy", "strict"),
            "Setting expiry_policy: 'strict' is not one of warn, block, ignore",
        ),
        (("printer.enabled", "maybe"), "Setting printer.enabled: 'maybe' is not on or off"),
        (
            ("printer.enabled", "on"),
            "Setting printer.enabled: No printer is set: name one with lotscan printer set URL",
        ),
        (
            ("printer.url", "ftp://printer"),
            "Setting printer.url: ftp://printer is not a printer lotscan can use",
        ),
        (("printer.layout", "9x9"), "Setting printer.layout: Unknown layout 9x9"),
        (
            ("scan.prefix.location", "OP:"),
            "Setting scan.prefix.location: 'OP:' is already another prefix",
        ),
        (
            ("scan.prefix.job", "01X"),
            "Setting scan.prefix.job: a prefix starting with '0' would be taken for GS1 data",
        ),
        (
            ("scan.separators", "A"),
            "Setting scan.separators: 'A' can be part of a lot or serial number",
        ),
        (
            ("site.phone", "abc"),
            'Setting site.phone: "abc" is not a phone number: it has no digits',
        ),
        (("expiry", "block"), "Unknown setting 'expiry': the settings are expiry_policy, "),
        (
            ("sync.pull_cursor", "0"),
            "Setting sync.pull_cursor is kept by lotscan itself, not set by hand",
        ),
    ],
)
def test_set_refuses_a_bad_value_or_name_in_one_line_and_changes_nothing(
    db: str, tmp_path: Path, args: tuple[str, str], refusal: str
) -> None:
    code, out, err = run(tmp_path, "settings", "set", *args, "--db", db)
    assert (code, out) == (1, "")
    (line,) = err.splitlines()
    assert line.startswith(f"lotscan: {refusal}")
    with reading(open_migrated(db)) as session:
        assert session.scalars(select(Setting.key)).all() == []


def test_a_site_prefix_set_here_is_what_the_scans_read(db: str, tmp_path: Path) -> None:
    assert run(tmp_path, "settings", "set", "scan.prefix.location", "BIN:", "--db", db)[0] == 0
    code, out, _ = run(tmp_path, "parse", "BIN:A-01", "--json", "--db", db)
    assert (code, json.loads(out)) == (0, {"kind": "location", "value": "A-01"})
    with reading(open_migrated(db)) as session:
        assert read_setting(session, SCAN_PREFIX_LOCATION) == "BIN:"


def test_get_reads_what_lotscan_keeps_but_set_and_reset_do_not_touch_it(
    db: str, tmp_path: Path
) -> None:
    assert run(tmp_path, "settings", "get", "sync.url", "--db", db) == (0, "\n", "")
    code, _, err = run(tmp_path, "settings", "reset", "device_id", "--db", db)
    assert code == 1
    assert err.startswith("lotscan: Setting device_id is kept by lotscan itself")


def test_a_stored_value_that_does_not_read_is_listed_and_refused_by_name(
    db: str, tmp_path: Path
) -> None:
    with unit_of_work(open_migrated(db)) as session:
        session.add(Setting(key="expiry_policy", value="sometimes"))  # written by hand
    code, out, _ = run(tmp_path, "settings", "--db", db)
    assert code == 0
    assert out.startswith(
        "expiry_policy: sometimes (does not read: Setting expiry_policy: 'sometimes' is not "
        "one of warn, block, ignore)"
    )
    code, out, err = run(tmp_path, "settings", "get", "expiry_policy", "--db", db)
    assert (code, out) == (1, "")
    assert err == "lotscan: Setting expiry_policy: 'sometimes' is not one of warn, block, ignore\n"
    assert run(tmp_path, "settings", "set", "expiry_policy", "warn", "--db", db)[0] == 0


def test_a_command_with_no_name_is_a_usage_error(db: str, tmp_path: Path) -> None:
    code, _, err = run_process(tmp_path, "settings", "get", "--db", db)
    assert code == 2
    assert "the following arguments are required: NAME" in err


def test_a_site_wide_setting_is_set_on_a_device_until_it_enrolls_then_on_the_store(
    db: str, tmp_path: Path
) -> None:
    """`expiry-policy` names `expiry_policy`; a device not enrolled sets its own; an
    enrolled handheld refuses, saying where it is set, and keeps what it had."""
    code, out, err = run(tmp_path, "settings", "set", "expiry-policy", "block", "--db", db)
    assert (code, err) == (0, "")
    assert out == "expiry_policy: block (default: warn)\n"
    with unit_of_work(open_migrated(db)) as session:
        session.add(Setting(key="sync.url", value="http://127.0.0.1:9"))
    for action in (["set", "site.name", "Acme"], ["reset", "expiry_policy"]):
        code, out, err = run(tmp_path, "settings", *action, "--db", db)
        assert (code, out) == (1, "")
        assert "is set for the whole site on the central store" in err
    code, _out, err = run(tmp_path, "settings", "set", "scan.separators", "|", "--db", db)
    assert (code, err) == (0, "")  # a device's own setting stays its own
    with reading(open_migrated(db)) as session:
        assert read_setting(session, EXPIRY_POLICY) == ExpiryPolicy.BLOCK
