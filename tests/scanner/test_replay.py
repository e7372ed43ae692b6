"""`lotscan replay` (docs/architecture.md, "Transcripts"): a transcript through the engine,
stopping at the first error or unconfirmed warning with the file's line number; in-process
and as the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.db import open_database, reading
from scanner.models import PrintJob
from scanner.replay import format_replay, replay, transcript_lines
from scanner.workflows.base import Level
from tests.support.demo_workspace import build_demo, demo_copy, lotscan
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
        f"lotscan: {shift}, line 4: The expiry date 261399 is not a real date"
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
