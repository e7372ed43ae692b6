"""Pushes drawn over the push request's whole schema (hypothesis), each field either what a
handheld would send or one of its kind's extremes (tests/support/wire_extremes.py), sent to
the service on loopback, on SQLite and PostgreSQL. Whatever is pushed: never a 5xx, the
store's invariants hold afterwards (tests/support/sync_invariants.py), and its ledger holds
nothing the handheld's ledger would refuse to record.

The rules are a table (`DOOR_RULES`, `LEDGER_RULES`): one line each, what a stored movement
must satisfy, so a new rule is one more line."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from scanner.clock import aware
from scanner.errors import RuleViolation
from scanner.models import Lot, Movement, Operator, Part, Serial, StatusChange, Tracking
from scanner.numbering import check_number
from scanner.plain_text import control_character
from sync.protocol import MovementIn, PushRequest, StatusChangeIn
from sync.wire_values import EARLIEST, LATEST
from tests.support.drawn import REPEATABLE
from tests.support.sync_invariants import violations
from tests.support.sync_service import Central, bearer
from tests.support.wire_extremes import LISTS, extremes, fields

PUSHES = REPEATABLE

TEXTS = st.sampled_from(["L1", "S-1", "lot 1", "Ä-7", "x" * 20])
LOCATIONS = st.sampled_from(["RCV", "A-01", "A-02", "LINE", "SHIP", "NOWHERE"])
HONEST: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.sampled_from(["receive", "issue", "produce", "ship", "move", "adjust", "return"]),
    "part": st.sampled_from(["BOLT", "RESIN", "MOTOR", "GREASE", "PUMP", "NO-SUCH-PART"]),
    "qty": st.sampled_from(["1", "0.5", "5", 2, "999999999999.999"]),
    "happened_at": st.just("2026-11-02T08:30:00Z"),
    "lot": st.none() | TEXTS,
    "serial": st.none() | TEXTS,
    "serial_lot": st.none() | TEXTS,
    "from_location": st.none() | LOCATIONS,
    "to_location": st.none() | LOCATIONS,
    "operator": st.none() | st.just("B1001"),
}
"""What a handheld would put in a field; a field not named here is left out (None)."""


RECEIPTS: dict[str, st.SearchStrategy[Any]] = {
    **HONEST,
    "kind": st.just("receive"),
    "from_location": st.none(),
    "to_location": st.just("RCV"),
}
"""A receipt the ledger would record, once its lot and serial fit its part (`_fitting`): so
that some drawn movements reach the store's ledger, where the rules below are checked."""
FITTING = {"BOLT": (None, None), "RESIN": ("L1", None), "MOTOR": (None, "S-1")}


@st.composite
def movement_bodies(draw: st.DrawFn, seq: int) -> dict[str, Any]:
    """A pushed movement numbered `seq`, each field what a handheld would send (half the
    time a receipt the ledger would record), but for one field in a few movements, which is
    one of its kind's extremes."""
    schema = fields(MovementIn)
    wild = draw(_now_and_then(sorted(schema)))
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "seq": seq}
    honest = HONEST
    if draw(st.booleans()):
        honest = RECEIPTS
        body["part"] = draw(st.sampled_from(sorted(FITTING)))
        body["lot"], body["serial"] = FITTING[body["part"]]
        body["qty"] = "1"
    for name, prop in schema.items():
        if name == wild:
            body[name] = draw(st.sampled_from(extremes(prop)))
        elif name not in body:
            body[name] = draw(honest.get(name, st.none()))
    return {name: value for name, value in body.items() if value is not None}


KEYS = {
    "job": ["J-HOUSING", "J-NOPE"],
    "po_line": ["PO-1|1"],
    "so_line": ["SO-1|1"],
    "lot": ["RESIN|L1", "RESIN|NOPE", "RESIN|L 1"],
    "serial": ["MOTOR|S-1", "MOTOR|NOPE"],
}
DECISIONS: dict[str, st.SearchStrategy[Any]] = {
    "operator": st.sampled_from([None, "B1001", "B9001", "B9001", "B0000"]),
    "reason": st.none() | st.just("porosity"),
    "happened_at": st.sampled_from(["2026-11-02T08:00:00Z", "2026-11-02T09:00:00Z"]),
}
"""What a handheld's status change would carry, and what it never sends (a job on hold, a
lot closed, a floor operator's or an unknown badge's hold, a lot the store lacks)."""


@st.composite
def status_change_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A pushed status change: mostly a status its subject can have, now and then one it
    cannot, or one field at one of its kind's extremes."""
    schema = fields(StatusChangeIn)
    wild = draw(_now_and_then(sorted(schema)))
    subject = draw(st.sampled_from(["lot", "lot", "serial", "job", "po_line", "so_line"]))
    fitting = sorted(STATUSES_OF[subject])
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "subject": subject,
        "key": draw(st.sampled_from(KEYS[subject])),
        "status": draw(st.sampled_from(fitting * 4 + ["closed", "hold"])),
    }
    for name, prop in schema.items():
        if name == wild:
            body[name] = draw(st.sampled_from(extremes(prop)))
        elif name not in body:
            body[name] = draw(DECISIONS.get(name, st.none()))
    return {name: value for name, value in body.items() if value is not None}


STATUSES_OF = {
    "job": {"open", "closed"},
    "po_line": {"open", "closed"},
    "so_line": {"open", "closed"},
    "lot": {"active", "hold", "recalled"},
    "serial": {"active", "hold", "recalled"},
}
"""The statuses each subject can have, written out again here, not taken from the store."""


@st.composite
def push_bodies(draw: st.DrawFn, device: str, seq: int) -> dict[str, Any]:
    movements = [draw(movement_bodies(seq + n)) for n in range(draw(st.integers(1, 2)))]
    body: dict[str, Any] = {
        "device_id": device,
        "device_time": "2026-11-02T08:30:00Z",
        "queue_depth": len(movements),
        "max_local_seq": seq + len(movements),
        "movements": movements,
    }
    changes = [draw(status_change_bodies()) for _ in range(draw(st.integers(0, 2)))]
    if changes:
        body["status_changes"] = changes
    schema = {name: prop for name, prop in fields(PushRequest).items() if name not in LISTS}
    wild = draw(_now_and_then(sorted(schema)))
    if wild is not None:
        body[wild] = draw(st.sampled_from(extremes(schema[wild])))
    return body


def _now_and_then(names: list[str]) -> st.SearchStrategy[str | None]:
    """One of `names` one time in four, else None."""
    return st.integers(0, 3).flatmap(lambda n: st.sampled_from(names) if n == 0 else st.none())


# ---- what a stored movement must satisfy --------------------------------------------------

Rule = Callable[[Movement, Part | None], str | None]


def _plain_text(movement: Movement, _part: Part | None) -> str | None:
    for name in ("part", "lot", "serial", "from_location", "to_location", "reason", "operator"):
        value = getattr(movement, name)
        if value is not None and control_character(value) is not None:
            return f"{name} holds a control character"
    return None


def _time_in_range(movement: Movement, _part: Part | None) -> str | None:
    happened = aware(movement.happened_at)
    return None if EARLIEST <= happened <= LATEST else f"happened_at {happened} out of range"


def _more_than_zero(movement: Movement, _part: Part | None) -> str | None:
    return None if Decimal(movement.qty) > 0 else f"quantity {movement.qty}"


def _tracked(movement: Movement, part: Part | None) -> str | None:
    """scanner.ledger `_tracked_quantity`: a lot where the part has lots, a serial (of one
    unit) where it has serials, neither where it has none."""
    if part is None:
        return f"part {movement.part} unknown"
    lots = part.tracking == Tracking.LOT
    serials = part.tracking == Tracking.SERIAL
    if lots and movement.lot is None:
        return "a lot-tracked part without a lot"
    if part.tracking == Tracking.NONE and movement.lot is not None:
        return "a lot on a part without lots"
    if serials and (movement.serial is None or Decimal(movement.qty) != 1):
        return "a serial-tracked part without one serial of one unit"
    if not serials and movement.serial is not None:
        return "a serial on a part without serials"
    return None


def _gs1_numbers(movement: Movement, _part: Part | None) -> str | None:
    """scanner.numbering `check_number`: lots and serials fit a GS1 label."""
    for what, number in (("Lot", movement.lot), ("Serial", movement.serial)):
        if number is not None:
            try:
                check_number(number, what)
            except RuleViolation as refusal:
                return str(refusal)
    return None


DOOR_RULES: list[Rule] = [_plain_text, _time_in_range, _more_than_zero]
"""What the door itself guarantees of every movement it lets in."""

LEDGER_RULES: list[Rule] = [_tracked, _gs1_numbers]
"""The handheld ledger's own rules (scanner/movement_rules.py), written out again here so
the test does not take the store's word for them."""


def broken_decisions(central: Central) -> list[str]:
    """Each status change the store kept that the core would never record (a status its
    subject cannot have; a lot's or serial's decided by someone who is not a supervisor or
    quality staff, or of a lot or serial the store lacks), and each lot or serial whose
    status is not that of its latest change kept."""
    problems: list[str] = []
    with central.sessions() as session:
        roles = {op.badge: op.role for op in session.scalars(select(Operator))}
        changes = session.scalars(
            select(StatusChange).order_by(StatusChange.happened_at, StatusChange.id)
        ).all()
        latest: dict[tuple[str, str], str] = {}
        for change in changes:
            if change.status not in STATUSES_OF[change.subject]:
                problems.append(f"a {change.subject} kept as {change.status!r}")
            if change.sync_state == "rejected":
                continue
            latest[(change.subject, change.key)] = change.status
            if change.subject in ("lot", "serial"):
                if roles.get(change.operator or "") not in ("supervisor", "quality"):
                    problems.append(f"{change.key} {change.status} by {change.operator} kept")
                part, _bar, number = change.key.rpartition("|")
                model = Lot if change.subject == "lot" else Serial
                if session.get(model, (part, number)) is None:
                    problems.append(f"{change.subject} {change.key} kept, the store lacks it")
        for (subject, key), status in latest.items():
            if subject not in ("lot", "serial"):
                continue
            part, _bar, number = key.rpartition("|")
            row = session.get(Lot if subject == "lot" else Serial, (part, number))
            now = row.status if isinstance(row, Lot) else getattr(row, "quality_status", None)
            if row is not None and now != status:
                problems.append(f"{subject} {key} is {now}, its latest change {status}")
    return problems


def broken_rules(central: Central, device: str, rules: list[Rule]) -> list[str]:
    """Each movement of `device` in the store's ledger that breaks one of `rules`."""
    with central.sessions() as session:
        parts = {part.number: part for part in session.scalars(select(Part))}
        stored = session.scalars(select(Movement).where(Movement.device_id == device))
        return [
            f"number {movement.device_seq}: {problem}"
            for movement in stored
            for rule in rules
            if (problem := rule(movement, parts.get(movement.part))) is not None
        ]


def push_drawn_bodies(central: Central) -> str:
    """Pushes drawn bodies from one handheld until hypothesis is done; returns its id."""
    device, token = central.enroll("forklift-1")
    server_errors: list[str] = []

    @PUSHES
    @given(st.data())
    def push(data: st.DataObject) -> None:
        body = data.draw(push_bodies(device, central.applied_seq(device) + 1))
        answer = central.http.post(
            "/v1/sync/push",
            content=json.dumps(body).encode(),
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        if answer.status_code >= 500:
            server_errors.append(f"{answer.status_code} for {body}")

    push()
    assert server_errors == []
    return device


def test_no_drawn_push_gets_a_server_error_or_breaks_the_store(central: Central) -> None:
    device = push_drawn_bodies(central)
    assert central.ledger_count() > 0  # the drawing reaches past the door
    assert violations(central.sessions, []) == []
    assert broken_rules(central, device, DOOR_RULES) == []


def test_no_drawn_push_stores_what_the_ledger_forbids(central: Central) -> None:
    device = push_drawn_bodies(central)
    assert broken_rules(central, device, LEDGER_RULES) == []
    assert broken_decisions(central) == []


@st.composite
def decision_bodies(draw: st.DrawFn, device: str, seq: int) -> dict[str, Any]:
    """A push of one receipt the ledger would record (of lot L1 of resin or motor S-1) and
    a few drawn status changes."""
    part = draw(st.sampled_from(["RESIN", "MOTOR"]))
    lot, serial = FITTING[part]
    receipt = {
        "id": str(uuid.uuid4()),
        "seq": seq,
        "kind": "receive",
        "part": part,
        "qty": "1",
        "to_location": "RCV",
        "happened_at": "2026-11-02T08:30:00Z",
        **({"lot": lot} if lot else {"serial": serial}),
    }
    return {
        "device_id": device,
        "device_time": "2026-11-02T08:30:00Z",
        "queue_depth": 1,
        "max_local_seq": seq,
        "movements": [receipt],
        "status_changes": [draw(status_change_bodies()) for _ in range(draw(st.integers(1, 3)))],
    }


def test_no_drawn_status_change_is_kept_that_the_core_refuses(central: Central) -> None:
    """Drawn holds, releases, recalls, closes and reopens: none the core would refuse is
    kept as a decision (it is kept refused), and every lot and serial has the status of its
    latest decision kept."""
    device, token = central.enroll("forklift-1")
    answers: list[int] = []

    @PUSHES
    @given(st.data())
    def push(data: st.DataObject) -> None:
        body = data.draw(decision_bodies(device, central.applied_seq(device) + 1))
        answer = central.http.post(
            "/v1/sync/push",
            content=json.dumps(body).encode(),
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        answers.append(answer.status_code)

    push()
    assert all(status in (200, 422) for status in answers), answers
    assert broken_decisions(central) == []
    assert violations(central.sessions, []) == []
    with central.sessions() as session:
        kept = session.scalars(select(StatusChange.sync_state)).all()
    assert "applied" in kept and "rejected" in kept  # the drawing reaches both
