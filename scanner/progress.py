"""Progress of a long command on a terminal: a count on one line of standard error,
rewritten at most a few times a second, and nothing at all when standard error is not a
terminal (a script's log stays clean)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

INTERVAL = 0.25
"""Seconds between two rewrites of the line."""


class Progress:
    """Counts what a command has done (`advance`) and shows it as "what: 12,345"; `done`
    ends the line."""

    def __init__(self, what: str, stream: TextIO | None = None) -> None:
        self.what = what
        self.stream = sys.stderr if stream is None else stream
        self.count = 0
        self._shown_at = 0.0
        self._showing = self.stream.isatty()

    def advance(self, by: int = 1) -> None:
        self.count += by
        if self._showing and time.monotonic() - self._shown_at >= INTERVAL:
            self._show()

    def done(self) -> None:
        if self._showing:
            self._show()
            self.stream.write("\n")
            self.stream.flush()

    def _show(self) -> None:
        self._shown_at = time.monotonic()
        self.stream.write(f"\r{self.what}: {self.count:,}")
        self.stream.flush()
