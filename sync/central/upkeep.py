"""Work the central store's service does beside its requests, from a thread of its own:
SQLite's checkpoints (`sync.central.checkpoints`) and, on a PostgreSQL server without
autovacuum, the analysis of the store's tables (`sync.central.analyze`). `serve` starts the
one its database needs and stops it when the service stops."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

log = logging.getLogger(__name__)


class Upkeep:
    """A step run every `every` seconds from a thread of its own, from `start` until
    `stop`. A step that fails is said once in the log, and tried again at the next turn."""

    name = "upkeep"

    def __init__(self, engine: Engine, every: float) -> None:
        self.engine = engine
        self.every = every
        self.notice: str | None = None
        """What the service says when it starts, if anything (after `start`)."""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Starts the thread when this database needs it; whether it did."""
        if not self._needed():
            return False
        self._thread = threading.Thread(target=self._run, name=f"lotscan-{self.name}", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _needed(self) -> bool:
        """Prepares the upkeep; whether its thread is needed."""
        return True

    def _step(self) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """After the last step, in the thread."""

    def _run(self) -> None:
        failing = False
        try:
            while not self._stopping.wait(self.every):
                try:
                    self._step()
                    failing = False
                except Exception:  # the service goes on without it, and says so once
                    if not failing:
                        log.exception("the store's %s failed; trying again", self.name)
                    failing = True
        finally:
            self._finish()
