"""Writers take turns, in the order they came (docs/architecture.md, "Fair under load").

Every push writes the change log's clock row, so the store applies one push at a time
whatever the database. Left to the database, the pushes waiting for it are not served in
order: SQLite's busy handler has each waiter sleep and try again (up to 100 ms apart), so a
push that just arrived often takes the lock before one that has waited seconds, and with 20
handhelds pushing at once one push waited 12.7 s, past the handheld's timeout. PostgreSQL
queues lock waiters in order, but 20 pushes want more connections than the pool keeps, and
the pool's waiters are not served in order either.

`Turns` is the queue in front: a request that writes waits here, holding no connection and
no lock, until those before it are done; then it has the database to itself. One that has
been in the service `patience` seconds (counted from its arrival, body reading included)
without its turn gives up its place and is answered 503
`retry_later` with Retry-After: the handheld keeps its queue and comes back, where waiting on
would have had it time out with no answer. A service of several processes has a queue in
each; the database still serializes them, as before.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from sync.central.errors import SyncError

PATIENCE = 2.0
"""Seconds a writer waits for its turn. The handheld's background sync gives up after 5 s
(`sync.device.loop.BACKGROUND_TIMEOUT`, the command line after 10): 2 s leaves 3 for reading
the body, the push's own work and the way back. With 3 s, 20 devices pushing full batches at
once on a 2-core machine under a load of 6 saw a longest answer of 4.8 s (a push of 500 alone
took 0.27 s there, and the body's parsing and other pushes share the cores)."""

CONSOLE_PATIENCE = 10.0
"""Seconds a console form waits for its turn. A person who pressed a button waits longer
than a handheld's background sync, and a console write is short: it takes its place in the
line of pushes rather than overtaking them in SQLite's busy loop."""


class StoreBusy(SyncError):
    """A writer that did not get its turn in time: nothing was done, so the client retries."""

    def __init__(self, waited: float) -> None:
        super().__init__(
            503,
            "retry_later",
            f"The central store is busy with other handhelds' pushes (waited {waited:.1f} s for"
            " a turn); nothing was recorded: try again shortly",
        )


class Turns:
    """A first-come, first-served lock with a limit on the wait (see the module)."""

    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self._guard = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        """The head holds the turn; each of the rest is set when it reaches the head."""

    @contextmanager
    def turn(self, arrived: float | None = None, patience: float | None = None) -> Iterator[None]:
        """Waits for this writer's turn, holds it for the block, then hands it on.
        `arrived` (`time.monotonic()`) is when the request came in: reading and checking
        its body count against the patience too, since the client's clock runs from its
        sending. `patience` replaces the queue's own for this writer. A writer whose turn
        comes at once never gives up."""
        start = time.monotonic()
        waits = self.patience if patience is None else patience
        left = waits - (start - arrived if arrived is not None else 0.0)
        mine = threading.Event()
        with self._guard:
            self._waiting.append(mine)
            if self._waiting[0] is mine:
                mine.set()
        if not mine.wait(max(0.0, left)):
            with self._guard:
                if not mine.is_set():  # not handed the turn in the meantime
                    self._waiting.remove(mine)
                    raise StoreBusy(time.monotonic() - start)
        try:
            yield
        finally:
            with self._guard:
                self._waiting.popleft()
                if self._waiting:
                    self._waiting[0].set()

    @property
    def queued(self) -> int:
        """Writers holding or waiting for a turn now."""
        with self._guard:
            return len(self._waiting)
