"""HOLD driven by transcripts (docs/architecture.md, "Workflows"): a supervisor or quality
staff scans a lot or serial label, sees its status and who decided it, holds, releases or
recalls it with a reason; everyone else is refused. LOOKUP shows the decision. The
handheld's state is kept and put back at every step, and `lotscan replay` runs it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.models import Lot, Operator, Serial, StatusChange
from scanner.replay import transcript_lines
from scanner.settings import device_id
from scanner.workflows.base import Level
from scanner.workflows.engine import Handheld
from scanner.workflows.state import handheld_state, restore_state
from scanner.workspace import sqlite_url
from tests.conftest import NOW
from tests.support.databases import open_migrated
from tests.support.demo_workspace import build_demo, demo_copy, lotscan
from tests.support.transcripts import Floor

STOCK = """
    OP:B1001
    CMD:RECEIVE
    (240)RESIN(10)R-1(17)261231(30)25
    (240)RESIN(10)R-OLD(17)261001(30)5
    CMD:OK
    (240)PUMP(21)P-1
    CMD:DONE
"""
QUALITY = "OP:Q7001"  # Lena Park, quality staff (added by the fixture: the plant has none)
SUPERVISOR = "OP:B9001"  # Sam Okafor


def ticking() -> Callable[[], datetime]:
    """A clock a minute later at each reading: decisions of one test are apart in time, as
    on the floor, so which one is the latest never rests on ids made in one millisecond."""
    now = [NOW]

    def clock() -> datetime:
        now[0] += timedelta(minutes=1)
        return now[0]

    return clock


@pytest.fixture
def floor(sessions: sessionmaker[Session]) -> Floor:
    floor = Floor.on_plant(sessions, ticking())
    with unit_of_work(sessions) as session:
        session.add(Operator(badge="Q7001", name="Lena Park", role="quality"))
    assert not floor.run(STOCK).errors()
    return floor


def changes(floor: Floor) -> list[tuple[str, str, str, str | None, str | None, str]]:
    """(subject, key, status, reason, operator, sync state) of every status change of a lot or
    serial, in the order they happened."""
    with floor.session() as session:
        rows = session.scalars(
            select(StatusChange)
            .where(StatusChange.subject.in_(("lot", "serial")))
            .order_by(StatusChange.happened_at)
        ).all()
        return [
            (row.subject, row.key, row.status, row.reason, row.operator, row.sync_state)
            for row in rows
        ]


def decided_at(floor: Floor, index: int = -1) -> str:
    """When a lot's or serial's status change happened (the first, the last), as shown."""
    with floor.session() as session:
        times = session.scalars(
            select(StatusChange.happened_at)
            .where(StatusChange.subject.in_(("lot", "serial")))
            .order_by(StatusChange.happened_at)
        ).all()
    return f"{times[index]:%Y-%m-%d %H:%M}"


def lot_status(floor: Floor, part: str, number: str) -> str:
    with floor.session() as session:
        lot = session.get(Lot, (part, number))
        assert lot is not None
        return lot.status


# ---- who may ------------------------------------------------------------------------------


def test_a_floor_operator_is_refused_and_stays_where_they_were(floor: Floor) -> None:
    steps = floor.run("""
        CMD:MOVE
        (240)RESIN(10)R-1(30)5
        CMD:HOLD
    """)
    refused = steps.last
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "HOLD is for supervisors and quality staff; Ana Ruiz is floor staff",
    )
    assert (refused.workflow, refused.prompt) == (
        "MOVE",
        "Move 5 kg of lot R-1 of RESIN to? (LOC:)",
    )
    assert not floor.handheld.handle("CMD:HOLD").quality
    assert changes(floor) == []


@pytest.mark.parametrize(("badge", "name"), [(QUALITY, "Lena Park"), (SUPERVISOR, "Sam Okafor")])
def test_quality_staff_and_supervisors_hold_a_lot_with_a_reason(
    floor: Floor, badge: str, name: str
) -> None:
    steps = floor.run(f"""
        {badge}
        CMD:HOLD
        (240)RESIN(10)R-1
        CMD:HOLD
        porosity in bag 3
    """)
    assert floor.handheld.handle("CMD:CANCEL").quality
    started = steps.at(2).response
    assert (started.level, started.prompt) == (Level.INFO, "Scan the lot or serial label")
    shown = steps.at(3).response
    assert (shown.message, shown.prompt) == (
        "Lot R-1 of RESIN: released",
        "Hold or recall lot R-1?",
    )
    assert shown.offers == ("HOLD", "RECALL")
    assert shown.details == (
        "PA66 resin, 25 kg bag",
        "Status: released",
        "Expires 2026-12-31",
        "Stock:",
        "  25 kg @RCV",
    )
    asked = steps.at(4).response
    assert (asked.message, asked.prompt) == (
        "To hold: lot R-1 of RESIN",
        "Why hold it? Type the reason",
    )
    done = steps.last
    assert (done.level, done.message) == (Level.OK, "Lot R-1 of RESIN put on hold")
    assert done.decided == ("Held R-1 of RESIN",)
    assert done.recorded == ()  # a decision, not a movement
    assert done.prompt == "Scan the lot or serial label"
    assert done.details[1:4] == (
        "Status: on hold",
        f"By {name}, {decided_at(floor)}",
        "Why: porosity in bag 3",
    )
    assert lot_status(floor, "RESIN", "R-1") == "hold"
    assert changes(floor) == [
        ("lot", "RESIN|R-1", "hold", "porosity in bag 3", badge[3:], "pending")
    ]
    with floor.session() as session:
        change = session.scalars(select(StatusChange)).one()
        assert change.device_id == device_id(session)


def test_holding_a_held_lot_is_refused_naming_who_held_it(floor: Floor) -> None:
    steps = floor.run(f"""
        {SUPERVISOR}
        CMD:HOLD
        (240)RESIN(10)R-1
        CMD:HOLD
        porosity
        {QUALITY}
        CMD:HOLD
        (240)RESIN(10)r-1
        CMD:HOLD
    """)
    shown = steps.at(8).response
    assert (shown.message, shown.offers) == ("Lot R-1 of RESIN: on hold", ("RELEASE", "RECALL"))
    assert shown.prompt == "Release or recall lot R-1?"
    assert shown.details[1:4] == (
        "Status: on hold",
        f"By Sam Okafor, {decided_at(floor)}",
        "Why: porosity",
    )
    refused = steps.last
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "Lot R-1 of RESIN is already on hold (Sam Okafor, 2026-11-02)",
    )
    assert refused.prompt == "Release or recall lot R-1?"  # still waiting for the action
    assert refused.offers == ("RELEASE", "RECALL")
    assert len(changes(floor)) == 1


def test_release_and_recall_each_record_a_change_and_the_history_keeps_them(floor: Floor) -> None:
    steps = floor.run(f"""
        {QUALITY}
        CMD:HOLD
        (240)RESIN(10)R-1
        CMD:HOLD
        porosity
        (240)RESIN(10)R-1
        CMD:RELEASE
        lab retest passed
        (240)RESIN(10)R-1
        CMD:RECALL
        supplier recall 2026-44
        (240)RESIN(10)R-1
        CMD:DONE
    """)
    assert not steps.errors()
    assert steps.at(8).message == "Lot R-1 of RESIN released"
    assert steps.at(11).message == "Lot R-1 of RESIN recalled"
    assert steps.at(12).response.prompt == "Hold or release lot R-1?"
    assert steps.at(12).response.offers == ("HOLD", "RELEASE")
    assert steps.last.message == "HOLD done: 3 decisions; the unfinished line was dropped"
    assert [(status, reason) for _, _, status, reason, _, _ in changes(floor)] == [
        ("hold", "porosity"),
        ("active", "lab retest passed"),
        ("recalled", "supplier recall 2026-44"),
    ]
    assert lot_status(floor, "RESIN", "R-1") == "recalled"


def test_a_serial_is_held_on_its_own_and_shows_where_it_is(floor: Floor) -> None:
    steps = floor.run(f"""
        {SUPERVISOR}
        CMD:HOLD
        (240)PUMP(21)P-1
        CMD:HOLD
        noisy bearing
    """)
    shown = steps.at(3).response
    assert (shown.message, shown.prompt) == (
        "Serial P-1 of PUMP: released",
        "Hold or recall serial P-1?",
    )
    assert shown.details == ("Centrifugal pump", "Status: released", "In stock at RCV")
    assert steps.last.message == "Serial P-1 of PUMP put on hold"
    assert changes(floor) == [("serial", "PUMP|P-1", "hold", "noisy bearing", "B9001", "pending")]
    with floor.session() as session:
        serial = session.get(Serial, ("PUMP", "P-1"))
        assert serial is not None and serial.quality_status == "hold"


def test_a_label_naming_only_the_part_asks_for_the_number(floor: Floor) -> None:
    steps = floor.run(f"""
        {QUALITY}
        CMD:HOLD
        (240)RESIN
        r-old
    """)
    assert steps.at(3).response.prompt == "Lot of RESIN? (scan or type)"
    shown = steps.last
    assert shown.message == "Lot R-OLD of RESIN: expired"
    assert shown.details[1:3] == ("Status: expired", "Expired 2026-10-01")


def test_an_untracked_part_or_an_unknown_lot_is_refused(floor: Floor) -> None:
    steps = floor.run(f"""
        {QUALITY}
        CMD:HOLD
        (240)BOLT(30)5
        (240)RESIN(10)R-404
        CMD:RELEASE
        hello
    """)
    assert steps.at(3).message == "BOLT has no lots or serials: there is nothing to hold"
    assert steps.at(4).message == "No lot R-404 of RESIN"
    assert steps.at(5).message == "Scan the lot or serial label first, then CMD:RELEASE"
    assert steps.at(6).message == "Scan the label of a lot or serial: (10) lot or (21) serial"
    assert [step.level for step in steps[2:]] == [Level.ERROR] * 4


# ---- the reason -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        ("CMD:OK", "Type the reason, or scan a reason code"),
        ("a\tb", "The reason holds U+0009 (TAB), a control character"),
        ("x" * 201, "The reason is 201 characters; at most 200"),
    ],
)
def test_the_reason_is_required_plain_and_short(floor: Floor, answer: str, refusal: str) -> None:
    steps = floor.run(f"""
        {QUALITY}
        CMD:HOLD
        (240)RESIN(10)R-1
        CMD:HOLD
    """)
    assert not steps.errors()
    refused = floor.handheld.handle(answer).response
    assert refused.level == Level.ERROR and refused.message.startswith(refusal)
    assert refused.prompt == "Why hold it? Type the reason"  # the reason is asked again
    assert changes(floor) == [] and lot_status(floor, "RESIN", "R-1") == "active"
    assert floor.handheld.handle("y" * 200).response.message == "Lot R-1 of RESIN put on hold"


def test_a_reason_code_scan_or_a_typed_code_is_the_reason(floor: Floor) -> None:
    steps = floor.run(f"""
        {QUALITY}
        CMD:HOLD
        (240)RESIN(10)R-1
        CMD:RECALL
        LOC:A-01 flooded
    """)
    assert steps.last.message == "Lot R-1 of RESIN recalled"
    assert changes(floor)[0][3] == "LOC:A-01 flooded"


def test_another_label_while_deciding_starts_again_with_it(floor: Floor) -> None:
    steps = floor.run(f"""
        {QUALITY}
        CMD:HOLD
        (240)RESIN(10)R-1
        CMD:HOLD
        (240)PUMP(21)P-1
        CMD:CANCEL
    """)
    assert steps.at(5).response.prompt == "Hold or recall serial P-1?"
    assert steps.last.message == "Nothing decided: scan the next label"
    assert changes(floor) == []


# ---- the commands elsewhere ------------------------------------------------------------------


def test_release_and_recall_outside_hold_and_undo_inside_it_say_what_to_do(floor: Floor) -> None:
    steps = floor.run(f"""
        {SUPERVISOR}
        CMD:RELEASE
        CMD:MOVE
        CMD:RECALL
        CMD:HOLD
        (240)RESIN(10)R-1
        CMD:HOLD
        porosity
        CMD:UNDO
    """)
    assert steps.at(2).message == "CMD:RELEASE works in HOLD: scan CMD:HOLD, then the label"
    assert steps.at(4).message == "CMD:RECALL works in HOLD: scan CMD:HOLD, then the label"
    assert steps.last.message == "Decisions are not undone: scan the label and decide anew"
    assert lot_status(floor, "RESIN", "R-1") == "hold"


def test_lookup_shows_the_status_who_decided_it_and_why(floor: Floor) -> None:
    steps = floor.run(f"""
        {SUPERVISOR}
        CMD:HOLD
        (240)RESIN(10)R-1
        CMD:HOLD
        porosity
        CMD:LOOKUP
        (240)RESIN(10)R-1
        (240)PUMP(21)P-1
    """)
    lot = steps.at(7).response
    assert lot.message == "Lot R-1 of RESIN: on hold"
    assert lot.details[:5] == (
        "PA66 resin, 25 kg bag",
        "Status: on hold",
        f"By Sam Okafor, {decided_at(floor)}",
        "Why: porosity",
        "Expires 2026-12-31",
    )
    assert steps.last.message == "Serial P-1 of PUMP"


def test_a_serial_in_a_held_lot_reads_as_held_by_its_lot(floor: Floor) -> None:
    with unit_of_work(floor.sessions) as session:
        session.add(
            Lot(part="PUMP", number="PL-1", status="active", origin="received", created_at=NOW)
        )
        session.flush()
        serial = session.get(Serial, ("PUMP", "P-1"))
        assert serial is not None
        serial.lot = "PL-1"
    steps = floor.run(f"""
        {QUALITY}
        CMD:HOLD
        (240)PUMP(10)PL-1
        CMD:HOLD
        seal supplier
        (240)PUMP(21)P-1
    """)
    assert steps.at(3).response.prompt == "Hold or recall lot PL-1?"
    shown = steps.last
    assert shown.message == "Serial P-1 of PUMP: on hold"
    assert shown.details[1:4] == (
        "Status: on hold (lot PL-1)",
        f"By Lena Park, {decided_at(floor)}",
        "Why: seal supplier",
    )
    assert shown.offers == ("HOLD", "RECALL")  # the serial's own status is released


# ---- kept and replayed -----------------------------------------------------------------------

EVERY_STEP = f"""\
{QUALITY}
CMD:HOLD
(240)RESIN
R-1
CMD:HOLD
porosity
(240)PUMP(21)P-1
CMD:RECALL
(240)RESIN(10)R-1
CMD:RELEASE
retested
CMD:DONE
"""


def test_the_handheld_put_back_from_its_state_at_every_step_decides_the_same(
    floor: Floor, tmp_path: Path
) -> None:
    other = Floor.on_plant(open_migrated(sqlite_url(tmp_path / "other.db")), ticking())
    with unit_of_work(other.sessions) as session:
        session.add(Operator(badge="Q7001", name="Lena Park", role="quality"))
    assert not other.run(STOCK).errors()
    clock = floor.handheld.clock
    for number, scan in transcript_lines(EVERY_STEP):
        kept = json.loads(json.dumps(handheld_state(floor.handheld)))
        floor.handheld = Handheld(floor.sessions, clock=clock)
        restore_state(floor.handheld, kept)
        mine, theirs = floor.handheld.handle(scan), other.handheld.handle(scan)
        assert mine.response == theirs.response, number
    assert changes(floor) == changes(other)
    assert len(changes(floor)) == 2


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    build_demo(home)
    return home


def test_lotscan_replay_holds_and_releases_a_demo_lot(demo_home: Path, tmp_path: Path) -> None:
    db = demo_copy(demo_home / "demo", tmp_path)
    shift = tmp_path / "hold.txt"
    shift.write_text(
        "OP:B1001\nCMD:HOLD\nOP:B1010\nCMD:HOLD\n(240)SEAL-GP10(10)SK-0301\nCMD:HOLD\n"
        "torn seals in the box\nCMD:LOOKUP\n(240)SEAL-GP10(10)SK-0301\nCMD:HOLD\n"
        "(240)SEAL-GP10(10)SK-0301\nCMD:RELEASE\nall seals checked\nCMD:DONE\n"
    )
    result = lotscan("replay", "--json", "--keep-going", "--db", db, str(shift), home=tmp_path)
    report = json.loads(result.stdout)
    messages = {line["line"]: (line["level"], line["message"]) for line in report["lines"]}
    assert messages[2] == (
        "error",
        "HOLD is for supervisors and quality staff; Ana Souza is floor staff",
    )
    assert messages[7] == ("ok", "Lot SK-0301 of SEAL-GP10 put on hold")
    assert messages[9] == ("ok", "Lot SK-0301 of SEAL-GP10: on hold")
    assert messages[13] == ("ok", "Lot SK-0301 of SEAL-GP10 released")
    assert messages[14] == ("ok", "HOLD done: 1 decision")  # since CMD:HOLD on line 10
    assert [line for line in report["lines"] if line["level"] == "error"] == [report["lines"][1]]
