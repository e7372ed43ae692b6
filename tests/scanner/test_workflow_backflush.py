"""Backflush at completion, driven by transcripts: COMPLETE issues the job's backflush parts
in proportion to what it completed, from the job's own place first, in the completion's
transaction; a shortfall never stops it; hand issues count; undo takes it all back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.ledger import BACKFLUSH_REASON
from scanner.models import Job, JobComponent, Movement, Part
from scanner.workflows.base import Level
from tests.support.transcripts import Floor

JOB = "J-BF"


@pytest.fixture
def plant(floor: Floor) -> Floor:
    """The test plant with J-BF: three housings whose bill is only backflush parts (grease,
    oil by the half litre, screws), and stock of each at the moulding line and on a rack."""
    with unit_of_work(floor.sessions) as session:
        session.add_all(
            [
                Part(number="OIL", description="Gear oil", tracking="none", backflush=True,
                     uom="L"),
                Part(number="SCREW", description="Screw", tracking="none", backflush=True),
                Job(number=JOB, part="HOUSING", qty=Decimal(3)),
            ]
        )  # fmt: skip
        session.flush()
        session.add_all(
            [
                JobComponent(job=JOB, part="GREASE", qty=Decimal(6)),
                JobComponent(job=JOB, part="OIL", qty=Decimal("1.5")),
                JobComponent(job=JOB, part="SCREW", qty=Decimal(10)),
            ]
        )
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        LOC:LINE
        (240)GREASE(30)100
        (240)OIL(30)20
        (240)SCREW(30)50
        CMD:DONE
    """)
    assert not steps.errors()
    return floor


def backflushed(floor: Floor) -> list[tuple[str, Decimal, str | None]]:
    """(part, qty, from) of every backflush issue, in order."""
    return [
        (m.part, m.qty, m.from_location)
        for m in floor.movements()
        if m.kind == "issue" and m.reason == BACKFLUSH_REASON
    ]


def test_completing_takes_each_backflush_part_in_proportion_in_one_transaction(
    plant: Floor,
) -> None:
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    engine = plant.sessions.kw["bind"]
    event.listen(engine, "commit", committed)
    steps = plant.run("""
        CMD:COMPLETE
        JOB:J-BF
        (240)HOUSING(10)H-50(30)1
    """)
    event.remove(engine, "commit", committed)
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Completed 1 ea HOUSING into LINE")
    assert len(commits) == 3  # one a scan: the completion and its backflush are one
    assert [each.text for each in done.recorded] == [
        "Completed 1 ea lot H-50",
        "Backflushed 2 ea GREASE from LINE",
        "Backflushed 0.5 L OIL from LINE",
        "Backflushed 3.333 ea SCREW from LINE",
    ]
    assert done.details[0] == "J-BF: 1 of 3 ea HOUSING completed"
    assert plant.stock("GREASE") == {("", "LINE"): 98}
    assert plant.stock("OIL") == {("", "LINE"): Decimal("19.5")}
    assert plant.agrees()


def test_the_running_total_is_rounded_so_the_whole_job_uses_exactly_its_bill(
    plant: Floor,
) -> None:
    steps = plant.run("""
        CMD:COMPLETE
        JOB:J-BF
        (240)HOUSING(10)H-50(30)1
        (240)HOUSING(10)H-50(30)1
        (240)HOUSING(10)H-50(30)1
    """)
    assert not steps.errors()
    screws = [qty for part, qty, _where in backflushed(plant) if part == "SCREW"]
    assert screws == [Decimal("3.333"), Decimal("3.334"), Decimal("3.333")]
    assert sum(screws) == 10
    assert plant.stock("GREASE") == {("", "LINE"): 94}
    assert plant.stock("OIL") == {("", "LINE"): Decimal("18.5")}
    done = steps.last
    assert done.details[:2] == (
        "J-BF: 3 of 3 ea HOUSING completed",
        "J-BF is complete: CMD:CLOSE closes it",
    )
    assert plant.agrees()


def test_backflush_takes_from_the_jobs_place_first_then_where_most_is(plant: Floor) -> None:
    with unit_of_work(plant.sessions) as session:
        job = session.get(Job, JOB)
        assert job is not None
        job.location = "A-02"
    steps = plant.run("""
        CMD:MOVE
        (240)GREASE(30)1
        LOC:A-02
        (240)GREASE(30)40
        LOC:LINE
        LOC:A-01
        CMD:COMPLETE
        JOB:J-BF
        LOC:A-01
        (240)HOUSING(10)H-50(30)3
    """)
    assert not steps.errors()
    grease = [(qty, where) for part, qty, where in backflushed(plant) if part == "GREASE"]
    # A-02 (the job's) holds 1; then LINE (59) before A-01 (40).
    assert grease == [(Decimal(1), "A-02"), (Decimal(5), "LINE")]
    assert plant.agrees()


def test_a_shortfall_is_recorded_in_full_and_said_in_amber(plant: Floor) -> None:
    with unit_of_work(plant.sessions) as session:
        bill = session.get(JobComponent, (JOB, "GREASE"))
        assert bill is not None
        bill.qty = Decimal(300)  # more than the 100 on hand
    steps = plant.run("""
        CMD:COMPLETE
        JOB:J-BF
        (240)HOUSING(10)H-50(30)3
    """)
    done = steps.last
    assert (done.level, done.message, done.awaiting_confirmation) == (
        Level.WARNING,
        "Completed 3 ea HOUSING into LINE; GREASE short by 200 ea at LINE",
        False,
    )
    assert backflushed(plant)[0] == ("GREASE", Decimal(300), "LINE")
    assert plant.stock("GREASE") == {("", "LINE"): -200}
    assert plant.stock("HOUSING") == {("H-50", "LINE"): 3}
    assert plant.agrees()


def test_what_was_issued_by_hand_counts_and_issuing_it_warns(plant: Floor) -> None:
    steps = plant.run("""
        CMD:ISSUE
        JOB:J-BF
        (240)GREASE(30)4
        CMD:OK
        CMD:COMPLETE
        JOB:J-BF
        (240)HOUSING(10)H-50(30)3
    """)
    warned = steps.at(3).response
    assert (warned.level, warned.message, warned.awaiting_confirmation) == (
        Level.WARNING,
        "GREASE is backflushed: completing J-BF takes what it needs",
        True,
    )
    assert not steps.errors()
    grease = [qty for part, qty, _where in backflushed(plant) if part == "GREASE"]
    assert grease == [Decimal(2)]  # 6 for the job, 4 issued by hand
    assert plant.stock("GREASE") == {("", "LINE"): 94}


def test_undoing_a_completion_puts_its_backflush_back(plant: Floor) -> None:
    before = plant.stock("GREASE"), plant.stock("OIL"), plant.stock("SCREW")
    steps = plant.run("""
        CMD:COMPLETE
        JOB:J-BF
        (240)HOUSING(10)H-50(30)2
        CMD:UNDO
    """)
    assert steps.last.message == "Last line reversed"
    assert (plant.stock("GREASE"), plant.stock("OIL"), plant.stock("SCREW")) == before
    assert plant.stock("HOUSING") == {}
    with plant.session() as session:
        reversals = session.scalars(select(Movement).where(Movement.kind == "reverse")).all()
    assert len(reversals) == 4
    assert plant.agrees()
    # What is due is worked out again from the ledger: the next completion takes it all.
    plant.run("(240)HOUSING(10)H-50(30)3")
    assert plant.stock("GREASE") == {("", "LINE"): 94}


def test_a_serial_assembly_backflushes_once_for_all_its_units(
    floor: Floor, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions) as session:
        session.add(JobComponent(job="J-PUMP", part="GREASE", qty=Decimal(10)))
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        LOC:LINE
        (240)GREASE(30)10
        CMD:COMPLETE
        JOB:J-PUMP
        (240)PUMP(30)3
        CMD:GEN
        P-1
        P-3
        CMD:OK
    """)
    assert not steps.errors()
    assert [each.text for each in steps.last.recorded] == [
        "Completed PUMP serial P-1",
        "Completed PUMP serial P-2",
        "Completed PUMP serial P-3",
        "Backflushed 6 ea GREASE from LINE",
    ]
    assert floor.stock("GREASE") == {("", "LINE"): 4}
    assert floor.agrees()
