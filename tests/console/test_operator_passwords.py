"""`lotscan operators password BADGE`: a console password for a supervisor or quality
staff, kept only as an Argon2id hash and never sent to a handheld."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import reading, unit_of_work
from scanner.models import Operator
from scanner.passwords import password_matches
from scanner.workspace import sqlite_url
from sync.central.changes import reference_data
from sync.protocol import row_data
from tests.support.databases import open_migrated
from tests.support.plant import add_plant

GOOD = "a long enough password"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "central.db")
    sessions = open_migrated(url)
    with unit_of_work(sessions) as session:
        add_plant(session)
    sessions.kw["bind"].dispose()
    return url


def password(db: str, badge: str, typed: str) -> subprocess.CompletedProcess[str]:
    """`lotscan operators password BADGE --db DB` as a script runs it: the password on
    standard input, which is not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "scanner", "operators", "password", badge, "--db", db],
        input=typed,
        capture_output=True,
        text=True,
        check=False,
    )


def stored_hash(db: str, badge: str) -> str | None:
    sessions = open_migrated(db)
    try:
        with reading(sessions) as session:
            return session.get_one(Operator, badge).password_hash
    finally:
        sessions.kw["bind"].dispose()


def test_a_script_sets_a_supervisors_password_and_only_its_argon2id_hash_is_kept(db: str) -> None:
    result = password(db, "B9001", GOOD + "\n")
    assert result.returncode == 0, result.stderr
    assert "Console password set for Sam Okafor, badge B9001" in result.stdout
    kept = stored_hash(db, "B9001")
    assert kept is not None and kept.startswith("$argon2id$")
    assert GOOD not in kept
    assert password_matches(kept, GOOD) and not password_matches(kept, GOOD + "!")


@pytest.mark.parametrize(
    ("badge", "typed", "says"),
    [
        ("B9001", "\n", "The password is empty"),
        ("B9001", "eleven char\n", "The password has 11 characters: give one of 12 or more"),
        (
            "B9001",
            "p" * 1001 + "\n",
            "The password has 1001 characters: the console's sign-in takes at most 1000",
        ),
        ("NOBODY", GOOD + "\n", "No operator has badge 'NOBODY'"),
        ("B1001", GOOD + "\n", "only supervisors and quality staff sign in to the console"),
    ],
)
def test_a_weak_password_an_unknown_badge_and_a_floor_operator_are_refused(
    db: str, badge: str, typed: str, says: str
) -> None:
    result = password(db, badge, typed)
    assert result.returncode != 0
    assert says in result.stderr
    if badge != "NOBODY":
        assert stored_hash(db, badge) is None


def test_the_password_hash_never_leaves_the_store(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        add_plant(session)
        operator = session.get_one(Operator, "B9001")
        operator.password_hash = "$argon2id$stand-in"
        assert "password_hash" not in row_data(operator)
        assert "password_hash" not in reference_data(operator)
        assert reference_data(operator) == {
            "badge": "B9001",
            "name": "Sam Okafor",
            "role": "supervisor",
        }
