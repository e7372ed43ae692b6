"""The Stock page and the downloads of the office console on the demo's central store
(SQLite and PostgreSQL): balances filtered and paged on the server with expiry and status,
the page's CSV, and the EPCIS and FSMA 204 exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from tests.support.console_plant import Console, demo_console


@pytest.fixture
def console(
    db_url: str, clock: Callable[[], datetime], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Console]:
    with demo_console(db_url, clock, monkeypatch) as built:
        yield built


def rows_of(page: str) -> list[str]:
    """The stock table's rows, as their HTML."""
    body = page.split('<table class="stock">', 1)[1].split("</table>", 1)[0]
    return body.split("<tr>")[2:]


def test_the_stock_page_filters_by_part_and_shows_expiry_and_status(console: Console) -> None:
    page = console.http.get("/console/stock", params={"part": "SEAL-GP10"})

    assert page.status_code == 200
    rows = rows_of(page.text)
    assert rows and all("<td>SEAL-GP10</td>" in row for row in rows)
    assert all("released" in row or "expired" in row for row in rows)
    assert any("-" in row.split("<td")[6] and "20" in row.split("<td")[6] for row in rows)  # expiry


def test_the_stock_page_filters_by_location(console: Console) -> None:
    rows = rows_of(console.http.get("/console/stock", params={"location": "RACK-B1"}).text)

    assert rows and all("<td>RACK-B1</td>" in row for row in rows)


def test_a_held_lot_shows_on_hold_on_the_stock_page(console: Console) -> None:
    console.post(
        "/console/lot/status",
        {"part": "GEAR-GP10", "lot": "GS-0201", "action": "hold", "reason": "check"},
    )

    rows = rows_of(console.http.get("/console/stock", params={"part": "GEAR-GP10"}).text)

    assert any("GS-0201" in row and "on hold" in row for row in rows)


def test_the_stock_page_pages_on_the_server(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("console.stock.PAGE", 3)

    first = console.http.get("/console/stock").text
    second = console.http.get("/console/stock", params={"page": 2}).text

    assert len(rows_of(first)) == 3 and len(rows_of(second)) == 3
    assert set(rows_of(first)).isdisjoint(rows_of(second))
    assert 'href="/console/stock?page=2"' in first and 'rel="prev"' in second


def test_an_unknown_part_is_named_not_shown_as_no_stock(console: Console) -> None:
    page = console.http.get("/console/stock", params={"part": "NOPE"})

    assert page.status_code == 404
    assert "Unknown part NOPE" in page.text


def test_the_csv_of_the_page_has_every_balance_of_its_filter(console: Console) -> None:
    got = console.http.get("/console/stock.csv", params={"location": "RACK-B1"})

    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows and {row["location"] for row in rows} == {"RACK-B1"}
    assert set(rows[0]) == {"part", "lot", "serial", "location", "qty", "expiry", "status"}
    page = console.http.get("/console/stock", params={"location": "RACK-B1"}).text
    assert len(rows) == len(rows_of(page))


def test_the_epcis_export_downloads_as_a_json_ld_document(console: Console) -> None:
    got = console.http.get(
        "/console/export/epcis", params={"part": "GEAR-GP10", "lot": "GS-0201", "since": ""}
    )

    assert got.status_code == 200
    assert got.headers["content-type"] == "application/ld+json"
    assert "attachment" in got.headers["content-disposition"]
    document = json.loads(got.content)
    assert document["type"] == "EPCISDocument"
    assert document["epcisBody"]["eventList"]


def test_the_fsma_export_downloads_as_csv_or_xlsx(console: Console) -> None:
    got = console.http.get(
        "/console/export/fsma204", params={"from": "2026-09-01", "to": "2026-11-02"}
    )

    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows and "GS-0201" in {row["traceability_lot_code"] for row in rows}

    sheet = console.http.get(
        "/console/export/fsma204",
        params={"from": "2026-09-01", "to": "2026-11-02", "format": "xlsx"},
    )
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert sheet.content[:2] == b"PK"


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/console/export/fsma204", {"from": "2026-11-02", "to": "2026-11-01"}, "is after"),
        ("/console/export/fsma204", {"from": "yesterday"}, "is not a day"),
        ("/console/export/epcis", {"lot": "GS-0201"}, "needs its part"),
        ("/console/export/epcis", {"part": "NOPE"}, "Unknown part NOPE"),
        # Days a date field takes, past what the exports can count to: refused by name.
        (
            "/console/export/fsma204",
            {"from": "1900-01-01", "to": "9999-12-31"},
            "to: 9999-12-31 is not a day lotscan keeps (it keeps 1900-01-01 to 2999-12-31)",
        ),
        ("/console/export/fsma204", {"to": "0001-01-05"}, "to: 0001-01-05 is not a day"),
        ("/console/export/epcis", {"until": "9999-12-31"}, "until: 9999-12-31 is not a day"),
    ],
)
def test_an_export_asked_for_wrongly_says_why(
    console: Console, path: str, params: dict[str, str], words: str
) -> None:
    got = console.http.get(
        path, params=params, headers={"Referer": "http://testserver/console/stock"}
    )

    assert got.status_code == 400
    assert got.headers["content-type"].startswith("text/html")
    assert words in got.text
    assert '<a href="/console/stock">Back</a>' in got.text
