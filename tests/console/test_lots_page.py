"""The Lots pages of the office console on the demo's central store (SQLite and
PostgreSQL): the search box takes text and scans, a lot's page gives the whole recall
answer, and its forms hold, release and recall as the signed-in operator, published for
the handhelds."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from console.guard import SignedIn
from scanner.db import reading, unit_of_work
from scanner.models import Lot, Part, SalesOrder, Serial, StatusChange
from sync.central.models import Change
from tests.support.console_plant import Console, demo_console

RAW = {"part": "GEAR-GP10", "lot": "GS-0201"}
"""The demo's raw-material lot: in finished pumps on a rack, in open job J-1003, shipped to
three customers (tests/scanner/test_recall.py)."""
CUSTOMERS = ("Marlow Marine Services", "Brandt Agricultural Machines", "Riverside Waterworks")
IN_THE_PLANT = {
    ("GEAR-GP10", "GS-0201", None),
    ("GP-10", "GP10-0415", None),
    ("HPU-5", None, "HPU5-0005"),
    ("HPU-5", None, "HPU5-0006"),
    ("GP-10", "GP10-0416", None),  # pre-assigned to J-1003, which used GS-0201
}
"""What `lotscan recall --part GEAR-GP10 --lot GS-0201 --hold` recalls on the demo."""
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def console(
    db_url: str, clock: Callable[[], datetime], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Console]:
    with demo_console(db_url, clock, monkeypatch) as built:
        yield built


def lot_status(console: Console, part: str, lot: str) -> str:
    with reading(console.sessions) as session:
        found = session.get(Lot, (part, lot))
        assert found is not None
        return found.status


def statuses(console: Console) -> dict[tuple[str, str | None, str | None], str]:
    """Every lot's and serial's own stored status."""
    found: dict[tuple[str, str | None, str | None], str] = {}
    with reading(console.sessions) as session:
        found |= {
            (each.part, each.number, None): each.status for each in session.scalars(select(Lot))
        }
        found |= {
            (each.part, None, each.number): each.quality_status
            for each in session.scalars(select(Serial))
        }
    return found


def status_changes_published(console: Console) -> list[Any]:
    with reading(console.sessions) as session:
        return list(session.scalars(select(Change).where(Change.kind == "status_change")))


# ---- search ---------------------------------------------------------------------------------


def test_a_lot_number_typed_in_part_finds_the_lot_without_regard_to_case(
    console: Console,
) -> None:
    page = console.http.get("/console/lots", params={"q": "gs-02"})

    assert page.status_code == 200
    assert 'href="/console/lot?part=GEAR-GP10&amp;lot=GS-0201"' in page.text
    assert 'name="q" id="search" value="gs-02"' in page.text


def test_a_serial_number_typed_in_part_lists_the_serials(console: Console) -> None:
    page = console.http.get("/console/lots", params={"q": "HPU5-000"})

    for number in range(1, 7):
        assert f'href="/console/lot?part=HPU-5&amp;serial=HPU5-000{number}"' in page.text


def test_a_search_pages_on_the_server(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("console.lot_search.PAGE", 4)

    first = console.http.get("/console/lots", params={"q": "HPU5"}).text
    second = console.http.get("/console/lots", params={"q": "HPU5", "page": 2}).text

    assert "HPU5-0004" in first and "HPU5-0005" not in first and 'rel="next"' in first
    assert "HPU5-0005" in second and "HPU5-0004" not in second and 'rel="prev"' in second


@pytest.mark.parametrize(
    ("scan", "goes_to"),
    [
        ("]C1010401234500010810GP10-0415", "/console/lot?part=GP-10&lot=GP10-0415"),
        ("(01)04012345000108(10)GP10-0415", "/console/lot?part=GP-10&lot=GP10-0415"),
        ("010401234500010810GP10-0415\x1d305", "/console/lot?part=GP-10&lot=GP10-0415"),
        ("https://id.gs1.org/01/04012345000207/21/HPU5-0006",
         "/console/lot?part=HPU-5&serial=HPU5-0006"),
    ],
    ids=["symbology-id", "brackets", "element-string-with-GS", "digital-link"],
)  # fmt: skip
def test_a_scan_in_the_search_box_goes_to_its_lot_or_serial(
    console: Console, scan: str, goes_to: str
) -> None:
    answer = console.http.get("/console/lots", params={"q": scan}, follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == goes_to


def test_a_scan_of_a_lot_the_store_lacks_says_so(console: Console) -> None:
    page = console.http.get("/console/lots", params={"q": "]C1010401234500010810NOPE-1"})

    assert page.status_code == 404
    assert "No lot NOPE-1 of GP-10" in page.text


# ---- one lot --------------------------------------------------------------------------------


def test_the_lot_page_gives_the_whole_recall_answer(console: Console) -> None:
    page = console.http.get("/console/lot", params=RAW)

    assert page.status_code == 200
    text = page.text
    assert "Lot GS-0201 of GEAR-GP10" in text
    assert "RACK-B1" in text  # finished pumps made from it
    assert 'href="/console/job?number=J-1003"' in text  # work in progress
    for customer in CUSTOMERS:
        assert customer in text
    assert "SO-5002 line 1" in text and "2026-10-14 09:01" in text
    assert "Meshwell Gears GmbH" in text  # where it came from
    for button in ("Hold", "Recall", "Recall everything still in the plant"):
        assert f">{button}</button>" in text


def test_the_job_page_shows_what_a_job_consumed(console: Console) -> None:
    page = console.http.get("/console/job", params={"number": "J-1003"})

    assert page.status_code == 200
    assert 'href="/console/lot?part=GEAR-GP10&amp;lot=GS-0201"' in page.text


def test_hold_from_the_form_is_recorded_as_the_operator_and_published(console: Console) -> None:
    posted = console.post(
        "/console/lot/status", {**RAW, "action": "hold", "reason": "Porosity at incoming"}
    )

    assert posted.status_code == 200
    assert lot_status(console, "GEAR-GP10", "GS-0201") == "hold"
    with reading(console.sessions) as session:
        change = session.scalars(
            select(StatusChange).where(StatusChange.key.contains("GS-0201"))
        ).one()
        assert (change.operator, change.reason) == ("B1010", "Porosity at incoming")
    assert len(status_changes_published(console)) >= 1
    page = console.http.get("/console/lot", params=RAW).text
    assert "on hold" in page and "Mark Jensen (B1010)" in page and "Porosity at incoming" in page
    assert ">Release</button>" in page and ">Hold</button>" not in page


def test_release_without_a_reason_is_refused_with_the_cores_words(console: Console) -> None:
    console.post("/console/lot/status", {**RAW, "action": "hold", "reason": "check"})

    refused = console.post("/console/lot/status", {**RAW, "action": "release", "reason": " "})

    assert refused.status_code == 400
    assert "Say why" in refused.text
    assert lot_status(console, "GEAR-GP10", "GS-0201") == "hold"


def test_recall_everything_still_in_the_plant_holds_what_lotscan_recall_hold_does(
    console: Console,
) -> None:
    before = statuses(console)
    fields = {**RAW, "reason": "Supplier recall MW-88412"}

    asked = console.post("/console/lot/recall-all", fields)
    assert asked.status_code == 200 and statuses(console) == before  # only asked
    assert status_changes_published(console) == []
    assert "Yes, recall 5" in asked.text and 'name="confirm" value="yes"' in asked.text
    assert "5 lots and serials will be recalled" in asked.text
    assert '<a href="/console/lot?part=GEAR-GP10&amp;lot=GS-0201">No, go back</a>' in asked.text
    listed = re.findall(r"<li>(.*?)</li>", asked.text.split('id="to-recall"')[1].split("</ul>")[0])
    posted = console.post("/console/lot/recall-all", {**fields, "confirm": "yes"})

    assert posted.status_code == 200
    after = statuses(console)
    changed = {node for node, status in after.items() if status != before[node]}
    assert changed == IN_THE_PLANT
    assert {after[node] for node in IN_THE_PLANT} == {"recalled"}
    assert after[("HPU-5", None, "HPU5-0001")] == "active"  # shipped: not in the plant
    assert len(status_changes_published(console)) >= len(IN_THE_PLANT)
    assert "Recalled 5 lots and serials by Mark Jensen" in posted.text
    recalled = posted.text.split("<h2>Recalled now</h2>")[1].split("</ul>")[0]
    assert [item.split(" (")[0] for item in listed] == [
        item.split(" (")[0] for item in re.findall(r"<li>(.*?)</li>", recalled)
    ]  # what the confirmation listed is what was recalled

    again = console.post("/console/lot/recall-all", {**fields, "confirm": "yes"})  # reloaded
    assert "Nothing recalled: it and everything made from it in the plant are recalled" in (
        again.text
    )
    assert statuses(console) == after


def test_recall_everything_asks_first_and_refuses_a_missing_reason_before_asking(
    console: Console,
) -> None:
    before = statuses(console)

    refused = console.post("/console/lot/recall-all", {**RAW, "reason": " "})

    assert refused.status_code == 400 and "Say why" in refused.text
    assert "Yes, recall" not in refused.text
    assert statuses(console) == before
    assert status_changes_published(console) == []


@pytest.mark.parametrize("path", ["/console/lot/status", "/console/lot/recall-all"])
def test_a_form_without_its_csrf_token_changes_nothing(console: Console, path: str) -> None:
    before = statuses(console)

    refused = console.post(path, {**RAW, "action": "hold", "reason": "x"}, csrf=False)

    assert refused.status_code == 403
    assert statuses(console) == before
    assert status_changes_published(console) == []


def test_a_quality_operator_may_hold_a_lot_too(
    db_url: str, clock: Callable[[], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    quality = SignedIn("B1020", "Ines Duarte", "quality", "s", "t")
    with demo_console(db_url, clock, monkeypatch, who=quality) as console:
        console.post("/console/lot/status", {**RAW, "action": "hold", "reason": "Lab check"})

        assert lot_status(console, "GEAR-GP10", "GS-0201") == "hold"
        assert "Ines Duarte (B1020)" in console.http.get("/console/lot", params=RAW).text


def test_text_from_imports_shows_as_text_not_markup(console: Console) -> None:
    with unit_of_work(console.sessions) as session:
        session.execute(update(Part).where(Part.number == "GEAR-GP10").values(description=SCRIPT))
        session.execute(update(SalesOrder).values(customer=SCRIPT))

    pages = [
        console.http.get("/console/lot", params=RAW).text,
        console.http.get("/console/lots", params={"q": "GS-02"}).text,
        console.http.get("/console/lots", params={"q": SCRIPT}).text,
    ]

    for page in pages:
        assert SCRIPT not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
