"""A handheld's status changes judged at the store's door as its lots' are (SQLite and
PostgreSQL, over HTTP on loopback): a job or order line the store has not, a reopening no
supervisor made, and any change dated after it reached the store are refused, kept as
sent and alerted, and leave the status as it was (docs/architecture.md, "Status changes")."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from scanner.closing import close_job, reopen_job
from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import Job, PurchaseOrderLine, StatusChange
from scanner.quality import Action, change_status, find_item
from sync.central.models import SyncException
from sync.exception_codes import ExceptionCode
from sync.protocol import MovementIn
from tests.conftest import NOW
from tests.support.sync_service import Central, push_body


def pushed(central: Central, token: str, device: str, **change: Any) -> None:
    """Pushes one status change (happened now unless it says otherwise)."""
    body = push_body(device)
    body["status_changes"] = [{"id": str(uuid.uuid4()), "happened_at": NOW.isoformat(), **change}]
    answer = central.push(token, body)
    assert answer.status_code == 200, answer.text


def alerts(central: Central) -> list[str]:
    with unit_of_work(central.sessions) as session:
        return list(
            session.scalars(
                select(SyncException.message)
                .where(SyncException.code == ExceptionCode.RULE_VIOLATION.value)
                .order_by(SyncException.id)
            )
        )


def states(central: Central) -> list[tuple[str, str, str]]:
    """(subject, status, how the store kept it) of every status change, in order."""
    with unit_of_work(central.sessions) as session:
        return [
            (change.subject, change.status, change.sync_state)
            for change in session.scalars(select(StatusChange).order_by(StatusChange.recorded_at))
        ]


def test_a_reopening_no_supervisor_made_is_refused(central: Central) -> None:
    """A closed job reopened by a floor operator, or by nobody named: before, the store
    reopened it, and a handheld could undo any close."""
    device, token = central.enroll("Dock 1")
    with unit_of_work(central.sessions) as session:
        close_job(session, "J-HOUSING", operator="B9001", clock=lambda: NOW)
    later = (NOW + timedelta(minutes=1)).isoformat()
    pushed(central, token, device, subject="job", key="J-HOUSING", status="open", happened_at=later)
    pushed(
        central, token, device, subject="po_line", key="PO-1|1", status="closed", operator="B1001"
    )
    pushed(
        central, token, device, subject="po_line", key="PO-1|1", status="open", operator="B1001",
        happened_at=later,
    )  # fmt: skip
    with unit_of_work(central.sessions) as session:
        assert session.get_one(Job, "J-HOUSING").status == "closed"
        assert session.get_one(PurchaseOrderLine, ("PO-1", 1)).status == "closed"
    assert alerts(central) == [
        f"Refused the reopening of job J-HOUSING on device {device} at 2026-11-02 08:31 UTC:"
        " only a supervisor reopens job J-HOUSING, and none is named; kept as sent, its status"
        " unchanged",
        f"Refused the reopening of PO-1 line 1 by B1001 on device {device} at 2026-11-02 08:31"
        " UTC: Only a supervisor can reopen PO-1 line 1; Ana Ruiz (B1001) is not one; kept as"
        " sent, its status unchanged",
    ]
    refused = "rejected"
    assert [state for state in states(central) if state[0] != "job" or state[1] == "open"] == [
        ("job", "open", refused),
        ("po_line", "closed", "applied"),  # anyone closes a line
        ("po_line", "open", refused),
    ]
    # A supervisor's reopening is kept.
    pushed(
        central, token, device, subject="job", key="J-HOUSING", status="open", operator="B9001",
        happened_at=(NOW + timedelta(minutes=2)).isoformat(),
    )  # fmt: skip
    with unit_of_work(central.sessions) as session:
        assert session.get_one(Job, "J-HOUSING").status == "open"


def test_a_change_of_something_the_store_has_not_is_refused(central: Central) -> None:
    """Before, a close of job NO-SUCH-JOB was kept as applied and sent to every handheld."""
    device, token = central.enroll("Dock 1")
    pushed(central, token, device, subject="job", key="NO-SUCH-JOB", status="closed")
    pushed(central, token, device, subject="so_line", key="SO-9|1", status="closed")
    assert alerts(central) == [
        f"Refused the close of job NO-SUCH-JOB on device {device} at 2026-11-02 08:30 UTC: the"
        " store has no job NO-SUCH-JOB; kept as sent, its status unchanged",
        f"Refused the close of SO-9 line 1 on device {device} at 2026-11-02 08:30 UTC: the"
        " store has no SO-9 line 1; kept as sent, its status unchanged",
    ]
    assert [state for _subject, _status, state in states(central)] == ["rejected", "rejected"]
    changes = central.pull(token).changes
    sent = [change.data for change in changes if change.kind == "status_change"]
    assert [each["sync_state"] for each in sent] == ["rejected", "rejected"]


def test_a_change_dated_after_it_reached_the_store_is_refused(central: Central) -> None:
    """A handheld whose clock ran to 2999 reopened a job the store had closed: by its date
    the reopening stood over every decision made since, the store's own included, while the
    store's command said the job was closed."""
    device, token = central.enroll("Dock 1")
    with unit_of_work(central.sessions) as session:
        close_job(session, "J-HOUSING", operator="B9001", clock=lambda: NOW)
    pushed(
        central, token, device, subject="job", key="J-HOUSING", status="open", operator="B9001",
        happened_at="2999-01-01T00:00:00Z",
    )  # fmt: skip
    ahead = (NOW + timedelta(minutes=4)).isoformat()  # within the clocks' allowance
    pushed(
        central, token, device, subject="po_line", key="PO-1|2", status="closed", happened_at=ahead
    )
    assert alerts(central) == [
        f"Refused the reopening of job J-HOUSING by B9001 on device {device} at 2999-01-01"
        " 00:00 UTC: that is after it reached the store (2026-11-02 08:30 UTC), so the"
        " device's clock is ahead; decide again with the clock right; kept as sent, its status"
        " unchanged"
    ]
    with unit_of_work(central.sessions) as session:
        assert session.get_one(Job, "J-HOUSING").status == "closed"
        assert session.get_one(PurchaseOrderLine, ("PO-1", 2)).status == "closed"


def test_a_decision_at_the_store_stands_over_one_dated_a_little_ahead(central: Central) -> None:
    """A close from a handheld whose clock runs four minutes ahead is taken; a supervisor's
    reopening at the store a minute later by the store's clock ranked under it, and the
    command said the job was reopened while it stayed closed (probe)."""
    device, token = central.enroll("Dock 1")
    ahead = NOW + timedelta(minutes=4)
    pushed(central, token, device, subject="job", key="J-HOUSING", status="closed",
           happened_at=ahead.isoformat())  # fmt: skip
    with unit_of_work(central.sessions) as session:
        assert session.get_one(Job, "J-HOUSING").status == "closed"
        reopened = reopen_job(session, "J-HOUSING", operator="B9001", clock=lambda: NOW)
        assert reopened.happened_at > ahead
    with unit_of_work(central.sessions) as session:
        assert session.get_one(Job, "J-HOUSING").status == "open"


def test_a_completion_of_a_job_that_used_a_recalled_lot_counts_flagged(central: Central) -> None:
    """A handheld that had not heard of the recall completes the job that used the lot: it
    happened, so it counts, flagged for quality staff, as an issue of a held lot is."""
    device, token = central.enroll("Dock 1")
    with unit_of_work(central.sessions) as session:
        ledger = Ledger(session, lambda: NOW)
        ledger.receive("RESIN", 20, "RCV", lot="R-1")
        ledger.issue_to_job("J-HOUSING", "RESIN", 20, lot="R-1")
        resin = find_item(session, "RESIN", lot="R-1", serial=None)
        change_status(
            session, resin, Action.RECALL, reason="MW-88412", by="B9001", clock=lambda: NOW
        )
    made = MovementIn(
        seq=1, id=uuid.uuid4(), kind="produce", part="HOUSING", lot="H-9", qty=Decimal(2),
        to_location="LINE", job="J-HOUSING", operator="B1001", happened_at=NOW,
        observed_cursor=0,
    )  # fmt: skip
    answer = central.push(token, push_body(device, made))
    assert answer.status_code == 200, answer.text
    (outcome,) = answer.json()["outcomes"]
    assert (outcome["status"], outcome["codes"]) == ("flagged", ["LOT_NOT_RELEASED"])
    assert outcome["message"] == (
        "Job J-HOUSING had used lot R-1 of RESIN, recalled, when this produce reached the"
        " store: it counts, and is flagged for quality staff (what it made is made of"
        " recalled stock)"
    )
