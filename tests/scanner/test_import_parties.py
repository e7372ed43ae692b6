"""Who the exports name: the orders' optional supplier and customer address, phone and GLN
columns, and the `site` import of this site's description (docs/architecture.md, "Import
files")."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import open_database, unit_of_work
from scanner.errors import ImportRowError, RuleViolation
from scanner.importing import import_file
from scanner.models import PurchaseOrder, SalesOrder
from scanner.settings import (
    SITE_ADDRESS,
    SITE_GLN,
    SITE_NAME,
    SITE_PHONE,
    SITE_URI,
    SYNC_URL,
    read_setting,
    stored_text,
    write_setting,
)
from scanner.workspace import sqlite_url

Sessions = sessionmaker[Session]

PARTS = "part,description,tracking\nP-1,Romaine hearts,lot\nP-2,Salad kit,lot\n"
GLN = "9506000000008"
OTHER_GLN = "9506000000015"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(sessions: Sessions, folder: Path, kind: str, text: str) -> int:
    with unit_of_work(sessions) as session:
        return import_file(session, kind, write(folder, f"{kind}.csv", text))


@pytest.fixture
def plant(sessions: Sessions, tmp_path: Path) -> Sessions:
    load(sessions, tmp_path, "parts", PARTS)
    return sessions


def parties(sessions: Sessions, model: type[Any], party: str) -> list[tuple[Any, ...]]:
    columns = [getattr(model, name) for name in ("number", party, *_described(party))]
    with sessions() as session:
        return [tuple(row) for row in session.execute(select(*columns).order_by(model.number))]


def _described(party: str) -> tuple[str, ...]:
    return (f"{party}_address", f"{party}_phone", f"{party}_gln")


# ---- the orders' parties -------------------------------------------------------------


def test_a_purchase_order_keeps_its_suppliers_address_phone_and_gln(
    plant: Sessions, tmp_path: Path
) -> None:
    load(plant, tmp_path, "purchase-orders", (
        "po,supplier,line,part,qty,supplier_address,supplier_phone,supplier_gln\n"
        f'PO-1,Green Acres,1,P-1,50,"Farm Rd 1, Salinas, CA",+1 831 555 0100,{GLN}\n'
        f'PO-1,Green Acres,2,P-2,10,"Farm Rd 1, Salinas, CA",+1 831 555 0100,{GLN}\n'
        "PO-2,Valley Fresh,1,P-1,20,,,\n"
    ))  # fmt: skip
    assert parties(plant, PurchaseOrder, "supplier") == [
        ("PO-1", "Green Acres", "Farm Rd 1, Salinas, CA", "+1 831 555 0100", GLN),
        ("PO-2", "Valley Fresh", None, None, None),
    ]


def test_a_column_left_out_keeps_what_is_stored_and_an_empty_one_clears_it(
    plant: Sessions, tmp_path: Path
) -> None:
    load(plant, tmp_path, "sales-orders", (
        "so,customer,line,part,qty,customer_address,customer_phone,customer_gln\n"
        f"SO-1,Deli Co,1,P-2,5,1 Main St,(030) 1234-56,{GLN}\n"
    ))  # fmt: skip
    load(plant, tmp_path, "sales-orders", "so,customer,line,part,qty\nSO-1,Deli Co,1,P-2,6\n")
    assert parties(plant, SalesOrder, "customer") == [
        ("SO-1", "Deli Co", "1 Main St", "(030) 1234-56", GLN)
    ]
    load(plant, tmp_path, "sales-orders", (
        "so,customer,line,part,qty,customer_phone\nSO-1,Deli Co,1,P-2,6,\n"
    ))  # fmt: skip
    assert parties(plant, SalesOrder, "customer") == [("SO-1", "Deli Co", "1 Main St", None, GLN)]


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        ("Farm Rd,n/a,", "supplier_phone", '"n/a" is not a phone number: it has no digits'),
        ("Farm Rd," + "9" * 41 + ",", "supplier_phone", "at most 40 fit"),
        ("Farm Rd,+1 555,9506000000009", "supplier_gln", "wrong check digit"),
        ("Farm Rd,+1 555,12345", "supplier_gln", "not a GLN: 13 digits"),
        ("A" * 201 + ",+1 555,", "supplier_address", "at most 200 fit"),
        ('"Farm Rd\x1b[31m",+1 555,', "supplier_address", "control character"),
        ("Other Rd,+1 555,", "supplier_address", 'has supplier_address "Farm Rd" on row 2'),
        (f"Farm Rd,+1 555,{OTHER_GLN}", "supplier_gln", "has supplier_gln none on row 2"),
    ],
)
def test_a_bad_party_cell_is_refused_naming_its_row_and_column_and_nothing_is_written(
    plant: Sessions, tmp_path: Path, cells: str, column: str, words: str
) -> None:
    text = (
        "po,supplier,line,part,qty,supplier_address,supplier_phone,supplier_gln\n"
        "PO-1,Green Acres,1,P-1,50,Farm Rd,+1 555,\n"
        f"PO-1,Green Acres,2,P-2,10,{cells}\n"
    )
    with pytest.raises(ImportRowError) as refused:
        load(plant, tmp_path, "purchase-orders", text)
    assert (refused.value.row, refused.value.column) == (3, column)
    assert words in str(refused.value)
    assert parties(plant, PurchaseOrder, "supplier") == []


# ---- this site ----------------------------------------------------------------------------


def site_settings(sessions: Sessions) -> tuple[Any, ...]:
    with sessions() as session:
        return tuple(
            read_setting(session, setting)
            for setting in (SITE_NAME, SITE_ADDRESS, SITE_PHONE, SITE_GLN, SITE_URI)
        )


def test_the_site_file_sets_the_sites_description(sessions: Sessions, tmp_path: Path) -> None:
    count = load(sessions, tmp_path, "site", (
        "Name,Address,Phone,GLN,URI\n"
        f'Salinas Packing,"5 Dock St, Salinas, CA",+1 831 555 0199,{GLN},https://x.example/t/\n'
    ))  # fmt: skip
    assert count == 1
    assert site_settings(sessions) == (
        "Salinas Packing", "5 Dock St, Salinas, CA", "+1 831 555 0199", GLN, "https://x.example/t",
    )  # fmt: skip
    # A column left out keeps its value; one left empty clears it.
    load(
        sessions, tmp_path, "site", "name,address,phone,gln\nSalinas Packing,5 Dock St,555 0199,\n"
    )
    assert site_settings(sessions) == (
        "Salinas Packing", "5 Dock St", "555 0199", None, "https://x.example/t",
    )  # fmt: skip
    with sessions() as session:
        assert stored_text(session, SITE_GLN) is None


def test_an_enrolled_handheld_takes_the_site_from_the_store_and_imports_none(
    sessions: Sessions, tmp_path: Path
) -> None:
    load(sessions, tmp_path, "site", "name,address,phone\nSalinas Packing,5 Dock St,555 0199\n")
    with unit_of_work(sessions) as session:
        write_setting(session, SYNC_URL, "http://store.example:8400")  # as `lotscan enroll`
    with pytest.raises(RuleViolation) as refused:
        load(sessions, tmp_path, "site", "name,address,phone\nRogue Site,1 Other St,555 0100\n")
    assert str(refused.value) == (
        "This handheld is enrolled: it takes the site's description from the central store on"
        " its next sync. Import site.csv there (lotscan import site site.csv --db"
        " CENTRAL-DATABASE)"
    )
    assert site_settings(sessions)[:3] == ("Salinas Packing", "5 Dock St", "555 0199")


@pytest.mark.parametrize(
    ("text", "row", "column", "words"),
    [
        ("name,address,phone\nA,B,1\nC,D,2\n", 3, None, "a site file has one row"),
        ("name,address,phone\nA,,1\n", 2, "address", "the address is empty"),
        ("name,address,phone,gln\nA,B,1,9506000000009\n", 2, "gln", "wrong check digit"),
        ("name,address,phone,uri\nA,B,1,ftp://x\n", 2, "uri", "http:// or https://"),
        ("name,address\nA,B\n", 1, "phone", "the header has no phone column"),
        ("name,address,phone\nA,B,none\n", 2, "phone", "not a phone number"),
        ("name,address,phone\n", 2, None, "this one has only its header"),
    ],
)
def test_a_bad_site_file_is_refused_and_changes_nothing(
    sessions: Sessions,
    tmp_path: Path,
    text: str,
    row: int,
    column: str | None,
    words: str,
) -> None:
    with pytest.raises(ImportRowError) as refused:
        load(sessions, tmp_path, "site", text)
    assert (refused.value.row, refused.value.column) == (row, column)
    assert words in str(refused.value)
    assert site_settings(sessions) == (None,) * 5


# ---- any one cell of the new columns: refused on its row and column, or imported ----------

COLUMNS = ["po", "supplier", "line", "part", "qty", "supplier_address", "supplier_phone",
           "supplier_gln"]  # fmt: skip


@pytest.fixture(scope="module")
def hypothesis_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sessions, Path]]:
    folder = tmp_path_factory.mktemp("hypothesis")
    sessions = open_database(sqlite_url(folder / "lotscan.db"))
    load(sessions, folder, "parts", PARTS)
    yield sessions, folder
    sessions.kw["bind"].dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    orders=st.integers(1, 3),
    target=st.data(),
    value=st.one_of(
        st.text(max_size=60),
        st.text(alphabet="0123456789", min_size=12, max_size=14),
        st.text(min_size=30, max_size=260),
        st.sampled_from([GLN, OTHER_GLN, "+1 555 0100", "=1+1", "@SUM(A1)", "-", " "]),
    ),
)
def test_one_cell_of_a_party_column_is_refused_on_its_row_and_column_or_imported(
    hypothesis_db: tuple[Sessions, Path], orders: int, target: Any, value: str
) -> None:
    sessions, folder = hypothesis_db
    cells = [
        [f"PO-{n}", f"Supplier {n}", "1", "P-1", "5", f"{n} Farm Rd", f"+1 555 010{n}", GLN]
        for n in range(orders)
    ]
    row = target.draw(st.integers(0, orders - 1), label="row")
    column = target.draw(st.sampled_from([5, 6, 7]), label="column")
    cells[row][column] = value
    path = folder / "purchase-orders.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows(cells)
    with sessions() as session:
        try:
            imported = import_file(session, "purchase-orders", path)
        except ImportRowError as error:
            assert (error.row, error.column) == (row + 2, COLUMNS[column]), str(error)
            assert len(str(error).splitlines()) == 1
            count = session.scalar(select(func.count()).select_from(PurchaseOrder))
            assert count == 0
        else:
            assert imported == orders
            stored = session.get(PurchaseOrder, f"PO-{row}")
            assert stored is not None
            assert getattr(stored, COLUMNS[column]) == (value.strip() or None)
        finally:
            session.rollback()
