"""`lotscan label KIND ... --format png|svg|pdf|zpl -o FILE` as scripts run it
(docs/architecture.md, "Command line contract")."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.db import open_database, unit_of_work
from scanner.decode import decode_image
from scanner.ledger import Ledger
from scanner.workspace import sqlite_url
from tests.support.builders import add_job, add_location, add_part


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = sqlite_url(tmp_path_factory.mktemp("plant") / "plant.db")
    sessions = open_database(url)
    with unit_of_work(sessions) as session:
        add_part(session, "SEAL-GP10", description="Shaft seal kit GP-10, NBR")
        add_part(session, "MOT-5K5", "serial", description="Electric motor 5.5 kW")
        add_part(session, "GP-10", description="Gear pump GP-10")
        add_location(session, "RACK-A1")
        add_job(session, "J-1001", "GP-10", 20)
        ledger = Ledger(session, lambda: datetime(2026, 11, 2, tzinfo=UTC))
        ledger.receive("SEAL-GP10", 50, "RACK-A1", lot="SK-0302", expiry=date(2028, 10, 2))
        ledger.receive("MOT-5K5", 1, "RACK-A1", serial="VM55-24101")
        ledger.assign_lot("J-1001", "GP10-0415")
    sessions.kw["bind"].dispose()
    return url


def lotscan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"LOTSCAN_HOME": str(cwd), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_each_format_is_written_and_the_png_reads_back(database: str, tmp_path: Path) -> None:
    for kind, args, name in [
        ("lot", ["--part", "SEAL-GP10", "--lot", "SK-0302", "--qty", "25"], "lot.png"),
        ("serial", ["--part", "MOT-5K5", "--serial", "VM55-24101"], "serial.svg"),
        ("location", ["--location", "RACK-A1", "--format", "pdf"], "location.out"),
    ]:
        result = lotscan("label", kind, *args, "-o", name, "--db", database, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"Wrote the {kind} label (4x2-203, ")
    (found,) = decode_image(tmp_path / "lot.png")
    assert found.scan is not None
    assert found.scan.as_json() == {
        "kind": "item",
        "ai": {"240": "SEAL-GP10", "17": "281002", "10": "SK-0302", "30": "25"},
        "part": "SEAL-GP10",
        "lot": "SK-0302",
        "expiry": "2028-10-02",
        "count": 25,
    }
    assert ET.parse(tmp_path / "serial.svg").getroot().tag.endswith("svg")
    assert (tmp_path / "location.out").read_bytes().startswith(b"%PDF")


def test_zpl_goes_to_standard_output_for_a_printer_pipe(database: str, tmp_path: Path) -> None:
    result = lotscan(
        "--db", database, "label", "assembly", "--job", "J-1001", "--layout", "4x6-300",
        "--format", "zpl", "-o", "-", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("^XA\n^CI28\n^PW1200\n^LL1800\n")
    assert "^BCN,300,N,N,N,N^FD>;>824>60GP-10>810GP10->50415^FS" in result.stdout
    assert result.stdout.endswith("^PQ1\n^XZ\n")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_standard_output_that_cannot_be_written_is_one_clear_line(
    database: str, tmp_path: Path
) -> None:
    with open("/dev/full", "w") as full:  # a disk with no room left behind the pipe
        result = subprocess.run(
            [sys.executable, "-m", "scanner", "--db", database, "label", "location",
             "--location", "RACK-A1", "--format", "zpl", "-o", "-"],
            stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env={"LOTSCAN_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == "lotscan: Cannot write to standard output: No space left on device\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lot", "--part", "NOPE", "--lot", "X"], "lotscan: Unknown part NOPE"),
        (["lot", "--part", "SEAL-GP10", "--lot", "X"], "lotscan: Unknown lot X of SEAL-GP10"),
        (["assembly", "--job", "J-9"], "lotscan: Unknown job J-9"),
        (["serial", "--part", "MOT-5K5", "--serial", "S-0"], "lotscan: Unknown serial S-0"),
        (["location", "--location", "Z"], "lotscan: Unknown location Z"),
        (["lot", "--part", "SEAL-GP10", "--lot", "SK-0302", "--expiry", "2028-02-30"],
         "lotscan: --expiry 2028-02-30 is not a date: write it as YYYY-MM-DD"),
        (["location", "--location", "RACK-A1", "--layout", "6x4"], "lotscan: Unknown layout 6x4"),
        # printed in words, the count was left out of the barcode (probe)
        (["lot", "--part", "SEAL-GP10", "--lot", "SK-0302", "--qty", "100000000"],
         "lotscan: --qty 100000000: a barcode carries a count of at most 99999999"),
    ],
)  # fmt: skip
def test_something_unknown_is_one_clear_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
    message: str,
) -> None:  # fmt: skip
    target = tmp_path / "x.png"
    assert main(["label", *args, "-o", str(target), "--db", database]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [err.strip()] and err.startswith(message)
    assert not target.exists()


def test_a_file_name_that_names_no_format_asks_for_one(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["label", "location", "--location", "RACK-A1", "-o", str(tmp_path / "label")]
    assert main([*args, "--db", database]) == 1
    assert "--format png|svg|pdf|zpl" in capsys.readouterr().err
