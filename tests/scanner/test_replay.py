"""`lotscan replay` (docs/architecture.md, "Transcripts"): a transcript through the engine,
stopping at the first error or unconfirmed warning with the file's line number; in-process
and as the command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from scanner.db import open_database, reading
from scanner.models import PrintJob
from scanner.replay import format_replay, replay, transcript_lines
from scanner.workflows.base import Level
from scanner.workflows.engine import Handheld, Outcome
from scanner.workflows.state import StateError, handheld_state, restore_state
from scanner.workspace import sqlite_url
from tests.support.databases import open_migrated
from tests.support.demo_workspace import ROOT, build_demo, demo_copy, lotscan, lotscan_env
from tests.support.transcripts import Floor

GS = "\x1d"

BAD_SCAN_ON_LINE_6 = """\
OP:B1001
# receive bolts, then a label with a bad check digit
CMD:RECEIVE

(240)BOLT(30)5
(01)09506000134353
(240)BOLT(30)7
"""


def run(floor: Floor, text: str, keep_going: bool = False) -> tuple[object, ...]:
    result = replay(floor.handheld, transcript_lines(text), keep_going)
    return result.ok, result.stopped_at, result.reason, [p.number for p in result.problems]


def test_blank_and_comment_lines_are_skipped_and_numbers_are_the_files() -> None:
    assert transcript_lines(BAD_SCAN_ON_LINE_6) == [
        (1, "OP:B1001"),
        (3, "CMD:RECEIVE"),
        (5, "(240)BOLT(30)5"),
        (6, "(01)09506000134353"),
        (7, "(240)BOLT(30)7"),
    ]


def test_only_line_ends_split_a_transcript_never_a_gs_inside_a_scan() -> None:
    text = f"OP:B1001\r\n240BOLT{GS}305\r  # comment\n"
    assert transcript_lines(text) == [(1, "OP:B1001"), (2, f"240BOLT{GS}305")]


def test_a_malformed_scan_stops_the_replay_at_its_line_and_changes_nothing(floor: Floor) -> None:
    assert run(floor, BAD_SCAN_ON_LINE_6) == (
        False,
        6,
        "The GTIN's check digit is wrong: 09506000134353 should end in 2",
        [6],
    )
    assert floor.stock("BOLT") == {("", "RCV"): 5}  # line 7 never ran


def test_keep_going_runs_past_errors_and_still_reports_them(floor: Floor) -> None:
    result = replay(floor.handheld, transcript_lines(BAD_SCAN_ON_LINE_6), keep_going=True)
    assert (result.ok, result.stopped_at, [p.number for p in result.problems]) == (
        False,
        None,
        [6],
    )
    assert [line.number for line in result.lines] == [1, 3, 5, 6, 7]
    assert result.recorded == 2
    assert floor.stock("BOLT") == {("", "RCV"): 12}
    assert "2 movements recorded, 1 problem(s)" in format_replay(result)
    assert "   6 ERR  '(01)09506000134353': The GTIN's check digit" in format_replay(result)


# Its last line warns: bolts are not on J-HOUSING's list.
BOLTS_FOR_THE_HOUSING_JOB = """\
OP:B1001
CMD:RECEIVE
(240)BOLT(30)10
CMD:ISSUE
JOB:J-HOUSING
(240)BOLT(30)5
"""


@pytest.mark.parametrize("after", ["", "(240)BOLT(30)1\n"])
def test_an_unconfirmed_warning_stops_the_replay_at_its_line(floor: Floor, after: str) -> None:
    text = BOLTS_FOR_THE_HOUSING_JOB.replace("J-HOUSING\n", "J-HOUSING\n# no bolts in it\n")
    ok, stopped_at, reason, problems = run(floor, text + after)
    assert (ok, stopped_at, problems) == (False, 7, [7])
    assert reason == "BOLT is not on job J-HOUSING's list (not confirmed with CMD:OK)"
    assert floor.stock("BOLT") == {("", "RCV"): 10}


def test_a_warning_answered_with_cancel_drops_the_line_and_goes_on(floor: Floor) -> None:
    result = replay(
        floor.handheld, transcript_lines(BOLTS_FOR_THE_HOUSING_JOB + "CMD:CANCEL\nCMD:DONE\n")
    )
    assert result.ok and result.stopped_at is None
    assert floor.stock("BOLT") == {("", "RCV"): 10}


def test_a_warning_confirmed_on_the_next_line_goes_on(floor: Floor) -> None:
    result = replay(
        floor.handheld, transcript_lines(BOLTS_FOR_THE_HOUSING_JOB + "CMD:OK\nCMD:DONE\n")
    )
    assert result.ok and result.stopped_at is None
    assert [line.response.level for line in result.lines][-3:] == [
        Level.WARNING,
        Level.OK,
        Level.OK,
    ]
    assert floor.stock("BOLT") == {("", "RCV"): 5}
    assert floor.agrees()


@pytest.mark.parametrize("separator", ["<GS>", GS], ids=["text", "raw"])
def test_gs_as_text_or_as_the_raw_character_separates_fields(floor: Floor, separator: str) -> None:
    text = f"OP:B1001\nCMD:RECEIVE\n240RESIN{separator}10R-1{separator}3012\n"
    result = replay(floor.handheld, transcript_lines(text))
    assert result.ok
    assert result.lines[-1].response.message == "Received RESIN"
    assert floor.stock("RESIN") == {("R-1", "RCV"): 12}


# A shift that leaves the handheld in every kind of state between its lines: signed in, in
# a workflow with a header, a line half scanned, a warning waiting, a workflow just done that
# CMD:UNDO reaches back into.
EVERY_STATE = """\
OP:B1001
CMD:RECEIVE
(240)RESIN(10)R-1(30)12
(240)BOLT
5
CMD:ISSUE
JOB:J-HOUSING
(240)BOLT(30)2
CMD:OK
CMD:DONE
CMD:UNDO
CMD:MOVE
(240)RESIN(10)R-1
4
LOC:A-01
CMD:DONE
"""


def test_the_handheld_put_back_from_its_state_goes_on_as_if_it_had_never_stopped(
    floor: Floor, tmp_path: Path
) -> None:
    other = Floor.on_plant(open_migrated(sqlite_url(tmp_path / "other.db")), floor.handheld.clock)
    for number, scan in transcript_lines(EVERY_STATE):
        kept = json.loads(json.dumps(handheld_state(floor.handheld)))
        floor.handheld = Handheld(floor.sessions, clock=floor.handheld.clock)
        restore_state(floor.handheld, kept)
        assert seen(floor.handheld.handle(scan)) == seen(other.handheld.handle(scan)), number
    assert floor.snapshot()[1] == other.snapshot()[1]


def seen(outcome: Outcome) -> tuple[object, ...]:
    """All of an outcome but the ids of the movements it recorded, new on each database."""
    response = outcome.response
    recorded = [each.text for each in response.recorded]
    return (
        outcome.operator,
        outcome.started,
        outcome.labels_queued,
        response.message,
        response.level,
        response.prompt,
        response.workflow,
        recorded,
        response.labels,
        response.awaiting_confirmation,
    )


@pytest.mark.parametrize(
    "workflow",
    [
        {"$": "object", "class": "subprocess:Popen", "value": {}},
        {"$": "object", "class": "scanner.workflows.state:StateError", "value": {}},
        {"$": "enum", "class": "os:system", "value": "true"},
        {"$": "pickle", "value": ""},
    ],
)
def test_a_state_never_makes_what_is_not_the_handheld_s(floor: Floor, workflow: object) -> None:
    state = {"operator": "B1001", "role": "floor", "workflow": workflow, "finished": None}
    with pytest.raises(StateError, match="The handheld's state does not read"):
        restore_state(floor.handheld, state)


# ---- the command ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    build_demo(home)
    return home


@pytest.fixture
def demo_db(demo_home: Path, tmp_path: Path) -> str:
    """A copy of the demo database for one test, so each replays on the same history."""
    return demo_copy(demo_home / "demo", tmp_path)


def test_the_first_shift_example_replays_on_the_demo(
    demo_home: Path, demo_db: str, tmp_path: Path
) -> None:
    result = lotscan("replay", "--db", demo_db, "examples/first-shift.txt", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "8 movements recorded"
    # The demo prints its labels into a folder of its workspace, and the replay says so.
    assert result.stderr == f"4 labels queued, 4 printed into {demo_home / 'demo' / 'labels'}\n"
    sessions = open_database(demo_db)
    try:
        with reading(sessions) as session:
            printed = session.scalars(select(PrintJob.status).order_by(PrintJob.id)).all()
    finally:
        sessions.kw["bind"].dispose()
    assert printed == ["printed"] * 4  # each label queued once, with its scan


def test_the_first_shift_example_as_json(demo_db: str, tmp_path: Path) -> None:
    result = lotscan("replay", "--json", "--db", demo_db, "examples/first-shift.txt", home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["ok"], report["recorded"], report["stopped_at"]) == (True, 8, None)
    assert report["labels_queued"] == 4
    assert report["lines"][0] == {
        "line": 3,
        "input": "OP:B1001",
        "level": "ok",
        "message": "Hello, Ana Souza",
        "prompt": "Scan a command: CMD:RECEIVE, ISSUE, ...",
        "recorded": [],
    }


def test_a_transcript_with_an_error_exits_1_naming_file_and_line(
    demo_db: str, tmp_path: Path
) -> None:
    shift = tmp_path / "shift.txt"
    shift.write_text("OP:B1001\n\nCMD:MOVE\n(240)OIL-HM46(10)OL-0401(17)261399\n")
    result = lotscan("replay", "--db", demo_db, str(shift), home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"lotscan: {shift}, line 4: The expiry date 261399 is not a real date (0 movements "
        "recorded before it; running it again resumes after line 3)"
    ]


def test_the_replay_says_which_end_of_a_generated_range_each_line_gave(
    demo_db: str, tmp_path: Path
) -> None:
    shift = tmp_path / "shift.txt"
    shift.write_text(
        "OP:B1001\nCMD:RECEIVE\n(240)OIL-HM46(17)280430(30)416\nCMD:GEN\nOL-0601\nOL-0602\n"
        "CMD:ASSIGN\nJOB:J-1003\nCMD:GEN\nGP10-0901\nGP10-0901\n"
    )
    result = lotscan("replay", "--db", demo_db, str(shift), home=tmp_path)
    assert result.returncode == 0, result.stderr
    said = result.stdout.splitlines()
    assert said[3:6] == [
        "   4      'CMD:GEN': OIL-HM46: the first lot (CMD:GEN again: the next from the pattern)",
        "   5      'OL-0601': OIL-HM46: the last lot, from OL-0601",
        "   6 ok   'OL-0602': Received OIL-HM46: 2 containers",
    ]
    assert said[-4:-1] == [
        "   9      'CMD:GEN': J-1003: the first lot (CMD:GEN again: the next from the pattern)",
        "  10      'GP10-0901': J-1003: the last lot, from GP10-0901",
        "  11 ok   'GP10-0901': Lot GP10-0901 assigned to J-1003",
    ]


# ---- lines refused, a full disk, and running a transcript again -------------------------------

# Line 5 cannot be read; line 8 breaks a rule (there are 5 L of OL-0801, not 50): each is
# refused at its line and records nothing, and the lines around them record.
REFUSALS = """\
OP:B1001
CMD:RECEIVE
LOC:RACK-A2
(240)OIL-HM46(10)OL-0801(17)280430(30)5
(240)OIL-HM46(17)281399(30)5
CMD:DONE
CMD:MOVE
(240)OIL-HM46(10)OL-0801(30)50
(240)OIL-HM46(10)OL-0801(30)5
LOC:RACK-A1
"""


def test_a_malformed_line_and_a_refused_scan_each_name_their_line_and_record_nothing(
    demo_db: str, tmp_path: Path
) -> None:
    shift = tmp_path / "shift.txt"
    shift.write_text(REFUSALS)
    result = lotscan("replay", "--keep-going", "--db", demo_db, str(shift), home=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[3:] == [
        "   4 ok   '(240)OIL-HM46(10)OL-0801(17)280430(30)5': Received OIL-HM46",
        "          + Received 5 L lot OL-0801",
        "   5 ERR  '(240)OIL-HM46(17)281399(30)5': The expiry date 281399 is not a real date",
        "   6 ok   'CMD:DONE': RECEIVE done: 1 line",
        "   7      'CMD:MOVE': MOVE: Scan the item to move",
        "   8 ERR  '(240)OIL-HM46(10)OL-0801(30)50': Only 5 L of lot OL-0801 of OIL-HM46 at "
        "RACK-A2, not 50",
        "   9      '(240)OIL-HM46(10)OL-0801(30)5': 5 L of lot OL-0801 of OIL-HM46 from RACK-A2",
        "  10 ok   'LOC:RACK-A1': Moved 5 L of lot OL-0801 of OIL-HM46 RACK-A2>RACK-A1",
        "          + Moved 5 L of lot OL-0801 of OIL-HM46 to RACK-A1",
        "2 movements recorded, 2 problem(s)",
    ]
    stock = lotscan("stock", "--lot", "OL-0801", "--json", "--db", demo_db, home=tmp_path)
    assert [(each["location"], each["qty"]) for each in json.loads(stock.stdout)] == [
        ("RACK-A1", 5)
    ]


# `lotscan` on a disk that holds `pages` pages of the database: SQLite's max_page_count, set
# on every connection, makes a write past it fail as a full disk does.
ON_A_SMALL_DISK = """\
import sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
pages = int(sys.argv.pop(1))
event.listen(Engine, "connect", lambda dbapi, _: dbapi.execute(f"PRAGMA max_page_count = {pages}"))
from scanner.cli import main
sys.exit(main(sys.argv[1:]))
"""
STOPPED = re.compile(
    r"^lotscan: .*shift\.txt, line (\d+): database error: database or disk is full "
    r"\((\d+) movements recorded before it; running it again resumes after line (\d+)\)$"
)


def receipts(count: int) -> str:
    drums = (f"(240)OIL-HM46(10)LT{n:04}(17)280430(30)5" for n in range(1, count + 1))
    return "\n".join(["OP:B1001", "CMD:RECEIVE", "LOC:RACK-A2", *drums]) + "\n"


def pages_of(url: str) -> int:
    sessions = open_database(url)
    try:
        with reading(sessions) as session:
            return int(session.execute(text("PRAGMA page_count")).scalar_one())
    finally:
        sessions.kw["bind"].dispose()


def test_a_full_disk_stops_the_replay_at_its_line_saying_what_was_recorded(
    demo_db: str, tmp_path: Path
) -> None:
    shift = tmp_path / "shift.txt"
    shift.write_text(receipts(60))
    pages = str(pages_of(demo_db) + 20)
    full = subprocess.run(
        [sys.executable, "-c", ON_A_SMALL_DISK, pages, "replay", "--db", demo_db, str(shift)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=lotscan_env(tmp_path),
        check=False,
    )
    assert full.returncode == 1
    stopped = STOPPED.match(full.stderr.splitlines()[0])
    assert stopped is not None, full.stderr
    line, recorded, kept = (int(each) for each in stopped.groups())
    assert 4 < line < 63 and kept == line - 1 and recorded == line - 4  # a receipt a line
    said = full.stdout.splitlines()
    assert said[-2].startswith(f"{line:>4} ERR  '(240)OIL-HM46(10)LT{line - 3:04}(17)")
    assert said[-2].endswith("': database error: database or disk is full")
    assert said[-1] == f"{recorded} movements recorded, 1 problem(s)"
    assert stock_of(demo_db, tmp_path) == recorded
    # With room on the disk, the same transcript goes on from the line that failed.
    again = lotscan("replay", "--db", demo_db, str(shift), home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0].startswith(f"{line:>4} ok   ")
    assert stock_of(demo_db, tmp_path) == 60


def stock_of(url: str, home: Path) -> int:
    """How many of the transcript's drums are on hand."""
    stock = lotscan("stock", "--part", "OIL-HM46", "--json", "--db", url, home=home)
    return sum(1 for each in json.loads(stock.stdout) if each["lot"].startswith("LT"))


# Line 5 asks for more than PO-7004's line: a warning that line 6 does not confirm.
OVER_THE_ORDER = """\
OP:B1001
CMD:RECEIVE
PO:PO-7004
(240)OIL-HM46(10)OL-0901(17)280430(30)100
(240)OIL-HM46(10)OL-0902(17)280430(30)9999
CMD:DONE
"""


def test_a_stopped_replay_resumes_at_its_line_once_the_file_is_put_right(
    demo_db: str, tmp_path: Path
) -> None:
    shift = tmp_path / "shift.txt"
    shift.write_text(OVER_THE_ORDER)
    stopped = lotscan("replay", "--db", demo_db, str(shift), home=tmp_path)
    assert stopped.returncode == 1
    assert stopped.stderr.splitlines()[0].endswith(
        "(not confirmed with CMD:OK) (1 movement recorded before it; running it again "
        "resumes after line 5)"
    )
    # The warning still waits: the same file stops at the same place, recording nothing.
    same = lotscan("replay", "--json", "--db", demo_db, str(shift), home=tmp_path)
    report = json.loads(same.stdout)
    assert (same.returncode, report["stopped_at"], report["lines"]) == (1, 5, [])
    assert (report["resumed_at"], report["recorded"]) == (6, 0)
    # Confirmed, it goes on from there, still in the RECEIVE on PO-7004 that line 4 was in.
    shift.write_text(OVER_THE_ORDER.replace("(30)9999\n", "(30)9999\nCMD:OK\n"))
    confirmed = lotscan("replay", "--json", "--db", demo_db, str(shift), home=tmp_path)
    report = json.loads(confirmed.stdout)
    assert confirmed.returncode == 0, confirmed.stderr
    assert [(each["line"], each["message"], each["prompt"]) for each in report["lines"]] == [
        (6, "Received OIL-HM46", "Scan item to RECV (PO-7004)"),
        (7, "RECEIVE done: 2 lines", "Scan a command: CMD:RECEIVE, ISSUE, ..."),
    ]
    # It reached the end: the next run starts from the top.
    assert "resuming" not in lotscan("replay", "--db", demo_db, str(shift), home=tmp_path).stderr


def test_a_transcript_changed_before_where_it_stopped_is_not_resumed(
    demo_db: str, tmp_path: Path
) -> None:
    shift = tmp_path / "shift.txt"
    shift.write_text(OVER_THE_ORDER)
    assert lotscan("replay", "--db", demo_db, str(shift), home=tmp_path).returncode == 1
    shift.write_text(OVER_THE_ORDER.replace("OL-0901", "OL-0911"))
    changed = lotscan("replay", "--db", demo_db, str(shift), home=tmp_path)
    assert (changed.returncode, changed.stdout) == (1, "")
    assert changed.stderr == (
        f"lotscan: {shift} changed before line 5, where an earlier replay of it stopped: put "
        "it back as it was to resume, or --restart to replay it from the top (what that "
        "replay recorded stays recorded)\n"
    )
    restarted = lotscan("replay", "--restart", "--db", demo_db, str(shift), home=tmp_path)
    assert restarted.stdout.splitlines()[0] == "   1 ok   'OP:B1001': Hello, Ana Souza"
    assert "Received 100 L lot OL-0911" in restarted.stdout
