"""ASSIGN and COMPLETE driven by transcripts: a lot for the assembly before the job completes,
its label, completion into it, serial assemblies, and the genealogy that links them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from scanner.models import JobLot, Lot, Serial
from scanner.settings import device_id
from scanner.trace import trace
from scanner.workflows.base import LabelDue, Level
from tests.support.transcripts import Floor

HOUSING_PARTS = """
    OP:B1001
    CMD:RECEIVE
    (240)RESIN(10)R-1(30)20
    (240)PIGMENT(10)PG-1(30)2
    (240)MOTOR(21)M-1
    (240)MOTOR(21)M-2
    CMD:ISSUE
    JOB:J-HOUSING
    (240)RESIN(10)R-1(30)20
    (240)PIGMENT(10)PG-1(30)2
"""


def genealogy(floor: Floor, job: str) -> set[tuple[object, ...]]:
    """The job's JobLot rows: (role, part, lot, serial, qty)."""
    with floor.session() as session:
        rows = session.execute(
            select(JobLot.role, JobLot.part, JobLot.lot, JobLot.serial, JobLot.qty).where(
                JobLot.job == job
            )
        ).tuples()
        return set(rows)


def test_assigning_a_typed_lot_makes_the_assembly_label_due(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:ASSIGN
        JOB:J-HOUSING
        H-0001
    """)
    assert steps.at(3).response.prompt == "Lot of HOUSING? (scan, type or CMD:GEN)"
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Lot H-0001 assigned to J-HOUSING")
    assert done.labels == (LabelDue("assembly", "HOUSING", lot="H-0001", job="J-HOUSING"),)
    assert done.recorded == ()
    with floor.session() as session:
        lot = session.get(Lot, ("HOUSING", "H-0001"))
        assert lot is not None and (lot.assigned_job, lot.origin) == ("J-HOUSING", "assigned")
    assert floor.movements() == []


def test_assigning_with_cmd_gen_mints_the_lot_from_the_pattern(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:ASSIGN
        JOB:J-HOUSING
        CMD:GEN
        CMD:GEN
    """)
    with floor.session() as session:
        minted = f"{device_id(session)}261102-001"
        assert session.scalar(select(Lot.assigned_job).where(Lot.number == minted)) == "J-HOUSING"
    assert steps.at(4).response.prompt == "First lot (CMD:GEN again: next from pattern)"
    assert steps.last.message == f"Lot {minted} assigned to J-HOUSING"
    assert [label.lot for label in steps.last.labels] == [minted]


def test_a_lot_cannot_be_assigned_to_a_second_job_or_to_serial_assemblies(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:ASSIGN
        JOB:J-PUMP
        JOB:J-HOUSING
        H-0001
        JOB:J-HOUSING-2
        H-0001
    """)
    assert steps.at(3).message == "PUMP is not lot-tracked: job J-PUMP makes no lots"
    taken = steps.last
    assert (taken.level, taken.message) == (
        Level.ERROR,
        "Lot H-0001 of HOUSING already belongs to job J-HOUSING",
    )
    assert taken.labels == ()


def test_completion_defaults_to_the_assigned_lot_and_links_the_genealogy(floor: Floor) -> None:
    assert not floor.run(HOUSING_PARTS).errors()
    steps = floor.run("""
        CMD:ASSIGN
        JOB:J-HOUSING
        H-0001
        CMD:COMPLETE
        JOB:J-HOUSING
        (240)HOUSING(30)4
    """)
    assert steps.at(5).response.prompt == "Scan J-HOUSING's assembly to LINE"
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Completed 4 ea HOUSING into LINE")
    assert [each.text for each in done.recorded] == ["Completed 4 ea lot H-0001"]
    assert done.labels == (LabelDue("lot", "HOUSING", lot="H-0001", qty=Decimal(4)),)
    assert floor.stock("HOUSING") == {("H-0001", "LINE"): 4}
    assert genealogy(floor, "J-HOUSING") == {
        ("consumed", "RESIN", "R-1", "", 20),
        ("consumed", "PIGMENT", "PG-1", "", 2),
        ("produced", "HOUSING", "H-0001", "", 4),
    }
    with floor.session() as session:
        found = trace(session, "HOUSING", lot="H-0001")
    assert {(each.part, each.lot) for each in found.backward} == {
        ("RESIN", "R-1"),
        ("PIGMENT", "PG-1"),
    }
    assert floor.agrees()


def test_completion_without_an_assigned_lot_asks_for_one_and_takes_a_destination(
    floor: Floor,
) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:COMPLETE
        JOB:J-HOUSING-2
        LOC:A-01
        (240)HOUSING(30)2
        H-9
    """)
    assert steps.at(4).message == "Completing to A-01"
    assert steps.at(5).response.prompt == "Lot of HOUSING? (scan, type or CMD:GEN)"
    assert steps.last.message == "Completed 2 ea HOUSING into A-01"
    assert floor.stock("HOUSING") == {("H-9", "A-01"): 2}


def test_serial_assemblies_complete_with_generated_serials(floor: Floor) -> None:
    assert not floor.run(HOUSING_PARTS).errors()
    steps = floor.run("""
        CMD:ISSUE
        JOB:J-PUMP
        (240)MOTOR(21)M-1
        (240)MOTOR(21)M-2
        CMD:COMPLETE
        JOB:J-PUMP
        (240)PUMP(30)3
        CMD:GEN
        P-0001
        P-0003
    """)
    assert not steps.errors()
    assert steps.at(7).response.prompt == "Serial 1 of 3? (or CMD:GEN)"
    assert steps.at(9).response.prompt == "Last serial (first is P-0001)"
    done = steps.last
    assert done.message == "Completed 3 ea PUMP into LINE"
    pumps = ("P-0001", "P-0002", "P-0003")
    assert done.labels == tuple(LabelDue("serial", "PUMP", serial=each) for each in pumps)
    assert floor.stock("PUMP") == {(each, "LINE"): 1 for each in pumps}
    with floor.session() as session:
        states = session.execute(select(Serial.number, Serial.status).where(Serial.part == "PUMP"))
        assert dict(states.tuples().all()) == dict.fromkeys(pumps, "in_stock")
        motors = trace(session, "PUMP", serial="P-0002").backward
    assert {("MOTOR", "M-1"), ("MOTOR", "M-2")} <= {(each.part, each.serial) for each in motors}
    assert genealogy(floor, "J-PUMP") == {
        ("consumed", "MOTOR", "", "M-1", 1),
        ("consumed", "MOTOR", "", "M-2", 1),
        *{("produced", "PUMP", "", each, Decimal(1)) for each in pumps},
    }
    assert floor.agrees()


def test_a_serial_assembly_scanned_with_its_serial_is_one_unit(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:COMPLETE
        JOB:J-PUMP
        (240)PUMP(21)P-7
    """)
    warned = steps.last
    assert (warned.level, warned.message) == (
        Level.WARNING,
        "Nothing issued to J-PUMP yet: its lots will trace to nothing",
    )
    assert warned.awaiting_confirmation and floor.stock("PUMP") == {}
    steps = floor.run("CMD:OK")
    assert [each.text for each in steps.last.recorded] == ["Completed PUMP serial P-7"]
    assert floor.stock("PUMP") == {("P-7", "LINE"): 1}


def test_a_count_of_nothing_completes_nothing(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:COMPLETE
        JOB:J-PUMP
        (240)PUMP(30)0
        CMD:UNDO
    """)
    assert steps.at(4).message == "The label's count (30) must be at least 1"
    assert steps.at(4).level == Level.ERROR
    assert steps.last.message == "Nothing to undo in this workflow"
    assert floor.movements() == []


def test_the_assembly_of_another_job_is_refused(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:COMPLETE
        (240)HOUSING(30)1
        JOB:J-HOUSING
        (240)PUMP(21)P-1
    """)
    assert steps.at(3).message == "Scan the job first (JOB:...)"
    refused = steps.last
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "Job J-HOUSING makes HOUSING, not PUMP",
    )
    assert refused.prompt == "Scan J-HOUSING's assembly to LINE"
