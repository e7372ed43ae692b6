"""T18: twenty handhelds syncing at once, against a real service on loopback, on SQLite and on
PostgreSQL (docs/architecture.md, "Fair under load"): each is answered before its background
sync gives up, never with the database's own lock error, and the store's invariants hold
afterwards (tests/support/sync_invariants.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sync.device.client import SyncFailed, SyncUnavailable, sync_once
from sync.device.loop import BACKGROUND_TIMEOUT
from tests.support.sync_over_http import Handheld, Site

DEVICES = 20
QUEUED = 10
"""Movements each handheld has waiting: every push writes while the others wait for their
turns (bench/sync_fairness.py pushes full batches of 500 and times them)."""
BUSY = "busy with other handhelds' pushes"
"""The store's own 503 when a push could not have its turn in time (sync.central.turns)."""


def receive_bolts(handheld: Handheld, count: int) -> None:
    for _ in range(count):
        handheld.record(lambda ledger: ledger.receive("BOLT", 1, "A-01"))


def sync_together(handhelds: list[Handheld]) -> dict[str, SyncFailed]:
    """Every handheld syncs once, all starting together, as the background sync does it
    (with its timeout); the failures, by handheld."""
    start = threading.Barrier(len(handhelds))
    failures: dict[str, SyncFailed] = {}

    def sync(handheld: Handheld) -> None:
        start.wait()
        try:
            sync_once(
                handheld.sessions,
                handheld.folder,
                transport=handheld.transport,
                clock=handheld.clock,
                timeout=BACKGROUND_TIMEOUT,
            )
        except SyncFailed as failure:
            failures[handheld.name] = failure

    with ThreadPoolExecutor(len(handhelds)) as pool:
        list(pool.map(sync, handhelds))
    return failures


def test_twenty_handhelds_pushing_at_once_are_each_answered_in_time(site: Site) -> None:
    handhelds = [site.enroll(f"handheld-{n}") for n in range(1, DEVICES + 1)]
    for handheld in handhelds:
        receive_bolts(handheld, QUEUED)

    failures = sync_together(handhelds)

    # Every push reached the store and was answered: a push still unanswered after the
    # handheld's timeout leaves no status. The one refusal allowed is the store saying it is
    # busy (503, the handheld keeps its queue and comes back); never the database's lock.
    pushes = [delivery for handheld in handhelds for delivery in handheld.transport.pushes()]
    assert len(pushes) >= DEVICES
    assert {delivery.status for delivery in pushes} <= {200, 503}
    for name, failure in failures.items():
        assert isinstance(failure, SyncUnavailable), f"{name}: {failure}"
        assert (failure.code, BUSY in str(failure)) == ("retry_later", True), f"{name}: {failure}"
    site.final_sync()
    assert site.violations() == []
    assert site.ledger_size() == DEVICES * QUEUED
