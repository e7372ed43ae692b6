"""A push judged as a set (sync.central.batch) leaves the store exactly as the per-movement
path does (`push(..., as_set=False)`, the reference): drawn sync histories (hypothesis) of
receipts, moves, issues, shipments, completions, adjustments, returns and reversals, lots
old and new, serials, shortfalls and the receipts that settle them, holds, rejections,
status changes, retries, numbers sent twice with other facts, reused ids and gaps, from
three devices, are pushed to two stores, one each way. Every answer must be the same, and
afterwards every table of the two stores, row for row.

On PostgreSQL the set's clean rows are written behind the judging (sync.central.write_behind)
here in shares of two, so that rows go to the server while the push judges what follows,
statements of its own come between them, and a push ends with rows still on their way."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.models import Base
from scanner.workspace import sqlite_url
from sync.central import write_behind
from sync.central.enrollment import enroll, issue_code
from sync.central.models import Device, EnrollmentCode
from sync.central.push import push
from sync.protocol import EnrollRequest, MovementIn, PushRequest, StatusChangeIn
from tests.conftest import NOW, PG_URL
from tests.support.databases import open_migrated, pg_schema
from tests.support.drawn import REPEATABLE
from tests.support.sync_service import with_plant

HISTORIES = settings(
    REPEATABLE,
    phases=[Phase.explicit, Phase.generate],  # shrinking a history of pushes takes minutes
)

DEVICES = ("handheld", "other", "supervisor")
LOCATIONS = ["RCV", "A-01", "A-02", "LINE", "SHIP"]
# (part, lot, serial): mostly stock the store tracks as the movement says.
GOODS = [
    ("BOLT", None, None),
    ("BOLT", None, None),
    ("RESIN", "L1", None),
    ("RESIN", "L1", None),
    ("BOLT", None, None),
    ("RESIN", "L1", None),
    ("RESIN", "L2", None),
    ("RESIN", "L9", None),
    ("MOTOR", None, "S1"),
    ("MOTOR", None, "S2"),
    ("GREASE", None, None),
    ("BOLT", "L1", None),  # an untracked part with a lot: held, or naming a shipment
    ("RESIN", None, None),  # a lot-tracked part without its lot: held
    ("NOPE", None, None),  # unknown: held
]
QUANTITIES = [Decimal(1), Decimal(5), Decimal(10), Decimal("0.5"), Decimal(40)]


@st.composite
def movement_facts(draw: st.DrawFn) -> dict[str, Any]:
    """What a handheld records, now and then what it never would (rejected by the store)."""
    kind = draw(
        st.sampled_from(
            ["receive"] * 5 + ["move"] * 3 + ["issue", "ship", "produce", "adjust", "return"]
        )
    )
    part, lot, serial = draw(st.sampled_from(GOODS))
    qty = Decimal(1) if serial is not None else draw(st.sampled_from(QUANTITIES))
    source = draw(st.sampled_from(LOCATIONS * 4 + ["NOWHERE"]))
    destination = draw(st.sampled_from([x for x in LOCATIONS if x != source]))
    facts: dict[str, Any] = {"kind": kind, "part": part, "lot": lot, "serial": serial, "qty": qty}
    if kind in ("receive", "produce"):
        facts["to_location"] = destination
    elif kind in ("issue", "ship"):
        facts["from_location"] = source
    elif kind == "move":
        facts["from_location"], facts["to_location"] = source, destination
    elif kind == "adjust":
        facts["to_location"] = destination
        facts["reason"] = "count"
    else:
        facts["from_location"] = source
    if kind in ("issue", "produce") and draw(st.booleans()):
        facts["job"] = draw(st.sampled_from(["J-HOUSING", "J-PUMP"]))
    if kind == "receive" and part == "RESIN" and draw(st.booleans()):
        facts["po"], facts["po_line"] = "PO-1", 1
    if kind == "ship" and part == "BOLT" and draw(st.booleans()):
        facts["so"], facts["so_line"] = "SO-1", draw(st.sampled_from([2, 2, 1]))
    if lot is not None and draw(st.integers(0, 4)) == 0:
        facts["supplier_lot"] = "SUP-7"
    if serial is not None and draw(st.integers(0, 3)) == 0:
        facts["serial_lot"] = "L1"
    facts["operator"] = draw(st.sampled_from(["B1001"] * 6 + ["B9001", None, "B0000"]))
    facts["observed_cursor"] = draw(st.sampled_from([0, 0, 5, 50]))
    if kind == "receive" and draw(st.integers(0, 20)) == 0:
        facts["from_location"] = source  # never recorded by a handheld: rejected
    return facts


STATUS_CHANGES = [
    ("lot", "RESIN|L1", "hold"),
    ("lot", "RESIN|L1", "active"),
    ("job", "J-HOUSING", "closed"),
    ("job", "J-HOUSING", "open"),
    ("so_line", "SO-1|2", "closed"),
    ("serial", "MOTOR|S1", "hold"),
]


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Pushes as plain instructions: which device, which of its movements (numbered as it
    recorded them), the status changes it carries."""
    steps = []
    recorded: dict[str, list[dict[str, Any]]] = {device: [] for device in DEVICES}
    sent: dict[str, int] = dict.fromkeys(DEVICES, 0)
    for _ in range(draw(st.integers(1, 7))):
        device = draw(st.sampled_from(DEVICES))
        mine = recorded[device]
        for _ in range(draw(st.integers(0, 14))):
            facts = draw(movement_facts())
            applied = [m for m in mine if m.get("kind") != "reverse"]
            if applied and draw(st.integers(0, 8)) == 0:
                facts = _reversal(draw(st.sampled_from(applied)), mirrored=draw(st.booleans()))
            facts["id"] = uuid.uuid4()
            facts["seq"] = len(mine) + 1
            facts["happened_at"] = NOW + timedelta(minutes=len(mine))
            mine.append(facts)
        batch = list(mine[max(0, sent[device] - draw(st.integers(0, 3))) :])  # retries
        trouble = draw(st.integers(0, 9))
        if trouble == 0 and len(batch) > 1:
            del batch[draw(st.integers(0, len(batch) - 1))]  # a gap
        elif trouble == 1 and batch:
            batch.append({**draw(st.sampled_from(batch)), "qty": Decimal(3)})  # twice, other
        elif trouble == 2 and batch:
            batch.append(dict(draw(st.sampled_from(batch))))  # twice, the same
        elif trouble == 3 and batch and any(recorded.values()):
            others = [m for ms in recorded.values() for m in ms]
            victim = draw(st.integers(0, len(batch) - 1))
            batch[victim] = {**batch[victim], "id": draw(st.sampled_from(others))["id"]}
        changes = []
        if draw(st.integers(0, 4)) == 0:
            subject, key, status = draw(st.sampled_from(STATUS_CHANGES))
            changes.append(
                {
                    "id": uuid.uuid4(),
                    "subject": subject,
                    "key": key,
                    "status": status,
                    "operator": "B9001",
                    "happened_at": NOW + timedelta(minutes=draw(st.integers(0, 10))),
                }
            )
        sent[device] = max([sent[device], *(m["seq"] for m in batch)])
        steps.append({"device": device, "movements": batch, "status_changes": changes})
    return steps


def _reversal(original: dict[str, Any], *, mirrored: bool) -> dict[str, Any]:
    facts = {
        name: original.get(name)
        for name in ("part", "lot", "serial", "qty", "job", "po", "po_line", "so", "so_line")
    }
    facts.update(
        kind="reverse",
        reverses=original["id"],
        from_location=original.get("to_location"),
        to_location=original.get("from_location"),
        operator=original.get("operator"),
    )
    if not mirrored:
        facts["qty"] = original["qty"] + 1  # breaks the mirror rule
    return facts


class Stores:
    """Two central stores with the test plant and the same three devices."""

    def __init__(self, first: str, second: str, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.as_set = open_migrated(first)
        self.reference = open_migrated(second)
        for sessions in (self.as_set, self.reference):
            with_plant(sessions, clock)
        self.ids: dict[str, str] = {}
        for name in DEVICES:
            with unit_of_work(self.as_set) as session:
                code = issue_code(session, name, supervisor=name == "supervisor", clock=clock)
            with unit_of_work(self.as_set) as session:
                enrolled = enroll(session, EnrollRequest(code=code.code), clock)
            self.ids[name] = enrolled.device_id
            with unit_of_work(self.as_set) as session:
                row = session.get_one(Device, enrolled.device_id)
                values = {c.key: getattr(row, c.key) for c in Device.__table__.columns}
            with unit_of_work(self.reference) as session:
                session.add(Device(**values))

    def push(self, sessions: sessionmaker[Session], request: PushRequest, *, as_set: bool) -> Any:
        with unit_of_work(sessions) as session:
            device = session.get_one(Device, request.device_id)
            return push(session, device, request, self.clock, as_set=as_set).model_dump()

    def close(self) -> None:
        for sessions in (self.as_set, self.reference):
            sessions.kw["bind"].dispose()


def _request(stores: Stores, step: dict[str, Any]) -> PushRequest:
    device = stores.ids[step["device"]]
    movements = [
        MovementIn.model_validate({k: v for k, v in m.items() if v is not None})
        for m in step["movements"]
    ]
    return PushRequest(
        device_id=device,
        device_time=NOW,
        queue_depth=len(movements),
        max_local_seq=max((m.seq for m in movements), default=0),
        movements=movements,
        status_changes=[StatusChangeIn.model_validate(c) for c in step["status_changes"]],
    )


_SETUP_ONLY = {EnrollmentCode.__tablename__, "settings"}
"""Written by enrolling the devices on one store only (its codes, the store's own device
id)."""


def _state(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in the order of its key."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in _SETUP_ONLY or not isinstance(table, Table):
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            found[table.name] = [
                tuple(row) for row in session.execute(select(table).order_by(*order))
            ]
    return found


@pytest.fixture
def two_urls(db_url: str, tmp_path: Path) -> Iterator[Callable[[], tuple[str, str]]]:
    """Makes two empty databases on the backend of `db_url` for each drawn history."""
    with ExitStack() as stack:
        made = 0

        def fresh() -> tuple[str, str]:
            nonlocal made
            made += 1
            if db_url.startswith("sqlite"):
                return (
                    sqlite_url(tmp_path / f"set-{made}.db"),
                    sqlite_url(tmp_path / f"one-{made}.db"),
                )
            assert PG_URL is not None
            return stack.enter_context(pg_schema(PG_URL)), stack.enter_context(pg_schema(PG_URL))

        yield fresh


def test_a_push_judged_as_a_set_leaves_the_store_as_one_judged_movement_by_movement(
    two_urls: Callable[[], tuple[str, str]],
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(write_behind, "SHARE", 2)

    @HISTORIES
    @given(histories())
    def same_stores(history: list[dict[str, Any]]) -> None:
        stores = Stores(*two_urls(), clock)
        try:
            for step in history:
                request = _request(stores, step)
                ours = stores.push(stores.as_set, request, as_set=True)
                theirs = stores.push(stores.reference, request, as_set=False)
                assert ours == theirs
            ours_now, theirs_now = _state(stores.as_set), _state(stores.reference)
            for table in theirs_now:
                assert ours_now[table] == theirs_now[table], table
        finally:
            stores.close()

    same_stores()
