"""The handheld's sync as an operator and a supervisor meet it: enrolling, pushing the queue
and pulling changes, against a small stand-in store (httpx.MockTransport) that keeps the
protocol's promises, and a network that fails in the ways Wi-Fi does. Whatever fails, the
queue is kept, nothing is sent twice to effect, and the message says what to do."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import literal_column, make_url, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.balance_check import cache_differences
from scanner.db import open_database, reading, unit_of_work
from scanner.ledger import Ledger
from scanner.models import Balance, Movement, Part, Setting
from scanner.settings import (
    DEVICE_ID,
    PULL_CURSOR,
    SYNC_URL,
    SettingKey,
    read_setting,
    stored_text,
    write_setting,
)
from scanner.workspace import sqlite_url
from sync.central.enrollment import issue_code
from sync.central.service import create_app, prepare_central
from sync.central.supervision import device_rows
from sync.device.backoff import Backoff
from sync.device.cli import add_device_parsers
from sync.device.client import (
    DeviceRevoked,
    SupervisorClient,
    SyncGap,
    SyncRefused,
    SyncReport,
    SyncUnavailable,
    enroll_handheld,
    sync_once,
)
from sync.device.credentials import NotEnrolled, read_token, token_folder, token_path
from sync.device.outbox import pending_movements, queue_stats
from sync.device.status import sync_status
from sync.protocol import (
    Change,
    EnrollRequest,
    MovementOutcome,
    OutcomeStatus,
    PullResponse,
    PushRequest,
    PushResponse,
    movement_hash,
    row_data,
)
from tests.conftest import NOW
from tests.support.databases import open_migrated
from tests.support.plant import add_plant
from tests.support.sync_invariants import Handheld as Checked
from tests.support.sync_invariants import violations
from tests.support.sync_over_http import ROOT, Fault, FaultyTransport, ServiceThread

URL = "http://store.test:8470"
DEVICE = "H7KQ"
TOKEN = "token-of-H7KQ"
CODE = "X7-K2M9"
SUMMARY_KEYS = {
    "pushed", "applied", "flagged", "held", "rejected", "pending", "pulled", "decisions",
    "decisions_pending",
}  # fmt: skip

# ---- a stand-in for the central store --------------------------------------------------------


@dataclass
class FakeStore:
    """Just enough of the central store: enrollment, push with the per-device numbering
    rules (duplicate, next, gap), and pull over a change log. Outcomes are `applied` unless
    a test says otherwise for a number."""

    device: str = DEVICE
    token: str = TOKEN
    last_applied: int = 0
    entries: dict[int, tuple[str, MovementOutcome]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    clock_seq: int = 0
    verdicts: dict[int, OutcomeStatus] = field(default_factory=dict)
    failure: tuple[int, dict[str, str]] | None = None
    pushes: list[PushRequest] = field(default_factory=list)
    pulls: list[int] = field(default_factory=list)
    page: int = 1000
    reset_cursors: set[int] = field(default_factory=set)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.failure is not None:
            status, body = self.failure
            return httpx.Response(status, json=body)
        path = request.url.path
        if path == "/v1/devices/enroll":
            return self.enroll(json.loads(request.content))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"error": "unauthorized", "message": "no"})
        if path == "/v1/sync/push":
            return self.push(PushRequest.model_validate_json(request.content))
        if path == "/v1/sync/pull":
            return self.pull(int(request.url.params["cursor"]), int(request.url.params["limit"]))
        return httpx.Response(404, json={"error": "not_found", "message": f"no {path}"})

    def enroll(self, body: dict[str, Any]) -> httpx.Response:
        if EnrollRequest.model_validate(body).code != CODE:
            message = "That code is unknown, used or expired: ask a supervisor for a new one"
            return httpx.Response(401, json={"error": "bad_code", "message": message})
        answer = {
            "device_id": self.device,
            "device_token": self.token,
            "role": "handheld",
            "server_time": NOW.isoformat(),
        }
        return httpx.Response(201, json=answer)

    def push(self, body: PushRequest) -> httpx.Response:
        self.pushes.append(body)
        outcomes = []
        for movement in body.movements:
            digest = movement_hash(movement)
            if movement.seq <= self.last_applied:
                stored, outcome = self.entries[movement.seq]
                if stored != digest:
                    outcome = MovementOutcome(
                        seq=movement.seq, status="rejected", codes=["IDEMPOTENCY_CONFLICT"]
                    )
                outcomes.append(outcome)
                continue
            if movement.seq != self.last_applied + 1:
                break
            status = self.verdicts.get(movement.seq, "applied")
            number = self.tick() if status in ("applied", "flagged") else None
            outcome = MovementOutcome(seq=movement.seq, status=status, server_seq=number)
            data = movement.model_dump(mode="json") | {
                "device_id": body.device_id,
                "status": status,
                "server_seq": number,
                "codes": [],
                "message": "",
            }
            self.changes.append(
                Change(seq=number or self.tick(), kind="movement", key=str(movement.id), data=data)
            )
            self.entries[movement.seq] = (digest, outcome)
            self.last_applied = movement.seq
            outcomes.append(outcome)
        answer = PushResponse(
            last_applied_seq=self.last_applied,
            expected_next_seq=self.last_applied + 1,
            server_time=NOW,
            outcomes=outcomes,
        )
        return httpx.Response(200, json=answer.model_dump(mode="json"))

    def pull(self, cursor: int, limit: int) -> httpx.Response:
        self.pulls.append(cursor)
        if cursor > self.clock_seq or cursor in self.reset_cursors:
            self.reset_cursors.discard(cursor)
            answer = PullResponse(cursor=0, has_more=False, reset=True, server_time=NOW, changes=[])
            return httpx.Response(200, json=answer.model_dump(mode="json"))
        later = [change for change in self.changes if change.seq > cursor]
        page = later[: min(limit, self.page)]
        answer = PullResponse(
            cursor=page[-1].seq if page else cursor,
            has_more=len(later) > len(page),
            server_time=NOW,
            changes=page,
        )
        return httpx.Response(200, json=answer.model_dump(mode="json"))

    def tick(self) -> int:
        self.clock_seq += 1
        return self.clock_seq

    def publish(self, kind: str, row: Any) -> None:
        self.changes.append(Change(seq=self.tick(), kind=kind, key="-", data=row_data(row)))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def answer_lost(store: FakeStore, times: int = 1) -> httpx.MockTransport:
    """The store handles the next `times` pushes, then the answers never arrive."""
    left = [times]

    def handler(request: httpx.Request) -> httpx.Response:
        response = store.handler(request)
        if request.url.path == "/v1/sync/push" and left[0] > 0:
            left[0] -= 1
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    return httpx.MockTransport(handler)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


# ---- the handheld ----------------------------------------------------------------------------


@dataclass
class Handheld:
    sessions: sessionmaker[Session]
    folder: Path
    clock: Callable[[], datetime]

    def record(self, operation: Callable[[Ledger], Movement]) -> Movement:
        with unit_of_work(self.sessions) as session:
            return operation(Ledger(session, self.clock))

    def receive(self, qty: int = 10, part: str = "BOLT", location: str = "RCV") -> Movement:
        return self.record(lambda ledger: ledger.receive(part, qty, location))

    def sync(self, transport: httpx.BaseTransport, **options: Any) -> dict[str, int]:
        report = sync_once(
            self.sessions, self.folder, transport=transport, clock=self.clock, **options
        )
        return report.as_dict()

    def enroll(self, store: FakeStore, code: str = CODE) -> None:
        enroll_handheld(
            self.sessions, self.folder, URL, code, transport=store.transport(), clock=self.clock
        )

    def device(self) -> str:
        return self.setting(DEVICE_ID) or "-"

    def states(self) -> dict[int, str]:
        with self.sessions() as session:
            return {
                m.device_seq: m.sync_state
                for m in session.scalars(
                    select(Movement).where(Movement.device_id == self.device())
                )
            }

    def pending(self) -> list[int]:
        with self.sessions() as session:
            return [m.device_seq for m in pending_movements(session, self.device(), 10_000)]

    def stock(self) -> dict[tuple[str, str, str, str], Decimal]:
        with self.sessions() as session:
            return {
                (b.part, b.lot, b.serial, b.location): b.qty
                for b in session.scalars(select(Balance))
            }

    def setting(self, setting: SettingKey[Any]) -> str | None:
        """The text the settings table holds for `setting`, as an older lotscan kept it."""
        with self.sessions() as session:
            return stored_text(session, setting)


@pytest.fixture
def handheld(
    sessions: sessionmaker[Session], tmp_path: Path, clock: Callable[[], datetime]
) -> Handheld:
    with unit_of_work(sessions) as session:
        add_plant(session)
        write_setting(session, DEVICE_ID, DEVICE)
    return Handheld(sessions, tmp_path / "workspace", clock)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def enrolled(handheld: Handheld, store: FakeStore) -> Handheld:
    handheld.enroll(store)
    return handheld


# ---- enrolling -------------------------------------------------------------------------------


def test_enrolling_keeps_the_token_in_a_private_file_and_the_url_in_the_database(
    handheld: Handheld, store: FakeStore
) -> None:
    handheld.enroll(store)
    token = token_path(handheld.folder)
    assert token.read_text().strip() == TOKEN
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert handheld.setting(SYNC_URL) == URL
    assert handheld.setting(DEVICE_ID) == DEVICE
    with handheld.sessions() as session:
        values = [row.value for row in session.scalars(select(Setting))]
    assert not any(TOKEN in value for value in values)


def test_enrolling_adopts_the_device_id_the_store_gives(
    handheld: Handheld, store: FakeStore
) -> None:
    store.device = "Z9Z9"
    handheld.enroll(store)
    assert handheld.setting(DEVICE_ID) == "Z9Z9"
    moved = handheld.receive()
    assert (moved.device_id, moved.device_seq) == ("Z9Z9", 1)


def test_enrolling_refuses_and_changes_nothing_while_movements_wait_under_another_id(
    handheld: Handheld, store: FakeStore
) -> None:
    handheld.receive()
    handheld.receive()
    store.device = "Z9Z9"
    with pytest.raises(SyncRefused, match=r"2 movements as device H7KQ.*code was for device Z9Z9"):
        handheld.enroll(store)
    assert not token_path(handheld.folder).exists()
    assert handheld.setting(DEVICE_ID) == DEVICE
    assert handheld.setting(SYNC_URL) is None
    assert handheld.pending() == [1, 2]


@pytest.mark.parametrize(
    "given",
    ["../../x", "a/b", "..", "H7KQ\\..", "H1\x1b]0;owned\x07", "", "H" * 21],
    ids=["parent", "slash", "dots", "backslash", "escape", "empty", "too-long"],
)
def test_enrolling_refuses_a_device_id_that_is_not_a_plain_id_and_keeps_nothing(
    handheld: Handheld, store: FakeStore, given: str
) -> None:
    """A rogue store's device id would name this handheld's label files (defect 8)."""
    store.device = given
    with pytest.raises(SyncRefused, match=r"which is not a device id.*nothing was kept") as refused:
        handheld.enroll(store)
    assert "\x1b" not in str(refused.value)
    assert not token_path(handheld.folder).exists()
    assert handheld.setting(DEVICE_ID) == DEVICE
    assert handheld.setting(SYNC_URL) is None


@pytest.mark.parametrize(
    "token",
    ["", "tok en", "tok\nen", "tok\x1ben", "t" * 201],
    ids=["empty", "space", "newline", "escape", "too-long"],
)
def test_enrolling_refuses_a_token_that_is_not_plain_text_and_keeps_nothing(
    handheld: Handheld, store: FakeStore, token: str
) -> None:
    store.token = token
    with pytest.raises(SyncRefused, match="token that is not printable text"):
        handheld.enroll(store)
    assert not token_path(handheld.folder).exists()
    assert handheld.setting(SYNC_URL) is None


def test_a_used_or_wrong_code_is_refused_in_the_stores_words_and_nothing_is_kept(
    handheld: Handheld, store: FakeStore
) -> None:
    with pytest.raises(SyncRefused, match="unknown, used or expired"):
        handheld.enroll(store, code="WRONG")
    assert not token_path(handheld.folder).exists()
    assert handheld.setting(SYNC_URL) is None


def test_an_address_that_is_not_a_web_address_is_named(handheld: Handheld) -> None:
    with pytest.raises(SyncRefused, match=r"store\.test:8470 is not a web address"):
        enroll_handheld(handheld.sessions, handheld.folder, "store.test:8470", CODE)


def test_a_handheld_that_never_enrolled_is_told_how(handheld: Handheld, store: FakeStore) -> None:
    handheld.receive()
    with pytest.raises(NotEnrolled, match=r"lotscan devices enroll NAME.*lotscan enroll URL CODE"):
        handheld.sync(store.transport())
    assert handheld.pending() == [1]


def test_re_enrolling_with_another_store_pulls_that_store_from_the_start(
    enrolled: Handheld, store: FakeStore
) -> None:
    store.publish("part", bolt_renamed())
    enrolled.sync(store.transport())
    assert enrolled.setting(PULL_CURSOR) == "1"
    enroll_handheld(
        enrolled.sessions,
        enrolled.folder,
        "http://other-store.test",
        CODE,
        transport=store.transport(),
    )
    with enrolled.sessions() as session:
        assert read_setting(session, PULL_CURSOR) == 0


def test_the_token_goes_next_to_a_sqlite_database_else_in_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSCAN_HOME", str(tmp_path / "home"))
    assert token_folder(f"sqlite:///{tmp_path}/site/device.db") == tmp_path / "site"
    assert token_folder("postgresql+psycopg://scanner@db/central") == tmp_path / "home"
    assert token_folder("sqlite://") == tmp_path / "home"


# ---- pushing ---------------------------------------------------------------------------------


def test_a_sync_pushes_the_queue_in_order_and_reports_the_outcomes(
    enrolled: Handheld, store: FakeStore
) -> None:
    for _ in range(5):
        enrolled.receive()
    store.verdicts = {2: "flagged", 4: "held"}
    report = enrolled.sync(store.transport(), batch=2)
    assert set(report) == SUMMARY_KEYS
    assert report == {
        "pushed": 5,
        "applied": 3,
        "flagged": 1,
        "held": 1,
        "rejected": 0,
        "pending": 0,
        "pulled": 5,
        "decisions": 0,
        "decisions_pending": 0,
    }
    assert [[m.seq for m in push.movements] for push in store.pushes] == [[1, 2], [3, 4], [5]]
    assert [push.queue_depth for push in store.pushes] == [5, 3, 1]
    assert enrolled.states() == {1: "applied", 2: "flagged", 3: "applied", 4: "held", 5: "applied"}
    with enrolled.sessions() as session:
        assert session.get_one(Balance, ("BOLT", "", "", "RCV")).qty == Decimal(40)
        assert cache_differences(session) == []


def test_each_push_carries_the_device_clock_and_the_queue_it_reports(
    enrolled: Handheld, store: FakeStore
) -> None:
    enrolled.receive()
    enrolled.receive()
    enrolled.sync(store.transport())
    (push,) = store.pushes
    assert (push.device_id, push.device_time) == (DEVICE, NOW)
    assert (push.queue_depth, push.max_local_seq, push.oldest_pending_at) == (2, 2, NOW)


def test_a_lost_answer_then_a_retry_applies_each_movement_once(
    enrolled: Handheld, store: FakeStore
) -> None:
    for _ in range(3):
        enrolled.receive()
    with pytest.raises(SyncUnavailable, match="3 movements stay queued"):
        enrolled.sync(answer_lost(store))
    assert store.last_applied == 3
    assert enrolled.pending() == [1, 2, 3]
    report = enrolled.sync(store.transport())
    assert (report["pushed"], report["applied"], report["rejected"]) == (3, 3, 0)
    assert enrolled.states() == {1: "applied", 2: "applied", 3: "applied"}
    assert len(store.entries) == 3
    assert [change.key for change in store.changes] == list(
        dict.fromkeys(change.key for change in store.changes)
    )


def test_a_store_that_cannot_take_requests_leaves_the_queue_as_it_was(
    enrolled: Handheld, store: FakeStore
) -> None:
    enrolled.receive()
    enrolled.receive()
    store.failure = (503, {"error": "retry_later", "message": "database unavailable"})
    with pytest.raises(SyncUnavailable) as failure:
        enrolled.sync(store.transport())
    assert str(failure.value) == (
        f"The central store at {URL} cannot take requests now (database unavailable);"
        " 2 movements stay queued"
    )
    assert enrolled.pending() == [1, 2]
    status = status_of(enrolled)
    assert (status.online, status.pending, status.last_sync_at) == (False, 2, None)
    assert status.last_error == str(failure.value)


def test_a_store_out_of_reach_is_named_with_the_queue_it_leaves(
    enrolled: Handheld,
) -> None:
    enrolled.receive()
    with pytest.raises(SyncUnavailable) as failure:
        enrolled.sync(httpx.MockTransport(refused))
    assert str(failure.value) == (
        f"Cannot reach the central store at {URL} (connection refused); 1 movement stays queued"
    )
    assert enrolled.pending() == [1]


def test_a_revoked_handheld_keeps_its_queue_and_is_told_to_enroll_again(
    enrolled: Handheld, store: FakeStore
) -> None:
    for _ in range(12):
        enrolled.receive()
    store.failure = (401, {"error": "device_revoked", "message": "Device H7KQ was revoked"})
    with pytest.raises(DeviceRevoked) as failure:
        enrolled.sync(store.transport())
    assert str(failure.value) == (
        "This handheld was revoked by a supervisor; its 12 queued movements are kept."
        f" Ask for a new code and run lotscan enroll {URL} CODE"
    )
    assert enrolled.pending() == list(range(1, 13))
    assert status_of(enrolled).online is True


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (
            409,
            {"error": "client_upgrade_required", "message": "update lotscan on the handheld"},
            "update lotscan on the handheld",
        ),
        (403, {"error": "wrong_device", "message": "This token is device A1B2's"}, "A1B2's"),
        (401, {"error": "unauthorized", "message": "unknown token"}, "lotscan enroll"),
        (404, {"detail": "Not Found"}, "is not a lotscan central store"),
    ],
)
def test_a_refusal_is_reported_in_the_stores_words_and_the_queue_kept(
    enrolled: Handheld, store: FakeStore, status: int, body: dict[str, str], words: str
) -> None:
    enrolled.receive()
    store.failure = (status, body)
    with pytest.raises(SyncRefused, match=words):
        enrolled.sync(store.transport())
    assert enrolled.pending() == [1]


def test_an_answer_no_lotscan_store_would_give_is_refused(enrolled: Handheld) -> None:
    enrolled.receive()
    page = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>router</html>"))
    with pytest.raises(SyncRefused, match="check the URL"):
        enrolled.sync(page)
    assert enrolled.pending() == [1]


def test_a_store_restored_from_an_older_backup_gets_what_it_lost_again(
    enrolled: Handheld, store: FakeStore
) -> None:
    for _ in range(3):
        enrolled.receive()
    enrolled.sync(store.transport())
    enrolled.receive()
    # The store comes back from a backup that had only movement 1.
    store.last_applied = 1
    store.entries = {1: store.entries[1]}
    report = enrolled.sync(store.transport())
    assert store.last_applied == 4
    assert [[m.seq for m in push.movements] for push in store.pushes[1:]] == [[4], [2, 3], [4]]
    assert report["pending"] == 0
    assert enrolled.states() == {1: "applied", 2: "applied", 3: "applied", 4: "applied"}


def test_a_gap_the_handheld_cannot_fill_is_reported_and_the_queue_kept(
    enrolled: Handheld, store: FakeStore
) -> None:
    enrolled.receive()
    enrolled.receive()
    with unit_of_work(enrolled.sessions) as session:
        session.delete(session.scalars(select(Movement).where(Movement.device_seq == 1)).one())
    with pytest.raises(SyncGap, match=r"expects movement 1 of device H7KQ.*1 movement"):
        enrolled.sync(store.transport())
    assert enrolled.pending() == [2]


def test_a_movement_scanned_while_a_push_is_on_the_wire_goes_in_the_same_sync(
    enrolled: Handheld, store: FakeStore
) -> None:
    """The sync holds no write lock while it waits for the store: scanning goes on."""
    enrolled.receive()
    scanned: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sync/push" and not scanned:
            _no_write_lock_held(enrolled.sessions)
            scanned.append(enrolled.receive(part="BOLT", qty=1).device_seq)
        return store.handler(request)

    report = enrolled.sync(httpx.MockTransport(handler))
    assert scanned == [2]
    assert (report["pushed"], report["pending"]) == (2, 0)


def _no_write_lock_held(sessions: sessionmaker[Session]) -> None:
    url = make_url(str(sessions.kw["bind"].url))
    if url.get_backend_name() != "sqlite":
        return
    other = sqlite3.connect(str(url.database), timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # fails with "database is locked" if sync held it
        other.execute("ROLLBACK")
    finally:
        other.close()


# ---- pulling ---------------------------------------------------------------------------------


def bolt_renamed(description: str = "M6x20 bolt, zinc") -> Part:
    return Part(number="BOLT", description=description, tracking="none", backflush=False, uom="ea")


def test_a_sync_pulls_page_after_page_and_remembers_where_it_stopped(
    enrolled: Handheld, store: FakeStore
) -> None:
    for number in range(5):
        store.publish("part", bolt_renamed(f"Bolt v{number}"))
    store.page = 2
    report = enrolled.sync(store.transport())
    assert report["pulled"] == 5
    assert store.pulls == [0, 2, 4]
    assert enrolled.setting(PULL_CURSOR) == "5"
    with enrolled.sessions() as session:
        assert session.get_one(Part, "BOLT").description == "Bolt v4"
    store.publish("part", bolt_renamed("Bolt v5"))
    assert enrolled.sync(store.transport())["pulled"] == 1
    assert store.pulls[-1] == 5


def test_a_pull_cut_off_midway_resumes_from_the_last_page_kept(
    enrolled: Handheld, store: FakeStore
) -> None:
    for number in range(4):
        store.publish("part", bolt_renamed(f"Bolt v{number}"))
    store.page = 2
    calls = [0]

    def cut_after_first_page(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sync/pull":
            calls[0] += 1
        if request.url.path == "/v1/sync/pull" and calls[0] > 1:
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return store.handler(request)

    with pytest.raises(SyncUnavailable, match="peer closed connection"):
        enrolled.sync(httpx.MockTransport(cut_after_first_page))
    assert enrolled.setting(PULL_CURSOR) == "2"
    assert enrolled.sync(store.transport())["pulled"] == 2
    assert store.pulls == [0, 2]
    assert enrolled.setting(PULL_CURSOR) == "4"


def test_a_cursor_the_store_no_longer_knows_starts_the_pull_again_from_zero(
    enrolled: Handheld, store: FakeStore
) -> None:
    store.publish("part", bolt_renamed("Bolt from the restored store"))
    with unit_of_work(enrolled.sessions) as session:
        write_setting(session, PULL_CURSOR, 900)
    report = enrolled.sync(store.transport())
    assert store.pulls == [900, 0]
    assert report["pulled"] == 1
    assert enrolled.setting(PULL_CURSOR) == "1"


# ---- status and backoff ----------------------------------------------------------------------


def status_of(handheld: Handheld) -> Any:
    with reading(handheld.sessions) as session:
        return sync_status(session, handheld.folder)


def test_the_status_says_enrolled_queued_and_when_the_last_sync_was(
    handheld: Handheld, store: FakeStore
) -> None:
    assert status_of(handheld).enrolled is False
    handheld.enroll(store)
    handheld.receive()
    handheld.receive()
    before = status_of(handheld)
    assert (before.enrolled, before.url, before.pending, before.online) == (True, URL, 2, None)
    store.verdicts = {2: "held"}
    handheld.sync(store.transport())
    after = status_of(handheld)
    assert (after.pending, after.held, after.flagged, after.rejected) == (0, 1, 0, 0)
    assert (after.last_sync_at, after.last_error, after.online) == (NOW, None, True)


def test_a_missing_token_file_means_not_enrolled(enrolled: Handheld) -> None:
    os.remove(token_path(enrolled.folder))
    assert status_of(enrolled).enrolled is False


def test_backoff_waits_at_most_twice_as_long_after_each_failure_up_to_five_minutes() -> None:
    backoff = Backoff(rng=lambda: 1.0)
    waits = [backoff.failed() for _ in range(10)]
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    backoff.reset()
    assert backoff.failed() == 2


def test_backoff_spreads_its_waits_between_zero_and_the_ceiling() -> None:
    draws = iter([0.0, 0.5, 0.25])
    backoff = Backoff(rng=lambda: next(draws))
    assert [backoff.failed() for _ in range(3)] == [0.0, 2.0, 2.0]


# ---- the outbox ------------------------------------------------------------------------------


def test_queue_stats_count_only_this_devices_pending_movements(
    handheld: Handheld, clock: Callable[[], datetime]
) -> None:
    later = Handheld(handheld.sessions, handheld.folder, lambda: NOW + timedelta(hours=1))
    handheld.receive()
    later.receive()
    with unit_of_work(handheld.sessions) as session:
        session.scalars(
            select(Movement).where(Movement.device_seq == 1)
        ).one().sync_state = "applied"
    with handheld.sessions() as session:
        assert queue_stats(session, DEVICE) == (1, 2, NOW + timedelta(hours=1))
        assert queue_stats(session, "OTHR") == (0, 0, None)


def test_the_outbox_is_read_through_its_own_index(handheld: Handheld) -> None:
    with handheld.sessions() as session:
        if session.bind is None or session.bind.dialect.name != "sqlite":
            pytest.skip("SQLite's query plan")
        query = (
            select(Movement)
            .where(
                Movement.device_id == DEVICE,
                Movement.sync_state == literal_column("'pending'"),
            )
            .order_by(Movement.device_seq)
        )
        compiled = query.compile(session.bind, compile_kwargs={"literal_binds": True})
        plan = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    assert "ix_movements_outbox" in str(plan)


# ---- the supervisor's client -----------------------------------------------------------------


def test_the_supervisor_client_calls_the_supervisor_endpoints() -> None:
    seen: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, str(request.url.copy_with(scheme="http")), body))
        assert request.headers["Authorization"] == "Bearer boss"
        return httpx.Response(200, json=[] if request.method == "GET" else {"ok": True})

    with SupervisorClient(URL, "boss", transport=httpx.MockTransport(handler)) as client:
        assert client.devices() == []
        assert client.exceptions("all") == []
        client.resolve(7, "adjust", qty=Decimal("2.5"), location="A-01", reason="count")
        client.revoke("H7KQ")
        client.enroll_code("forklift-2", supervisor=True)
    assert seen == [
        ("GET", f"{URL}/v1/devices", None),
        ("GET", f"{URL}/v1/exceptions?status=all", None),
        (
            "POST",
            f"{URL}/v1/exceptions/7/resolve",
            {"action": "adjust", "qty": "2.5", "location": "A-01", "reason": "count"},
        ),
        ("POST", f"{URL}/v1/devices/H7KQ/revoke", None),
        ("POST", f"{URL}/v1/devices", {"name": "forklift-2", "supervisor": True}),
    ]


# ---- end to end: handhelds and the real central service over HTTP ----------------------------


@dataclass
class Site:
    """The central store of the test plant, served on loopback, and its handhelds."""

    sessions: sessionmaker[Session]
    url: str
    clock: Callable[[], datetime]
    root: Path

    def code(self, name: str, *, supervisor: bool = False) -> str:
        with unit_of_work(self.sessions) as session:
            return issue_code(session, name, supervisor=supervisor, clock=self.clock).code

    def handheld(self, name: str, *, supervisor: bool = False) -> Handheld:
        """A new handheld with an empty database, enrolled as `name`: everything it knows
        it pulls from the store."""
        folder = self.root / name
        folder.mkdir(parents=True)
        device = Handheld(open_migrated(sqlite_url(folder / "lotscan.db")), folder, self.clock)
        self.enroll(device, name, supervisor=supervisor)
        return device

    def enroll(self, device: Handheld, name: str, *, supervisor: bool = False) -> None:
        code = self.code(name, supervisor=supervisor)
        enroll_handheld(device.sessions, device.folder, self.url, code, clock=self.clock)

    def ledger_ids(self) -> set[uuid.UUID]:
        with self.sessions() as session:
            return set(session.scalars(select(Movement.id)))

    def stock(self) -> dict[tuple[str, str, str, str], Decimal]:
        return Handheld(self.sessions, self.root, self.clock).stock()

    def violations(self, *devices: Handheld) -> list[str]:
        return violations(self.sessions, [Checked(device.sessions) for device in devices])

    def supervisor(self, device: Handheld) -> SupervisorClient:
        token = read_token(device.folder)
        assert token is not None
        return SupervisorClient(self.url, token)


@pytest.fixture
def site(
    sessions: sessionmaker[Session], clock: Callable[[], datetime], tmp_path: Path
) -> Iterator[Site]:
    """The central store (SQLite, or PostgreSQL when the pg tests run) with the test plant
    imported, served by uvicorn in a thread."""
    with unit_of_work(sessions) as session:
        add_plant(session)
    prepare_central(sessions, clock)
    with ServiceThread(create_app(sessions, clock)) as service:
        yield Site(sessions, service.url, clock, tmp_path / "handhelds")


def test_a_receipt_scanned_on_one_handheld_is_stock_on_another_once_both_sync(
    site: Site,
) -> None:
    first, second = site.handheld("forklift-1"), site.handheld("forklift-2")
    assert first.sync(httpx.HTTPTransport())["pulled"] > 0  # the plant's reference data
    received = first.receive(40)
    moved = first.record(lambda ledger: ledger.move("BOLT", 10, "A-01"))
    report = first.sync(httpx.HTTPTransport())
    assert (report["pushed"], report["applied"], report["pending"]) == (2, 2, 0)
    assert site.ledger_ids() == {received.id, moved.id}

    second.sync(httpx.HTTPTransport())
    expected = {("BOLT", "", "", "RCV"): Decimal(30), ("BOLT", "", "", "A-01"): Decimal(10)}
    assert site.stock() == second.stock() == first.stock() == expected
    first.sync(httpx.HTTPTransport())
    assert site.violations(first, second) == []


def test_over_real_http_a_lost_answer_then_a_retry_applies_each_movement_once(
    site: Site,
) -> None:
    device = site.handheld("forklift-1")
    network = FaultyTransport()
    device.sync(network)
    for qty in (5, 6, 7):
        device.receive(qty)
    network.plan(Fault.LOST_ACK, path="/v1/sync/push")
    with pytest.raises(SyncUnavailable, match="3 movements stay queued"):
        device.sync(network)
    network.plan(Fault.DUPLICATE, path="/v1/sync/push")
    report = device.sync(network)
    assert (report["pushed"], report["applied"], report["pending"]) == (3, 3, 0)
    assert len(site.ledger_ids()) == 3
    assert site.violations(device) == []


def test_a_retry_after_the_lot_gained_a_supplier_lot_is_not_taken_for_a_reused_number(
    site: Site,
) -> None:
    device = site.handheld("forklift-1")
    network = FaultyTransport()
    device.sync(network)
    device.record(lambda ledger: ledger.receive("RESIN", 5, "RCV", lot="L1"))
    network.plan(Fault.LOST_ACK, path="/v1/sync/push")
    with pytest.raises(SyncUnavailable):
        device.sync(network)
    # The next bag of the same lot shows the supplier's lot on its label.
    device.record(lambda ledger: ledger.receive("RESIN", 5, "RCV", lot="L1", supplier_lot="S9"))
    report = device.sync(network)
    assert (report["applied"], report["rejected"]) == (2, 0)


def test_a_revoked_handheld_keeps_its_queue_and_syncs_it_once_enrolled_again(
    site: Site,
) -> None:
    office = site.handheld("office", supervisor=True)
    device = site.handheld("forklift-1")
    device.sync(httpx.HTTPTransport())
    with site.supervisor(office) as supervisor:
        supervisor.revoke(device.device())
        listed = {row["device"]: row["status"] for row in supervisor.devices()}
    assert listed[device.device()] == "revoked"
    for qty in (1, 2, 3):
        device.receive(qty)
    with pytest.raises(DeviceRevoked, match="its 3 queued movements are kept"):
        device.sync(httpx.HTTPTransport())
    assert device.pending() == [1, 2, 3]

    before = device.device()
    site.enroll(device, "forklift-1")
    assert device.device() == before
    report = device.sync(httpx.HTTPTransport())
    assert (report["pushed"], report["applied"], report["pending"]) == (3, 3, 0)
    assert site.violations(device) == []
    with site.supervisor(office) as supervisor:
        (row,) = [row for row in supervisor.devices() if row["device"] == before]
    # Enrolled again, it is no longer anyone's revoked device.
    assert (row["status"], row["revoked_at"], row["revoked_by"]) == ("active", None, None)


def test_a_supervisor_issues_a_code_a_new_handheld_enrolls_with(site: Site) -> None:
    office = site.handheld("office", supervisor=True)
    with site.supervisor(office) as supervisor:
        issued = supervisor.enroll_code("forklift-3")
    assert set(issued) >= {"device", "code", "expires_at"}
    folder = site.root / "forklift-3"
    folder.mkdir()
    device = Handheld(open_migrated(sqlite_url(folder / "lotscan.db")), folder, site.clock)
    answer = enroll_handheld(device.sessions, folder, site.url, issued["code"])
    assert answer.device_id == issued["device"] == device.device()


def standalone(site: Site, name: str, device: str) -> Handheld:
    """A handheld that has its own copy of the plant and scans before it is enrolled."""
    folder = site.root / name
    folder.mkdir(parents=True)
    sessions = open_migrated(sqlite_url(folder / "lotscan.db"))
    with unit_of_work(sessions) as session:
        add_plant(session)
        write_setting(session, DEVICE_ID, device)
    return Handheld(sessions, folder, site.clock)


def test_a_handheld_that_scanned_before_enrolling_keeps_its_id_and_syncs_what_it_scanned(
    site: Site,
) -> None:
    dock = standalone(site, "dock", "DK01")
    dock.receive(12)
    dock.receive(3)
    enroll_handheld(dock.sessions, dock.folder, site.url, site.code("Dock 3"), clock=site.clock)
    assert dock.device() == "DK01"
    report = dock.sync(httpx.HTTPTransport())
    assert (report["pushed"], report["applied"], report["pending"]) == (2, 2, 0)
    with site.sessions() as session:
        assert [row["device"] for row in device_rows(session)] == ["DK01"]
    assert site.violations(dock) == []


def test_a_code_for_an_enrolled_device_leaves_a_queued_handheld_alone_and_stays_unused(
    site: Site,
) -> None:
    site.handheld("forklift-1")
    code = site.code("forklift-1")  # re-enrolling forklift-1: its id is taken for good
    yard = standalone(site, "yard", "YD01")
    yard.receive(5)
    with pytest.raises(SyncRefused, match=r"5 movements|1 movements waiting as device YD01"):
        enroll_handheld(yard.sessions, yard.folder, site.url, code, clock=site.clock)
    assert yard.setting(DEVICE_ID) == "YD01"
    assert not token_path(yard.folder).exists()
    assert yard.pending() == [1]
    # The code was not spent: the handheld it was meant for can still use it.
    spare = Handheld(
        open_migrated(sqlite_url(site.root / "spare.db")), site.root / "spare", site.clock
    )
    enroll_handheld(spare.sessions, spare.folder, site.url, code, clock=site.clock)


def test_a_handheld_token_cannot_use_the_supervisor_endpoints(site: Site) -> None:
    device = site.handheld("forklift-1")
    with site.supervisor(device) as client, pytest.raises(SyncRefused, match="supervisor"):
        client.devices()


def test_a_serial_moved_on_two_handhelds_is_held_on_the_second_then_voided_everywhere(
    site: Site,
) -> None:
    office = site.handheld("office", supervisor=True)
    first, second = site.handheld("forklift-1"), site.handheld("forklift-2")
    first.sync(httpx.HTTPTransport())
    first.record(lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M1"))
    first.sync(httpx.HTTPTransport())
    second.sync(httpx.HTTPTransport())
    # Both move the motor while out of Wi-Fi range, to different racks.
    first.record(lambda ledger: ledger.move("MOTOR", 1, "A-01", serial="M1"))
    second.record(lambda ledger: ledger.move("MOTOR", 1, "A-02", serial="M1"))
    first.sync(httpx.HTTPTransport())
    report = second.sync(httpx.HTTPTransport())
    assert (report["pushed"], report["held"]) == (1, 1)
    assert second.stock() == {("MOTOR", "", "M1", "A-01"): Decimal(1)}
    with second.sessions() as session:
        assert cache_differences(session) == []

    with site.supervisor(office) as supervisor:
        (conflict,) = supervisor.exceptions()
        assert conflict["code"] == "SERIAL_CONFLICT"
        supervisor.resolve(conflict["id"], "void", reason="Scanned the wrong motor")
    second.sync(httpx.HTTPTransport())
    first.sync(httpx.HTTPTransport())
    assert second.states() == {1: "voided"}
    assert site.violations(first, second) == []


def test_stock_two_handhelds_both_took_is_flagged_counted_and_the_same_everywhere(
    site: Site,
) -> None:
    first, second = site.handheld("forklift-1"), site.handheld("forklift-2")
    first.sync(httpx.HTTPTransport())
    first.receive(10)
    first.sync(httpx.HTTPTransport())
    second.sync(httpx.HTTPTransport())
    first.record(lambda ledger: ledger.move("BOLT", 10, "A-01"))
    second.record(lambda ledger: ledger.move("BOLT", 10, "A-02"))
    first.sync(httpx.HTTPTransport())
    report = second.sync(httpx.HTTPTransport())
    assert (report["pushed"], report["flagged"]) == (1, 1)
    first.sync(httpx.HTTPTransport())
    assert first.stock() == second.stock() == site.stock()
    assert site.stock()[("BOLT", "", "", "RCV")] == Decimal(-10)
    assert status_of(second).flagged == 1
    assert site.violations(first, second) == []


# ---- end to end: the command line ------------------------------------------------------------


def device_commands() -> argparse.ArgumentParser:
    """`lotscan`'s parser as scanner/cli.py builds it, with only the handheld's commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(prog="lotscan")
    parser.add_argument("--db")
    add_device_parsers(parser.add_subparsers(), common)
    return parser


def test_the_enroll_and_sync_commands_print_one_line_or_the_summary_keys(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = sqlite_url(tmp_path / "cli" / "lotscan.db")
    (tmp_path / "cli").mkdir()
    parser = device_commands()
    args = parser.parse_args(["enroll", f"{site.url}/", site.code("forklift-9"), "--db", database])
    assert args.handler(args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Enrolled as device ")
    assert printed.endswith(
        f"with {site.url}; lotscan sync pulls the store's reference data and stock\n"
    )
    args = parser.parse_args(["--db", database, "sync", "--json"])
    assert args.handler(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == SUMMARY_KEYS and report["pulled"] > 0


def test_the_sync_summary_is_one_line_in_floor_words() -> None:
    assert SyncReport(pushed=12, applied=10, flagged=1, held=1, pulled=40).summary() == (
        "Pushed 12 movements (10 applied, 1 flagged, 1 held), pulled 40 changes; 0 movements queued"
    )
    assert SyncReport(pulled=1, pending=1).summary() == (
        "Nothing to push, pulled 1 change; 1 movement queued"
    )


def _cli_has_sync() -> bool:
    from scanner.cli import build_parser

    try:
        build_parser().parse_args(["sync", "--json"])
    except SystemExit:
        return False
    return True


def lotscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(
    not _cli_has_sync(),
    reason="WAITING FOR THE LEAD: scanner/cli.py does not add sync.device.cli's commands yet",
)
def test_lotscan_enroll_and_sync_as_a_script_runs_them(
    sessions: sessionmaker[Session], clock: Callable[[], datetime], tmp_path: Path
) -> None:
    with unit_of_work(sessions) as session:
        add_plant(session)
    prepare_central(sessions, clock)
    database = sqlite_url(tmp_path / "handheld" / "lotscan.db")
    (tmp_path / "handheld").mkdir()
    service = ServiceThread(create_app(sessions, clock))
    with service:
        with unit_of_work(sessions) as session:
            code = issue_code(session, "forklift-1", clock=clock).code
        enrolled = lotscan("enroll", service.url, code, "--db", database)
        assert enrolled.returncode == 0, enrolled.stderr
        assert enrolled.stdout.startswith("Enrolled as device ")
        assert service.url in enrolled.stdout
        assert (tmp_path / "handheld" / "sync-token").exists()

        synced = lotscan("sync", "--json", "--db", database)
        assert synced.returncode == 0, synced.stderr
        report = json.loads(synced.stdout)
        assert set(report) == SUMMARY_KEYS
        assert report["pulled"] > 0 and report["pending"] == 0

        device = Handheld(open_database(database), tmp_path / "handheld", clock)
        device.receive(3)
        synced = lotscan("sync", "--db", database)
        assert synced.returncode == 0, synced.stderr
        assert synced.stdout.startswith("Pushed 1 movement (1 applied)")
    device.receive(4)
    offline = lotscan("sync", "--json", "--db", database)
    assert offline.returncode != 0
    reason = (
        f"Cannot reach the central store at {service.url} (connection refused);"
        " 1 movement stays queued"
    )
    assert json.loads(offline.stdout) == {
        "error": reason,
        "failure": "unavailable",
        **dict.fromkeys(SUMMARY_KEYS, 0),
        "pending": 1,
    }
    (line,) = offline.stderr.splitlines()
    assert line == f"lotscan: {reason}"
    assert device.pending() == [2]


def test_sync_json_of_a_handheld_never_enrolled_says_so_in_json(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path / "lotscan.db")
    failed = lotscan("sync", "--json", "--db", database)
    assert failed.returncode == 1
    document = json.loads(failed.stdout)
    assert document["failure"] == "not_enrolled"
    assert document["error"] == failed.stderr.removeprefix("lotscan: ").strip()
    assert {key: document[key] for key in SUMMARY_KEYS} == dict.fromkeys(SUMMARY_KEYS, 0)
