"""Random shifts with backflush, returns and undo, scanned on a handheld: whatever the order
of receipts, hand issues, completions that backflush (short or not), shipments, returns and
undos, the caches stay what a replay of the ledger makes of it, and each backflush part of
the job is consumed at least as far as its completions are due it, while backflush itself
never took more than that.
"""

from __future__ import annotations

import shutil
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.balance_check import cache_differences
from scanner.db import open_database, unit_of_work
from scanner.ledger import BACKFLUSH_REASON
from scanner.models import Job, JobComponent, JobLot, Movement, Part
from scanner.workflows.base import Level
from scanner.workflows.engine import Handheld
from scanner.workspace import sqlite_url
from tests.conftest import fixed_clock
from tests.support.plant import add_plant
from tests.support.transcripts import SIGN_IN

JOB = "J-BF"
BILL = {"GREASE": Decimal(6), "OIL": Decimal("1.5"), "SCREW": Decimal(10)}
JOB_QTY = Decimal(3)

# Lines a floor worker would scan; each one whole, so the engine records it or refuses it.
LINES = {
    "receive grease": ["CMD:RECEIVE", "LOC:LINE", "(240)GREASE(30)50"],
    "receive oil": ["CMD:RECEIVE", "LOC:A-01", "(240)OIL(30)2"],
    "receive screws": ["CMD:RECEIVE", "LOC:A-02", "(240)SCREW(30)4"],
    "hand issue": ["CMD:ISSUE", f"JOB:{JOB}", "(240)GREASE(30)1", "CMD:OK", "LOC:LINE"],
    "hand issue more": ["CMD:ISSUE", f"JOB:{JOB}", "(240)GREASE(30)5", "CMD:OK", "CMD:OK"],
    "complete one": ["CMD:COMPLETE", f"JOB:{JOB}", "(240)HOUSING(10)H-1(30)1", "CMD:OK"],
    "complete two": ["CMD:COMPLETE", f"JOB:{JOB}", "(240)HOUSING(10)H-1(30)2", "CMD:OK"],
    "complete half": ["CMD:COMPLETE", f"JOB:{JOB}", "(240)HOUSING(10)H-1(30)0.5", "CMD:OK"],
    "ship a housing": ["CMD:SHIP", "SO:SO-2", "(240)HOUSING(10)H-1(30)1"],
    "return a housing": ["CMD:RETURN", "SO:SO-2", "LOC:A-01", "(240)HOUSING(10)H-1(30)1"],
    "move screws": ["CMD:MOVE", "(240)SCREW(30)2", "LOC:A-02", "LOC:LINE"],
    "undo": ["CMD:UNDO"],
    "done": ["CMD:DONE"],
}
shifts = st.lists(st.sampled_from(sorted(LINES)), min_size=2, max_size=16)


@pytest.fixture(scope="module")
def plant_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test plant with J-BF: three housings whose bill is only backflush parts."""
    path = tmp_path_factory.mktemp("backflush") / "lotscan.db"
    sessions = open_database(sqlite_url(path))
    with unit_of_work(sessions) as session:
        add_plant(session)
        session.add_all(
            [
                Part(number="OIL", description="Oil", tracking="none", backflush=True, uom="L"),
                Part(number="SCREW", description="Screw", tracking="none", backflush=True),
                Job(number=JOB, part="HOUSING", qty=JOB_QTY),
            ]
        )
        session.flush()
        session.add_all(JobComponent(job=JOB, part=part, qty=qty) for part, qty in BILL.items())
    sessions.kw["bind"].dispose()
    return path


def due(part: str, completed: Decimal) -> Decimal:
    return (BILL[part] * completed / JOB_QTY).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shift=shifts)
def test_backflush_and_undo_keep_the_ledger_and_its_caches_agreed(
    plant_database: Path, shift: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "lotscan.db"
        shutil.copyfile(plant_database, copy)
        sessions = open_database(sqlite_url(copy))
        try:
            handheld = Handheld(sessions, clock=fixed_clock)
            handheld.handle(SIGN_IN)
            for name in shift:
                for raw in LINES[name]:
                    response = handheld.handle(raw).response
                    assert response.level != Level.ERROR or not response.recorded, raw
            with sessions() as session:
                assert cache_differences(session) == []
                completed = session.scalar(
                    select(func.coalesce(func.sum(JobLot.qty), 0)).where(
                        JobLot.job == JOB, JobLot.role == "produced"
                    )
                )
                for part in BILL:
                    consumed = session.scalar(
                        select(func.coalesce(func.sum(JobLot.qty), 0)).where(
                            JobLot.job == JOB, JobLot.role == "consumed", JobLot.part == part
                        )
                    )
                    by_hand = _net_hand_issues(session, part)
                    owed = due(part, Decimal(completed))
                    assert owed <= consumed, part
                    assert consumed - by_hand <= owed, part  # what backflush took
        finally:
            sessions.kw["bind"].dispose()


def _net_hand_issues(session: Session, part: str) -> Decimal:
    """What was issued to the job by hand and not undone."""
    issued = session.scalars(
        select(Movement).where(
            Movement.job == JOB,
            Movement.part == part,
            Movement.kind == "issue",
            (Movement.reason.is_(None)) | (Movement.reason != BACKFLUSH_REASON),
        )
    ).all()
    undone = set(
        session.scalars(
            select(Movement.reverses).where(Movement.reverses.in_([m.id for m in issued]))
        )
    )
    return sum((m.qty for m in issued if m.id not in undone), Decimal(0))
