"""SQLite's checkpoints beside the pushes, not in them (docs/architecture.md, "Measured fast
paths").

In WAL mode a commit appends the pages it changed to the write-ahead log, and by default the
commit that takes the log past 1,000 pages then copies the log back into the database file
and syncs it: a checkpoint, paid by whichever push happened to cross the line, while the
handheld waits for its answer. The central store's service instead turns that off on its own
connections and runs a passive checkpoint from a thread of its own every quarter of a
second. SQLite does the copying without Python's lock, so it runs on the other core while
the next push is read and judged.

Nothing about durability changes: every commit still syncs the log (synchronous=FULL), and a
checkpoint syncs the database file before the log is reused. A passive checkpoint never
waits for a writer or a reader; what it cannot copy now, the next one does. The last
connection to close checkpoints what is left, as SQLite always does.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, event

from sync.central.upkeep import Upkeep

EVERY = 0.25
"""Seconds between two checkpoints. A push of 500 adds some 150 pages to the log, and
SQLite's own line is 1,000."""


class Checkpointer(Upkeep):
    """Runs SQLite's checkpoints for the service on `engine` from a thread of its own (see
    the module), until `stop`."""

    name = "checkpoints"

    def __init__(self, engine: Engine, every: float = EVERY) -> None:
        super().__init__(engine, every)
        self.checkpoints = 0
        """How many checkpoints ran (for tests)."""
        self._connection: sqlite3.Connection | None = None

    def _needed(self) -> bool:
        """Turns off the checkpoints in the engine's commits. The pool is emptied so that
        every connection it opens from now on is set so."""
        event.listen(self.engine, "connect", _no_checkpoint_in_commits)
        self.engine.dispose()
        return True

    def _step(self) -> None:
        if self._connection is None:
            database = self.engine.url.database
            assert database is not None
            self._connection = sqlite3.connect(database, timeout=30, isolation_level=None)
            self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.checkpoints += 1

    def _finish(self) -> None:
        if self._connection is not None:
            self._connection.close()


def _no_checkpoint_in_commits(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()
