"""Warnings the operator confirms with CMD:OK (F11) before a line is recorded.

A line that breaks no rule but looks wrong (an expired lot, more than the order or the job
asks) is not refused: the handheld says so and waits. CMD:OK takes the warnings one at a
time; CMD:CANCEL drops the line; any other scan is refused and changes nothing. Nothing is
recorded until every warning is confirmed.

A workflow keeps one `Confirmations` and uses it the same way each time:

    if self.confirmations.waiting:            # in handle(), before anything else of the line
        self.confirmations.take(scan)
        return self.next_step(context)
    ...
    if line_complete and self.confirmations.due:   # in next_step(), before recording
        self.confirmations.found(warnings_for(line))
    if self.confirmations.waiting:
        return self.confirmations.warning(self, context)
    return self.record(line, context)          # which calls self.confirmations.clear()

and `prompt()` answers `self.confirmations.prompt()` while one waits; `cancel()` clears.
A scan the engine refuses puts the workflow back as it was, these warnings with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scanner.scan import Scan, ScanKind
from scanner.workflows.base import Context, Level, Refusal, Response, Workflow


@dataclass
class Confirmations:
    """The warnings of the line in progress, looked for once, then confirmed one by one."""

    verb: str
    """What CMD:OK goes on to do: issue, receive, ship."""
    pending: list[str] = field(default_factory=list)
    looked: bool = False

    @property
    def due(self) -> bool:
        """Whether the line's warnings are still to be looked for."""
        return not self.looked

    @property
    def waiting(self) -> bool:
        """Whether a warning waits for CMD:OK."""
        return bool(self.pending)

    def found(self, warnings: Iterable[str]) -> None:
        """Keeps the line's warnings (there may be none), looked for once its line has all
        it needs and before anything is written."""
        self.pending, self.looked = list(warnings), True

    def prompt(self) -> str:
        return f"CMD:OK to {self.verb}, CMD:CANCEL not"

    def warning(self, workflow: Workflow, context: Context) -> Response:
        """The response that shows the first waiting warning and waits for CMD:OK."""
        return workflow.respond(context, self.pending[0], Level.WARNING, awaiting_confirmation=True)

    def take(self, scan: Scan) -> None:
        """CMD:OK confirms the first waiting warning; any other scan is refused."""
        if scan.kind == ScanKind.COMMAND and scan.value == "OK":
            self.pending.pop(0)
            return
        raise Refusal(f"{self.pending[0]}: scan CMD:OK to go on or CMD:CANCEL")

    def clear(self) -> None:
        """Forgets the warnings with their line, recorded or cancelled."""
        self.pending, self.looked = [], False

    def __deepcopy__(self, memo: dict[int, Any]) -> Confirmations:
        # The engine copies the workflow before every scan; strings need no copying.
        return Confirmations(self.verb, list(self.pending), self.looked)
