"""Lot and serial numbers without regard to case: `b-77` typed is lot `B-77` wherever a lot
or serial is named (the scans, `lotscan trace`, `stock`, `label`), recorded as first
written; a new lot or serial that differs from one only in case is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.workflows.base import Level
from tests.support.transcripts import Floor

STOCK = """
    OP:B1001
    CMD:RECEIVE
    (240)RESIN(10)B-77(17)261231(30)25
    (240)MOTOR(21)M-1
    (240)HOUSING(10)H-1(30)10
"""


@pytest.fixture
def stocked(floor: Floor) -> Floor:
    assert not floor.run(STOCK).errors()
    return floor


def lotscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def lots_of(floor: Floor, part: str) -> list[str | None]:
    return sorted({m.lot for m in floor.movements() if m.part == part})


def test_receiving_a_lot_typed_in_another_case_adds_to_the_existing_lot(stocked: Floor) -> None:
    steps = stocked.run("""
        (240)RESIN(30)5
        b-77
    """)
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Received RESIN")
    assert done.recorded[0].text == "Received 5 kg lot B-77"
    assert done.labels[0].lot == "B-77"
    assert stocked.stock("RESIN") == {("B-77", "RCV"): 30}
    assert lots_of(stocked, "RESIN") == ["B-77"]
    assert stocked.agrees()


def test_issue_move_and_ship_find_the_lot_in_any_case(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:ISSUE
        JOB:J-HOUSING
        (240)RESIN(10)b-77(30)5
        CMD:MOVE
        (240)RESIN(10)b-77(30)5
        LOC:A-01
        CMD:SHIP
        SO:SO-2
        (240)HOUSING(10)h-1(30)4
    """)
    assert steps.at(3).message == "Issued 5 kg of lot B-77 of RESIN to J-HOUSING"
    assert steps.at(6).message == "Moved 5 kg of lot B-77 of RESIN RCV>A-01"
    assert steps.last.message == "Shipped 4 ea of lot H-1 of HOUSING on SO-2"
    assert lots_of(stocked, "RESIN") == ["B-77"]
    assert lots_of(stocked, "HOUSING") == ["H-1"]
    assert stocked.agrees()


def test_lookup_finds_a_lot_and_a_serial_in_any_case(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:LOOKUP
        (240)RESIN(10)b-77
        (240)MOTOR(21)m-1
    """)
    assert steps.at(2).message == "Lot B-77 of RESIN"
    assert "  B-77 @RCV: 25" in steps.at(2).response.details
    assert steps.last.message == "Serial M-1 of MOTOR"


def test_a_serial_typed_in_another_case_is_the_serial_already_in_stock(stocked: Floor) -> None:
    before = stocked.snapshot()
    refused = stocked.run("""
        (240)MOTOR(21)m-1
    """).last
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "Serial M-1 of MOTOR is already in stock at RCV",
    )
    assert stocked.snapshot() == before


def test_assign_and_complete_take_the_lot_as_first_written(stocked: Floor) -> None:
    steps = stocked.run("""
        CMD:ASSIGN
        JOB:J-HOUSING-2
        HX-9
        JOB:J-HOUSING
        hx-9
        CMD:COMPLETE
        JOB:J-HOUSING-2
        (240)HOUSING(10)hx-9(30)2
    """)
    assert steps.at(3).message == "Lot HX-9 assigned to J-HOUSING-2"
    refused = steps.at(5)
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "Lot HX-9 of HOUSING already belongs to job J-HOUSING-2",
    )
    assert steps.last.message == "Completed 2 ea HOUSING into LINE"
    assert stocked.stock("HOUSING", "HX-9") == {("HX-9", "LINE"): 2}
    assert lots_of(stocked, "HOUSING") == ["H-1", "HX-9"]


def test_the_cli_finds_a_lot_and_a_serial_in_any_case(
    stocked: Floor, db_url: str, tmp_path: Path
) -> None:
    traced = lotscan("trace", "--part", "RESIN", "--lot", "b-77", "--json", "--db", db_url)
    assert traced.returncode == 0, traced.stderr
    assert json.loads(traced.stdout)["lot"] == "B-77"
    serial = lotscan("trace", "--part", "MOTOR", "--serial", "m-1", "--json", "--db", db_url)
    assert json.loads(serial.stdout)["serial"] == "M-1"
    for args in (("--part", "RESIN", "--lot", "b-77"), ("--lot", "b-77")):
        stock = lotscan("stock", *args, "--json", "--db", db_url)
        assert stock.returncode == 0, stock.stderr
        first_fields = ("part", "lot", "serial", "location", "qty")
        assert [{key: row[key] for key in first_fields} for row in json.loads(stock.stdout)] == [
            {"part": "RESIN", "lot": "B-77", "serial": None, "location": "RCV", "qty": 25}
        ]
    label = tmp_path / "b77.zpl"
    made = lotscan(
        "label", "lot", "--part", "RESIN", "--lot", "b-77", "--format", "zpl",
        "-o", str(label), "--db", db_url,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "B-77" in label.read_text() and "b-77" not in label.read_text()


def test_a_new_lot_differing_only_in_case_is_refused_by_an_import(
    stocked: Floor, db_url: str, tmp_path: Path
) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("job,part,qty,output_lot\nJ-NEW,HOUSING,5,h-1\n")
    before = stocked.snapshot()
    result = lotscan("import", "jobs", str(jobs), "--db", db_url)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "Lot h-1 of HOUSING differs from lot H-1 only in case: use H-1"
    )
    assert stocked.snapshot() == before
