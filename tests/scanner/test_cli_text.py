"""Text from the database on a terminal (docs/architecture.md, "Text at the doors"): old
data may hold ESC, BEL, CSI or a bidirectional override in a lot, a serial, a supplier
lot, a reason, an operator's or a device's name; no command that prints it lets one reach
the terminal. The databases are seeded as an older lotscan could have left them: built by
the ledger, then every text column rewritten with SQL, past every door."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import String, text
from sqlalchemy.orm import Session, sessionmaker

from labels.content import Label, LabelKind
from labels.layout import layout_named
from labels.output import LabelFormat
from labels.queue import enqueue
from scanner.closing import close_job
from scanner.db import open_database, unit_of_work
from scanner.ledger import Ledger
from scanner.models import Base
from scanner.plain_text import is_control
from scanner.settings import DEVICE_ID, PRINTER_URL, write_setting
from scanner.workspace import sqlite_url
from sync.central.cli import open_central
from sync.central.enrollment import issue_code
from tests.conftest import NOW
from tests.support.plant import add_plant

MARK = "ZZ"
"""Seeded where the payload goes: no other text in these databases holds it."""
PAYLOAD = "\x1b]0;owned\x07\x1b[2J\r\x9b31m\u202e"
"""Retitle the window, clear the screen, return the carriage, a C1 CSI, a right-to-left
override."""
LOT, SERIAL = f"R-{MARK}1", f"M-{MARK}1"


def stored(value: str) -> str:
    return value.replace(MARK, PAYLOAD)


def poison(sessions: sessionmaker[Session]) -> None:
    """Puts the payload wherever MARK is, in every text column of every table, with the
    foreign keys off: the rows stay consistent, and no door is asked."""
    with sessions() as session, session.begin():
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String):
                    session.execute(
                        text(
                            f'UPDATE "{table.name}" SET "{column.name}" = '
                            f'replace("{column.name}", :mark, :payload)'
                            f' WHERE "{column.name}" LIKE :like'
                        ),
                        {"mark": MARK, "payload": PAYLOAD, "like": f"%{MARK}%"},
                    )


def seed_device(path: Path) -> None:
    sessions = open_database(sqlite_url(path))
    with unit_of_work(sessions) as session:
        add_plant(session)
        write_setting(session, DEVICE_ID, "H7KQ")
        ledger = Ledger(session, lambda: NOW)
        ledger.receive(
            "RESIN", 50, "RCV", lot=LOT, supplier_lot=f"SUP-{MARK}", po="PO-1", po_line=1
        )
        ledger.issue_to_job("J-HOUSING", "RESIN", 20, lot=LOT, from_location="RCV")
        ledger.produce("J-HOUSING", 4, "A-01", lot=f"H-{MARK}1")
        ledger.receive("MOTOR", 1, "RCV", serial=SERIAL, po="PO-1", po_line=2)
        close_job(
            session, "J-HOUSING-2", operator="B9001", reason=f"because {MARK}", clock=lambda: NOW
        )
        session.execute(text("UPDATE operators SET name = name || :mark"), {"mark": MARK})
        for table, column in (("locations", "name"), ("purchase_orders", "supplier")):
            session.execute(
                text(f"UPDATE {table} SET {column} = {column} || :mark"), {"mark": MARK}
            )
        label = Label(LabelKind.LOT, part="RESIN", description="resin", lot=LOT, qty=Decimal(5))
        enqueue(session, [label], "file:///nowhere", layout_named("4x2-203"), LabelFormat.ZPL)
        write_setting(session, PRINTER_URL, f"file:///labels-{MARK}")
    poison(sessions)
    sessions.kw["bind"].dispose()


def seed_central(path: Path) -> None:
    sessions = open_central(sqlite_url(path), making=True)
    with unit_of_work(sessions) as session:
        issue_code(session, f"forklift-{MARK}", clock=lambda: NOW)
    poison(sessions)
    sessions.kw["bind"].dispose()


def lotscan(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=home,
        env={"LOTSCAN_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
        check=False,
    )


def terminal_controls(output: str) -> list[str]:
    """Every character a terminal could act on, but the line ends."""
    return [f"U+{ord(ch):04X}" for ch in output if ch != "\n" and is_control(ch)]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("poisoned")
    seed_device(folder / "lotscan.db")
    seed_central(folder / "central.db")
    (folder / "shift.txt").write_text("OP:B1001\nOP:B9001\n", encoding="utf-8")
    yield folder


COMMANDS = [
    ("stock",),
    ("stock", "--json"),
    ("stock", "--part", "RESIN", "--lot", LOT),
    ("trace", "--part", "RESIN", "--lot", LOT),
    ("trace", "--part", "RESIN", "--lot", LOT, "--json"),
    ("trace", "--part", "MOTOR", "--serial", SERIAL),
    ("trace", "--part", "RESIN", "--lot", f"{LOT}-missing"),
    ("jobs", "show", "J-HOUSING"),
    ("jobs", "show", "J-HOUSING-2"),
    ("jobs", "show", "J-HOUSING-2", "--json"),
    ("jobs", "close", "J-HOUSING-2"),
    ("orders", "show", "--po", "PO-1"),
    ("operators", "list"),
    ("operators", "list", "--json"),
    ("settings",),
    ("settings", "get", "printer.url"),
    ("settings", "--json"),
    ("printer",),
    ("print-queue",),
    ("print-queue", "--json"),
    ("replay", "shift.txt"),
    ("replay", "shift.txt", "--json"),
    ("devices", "list"),
    ("devices", "list", "--json"),
    ("devices", "enroll", f"forklift-{MARK}"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(args) for args in COMMANDS])
def test_no_control_character_from_the_database_reaches_the_terminal(
    home: Path, args: tuple[str, ...]
) -> None:
    result = run(home, args)
    assert terminal_controls(result.stdout) == []
    assert terminal_controls(result.stderr) == []
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [("stock",), ("trace", "--part", "RESIN", "--lot", LOT), ("operators", "list"),
     ("jobs", "show", "J-HOUSING-2"), ("orders", "show", "--po", "PO-1"),
     ("replay", "shift.txt"), ("devices", "list")],
    ids=lambda args: " ".join(args),
)  # fmt: skip
def test_the_stored_text_is_shown_spelled_out(home: Path, args: tuple[str, ...]) -> None:
    """Not left out: a clerk sees that the value holds ESC, and where."""
    result = run(home, args)
    assert result.returncode == 0, result.stderr
    assert "\\u001b]0;owned\\u0007\\u001b[2J\\u000d\\u009b31m\\u202e" in result.stdout


def test_json_output_escapes_every_control_character(home: Path) -> None:
    result = lotscan(home, "stock", "--json", "--db", sqlite_url(home / "lotscan.db"))
    assert result.stdout.isascii()
    assert stored(LOT) in {row["lot"] for row in json.loads(result.stdout)}


def run(home: Path, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """`lotscan ARGS` on the poisoned central store (for `devices`) or device database, each
    MARK in the arguments standing for the payload, as a clerk would paste the value."""
    database = "central.db" if args[0] == "devices" else "lotscan.db"
    return lotscan(home, *map(stored, args), "--db", sqlite_url(home / database))


# ---- the doors: what would store a control character is refused, naming the field ----------


DOORS = [
    (("jobs", "close", "J-HOUSING", "--reason", "done\x1b[2J"), "The reason holds U+001B (ESC)"),
    (
        ("settings", "set", "printer.layout", "4x2\x1b]0;x\x07"),
        "Setting printer.layout holds U+001B",
    ),
    (("printer", "set", "file:///tmp/labels\x1b[2J"), "Setting printer.url holds U+001B (ESC)"),
    (("operators", "add", "B77", "Eve\x9b2J"), "The name"),
]


@pytest.mark.parametrize(("args", "message"), DOORS, ids=[" ".join(args[:2]) for args, _ in DOORS])
def test_a_command_refuses_text_with_a_control_character_and_stores_nothing(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    seed_device(tmp_path / "lotscan.db")
    before = dump(tmp_path / "lotscan.db")
    result = lotscan(tmp_path, *args, "--db", sqlite_url(tmp_path / "lotscan.db"))
    assert result.returncode == 1
    assert message in result.stderr
    assert terminal_controls(result.stderr) == []
    assert dump(tmp_path / "lotscan.db") == before


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())
