"""Who may sign in: `lotscan operators add` and `list` on a fresh workspace (as a script runs
them), published to the handhelds on the central store, and the first run saying how."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from textual.pilot import Pilot

from scanner.db import open_database, unit_of_work
from scanner.errors import ImportRowError, RuleViolation
from scanner.importing import import_file
from scanner.operators import add_operator
from scanner.workflows.base import Level
from scanner.workflows.engine import SIGN_IN_PROMPT, Handheld
from scanner.workspace import sqlite_url
from screens.app import LotscanApp
from screens.sign_in import FIRST_RUN_TEXT, SIGN_IN_TEXT
from sync.central.enrollment import ensure_central
from sync.central.models import Change
from tests.conftest import fixed_clock
from tests.support import cli_in_process
from tests.support.transcripts import Floor
from tests.support.tui_input import make_app, plant_database, run, settled, shown, until

ROOT = Path(__file__).resolve().parents[2]


def lotscan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"LOTSCAN_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_a_fresh_workspace_gets_operators_who_can_then_sign_in(tmp_path: Path) -> None:
    empty = lotscan("operators", "list", home=tmp_path)
    assert (empty.returncode, empty.stdout) == (
        0,
        "No operators: add one with lotscan operators add BADGE NAME [--supervisor]\n",
    )
    added = lotscan("operators", "add", "B7001", "Ana Souza", home=tmp_path)
    assert (added.returncode, added.stderr) == (0, "")
    assert added.stdout == "Added Ana Souza, badge B7001 (floor): sign in by scanning OP:B7001\n"
    boss = lotscan("operators", "add", "B9001", "Mark Jensen", "--supervisor", home=tmp_path)
    assert boss.returncode == 0, boss.stderr
    listed = lotscan("operators", "list", "--json", home=tmp_path)
    assert json.loads(listed.stdout) == [
        {"badge": "B7001", "name": "Ana Souza", "role": "floor"},
        {"badge": "B9001", "name": "Mark Jensen", "role": "supervisor"},
    ]
    table = lotscan("operators", "list", home=tmp_path).stdout.splitlines()
    assert table == [
        "BADGE  NAME         ROLE",
        "B7001  Ana Souza    floor",
        "B9001  Mark Jensen  supervisor",
    ]
    sessions = open_database(sqlite_url(tmp_path / "lotscan.db"))
    try:
        hello = Handheld(sessions, clock=fixed_clock).handle("OP:B7001").response
    finally:
        sessions.kw["bind"].dispose()
    assert (hello.level, hello.message) == (Level.OK, "Hello, Ana Souza")


@pytest.mark.parametrize(
    ("badge", "name", "said"),
    [
        ("B7001", "Someone Else", "Badge B7001 is already Ana Souza's (floor)"),
        ("", "Nobody", "The badge is empty: give the number on the badge"),
        (
            "B 7002",
            "Bo",
            'The badge "B 7002" holds a space: a badge is scanned as OP:<badge>, so it holds'
            " letters, digits and signs such as - or /, and no spaces",
        ),
        ("B" * 41, "Long", f'The badge "{"B" * 24}…" is 41 characters; at most 40 fit'),
        ("B7003", " ", "The name is empty: give the operator's name"),
        ("B7004", "N" * 201, f'The name "{"N" * 24}…" is 201 characters; at most 200 fit'),
        (
            "B7005",
            "Ana\tSouza",
            'The name "Ana\\u0009Souza" holds the control character U+0009: a name is one'
            " line of text",
        ),
    ],
    ids=["taken", "empty badge", "space", "long badge", "empty name", "long name", "tab"],
)
def test_a_bad_operator_is_refused_naming_the_field(
    tmp_path: Path, badge: str, name: str, said: str
) -> None:
    # The refusal from the real lotscan; the operator before it and the list after it from
    # the command run in the test's process (tests/support/cli_in_process.py).
    added = cli_in_process.lotscan("operators", "add", "B7001", "Ana Souza", home=tmp_path)
    assert added.returncode == 0
    refused = lotscan("operators", "add", badge, name, home=tmp_path)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == f"lotscan: {said}\n"
    listed = json.loads(cli_in_process.lotscan("operators", "list", "--json", home=tmp_path).stdout)
    assert [each["badge"] for each in listed] == ["B7001"]


def test_an_operator_added_on_the_central_store_is_published_to_the_handhelds(
    db_url: str, tmp_path: Path
) -> None:
    sessions = open_database(db_url)
    with unit_of_work(sessions) as session:
        ensure_central(session)
    added = lotscan("operators", "add", "B7001", "Ana Souza", "--db", db_url, home=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[-1] == "1 change published to the handhelds"
    with sessions() as session:
        published = session.scalars(select(Change).where(Change.kind == "operator")).all()
        assert [json.loads(each.payload)["badge"] for each in published] == ["B7001"]
    sessions.kw["bind"].dispose()


def test_signing_in_on_a_database_with_no_operators_says_how_to_add_one(
    tmp_path: Path,
) -> None:
    sessions = open_database(sqlite_url(tmp_path / "lotscan.db"))
    try:
        refused = Handheld(sessions, clock=fixed_clock).handle("OP:B7001").response
    finally:
        sessions.kw["bind"].dispose()
    assert (refused.level, refused.prompt) == (Level.ERROR, SIGN_IN_PROMPT)
    assert refused.message == (
        "Unknown badge B7001: no operators yet: lotscan operators add BADGE NAME"
    )


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    sessions = open_database(sqlite_url(tmp_path / "lotscan.db"))
    yield sessions
    sessions.kw["bind"].dispose()


def test_the_first_run_screen_says_how_to_add_an_operator(
    empty: sessionmaker[Session],
) -> None:
    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: shown(app, "#sign-in") == FIRST_RUN_TEXT)

    run(make_app(empty), scenario)


def test_the_sign_in_screen_of_a_plant_with_operators_is_the_plain_one(tmp_path: Path) -> None:
    seen: list[str] = []

    async def scenario(app: LotscanApp, pilot: Pilot[Any]) -> None:
        await settled(app)
        await pilot.pause()
        seen.append(shown(app, "#sign-in"))

    with plant_database(tmp_path) as sessions:
        run(make_app(sessions), scenario)
    assert seen == [SIGN_IN_TEXT]


def test_a_badge_differing_from_someones_only_in_case_is_refused_and_pointed_to(
    floor: Floor, tmp_path: Path
) -> None:
    """`b1001` beside `B1001`: a person cannot tell them apart, and a badge typed in the
    wrong case would sign in as someone else. Refused at every door; the sign-in points to
    the badge meant."""
    twin = r"^Badge b1001 differs from B1001 \(Ana Ruiz's\)"
    with floor.session() as session, pytest.raises(RuleViolation, match=twin):
        add_operator(session, "b1001", "Ana Twin")
    typed = floor.scan("OP:b1001")
    assert (typed.level, typed.message) == (
        Level.ERROR,
        "Unknown badge b1001: badges match exactly; scan B1001",
    )
    sheet = tmp_path / "operators.csv"
    sheet.write_text("badge,name\nB7000,New Person\nb9001,Sam Twin\n", encoding="utf-8")
    with floor.session() as session, pytest.raises(ImportRowError) as refused:
        import_file(session, "operators", sheet)
    assert "row 3" in str(refused.value) and "differs from B9001" in str(refused.value)
    both = tmp_path / "both.csv"
    both.write_text("badge,name\nX1,One\nx1,Other\n", encoding="utf-8")
    with floor.session() as session, pytest.raises(ImportRowError) as twice:
        import_file(session, "operators", both)
    assert "Badge x1 differs from X1 on row 2 only in case" in str(twice.value)
