"""Stock on hand per part, lot or serial and location (`lotscan stock`), on SQLite and
PostgreSQL. All history is recorded through the ledger."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.errors import NotFound
from scanner.ledger import Ledger
from scanner.quality import Standing
from scanner.stock import StockRow, StockStanding, format_stock, on_hand
from tests.support.builders import add_job, add_location, add_part, add_so

ROOT = Path(__file__).resolve().parents[2]
Clock = Callable[[], datetime]


@pytest.fixture
def store(sessions: sessionmaker[Session], clock: Clock) -> sessionmaker[Session]:
    """Resin lots R1 (12.5 kg, split between A-01 and A-02) and R2; bolts, untracked; motors
    M1 and M2 of supplier lot VM-1 and M3 of VM-2; lot R3 was received and all used up."""
    with unit_of_work(sessions) as session:
        for code in ("A-01", "A-02", "DOCK"):
            add_location(session, code)
        add_part(session, "RESIN", "lot", uom="kg")
        add_part(session, "BOLT", "none")
        add_part(session, "MOTOR", "serial")
        add_part(session, "HOUSING", "lot")
        add_job(session, "J-1", "HOUSING", 1, {"RESIN": 5})
        add_so(session, "SO-1", "Northwind", ("MOTOR", 1))
        ledger = Ledger(session, clock)
        ledger.receive("RESIN", "12.5", "DOCK", lot="R1")
        ledger.move("RESIN", 4, "A-01", lot="R1")
        ledger.receive("RESIN", 20, "A-02", lot="R2")
        ledger.receive("RESIN", 5, "DOCK", lot="R3")
        ledger.issue_to_job("J-1", "RESIN", 5, lot="R3")
        ledger.receive("BOLT", 500, "A-01")
        for serial, lot in (("M1", "VM-1"), ("M2", "VM-1"), ("M3", "VM-2"), ("M4", "VM-1")):
            ledger.receive("MOTOR", 1, "DOCK", serial=serial, lot=lot)
        ledger.ship("SO-1", "MOTOR", 1, serial="M4")
    return sessions


def stock(sessions: sessionmaker[Session], **filters: str) -> list[StockRow]:
    with sessions() as session:
        return on_hand(session, **filters)


def test_on_hand_lists_every_balance_by_part_lot_serial_and_location(
    store: sessionmaker[Session],
) -> None:
    assert stock(store) == [
        StockRow("BOLT", None, None, "A-01", Decimal(500)),
        StockRow("MOTOR", None, "M1", "DOCK", Decimal(1)),
        StockRow("MOTOR", None, "M2", "DOCK", Decimal(1)),
        StockRow("MOTOR", None, "M3", "DOCK", Decimal(1)),
        StockRow("RESIN", "R1", None, "A-01", Decimal(4)),
        StockRow("RESIN", "R1", None, "DOCK", Decimal("8.5")),
        StockRow("RESIN", "R2", None, "A-02", Decimal(20)),
    ]


def test_stock_used_up_or_shipped_is_not_listed(store: sessionmaker[Session]) -> None:
    listed = {(row.lot, row.serial) for row in stock(store)}

    assert ("R3", None) not in listed
    assert (None, "M4") not in listed


def test_filters_narrow_by_part_lot_and_location(store: sessionmaker[Session]) -> None:
    assert [row.lot for row in stock(store, part="RESIN")] == ["R1", "R1", "R2"]
    assert [row.location for row in stock(store, lot="R1")] == ["A-01", "DOCK"]
    assert [row.part for row in stock(store, location="A-01")] == ["BOLT", "RESIN"]
    assert stock(store, part="RESIN", lot="R1", location="A-01") == [
        StockRow("RESIN", "R1", None, "A-01", Decimal(4))
    ]


def test_a_lot_of_a_serial_tracked_part_lists_its_serials_in_stock(
    store: sessionmaker[Session],
) -> None:
    assert [row.serial for row in stock(store, part="MOTOR", lot="VM-1")] == ["M1", "M2"]


def test_a_lot_that_is_used_up_has_no_stock(store: sessionmaker[Session]) -> None:
    assert stock(store, lot="R3") == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"part": "NOPE"}, "Unknown part NOPE"),
        ({"location": "Z-99"}, "Unknown location Z-99"),
        ({"part": "RESIN", "lot": "VM-1"}, "No lot VM-1 of RESIN"),
        ({"lot": "R404"}, "No lot R404"),
    ],
)
def test_an_unknown_filter_is_not_found_rather_than_empty(
    store: sessionmaker[Session], filters: dict[str, str], message: str
) -> None:
    with pytest.raises(NotFound, match=f"^{message}$"):
        stock(store, **filters)


def test_json_quantities_are_numbers_whole_or_decimal() -> None:
    whole = StockRow("RESIN", "R1", None, "A-01", Decimal(4))
    fraction = StockRow("RESIN", "R1", None, "DOCK", Decimal("8.125"))

    assert whole.as_json() == {
        "part": "RESIN",
        "lot": "R1",
        "serial": None,
        "location": "A-01",
        "qty": 4,
    }
    assert type(whole.as_json()["qty"]) is int
    assert json.dumps(fraction.as_json()["qty"]) == "8.125"


def test_text_table_aligns_columns_and_right_aligns_quantities() -> None:
    rows = [
        StockStanding("BOLT", None, None, "A-01", Decimal(500), None, Standing.RELEASED),
        StockStanding(
            "RESIN", "R1", None, "DOCK", Decimal("8.5"), date(2027, 1, 31), Standing.HOLD
        ),
    ]

    assert format_stock(rows).splitlines() == [
        "PART   LOT  SERIAL  LOCATION  QTY  EXPIRY      STATUS",
        "BOLT   -    -       A-01      500  -           released",
        "RESIN  R1   -       DOCK      8.5  2027-01-31  on hold",
    ]


def test_text_says_no_stock_when_there_is_none() -> None:
    assert format_stock([]) == "No stock"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_stock_json_on_the_command_line_is_a_list_of_balances(
    store: sessionmaker[Session], db_url: str
) -> None:
    result = run_cli("stock", "--part", "RESIN", "--json", "--db", db_url)

    assert result.returncode == 0, result.stderr
    # Each balance's lot's expiry and status were added after the first five fields.
    released = {"expiry": None, "status": "released"}
    assert json.loads(result.stdout) == [
        {"part": "RESIN", "lot": "R1", "serial": None, "location": "A-01", "qty": 4} | released,
        {"part": "RESIN", "lot": "R1", "serial": None, "location": "DOCK", "qty": 8.5} | released,
        {"part": "RESIN", "lot": "R2", "serial": None, "location": "A-02", "qty": 20} | released,
    ]


def test_stock_of_an_unknown_location_exits_1_with_one_line_on_stderr(
    store: sessionmaker[Session], db_url: str
) -> None:
    result = run_cli("stock", "--location", "Z-99", "--db", db_url)

    assert result.returncode == 1
    assert (result.stdout, result.stderr) == ("", "lotscan: Unknown location Z-99\n")
