"""The background sync: while the handheld is enrolled, push the queue and pull the store's
changes every half minute and soon after a scan records something; back off while the store
cannot be reached. Not enrolled, it only keeps the status line's numbers fresh.

`SyncLoop.run` is the body of a thread worker: it blocks on the network and the database,
never the event loop, and tells the app what it found through `report` (the app posts a
message, which is safe from any thread). Scans and syncs write the same SQLite database;
a sync keeps its write transactions short (`sync.device.client`), and the database waits up to 30
seconds for a lock, so a scan is never refused because a sync is under way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from scanner.clock import Clock
from scanner.db import database_reason, reading
from scanner.errors import LotscanError
from scanner.scan import ScanConfig, scan_config
from sync.device.backoff import Backoff
from sync.device.credentials import NotEnrolled, load_credentials
from sync.device.status import SyncStatus, sync_status

if TYPE_CHECKING:
    import httpx

    from sync.device.client import SupervisorClient, SyncReport

# The background sync gives up on a silent network sooner than the command line does: the
# app waits for it when the operator quits.
BACKGROUND_TIMEOUT = 5.0
MIN_RETRY = 1.0  # seconds: a jittered backoff may draw zero; never knock again at once
NUDGES_TOGETHER = 0.2  # seconds of a burst of scans taken as one nudge
LOOK_UP = 0.25  # seconds between looks at whether the app is closing


@dataclass(frozen=True)
class SyncNews:
    """What the loop learnt: the status now, and the report or the failure of the sync it
    just ran (neither when it only read the status)."""

    status: SyncStatus
    report: SyncReport | None = None
    failure: str | None = None
    config: ScanConfig | None = None
    """The scan settings the database holds now (`scanner.scan.scan_config`), read with the
    status: a site-wide one a sync has just pulled (`gs1_pairing`), or one set with
    `lotscan settings set` while the app ran, for the app to scan by from then on. None
    when they do not read."""


class SyncLink:
    """This handheld's way to the central store: its status, one sync, and a supervisor's
    client, all with the same database, token folder and (in tests) transport."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
        *,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        timeout: float = BACKGROUND_TIMEOUT,
    ) -> None:
        self.sessions = sessions
        self.folder = folder
        self.clock = clock
        self.transport = transport
        self.timeout = timeout

    def look(self) -> tuple[SyncStatus, ScanConfig | None]:
        """The status, and the scan settings the database holds (None when they do not
        read: the app keeps scanning by those it has), in one read."""
        with reading(self.sessions) as session:
            status = sync_status(session, self.folder)
            try:
                config = scan_config(session)
            except LotscanError:
                config = None
        return status, config

    def sync(self) -> SyncReport:
        # Imported at the first sync: a handheld that is not enrolled never loads httpx.
        from sync.device.client import sync_once

        return sync_once(
            self.sessions,
            self.folder,
            transport=self.transport,
            clock=self.clock,
            timeout=self.timeout,
        )

    def supervisor(self) -> SupervisorClient:
        """A client on the supervisor endpoints with this handheld's token; `NotEnrolled`
        when it has none."""
        from sync.device.client import SupervisorClient  # loaded when first needed, as in `sync`

        with reading(self.sessions) as session:
            credentials = load_credentials(self.folder, session)
        return SupervisorClient(
            credentials.url, credentials.token, transport=self.transport, timeout=self.timeout
        )


class SyncLoop:
    """Runs `link.sync()` now and then in its own thread until stopped (see module doc)."""

    def __init__(
        self,
        link: SyncLink,
        report: Callable[[SyncNews], object],
        *,
        interval: float = 30.0,
        soon: float = 2.0,
        backoff: Backoff | None = None,
    ) -> None:
        """`interval`: seconds between syncs while all is well; `soon`: how long after a
        scan recorded something the next sync starts; `backoff`: the waits after failures."""
        self.link = link
        self.report = report
        self.interval = interval
        self.soon = soon
        self.backoff = backoff or Backoff()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._cancelled: Callable[[], bool] = lambda: False

    def nudge(self) -> None:
        """A scan recorded a movement: show the new queue depth, and sync soon (unless the
        store is being given time to come back)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    @property
    def stopped(self) -> bool:
        if not self._stopped.is_set() and self._cancelled():
            self._stopped.set()
        return self._stopped.is_set()

    def run(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """The loop; returns once stopped (or `cancelled()`, looked at every moment).
        Never raises: a failure is news, not an end."""
        self._cancelled = cancelled
        next_sync = time.monotonic()  # enrolled: sync as soon as the app is up
        while not self.stopped:
            looked = self._look()
            now = time.monotonic()
            if looked is None:
                next_sync = max(next_sync, now + self.soon)  # the database is busy: soon
            elif looked[0].enrolled and now >= next_sync:
                next_sync = now + self._sync()
            else:
                status, config = looked
                self.report(SyncNews(status, config=config))
                if not status.enrolled:
                    next_sync = now + self.interval  # look again for an enrollment
            if self._nudged_before(next_sync) and self.backoff.failures == 0:
                next_sync = min(next_sync, time.monotonic() + self.soon)

    def _nudged_before(self, deadline: float) -> bool:
        """Sleeps until `deadline`, a nudge or a stop; True for a nudge. Nudges in a burst
        of scans are taken together: one status read for the lot, not one a scan."""
        while not self.stopped:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._wake.wait(min(remaining, LOOK_UP)):
                break
        if self.stopped:
            return False
        self._stopped.wait(NUDGES_TOGETHER)
        self._wake.clear()
        return not self.stopped

    def _sync(self) -> float:
        """One sync; the seconds to wait before the next."""
        from sync.device.client import (  # loaded with the sync, see `sync`
            DeviceRevoked,
            SyncRefused,
        )

        try:
            report = self.link.sync()
        except (DeviceRevoked, SyncRefused, NotEnrolled) as refusal:
            # Trying again at once will not help: look again at the usual pace.
            self._news(failure=str(refusal))
            return self.interval
        except (LotscanError, DBAPIError, OSError) as failure:
            wait = max(MIN_RETRY, self.backoff.failed())
            self._news(failure=_words(failure))
            return wait
        except Exception as failure:  # the loop must outlive any surprise
            self.backoff.failed()
            self._news(failure=f"Sync failed: {failure}")
            return self.interval
        self.backoff.reset()
        self._news(report=report)
        return self.interval

    def _news(self, *, report: SyncReport | None = None, failure: str | None = None) -> None:
        looked = self._look()
        if looked is not None:
            status, config = looked
            self.report(SyncNews(status, report, failure, config))

    def _look(self) -> tuple[SyncStatus, ScanConfig | None] | None:
        try:
            return self.link.look()
        except (LotscanError, DBAPIError, OSError):
            return None  # the next turn tries again


def _words(error: Exception) -> str:
    if isinstance(error, DBAPIError):
        return f"Sync stopped, database error: {database_reason(error)}"
    return str(error)
