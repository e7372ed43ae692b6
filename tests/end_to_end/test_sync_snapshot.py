"""A new or reset handheld's first sync takes the store's snapshot (docs/architecture.md,
"Snapshots for a new handheld"), over real HTTP on loopback, on SQLite and PostgreSQL: it
ends holding what a handheld that replayed the whole change history holds, changes made
during and after the snapshot reach it exactly once, and a handheld that never asks for a
snapshot still pulls the whole history."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from scanner.balance_check import cache_differences
from scanner.closing import close_job
from scanner.db import reading, unit_of_work
from scanner.models import (
    Balance,
    Job,
    JobLot,
    Lot,
    LotStatus,
    Movement,
    Serial,
    StatusChange,
)
from scanner.settings import PULL_CURSOR, write_setting
from scanner.trace import trace
from sync.device.client import SyncUnavailable, sync_once
from tests.support.sync_over_http import (
    SYNC_TIMEOUT,
    Fault,
    Handheld,
    Site,
    reference_differences,
)

SNAPSHOT = "/v1/sync/snapshot"
PULL = "/v1/sync/pull"


class Watching(httpx.BaseTransport):
    """Passes requests on, keeping every snapshot page's rows and every pulled change, and
    calling `between` after the snapshot page numbered `at` (1 for the first)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.pages: list[dict[str, Any]] = []
        self.pulled: list[dict[str, Any]] = []
        self.between: Callable[[], None] | None = None
        self.at = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        if request.url.path == SNAPSHOT and response.status_code == 200:
            self.pages.append(json.loads(body))
            if len(self.pages) == self.at and self.between is not None:
                self.between()
        elif request.url.path == PULL and response.status_code == 200:
            self.pulled += json.loads(body)["changes"]
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def snapshot_movements(self) -> list[str]:
        return [
            row["id"] for page in self.pages if page["kind"] == "movement" for row in page["rows"]
        ]

    def pulled_movements(self) -> list[str]:
        return [change["key"] for change in self.pulled if change["kind"] == "movement"]


class OlderHandheld(httpx.BaseTransport):
    """A handheld of a version before snapshots: it never asks for one (its requests for
    one are answered as a store without the endpoint would answer them), so it pulls from
    the first change."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == SNAPSHOT:
            return httpx.Response(404, json={"detail": "Not Found"})
        return self.inner.handle_request(request)


def watch(handheld: Handheld) -> Watching:
    watching = Watching(handheld.transport.inner)
    handheld.transport.inner = watching
    return watching


def sync(handheld: Handheld, *, snapshot_page: int = 5000) -> None:
    sync_once(
        handheld.sessions,
        handheld.folder,
        transport=handheld.transport,
        clock=handheld.clock,
        timeout=SYNC_TIMEOUT,
        snapshot_page=snapshot_page,
    )


# ---- a history ---------------------------------------------------------------------------------


def history(site: Site, line: Handheld, dock: Handheld) -> None:
    """Receipts of lots, serials and loose parts, moves, an issue and a completion, a
    shipment, a reversal, a job closed on the floor, a lot put on hold at the store, a
    shortage flagged, and a serial scanned twice (held, then voided)."""
    line.record(lambda ledger: ledger.receive("RESIN", 40, "RCV", lot="R-1", po="PO-1", po_line=1))
    line.record(lambda ledger: ledger.receive("RESIN", 10, "RCV", lot="R-2"))
    line.record(lambda ledger: ledger.receive("PIGMENT", 4, "RCV", lot="PG-1"))
    line.record(lambda ledger: ledger.receive("BOLT", 100, "A-01"))
    for serial in ("M-1", "M-2", "M-3"):
        line.record(lambda ledger, s=serial: ledger.receive("MOTOR", 1, "RCV", serial=s))
    line.record(lambda ledger: ledger.move("RESIN", 40, "LINE", from_location="RCV", lot="R-1"))
    line.record(lambda ledger: ledger.move("MOTOR", 1, "A-02", from_location="RCV", serial="M-2"))
    line.record(
        lambda ledger: ledger.issue_to_job(
            "J-HOUSING", "RESIN", 20, from_location="LINE", lot="R-1"
        )
    )
    line.record(
        lambda ledger: ledger.issue_to_job(
            "J-HOUSING", "PIGMENT", 2, from_location="RCV", lot="PG-1"
        )
    )
    line.record(lambda ledger: ledger.produce("J-HOUSING", 4, "A-01", lot="H-1"))
    mistake = line.record(lambda ledger: ledger.move("BOLT", 30, "A-02", from_location="A-01"))
    line.record(lambda ledger: ledger.reverse(mistake.id, reason="wrong rack"))
    line.record(lambda ledger: ledger.ship("SO-2", "HOUSING", 2, line=1, lot="H-1"))
    line.record(lambda ledger: ledger.receive("PUMP", 1, "A-01", serial="P-1"))
    line.record(lambda ledger: ledger.ship("SO-1", "PUMP", 1, line=1, serial="P-1"))
    with unit_of_work(line.sessions) as session:
        close_job(session, "J-HOUSING-2", reason="cancelled", operator="B9001", clock=line.clock)
    line.sync()
    dock.sync()
    # The dock takes bolts the line has moved on (a shortage), and receives a serial the
    # line already holds (held, then voided by a supervisor).
    dock.record(lambda ledger: ledger.move("BOLT", 80, "SHIP", from_location="A-01"))
    dock.record(lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M-9"))
    line.record(lambda ledger: ledger.move("BOLT", 50, "LINE", from_location="A-01"))
    line.record(lambda ledger: ledger.receive("MOTOR", 1, "A-01", serial="M-9"))
    line.sync()
    dock.sync()
    for held in site.exceptions(code="SERIAL_DUPLICATE_RECEIPT", status="open"):
        site.resolve(held.id, "void", reason="scanned twice")
    site.import_reference(_hold_lot("RESIN", "R-2"))
    line.sync()
    dock.sync()


def _hold_lot(part: str, number: str) -> Callable[[Any], None]:
    def hold(session: Any) -> None:
        session.execute(
            update(Lot)
            .where(Lot.part == part, Lot.number == number)
            .values(status=LotStatus.HOLD.value)
        )

    return hold


def state(handheld: Handheld) -> dict[str, object]:
    """What a floor worker would see differ: stock, lots, serials, jobs and their history,
    the ledger and each movement's outcome, and the genealogy a trace walks."""
    with reading(handheld.sessions) as session:
        return {
            "balances": sorted(
                (b.part, b.lot, b.serial, b.location, b.qty)
                for b in session.scalars(select(Balance))
            ),
            "job_lots": sorted(
                (j.job, j.role, j.part, j.lot, j.serial, j.qty)
                for j in session.scalars(select(JobLot))
            ),
            "lots": sorted(
                (lot.part, lot.number, lot.status, lot.expiry, lot.supplier_lot, lot.origin)
                for lot in session.scalars(select(Lot))
            ),
            "serials": sorted(
                (s.part, s.number, s.lot, s.status, s.location)
                for s in session.scalars(select(Serial))
            ),
            "jobs": sorted((j.number, j.status) for j in session.scalars(select(Job))),
            "status_changes": sorted(
                (str(c.id), c.subject, c.key, c.status)
                for c in session.scalars(select(StatusChange))
            ),
            "ledger": sorted(
                (str(m.id), m.device_id, m.device_seq, m.sync_state, m.server_seq, m.qty)
                for m in session.scalars(select(Movement))
            ),
            "trace": trace(session, "HOUSING", lot="H-1").as_json(),
            "cursor": session.scalar(
                select(Movement.server_seq).order_by(Movement.server_seq.desc()).limit(1)
            ),
        }


# ---- the tests -------------------------------------------------------------------------------


def test_a_handheld_enrolled_after_a_history_holds_what_one_that_replayed_it_holds(
    site: Site,
) -> None:
    line, dock = site.enroll("line"), site.enroll("dock")
    history(site, line, dock)
    older = site.enroll("older", pull=False)
    older.transport.inner = OlderHandheld(older.transport.inner)
    newer = site.enroll("newer", pull=False)
    watching = watch(newer)

    sync(older)
    sync(newer, snapshot_page=3)

    assert next(d.cursor for d in older.transport.pulls()) == 0  # the whole history
    assert len(watching.pages) > 10  # three rows a page
    taken = watching.pages[0]["cursor"]
    assert taken == site.clock_seq()
    assert [d.cursor for d in newer.transport.pulls()] == [taken]
    assert state(newer) == state(older)
    assert reference_differences(site.central, newer) == []
    with reading(newer.sessions) as session:
        assert cache_differences(session) == []
    site.final_sync()
    assert site.violations() == []


def test_changes_made_during_and_after_a_snapshot_arrive_exactly_once(site: Site) -> None:
    line, dock = site.enroll("line"), site.enroll("dock")
    history(site, line, dock)
    late = site.enroll("late", pull=False)
    watching = watch(late)

    def meanwhile() -> None:
        line.record(lambda ledger: ledger.receive("RESIN", 7, "RCV", lot="R-7"))
        line.record(lambda ledger: ledger.move("BOLT", 5, "A-02", from_location="LINE"))
        line.record(lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M-7"))
        line.sync()
        site.import_reference(_hold_lot("RESIN", "R-1"))

    watching.between, watching.at = meanwhile, 2
    sync(late, snapshot_page=4)
    line.record(lambda ledger: ledger.ship("SO-2", "HOUSING", 1, line=1, lot="H-1"))
    line.sync()
    sync(late)

    taken = watching.pages[0]["cursor"]
    assert {page["cursor"] for page in watching.pages} == {taken}
    in_snapshot, pulled = watching.snapshot_movements(), watching.pulled_movements()
    assert len(set(in_snapshot)) == len(in_snapshot)
    assert set(in_snapshot).isdisjoint(pulled)
    assert len(pulled) == len(set(pulled)) == 4  # three made during it, one after
    assert all(change["seq"] > taken for change in watching.pulled)
    with reading(late.sessions) as session:
        assert session.get(Lot, ("RESIN", "R-1")).status == LotStatus.HOLD.value
        assert session.get(Serial, ("MOTOR", "M-7")).status == "in_stock"
        assert cache_differences(session) == []
    assert state(late) == state(line) | {"ledger": state(late)["ledger"]}
    site.final_sync()
    assert site.violations() == []


def test_a_snapshot_cut_off_midway_is_taken_again_whole(site: Site) -> None:
    line, dock = site.enroll("line"), site.enroll("dock")
    history(site, line, dock)
    late = site.enroll("late", pull=False)
    late.transport.plan(*[Fault.NONE] * 5, Fault.DROP, path=SNAPSHOT)

    with pytest.raises(SyncUnavailable):
        sync(late, snapshot_page=2)
    assert late.cursor() == 0  # nothing taken as pulled
    sync(late, snapshot_page=2)

    assert late.cursor() == site.clock_seq()
    assert state(late) | {"ledger": None} == state(line) | {"ledger": None}
    site.final_sync()
    assert site.violations() == []


def test_a_handheld_whose_cursor_the_store_does_not_know_takes_a_new_snapshot(
    site: Site,
) -> None:
    line, dock = site.enroll("line"), site.enroll("dock")
    history(site, line, dock)
    with unit_of_work(dock.sessions) as session:
        write_setting(session, PULL_CURSOR, site.clock_seq() + 500)  # a store restored
    dock.record(lambda ledger: ledger.receive("BOLT", 3, "A-02"))  # still waiting to go
    watching = watch(dock)

    sync(dock, snapshot_page=5)

    assert watching.pages and watching.pages[0]["cursor"] == site.clock_seq()
    assert dock.cursor() == site.clock_seq()
    with reading(dock.sessions) as session:
        assert session.get(Balance, ("BOLT", "", "", "A-02")).qty == Decimal(3)
        assert cache_differences(session) == []
    site.final_sync()
    assert site.violations() == []


def test_an_older_handheld_pulls_the_whole_history_from_a_store_that_has_snapshots(
    site: Site,
) -> None:
    line, dock = site.enroll("line"), site.enroll("dock")
    history(site, line, dock)
    older = site.enroll("older", pull=False)
    with older.client(site.url) as client:
        first = client.pull(0, 1000)

    assert first.changes and first.changes[0].seq == 1
    older.transport.inner = OlderHandheld(older.transport.inner)
    sync(older)
    assert older.cursor() == site.clock_seq()
    site.final_sync()
    assert site.violations() == []


def test_the_snapshot_refuses_a_place_it_never_gave(site: Site) -> None:
    handheld = site.enroll("line")
    with handheld.client(site.url) as client:
        for params in (
            {"kind": "lot", "after": '["RESIN"]'},
            {"kind": "movement", "after": '["x"]'},
            {"kind": "status_change", "after": '["not-a-uuid"]'},
            {"kind": "part", "after": "{"},
            {"kind": "part", "after": '["\\ud800"]'},  # half a UTF-16 pair: was a 500
            {"kind": "part", "after": '["P\\u0000"]'},
            {"kind": "movement", "after": f"[{2**63}]"},
            {"kind": "nothing"},
        ):
            answer = client._http.get(SNAPSHOT, params=params)
            assert answer.status_code == 422, params
            assert answer.json()["error"] == "bad_request"
