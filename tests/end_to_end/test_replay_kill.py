"""`lotscan replay` killed with SIGKILL midway through a long transcript, then run again
(docs/architecture.md, "Transcripts"): what it printed is what it recorded, every scan that
committed has its label queued, and the second run resumes where the first stopped and
ends as one uninterrupted replay of the transcript ends.

The kill lands at a known point without a sleep: the replay writes into a pipe of one page
that the test stops reading after a number of lines, so the replay cannot get far past them
(it blocks on its next result) and cannot have finished.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.db import open_database, reading
from scanner.models import Movement, PrintJob
from scanner.replay import transcript_lines
from tests.support.demo_workspace import ROOT, build_demo, demo_copy, lotscan, lotscan_env

BLOCKS = 60
LINES_BEFORE_THE_KILL = 40
PIPE_SIZE = 4096  # one page: the least a Linux pipe holds
RESULT = re.compile(
    r"^ *(\d+) (?:ok  |    |WARN|ERR ) '"
)  # `  12 ok   'LT0004': Received OIL-HM46`
SHIFT_LABEL = re.compile(r"^lot (L[TX]\d{4}) of OIL-HM46")
RESUMING = re.compile(r"^lotscan: .*shift\.txt: resuming after line (\d+), where an earlier")
CHILD_TIMEOUT = 120.0  # seconds; far longer than any replay here needs


def long_shift() -> str:
    """Receipts of lot-tracked drums, each label due with its receipt: most take two scans
    (the item, then its lot), an expired one a third (the warning's CMD:OK), and every tenth
    is undone after its workflow is done, so a kill can land in the middle of a line, on a
    warning, or between CMD:DONE and CMD:UNDO."""
    lines = ["OP:B1001", "CMD:RECEIVE", "LOC:RACK-A2"]
    for n in range(1, BLOCKS + 1):
        if n % 4 == 0:
            lines += ["(240)OIL-HM46(17)200101(30)5", f"LX{n:04}", "CMD:OK"]
        else:
            lines += ["(240)OIL-HM46(17)280430(30)5", f"LT{n:04}"]
        if n % 10 == 0:
            lines += ["CMD:DONE", "CMD:UNDO", "CMD:RECEIVE", "LOC:RACK-A2"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("home"))


@pytest.fixture
def shift(tmp_path: Path) -> Path:
    path = tmp_path / "shift.txt"
    path.write_text(long_shift())
    return path


def results(stdout: str) -> list[tuple[int, list[str]]]:
    """Each result line's number and the movements printed under it."""
    said: list[tuple[int, list[str]]] = []
    for text in stdout.splitlines():
        if (number := RESULT.match(text)) is not None:
            said.append((int(number.group(1)), []))
        elif text.startswith("          + "):
            said[-1][1].append(text.removeprefix("          + "))
    return said


def ledger(url: str) -> tuple[list[tuple[str, str, str | None, object]], list[tuple[str, str]]]:
    """The movements by kind, part, lot and quantity, in the order recorded, and the print
    queue's labels with their status."""
    sessions = open_database(url)
    try:
        with reading(sessions) as session:
            movements = session.execute(
                select(Movement.kind, Movement.part, Movement.lot, Movement.qty).order_by(
                    Movement.device_seq
                )
            ).all()
            labels = session.execute(
                select(PrintJob.description, PrintJob.status).order_by(PrintJob.id)
            ).all()
    finally:
        sessions.kw["bind"].dispose()
    return [tuple(each) for each in movements], [tuple(each) for each in labels]  # type: ignore[misc]


def kept_places(url: str) -> list[int]:
    from scanner.models import ReplayPlace

    sessions = open_database(url)
    try:
        with reading(sessions) as session:
            return list(session.scalars(select(ReplayPlace.line)))
    finally:
        sessions.kw["bind"].dispose()


@pytest.fixture
def killed_replay(demo: Path, shift: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A replay on a copy of the demo, killed with SIGKILL once it has printed
    `LINES_BEFORE_THE_KILL` results; yields the database's URL and all it printed."""
    (folder := tmp_path / "killed").mkdir()
    url = demo_copy(demo, folder)
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    with (
        open(tmp_path / "stderr", "w") as stderr,
        subprocess.Popen(
            [sys.executable, "-m", "scanner", "replay", "--db", url, str(shift)],
            stdout=write_end,
            stderr=stderr,
            cwd=ROOT,
            env=lotscan_env(tmp_path),
        ) as child,
    ):
        os.close(write_end)
        with os.fdopen(read_end, encoding="utf-8") as stdout:
            printed = [stdout.readline() for _ in range(LINES_BEFORE_THE_KILL)]
            child.send_signal(signal.SIGKILL)
            assert child.wait(CHILD_TIMEOUT) == -signal.SIGKILL, "the replay had finished"
            printed.append(stdout.read())
    yield url, "".join(printed)


def test_a_killed_replay_printed_what_it_recorded_and_queued_each_label(
    demo: Path, shift: Path, tmp_path: Path, killed_replay: tuple[str, str]
) -> None:
    url, printed = killed_replay
    whole = lotscan("replay", "--db", demo_copy(demo, tmp_path), str(shift), home=tmp_path)
    assert whole.returncode == 0, whole.stderr
    everything = results(whole.stdout)
    seen = results(printed)
    # What it printed is true: the uninterrupted replay printed the same, line for line.
    assert seen == everything[: len(seen)]
    # What it recorded is what it printed, and at most the one line after it, which
    # committed as it was killed before printing.
    movements, labels = ledger(url)
    (baseline := tmp_path / "baseline").mkdir()
    before, _ = ledger(demo_copy(demo, baseline))
    assert movements[: len(before)] == before
    recorded = movements[len(before) :]
    printed_through = [len(said) for _, said in everything[: len(seen)]]
    one_more = [len(said) for _, said in everything[: len(seen) + 1]]
    assert len(recorded) in (sum(printed_through), sum(one_more))
    # Each receipt's label is queued with it, waiting for the printer the kill never reached.
    received = {lot for kind, _, lot, _ in recorded if kind == "receive"}
    queued = {
        (found.group(1), status)
        for text, status in labels
        if (found := SHIFT_LABEL.match(text)) is not None
    }
    assert queued == {(lot, "waiting") for lot in received}


def test_running_a_killed_replay_again_ends_as_an_uninterrupted_one(
    demo: Path, shift: Path, tmp_path: Path, killed_replay: tuple[str, str]
) -> None:
    url, printed = killed_replay

    again = lotscan("replay", "--db", url, str(shift), home=tmp_path)

    (folder := tmp_path / "whole").mkdir()
    whole_url = demo_copy(demo, folder)
    whole = lotscan("replay", "--db", whole_url, str(shift), home=tmp_path)
    assert (again.returncode, whole.returncode) == (0, 0), again.stderr + whole.stderr
    assert ledger(url) == ledger(whole_url)
    # It said where it resumed: after the last line it printed, or the one after that.
    resuming = RESUMING.match(again.stderr)
    assert resuming is not None, again.stderr
    place = int(resuming.group(1))
    last_printed = results(printed)[-1][0]
    numbers = [number for number, _ in transcript_lines(long_shift())]
    assert place in numbers[numbers.index(last_printed) : numbers.index(last_printed) + 2]
    assert [number for number, _ in results(again.stdout)] == numbers[numbers.index(place) + 1 :]
    # Both reached the end: the next run of the transcript starts from the top.
    assert kept_places(url) == kept_places(whole_url) == []
