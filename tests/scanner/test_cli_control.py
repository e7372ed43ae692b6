"""`lotscan jobs` and `lotscan orders` as scripts run them: where a job or an order stands,
as text and JSON derived from the ledger, and closing and reopening with who decided; on a
central store, a close is published for the handhelds."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.closing import close_job
from scanner.completion import complete
from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import Job, JobComponent, StatusChange
from scanner.workspace import sqlite_url
from sync.central.enrollment import ensure_central
from sync.central.models import Change
from tests.conftest import fixed_clock
from tests.scanner.test_cli import lotscan
from tests.support import cli_in_process
from tests.support.databases import open_migrated
from tests.support.plant import add_plant


@pytest.fixture
def plant(tmp_path: Path) -> str:
    """The test plant on a SQLite file: J-HOUSING has had its resin and 4 of its 10
    housings, backflushing grease; SO-1 has shipped 2 bolts on its line 2."""
    url = sqlite_url(tmp_path / "plant.db")
    sessions = open_migrated(url)
    with unit_of_work(sessions) as session:
        add_plant(session)
        session.add(JobComponent(job="J-HOUSING", part="GREASE", qty=Decimal("2.5")))
    with unit_of_work(sessions) as session:
        ledger = Ledger(session, fixed_clock)
        ledger.receive("RESIN", 20, "RCV", lot="R-1")
        ledger.receive("GREASE", 10, "LINE")
        ledger.receive("BOLT", 10, "RCV")
        ledger.issue_to_job("J-HOUSING", "RESIN", 20, lot="R-1")
        complete(ledger, "J-HOUSING", Decimal(4), "LINE", lot="H-1")
        ledger.ship("SO-1", "BOLT", 2, line=2, lot="BL-1")
    sessions.kw["bind"].dispose()
    return url


def run(home: Path, *args: str) -> tuple[int, str, str]:
    """`lotscan ARGS` in the test's process (tests/support/cli_in_process.py)."""
    result = cli_in_process.lotscan(*args, home=home)
    return result.returncode, result.stdout, result.stderr


def run_process(home: Path, *args: str) -> tuple[int, str, str]:
    """`lotscan ARGS` as a subprocess: the real process's exit status and streams."""
    result = lotscan(*args, home=home)
    return result.returncode, result.stdout, result.stderr


def test_jobs_show_derives_what_a_job_has_done_from_the_ledger(plant: str, tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "jobs", "show", "J-HOUSING", "--db", plant, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "job": "J-HOUSING",
        "part": "HOUSING",
        "qty": 10,
        "completed": 4,
        "status": "open",
        "location": None,
        "components": [
            {"part": "GREASE", "required": 2.5, "issued": 1, "backflush": True},
            {"part": "PIGMENT", "required": 2, "issued": 0, "backflush": False},
            {"part": "RESIN", "required": 20, "issued": 20, "backflush": False},
        ],
        "history": [],
        "consumed": [
            {"part": "GREASE", "lot": None, "serial": None, "qty": 1},
            {"part": "RESIN", "lot": "R-1", "serial": None, "qty": 20},
        ],
        "produced": [{"part": "HOUSING", "lot": "H-1", "serial": None, "qty": 4}],
    }
    code, out, _err = run(tmp_path, "jobs", "show", "J-HOUSING", "--db", plant)
    assert out.splitlines()[:3] == [
        "Job J-HOUSING: open",
        "  4 of 10 ea HOUSING completed",
        "Components (issued of required):",
    ]


def test_a_job_is_headlined_by_the_decision_in_force_not_a_refused_one(
    plant: str, tmp_path: Path
) -> None:
    """A reopening the central store refused read as the job's status, while the job stayed
    closed and refused issues (probe); its JSON history now says which entries were refused."""
    sessions = open_migrated(plant)
    with unit_of_work(sessions) as session:
        close_job(session, "J-HOUSING", operator="B9001", clock=fixed_clock)
        session.add(
            StatusChange(
                device_id="H7KQ", subject="job", key="J-HOUSING", status="open",
                operator="B1001", happened_at=fixed_clock() + timedelta(minutes=1),
                sync_state="rejected",
            )
        )  # fmt: skip
    _code, out, _err = run(tmp_path, "jobs", "show", "J-HOUSING", "--db", plant)
    assert out.splitlines()[0] == "Job J-HOUSING: closed by Sam Okafor on 2026-11-02 08:30"
    _code, out, _err = run(tmp_path, "jobs", "show", "J-HOUSING", "--db", plant, "--json")
    assert [(each["status"], each["refused"]) for each in json.loads(out)["history"]] == [
        ("closed", False),
        ("open", True),
    ]


def test_orders_show_derives_each_lines_progress(plant: str, tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "orders", "show", "--so", "SO-1", "--db", plant, "--json")
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert (shown["order"], shown["kind"], shown["customer"]) == ("SO-1", "so", "Hydro Systems")
    assert [
        (line["line"], line["qty"], line["shipped"], line["status"]) for line in shown["lines"]
    ] == [
        (1, 5, 0, "open"),
        (2, 50, 2, "open"),
    ]
    code, out, _err = run(tmp_path, "orders", "show", "--po", "PO-1", "--db", plant)
    assert out.splitlines() == [
        "Purchase order PO-1, supplier Acme Polymers",
        "  line 1 RESIN: 0 of 100 kg received",
        "  line 2 MOTOR: 0 of 10 ea received",
    ]


def test_closing_and_reopening_keep_who_decided(plant: str, tmp_path: Path) -> None:
    assert run(tmp_path, "jobs", "close", "J-HOUSING", "--by", "B1001", "--reason", "short",
               "--db", plant)[:2] == (0, "Job J-HOUSING closed\n")  # fmt: skip
    again = run(tmp_path, "jobs", "close", "J-HOUSING", "--db", plant)
    assert again[0] == 1
    assert re.fullmatch(
        r"lotscan: Job J-HOUSING is already closed \(Ana Ruiz, \d{4}-\d\d-\d\d\):"
        r" ask a supervisor\n",
        again[2],
    )
    refused = run(tmp_path, "jobs", "reopen", "J-HOUSING", "--by", "B1001", "--db", plant)
    assert refused[:2] == (1, "")
    assert refused[2] == (
        "lotscan: Only a supervisor can reopen job J-HOUSING; Ana Ruiz (B1001) is not one\n"
    )
    no_badge = run(tmp_path, "jobs", "reopen", "J-HOUSING", "--db", plant)
    assert no_badge[0] == 2 and "--by" in no_badge[2]
    assert run(tmp_path, "jobs", "reopen", "J-HOUSING", "--by", "B9001", "--db", plant)[:2] == (
        0,
        "Job J-HOUSING reopened\n",
    )
    shown = json.loads(run(tmp_path, "jobs", "show", "J-HOUSING", "--json", "--db", plant)[1])
    assert shown["status"] == "open"
    assert [(each["status"], each["operator"], each["reason"]) for each in shown["history"]] == [
        ("closed", "B1001", "short"),
        ("open", "B9001", None),
    ]
    assert run(tmp_path, "orders", "close", "--so", "SO-1", "--db", plant)[:2] == (
        0,
        "SO-1 lines 1, 2 closed\n",
    )
    unknown = run(tmp_path, "orders", "close", "--po", "PO-9", "--db", plant)
    assert unknown == (1, "", "lotscan: Unknown purchase order PO-9\n")


def test_a_close_on_the_central_store_is_published_for_the_handhelds(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "central.db")
    sessions = open_migrated(url)
    with unit_of_work(sessions) as session:
        ensure_central(session)
        add_plant(session)
    code, out, err = run_process(tmp_path, "jobs", "close", "J-PUMP", "--by", "B9001", "--db", url)
    assert (code, err) == (0, "")
    assert out == "Job J-PUMP closed: every handheld learns of it on its next sync\n"
    with sessions() as session:
        kinds = [(c.kind, c.key) for c in session.scalars(select(Change).order_by(Change.seq))]
        change = session.scalars(select(StatusChange)).one()
        job = session.get(Job, "J-PUMP")
    assert kinds == [("status_change", str(change.id)), ("job", "J-PUMP")]
    assert change.sync_state == "applied" and job is not None and job.status == "closed"
    sessions.kw["bind"].dispose()
