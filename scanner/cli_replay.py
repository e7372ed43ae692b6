"""`lotscan replay FILE [--json] [--keep-going] [--restart]`: a scan transcript through the
handheld's engine (docs/architecture.md, "Transcripts"), each line's result printed as soon
as it is committed, resumable after a kill, a full disk or a stop. `scanner/cli.py` adds the
command with `add_replay_parser`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.db import database_reason, open_database, reading
from scanner.errors import LotscanError
from scanner.plain_text import shown
from scanner.workspace import database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from scanner.replay import Replay, ReplayedLine
    from scanner.replay_place import PlaceKeeper


def add_replay_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="run a scan transcript through the workflows",
        description="Runs a scan transcript through the handheld's workflows, printing each "
        "line's result as it is recorded. A replay that was killed or stopped (an error, an "
        "unconfirmed warning, a full disk) keeps its place in the database: running the same "
        "file again resumes after the last line it recorded, signed in and in the same "
        "workflow, and says so on standard error. A replay that reaches the end forgets its "
        "place.",
    )
    replay.add_argument("file", type=Path, metavar="FILE", help="one scan per line")
    replay.add_argument("--json", action="store_true", help="JSON for programs")
    replay.add_argument(
        "--keep-going", action="store_true", help="go on past errors and unconfirmed warnings"
    )
    replay.add_argument(
        "--restart",
        action="store_true",
        help="forget where an earlier replay of FILE stopped and replay it from the top "
        "(what that replay recorded stays recorded)",
    )
    replay.set_defaults(handler=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    from scanner.cli import queue_labels
    from scanner.replay import replay, transcript_lines
    from scanner.replay_place import PlaceKeeper
    from scanner.scan import scan_config
    from scanner.workflows.engine import Handheld

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LotscanError(
            f"Cannot read {args.file}: {getattr(error, 'strerror', error)}"
        ) from None
    inputs = transcript_lines(text)
    sessions = open_database(database_url(args.db))
    with reading(sessions) as session:
        config = scan_config(session)
    handheld = Handheld(sessions, config=config, queue_labels=queue_labels)
    place = PlaceKeeper(sessions, args.file, inputs)
    place.keep(handheld)
    resumed = place.resume(restart=args.restart)
    if resumed is not None:
        print(
            shown(
                f"lotscan: {args.file}: resuming after line {resumed.line}, where an earlier"
                " replay stopped (--restart replays it from the top)"
            ),
            file=sys.stderr,
        )
    printer = _JsonPrinter() if args.json else _TextPrinter()
    result = replay(
        handheld, inputs, args.keep_going, show=printer.line, place=place, resumed=resumed
    )
    printer.end(result)
    if result.stopped_at is not None:
        stopped = f"{args.file}, line {result.stopped_at}: {_stopped(result, place)}"
        print(f"lotscan: {shown(stopped)}", file=sys.stderr)
    if result.labels_queued:
        _print_labels_queued(sessions, result.labels_queued)
    return 0 if result.ok else 1


def _stopped(result: Replay, place: PlaceKeeper) -> str:
    """Why the replay stopped, what it recorded before, and where running it again goes on."""
    recorded = f"{result.recorded} movement{'s' if result.recorded != 1 else ''}"
    kept = place.recorded_place()
    again = "from the top" if kept is None else f"after line {kept}"
    return f"{result.reason} ({recorded} recorded before it; running it again resumes {again})"


class _TextPrinter:
    """Each line as `format_line` writes it, flushed as soon as it is recorded."""

    def line(self, line: ReplayedLine) -> None:
        from scanner.replay import format_line

        print(format_line(line), flush=True)

    def end(self, result: Replay) -> None:
        from scanner.replay import format_summary

        print(format_summary(result), flush=True)


class _JsonPrinter:
    """The `replay` JSON shape (docs/architecture.md, "JSON shapes") written as it goes: the
    lines first, one per line of output and flushed, the totals after them."""

    def __init__(self) -> None:
        self.started = False

    def line(self, line: ReplayedLine) -> None:
        sys.stdout.write((", " if self.started else '{"lines": [\n  ') + json.dumps(line.as_json()))
        sys.stdout.write("\n")
        sys.stdout.flush()
        self.started = True

    def end(self, result: Replay) -> None:
        sys.stdout.write(("]" if self.started else '{"lines": []') + ",\n")
        totals = {key: value for key, value in result.as_json().items() if key != "lines"}
        sys.stdout.write(json.dumps(totals, indent=2)[1:].lstrip("\n") + "\n")
        sys.stdout.flush()


def _print_labels_queued(sessions: sessionmaker[Session], queued: int) -> None:
    """Tries to print the labels a replay queued, saying how it went on standard error. A
    printer that does not answer leaves them waiting and is no failure: the movements and
    their labels are recorded."""
    from sqlalchemy.exc import DBAPIError

    from labels.queue import deliver_waiting

    line = f"{queued} label{'s' if queued != 1 else ''} queued, "
    try:
        report = deliver_waiting(sessions)
    except DBAPIError as error:  # the disk the replay stopped on is still full
        line += f"none printed: database error: {database_reason(error)}"
        print(shown(f"{line} (lotscan print-queue deliver tries again)"), file=sys.stderr)
        return
    line += f"{len(report.printed)} printed{report.where()}"
    if report.waiting:
        line += f", {len(report.waiting)} still waiting"
        line += f" ({report.reason()}; lotscan print-queue deliver tries again)"
    print(shown(line), file=sys.stderr)
