"""Control through sync, over real HTTP on loopback (SQLite and PostgreSQL stores):
backflush recorded on two handhelds, jobs closed at the store or on a handheld, the
completion scanned offline before a close was pulled, and a close and a reopen that
cross, settled by the time each happened."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.closing import close_job, reopen_job
from scanner.db import unit_of_work
from scanner.ledger import BACKFLUSH_REASON
from scanner.models import Balance, Job, JobComponent, JobLot, Movement, StatusChange
from scanner.workflows.base import Level
from scanner.workflows.engine import Handheld as Engine
from sync.central.pull import publish_decisions
from sync.exception_codes import ExceptionCode
from tests.support.sync_in_process import MovableClock
from tests.support.sync_over_http import Handheld, ServiceThread, Site, Switchboard

JOB = "J-BF"


@pytest.fixture
def moving() -> MovableClock:
    return MovableClock()


@pytest.fixture
def site(
    db_url: str, tmp_path: Path, service: tuple[ServiceThread, Switchboard], moving: MovableClock
) -> Iterator[Site]:
    """The test plant on a central store served on loopback, with job J-BF: four housings
    whose bill is two greases each, backflushed."""
    plant = Site(db_url, tmp_path, clock=moving)
    plant.serve_on(*service)

    def add_job(session: Session) -> None:
        session.add(Job(number=JOB, part="HOUSING", qty=Decimal(4)))
        session.flush()
        session.add(JobComponent(job=JOB, part="GREASE", qty=Decimal(8)))

    plant.import_reference(add_job)
    yield plant
    plant.close()


def floor(handheld: Handheld, *scans: str) -> list[tuple[str, str]]:
    """Scans on the handheld's own screen engine, signed in as Ana Ruiz: (level, message)
    of each."""
    engine = Engine(handheld.sessions, clock=handheld.clock)
    responses = [engine.handle(raw).response for raw in ["OP:B1001", *scans]]
    return [(r.level.value, r.message) for r in responses][1:]


def store_balance(site: Site, part: str, location: str) -> Decimal:
    with site.store() as session:
        found = session.get(Balance, (part, "", "", location))
        return found.qty if found is not None else Decimal(0)


def job_status(sessions: Site | Handheld) -> str | None:
    maker = sessions.central if isinstance(sessions, Site) else sessions.sessions
    with maker() as session:
        return session.scalar(select(Job.status).where(Job.number == JOB))


def test_a_backflush_recorded_on_two_handhelds_adds_up_at_the_store(site: Site) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    floor(dock, "CMD:RECEIVE", "LOC:LINE", "(240)GREASE(30)6")
    dock.sync()
    line.sync()
    # Both complete offline: each takes what its completion is due, two greases a housing.
    assert floor(dock, "CMD:COMPLETE", f"JOB:{JOB}", "(240)HOUSING(10)H-1(30)2")[-1] == (
        "ok",
        "Completed 2 ea HOUSING into LINE",
    )
    assert floor(line, "CMD:COMPLETE", f"JOB:{JOB}", "(240)HOUSING(10)H-2(30)1")[-1] == (
        "ok",
        "Completed 1 ea HOUSING into LINE",
    )
    site.final_sync()
    assert site.violations() == []
    # 4 + 2 greases taken from 6: the store's balance is 0, nothing flagged.
    assert store_balance(site, "GREASE", "LINE") == 0
    assert site.exceptions(status="open") == []
    with site.store() as session:
        used = session.scalar(
            select(JobLot.qty).where(
                JobLot.job == JOB, JobLot.part == "GREASE", JobLot.role == "consumed"
            )
        )
        issues = session.scalars(
            select(Movement.device_id).where(Movement.reason == BACKFLUSH_REASON)
        ).all()
    assert used == 6
    assert sorted(issues) == sorted([dock.device, line.device])
    # The last housing takes the last two greases, which nobody has: flagged at the store.
    floor(line, "CMD:COMPLETE", f"JOB:{JOB}", "(240)HOUSING(10)H-2(30)1")
    site.final_sync()
    assert store_balance(site, "GREASE", "LINE") == -2
    (short,) = site.exceptions(code=ExceptionCode.NEGATIVE_BALANCE.value, status="open")
    assert short.part == "GREASE" and short.location == "LINE"
    assert site.violations() == []


def test_a_job_closed_at_the_store_refuses_the_next_completion_after_the_pull(
    site: Site, moving: MovableClock
) -> None:
    line = site.enroll("line")
    with unit_of_work(site.central) as session:
        change = close_job(session, JOB, operator="B9001", reason="run finished", clock=moving)
        publish_decisions(session, [change], moving)
    moving.advance(minutes=5)
    # Scanned before the handheld heard of the close: recorded, never lost.
    offline = floor(line, "CMD:COMPLETE", f"JOB:{JOB}", "(240)HOUSING(10)H-9(30)1")
    assert offline[-1] == (
        "warning",
        "Completed 1 ea HOUSING into LINE; GREASE short by 2 ea at LINE",
    )
    line.sync()
    assert job_status(line) == "closed"
    (flag,) = site.exceptions(code=ExceptionCode.JOB_CLOSED.value, status="open")
    assert flag.message.startswith(
        f"Job {JOB} was closed (closed by Sam Okafor on 2026-11-02 08:30 (run finished))"
        " when this completion reached the store"
    )
    mine = {m.kind: m for m in line.own()}
    assert mine["produce"].sync_state == "flagged"
    assert (mine["produce"].outcome or "").startswith("JOB_CLOSED")
    assert store_balance(site, "GREASE", "LINE") == -2  # it counts: the housing was made
    refused = floor(line, "CMD:COMPLETE", f"JOB:{JOB}")
    assert refused[-1] == (
        "error",
        f"Job {JOB} is closed (Sam Okafor, 2026-11-02): ask a supervisor",
    )
    assert site.violations() == []


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_a_job_closed_on_a_handheld_is_closed_everywhere_after_a_sync(site: Site) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    closed = floor(dock, "CMD:COMPLETE", f"JOB:{JOB}", "CMD:CLOSE", "CMD:CLOSE")  # short
    assert closed[-1] == ("ok", f"Job {JOB} closed")
    working, dock.transport = dock.transport, httpx.MockTransport(unreachable)
    failed = dock.try_sync()
    assert failed is not None and str(failed).endswith("; 0 movements and 1 decision stay queued")
    assert failed.report is not None and failed.report.decisions_pending == 1
    dock.transport = working
    report = dock.sync()
    assert (report.decisions, report.pushed) == (1, 0)
    assert report.summary().startswith("Pushed 1 decision, pulled ")
    assert dock.sync().decisions == 0  # sent once
    assert job_status(site) == "closed"
    line.sync()
    assert job_status(line) == "closed"
    with line.sessions() as session:
        (heard,) = session.scalars(select(StatusChange)).all()
    assert (heard.device_id, heard.status, heard.operator, heard.sync_state) == (
        dock.device,
        "closed",
        "B1001",
        "applied",
    )
    assert floor(line, "CMD:ISSUE", f"JOB:{JOB}")[-1][0] == Level.ERROR.value


def test_work_scanned_before_a_close_on_the_same_handheld_is_not_flagged(
    site: Site, moving: MovableClock
) -> None:
    line = site.enroll("line")
    floor(line, "CMD:RECEIVE", "LOC:LINE", "(240)GREASE(30)10")
    moving.advance(minutes=1)
    floor(line, "CMD:COMPLETE", f"JOB:{JOB}", "(240)HOUSING(10)H-1(30)4")
    moving.advance(minutes=1)
    floor(line, "CMD:COMPLETE", f"JOB:{JOB}", "CMD:CLOSE")
    line.sync()
    assert job_status(site) == "closed"
    assert site.exceptions(status="open") == []
    assert [m.sync_state for m in line.own()] == ["applied"] * 3  # receipt, make, grease


def test_a_reopen_on_a_handheld_goes_up_before_the_completion_after_it(
    site: Site, moving: MovableClock
) -> None:
    office = site.enroll("office")
    with unit_of_work(site.central) as session:
        change = close_job(session, JOB, operator="B9001", clock=moving)
        publish_decisions(session, [change], moving)
    office.sync()
    assert job_status(office) == "closed"
    moving.advance(minutes=1)
    engine = Engine(office.sessions, clock=office.clock)
    answers = [
        engine.handle(scan).response
        for scan in ("OP:B9001", "CMD:COMPLETE", f"JOB:{JOB}", "CMD:REOPEN")
    ]
    assert (answers[2].level, answers[2].message) == (
        Level.WARNING,
        f"Job {JOB} is closed: CMD:REOPEN reopens it",
    )
    assert answers[3].message == f"Job {JOB} reopened"
    moving.advance(minutes=1)
    engine.handle("(240)HOUSING(10)H-3(30)1")
    office.sync()
    assert job_status(site) == "open"
    assert site.exceptions(code=ExceptionCode.JOB_CLOSED.value) == []


def test_a_close_and_a_reopen_that_cross_are_settled_by_when_each_happened(
    site: Site, moving: MovableClock
) -> None:
    line = site.enroll("line")
    floor(line, "CMD:COMPLETE", f"JOB:{JOB}", "CMD:CLOSE", "CMD:OK")  # offline, at 08:30
    moving.advance(minutes=10)
    with unit_of_work(site.central) as session:
        closed = close_job(session, JOB, operator="B9001", clock=moving)
        publish_decisions(session, [closed], moving)
    moving.advance(minutes=10)
    with unit_of_work(site.central) as session:
        reopened = reopen_job(session, JOB, operator="B9001", reason="two more", clock=moving)
        publish_decisions(session, [reopened], moving)
    line.sync()  # the handheld's close arrives last, but happened first
    assert job_status(site) == "open"
    assert job_status(line) == "open"
    with site.store() as session:
        kept = session.scalars(select(StatusChange.status).order_by(StatusChange.happened_at))
        assert list(kept) == ["closed", "closed", "open"]
    assert site.violations() == []
