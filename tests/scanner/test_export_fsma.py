"""`lotscan export fsma204`: the FDA FSMA 204 sortable spreadsheet (docs/architecture.md,
"FSMA 204 spreadsheet"), run on the demo as a user would and read back as a spreadsheet
program would: the CSV with the csv module, the XLSX with openpyxl."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.clock import aware
from scanner.db import open_database, unit_of_work
from scanner.demo import build_demo
from scanner.export_fsma import COLUMNS, write_fsma
from scanner.fsma_events import Period
from scanner.ledger import Ledger
from scanner.models import NOT_EFFECTIVE, Movement
from scanner.settings import SITE_NAME, write_setting
from scanner.spreadsheet import table_file
from scanner.workspace import sqlite_url
from sync.central.enrollment import ensure_central
from tests.conftest import PG_URL
from tests.support import cli_in_process
from tests.support.databases import pg_schema
from tests.support.demo_workspace import ROOT
from tests.support.plant import add_plant
from tests.support.sync_in_process import Central, Handheld, MovableClock

TODAY = date(2026, 11, 2)
EVER = ("--from", "2000-01-01", "--to", "2099-12-31")
EVENT_KINDS = {"receive", "ship", "produce", "return"}
# Riverside Waterworks has no phone on its sales order: the demo's one missing element.
RIVERSIDE = "Riverside Waterworks"


@dataclass(frozen=True)
class Demo:
    url: str
    folder: Path


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The demo, built once per module on SQLite and on PostgreSQL; the tests only read it."""
    folder = tmp_path_factory.mktemp("demo")
    if request.param == "sqlite":
        url = sqlite_url(folder / "lotscan.db")
        build_demo(url, TODAY)
        yield Demo(url, folder)
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need LOTSCAN_TEST_PG_URL")
    with pg_schema(PG_URL) as url:
        build_demo(url, TODAY)
        yield Demo(url, folder)


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-demo")
    build_demo(sqlite_url(folder / "lotscan.db"), TODAY)
    return folder


@pytest.fixture
def demo_copy(sqlite_demo: Path, tmp_path: Path) -> str:
    """A copy of the SQLite demo a test may change."""
    for each in sqlite_demo.glob("lotscan.db*"):
        shutil.copy(each, tmp_path / each.name)
    return sqlite_url(tmp_path / "lotscan.db")


NO_HOME = Path("/nonexistent-lotscan-home")


def lotscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "LOTSCAN_HOME": str(NO_HOME)},
    )


def export(url: str, output: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`lotscan export fsma204` run in the test's process (tests/support/cli_in_process.py),
    for the file it writes; `lotscan` above runs it as a subprocess, for exit statuses."""
    result = cli_in_process.lotscan(
        "export", "fsma204", "--db", url, *args, "-o", str(output), home=NO_HOME
    )
    assert result.returncode == 0, result.stderr
    return result


def read_csv(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads the file as UTF-8"
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader)
    assert tuple(header) == COLUMNS
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    return rows


def read_xlsx(path: Path) -> tuple[Any, list[dict[str, Any]]]:
    book = openpyxl.load_workbook(path)
    assert len(book.worksheets) == 1
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert tuple(values[0]) == COLUMNS
    return sheet, [dict(zip(COLUMNS, row, strict=True)) for row in values[1:]]


def expected_events(url: str, first: date, last: date, part: str | None = None) -> set[str]:
    """The ids of the period's events, worked out from the whole ledger in Python: every
    effective receipt, shipment, completion and return with a lot or serial, not undone."""
    sessions = open_database(url)
    with sessions() as session:
        movements = session.scalars(select(Movement)).all()
        effective = [m for m in movements if m.sync_state not in NOT_EFFECTIVE]
        undone = {m.reverses for m in effective if m.reverses is not None}
        consumed: dict[str, set[str]] = {}
        for m in effective:
            if m.kind == "issue" and m.job and m.id not in undone:
                consumed.setdefault(m.job, set()).add(m.part)
        ids = {
            str(m.id)
            for m in effective
            if m.kind in EVENT_KINDS
            and (m.lot or m.serial)
            and m.id not in undone
            and first <= aware(m.happened_at).date() <= last
            and (
                part is None
                or m.part == part
                or (m.kind == "produce" and part in consumed.get(m.job or "", set()))
            )
        }
    sessions.kw["bind"].dispose()
    return ids


def demo_days(url: str) -> list[date]:
    sessions = open_database(url)
    with sessions() as session:
        days = sorted({aware(t).date() for t in session.scalars(select(Movement.happened_at))})
    sessions.kw["bind"].dispose()
    return days


# ---- the CSV: one table, one event a row -------------------------------------------------


def test_the_csv_holds_every_event_once_with_iso_dates_and_its_key_data(
    demo: Demo, tmp_path: Path
) -> None:
    output = tmp_path / "fsma.csv"
    result = export(demo.url, output, *EVER)
    rows = read_csv(output)
    assert {row["event_id"] for row in rows} == expected_events(
        demo.url, date(2000, 1, 1), date(2099, 12, 31)
    )
    assert len({row["event_id"] for row in rows}) == len(rows)
    stamps = [(date.fromisoformat(r["event_date"]), r["event_time_utc"]) for r in rows]
    assert stamps == sorted(stamps), "in the order they happened"
    types = {(row["movement_kind"], row["event_type"]) for row in rows}
    assert types == {
        ("receive", "Receiving"),
        ("produce", "Transformation"),
        ("ship", "Shipping"),
        ("return", "Receiving"),
    }
    assert result.stdout.startswith(f"Wrote {len(rows)} FSMA 204 events (")
    receipt = next(row for row in rows if row["traceability_lot_code"] == "CH-0101")
    assert receipt | {"event_id": "", "event_date": "", "event_time_utc": ""} == {
        "event_type": "Receiving",
        "event_date": "",
        "event_time_utc": "",
        "traceability_lot_code": "CH-0101",
        "product_id": "CAST-GP10",
        "product_description": "Pump housing casting GP-10, grey iron EN-GJL-250",
        "quantity": "16",
        "unit_of_measure": "ea",
        "serial": "",
        "supplier_lot": "H24-5510",
        "trading_partner_role": "immediate previous source",
        "trading_partner_name": "Castleford Foundry Ltd",
        "trading_partner_address": "Foundry Lane, Castleford WF10 1AA, United Kingdom",
        "trading_partner_phone": "'+44 1632 960210",
        "trading_partner_gln": "",
        "location_name": "Harbor Hydraulics",
        "location_address": "4 Slipway Road, Portsmouth PO3 5AB, United Kingdom",
        "location_phone": "'+44 1632 960100",
        "location_gln": "9506000000008",
        "location_code": "RECV",
        "tlc_source_name": "Castleford Foundry Ltd",
        "tlc_source_address": "Foundry Lane, Castleford WF10 1AA, United Kingdom",
        "tlc_source_phone": "'+44 1632 960210",
        "reference_document_type": "Purchase Order",
        "reference_document_number": "PO-7001",
        "input_tlcs": "",
        "input_lots": "",
        "movement_kind": "receive",
        "event_id": "",
        "missing_kdes": "",
    }


def test_a_transformation_row_names_the_new_lot_its_inputs_and_this_site_as_tlc_source(
    demo: Demo, tmp_path: Path
) -> None:
    output = tmp_path / "fsma.csv"
    export(demo.url, output, *EVER)
    made = [row for row in read_csv(output) if row["event_type"] == "Transformation"]
    pumps = [row for row in made if row["traceability_lot_code"] == "GP10-0415"]
    assert [row["quantity"] for row in pumps] == ["12", "8"]  # the job's two completions
    for row in pumps:
        assert row["reference_document_type"] == "Job"
        assert row["reference_document_number"] == "J-1001"
        assert row["input_tlcs"].split("; ") == ["CH-0101", "CH-0102", "GS-0201", "SK-0301"]
        assert "CH-0101 16 ea CAST-GP10 Pump housing casting" in row["input_lots"]
        assert "80 ea SCR-M6X20" in row["input_lots"]  # untracked: listed, with no lot
        assert row["tlc_source_name"] == row["location_name"] == "Harbor Hydraulics"
        assert row["trading_partner_name"] == "" and row["missing_kdes"] == ""
    units = [row for row in made if row["product_id"] == "HPU-5"]
    assert [row["serial"] for row in units] == [f"HPU5-000{n}" for n in range(1, 7)]
    assert all("GP10-0415" in row["input_tlcs"].split("; ") for row in units)


def test_only_events_inside_the_period_both_days_included(demo: Demo, tmp_path: Path) -> None:
    export(demo.url, tmp_path / "all.csv", *EVER)
    days = sorted({date.fromisoformat(row["event_date"]) for row in read_csv(tmp_path / "all.csv")})
    first, last = days[2], days[5]
    output = tmp_path / "week.csv"
    export(demo.url, output, "--from", first.isoformat(), "--to", last.isoformat())
    rows = read_csv(output)
    assert {row["event_id"] for row in rows} == expected_events(demo.url, first, last)
    assert {date.fromisoformat(row["event_date"]) for row in rows} == set(days[2:6])


def test_part_gives_its_events_and_the_transformations_that_consumed_it(
    demo: Demo, tmp_path: Path
) -> None:
    output = tmp_path / "castings.csv"
    export(demo.url, output, *EVER, "--part", "CAST-GP10")
    rows = read_csv(output)
    assert {row["event_id"] for row in rows} == expected_events(
        demo.url, date(2000, 1, 1), date(2099, 12, 31), part="CAST-GP10"
    )
    assert {(row["event_type"], row["product_id"]) for row in rows} == {
        ("Receiving", "CAST-GP10"),
        ("Transformation", "GP-10"),
    }


# ---- the XLSX: the same table -----------------------------------------------------------


def test_the_xlsx_is_one_sortable_sheet_with_the_csvs_rows(demo: Demo, tmp_path: Path) -> None:
    export(demo.url, tmp_path / "fsma.csv", *EVER)
    export(demo.url, tmp_path / "fsma.xlsx", *EVER)
    sheet, rows = read_xlsx(tmp_path / "fsma.xlsx")
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:AD{len(rows) + 1}"
    assert all(cell.font.b for cell in sheet[1])
    dates = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.is_date and cell.number_format == "yyyy-mm-dd" for cell in dates)
    as_csv = [{name: _as_text(value) for name, value in row.items()} for row in rows]
    # The CSV guards a cell starting with + (a phone) against formulas; the XLSX types it.
    expected = [
        {name: value.removeprefix("'") for name, value in row.items()}
        for row in read_csv(tmp_path / "fsma.csv")
    ]
    assert as_csv == expected


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


# ---- missing key data elements ----------------------------------------------------------


def test_the_demo_misses_one_customers_phone_and_says_so(demo: Demo, tmp_path: Path) -> None:
    output = tmp_path / "fsma.csv"
    result = export(demo.url, output, *EVER)
    rows = read_csv(output)
    missing = {
        (row["trading_partner_name"], row["missing_kdes"]) for row in rows if row["missing_kdes"]
    }
    assert missing == {(RIVERSIDE, "trading_partner_phone")}
    riverside = [row for row in rows if row["trading_partner_name"] == RIVERSIDE]
    assert len(riverside) == 3  # two shipments and the power unit sent back
    assert result.stderr.splitlines()[:2] == [
        "Missing key data elements (named in each row's missing_kdes column):",
        "  trading_partner_phone: 3 events",
    ]
    assert "Not in the spreadsheet: 4 movements of untracked parts" in result.stderr


def test_without_a_site_description_every_row_names_what_is_missing(
    demo_copy: str, tmp_path: Path
) -> None:
    for name in ("site.name", "site.address", "site.phone", "site.gln"):
        assert lotscan("settings", "reset", name, "--db", demo_copy).returncode == 0
    output = tmp_path / "fsma.xlsx"
    result = export(demo_copy, output, *EVER)
    _, rows = read_xlsx(output)
    for row in rows:
        missing = (row["missing_kdes"] or "").split("; ")
        assert {"location_name", "location_address", "location_phone"} <= set(missing)
        assert row["location_name"] is None
        if row["event_type"] == "Transformation":
            assert "tlc_source_name" in missing  # this site gave the TLC: its source
        if row["movement_kind"] == "receive":
            assert "tlc_source_name" not in missing  # the supplier gave it
    assert f"  location_name: {len(rows)} events" in result.stderr.splitlines()
    assert "lotscan import site FILE.csv" in result.stderr


def test_a_reversed_receipt_and_its_reversal_are_left_out(demo_copy: str, tmp_path: Path) -> None:
    sessions = open_database(demo_copy)
    moment = datetime.combine(demo_days(demo_copy)[-1], time(23), tzinfo=UTC)
    with unit_of_work(sessions) as session:
        ledger = Ledger(session, lambda: moment)
        wrong = ledger.receive(
            "CAST-GP10", 5, "RECV", lot="CH-0999", po="PO-7001", operator="B1001"
        )
        ledger.reverse(wrong.id, operator="B1010", reason="wrong pallet")
        wrong_id = str(wrong.id)
    sessions.kw["bind"].dispose()
    output = tmp_path / "fsma.csv"
    result = export(demo_copy, output, *EVER)
    rows = read_csv(output)
    assert wrong_id not in {row["event_id"] for row in rows}
    assert "CH-0999" not in {row["traceability_lot_code"] for row in rows}
    assert "Not in the spreadsheet: 1 movement undone by a reversal" in result.stderr


@pytest.mark.parametrize("state", sorted(NOT_EFFECTIVE))
def test_a_held_rejected_or_voided_movement_is_not_an_event(
    demo_copy: str, tmp_path: Path, state: str
) -> None:
    sessions = open_database(demo_copy)
    with unit_of_work(sessions) as session:
        receipt = session.scalars(
            select(Movement).where(Movement.kind == "receive", Movement.lot == "GS-0201")
        ).one()
        receipt.sync_state = state
        held = str(receipt.id)
    sessions.kw["bind"].dispose()
    export(demo_copy, tmp_path / "fsma.csv", *EVER)
    rows = read_csv(tmp_path / "fsma.csv")
    assert held not in {row["event_id"] for row in rows}
    assert len(rows) == len(expected_events(demo_copy, date(2000, 1, 1), date(2099, 12, 31)))


# ---- cells safe to open -----------------------------------------------------------------


def test_text_that_looks_like_a_formula_stays_text(demo_copy: str, tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://evil.example","x")'
    sessions = open_database(demo_copy)
    with unit_of_work(sessions) as session:
        write_setting(session, SITE_NAME, formula)
    sessions.kw["bind"].dispose()
    export(demo_copy, tmp_path / "fsma.csv", *EVER)
    export(demo_copy, tmp_path / "fsma.xlsx", *EVER)
    assert {row["location_name"] for row in read_csv(tmp_path / "fsma.csv")} == {f"'{formula}"}
    sheet, rows = read_xlsx(tmp_path / "fsma.xlsx")
    assert {row["location_name"] for row in rows} == {formula}
    column = COLUMNS.index("location_name") + 1
    assert all(row[column - 1].data_type == "s" for row in sheet.iter_rows(min_row=2))


# ---- refusals, and never half a file ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("-o", "{tmp}/fsma.txt"), "must end in .csv or .xlsx"),
        (("-o", "{tmp}/nowhere/fsma.csv"), "there is no folder"),
        (("--part", "NOPE", "-o", "{tmp}/fsma.csv"), 'Unknown part "NOPE"'),
    ],
)
def test_a_bad_request_is_one_clear_line_and_writes_nothing(
    demo_copy: str, tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    filled = [arg.replace("{tmp}", str(out)) for arg in args]
    result = lotscan("export", "fsma204", "--db", demo_copy, *EVER, *filled)
    assert result.returncode == 1
    assert result.stderr.startswith("lotscan: ") and words in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert list(out.iterdir()) == []


def test_a_period_that_ends_before_it_starts_is_refused(demo_copy: str, tmp_path: Path) -> None:
    result = lotscan(
        "export", "fsma204", "--db", demo_copy, "--from", "2026-11-02", "--to", "2026-11-01",
        "-o", str(tmp_path / "fsma.csv"),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == "lotscan: --from 2026-11-02 is after --to 2026-11-01\n"


def test_a_day_past_what_lotscan_keeps_is_refused_by_its_flag(
    demo_copy: str, tmp_path: Path
) -> None:
    result = lotscan(
        "export", "fsma204", "--db", demo_copy, "--from", "2026-11-01", "--to", "9999-12-31",
        "-o", str(tmp_path / "fsma.csv"),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "lotscan export fsma204: error: argument --to: 9999-12-31 is not a day lotscan keeps"
        " (it keeps 1900-01-01 to 2999-12-31)"
    )
    assert not (tmp_path / "fsma.csv").exists()


@pytest.mark.parametrize("name", ["table.csv", "table.xlsx"])
def test_a_failure_midway_leaves_the_earlier_file_as_it_was(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    target.write_bytes(b"the earlier export")
    with pytest.raises(RuntimeError), table_file(target, ("a", "b"), title="t") as write:
        write(["1", "2"])
        raise RuntimeError("the database went away")
    assert target.read_bytes() == b"the earlier export"
    assert [each.name for each in tmp_path.iterdir()] == [name]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal(demo_copy: str, tmp_path: Path) -> None:
    sessions = open_database(demo_copy)
    terminal = _Terminal()
    period = Period(TODAY - timedelta(days=60), TODAY)
    with sessions() as session:
        tally = write_fsma(session, period, tmp_path / "fsma.csv", progress_stream=terminal)
    sessions.kw["bind"].dispose()
    assert terminal.getvalue().endswith(f"\rFSMA 204 events: {tally.total}\n")
    assert tally.total == len(read_csv(tmp_path / "fsma.csv"))


# ---- on the central store ---------------------------------------------------------------


def test_the_central_store_exports_what_its_handhelds_pushed(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    moving = MovableClock()
    with unit_of_work(sessions) as session:
        ensure_central(session)
        add_plant(session)
    central = Central(sessions, moving)
    device, token = central.enroll("Dock 1")
    dock = Handheld(tmp_path / "dock.db", device, token, moving)
    dock.do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="L0001", po="PO-1"))
    dock.do(lambda ledger: ledger.receive("BOLT", 50, "RCV"))
    moving.advance(days=1)
    shipped = dock.do(lambda ledger: ledger.ship("SO-1", "BOLT", 10, line=2, lot="BL-7"))
    assert dock.sync(central).last_applied_seq == 3
    dock.sessions.kw["bind"].dispose()
    site = tmp_path / "site.csv"
    site.write_text("name,address,phone\nCentral Plant,1 Mill Lane,+1 555 0100\n")
    assert lotscan("import", "site", str(site), "--db", db_url).returncode == 0

    output = tmp_path / "central.csv"
    result = export(db_url, output, *EVER)
    rows = read_csv(output)
    assert [
        (row["event_type"], row["traceability_lot_code"], row["trading_partner_name"],
         row["reference_document_number"], row["location_name"])
        for row in rows
    ] == [
        ("Receiving", "L0001", "Acme Polymers", "PO-1", "Central Plant"),
        ("Shipping", "BL-7", "Hydro Systems", "SO-1", "Central Plant"),
    ]  # fmt: skip
    assert rows[1]["event_id"] == str(shipped.id)
    assert rows[1]["tlc_source_name"] == "Central Plant"  # the lot was given at shipping
    assert "Not in the spreadsheet: 1 movement of untracked parts" in result.stderr
