"""COMPLETE under control, driven by transcripts: the job's quantity and what was issued
to it are checked before a completion is recorded, its expiry is kept, and a job (or an
order line) closes, refuses work, and reopens only for a supervisor, with its history."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from scanner.closing import close_job, close_order_lines, history, reopen_job
from scanner.db import unit_of_work
from scanner.models import Job, Lot, StatusChange
from scanner.settings import device_id
from scanner.workflows.base import Level
from tests.conftest import fixed_clock
from tests.support.transcripts import Floor

ISSUED = """
    OP:B1001
    CMD:RECEIVE
    (240)RESIN(10)R-1(30)40
    CMD:ISSUE
    JOB:J-HOUSING
    (240)RESIN(10)R-1(30)20
    CMD:COMPLETE
    JOB:J-HOUSING
"""


def test_completing_more_than_the_job_asks_warns_with_the_numbers(floor: Floor) -> None:
    assert not floor.run(ISSUED).errors()
    steps = floor.run("""
        (240)HOUSING(10)H-1(30)8
        (240)HOUSING(10)H-1(30)3
    """)
    assert steps.at(1).message == "Completed 8 ea HOUSING into LINE"
    warned = steps.last
    assert (warned.level, warned.message, warned.awaiting_confirmation) == (
        Level.WARNING,
        "J-HOUSING asks 10; 8 completed, this would make 11",
        True,
    )
    assert warned.prompt == "CMD:OK to complete, CMD:CANCEL not"
    before = floor.snapshot()
    steps = floor.run("""
        hello
        CMD:CANCEL
    """)
    assert steps.at(1).level == Level.ERROR
    assert steps.at(1).message == (
        "J-HOUSING asks 10; 8 completed, this would make 11: scan CMD:OK to go on or CMD:CANCEL"
    )
    # Refused, the scan leaves the warning waiting, and says so (the keys offer OK still).
    assert steps.at(1).response.awaiting_confirmation
    assert steps.last.message == "Line cancelled"
    assert not steps.last.awaiting_confirmation
    assert floor.snapshot() == before
    steps = floor.run("""
        (240)HOUSING(10)H-1(30)3
        CMD:OK
    """)
    assert steps.last.message == "Completed 3 ea HOUSING into LINE"
    assert steps.last.details[:2] == (
        "J-HOUSING: 11 of 10 ea HOUSING completed",
        "J-HOUSING is complete: CMD:CLOSE closes it",
    )
    assert floor.stock("HOUSING") == {("H-1", "LINE"): 11}


def test_completing_a_job_nothing_tracked_was_issued_to_warns(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:COMPLETE
        JOB:J-HOUSING
        (240)HOUSING(10)H-1(30)2
    """)
    assert (steps.last.level, steps.last.message) == (
        Level.WARNING,
        "Nothing issued to J-HOUSING yet: its lots will trace to nothing",
    )
    assert floor.movements() == []


def test_the_expiry_on_the_assembly_label_is_kept_and_a_different_one_refused(
    floor: Floor,
) -> None:
    assert not floor.run(ISSUED).errors()
    steps = floor.run("""
        (240)HOUSING(10)H-1(17)270630(30)2
        (240)HOUSING(10)H-1(17)270701(30)1
    """)
    assert steps.at(1).level == Level.OK
    with floor.session() as session:
        lot = session.get(Lot, ("HOUSING", "H-1"))
        assert lot is not None and lot.expiry == date(2027, 6, 30)
    assert (steps.last.level, steps.last.message) == (
        Level.ERROR,
        "Lot H-1 of HOUSING expires 2027-06-30, not 2027-07-01: check the label",
    )
    assert floor.stock("HOUSING") == {("H-1", "LINE"): 2}


def test_a_closed_job_refuses_issues_and_completions_and_says_who_closed_it(
    floor: Floor,
) -> None:
    assert not floor.run(ISSUED).errors()
    steps = floor.run("""
        CMD:CLOSE
        CMD:CLOSE
        JOB:J-HOUSING
        CMD:ISSUE
        JOB:J-HOUSING
        CMD:ASSIGN
        JOB:J-HOUSING
    """)
    # Short of its quantity, the job closes on the second CMD:CLOSE (probe: at once).
    assert (steps.at(1).level, steps.at(1).message) == (
        Level.WARNING,
        "J-HOUSING: 0 of 10 ea HOUSING completed: CMD:CLOSE again closes it short; only a"
        " supervisor reopens it",
    )
    assert steps.at(1).response.prompt == "CMD:CLOSE to close it short"
    assert (steps.at(2).level, steps.at(2).message) == (Level.OK, "Job J-HOUSING closed")
    assert steps.at(2).response.prompt == "Scan the job (JOB:...)"
    refusal = "Job J-HOUSING is closed (Ana Ruiz, 2026-11-02): ask a supervisor"
    assert [(step.level, step.message) for step in steps[2:]] == [
        (Level.ERROR, refusal),
        (Level.INFO, "ISSUE: Scan the job (JOB:...)"),
        (Level.ERROR, refusal),
        (Level.INFO, "ASSIGN: Scan the job (JOB:...)"),
        (Level.ERROR, refusal),  # at the job's scan, before a lot is asked for
    ]
    with floor.session() as session:
        (change,) = session.scalars(select(StatusChange)).all()
        assert (change.subject, change.key, change.status, change.operator) == (
            "job",
            "J-HOUSING",
            "closed",
            "B1001",
        )
        assert (change.device_id, change.sync_state) == (device_id(session), "pending")


def test_only_a_supervisor_reopens_a_closed_job(floor: Floor) -> None:
    assert not floor.run(ISSUED + "CMD:CLOSE\nCMD:CLOSE").errors()
    steps = floor.run("""
        CMD:REOPEN
        OP:B9001
        CMD:COMPLETE
        JOB:J-HOUSING
        CMD:REOPEN
        (240)HOUSING(10)H-1(30)1
    """)
    assert steps.at(1).level == Level.ERROR
    assert (steps.at(4).level, steps.at(4).message) == (
        Level.WARNING,
        "Job J-HOUSING is closed: CMD:REOPEN reopens it",
    )
    assert steps.at(4).response.prompt == "CMD:REOPEN, or scan a job (JOB:...)"
    assert steps.at(5).message == "Job J-HOUSING reopened"
    assert steps.last.message == "Completed 1 ea HOUSING into LINE"
    with floor.session() as session:
        job = session.get(Job, "J-HOUSING")
        assert job is not None and job.status == "open"
        said = [each.words() for each in history(session, job)]
    assert said == [
        "closed by Ana Ruiz on 2026-11-02 08:30",
        "reopened by Sam Okafor on 2026-11-02 08:30",
    ]


def test_cmd_close_waits_for_the_line_in_progress(floor: Floor) -> None:
    assert not floor.run(ISSUED).errors()
    steps = floor.run("""
        (240)HOUSING(10)H-1
        CMD:CLOSE
    """)
    assert steps.last.message == "Finish this line or CMD:CANCEL it, then CMD:CLOSE"
    assert steps.last.level == Level.ERROR


def test_a_closed_order_line_takes_no_more_and_says_so(floor: Floor) -> None:
    with unit_of_work(floor.sessions) as session:
        close_order_lines(
            session, "PO-1", 1, sales=False, operator="B9001", reason="short", clock=fixed_clock
        )
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        PO:PO-1
        (240)RESIN(10)R-1(30)5
        (240)MOTOR(21)M-1
    """)
    assert (steps.at(4).level, steps.at(4).message) == (
        Level.ERROR,
        "PO-1 line 1 (RESIN) is closed (Sam Okafor, 2026-11-02): ask a supervisor",
    )
    assert steps.last.level == Level.OK  # line 2 is open
    assert [m.part for m in floor.movements()] == ["MOTOR"]


def test_cmd_close_in_receive_closes_the_order_line_just_received_on(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        PO:PO-1
        CMD:CLOSE
        (240)MOTOR(30)10
        CMD:GEN
        M-1
        M-10
        CMD:CLOSE
        (240)MOTOR(21)M-11
    """)
    assert steps.at(4).message == "Receive a line on a PO first: CMD:CLOSE closes its order line"
    filled = steps.at(8).response
    assert filled.details == (
        "PO-1 line 2: 10 of 10 received",
        "Line filled: CMD:CLOSE closes it",
    )
    closed = steps.at(9).response
    assert (closed.level, closed.message) == (Level.OK, "PO-1 line 2 closed")
    assert (steps.last.level, steps.last.message) == (
        Level.ERROR,
        "PO-1 line 2 (MOTOR) is closed (Ana Ruiz, 2026-11-02): ask a supervisor",
    )


def test_cmd_close_in_ship_short_closes_the_sales_order_line(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)50
        CMD:SHIP
        SO:SO-2
        (240)BOLT(30)4
        CMD:CLOSE
        (240)BOLT(30)1
    """)
    assert steps.at(6).response.details == ("SO-2 line 2: 4 of 10 shipped",)
    assert steps.at(7).message == "SO-2 line 2 closed"
    assert (steps.last.level, steps.last.message) == (
        Level.ERROR,
        "SO-2 line 2 (BOLT) is closed (Ana Ruiz, 2026-11-02): ask a supervisor",
    )
    with floor.session() as session:
        change = session.scalars(select(StatusChange)).one()
        assert (change.subject, change.key, change.status) == ("so_line", "SO-2|2", "closed")


def test_cmd_close_and_reopen_elsewhere_say_where_they_work(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:MOVE
        CMD:CLOSE
        CMD:ISSUE
        CMD:REOPEN
    """)
    assert [(step.level, step.message) for step in steps if step.level == Level.ERROR] == [
        (Level.ERROR, "CMD:CLOSE works in COMPLETE, RECEIVE and SHIP"),
        (Level.ERROR, "CMD:REOPEN reopens a job in COMPLETE (a supervisor)"),
    ]


def test_undo_after_cmd_close_is_refused_until_a_supervisor_reopens(floor: Floor) -> None:
    """A line undone after its order line or job closed would leave it closed and short:
    the undo is refused, nothing changes, and once a supervisor reopens it the undo works."""
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        PO:PO-1
        (240)RESIN(10)R-1(30)5
        CMD:CLOSE
        CMD:UNDO
    """)
    assert steps.at(5).message == "PO-1 line 1 closed"
    assert (steps.last.level, steps.last.message) == (
        Level.ERROR,
        "Not undone: PO-1 line 1 (RESIN) is closed (Ana Ruiz, 2026-11-02): ask a supervisor"
        " to reopen it in the office, then undo",
    )
    assert [m.kind for m in floor.movements()] == ["receive"]
    assert floor.stock("RESIN") == {("R-1", "RCV"): 5}

    issued = floor.run("""
        CMD:ISSUE
        JOB:J-HOUSING
        (240)RESIN(10)R-1(30)2
    """)
    assert issued.last.level == Level.OK
    with unit_of_work(floor.sessions) as session:  # the office closes the job meanwhile
        close_job(session, "J-HOUSING", operator="B9001", reason="run done", clock=fixed_clock)
    undo = floor.run("CMD:UNDO")
    assert undo.last.message == (
        "Not undone: job J-HOUSING is closed (Sam Okafor, 2026-11-02): ask a supervisor"
        " to reopen it in the office, then undo"
    )
    assert floor.stock("RESIN") == {("R-1", "RCV"): 3}

    with unit_of_work(floor.sessions) as session:
        reopen_job(session, "J-HOUSING", operator="B9001", reason="undo", clock=fixed_clock)
    undone = floor.run("CMD:UNDO")
    assert (undone.last.level, undone.last.message) == (Level.OK, "Last line reversed")
    assert floor.stock("RESIN") == {("R-1", "RCV"): 5}


def test_a_job_short_of_its_quantity_closes_only_when_asked_twice(floor: Floor) -> None:
    """CMD:CLOSE scanned at 0 of 10 closed the job at once, and a floor operator cannot
    reopen it (probe). It asks first; any other scan drops the question."""
    assert not floor.run(ISSUED).errors()
    steps = floor.run("""
        CMD:CLOSE
        LOC:LINE
        CMD:OK
        CMD:CLOSE
        CMD:OK
    """)
    assert steps.at(1).level == Level.WARNING
    assert steps.at(3).level == Level.ERROR  # the question was dropped by the scan between
    assert (steps.last.level, steps.last.message) == (Level.OK, "Job J-HOUSING closed")
    with floor.session() as session:
        assert session.get_one(Job, "J-HOUSING").status == "closed"
