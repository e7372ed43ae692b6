"""`lotscan import KIND FILE.csv`: reference data from the ERP (docs/architecture.md,
"Import files")."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.closing import close_job, close_order_lines, history
from scanner.db import open_database, unit_of_work
from scanner.errors import ImportRowError
from scanner.importing import KINDS, Imported, import_file, import_reference
from scanner.ledger import Ledger
from scanner.models import (
    Base,
    Job,
    JobComponent,
    Location,
    Lot,
    Operator,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    StatusChange,
)
from scanner.workspace import sqlite_url
from tests.conftest import fixed_clock
from tests.support.databases import open_migrated

Sessions = sessionmaker[Session]

# The reference data most tests start from, one file per kind, imported in this order.
SEED = {
    "parts": """part,description,tracking,gtin,backflush,shelf_life_days,uom,lot_pattern
P-100,Resin,lot,09501101530003,no,30,kg,
P-200,Screw,none,,yes,,,
P-300,Controller,serial,,,,,{device}-{seq:05}
""",
    "locations": "code,name,kind\nRECV,Receiving dock,dock\nA1,Aisle 1,\n",
    "operators": "badge,name,role\nOP1,Ana,supervisor\nOP2,Ben,\n",
    "jobs": "job,part,qty,output_lot\nJ-1,P-100,10,L-J1\nJ-2,P-300,2,\n",
    "job-components": "job,part,qty\nJ-1,P-200,40\n",
    "purchase-orders": "po,supplier,line,part,qty\nPO-1,Acme,1,P-100,500\nPO-1,Acme,2,P-200,1000\n",
    "sales-orders": "so,customer,line,part,qty,lot_control\nSO-1,Zeta,1,P-100,5,no\n",
}


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def load(sessions: Sessions, folder: Path, kind: str, text: str, encoding: str = "utf-8") -> int:
    path = write(folder, f"{kind}.csv", text, encoding)
    with unit_of_work(sessions) as session:
        return import_file(session, kind, path)


def seed(sessions: Sessions, folder: Path) -> None:
    with unit_of_work(sessions) as session:
        for kind, text in SEED.items():
            import_file(session, kind, write(folder, f"{kind}.csv", text))


def table(session: Session, model: type[Base], *columns: str) -> list[tuple[Any, ...]]:
    attributes = [getattr(model, name) for name in columns]
    return [tuple(row) for row in session.execute(select(*attributes).order_by(*attributes))]


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every reference table."""
    return {
        name: [tuple(row) for row in session.execute(table.select().order_by(*table.primary_key))]
        for name, table in Base.metadata.tables.items()
    }


@pytest.fixture
def seeded(sessions: Sessions, tmp_path: Path) -> Sessions:
    seed(sessions, tmp_path)
    return sessions


# ---- every kind imports, and a re-import updates --------------------------------------


def test_import_adds_every_kind_of_reference_data(seeded: Sessions) -> None:
    with seeded() as session:
        assert table(session, Part, "number", "tracking", "gtin", "backflush", "uom") == [
            ("P-100", "lot", "09501101530003", False, "kg"),
            ("P-200", "none", None, True, "ea"),
            ("P-300", "serial", None, False, "ea"),
        ]
        assert table(session, Part, "number", "shelf_life_days", "lot_pattern") == [
            ("P-100", 30, None),
            ("P-200", None, None),
            ("P-300", None, "{device}-{seq:05}"),
        ]
        assert table(session, Location, "code", "name", "kind") == [
            ("A1", "Aisle 1", "storage"),
            ("RECV", "Receiving dock", "dock"),
        ]
        assert table(session, Operator, "badge", "role") == [
            ("OP1", "supervisor"),
            ("OP2", "floor"),
        ]
        assert table(session, Job, "number", "part", "qty", "status") == [
            ("J-1", "P-100", Decimal(10), "open"),
            ("J-2", "P-300", Decimal(2), "open"),
        ]
        assert table(session, Lot, "part", "number", "assigned_job", "origin") == [
            ("P-100", "L-J1", "J-1", "assigned")
        ]
        assert table(session, JobComponent, "job", "part", "qty") == [("J-1", "P-200", 40)]
        assert table(session, PurchaseOrder, "number", "supplier") == [("PO-1", "Acme")]
        assert table(session, PurchaseOrderLine, "po", "line", "part", "qty") == [
            ("PO-1", 1, "P-100", 500),
            ("PO-1", 2, "P-200", 1000),
        ]
        assert table(session, SalesOrder, "number", "customer") == [("SO-1", "Zeta")]
        assert table(session, SalesOrderLine, "so", "line", "part", "lot_control") == [
            ("SO-1", 1, "P-100", False)
        ]


REIMPORTS = [
    (
        "parts",
        "part,description,tracking,gtin\nP-100,Epoxy resin,lot,\nP-400,Nut,none,96385074\n",
        Part,
        ("number", "description", "gtin", "uom"),
        [
            ("P-100", "Epoxy resin", None, "kg"),  # uom left out of the file: kept
            ("P-200", "Screw", None, "ea"),
            ("P-300", "Controller", None, "ea"),
            ("P-400", "Nut", "00000096385074", "ea"),
        ],
    ),
    (
        "locations",
        "name,code\nDock,RECV\nAisle 2,A2\n",
        Location,
        ("code", "name", "kind"),
        [("A1", "Aisle 1", "storage"), ("A2", "Aisle 2", "storage"), ("RECV", "Dock", "dock")],
    ),
    (
        "operators",
        "badge,name,role\nOP2,Ben,SUPERVISOR\n",
        Operator,
        ("badge", "name", "role"),
        [("OP1", "Ana", "supervisor"), ("OP2", "Ben", "supervisor")],
    ),
    (
        "jobs",
        "job,part,qty,output_lot\nJ-1,P-100,12,L-J1\nJ-3,P-100,1,L-J3\n",
        Job,
        ("number", "qty"),
        [("J-1", 12), ("J-2", 2), ("J-3", 1)],
    ),
    (
        "job-components",
        "job,part,qty\nJ-1,P-200,48\nJ-2,P-200,8.5\n",
        JobComponent,
        ("job", "part", "qty"),
        [("J-1", "P-200", 48), ("J-2", "P-200", Decimal("8.5"))],
    ),
    (
        "purchase-orders",
        "po,supplier,line,part,qty\nPO-1,Acme Ltd,2,P-200,900\nPO-1,Acme Ltd,3,P-300,4\n",
        PurchaseOrderLine,
        ("po", "line", "part", "qty"),
        [("PO-1", 1, "P-100", 500), ("PO-1", 2, "P-200", 900), ("PO-1", 3, "P-300", 4)],
    ),
    (
        "sales-orders",
        "so,customer,line,part,qty,lot_control\nSO-1,Zeta,1,P-100,7,Y\n",
        SalesOrderLine,
        ("so", "line", "qty", "lot_control"),
        [("SO-1", 1, 7, True)],
    ),
]


@pytest.mark.parametrize(
    ("kind", "text", "model", "columns", "expected"), REIMPORTS, ids=[r[0] for r in REIMPORTS]
)
def test_reimport_updates_existing_records_and_adds_new_ones(
    seeded: Sessions,
    tmp_path: Path,
    kind: str,
    text: str,
    model: type[Base],
    columns: tuple[str, ...],
    expected: list[tuple[Any, ...]],
) -> None:
    assert load(seeded, tmp_path, kind, text) == text.count("\n") - 1
    with seeded() as session:
        assert table(session, model, *columns) == expected


def test_reimport_keeps_a_pre_assigned_lot_and_adds_new_ones(
    seeded: Sessions, tmp_path: Path
) -> None:
    load(seeded, tmp_path, "jobs", REIMPORTS[3][1])
    with seeded() as session:
        assert table(session, Lot, "number", "assigned_job") == [("L-J1", "J-1"), ("L-J3", "J-3")]


def test_reimport_updates_the_order_header(seeded: Sessions, tmp_path: Path) -> None:
    load(seeded, tmp_path, "purchase-orders", REIMPORTS[5][1])
    with seeded() as session:
        assert table(session, PurchaseOrder, "number", "supplier") == [("PO-1", "Acme Ltd")]


def test_import_lets_two_parts_swap_their_gtins(seeded: Sessions, tmp_path: Path) -> None:
    load(seeded, tmp_path, "parts", "part,description,tracking,gtin\nP-200,S,none,96385074\n")
    swap = "part,description,tracking,gtin\nP-100,R,lot,96385074\nP-200,S,none,09501101530003\n"
    load(seeded, tmp_path, "parts", swap)
    with seeded() as session:
        assert table(session, Part, "number", "gtin")[:2] == [
            ("P-100", "00000096385074"),
            ("P-200", "09501101530003"),
        ]


def imported(sessions: Sessions, folder: Path, kind: str, text: str) -> Imported:
    with unit_of_work(sessions) as session:
        return import_reference(session, kind, write(folder, f"{kind}.csv", text), fixed_clock)


def test_a_file_that_closes_a_job_or_order_line_records_the_close_with_its_history(
    seeded: Sessions, tmp_path: Path
) -> None:
    jobs = imported(seeded, tmp_path, "jobs", "job,part,qty,status\nJ-1,P-100,10,closed\n")
    lines = imported(
        seeded,
        tmp_path,
        "purchase-orders",
        "po,supplier,line,part,qty,status\nPO-1,Acme,2,P-200,1000,closed\n",
    )
    assert (jobs.notes, lines.notes) == (
        ["job J-1 closed, as the file says"],
        ["line 2 of purchase order PO-1 closed, as the file says"],
    )
    with seeded() as session:
        job, line = session.get(Job, "J-1"), session.get(PurchaseOrderLine, ("PO-1", 2))
        assert job is not None and line is not None
        assert (job.status, line.status) == ("closed", "closed")
        for subject, made, name in ((job, jobs, "jobs"), (line, lines, "purchase-orders")):
            (decided,) = history(session, subject)
            assert decided.words() == (f"closed on 2026-11-02 08:30 (imported from {name}.csv)")
            assert [change.status for change in made.decisions] == ["closed"]
        # A status change waits for the next push, as one made on the floor does.
        assert session.scalar(select(func.count()).select_from(StatusChange)) == 2


def test_no_file_reopens_a_closed_job_or_order_line_and_the_import_says_so(
    seeded: Sessions, tmp_path: Path
) -> None:
    with unit_of_work(seeded) as session:
        close_job(session, "J-1", operator="OP1", reason="run done", clock=fixed_clock)
        close_order_lines(
            session, "SO-1", 1, sales=True, operator="OP1", reason="short", clock=fixed_clock
        )
    jobs = imported(
        seeded, tmp_path, "jobs", "job,part,qty,status\nJ-1,P-100,12,open\nJ-2,P-300,2,\n"
    )
    orders = imported(
        seeded,
        tmp_path,
        "sales-orders",
        "so,customer,line,part,qty,status\nSO-1,Zeta,1,P-100,5,open\n",
    )
    assert jobs.notes == [
        "job J-1 stays closed (closed by Ana on 2026-11-02 08:30 (run done)): an import does"
        " not reopen it; a supervisor does, with lotscan jobs reopen J-1 --by BADGE"
    ]
    assert orders.notes == [
        "line 1 of sales order SO-1 stays closed (closed by Ana on 2026-11-02 08:30 (short)):"
        " an import does not reopen it; a supervisor does, with lotscan orders reopen --so SO-1"
        " --line 1 --by BADGE"
    ]
    assert (jobs.decisions, orders.decisions) == ([], [])
    with seeded() as session:
        # The rest of the row is imported: the job's quantity changed, its status did not.
        assert table(session, Job, "number", "qty", "status") == [
            ("J-1", Decimal(12), "closed"),
            ("J-2", Decimal(2), "open"),
        ]
        assert table(session, SalesOrderLine, "so", "line", "status") == [("SO-1", 1, "closed")]


def test_the_command_says_what_stays_closed(db_url: str, tmp_path: Path) -> None:
    sessions = open_migrated(db_url)
    seed(sessions, tmp_path)
    with unit_of_work(sessions) as session:
        close_job(session, "J-1", operator=None, clock=fixed_clock)
    sessions.kw["bind"].dispose()
    path = write(
        tmp_path, "jobs.csv", "job,part,qty,status\nJ-1,P-100,10,open\nJ-2,P-300,2,closed\n"
    )
    result = run_lotscan("import", "jobs", str(path), "--db", db_url)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        f"Imported 2 jobs rows from {path}",
        "job J-1 stays closed (closed on 2026-11-02 08:30): an import does not reopen it; a"
        " supervisor does, with lotscan jobs reopen J-1 --by BADGE",
        "job J-2 closed, as the file says",
    ]


def test_import_refuses_to_change_the_supplier_of_an_order_goods_were_received_on(
    seeded: Sessions, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    with unit_of_work(seeded) as session:
        Ledger(session, clock).receive("P-200", 10, "RECV", po="PO-1", po_line=2)
    text = (
        "po,supplier,line,part,qty,supplier_phone\nPO-1,Someone Else,1,P-100,500,+44 1632 960000\n"
    )
    with pytest.raises(ImportRowError) as caught:
        load(seeded, tmp_path, "purchase-orders", text)
    assert str(caught.value) == (
        "purchase-orders.csv, row 2, column supplier: purchase order PO-1 has movements, so its"
        ' supplier cannot change from "Acme" to "Someone Else": what was received on it came'
        ' from "Acme"'
    )
    # Its phone may be corrected.
    load(seeded, tmp_path, "purchase-orders", text.replace("Someone Else", "Acme"))
    with seeded() as session:
        assert table(session, PurchaseOrder, "number", "supplier", "supplier_phone") == [
            ("PO-1", "Acme", "+44 1632 960000")
        ]


def test_a_known_location_kind_is_read_in_any_case_and_an_unknown_one_is_noted(
    sessions: Sessions, tmp_path: Path
) -> None:
    done = imported(
        sessions,
        tmp_path,
        "locations",
        "code,name,kind\nQ1,Cage,Quarantine\nQ2,Cage two,quarantne\n",
    )
    assert done.notes == [
        'Row 3: location Q2 has kind "quarantne", which lotscan gives no meaning (it knows'
        " storage, receiving, production, shipping, quarantine): held stock, for one, moves"
        " only into a location of kind quarantine"
    ]
    with sessions() as session:
        assert table(session, Location, "code", "kind") == [
            ("Q1", "quarantine"),
            ("Q2", "quarantne"),
        ]


def test_a_part_scanned_by_its_gtin_may_have_any_number_but_keeps_its_gtin(
    sessions: Sessions, tmp_path: Path
) -> None:
    load(
        sessions, tmp_path, "parts", "part,description,tracking,gtin\nNEW 1,Washer,none,96385074\n"
    )
    error = refusal(
        sessions,
        "parts",
        write(tmp_path, "parts.csv", "part,description,tracking,gtin\nNEW 1,Washer,none,\n"),
    )
    assert (error.row, error.column) == (2, "part")
    assert "the part has no GTIN to be scanned by" in str(error)
    # A file without the gtin column keeps the stored one.
    load(sessions, tmp_path, "parts", "part,description,tracking\nNEW 1,Flat washer,none\n")


# ---- bad rows name file, row and column, and write nothing ----------------------------

PARTS_HEADER = "part,description,tracking,gtin,backflush,shelf_life_days,uom,lot_pattern\n"
NEW_PART = "P-900,Washer,none,,,,,\n"

BAD_FILES = [
    # (kind, file content, row, column, message)
    (
        "parts",
        "part,description,tracking\nNEW 1,Washer,none\n",
        2,
        "part",
        '"NEW 1" cannot go in a GS1 barcode (it holds a space), and the part has no GTIN to be'
        " scanned by: give it a GTIN, or a part number of at most 30 letters, digits and"
        " - . / _ and the like",
    ),
    (
        "parts",
        "part,description,tracking\n" + "P" * 31 + ",Washer,none\n",
        2,
        "part",
        f'"{"P" * 31}" cannot go in a GS1 barcode (it is 31 characters; at most 30 fit), and'
        " the part has no GTIN to be scanned by: give it a GTIN, or a part number of at most"
        " 30 letters, digits and - . / _ and the like",
    ),
    (
        "parts",
        "part,description,tracking,uom\nP-900,Washer,none,parsecs\n",
        2,
        "uom",
        'the unit of measure "parsecs" has no UN/ECE code lotscan knows: give a code such as'
        " KGM, LTR, MTR or H87, or a unit such as ea, kg, g, l, ml, m, mm, h",
    ),
    (
        "locations",
        "code,name\nQUA\u00c9,Quarantine\n",
        2,
        "code",
        '"QUA\u00c9" cannot be printed as a barcode on its label (it holds "\u00c9"): use'
        " letters, digits and ASCII punctuation",
    ),
    (
        "parts",
        "part,description,tracking,colour\nP-900,Washer,none,red\n",
        1,
        "colour",
        "not a column of a parts file (columns: part, description, tracking, [gtin],"
        " [backflush], [shelf_life_days], [uom], [lot_pattern])",
    ),
    (
        "parts",
        "part,description\nP-900,Washer\n",
        1,
        "tracking",
        "the header has no tracking column; a parts file needs it",
    ),
    (
        "parts",
        "part,description,tracking,Part\nP-900,Washer,none,P-900\n",
        1,
        "part",
        "this column appears twice in the header",
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,Bolt,lots,,,,,\n",
        3,
        "tracking",
        '"lots" is not one of none, lot, serial',
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,,none,,,,,\n",
        3,
        "description",
        "the description is empty; every row needs one",
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-900,Washer again,none,,,,,\n",
        3,
        "part",
        "P-900 is already on row 2",
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,Bolt,none,09501101530004,,,,\n",
        3,
        "gtin",
        "GTIN 09501101530004 has a wrong check digit: it should end in 3",
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,Bolt,none,9501101530003,,,,\n",
        3,
        "gtin",
        "GTIN 09501101530003 already belongs to part P-100",
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,Bolt,none,12345,,,,\n",
        3,
        "gtin",
        '"12345" is not a GTIN: it must be 8, 12, 13 or 14 digits',
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,Bolt,none,,perhaps,,,\n",
        3,
        "backflush",
        '"perhaps" is not yes or no',
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,Bolt,lot,,,0,,\n",
        3,
        "shelf_life_days",
        '"0" is not a whole number from 1 to 36500',
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,Bolt,lot,,,,,LOT-{seq}\n",
        3,
        "lot_pattern",
        "Numbering pattern 'LOT-{seq}' needs {device} and {seq} so that two handhelds never"
        " mint the same number",
    ),
    (
        "parts",
        PARTS_HEADER + NEW_PART + "P-901,Bolt,lot,,,,,{part}-{device}-{yyyy}{mm}{dd}-{seq}\n",
        3,
        "lot_pattern",
        'pattern "{part}-{device}-{yyyy}{mm}{dd}-{seq}" makes numbers like'
        ' "P-901-XXXX-20261231-1": Lot number P-901-XXXX-20261231-1 is 21 characters;'
        " GS1 labels allow 20",
    ),
    (
        "locations",
        "code,name\nB1,Bay 1\nB1,Bay one\n",
        3,
        "code",
        "B1 is already on row 2",
    ),
    (
        "operators",
        "badge,name,role\nOP9,Cy,floor\nOP8,Di,boss\n",
        3,
        "role",
        '"boss" is not one of floor, supervisor, quality',
    ),
    (
        "jobs",
        "job,part,qty\nJ-9,P-100,1\nJ-8,P-999,1\n",
        3,
        "part",
        "there is no part P-999: import it in a parts file first",
    ),
    (
        "jobs",
        "job,part,qty\nJ-9,P-100,1\nJ-8,P-100,0\n",
        3,
        "qty",
        "the quantity must be more than zero, not 0",
    ),
    (
        "jobs",
        "job,part,qty\nJ-9,P-100,1\nJ-8,P-100,1.2345\n",
        3,
        "qty",
        "Quantity 1.2345 has more than three decimal places",
    ),
    (
        "jobs",
        "job,part,qty\nJ-9,P-100,1\nJ-8,P-100,1000000000000000000000000000000\n",
        3,
        "qty",
        '"1000000000000000000000000000000" is too large for a quantity',
    ),
    (
        "jobs",
        "job,part,qty,output_lot\nJ-9,P-100,1,L-J9\nJ-8,P-200,5,L-J8\n",
        3,
        "output_lot",
        "P-200 is not lot-tracked (tracking is none), so job J-8 makes no lot to pre-assign",
    ),
    (
        "jobs",
        "job,part,qty,output_lot\nJ-9,P-100,1,L-J9\nJ-8,P-100,5,L-J1\n",
        3,
        "output_lot",
        "Lot L-J1 of P-100 already belongs to job J-1",
    ),
    (
        "jobs",
        "job,part,qty\nJ-9,P-100,1\nJ-1,P-300,10\n",
        3,
        "part",
        "job J-1 has already started (it has lots or movements), so its part cannot change"
        " from P-100 to P-300",
    ),
    (
        "job-components",
        "job,part,qty\nJ-1,P-300,1\nJ-7,P-200,2\n",
        3,
        "job",
        "there is no job J-7: import it in a jobs file first",
    ),
    (
        "job-components",
        "job,part,qty\nJ-1,P-300,1\nJ-1,P-999,2\n",
        3,
        "part",
        "there is no part P-999: import it in a parts file first",
    ),
    (
        "job-components",
        "job,part,qty\nJ-2,P-200,1\nJ-2,P-200,2\n",
        3,
        "part",
        "P-200 for job J-2 is already on row 2",
    ),
    (
        "purchase-orders",
        "po,supplier,line,part,qty\nPO-2,Acme,1,P-100,5\nPO-2,Bolt Co,2,P-200,5\n",
        3,
        "supplier",
        "purchase order PO-2 is for supplier Acme on row 2, so it cannot be for Bolt Co here",
    ),
    (
        "purchase-orders",
        "po,supplier,line,part,qty\nPO-2,Acme,1,P-100,5\nPO-2,Acme,1,P-200,5\n",
        3,
        "line",
        "line 1 of purchase order PO-2 is already on row 2",
    ),
    (
        "purchase-orders",
        "po,supplier,line,part,qty\nPO-2,Acme,1,P-100,5\nPO-2,Acme,two,P-200,5\n",
        3,
        "line",
        '"two" is not a whole number from 1 to 999999',
    ),
    (
        "sales-orders",
        "so,customer,line,part,qty,lot_control\nSO-2,Zeta,1,P-100,1,\nSO-2,Zeta,2,P-200,1,maybe\n",
        3,
        "lot_control",
        '"maybe" is not yes or no',
    ),
    (
        "sales-orders",
        "so,customer,line,part,qty\nSO-2,Zeta,1,P-100,1\nSO-2,Zeta,2,P-999,1\n",
        3,
        "part",
        "there is no part P-999: import it in a parts file first",
    ),
    (
        "parts",
        "part,description,tracking\nP-9,Plain,none\nP-10,\x1b]0;owned\x07X,none\n",
        3,
        "description",
        '"\\u001b]0;owned\\u0007X" has a line break or a control character (U+001B (ESC))',
    ),
    (
        "operators",
        "badge,name\nB7,Ana \u202eziuR\n",
        2,
        "name",
        '"Ana \\u202eziuR" has a line break or a control character'
        " (U+202E (RIGHT-TO-LEFT OVERRIDE))",
    ),
    (  # `lotscan operators password -x1` could not name it (probe)
        "operators",
        "badge,name\n-x1,Dash\n",
        2,
        "badge",
        'The badge "-x1" starts with -, which a command reads as an option: start it with a'
        " letter or digit",
    ),
    (  # as `operators add` refuses it; it was imported beside B1001 (probe)
        "operators",
        "badge,name\nB1001,Ana\n\uff221001,Fullwidth Ana\n",
        3,
        "badge",
        'The badge "\uff221001" holds the character \uff22: a badge is scanned as OP:<badge>,'
        " so it holds letters, digits and signs such as - or /, and no spaces",
    ),
]


def refusal(sessions: Sessions, kind: str, path: Path) -> ImportRowError:
    """The error importing `path` raises; checks that the session is left as it was."""
    with unit_of_work(sessions) as session:
        before = snapshot(session)
        try:
            import_file(session, kind, path)
        except ImportRowError as error:
            # The savepoint is gone: the caller can go on with the same session.
            assert snapshot(session) == before
            return error
    pytest.fail(f"{path.name} was imported:\n{path.read_text()}")


@pytest.mark.parametrize("kind", KINDS)
def test_bad_rows_are_reported_by_file_row_and_column_and_nothing_is_written(
    seeded: Sessions, tmp_path: Path, kind: str
) -> None:
    with seeded() as session:
        before = snapshot(session)
    for text, row, column, message in [case[1:] for case in BAD_FILES if case[0] == kind]:
        error = refusal(seeded, kind, write(tmp_path, f"{kind}.csv", text))
        assert str(error) == f"{kind}.csv, row {row}, column {column}: {message}"
        assert (error.row, error.column) == (row, column)
    with seeded() as session:
        assert snapshot(session) == before


def test_a_caller_that_catches_a_bad_file_keeps_what_it_imported_before(
    sessions: Sessions, tmp_path: Path
) -> None:
    good = write(tmp_path, "good.csv", "code,name\nA1,Aisle 1\n")
    bad = write(tmp_path, "bad.csv", "code,name\nA2,Aisle 2\nA3,\n")
    with unit_of_work(sessions) as session:
        import_file(session, "locations", good)
        with pytest.raises(ImportRowError, match=r"bad\.csv, row 3, column name"):
            import_file(session, "locations", bad)
    with sessions() as session:
        assert table(session, Location, "code") == [("A1",)]


def test_import_refuses_a_backflush_part_that_is_lot_tracked(
    sessions: Sessions, tmp_path: Path
) -> None:
    text = "part,description,tracking,backflush\nP-1,Glue,none,yes\nP-100,Rivet,lot,yes\n"
    with pytest.raises(ImportRowError) as caught:
        load(sessions, tmp_path, "parts", text)
    assert str(caught.value) == (
        "parts.csv, row 3, column backflush: P-100 is a backflush part, and a backflush part"
        " cannot be lot-controlled (tracking is lot)"
    )
    with sessions() as session:
        assert table(session, Part, "number") == []


def test_import_refuses_tracking_a_stored_backflush_part_by_serial(
    seeded: Sessions, tmp_path: Path
) -> None:
    # P-200 is a backflush part; the file leaves the backflush column out.
    with pytest.raises(ImportRowError) as caught:
        load(seeded, tmp_path, "parts", "part,description,tracking\nP-200,Screw,serial\n")
    assert str(caught.value) == (
        "parts.csv, row 2, column tracking: P-200 is a backflush part, and a backflush part"
        " cannot be serial-controlled (tracking is serial)"
    )


def test_import_refuses_to_change_the_tracking_of_a_part_that_has_moved(
    seeded: Sessions, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    with unit_of_work(seeded) as session:
        Ledger(session, clock).receive("P-100", 5, "RECV", lot="L-7")
    text = "part,description,tracking\nP-300,Controller,none\nP-100,Resin,none\n"
    with pytest.raises(ImportRowError) as caught:
        load(seeded, tmp_path, "parts", text)
    assert str(caught.value) == (
        "parts.csv, row 3, column tracking: P-100 has movements, so its tracking cannot change"
        " from lot to none: its stock and history would no longer make sense"
    )
    with seeded() as session:
        assert table(session, Part, "number", "tracking") == [
            ("P-100", "lot"),
            ("P-200", "none"),
            ("P-300", "serial"),
        ]


@pytest.mark.parametrize(
    ("row", "column", "why"),
    [
        pytest.param(
            "P-100,Resin,lot,ea,09501101530003",
            "uom",
            "its unit cannot change from kg to ea: every quantity recorded in kg would read as ea",
            id="unit",
        ),
        pytest.param(
            "P-100,Resin,lot,kg,",
            "gtin",
            "its GTIN 09501101530003 stays (the file leaves it empty): its labels on the floor"
            " carry it, and its events are exported under it",
            id="gtin-emptied",
        ),
        pytest.param(
            "P-100,Resin,lot,kg,09506000134352",
            "gtin",
            "its GTIN 09501101530003 stays: its labels on the floor carry it, and its events"
            " are exported under it",
            id="gtin-changed",
        ),
    ],
)
def test_import_refuses_to_change_the_unit_or_the_gtin_of_a_part_that_has_moved(
    seeded: Sessions, tmp_path: Path, clock: Callable[[], datetime], row: str, column: str, why: str
) -> None:
    """Re-imported with another unit, a part's 8 ea shipped read as 8 kg, on every order
    and in every export; emptied of its GTIN, none of its labels on the floor scanned."""
    with unit_of_work(seeded) as session:
        Ledger(session, clock).receive("P-100", 5, "RECV", lot="L-7")
    text = f"part,description,tracking,uom,gtin\nP-300,Controller,serial,ea,\n{row}\n"
    with pytest.raises(ImportRowError) as caught:
        load(seeded, tmp_path, "parts", text)
    assert str(caught.value) == f"parts.csv, row 3, column {column}: P-100 has movements, so {why}"
    with seeded() as session:
        assert table(session, Part, "number", "uom", "gtin")[0] == ("P-100", "kg", "09501101530003")
    # A part that has not moved takes a new unit and GTIN; a moved one without a GTIN is
    # given its first.
    load(
        seeded,
        tmp_path,
        "parts",
        "part,description,tracking,uom,gtin\nP-200,Screw,none,kg,09506000134352\n",
    )
    with seeded() as session:
        assert table(session, Part, "number", "uom", "gtin")[1] == ("P-200", "kg", "09506000134352")


def test_import_refuses_to_change_the_part_of_an_order_line_goods_were_received_on(
    seeded: Sessions, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    with unit_of_work(seeded) as session:
        Ledger(session, clock).receive("P-200", 10, "RECV", po="PO-1", po_line=2)
    text = "po,supplier,line,part,qty\nPO-1,Acme,1,P-300,5\nPO-1,Acme,2,P-300,5\n"
    with pytest.raises(ImportRowError) as caught:
        load(seeded, tmp_path, "purchase-orders", text)
    assert str(caught.value) == (
        "purchase-orders.csv, row 3, column part: line 2 of purchase order PO-1 has movements,"
        " so its part cannot change from P-200 to P-300"
    )


def test_import_changes_the_tracking_of_a_part_that_has_not_moved(
    seeded: Sessions, tmp_path: Path
) -> None:
    load(seeded, tmp_path, "parts", "part,description,tracking\nP-300,Controller,lot\n")
    with seeded() as session:
        part = session.get(Part, "P-300")
        assert part is not None and part.tracking == "lot"


def test_a_sales_line_may_ask_for_lot_control_of_a_part_not_tracked_by_lot(
    seeded: Sessions, tmp_path: Path
) -> None:
    text = (
        "so,customer,line,part,qty,lot_control\nSO-3,Zeta,1,P-200,50,yes\nSO-3,Zeta,2,P-300,1,yes\n"
    )
    assert load(seeded, tmp_path, "sales-orders", text) == 2
    with seeded() as session:
        assert table(session, SalesOrderLine, "so", "line", "part", "lot_control")[1:] == [
            ("SO-3", 1, "P-200", True),
            ("SO-3", 2, "P-300", True),
        ]


# ---- what the file may look like ------------------------------------------------------


def test_import_reads_an_excel_file_with_a_bom_spaces_blank_lines_and_any_column_order(
    sessions: Sessions, tmp_path: Path
) -> None:
    text = (
        " Tracking , PART ,description,backflush\r\n"
        "\r\n"
        " lot , P-1 ,  Epoxy, no\r\n"
        ",,,\r\n"
        "NONE,P-2,Clip,Y\r\n"
    )
    assert load(sessions, tmp_path, "parts", text, encoding="utf-8-sig") == 2
    with sessions() as session:
        assert table(session, Part, "number", "description", "tracking", "backflush") == [
            ("P-1", "Epoxy", "lot", False),
            ("P-2", "Clip", "none", True),
        ]


def test_import_reads_a_file_separated_by_semicolons(sessions: Sessions, tmp_path: Path) -> None:
    assert load(sessions, tmp_path, "locations", 'code;name\nA1;"Aisle 1; left"\nA2;Aisle 2\n') == 2
    with sessions() as session:
        assert table(session, Location, "code", "name") == [
            ("A1", "Aisle 1; left"),
            ("A2", "Aisle 2"),
        ]


def test_row_numbers_count_blank_lines_and_cells_spanning_lines_as_a_spreadsheet_does(
    sessions: Sessions, tmp_path: Path
) -> None:
    text = 'code,name\n\nA1,"Aisle\none"\nA2,Aisle 2\n'
    with pytest.raises(ImportRowError) as caught:
        load(sessions, tmp_path, "locations", text)
    assert (caught.value.row, caught.value.column) == (3, "name")
    assert "line break" in str(caught.value)


def test_a_file_that_is_not_utf8_is_refused_naming_the_row(
    sessions: Sessions, tmp_path: Path
) -> None:
    with pytest.raises(ImportRowError) as caught:
        load(sessions, tmp_path, "locations", "code,name\nA1,Gänge\n", encoding="latin-1")
    assert str(caught.value) == (
        "locations.csv, row 2: this is not UTF-8 text: save the file as CSV UTF-8"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            'code,name\nA1,Aisle 1\nA2,"Aisle 2\nA3,Aisle 3\n',
            'a cell opened with " is never closed: close it with "',
        ),
        (
            'code,name\nA1,"Aisle" 1\n',
            'a quoted cell goes on after its closing ": write "" for a " inside a quoted cell',
        ),
    ],
)
def test_a_quote_out_of_place_is_refused_naming_the_row(
    sessions: Sessions, tmp_path: Path, text: str, why: str
) -> None:
    """A quote never closed took the rest of the file into one cell, which was refused for
    the column it left empty ("the tracking is empty"), or imported (probe)."""
    with pytest.raises(ImportRowError) as caught:
        load(sessions, tmp_path, "locations", text)
    row = 3 if "never closed" in why else 2
    assert str(caught.value) == f"locations.csv, row {row}: the CSV is malformed: {why}"
    with sessions() as session:
        assert table(session, Location, "code") == []


def test_an_empty_file_asks_for_a_header(sessions: Sessions, tmp_path: Path) -> None:
    with pytest.raises(ImportRowError) as caught:
        load(sessions, tmp_path, "operators", "")
    assert str(caught.value) == (
        "operators.csv, row 1: the first row must name the columns: badge, name, [role]"
    )


def test_the_kinds_are_the_ones_the_command_line_promises() -> None:
    assert KINDS == (
        "parts",
        "locations",
        "operators",
        "jobs",
        "job-components",
        "purchase-orders",
        "sales-orders",
        "site",
    )


# ---- the command line -----------------------------------------------------------------


def run_lotscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args], capture_output=True, text=True, check=False
    )


def test_the_command_imports_a_file_and_says_how_many_rows(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "parts.csv", SEED["parts"])
    result = run_lotscan("import", "parts", str(path), "--db", db_url)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"Imported 3 parts rows from {path}\n"
    bad = write(tmp_path, "more.csv", "part,description,tracking\nP-5,Five,none\nP-6,Six,lots\n")
    result = run_lotscan("import", "parts", str(bad), "--db", db_url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        'lotscan: more.csv, row 3, column tracking: "lots" is not one of none, lot, serial'
    ]
    sessions = open_database(db_url)
    with sessions() as session:
        assert table(session, Part, "number") == [("P-100",), ("P-200",), ("P-300",)]
    sessions.kw["bind"].dispose()


# ---- any one bad cell: a clear error on that row and column, or a clean import ---------

COLUMNS = PARTS_HEADER.strip().split(",")
# Valid GTINs no corrupted cell is likely to repeat.
GTINS = ["09501101530003", "4006381333931", "96385074", "036000291452"]


@pytest.fixture(scope="module")
def hypothesis_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sessions, Path]]:
    folder = tmp_path_factory.mktemp("hypothesis")
    sessions = open_database(sqlite_url(folder / "lotscan.db"))
    yield sessions, folder
    sessions.kw["bind"].dispose()


valid_rows = st.lists(
    st.tuples(
        st.sampled_from(["none", "lot", "serial"]),
        st.sampled_from(["", "no", "NO", "n", "false", "0"]),
        st.one_of(st.just(""), st.integers(1, 36500).map(str)),
        st.sampled_from(["", "ea", "kg", "m"]),
        st.sampled_from(["", "{device}{yy}{mm}{dd}-{seq:03}", "L{device}{seq:06}"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=4,
)
bad_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789 .-", max_size=16),
    st.text(alphabet="0123456789.", min_size=12, max_size=5000),
    st.text(min_size=10, max_size=300),
    st.sampled_from(["yes", "Serial", "{device}{seq}", "{part}{device}{seq}", "{seq:999}", "1e3"]),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=valid_rows, target=st.data(), value=bad_text)
def test_one_bad_cell_is_reported_on_its_row_and_column_or_imports_cleanly(
    hypothesis_db: tuple[Sessions, Path], rows: list[tuple[Any, ...]], target: Any, value: str
) -> None:
    sessions, folder = hypothesis_db
    cells = [
        [f"P-{n:04}", f"Part {n}", tracking, GTINS[n] if with_gtin else "", *rest]
        for n, (tracking, *rest, with_gtin) in enumerate(rows)
    ]
    row = target.draw(st.integers(0, len(cells) - 1), label="row")
    column = target.draw(st.integers(0, len(COLUMNS) - 1), label="column")
    cells[row][column] = value
    path = folder / "parts.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows(cells)
    with sessions() as session:
        try:
            imported = import_file(session, "parts", path)
        except ImportRowError as error:
            assert (error.row, error.column) == (row + 2, COLUMNS[column]), str(error)
            assert len(str(error).splitlines()) == 1
            assert session.scalar(select(func.count()).select_from(Part)) == 0
        else:
            assert imported == len(cells)
            assert session.scalar(select(func.count()).select_from(Part)) == len(cells)
        finally:
            session.rollback()
