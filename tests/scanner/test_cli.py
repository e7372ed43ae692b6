"""The command line as scripts use it: exit status, one clear line on standard error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scanner.workspace import sqlite_url


def lotscan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        env={"LOTSCAN_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://clerk:s3cret@127.0.0.1:1/plant", "Connection refused"),
        ("sqlite:////nonexistent/folder/lotscan.db", "unable to open database file"),
        ("nonsense://x", "is not a database URL lotscan can use"),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_clear_line(
    tmp_path: Path, url: str, message: str
) -> None:
    result = lotscan("stock", "--db", url, home=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("lotscan: ") and message in line
    assert "s3cret" not in line


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("shopping list\n")
    result = lotscan("stock", "--db", sqlite_url(notes), home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("file is not a database")
    assert notes.read_text() == "shopping list\n"


def test_db_may_come_before_or_after_the_command(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "other.db")
    parts = tmp_path / "parts.csv"
    parts.write_text("part,description,tracking\nP-1,Widget,none\n")
    assert lotscan("--db", url, "import", "parts", str(parts), home=tmp_path).returncode == 0
    assert not (tmp_path / "lotscan.db").exists()  # the workspace database was not used
    before = lotscan("--db", url, "stock", "--json", home=tmp_path)
    after = lotscan("stock", "--json", "--db", url, home=tmp_path)
    assert before.returncode == after.returncode == 0
    assert before.stdout.strip() == after.stdout.strip() == "[]"


def test_without_db_the_workspace_in_lotscan_home_is_used(tmp_path: Path) -> None:
    result = lotscan("stock", home=tmp_path / "ws")
    assert result.returncode == 0
    assert result.stdout.strip() == "No stock"
    assert (tmp_path / "ws" / "lotscan.db").exists()
