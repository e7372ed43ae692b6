"""The recall answer (docs/architecture.md, "The recall answer"): `lotscan recall` on the demo,
on SQLite and PostgreSQL, in the test's process (tests/support/cli_in_process.py) but for a
refusal, whose exit status and message a subprocess gives; and, over random genealogies,
that the family and its stock are what a naive walk of the genealogy finds."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from scanner.db import open_database, reading, unit_of_work
from scanner.ledger import Ledger
from scanner.models import NO_LOT, Balance, Job, JobLot
from scanner.recall import recall
from scanner.recall_output import CSV_COLUMNS, write_recall_csv
from scanner.spreadsheet import csv_cell
from scanner.workspace import sqlite_url
from sync.central.changes import ensure_central
from sync.central.models import Device
from tests.conftest import fixed_clock
from tests.support import demo_workspace
from tests.support.builders import add_job, add_location, add_operator, add_part, add_so
from tests.support.cli_in_process import lotscan

RAW = ("--part", "GEAR-GP10", "--lot", "GS-0201")
"""A raw-material lot of the demo: 20 gear sets went into the pumps of GP10-0415 (some
shipped, some on a rack, six in power units), 20 into the open job J-1003, 10 on a rack."""
FINISHED = ("--part", "GP-10", "--lot", "GP10-0415")
CUSTOMERS = {"Marlow Marine Services", "Brandt Agricultural Machines", "Riverside Waterworks"}
IN_THE_PLANT = {
    ("GEAR-GP10", "GS-0201", None),
    ("GP-10", "GP10-0415", None),
    ("HPU-5", None, "HPU5-0005"),  # sent back by Riverside, in quarantine
    ("HPU-5", None, "HPU5-0006"),
}
ASSIGNED = ("GP-10", "GP10-0416", None)
"""The lot pre-assigned to the open job J-1003, which consumed 20 of GS-0201."""
SUPERVISOR = "B1010"


@pytest.fixture
def demo(db_url: str, tmp_path: Path) -> str:
    """The demo built on the test's database (SQLite or PostgreSQL)."""
    built = lotscan("demo", "--no-tui", "--db", db_url, home=tmp_path)
    assert built.returncode == 0, built.stderr
    return db_url


def run(db: str, home: Path, *args: str) -> Any:
    result = lotscan("recall", *args, "--db", db, home=home)
    assert result.returncode == 0, result.stderr
    return result


def recall_json(db: str, home: Path, *args: str) -> dict[str, Any]:
    return json.loads(run(db, home, *args, "--json").stdout)  # type: ignore[no-any-return]


def node(row: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return (row["part"], row["lot"], row["serial"])


# ---- the demo, on the command line ----------------------------------------------------------


def test_a_raw_material_lot_lists_stock_on_racks_the_open_job_and_three_customers(
    demo: str, tmp_path: Path
) -> None:
    answer = recall_json(demo, tmp_path, *RAW)

    stock = {(*node(row), row["location"]): row["qty"] for row in answer["descendants_on_hand"]}
    assert stock[("GP-10", "GP10-0415", None, "RACK-B1")] == 4
    assert stock[("HPU-5", None, "HPU5-0006", "RACK-B1")] == 1
    assert answer["on_hand"] == [
        {"part": "GEAR-GP10", "lot": "GS-0201", "serial": None, "location": "RACK-A1", "qty": 10}
    ]
    assert answer["wip"] == [
        {"job": "J-1003", "job_part": "GP-10", "job_location": "LINE-1", "part": "GEAR-GP10",
         "lot": "GS-0201", "serial": None, "qty": 20}
    ]  # fmt: skip
    assert {each["customer"] for each in answer["customers"]} == CUSTOMERS
    assert {node(each) for each in answer["statuses"] if each["in_plant"]} == IN_THE_PLANT
    shipped = answer["deliveries"][0]
    assert (shipped["so"], shipped["so_line"], shipped["qty"]) == ("SO-5002", 1, 8)
    assert datetime.fromisoformat(shipped["shipped_at"]).tzinfo is not None

    words = run(demo, tmp_path, *RAW).stdout
    assert words.startswith("Recall of lot GS-0201 of GEAR-GP10: released\n")
    assert "  4 of lot GP10-0415 of GP-10 at RACK-B1 (released)" in words
    assert "  job J-1003 (makes GP-10 at LINE-1) consumed 20 of lot GS-0201 of GEAR-GP10" in words
    for customer in CUSTOMERS:
        assert f"\n  {customer}: SO-50" in words


def test_hold_recalls_exactly_what_is_still_in_the_plant(demo: str, tmp_path: Path) -> None:
    held = recall_json(
        demo, tmp_path, *RAW, "--hold", "--reason", "Supplier recall MW-88412", "--by", SUPERVISOR
    )

    assert {node(each) for each in held["held"]} == IN_THE_PLANT | {ASSIGNED}
    assert held["already_recalled"] == []
    assert {each["status"] for each in held["statuses"]} == {"recalled"}
    shipped_only = recall_json(demo, tmp_path, "--part", "HPU-5", "--serial", "HPU5-0001")
    assert shipped_only["status"] == "released"

    again = recall_json(demo, tmp_path, *RAW, "--hold", "--reason", "again", "--by", SUPERVISOR)
    assert again["held"] == []
    assert {node(each) for each in again["already_recalled"]} == IN_THE_PLANT | {ASSIGNED}


def test_hold_recalls_the_lot_an_open_job_that_used_it_completes_into(
    demo: str, tmp_path: Path
) -> None:
    """J-1003 consumed 20 of GS-0201 and completes into its pre-assigned lot GP10-0416: the
    hold left that lot released, so pumps completed after the recall were released goods
    made of recalled gear sets (probe). The lot is recalled with the rest, and the job
    completes nothing more, into that lot or a new one, naming the recall."""
    held = recall_json(demo, tmp_path, *RAW, "--hold", "--reason", "MW-88412", "--by", SUPERVISOR)
    assert ASSIGNED in {node(each) for each in held["held"]}
    refusal = (
        "Job J-1003 used lot GS-0201 of GEAR-GP10, which is recalled: what it makes now would"
        " be made of recalled stock, so nothing more is completed from it; quality staff decide"
    )
    transcript = tmp_path / "complete.txt"
    for label in ("(240)GP-10(30)2", "(240)GP-10(10)GP10-0500(30)1"):
        transcript.write_text(f"OP:B1001\nCMD:COMPLETE\nJOB:J-1003\n{label}\n")
        replayed = lotscan("replay", str(transcript), "--restart", "--db", demo, home=tmp_path)
        assert replayed.returncode == 1
        assert f"ERR  '{label}': {refusal}" in replayed.stdout
    stock = json.loads(
        lotscan("stock", "--part", "GP-10", "--json", "--db", demo, home=tmp_path).stdout
    )
    assert [row for row in stock if row["lot"] in ("GP10-0416", "GP10-0500")] == []


def test_hold_leaves_the_lots_it_was_made_from_alone(demo: str, tmp_path: Path) -> None:
    held = recall_json(demo, tmp_path, *FINISHED, "--hold", "--reason", "leak", "--by", SUPERVISOR)

    assert {node(each) for each in held["held"]} == IN_THE_PLANT - {("GEAR-GP10", "GS-0201", None)}
    assert ("GEAR-GP10", "GS-0201", None) in {node(each) for each in held["backward"]}
    assert recall_json(demo, tmp_path, *RAW)["status"] == "released"


def test_hold_by_a_floor_operator_is_refused_and_holds_nothing(demo: str, tmp_path: Path) -> None:
    refused = demo_workspace.lotscan(
        "recall", *RAW, "--hold", "--reason", "leak", "--by", "B1001", "--db", demo, home=tmp_path
    )

    assert refused.returncode == 1
    assert refused.stderr.startswith("lotscan: Only a supervisor or quality staff can recall")
    assert {each["status"] for each in recall_json(demo, tmp_path, *RAW)["statuses"]} == {
        "released"
    }


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--reason", "leak"), "--reason and --by go with --hold"),
        (("--hold", "--by", SUPERVISOR), "--hold needs --reason TEXT and --by BADGE"),
    ],
)
def test_hold_flags_go_together(
    demo: str, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    result = lotscan("recall", *RAW, *args, "--db", demo, home=tmp_path)

    assert result.returncode == 1
    assert says in result.stderr


def test_recall_json_is_the_trace_json_with_fields_added(demo: str, tmp_path: Path) -> None:
    traced = lotscan("trace", *RAW, "--json", "--db", demo, home=tmp_path)
    assert traced.returncode == 0, traced.stderr
    trace_document = json.loads(traced.stdout)

    answer = recall_json(demo, tmp_path, *RAW)

    assert list(answer)[: len(trace_document)] == list(trace_document)
    assert {key: answer[key] for key in trace_document} == trace_document
    assert {"status", "statuses", "descendants_on_hand", "wip", "deliveries", "customers",
            "pending", "waiting_devices"} <= set(answer)  # fmt: skip
    assert "held" not in answer


def test_recall_csv_reads_back_as_one_table(demo: str, tmp_path: Path) -> None:
    written = run(demo, tmp_path, *RAW, "--csv").stdout

    rows = list(csv.DictReader(io.StringIO(written)))
    assert written.splitlines()[0] == ",".join(CSV_COLUMNS)
    sections = {row["section"] for row in rows}
    assert {"traced", "received", "made_into", "on_hand", "wip", "shipped"} <= sections
    assert {row["party"] for row in rows if row["section"] == "shipped"} == CUSTOMERS
    assert {"section": "on_hand", "part": "GP-10", "lot": "GP10-0415", "location": "RACK-B1",
            "qty": "4", "status": "released"}.items() <= next(
        row for row in rows if row["section"] == "on_hand" and row["part"] == "GP-10"
    ).items()  # fmt: skip


def test_on_the_central_store_handhelds_with_queued_movements_are_named(
    demo: str, tmp_path: Path
) -> None:
    sessions = open_database(demo)
    with unit_of_work(sessions) as session:
        ensure_central(session)
        session.add(
            Device(id="H007", name="Dock handheld", status="active", created_at=fixed_clock(),
                   last_seen_at=fixed_clock(), queue_depth=12, oldest_pending_at=fixed_clock())
        )  # fmt: skip
    sessions.kw["bind"].dispose()

    answer = recall_json(demo, tmp_path, *RAW)
    held = recall_json(demo, tmp_path, *RAW, "--hold", "--reason", "leak", "--by", SUPERVISOR)

    assert [(each["device"], each["queue_depth"]) for each in answer["waiting_devices"]] == [
        ("H007", 12)
    ]
    assert answer["pending"] == []
    assert len(held["held"]) == len(IN_THE_PLANT | {ASSIGNED})
    sessions = open_database(demo)
    with reading(sessions) as session:
        states = list(
            session.execute(
                text("SELECT DISTINCT sync_state FROM status_changes WHERE reason = 'leak'")
            ).tuples()
        )
    sessions.kw["bind"].dispose()
    assert states == [("applied",)]  # published to the handhelds, not waiting for a push


def test_on_a_handheld_its_own_movements_not_synced_are_listed(demo: str, tmp_path: Path) -> None:
    answer = recall_json(demo, tmp_path, *FINISHED)

    kinds = {(each["part"], each["kind"]) for each in answer["pending"]}
    assert ("GP-10", "produce") in kinds and ("HPU-5", "ship") in kinds
    assert ("GEAR-GP10", "receive") not in kinds  # an ancestor's movement is not the family's
    assert answer["waiting_devices"] == []


def test_a_cell_that_a_spreadsheet_would_run_is_written_as_text() -> None:
    assert csv_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert [csv_cell(v) for v in ("+1", "-1", "@A1", "Acme", None)] == [
        "'+1", "'-1", "'@A1", "Acme", ""
    ]  # fmt: skip
    assert csv_cell("A\x1b[2J") == "A\\u001b[2J"


# ---- random genealogies ---------------------------------------------------------------------

LOT_PARTS = ("RAW", "MID", "TOP")


@pytest.fixture(scope="module")
def empty_plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the parts, places and people the histories use."""
    path = tmp_path_factory.mktemp("genealogy") / "lotscan.db"
    sessions = open_database(sqlite_url(path))
    with unit_of_work(sessions) as session:
        for number in LOT_PARTS:
            add_part(session, number, "lot")
        add_part(session, "UNIT", "serial")
        add_location(session, "STORE")
        add_location(session, "FG")
        add_operator(session, "B1", "supervisor")
        add_so(session, "SO-1", "=Evil Customer", *((p, 1000) for p in (*LOT_PARTS, "UNIT")))
    sessions.kw["bind"].dispose()
    return path


jobs = st.lists(
    st.tuples(
        st.lists(st.integers(0, 30), min_size=1, max_size=3, unique=True),  # inputs
        st.sampled_from(("MID", "TOP", "UNIT")),  # what the job makes
        st.booleans(),  # the job stays open
        st.integers(0, 2),  # how many of it ship
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_lots=st.integers(1, 4), made=jobs, seed_at=st.integers(0, 30))
def test_the_family_and_its_stock_are_what_a_naive_walk_finds(
    empty_plant: Path, raw_lots: int, made: list[tuple[list[int], str, bool, int]], seed_at: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lotscan.db"
        shutil.copyfile(empty_plant, path)
        sessions = open_database(sqlite_url(path))
        with unit_of_work(sessions) as session:
            nodes = _history(session, raw_lots, made)
        with reading(sessions) as session:
            part, lot, serial = nodes[seed_at % len(nodes)]
            answer = recall(session, part, lot or None, serial or None, today=fixed_clock().date())
            expected = _naive_descendants(session, (part, lot, serial))
            balances = _balances(session, expected | {(part, lot, serial)})
            open_jobs = set(session.scalars(select(Job.number).where(Job.status == "open")))
            out = io.StringIO()
            write_recall_csv(answer, out)
        sessions.kw["bind"].dispose()

    family = {(r.part, r.lot or NO_LOT, r.serial or NO_LOT) for r in answer.trace.forward}
    assert family == expected
    found = {
        ((s.part, s.lot or NO_LOT, s.serial or NO_LOT), s.location): s.qty
        for s in answer.trace.on_hand
    }
    found |= {
        ((s.part, s.lot or NO_LOT, s.serial or NO_LOT), s.location): s.qty
        for s in answer.descendants_on_hand
    }
    assert found == balances
    in_plant = {(s.part, s.lot or NO_LOT, s.serial or NO_LOT) for s in answer.in_plant()}
    with_stock = {key for key, _ in balances if balances[key, _] > 0}
    in_jobs = {(w.part, w.lot or NO_LOT, w.serial or NO_LOT) for w in answer.wip}
    assert in_plant == with_stock | in_jobs
    assert all(each.job in open_jobs for each in answer.wip)
    assert "'=Evil Customer" in out.getvalue() or not answer.deliveries


Node = tuple[str, str, str]


def _history(
    session: Session, raw_lots: int, made: list[tuple[list[int], str, bool, int]]
) -> list[Node]:
    """Raw lots received, then each job issues some of what exists, makes a lot or a serial,
    ships some of it and is closed or left open. Returns every lot and serial made."""
    ledger = Ledger(session, _Clock())
    stock: list[tuple[Node, Decimal]] = []
    for number in range(raw_lots):
        ledger.receive("RAW", 10, "STORE", lot=f"R{number}")
        stock.append((("RAW", f"R{number}", NO_LOT), Decimal(10)))
    for index, (inputs, makes, stays_open, ships) in enumerate(made):
        job = f"J{index}"
        add_job(session, job, makes, 10)
        for pick in inputs:
            (part, lot, serial), have = stock[pick % len(stock)]
            if have <= 0:
                continue
            qty = Decimal(1) if serial else min(have, Decimal(2))
            ledger.issue_to_job(job, part, qty, lot=lot or None, serial=serial or None)
            stock[pick % len(stock)] = ((part, lot, serial), have - qty)
        if makes == "UNIT":
            ledger.produce(job, 1, "FG", serial=f"U{index}")
            made_node, amount = ("UNIT", NO_LOT, f"U{index}"), Decimal(1)
        else:
            ledger.produce(job, 5, "FG", lot=f"{makes[0]}{index}")
            made_node, amount = (makes, f"{makes[0]}{index}", NO_LOT), Decimal(5)
        shipped = min(Decimal(ships), amount)
        if shipped:
            ledger.ship("SO-1", made_node[0], shipped, lot=made_node[1] or None,
                        serial=made_node[2] or None)  # fmt: skip
        stock.append((made_node, amount - shipped))
        if not stays_open:
            session.get_one(Job, job).status = "closed"
    session.flush()
    return [each for each, _ in stock]


class _Clock:
    def __init__(self) -> None:
        self.minute = 0

    def __call__(self) -> datetime:
        self.minute += 1
        return datetime(2026, 11, 2, 7, tzinfo=UTC) + timedelta(minutes=self.minute)


def _naive_descendants(session: Session, seed: Node) -> set[Node]:
    """Everything made from `seed` at any depth, by a recursive walk in Python over every
    genealogy row (untracked nodes listed, not walked through)."""
    consumed: dict[Node, set[str]] = defaultdict(set)
    produced: dict[str, set[Node]] = defaultdict(set)
    for row in session.scalars(select(JobLot).where(JobLot.qty > 0)):
        key = (row.part, row.lot, row.serial)
        if row.role == "consumed":
            consumed[key].add(row.job)
        else:
            produced[row.job].add(key)
    found: set[Node] = set()

    def walk(parent: Node) -> None:
        for job in consumed[parent]:
            for child in produced[job]:
                if child not in found:
                    found.add(child)
                    if child[1] or child[2]:
                        walk(child)

    walk(seed)
    return found


def _balances(session: Session, nodes: set[Node]) -> dict[tuple[Node, str], Decimal]:
    return {
        ((row.part, row.lot, row.serial), row.location): row.qty
        for row in session.scalars(select(Balance))
        if (row.part, row.lot, row.serial) in nodes
    }
