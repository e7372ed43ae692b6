"""`lotscan replay FILE`: a scan transcript through the same engine the handheld uses.

One input per line, exactly as the scanner sends it (GS as the raw 0x1D character or the
text `<GS>`); blank lines and lines starting with `#` are skipped. The first error, or a
warning that the next line does not answer (CMD:OK, or CMD:CANCEL to drop the line), stops
the replay and names its line, unless the caller keeps going. It is also how a batch
scanner's dump is loaded. Each line is one `Handheld.handle`, so the labels it made due are
queued with its movements, by the handheld's own print hook.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scanner.errors import LotscanError
from scanner.plain_text import shown_lines
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
            "lines": [line.as_json() for line in self.lines],
        }


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


def replay(
    handheld: Handheld, inputs: Iterable[tuple[int, str]], keep_going: bool = False
) -> Replay:
    result = Replay()
    waiting: ReplayedLine | None = None  # a warning the next input must confirm
    for number, text in inputs:
        if waiting is not None and not _confirms(handheld, text):
            result.problems.append(waiting)
            if not keep_going:
                result.stopped_at, result.reason = waiting.number, _unconfirmed(waiting)
                return result
        line = ReplayedLine(number, text, handheld.handle(text))
        response = line.response
        result.lines.append(line)
        waiting = line if response.awaiting_confirmation else None
        if response.level == Level.ERROR:
            result.problems.append(line)
            if not keep_going:
                result.stopped_at, result.reason = number, response.message
                return result
    if waiting is not None:
        result.problems.append(waiting)
        if not keep_going:
            result.stopped_at, result.reason = waiting.number, _unconfirmed(waiting)
    return result


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
    """One line per input: its number, the feedback, and what it recorded; each line
    `shown`, since the feedback names what the database holds."""
    marks = {Level.OK: "ok ", Level.INFO: "   ", Level.WARNING: "WARN", Level.ERROR: "ERR"}
    out = []
    for line in result.lines:
        response = line.response
        out.append(f"{line.number:>4} {marks[response.level]:<4} {line.text!r}: {response.message}")
        out += [f"          + {each.text}" for each in response.recorded]
    out.append(
        f"{result.recorded} movement{'s' if result.recorded != 1 else ''} recorded"
        + ("" if result.ok else f", {len(result.problems)} problem(s)")
    )
    return shown_lines(out)
