"""Lot and serial status through sync, over real HTTP on loopback (SQLite and PostgreSQL
stores): a hold set at the store refuses a handheld's next issue after its pull, with no
reference import; a hold recorded offline on a handheld reaches the store and the other
handhelds; a later release wins; a late conflicting hold stays in the history and opens
STATUS_CONFLICT; an issue of a lot the handheld did not know was held counts, flagged
LOT_NOT_RELEASED; a change by someone who may not decide it is refused, kept, and taken
back on the handheld; the expiry policy set on the store reaches every handheld
(docs/architecture.md, "Quality and recall")."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.closing import decide
from scanner.db import reading, unit_of_work
from scanner.models import Balance, Location, Lot, Operator, Serial, StatusChange
from scanner.quality import (
    Action,
    change_status,
    find_item,
    not_released_words,
    status_history,
)
from scanner.settings import EXPIRY_POLICY, ExpiryPolicy, read_setting
from scanner.workflows.engine import Handheld as Engine
from sync.central.errors import SyncError
from sync.central.pull import publish_decisions
from sync.central.supervision import resolve
from sync.device.client import SupervisorClient
from sync.device.credentials import read_token
from sync.exception_codes import ExceptionCode
from tests.support.sync_in_process import MovableClock
from tests.support.sync_over_http import Handheld, ServiceThread, Site, Switchboard
from tests.support.sync_service import lotscan

LOT = ("PIGMENT", "PG-1")


@pytest.fixture
def moving() -> MovableClock:
    return MovableClock()


@pytest.fixture
def site(
    db_url: str, tmp_path: Path, service: tuple[ServiceThread, Switchboard], moving: MovableClock
) -> Iterator[Site]:
    """The test plant on a central store served on loopback, with a quarantine cage and
    Quinn Lee of quality."""
    plant = Site(db_url, tmp_path, clock=moving)
    plant.serve_on(*service)

    def add_quality(session: Session) -> None:
        session.add(Location(code="Q-1", name="Quarantine cage", kind="quarantine"))
        session.add(Operator(badge="B7001", name="Quinn Lee", role="quality"))

    plant.import_reference(add_quality)
    yield plant
    plant.close()


def floor(handheld: Handheld, *scans: str, badge: str = "B1001") -> list[tuple[str, str]]:
    """Scans on the handheld's own screen engine: (level, message) of each."""
    engine = Engine(handheld.sessions, clock=handheld.clock)
    responses = [engine.handle(raw).response for raw in [f"OP:{badge}", *scans]]
    return [(r.level.value, r.message) for r in responses][1:]


def received(handheld: Handheld) -> None:
    """Five kilograms of pigment lot PG-1 at receiving, and motor M-1."""
    answers = floor(handheld, "CMD:RECEIVE", "(240)PIGMENT(10)PG-1(30)5", "(240)MOTOR(21)M-1")
    assert [level for level, _message in answers] == ["info", "ok", "ok"], answers


def issue_pigment(handheld: Handheld) -> list[tuple[str, str]]:
    return floor(handheld, "CMD:ISSUE", "JOB:J-HOUSING", "(240)PIGMENT(10)PG-1(30)2")


def decided(sessions: Site | Handheld, action: Action, by: str, reason: str, **item: str) -> None:
    """A hold, release or recall recorded as `lotscan lot` records it: on the store's
    database (published to the handhelds, as the command does there), or on a handheld's
    (waiting for its next push)."""
    maker = sessions.central if isinstance(sessions, Site) else sessions.sessions
    with unit_of_work(maker) as session:
        found = find_item(session, item.get("part", "PIGMENT"), lot=item.get("lot"),
                          serial=item.get("serial"))  # fmt: skip
        change = change_status(session, found, action, reason=reason, by=by, clock=sessions.clock)
        if isinstance(sessions, Site):
            publish_decisions(session, [change], sessions.clock)


def lot_status(sessions: Site | Handheld) -> str | None:
    maker = sessions.central if isinstance(sessions, Site) else sessions.sessions
    with reading(maker) as session:
        return session.scalar(select(Lot.status).where(Lot.part == LOT[0], Lot.number == LOT[1]))


def serial_status(sessions: Site | Handheld, number: str = "M-1") -> str | None:
    maker = sessions.central if isinstance(sessions, Site) else sessions.sessions
    with reading(maker) as session:
        return session.scalar(
            select(Serial.quality_status).where(Serial.part == "MOTOR", Serial.number == number)
        )


def lot_history(sessions: Site | Handheld) -> list[str]:
    maker = sessions.central if isinstance(sessions, Site) else sessions.sessions
    with reading(maker) as session:
        lot = session.get_one(Lot, LOT)
        return [each.words() for each in status_history(session, lot)]


def test_a_hold_set_at_the_store_refuses_the_next_issue_after_the_pull(
    site: Site, moving: MovableClock
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    received(dock)
    dock.sync()
    line.sync()
    decided(site, Action.HOLD, "B9001", "porosity", lot="PG-1")
    moving.advance(minutes=5)
    line.sync()
    assert lot_status(line) == "hold"
    assert lot_history(line) == ["put on hold by Sam Okafor on 2026-11-02 08:30 (porosity)"]
    refused = issue_pigment(line)
    assert refused[-1][0] == "error"
    assert "PG-1" in refused[-1][1]
    assert "on hold by Sam Okafor on 2026-11-02 08:30 (porosity)" in refused[-1][1]
    with reading(line.sessions) as session:
        lot = session.get_one(Lot, LOT)
        # What the ledger's refusal names: who held it, when and why.
        assert not_released_words(session, lot, None) == (
            "on hold by Sam Okafor on 2026-11-02 08:30 (porosity)"
        )
    assert [m.kind for m in line.own()] == []
    site.final_sync()
    assert site.violations() == []


def test_a_hold_recorded_offline_reaches_the_store_and_every_other_handheld(
    site: Site, moving: MovableClock
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    received(dock)
    dock.sync()
    line.sync()
    dock.transport.offline = True
    moving.advance(minutes=2)
    decided(dock, Action.HOLD, "B7001", "porosity", lot="PG-1")
    decided(dock, Action.RECALL, "B7001", "winding fault", part="MOTOR", serial="M-1")
    assert dock.try_sync() is not None  # offline: the decisions wait
    assert (lot_status(site), serial_status(site)) == ("active", "active")
    dock.transport.offline = False
    dock.sync()
    assert (lot_status(site), serial_status(site)) == ("hold", "recalled")
    line.sync()
    assert (lot_status(line), serial_status(line)) == ("hold", "recalled")
    assert lot_history(line) == ["put on hold by Quinn Lee on 2026-11-02 08:32 (porosity)"]
    with reading(line.sessions) as session:
        (change,) = session.scalars(select(StatusChange).where(StatusChange.subject == "serial"))
        assert (change.device_id, change.status, change.sync_state) == (
            dock.device,
            "recalled",
            "applied",
        )
    assert issue_pigment(line)[-1][0] == "error"
    assert site.exceptions(status="open") == []
    assert site.violations() == []


def test_a_release_after_a_hold_wins_everywhere(site: Site, moving: MovableClock) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    received(dock)
    dock.sync()
    decided(site, Action.HOLD, "B9001", "porosity", lot="PG-1")
    line.sync()
    moving.advance(minutes=10)
    decided(line, Action.RELEASE, "B7001", "lab says fine", lot="PG-1")
    line.sync()
    dock.sync()
    assert (lot_status(site), lot_status(line), lot_status(dock)) == ("active",) * 3
    assert issue_pigment(dock)[-1] == ("ok", "Issued 2 kg of lot PG-1 of PIGMENT to J-HOUSING")
    assert site.exceptions(status="open") == []
    site.final_sync()
    assert site.violations() == []


def test_a_late_hold_loses_to_a_later_release_stays_in_history_and_is_shown_to_supervisors(
    site: Site, moving: MovableClock
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    office = site.enroll("office", supervisor=True)
    received(line)
    line.sync()
    dock.sync()
    decided(site, Action.HOLD, "B9001", "porosity", lot="PG-1")  # 08:30
    moving.advance(minutes=2)
    decided(dock, Action.HOLD, "B7001", "smell", lot="PG-1")  # 08:32, dock offline
    moving.advance(minutes=3)
    decided(site, Action.RELEASE, "B9001", "lab says fine", lot="PG-1")  # 08:35
    moving.advance(minutes=15)
    dock.sync()  # the 08:32 hold reaches the store at 08:50, after the release
    line.sync()
    assert (lot_status(site), lot_status(dock), lot_status(line)) == ("active",) * 3
    history = [
        "put on hold by Sam Okafor on 2026-11-02 08:30 (porosity)",
        "put on hold by Quinn Lee on 2026-11-02 08:32 (smell)",
        "released by Sam Okafor on 2026-11-02 08:35 (lab says fine)",
    ]
    assert lot_history(site) == lot_history(dock) == lot_history(line) == history
    (conflict,) = site.exceptions(code=ExceptionCode.STATUS_CONFLICT.value, status="open")
    assert (conflict.device_id, conflict.device_seq) == (dock.device, None)
    assert (conflict.part, conflict.lot) == LOT
    assert conflict.message == (
        f"The hold of lot PG-1 of PIGMENT by Quinn Lee on device {dock.device} at"
        " 2026-11-02 08:32 UTC reached the store after the release by Sam Okafor at"
        " 2026-11-02 08:35: the release stands; both are in the history"
    )
    # The supervisors' list shows it, with no movement, and a supervisor dismisses it.
    token = read_token(office.folder)
    assert token is not None
    with SupervisorClient(site.url, token, transport=office.transport) as client:
        (listed,) = [e for e in client.exceptions() if e["code"] == "STATUS_CONFLICT"]
        assert (listed["message"], listed["movement"]) == (conflict.message, None)
        client.resolve(listed["id"], "dismiss", reason="release confirmed", operator="B9001")
    assert site.exceptions(code=ExceptionCode.STATUS_CONFLICT.value, status="open") == []


def test_an_issue_of_a_lot_held_before_the_handheld_pulled_counts_and_is_flagged(
    site: Site, moving: MovableClock
) -> None:
    dock, line = site.enroll("dock"), site.enroll("line")
    received(dock)
    dock.sync()
    line.sync()
    decided(site, Action.HOLD, "B9001", "porosity", lot="PG-1")
    moving.advance(minutes=5)
    # Line has not pulled the hold: its ledger lets the issue through, and it happened.
    assert issue_pigment(line)[-1] == ("ok", "Issued 2 kg of lot PG-1 of PIGMENT to J-HOUSING")
    line.sync()
    (flag,) = site.exceptions(code=ExceptionCode.LOT_NOT_RELEASED.value, status="open")
    assert flag.message == (
        "Lot PG-1 of PIGMENT was on hold by Sam Okafor on 2026-11-02 08:30 (porosity) when"
        " this issue reached the store: it counts, and is flagged for quality staff (it may"
        " only go into quarantine)"
    )
    (issued,) = line.own()
    assert issued.sync_state == "flagged"
    assert (issued.outcome or "").startswith("LOT_NOT_RELEASED")
    with site.store() as session:
        left = session.get_one(Balance, ("PIGMENT", "PG-1", "", "RCV"))
        assert left.qty == Decimal(3)  # it counts
    # Flagged for quality staff, who dismiss it (nothing else), as a supervisor may.
    with site.store() as session:
        with pytest.raises(SyncError, match="quality staff dismiss a LOT_NOT_RELEASED flag"):
            resolve(session, flag.id, "adjust", by="office", operator="B7001", qty=Decimal(3))
        with pytest.raises(SyncError, match="only a supervisor resolves exceptions"):
            resolve(session, flag.id, "dismiss", by="office", operator="B1001", reason="x")
    with unit_of_work(site.central) as session:
        done = resolve(
            session, flag.id, "dismiss", by="office", operator="B7001",
            reason="moved to quarantine since", clock=moving,
        )  # fmt: skip
    assert (done["status"], done["resolved_by"]) == ("resolved", "Quinn Lee on office")
    site.final_sync()
    assert site.violations() == []


def test_a_decision_by_someone_who_may_not_make_it_is_refused_kept_and_taken_back(
    site: Site, moving: MovableClock
) -> None:
    """A handheld whose operator list let a floor operator hold a lot (an older lotscan, a
    badge demoted at the store): the store keeps the change as sent, marked refused, tells
    a supervisor, and the handheld takes its own decision back."""
    dock, line = site.enroll("dock"), site.enroll("line")
    received(dock)
    dock.sync()
    with unit_of_work(dock.sessions) as session:
        lot = session.get_one(Lot, LOT)
        decide(session, lot, "hold", "B1001", "looks odd", dock.clock)
    assert lot_status(dock) == "hold"
    dock.sync()
    line.sync()
    assert (lot_status(site), lot_status(dock), lot_status(line)) == ("active",) * 3
    refused = (
        "put on hold by Ana Ruiz on 2026-11-02 08:30 (looks odd) - refused by the central store"
    )
    assert lot_history(site) == lot_history(dock) == lot_history(line) == [refused]
    (alert,) = site.exceptions(code=ExceptionCode.RULE_VIOLATION.value, status="open")
    assert (alert.device_id, alert.device_seq, alert.part, alert.lot) == (
        dock.device,
        None,
        *LOT,
    )
    assert alert.message == (
        f"Refused the hold of lot PG-1 of PIGMENT by B1001 on device {dock.device} at"
        " 2026-11-02 08:30 UTC: Only a supervisor or quality staff can hold lot PG-1 of"
        " PIGMENT; Ana Ruiz (B1001) is floor; kept as sent, its status unchanged"
    )
    with unit_of_work(dock.sessions) as session:
        session.add(Operator(badge="B0404", name="Nobody Known", role="quality"))  # only here
        session.flush()
        decide(session, session.get_one(Lot, LOT), "hold", "B0404", None, dock.clock)
    dock.sync()
    assert lot_status(site) == "active"
    unknown = site.exceptions(code=ExceptionCode.RULE_VIOLATION.value, status="open")[-1]
    assert "Unknown operator B0404" in unknown.message
    assert issue_pigment(dock)[-1][0] == "ok"
    site.final_sync()
    assert site.violations() == []


def test_the_expiry_policy_set_on_the_store_reaches_every_handheld(site: Site) -> None:
    line = site.enroll("line")
    home = site.root / "cli"
    home.mkdir()
    answer = lotscan("settings", "set", "expiry-policy", "block", "--db", site.db_url, home=home)
    assert answer.returncode == 0, answer.stderr
    assert "Every handheld takes it on its next sync" in answer.stdout
    line.sync()
    with reading(line.sessions) as session:
        assert read_setting(session, EXPIRY_POLICY) == ExpiryPolicy.BLOCK
    # A handheld enrolled later takes it with its snapshot.
    late = site.enroll("late")
    with reading(late.sessions) as session:
        assert read_setting(session, EXPIRY_POLICY) == ExpiryPolicy.BLOCK
    # An enrolled handheld does not set it itself.
    refused = lotscan("settings", "set", "expiry_policy", "ignore", "--db", line.db_url, home=home)
    assert refused.returncode != 0
    assert "set for the whole site on the central store" in refused.stderr
    # Reset on the store: every handheld is back to the default.
    again = lotscan("settings", "reset", "expiry_policy", "--db", site.db_url, home=home)
    assert again.returncode == 0, again.stderr
    line.sync()
    late.sync()
    for handheld in (line, late):
        with reading(handheld.sessions) as session:
            assert read_setting(session, EXPIRY_POLICY) == ExpiryPolicy.WARN
