"""The console's Exceptions page: filtered and paged on the server; one exception settled
as the handheld's panel settles it, naming the signed-in supervisor."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.models import Operator
from sync.central.enrollment import issue_code
from sync.central.models import SyncEntry, SyncException
from sync.protocol import EnrollResponse
from tests.support.console_pages import QUALITY, console_client, form
from tests.support.sync_service import bearer, push_body, receipt

Clock = Callable[[], datetime]


def held_exception(client: TestClient, sessions: sessionmaker[Session], part: str) -> int:
    """A handheld's receipt of an unknown part, held: its exception's id."""
    with unit_of_work(sessions) as session:
        code = issue_code(session, "forklift-1").code
    enrolled = EnrollResponse.model_validate(
        client.post("/v1/devices/enroll", json={"code": code}).json()
    )
    body = push_body(enrolled.device_id, receipt(1, part=part))
    pushed = client.post("/v1/sync/push", json=body, headers=bearer(enrolled.device_token))
    assert pushed.status_code == 200, pushed.text
    with unit_of_work(sessions) as session:
        return session.scalars(select(SyncException.id)).one()


def alerts(sessions: sessionmaker[Session], clock: Clock, count: int) -> None:
    """`count` open exceptions about no movement, parts P0..P4 by turns."""
    with unit_of_work(sessions) as session:
        session.add_all(
            SyncException(
                code="NEGATIVE_BALANCE",
                message=f"alert {n}",
                part=f"P{n % 5}",
                location="RCV",
                opened_at=clock(),
            )
            for n in range(count)
        )


def listed(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-exception="(\d+)"', page)]


def test_the_list_pages_on_the_server_without_overlap(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        alerts(sessions, clock, 200)
        seen: list[int] = []
        pages = 0
        url: str | None = "/console/exceptions?limit=50"
        while url is not None:
            page = client.get(url)
            assert page.status_code == 200, page.text
            seen += listed(page.text)
            pages += 1
            following = re.search(r'<a href="([^"]+)" rel="next">', page.text)
            url = following.group(1).replace("&amp;", "&") if following else None
    assert pages == 4 and len(seen) == 200 and len(set(seen)) == 200


def test_the_list_filters_by_part_kind_and_status(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        alerts(sessions, clock, 20)
        by_part = client.get("/console/exceptions", params={"part": "P3"})
        by_kind = client.get("/console/exceptions", params={"kind": "SERIAL_CONFLICT"})
        settled = client.get("/console/exceptions", params={"status": "resolved"})
        bad = client.get("/console/exceptions", params={"kind": "NO_SUCH_KIND"})
        wide = client.get("/console/exceptions", params={"limit": "\uff11"})  # a full-width 1
    assert len(listed(by_part.text)) == 4
    assert listed(by_kind.text) == [] and listed(settled.text) == []
    assert bad.status_code == 422 and "kind:" in bad.text
    assert wide.status_code == 422 and "limit: a whole number from 1 to" in wide.text


def test_a_supervisor_voids_a_held_movement_in_the_page(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        exception = held_exception(client, sessions, "NO-SUCH-PART")
        page = client.get(f"/console/exceptions/{exception}")
        assert ">Void<" in page.text and ">Apply<" in page.text and "NO-SUCH-PART" in page.text
        voided = client.post(
            f"/console/exceptions/{exception}/void", data=form(reason="not on the floor")
        )
        assert voided.status_code == 200 and "Settled: Voided by Sam Okafor" in voided.text
        again = client.post(f"/console/exceptions/{exception}/void", data=form())
    assert again.status_code == 409 and "already resolved" in again.text
    with unit_of_work(sessions) as session:
        settled = session.get_one(SyncException, exception)
        entry = session.scalars(select(SyncEntry)).one()
        assert (settled.status, entry.status) == ("resolved", "voided")
        assert settled.resolved_by == "Sam Okafor on the console"


def test_a_refused_settlement_is_shown_and_changes_nothing(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        exception = held_exception(client, sessions, "NO-SUCH-PART")
        dismiss = client.post(f"/console/exceptions/{exception}/dismiss", data=form(reason="x"))
        count = client.post(f"/console/exceptions/{exception}/count", data=form(qty="-x"))
    assert dismiss.status_code == 409 and "apply it or void it" in dismiss.text
    assert count.status_code == 422 and "qty" in count.text
    with unit_of_work(sessions) as session:
        assert session.get_one(SyncException, exception).status == "open"


def test_without_the_csrf_token_or_as_quality_nothing_is_settled(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        exception = held_exception(client, sessions, "NO-SUCH-PART")
        forged = client.post(f"/console/exceptions/{exception}/void", data={"reason": "x"})
    with console_client(sessions, clock, QUALITY, plant=False) as client:
        page = client.get(f"/console/exceptions/{exception}")
        quality = client.post(f"/console/exceptions/{exception}/void", data=form(QUALITY))
    assert (forged.status_code, quality.status_code) == (403, 403)
    assert "Only a supervisor" in page.text and ">Void<" not in page.text
    with unit_of_work(sessions) as session:
        assert session.get_one(SyncException, exception).status == "open"


def test_markup_in_a_part_or_message_shows_as_text(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        with unit_of_work(sessions) as session:
            session.add(
                SyncException(
                    code="NEGATIVE_BALANCE",
                    message="<script>alert(1)</script>",
                    part="<script>",
                    lot="<script>alert(1)</script>"[:20],
                    opened_at=clock(),
                )
            )
        listing = client.get("/console/exceptions")
        one = client.get(f"/console/exceptions/{listed(listing.text)[0]}")
    for page in (listing.text, one.text):
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_quality_staff_dismiss_a_flag_of_stock_moved_on_hold_and_settle_nothing_else(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with console_client(sessions, clock) as client:
        other = held_exception(client, sessions, "NO-SUCH-PART")
    with unit_of_work(sessions) as session:
        session.add(Operator(badge=QUALITY.badge, name=QUALITY.name, role="quality"))
        flag = SyncException(
            code="LOT_NOT_RELEASED",
            message="Lot PG-1 of PIGMENT was on hold when this issue reached the store",
            part="PIGMENT",
            lot="PG-1",
            opened_at=clock(),
        )
        session.add(flag)
        session.flush()
        flag_id = flag.id
    with console_client(sessions, clock, QUALITY, plant=False) as client:
        page = client.get(f"/console/exceptions/{flag_id}")
        assert ">Dismiss<" in page.text and ">Count<" not in page.text
        elsewhere = client.post(
            f"/console/exceptions/{other}/dismiss", data=form(QUALITY, reason="x")
        )
        done = client.post(
            f"/console/exceptions/{flag_id}/dismiss", data=form(QUALITY, reason="in quarantine")
        )
    assert elsewhere.status_code == 403 and "quality staff dismiss a LOT_NOT_RELEASED" in (
        elsewhere.text
    )
    assert done.status_code == 200 and "Settled: " in done.text, done.text[-1500:]
    with unit_of_work(sessions) as session:
        assert session.get_one(SyncException, other).status == "open"
        settled = session.get_one(SyncException, flag_id)
        assert (settled.status, settled.resolved_by) == ("resolved", "Quinn Lee on the console")
