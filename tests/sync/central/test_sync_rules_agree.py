"""One rule set (docs/architecture.md, "Ledger rules"): on the same facts, the handheld's
ledger refuses a movement for a rule exactly when the store rejects or holds it for that
rule, in the same words. Random movement facts and parts, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.errors import LotscanError
from scanner.ledger import Ledger
from scanner.models import QUARANTINE, Location, Lot, Movement, Serial
from scanner.movement_rules import BrokenMovementRule
from scanner.quality import may_move_unreleased, stricter
from scanner.settings import DEVICE_ID, write_setting
from scanner.workspace import sqlite_url
from sync.central.apply import CentralLedger, entry_codes
from sync.central.enrollment import ensure_central, issue_code
from sync.central.models import Device
from sync.protocol import MovementIn, movement_in
from tests.conftest import NOW
from tests.support.databases import open_migrated
from tests.support.plant import add_plant

RULE_CODES = {"RULE_VIOLATION", "TRACKING_MISMATCH"}
PARTS = ["BOLT", "GREASE", "RESIN", "MOTOR"]  # untracked, backflush, lot, serial
LOTS = [None, "L1", "L 1", "Lé", "L\r\n1", "L\x1d1"]
SERIALS = [None, "S7", "S 7", "S\x001"]


def fixed() -> datetime:
    return NOW


def _stocked_handheld(path: Path, device: str) -> sessionmaker[Session]:
    """A handheld with some of everything at A-01, so the ledger's refusals are its rules'."""
    sessions = open_migrated(sqlite_url(path))
    with unit_of_work(sessions) as session:
        add_plant(session)
        write_setting(session, DEVICE_ID, device)
        ledger = Ledger(session, fixed)
        ledger.receive("BOLT", 100, "A-01")
        ledger.receive("GREASE", 100, "A-01")
        ledger.receive("RESIN", 100, "A-01", lot="L1")
        ledger.receive("MOTOR", 1, "A-01", serial="S7")
    return sessions


def _central(sessions: sessionmaker[Session]) -> str:
    """The store with the plant and a supervisor's device (an adjustment is one's): its id."""
    with unit_of_work(sessions) as session:
        ensure_central(session)
        add_plant(session)
        device = issue_code(session, "office", supervisor=True, clock=fixed).device
        record = session.get_one(Device, device)
        record.status, record.role = "active", "supervisor"
    return device


facts = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["receive", "move", "adjust"]),
        "part": st.sampled_from(PARTS),
        "lot": st.sampled_from(LOTS),
        "serial": st.sampled_from(SERIALS),
        "qty": st.sampled_from([Decimal(1), Decimal(5), Decimal("0.5")]),
        "to_location": st.sampled_from(["A-01", "A-02"]),
        "reason": st.sampled_from(["count", " "]),
    }
)


def _record(facts: dict[str, object]) -> Callable[[Ledger], Movement]:
    kind, part, qty, to = facts["kind"], str(facts["part"]), facts["qty"], str(facts["to_location"])
    lot, serial = facts["lot"], facts["serial"]
    assert isinstance(qty, Decimal)
    assert lot is None or isinstance(lot, str)
    assert serial is None or isinstance(serial, str)
    if kind == "receive":
        return lambda ledger: ledger.receive(part, qty, to, lot=lot, serial=serial)
    if kind == "move":
        return lambda ledger: ledger.move(
            part, qty, to, from_location="A-01", lot=lot, serial=serial
        )
    reason = str(facts["reason"])
    return lambda ledger: ledger.adjust(part, qty, to, lot=lot, serial=serial, reason=reason)


def _pushed(facts: dict[str, object], seq: int) -> MovementIn:
    """The same facts as a push carries them, for a movement the ledger refused."""
    kind = str(facts["kind"])
    return MovementIn.model_validate(
        {
            "seq": seq,
            "id": uuid.uuid4(),
            "kind": kind,
            "part": facts["part"],
            "lot": facts["lot"],
            "serial": facts["serial"],
            "qty": facts["qty"],
            "from_location": "A-01" if kind == "move" else None,
            "to_location": facts["to_location"],
            "reason": facts["reason"] if kind == "adjust" else None,
            "happened_at": NOW,
        }
    )


def _at_the_door(facts: dict[str, object]) -> MovementIn | None:
    """The facts as a push carries them, or None when the service's door refuses them
    (a control character in a lot or serial: docs/architecture.md, "Values at the door")."""
    try:
        return _pushed(facts, 1)
    except ValidationError:
        return None


def test_the_ledger_refuses_for_a_rule_exactly_what_the_store_rejects_or_holds_for_it(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    device = _central(sessions)
    handheld = _stocked_handheld(tmp_path / "handheld.db", device)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(facts=facts)
    def agree(facts: dict[str, object]) -> None:
        refused: LotscanError | None = None
        with handheld() as session:
            try:
                recorded = _record(facts)(Ledger(session, fixed))
                pushed: MovementIn | None = movement_in(session, recorded)
            except LotscanError as error:
                refused = error
                pushed = _at_the_door(facts)
            session.rollback()
        if refused is not None and not isinstance(refused, BrokenMovementRule):
            event("refused for the floor's state, not a rule")
            return
        if pushed is None:  # text no push can carry: the door refuses it with a 422
            assert refused is not None, "the ledger recorded what no push can carry"
            event("refused at the door")
            return
        with sessions() as session:
            ledger = CentralLedger(session, fixed)
            ledger.expect([pushed])
            entry = ledger.accept(device, pushed, role="supervisor")
            session.rollback()
        codes = set(entry_codes(entry)) & RULE_CODES
        if refused is None:
            assert not codes, entry.message
        else:
            event(f"refused: {refused.broken.rule}")
            assert codes, f"the ledger refused ({refused}) but the store said {entry.status}"
            assert refused.broken.message in entry.message
            assert f"{refused.broken.field} breaks rule {refused.broken.rule}" in entry.message

    agree()


# ---- what held or recalled stock may take -------------------------------------------------

STATUSES = ["active", "hold", "recalled"]
KINDS = ["receive", "issue", "produce", "ship", "move", "return", "adjust"]


def _store_with_held_stock(sessions: sessionmaker[Session]) -> str:
    """The store with the plant, a quarantine cage, lot L1 of resin, and motor S7 in lot
    M-LOT at A-01: the device id of a supervisor's handheld."""
    device = _central(sessions)
    with unit_of_work(sessions) as session:
        session.add(Location(code="Q-1", name="Quarantine cage", kind=QUARANTINE))
        session.add(
            Lot(part="RESIN", number="L1", status="active", origin="received", created_at=NOW)
        )
        session.add(
            Lot(part="MOTOR", number="M-LOT", status="active", origin="received", created_at=NOW)
        )
        session.flush()
        session.add(
            Serial(part="MOTOR", number="S7", lot="M-LOT", status="in_stock", location="A-01")
        )
    return device


def _unreleased_movement(kind: str, serial: bool, into: str) -> MovementIn:
    """A movement of lot L1 of resin (or motor S7) of `kind`, going `into` where it goes."""
    source = None if kind in ("receive", "produce") else "A-01"
    target = {"issue": None, "ship": None, "return": None}.get(kind, into)
    return MovementIn.model_validate(
        {
            "seq": 1,
            "id": uuid.uuid4(),
            "kind": kind,
            "part": "MOTOR" if serial else "RESIN",
            "lot": None if serial else "L1",
            "serial": "S7" if serial else None,
            "qty": 1,
            "from_location": source if kind != "adjust" else None,
            "to_location": target,
            "job": "J-HOUSING" if kind in ("issue", "produce") else None,
            "po": "PO-1" if kind == "return" else None,
            "po_line": 1 if kind == "return" else None,
            "reason": "count" if kind == "adjust" else None,
            "happened_at": NOW,
        }
    )


def test_the_store_flags_unreleased_stock_exactly_when_the_shared_rule_forbids_the_move(
    sessions: sessionmaker[Session],
) -> None:
    """LOT_NOT_RELEASED is `scanner.quality.may_move_unreleased` at the store: a movement of
    stock on hold or recalled (the lot's status, a serial's own, or its lot's) counts and
    is flagged exactly when the rule the handheld's ledger refuses by forbids it."""
    device = _store_with_held_stock(sessions)

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        kind=st.sampled_from(KINDS),
        serial=st.booleans(),
        lot_status=st.sampled_from(STATUSES),
        serial_status=st.sampled_from(STATUSES),
        into=st.sampled_from(["A-02", "Q-1"]),
    )
    def agree(kind: str, serial: bool, lot_status: str, serial_status: str, into: str) -> None:
        pushed = _unreleased_movement(kind, serial, into)
        with sessions() as session:
            lot = ("MOTOR", "M-LOT") if serial else ("RESIN", "L1")
            session.get_one(Lot, lot).status = lot_status
            motor = session.get_one(Serial, ("MOTOR", "S7"))
            motor.quality_status = serial_status
            arrives = pushed.from_location is None
            # An arrival is of a serial not in stock, anything else of one at its source.
            motor.status, motor.location = ("gone", None) if arrives else ("in_stock", "A-01")
            session.flush()
            ledger = CentralLedger(session, fixed)
            ledger.expect([pushed])
            entry = ledger.accept(device, pushed, role="supervisor")
            session.rollback()
        assert entry.status in ("applied", "flagged"), entry.message
        status = stricter(lot_status, serial_status) if serial else lot_status
        into_quarantine = pushed.to_location == "Q-1"
        forbidden = status != "active" and not may_move_unreleased(kind, into_quarantine)
        event(f"{kind} of {status} stock: {'flagged' if forbidden else 'not flagged'}")
        assert ("LOT_NOT_RELEASED" in entry_codes(entry)) == forbidden, entry.message
        if forbidden:
            assert ("recalled" if status == "recalled" else "on hold") in entry.message

    agree()
