"""`lotscan replay FILE`: a scan transcript through the same engine the handheld uses.

One input per line, exactly as the scanner sends it (GS as the raw 0x1D character or the
text `<GS>`); blank lines and lines starting with `#` are skipped. The first error, or a
warning that the next line does not answer (CMD:OK, or CMD:CANCEL to drop the line), stops
the replay and names its line, unless the caller keeps going; a database that fails (a
full disk) stops it at its line whatever the caller says. It is also how a batch scanner's
dump is loaded. Each line is one `Handheld.handle`, so the labels it made due are queued
with its movements, by the handheld's own print hook, and its result is shown as soon as it
is committed. With a `PlaceKeeper` the replay keeps its place with each scan and resumes
after the place an earlier run of the same transcript left (`scanner.replay_place`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError

from scanner.db import database_reason
from scanner.errors import LotscanError
from scanner.plain_text import shown_lines
from scanner.replay_place import PlaceKeeper, Resumed
from scanner.scan import ScanKind, read_scan
from scanner.workflows.base import Level, Response
from scanner.workflows.engine import Handheld, Outcome


@dataclass(frozen=True)
class ReplayedLine:
    number: int
    text: str
    outcome: Outcome

    @property
    def response(self) -> Response:
        return self.outcome.response

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.number,
            "input": self.text,
            "level": self.response.level.value,
            "message": self.response.message,
            "prompt": self.response.prompt,
            "recorded": [each.text for each in self.response.recorded],
        }


@dataclass
class Replay:
    lines: list[ReplayedLine] = field(default_factory=list)
    stopped_at: int | None = None
    reason: str | None = None
    problems: list[ReplayedLine] = field(default_factory=list)
    resumed_at: int | None = None
    """The first line this run replayed, when it resumed where an earlier run stopped."""

    @property
    def ok(self) -> bool:
        return self.stopped_at is None and not self.problems

    @property
    def recorded(self) -> int:
        return sum(len(line.response.recorded) for line in self.lines)

    @property
    def labels_queued(self) -> int:
        return sum(line.outcome.labels_queued for line in self.lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "recorded": self.recorded,
            "labels_queued": self.labels_queued,
            "stopped_at": self.stopped_at,
            "reason": self.reason,
            "resumed_at": self.resumed_at,
            "lines": [line.as_json() for line in self.lines],
        }

    def stop(self, line: ReplayedLine, reason: str) -> Replay:
        self.stopped_at, self.reason = line.number, reason
        return self


# Only CR, LF and CRLF end a line: str.splitlines would also split on GS (0x1D), which
# separates the fields of one GS1 scan.
_LINE_END = re.compile(r"\r\n|\r|\n")


def transcript_lines(text: str) -> list[tuple[int, str]]:
    """The inputs of a transcript with their line numbers; blanks and comments left out."""
    inputs = []
    for number, scan in enumerate(_LINE_END.split(text), start=1):
        if not scan.strip() or scan.lstrip().startswith("#"):
            continue
        inputs.append((number, scan))
    return inputs


ShowLine = Callable[[ReplayedLine], None]
"""How a front end shows a line's result as soon as it is committed."""


def replay(
    handheld: Handheld,
    inputs: Iterable[tuple[int, str]],
    keep_going: bool = False,
    *,
    show: ShowLine | None = None,
    place: PlaceKeeper | None = None,
    resumed: Resumed | None = None,
) -> Replay:
    """Runs `inputs` through `handheld` in order; with `resumed`, only those after the line
    an earlier run stopped at, the handheld already put back as it was there."""
    result = Replay()
    waiting = None if resumed is None else _still_waiting(handheld, resumed)
    for number, text in inputs:
        if resumed is not None and number <= resumed.line:
            continue
        if result.resumed_at is None and resumed is not None:
            result.resumed_at = number
        if waiting is not None and not _confirms(handheld, text):
            result.problems.append(waiting)
            if not keep_going:
                return result.stop(waiting, _unconfirmed(waiting))
        if place is not None:
            place.at = (number, text)
        line, failed = _handled(handheld, number, text)
        result.lines.append(line)
        if show is not None:
            show(line)
        waiting = line if line.response.awaiting_confirmation else None
        if line.response.level == Level.ERROR:
            result.problems.append(line)
            if failed or not keep_going:
                return result.stop(line, line.response.message)
    if waiting is not None:
        result.problems.append(waiting)
        if not keep_going:
            return result.stop(waiting, _unconfirmed(waiting))
    if place is not None:
        place.forget()
    return result


def _handled(handheld: Handheld, number: int, text: str) -> tuple[ReplayedLine, bool]:
    """The line as the handheld handled it, and whether the database failed under it (a
    full disk): the scan is then rolled back, and no later line can fare better."""
    try:
        return ReplayedLine(number, text, handheld.handle(text)), False
    except DBAPIError as error:
        problem = f"database error: {database_reason(error)}"
        return ReplayedLine(number, text, handheld.failed(problem)), True


def _still_waiting(handheld: Handheld, resumed: Resumed) -> ReplayedLine | None:
    """The warning the earlier run stopped after, which the next line must still confirm."""
    if resumed.waiting is None:
        return None
    warning = Response(
        prompt=handheld.prompt(),
        message=resumed.waiting.message,
        level=Level.WARNING,
        awaiting_confirmation=True,
    )
    outcome = Outcome(warning, handheld.operator, False)
    return ReplayedLine(resumed.waiting.line, resumed.waiting.text, outcome)


def _confirms(handheld: Handheld, text: str) -> bool:
    """Whether `text` answers a warning: CMD:OK goes on, CMD:CANCEL deliberately drops the
    line. Anything else leaves the warning unconfirmed."""
    try:
        scan = read_scan(text, handheld.config)
    except LotscanError:
        return False
    return scan.kind == ScanKind.COMMAND and scan.value in ("OK", "CANCEL")


def _unconfirmed(line: ReplayedLine) -> str:
    return f"{line.response.message} (not confirmed with CMD:OK)"


def format_replay(result: Replay) -> str:
    """One line per input: its number, the feedback, and what it recorded."""
    return "\n".join([*(format_line(line) for line in result.lines), format_summary(result)])


_MARKS = {Level.OK: "ok ", Level.INFO: "   ", Level.WARNING: "WARN", Level.ERROR: "ERR"}


def format_line(line: ReplayedLine) -> str:
    """An input's number, the feedback, and each movement it recorded on a line of its own."""
    response = line.response
    out = [f"{line.number:>4} {_MARKS[response.level]:<4} {line.text!r}: {response.message}"]
    out += [f"          + {each.text}" for each in response.recorded]
    return shown_lines(out)


def format_summary(result: Replay) -> str:
    return f"{result.recorded} movement{'s' if result.recorded != 1 else ''} recorded" + (
        "" if result.ok else f", {len(result.problems)} problem(s)"
    )
