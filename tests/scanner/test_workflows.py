"""The handheld engine across workflows: sign-in, the menu, switching and finishing
workflows, CMD:UNDO, and scans that cannot be read. Each workflow has its own file
(test_workflow_*.py); the replay of transcripts is in test_replay.py."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.settings import SIGN_OUT_MINUTES, write_setting
from scanner.workflows.base import Level
from scanner.workflows.engine import MENU_PROMPT, SIGN_IN_PROMPT
from tests.support.sync_in_process import MovableClock
from tests.support.transcripts import Floor


def test_nothing_is_done_before_an_operator_signs_in(floor: Floor) -> None:
    steps = floor.run("""
        CMD:RECEIVE
        (240)BOLT(30)5
        OP:B0000
        OP:B1001
    """)
    for refused in steps[:2]:
        assert (refused.level, refused.message) == (Level.ERROR, "Sign in first: scan your badge")
        assert refused.response.prompt == SIGN_IN_PROMPT
    unknown = steps.at(3).response
    assert (unknown.level, unknown.message) == (
        Level.ERROR,
        "Unknown badge B0000: add it with lotscan operators add B0000 NAME",
    )
    assert unknown.prompt == SIGN_IN_PROMPT
    hello = steps.last
    assert (hello.level, hello.message, hello.prompt) == (Level.OK, "Hello, Ana Ruiz", MENU_PROMPT)
    assert floor.movements() == []


def test_a_scan_before_any_workflow_asks_for_one(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        (240)BOLT(30)5
        CMD:OK
    """)
    for refused in steps[1:]:
        assert refused.message == "Choose a workflow first: scan CMD:RECEIVE, CMD:ISSUE, ..."
        assert refused.response.prompt == MENU_PROMPT


def test_switching_workflows_mid_line_drops_the_line_with_a_warning(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)10
        CMD:MOVE
        CMD:LOOKUP
    """)
    dropped = steps.at(4).response
    assert dropped.level == Level.WARNING and dropped.beep
    assert dropped.message == "Unfinished line dropped. MOVE: Scan the item to move"
    assert (dropped.workflow, dropped.prompt) == ("MOVE", "Scan the item to move")
    quiet = steps.last  # nothing was in progress in MOVE
    assert (quiet.level, quiet.message) == (Level.INFO, "LOOKUP: Scan anything to look it up")
    assert floor.movements() == []


def test_signing_in_mid_line_drops_the_line_with_a_warning(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)10
        OP:B9001
    """)
    handover = steps.last
    assert (handover.level, handover.message) == (
        Level.WARNING,
        "Unfinished line dropped. Hello, Sam Okafor",
    )
    assert handover.prompt == MENU_PROMPT


def test_done_sums_up_the_workflow_and_returns_to_the_menu(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        (240)BOLT(30)7
        CMD:DONE
        CMD:RECEIVE
        (240)RESIN(30)10
        CMD:DONE
        CMD:DONE
    """)
    summary = steps.at(5).response
    assert (summary.level, summary.message, summary.prompt) == (
        Level.OK,
        "RECEIVE done: 2 lines",
        MENU_PROMPT,
    )
    assert steps.at(8).message == "RECEIVE done: 0 lines; the unfinished line was dropped"
    assert (steps.last.level, steps.last.message) == (Level.ERROR, "No workflow is running")
    assert floor.stock("BOLT") == {("", "RCV"): 12}


def test_undo_reverses_every_movement_of_the_last_line(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        (240)RESIN(30)40
        CMD:GEN
        R-0001
        R-0004
        CMD:UNDO
    """)
    undone = steps.last
    assert (undone.level, undone.message) == (Level.OK, "Last line reversed")
    assert len(undone.recorded) == 4
    assert {each.kind for each in undone.recorded} == {"reverse"}
    # Each reversal as the log shows it: its unit and lot, as its line was recorded.
    assert [each.text for each in undone.recorded] == [
        f"Reversed 10 kg of lot R-000{n} of RESIN" for n in (4, 3, 2, 1)
    ]
    assert floor.stock("RESIN") == {}
    assert floor.stock("BOLT") == {("", "RCV"): 5}
    assert [m.kind for m in floor.movements()] == ["receive"] * 5 + ["reverse"] * 4
    assert floor.agrees()


def test_undo_goes_back_line_by_line_and_then_has_nothing_to_undo(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        CMD:ISSUE
        JOB:J-PUMP
        (240)BOLT(30)2
        (240)BOLT(30)3
        CMD:UNDO
        CMD:UNDO
        CMD:UNDO
    """)
    assert [step.level for step in steps[-3:]] == [Level.OK, Level.OK, Level.ERROR]
    assert steps.last.message == "Nothing to undo in this workflow"
    assert floor.stock("BOLT") == {("", "RCV"): 5}
    assert floor.agrees()


def test_undo_with_nothing_to_undo_is_an_error(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:UNDO
        CMD:RECEIVE
        CMD:UNDO
    """)
    for refused in (steps.at(2), steps.at(4)):
        assert (refused.level, refused.message) == (
            Level.ERROR,
            "Nothing to undo in this workflow",
        )
    assert floor.movements() == []


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        ("(01)09506000134353", "The GTIN's check digit is wrong: 09506000134353 should end in 2"),
        ("(240)RESIN(10)R-1(17)261332", "The expiry date 261332 is not a real date"),
        ("(10)", "The lot (10) on the label is empty"),
        ("(240)RES IN", "Part number 'RES IN' has a character a GS1 label cannot carry: space"),
        ("CMD:FOO", "Unknown command CMD:FOO (known: "),
        ("LOC:", "LOC: needs a location code after it"),
        ("R-\x071", "The scan has a control character (U+0007)"),
    ],
    ids=["check-digit", "date", "lone-lot", "space", "command", "empty-prefix", "control"],
)
def test_a_malformed_scan_mid_line_changes_nothing(floor: Floor, scan: str, message: str) -> None:
    asked = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        (240)RESIN(30)10
    """).last
    before = floor.snapshot()
    refused = floor.scan(scan)
    assert refused.level == Level.ERROR and refused.beep
    assert refused.message.startswith(message)
    assert (refused.prompt, refused.workflow) == (asked.prompt, "RECEIVE")
    assert floor.snapshot() == before
    assert floor.scan("R-1").message == "Received RESIN"  # the line went on where it was
    assert floor.stock("RESIN") == {("R-1", "RCV"): 10}


def test_undo_in_the_middle_of_a_line_asks_to_finish_or_cancel_it_first(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        (240)RESIN(30)25
        CMD:UNDO
        CMD:CANCEL
        CMD:UNDO
    """)
    assert (steps.at(5).level, steps.at(5).message) == (
        Level.ERROR,
        "Finish this line or CMD:CANCEL it, then CMD:UNDO",
    )
    assert steps.last.level == Level.OK
    assert floor.stock("BOLT") == {}
    assert floor.agrees()


def test_a_handheld_scans_on_one_connection_and_gives_it_back_when_dropped(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> None:
    floor = Floor.on_plant(sessions, clock)
    pool = sessions.kw["bind"].pool
    floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        (240)BOLT(30)5
    """)
    assert pool.checkedout() == 1  # the handheld's own, between scans
    assert floor.stock("BOLT") == {("", "RCV"): 10}  # committed: another session sees it
    del floor
    gc.collect()
    assert pool.checkedout() == 0


def test_undo_after_done_reverses_the_last_line_of_the_workflow_just_finished(
    floor: Floor,
) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        (240)RESIN(10)R-1(30)4
        CMD:DONE
        CMD:UNDO
        CMD:MOVE
        CMD:UNDO
        CMD:UNDO
    """)
    undone = steps.at(6).response
    assert (undone.level, undone.message) == (
        Level.OK,
        "RECEIVE's last line reversed: 4 kg of lot R-1 of RESIN",
    )
    assert undone.prompt == "Scan a command: CMD:RECEIVE, ISSUE, ..."
    assert [each.kind for each in undone.recorded] == ["reverse"]
    again = steps.at(8).response  # a workflow that recorded nothing yet does not end it
    assert (again.level, again.message) == (
        Level.OK,
        "RECEIVE's last line reversed: 5 ea of BOLT",
    )
    assert again.prompt == "Scan the item to move"
    assert steps.last.level == Level.ERROR
    assert floor.stock("BOLT") == {} and floor.stock("RESIN") == {}
    assert floor.agrees()


@pytest.mark.parametrize(
    ("ended_by", "reversed_before"),
    [
        (["OP:B1001"], 0),
        (["CMD:MOVE", "(240)BOLT(30)1", "LOC:A-01", "CMD:UNDO"], 1),
    ],
    ids=["a new sign-in", "a new workflow's line"],
)
def test_undo_after_done_ends_with_the_sign_in_or_a_new_line(
    floor: Floor, ended_by: list[str], reversed_before: int
) -> None:
    steps = floor.run(
        "\n".join(["OP:B1001", "CMD:RECEIVE", "(240)BOLT(30)5", "CMD:DONE", *ended_by, "CMD:UNDO"])
    )
    refused = steps.last
    assert (refused.level, refused.message) == (Level.ERROR, "Nothing to undo in this workflow")
    assert [m.kind for m in floor.movements()].count("reverse") == reversed_before
    assert floor.stock("BOLT") == {("", "RCV"): 5}


def test_cancel_with_no_line_in_progress_says_there_is_nothing_to_cancel(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        CMD:CANCEL
        CMD:MOVE
        (240)BOLT(30)2
        CMD:CANCEL
        CMD:CANCEL
    """)
    assert [(step.level, step.message) for step in (steps.at(4), steps.at(8))] == [
        (Level.INFO, "Nothing to cancel: no line is in progress"),
    ] * 2
    assert (steps.at(7).level, steps.at(7).message) == (Level.INFO, "Line cancelled")
    assert floor.stock("BOLT") == {("", "RCV"): 5}


def test_a_handheld_left_unused_signs_its_operator_out(sessions: sessionmaker[Session]) -> None:
    """On a shared handheld, the next person's scans are never recorded as the last one's:
    after `handheld.sign_out_minutes` (30) without a scan only a badge is taken."""
    clock = MovableClock()
    floor = Floor.on_plant(sessions, clock)
    floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(10)R-1
    """)
    clock.advance(minutes=29, seconds=59)  # still within the half hour
    assert floor.scan("5").message.startswith("Received")
    floor.scan("(240)RESIN(10)R-2")
    clock.advance(minutes=30)
    away = floor.scan("(240)BOLT(30)5")
    assert (away.level, away.message, away.prompt) == (
        Level.ERROR,
        "Signed out after 30 minutes without a scan (the unfinished line was dropped):"
        " scan your badge",
        SIGN_IN_PROMPT,
    )
    assert floor.scan("CMD:UNDO").message == "Sign in first: scan your badge"
    assert floor.scan("OP:B9001").message == "Hello, Sam Okafor"
    assert [m.operator for m in floor.movements()] == ["B1001"]

    floor.run("""
        CMD:RECEIVE
        (240)RESIN(10)R-3
    """)
    clock.advance(minutes=45)
    back = floor.scan("OP:B9001")  # the badge itself ends the idle sign-in: said so
    assert (back.level, back.message) == (
        Level.WARNING,
        "Unfinished line dropped (signed out after 30 minutes without a scan). Hello, Sam Okafor",
    )
    clock.advance(minutes=45)
    assert floor.scan("OP:B1001").message == "Hello, Ana Ruiz"  # nothing was dropped

    with floor.session() as session:
        write_setting(session, SIGN_OUT_MINUTES, 0)  # never
        session.commit()
    clock.advance(hours=12)
    assert floor.scan("CMD:RECEIVE").level == Level.INFO


def test_cmd_signout_signs_out_at_once(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)BOLT(30)5
        CMD:SIGNOUT
        (240)BOLT(30)5
        CMD:SIGNOUT
        OP:B1001
        CMD:UNDO
    """)
    assert (steps.at(4).level, steps.at(4).message, steps.at(4).response.prompt) == (
        Level.OK,
        "Signed out",
        SIGN_IN_PROMPT,
    )
    assert steps.at(4).response.workflow is None
    assert steps.at(5).message == steps.at(6).message == "Sign in first: scan your badge"
    assert steps.last.message == "Nothing to undo in this workflow"  # a sign-in starts afresh
    assert len(floor.movements()) == 1
    midway = floor.run("""
        CMD:RECEIVE
        (240)RESIN(10)R-1
        CMD:SIGNOUT
    """)
    assert (midway.last.level, midway.last.message) == (
        Level.WARNING,
        "Signed out (the unfinished line was dropped)",
    )
