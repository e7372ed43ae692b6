"""The store judges every pushed movement by the ledger's rules (docs/architecture.md,
"Ledger rules" and "Sync outcomes"): a device with a valid token that sends what no
handheld's ledger would record gets it rejected (or held, where the store's part data
decides), never applied, and no other handheld pulls it. Over real HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from scanner.errors import RuleViolation
from scanner.models import Lot, Movement, Serial, SyncState
from sync.central.errors import SyncError
from sync.device.client import SupervisorClient
from sync.device.credentials import read_token
from tests.support.sync_over_http import Handheld, Site

NOW = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


def movement(seq: int = 1, **facts: Any) -> dict[str, Any]:
    """A pushed movement as JSON, as a client that is not lotscan's might send it."""
    return {
        "seq": seq,
        "id": str(uuid.uuid4()),
        "happened_at": NOW.isoformat(),
        "observed_cursor": 0,
        **facts,
    }


def push(site: Site, device: Handheld, *movements: dict[str, Any]) -> httpx.Response:
    """A raw push with the device's own token: the body straight onto the wire."""
    body = {
        "protocol": 1,
        "device_id": device.device,
        "device_time": NOW.isoformat(),
        "queue_depth": len(movements),
        "max_local_seq": max(m["seq"] for m in movements),
        "movements": list(movements),
    }
    token = read_token(device.folder)
    with httpx.Client(base_url=site.url, timeout=30) as http:
        return http.post("/v1/sync/push", json=body, headers={"Authorization": f"Bearer {token}"})


def nothing_of_it_anywhere(site: Site, others: list[Handheld], pushed: dict[str, Any]) -> None:
    """The movement is in no ledger, and the lot or serial it named became no row, at the
    store or on any other handheld after it synced."""
    databases = [site.central]
    for other in others:
        other.sync()
        databases.append(other.sessions)
    for sessions in databases:
        with sessions() as session:
            assert session.get(Movement, uuid.UUID(pushed["id"])) is None
            # Read whole: PostgreSQL takes no NUL, not even as a parameter.
            lots = session.scalars(select(Lot.number).where(Lot.part == pushed["part"])).all()
            serials = session.scalars(
                select(Serial.number).where(Serial.part == pushed["part"])
            ).all()
            assert pushed.get("lot") not in lots and pushed.get("serial") not in serials


def outcome_of(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    (outcome,) = body["outcomes"]
    assert body["last_applied_seq"] == outcome["seq"]  # the device's queue moves on
    return dict(outcome)


REJECTED: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, facts, the field named, the ledger's words)
    ("serial of five", {"kind": "receive", "part": "MOTOR", "qty": "5", "serial": "M-1",
     "to_location": "RCV"}, "qty", "A serial is one unit: MOTOR quantity must be 1"),
    ("serial of a half", {"kind": "receive", "part": "MOTOR", "qty": "0.5", "serial": "M-1",
     "to_location": "RCV"}, "qty", "A serial is one unit: MOTOR quantity must be 1"),
    ("no location", {"kind": "receive", "part": "BOLT", "qty": "5"}, "to_location",
     "A movement needs a location"),
    ("receipt with a source", {"kind": "receive", "part": "BOLT", "qty": "5",
     "from_location": "A-01", "to_location": "RCV"}, "from_location",
     "A receipt brings stock in: it has no source location, not A-01"),
    ("move to where it is", {"kind": "move", "part": "BOLT", "qty": "5",
     "from_location": "A-01", "to_location": "A-01"}, "to_location", "BOLT is already at A-01"),
    ("adjustment without a reason", {"kind": "adjust", "part": "BOLT", "qty": "5",
     "to_location": "A-01", "reason": " "}, "reason", "An adjustment needs a reason"),
    ("adjustment from an ordinary handheld", {"kind": "adjust", "part": "BOLT", "qty": "5",
     "to_location": "A-01", "reason": "found"}, "kind",
     "Only a supervisor's device records an adjustment"),
    ("reversal naming nothing", {"kind": "reverse", "part": "BOLT", "qty": "5",
     "from_location": "A-01"}, "reverses", "A reversal names the movement it reverses"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "field", "words"),
    [pytest.param(facts, field, words, id=case) for case, facts, field, words in REJECTED],
)
def test_a_movement_no_ledger_records_is_rejected_and_reaches_no_one(
    site: Site, facts: dict[str, Any], field: str, words: str
) -> None:
    rogue, yard = site.enroll("rogue"), site.enroll("yard")
    pushed = movement(**facts)

    outcome = outcome_of(push(site, rogue, pushed))

    assert (outcome["status"], outcome["codes"]) == ("rejected", ["RULE_VIOLATION"])
    assert f"Rejected, {field} breaks rule" in outcome["message"]
    assert words in outcome["message"]
    nothing_of_it_anywhere(site, [yard], pushed)
    [exception] = site.exceptions("RULE_VIOLATION", "open")
    assert (exception.device_id, exception.device_seq) == (rogue.device, 1)
    assert exception.message == outcome["message"]
    # The number is used once: the same push again gets the same answer, alerting no one.
    assert outcome_of(push(site, rogue, pushed)) == outcome
    assert len(site.exceptions("RULE_VIOLATION")) == 1


NOT_GS1 = {"space": "L 1", "accent": "Lé1", "CR LF": "L\r\n1", "GS": "L\x1d1", "NUL": "L\x001"}


@pytest.mark.parametrize("what", ["lot", "serial"])
@pytest.mark.parametrize("text", NOT_GS1.values(), ids=NOT_GS1.keys())
def test_a_lot_or_serial_outside_gs1s_characters_is_refused_and_reaches_no_one(
    site: Site, what: str, text: str
) -> None:
    rogue, yard = site.enroll("rogue"), site.enroll("yard")
    part = "RESIN" if what == "lot" else "MOTOR"
    pushed = movement(kind="receive", part=part, qty="1", to_location="RCV", **{what: text})

    answer = push(site, rogue, pushed)

    if answer.status_code == 422:
        # Refused at the door (control characters): the answer names the field.
        assert f"movements[0].{what}" in answer.json()["message"]
    else:
        outcome = outcome_of(answer)
        assert (outcome["status"], outcome["codes"]) == ("rejected", ["RULE_VIOLATION"])
        assert f"Rejected, {what} breaks rule number-gs1" in outcome["message"]
        assert "characters a GS1 label cannot carry" in outcome["message"]
        for control in "\r\n\x1d\x00":
            assert control not in outcome["message"]
    nothing_of_it_anywhere(site, [yard], pushed)


HELD: list[tuple[str, dict[str, Any], str, str]] = [
    ("serial-tracked part without a serial", {"kind": "receive", "part": "MOTOR", "qty": "5",
     "to_location": "RCV"}, "serial", "MOTOR is serial-tracked: scan or type its serial"),
    ("lot-tracked part without a lot", {"kind": "receive", "part": "RESIN", "qty": "5",
     "to_location": "RCV"}, "lot", "RESIN is lot-tracked: scan or type its lot"),
    ("lot on an untracked part", {"kind": "receive", "part": "BOLT", "qty": "5", "lot": "B-1",
     "to_location": "RCV"}, "lot", "BOLT is not lot-tracked: it has no lots"),
    ("lot on a backflush part", {"kind": "receive", "part": "GREASE", "qty": "5", "lot": "G-1",
     "to_location": "RCV"}, "lot", "GREASE is a backflush part, not lot-tracked: it has no lots"),
    ("lot on an untracked part shipped on a line without lot control", {"kind": "ship",
     "part": "BOLT", "qty": "5", "lot": "B-1", "from_location": "A-01", "so": "SO-2",
     "so_line": 2}, "lot", "BOLT is not lot-tracked: it has no lots"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "field", "words"),
    [pytest.param(facts, field, words, id=case) for case, facts, field, words in HELD],
)
def test_a_lot_or_serial_the_stores_part_does_not_track_so_is_held_and_cannot_be_applied(
    site: Site, facts: dict[str, Any], field: str, words: str
) -> None:
    """The store's part data decides these, and a supervisor could still correct it: held,
    never applied as it stands, and voided in the end."""
    rogue, yard = site.enroll("rogue"), site.enroll("yard")
    pushed = movement(**facts)

    outcome = outcome_of(push(site, rogue, pushed))

    assert (outcome["status"], outcome["codes"]) == ("held", ["TRACKING_MISMATCH"])
    assert f"Held, {field} breaks rule" in outcome["message"] and words in outcome["message"]
    nothing_of_it_anywhere(site, [yard], pushed)
    [exception] = site.exceptions("TRACKING_MISMATCH", "open")
    with pytest.raises(SyncError, match=f"It cannot be applied: {field} breaks rule"):
        site.resolve(exception.id, "apply")
    site.resolve(exception.id, "void", reason="never happened")
    nothing_of_it_anywhere(site, [yard], pushed)


def test_a_ship_of_an_untracked_part_on_a_lot_control_line_keeps_its_lot(site: Site) -> None:
    """docs/architecture.md, "Tracking and quantities": the lot names the shipment."""
    dock = site.enroll("dock")
    dock.record(lambda ledger: ledger.receive("BOLT", 10, "A-01"))
    dock.record(lambda ledger: ledger.ship("SO-1", "BOLT", 4, line=2, lot="SHIP-7"))
    dock.sync()
    assert [m.sync_state for m in dock.own()] == ["applied", "applied"]
    assert site.violations() == []


def test_an_adjustment_counts_from_a_supervisors_device_and_is_rejected_from_a_handheld(
    site: Site,
) -> None:
    """The handheld's ledger records a count correction; the store takes it only from a
    supervisor's device, and the handheld shows it rejected, withdrawn from its stock."""
    office = site.enroll("office", supervisor=True)
    dock = site.enroll("dock")
    for device in (office, dock):
        device.record(lambda ledger: ledger.adjust("BOLT", 5, "A-01", reason="found"))
        device.sync()

    [counted] = office.own()
    [refused] = dock.own()
    assert counted.sync_state == SyncState.APPLIED
    assert refused.sync_state == SyncState.REJECTED
    assert refused.outcome is not None
    assert refused.outcome.startswith("RULE_VIOLATION: Rejected, kind breaks rule")
    office.sync()
    with dock.sessions() as session:
        assert session.get(Movement, counted.id) is not None  # the supervisor's count arrived
    # The supervisor's panel lists it as it lists every exception.
    panel = SupervisorClient(site.url, read_token(office.folder))
    [listed] = [row for row in panel.exceptions() if row["code"] == "RULE_VIOLATION"]
    panel.close()
    assert (listed["device"], listed["entry_status"]) == (dock.device, "rejected")
    assert listed["movement"]["kind"] == "adjust"
    assert site.violations() == []


def test_a_reversal_of_another_devices_movement_is_refused_on_the_handheld_and_rejected(
    site: Site,
) -> None:
    yard, rogue = site.enroll("yard"), site.enroll("rogue")
    receipt = yard.record(lambda ledger: ledger.receive("BOLT", 10, "A-01"))
    yard.sync()
    rogue.sync()  # it has the yard's receipt now

    with pytest.raises(RuleViolation, match=f"recorded on device {yard.device}: only that"):
        rogue.record(lambda ledger: ledger.reverse(receipt.id, reason="not mine"))
    pushed = movement(
        kind="reverse", part="BOLT", qty="10", from_location="A-01", reverses=str(receipt.id)
    )
    outcome = outcome_of(push(site, rogue, pushed))

    assert (outcome["status"], outcome["codes"]) == ("rejected", ["RULE_VIOLATION"])
    assert "Rejected, reverses breaks rule reverse-own-movement" in outcome["message"]
    nothing_of_it_anywhere(site, [yard], pushed)
    with site.store() as session:
        assert session.scalars(select(Movement.kind)).all() == ["receive"]


def test_a_reversal_that_does_not_mirror_its_original_is_rejected(site: Site) -> None:
    dock = site.enroll("dock")
    receipt = dock.record(lambda ledger: ledger.receive("BOLT", 10, "A-01"))
    dock.sync()
    pushed = movement(
        seq=2, kind="reverse", part="BOLT", qty="3", from_location="A-01", reverses=str(receipt.id)
    )

    outcome = outcome_of(push(site, dock, pushed))

    assert outcome["status"] == "rejected"
    assert "Rejected, qty breaks rule reversal-mirrors-original" in outcome["message"]
    assert "its qty must be 10, not 3" in outcome["message"]
