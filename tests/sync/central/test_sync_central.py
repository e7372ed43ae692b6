"""The central store's logic without HTTP: enrollment, push (exactly once, in each device's
order, with the outcomes of docs/architecture.md, "Sync outcomes"), pull, publishing
reference data, and what supervisors see and decide. Handhelds record their movements on
databases of their own, through the ledger, as the floor does."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from scanner.balance_check import cache_differences
from scanner.db import unit_of_work
from scanner.importing import import_file
from scanner.ledger import Ledger
from scanner.models import (
    Balance,
    JobLot,
    Lot,
    Movement,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    Serial,
)
from scanner.settings import device_id as own_device_id
from scanner.workspace import sqlite_url
from sync.central import push as push_module
from sync.central import write_behind
from sync.central.enrollment import (
    authenticate,
    enroll,
    ensure_central,
    is_central,
    issue_code,
    revoke,
)
from sync.central.errors import SyncError
from sync.central.models import Change, Device, SyncClock, SyncEntry, SyncException, SyncRejection
from sync.central.pull import publish_reference
from sync.central.push import take_number
from sync.central.supervision import device_rows, exception_rows, resolve
from sync.protocol import (
    MAX_BATCH,
    EnrollRequest,
    MovementIn,
    PushRequest,
    PushResponse,
    movement_hash,
)
from tests.conftest import PG_URL
from tests.support.databases import open_migrated, pg_schema
from tests.support.plant import add_plant
from tests.support.sync_in_process import Central, Handheld, MovableClock

Make = Callable[..., Handheld]


@pytest.fixture
def moving() -> MovableClock:
    return MovableClock()


@pytest.fixture
def central(sessions: sessionmaker[Session], moving: MovableClock) -> Central:
    with unit_of_work(sessions) as session:
        ensure_central(session)
        add_plant(session)
    return Central(sessions, moving)


@pytest.fixture
def handheld(central: Central, tmp_path: Path, moving: MovableClock) -> Iterator[Make]:
    """Enrolls a device by name and gives it a database of its own."""
    made: list[Handheld] = []

    def make(
        name: str, setup: Callable[[Session], None] | None = None, *, supervisor: bool = False
    ) -> Handheld:
        device_id, token = central.enroll(name, supervisor=supervisor)
        device = Handheld(tmp_path / f"{name}.db", device_id, token, moving, setup)
        made.append(device)
        return device

    yield make
    for device in made:
        device.sessions.kw["bind"].dispose()


def consistent(central: Central) -> list[str]:
    return central.run(cache_differences)


def statuses(response: PushResponse) -> list[str]:
    return [outcome.status for outcome in response.outcomes]


def open_exceptions(central: Central) -> list[dict[str, object]]:
    return central.run(lambda s: exception_rows(s))


def receive_resin(lot: str, qty: int, where: str = "RCV") -> Callable[[Ledger], Movement]:
    return lambda ledger: ledger.receive("RESIN", qty, where, lot=lot)


# ---- enrollment -------------------------------------------------------------------------


def test_a_code_enrolls_a_device_once(central: Central, moving: MovableClock) -> None:
    issued = central.run(lambda s: issue_code(s, "Dock 1", clock=moving))
    assert len(issued.device) == 4 and issued.expires_at == moving.now + timedelta(minutes=15)

    # Typed from a slip of paper: lower case, no dashes.
    typed = issued.code.replace("-", " ").lower()
    response = central.run(lambda s: enroll(s, EnrollRequest(code=typed), moving))
    assert (response.device_id, response.role) == (issued.device, "handheld")
    device = central.run(lambda s: authenticate(s, response.device_token, moving))
    assert (device.id, device.status, device.name) == (issued.device, "active", "Dock 1")
    assert central.run(lambda s: s.get_one(Device, issued.device).token_hash) != (
        response.device_token
    )

    with pytest.raises(SyncError, match="already used") as again:
        central.run(lambda s: enroll(s, EnrollRequest(code=issued.code), moving))
    assert (again.value.status, again.value.error) == (401, "bad_code")


def test_an_expired_or_unknown_code_enrolls_nothing(central: Central, moving: MovableClock) -> None:
    issued = central.run(lambda s: issue_code(s, "Dock 1", clock=moving))
    moving.advance(minutes=16)
    with pytest.raises(SyncError, match="expired at 08:45 UTC") as expired:
        central.run(lambda s: enroll(s, EnrollRequest(code=issued.code), moving))
    with pytest.raises(SyncError, match="not known") as unknown:
        central.run(lambda s: enroll(s, EnrollRequest(code="AAAA-BBBB-CCCC"), moving))
    assert {expired.value.error, unknown.value.error} == {"bad_code"}
    assert central.run(lambda s: s.get_one(Device, issued.device).status) == "pending"


def test_a_new_code_replaces_the_unused_one_and_can_make_a_supervisor(
    central: Central, moving: MovableClock
) -> None:
    first = central.run(lambda s: issue_code(s, "Office", clock=moving))
    second = central.run(lambda s: issue_code(s, "Office", supervisor=True, clock=moving))
    assert first.device == second.device
    with pytest.raises(SyncError, match="not known"):
        central.run(lambda s: enroll(s, EnrollRequest(code=first.code), moving))
    response = central.run(lambda s: enroll(s, EnrollRequest(code=second.code), moving))
    assert response.role == "supervisor"


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "Dock\n1"])
def test_a_device_name_must_be_printable_and_short(central: Central, name: str) -> None:
    with pytest.raises(SyncError, match="1 to 80 printable characters") as error:
        central.run(lambda s: issue_code(s, name))
    assert error.value.status == 422


def test_a_device_id_is_never_the_stores_own(central: Central) -> None:
    def issue_many(session: Session) -> set[str]:
        return {issue_code(session, f"Device {n}").device for n in range(30)}

    ids = central.run(issue_many)
    assert len(ids) == 30
    assert central.run(own_device_id) not in ids


def test_ensure_central_is_idempotent(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        assert not is_central(session)
        ensure_central(session)
        ensure_central(session)
        assert is_central(session)
        assert [take_number(session), take_number(session)] == [1, 2]


def test_a_revoked_device_is_refused_and_re_enrolls_with_its_numbering(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    dock = handheld("Dock 1")
    dock.do(receive_resin("L0001", 25))
    dock.do(receive_resin("L0002", 5))
    assert dock.sync(central).last_applied_seq == 2

    central.run(lambda s: revoke(s, dock.device_id, moving))
    dock.do(receive_resin("L0003", 7))
    with pytest.raises(SyncError, match="This handheld was revoked") as revoked:
        dock.sync(central)
    assert (revoked.value.status, revoked.value.error) == (401, "device_revoked")
    with pytest.raises(SyncError) as unknown:
        central.run(lambda s: revoke(s, "ZZZZ", moving))
    assert (unknown.value.status, unknown.value.error) == (404, "unknown_device")

    issued = central.run(lambda s: issue_code(s, "Dock 1", clock=moving))
    assert issued.device == dock.device_id
    old_token = dock.token
    dock.token = central.run(
        lambda s: enroll(s, EnrollRequest(code=issued.code), moving)
    ).device_token
    with pytest.raises(SyncError) as stale:
        central.run(lambda s: authenticate(s, old_token, moving))
    assert (stale.value.status, stale.value.error) == (401, "unauthorized")

    response = dock.sync(central)
    assert [o.seq for o in response.outcomes] == [3]
    assert statuses(response) == ["applied"]
    assert central.count(Movement) == 3


def test_a_device_pushes_only_its_own_movements(central: Central, handheld: Make) -> None:
    dock, yard = handheld("Dock 1"), handheld("Yard")
    dock.do(receive_resin("L0001", 25))
    request = dock.request(dock.movements())
    with pytest.raises(SyncError) as error:
        central.push(yard.token, request)
    assert (error.value.status, error.value.error) == (403, "wrong_device")
    assert central.count(Movement) == 0


# ---- push -------------------------------------------------------------------------------


def test_movements_are_applied_in_order_and_the_store_agrees_with_the_handheld(
    central: Central, handheld: Make
) -> None:
    dock = handheld("Dock 1")
    dock.do(receive_resin("L0001", 25))
    dock.do(lambda ledger: ledger.move("RESIN", 10, "A-01", lot="L0001"))
    dock.do(
        lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 5, from_location="A-01",
                                           lot="L0001")
    )  # fmt: skip
    dock.do(lambda ledger: ledger.receive("MOTOR", 1, "RCV", serial="M-100", po="PO-1", po_line=2))

    response = dock.sync(central)

    assert statuses(response) == ["applied"] * 4
    numbers = [o.server_seq or 0 for o in response.outcomes]
    assert numbers == sorted(numbers) and 0 not in numbers
    assert (response.last_applied_seq, response.expected_next_seq) == (4, 5)
    assert central.balances() == dock.balances()
    assert consistent(central) == []
    # The lot and the serial reach devices before the movements that name them.
    changes = central.changes()
    kinds = [(c.kind, c.key) for c in changes]
    assert kinds.index(("lot", "RESIN|L0001")) < kinds.index(("movement", _key(dock, 1)))
    assert kinds.index(("serial", "MOTOR|M-100")) < kinds.index(("movement", _key(dock, 4)))
    movement = json.loads(changes[kinds.index(("movement", _key(dock, 1)))].payload)
    assert movement["device_id"] == dock.device_id
    assert movement["status"] == "applied"
    assert movement["server_seq"] == numbers[0]
    assert movement["codes"] == [] and movement["qty"] == "25"


def test_a_repeated_batch_returns_the_stored_outcomes_and_changes_nothing(
    central: Central, handheld: Make
) -> None:
    dock = handheld("Dock 1")
    dock.do(receive_resin("L0001", 25))
    dock.do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 5, lot="L0001"))
    request = dock.request(dock.movements())
    first = central.push(dock.token, request)
    before = (central.count(Movement), central.balances(), len(central.changes()))

    again = central.push(dock.token, request)

    assert again.outcomes == first.outcomes
    assert again.last_applied_seq == first.last_applied_seq == 2
    assert (central.count(Movement), central.balances(), len(central.changes())) == before
    assert consistent(central) == []


def test_a_reused_number_with_another_payload_is_rejected_and_alerted(
    central: Central, handheld: Make
) -> None:
    dock = handheld("Dock 1")
    dock.do(receive_resin("L0001", 25))
    original = dock.movements()[0]
    dock.sync(central)
    tampered = original.model_copy(update={"qty": Decimal(99)})

    response = central.push(dock.token, dock.request([tampered]))
    central.push(dock.token, dock.request([tampered]))  # a retry alerts nobody twice

    assert statuses(response) == ["rejected"]
    assert response.outcomes[0].codes == ["IDEMPOTENCY_CONFLICT"]
    # The alert says what was refused, kept only as sent, not a hash's first characters.
    assert response.outcomes[0].message == (
        f"Number 1 from this handheld was already used for movement {original.id}: this one"
        f" (receive 99 of lot L0001 of RESIN to RCV, id {original.id}) was not applied and a"
        " supervisor was alerted"
    )
    assert central.count(SyncRejection) == 1
    [alert] = open_exceptions(central)
    assert (alert["code"], alert["device"], alert["device_seq"]) == (
        "IDEMPOTENCY_CONFLICT",
        dock.device_id,
        1,
    )
    assert central.balances() == {("RESIN", "L0001", "", "RCV"): Decimal(25)}
    # The original keeps its outcome.
    assert statuses(central.push(dock.token, dock.request([original]))) == ["applied"]


def test_a_gap_stops_the_batch_and_says_what_is_expected(central: Central, handheld: Make) -> None:
    dock = handheld("Dock 1")
    for n in range(1, 6):
        dock.do(receive_resin(f"L000{n}", n))
    first, second, third, fourth, fifth = dock.movements()
    central.push(dock.token, dock.request([first]))

    skipped = central.push(dock.token, dock.request([third, fourth]))
    assert (skipped.outcomes, skipped.expected_next_seq) == ([], 2)

    partly = central.push(dock.token, dock.request([second, fourth, fifth]))
    assert [o.seq for o in partly.outcomes] == [2]
    assert (partly.last_applied_seq, partly.expected_next_seq) == (2, 3)

    # Out of order in one batch is still applied in order.
    rest = central.push(dock.token, dock.request([fifth, third, fourth]))
    assert [o.seq for o in rest.outcomes] == [3, 4, 5]
    assert central.count(Movement) == 5
    assert consistent(central) == []


def test_a_movement_sent_twice_in_one_batch_counts_once(central: Central, handheld: Make) -> None:
    dock = handheld("Dock 1")
    dock.do(receive_resin("L0001", 25))
    [receipt] = dock.movements()

    response = central.push(dock.token, dock.request([receipt, receipt]))

    assert statuses(response) == ["applied", "applied"]
    assert response.outcomes[0] == response.outcomes[1]
    assert central.balances() == {("RESIN", "L0001", "", "RCV"): Decimal(25)}


def test_a_movement_id_pushed_under_a_second_number_is_rejected(
    central: Central, handheld: Make
) -> None:
    dock = handheld("Dock 1")
    dock.do(receive_resin("L0001", 25))
    [receipt] = dock.movements()
    central.push(dock.token, dock.request([receipt]))

    response = central.push(dock.token, dock.request([receipt.model_copy(update={"seq": 2})]))

    assert statuses(response) == ["rejected"]
    assert response.outcomes[0].message == (
        f"Movement id {receipt.id} was already pushed as {dock.device_id} number 1: number 2"
        f" (receive 25 of lot L0001 of RESIN to RCV, id {receipt.id}) was not applied and a"
        " supervisor was alerted"
    )
    assert response.last_applied_seq == 2  # the queue goes on
    assert central.count(Movement) == 1 and central.count(SyncRejection) == 1


def test_a_reversal_is_applied_and_a_second_reversal_of_the_same_movement_is_held(
    central: Central, handheld: Make
) -> None:
    """A device reverses only its own movements, once each; a second reversal of one
    movement still reaches the store from a device that lost track of the first (a copy of
    its database restored, say) and is held."""
    dock = handheld("Dock 1")
    receipt = dock.do(receive_resin("L0001", 25))
    dock.sync(central)
    dock.do(lambda ledger: ledger.reverse(receipt.id, reason="wrong lot"))
    [first] = dock.movements(since=1)
    second = first.model_copy(update={"seq": 3, "id": uuid.uuid4(), "reason": "scanned twice"})

    response = central.push(dock.token, dock.request([first, second]))

    assert statuses(response) == ["applied", "held"]
    assert f"device {dock.device_id} already reversed that movement" in (
        response.outcomes[1].message
    )
    assert "RESIN" not in {key[0] for key in central.balances()}
    [exception] = open_exceptions(central)
    assert exception["code"] == "DOUBLE_REVERSAL"
    with pytest.raises(SyncError, match="would undo it twice") as applying:
        central.run(lambda s: resolve(s, int(str(exception["id"])), "apply", by="Sam"))
    assert applying.value.status == 409
    assert consistent(central) == []


def _late_receipt_device(session: Session) -> None:
    """A purchase order the handheld has and the store does not have yet."""
    session.add(PurchaseOrder(number="PO-9", supplier="Acme Polymers"))
    session.flush()
    session.add(PurchaseOrderLine(po="PO-9", line=1, part="RESIN", qty=Decimal(25)))
    session.flush()


def test_a_negative_balance_is_flagged_then_cleared_by_a_later_receipt(
    central: Central, handheld: Make
) -> None:
    dock = handheld("Dock 1", _late_receipt_device)
    dock.do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="L0001", po="PO-9", po_line=1))
    dock.do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 10, lot="L0001"))

    response = dock.sync(central)

    assert statuses(response) == ["held", "flagged"]
    flagged = response.outcomes[1]
    assert flagged.codes == ["NEGATIVE_BALANCE"]
    assert flagged.message.startswith(
        "The store had 0 kg of lot L0001 of RESIN at RCV, not 10 kg: the balance there is now"
        " -10 kg"
    )
    assert central.balances()[("RESIN", "L0001", "", "RCV")] == Decimal(-10)

    dock.do(receive_resin("L0001", 12))
    later = dock.sync(central)

    assert statuses(later) == ["applied"]
    shortfall = central.run(
        lambda s: (
            s.scalars(select(SyncException).where(SyncException.code == "NEGATIVE_BALANCE"))
            .one()
            .status
        )
    )
    assert shortfall == "auto_cleared"
    # The issue is no longer flagged, and its handheld hears so.
    assert central.run(lambda s: s.get_one(SyncEntry, (dock.device_id, 2)).status) == "applied"
    last = json.loads(central.changes()[-1].payload)
    assert (last["seq"], last["status"], last["codes"]) == (2, "applied", ["NEGATIVE_BALANCE"])
    assert central.balances()[("RESIN", "L0001", "", "RCV")] == Decimal(2)
    assert consistent(central) == []


def moved_away_unseen(
    central: Central, handheld: Make, *, received: int, moved: int
) -> tuple[Handheld, Handheld]:
    """Dock 1 receives lot L0001 of RESIN at A-01 and Line 1 pulls it; then Dock 1 moves
    `moved` kg of it to A-02 and syncs, which Line 1 has not pulled."""
    dock, line = handheld("Dock 1"), handheld("Line 1")
    dock.do(receive_resin("L0001", received, "A-01"))
    dock.sync(central)
    line.pull(central)
    dock.do(lambda ledger: ledger.move("RESIN", moved, "A-02", from_location="A-01", lot="L0001"))
    dock.sync(central)
    return dock, line


def test_stock_another_device_already_moved_is_a_stale_source(
    central: Central, handheld: Make
) -> None:
    dock, line = moved_away_unseen(central, handheld, received=10, moved=10)

    # The line handheld has not pulled since: it still sees 10 kg at A-01.
    line.do(
        lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 6, from_location="A-01",
                                           lot="L0001")
    )  # fmt: skip
    response = line.sync(central)

    assert statuses(response) == ["flagged"]
    assert response.outcomes[0].codes == ["STALE_SOURCE"]
    message = response.outcomes[0].message
    assert f"device {dock.device_id} moved it" in message
    assert "It is at A-02 (10 kg) now" in message
    [exception] = open_exceptions(central)
    assert (exception["code"], exception["part"], exception["lot"], exception["location"]) == (
        "STALE_SOURCE",
        "RESIN",
        "L0001",
        "A-01",
    )
    assert consistent(central) == []


@pytest.mark.parametrize(
    ("take", "said"),
    [
        (
            lambda ledger: ledger.issue_to_job(
                "J-HOUSING", "RESIN", 10, from_location="A-01", lot="L0001"
            ),
            "issued it to job J-HOUSING",
        ),
        (
            lambda ledger: ledger.move("RESIN", 10, "A-02", from_location="A-01", lot="L0001"),
            "moved it to A-02",
        ),
    ],
    ids=["issued", "moved"],
)
def test_a_stale_source_says_what_the_other_device_did_with_the_stock(
    central: Central, handheld: Make, take: Callable[[Ledger], Movement], said: str
) -> None:
    dock, line = handheld("Dock 1"), handheld("Line 1")
    dock.do(receive_resin("L0001", 10, "A-01"))
    dock.sync(central)
    line.pull(central)
    dock.do(take)
    dock.sync(central)
    line.do(lambda ledger: ledger.move("RESIN", 4, "A-02", from_location="A-01", lot="L0001"))

    response = line.sync(central)

    assert response.outcomes[0].codes == ["STALE_SOURCE"]
    assert (
        f"Lot L0001 of RESIN had already left A-01: device {dock.device_id} {said} after this"
        " handheld last synced; the balance there is now -4 kg." in response.outcomes[0].message
    )


def test_a_stale_source_with_some_stock_left_says_how_much_and_where_the_rest_is(
    central: Central, handheld: Make
) -> None:
    dock, line = moved_away_unseen(central, handheld, received=20, moved=15)
    line.do(lambda ledger: ledger.move("RESIN", 15, "LINE", from_location="A-01", lot="L0001"))

    response = line.sync(central)

    assert response.outcomes[0].codes == ["STALE_SOURCE"]
    # 5 kg were still there; what this very move put at LINE is not where the rest is.
    assert response.outcomes[0].message == (
        f"Only 5 kg of lot L0001 of RESIN was still at A-01, not 15 kg: device {dock.device_id}"
        " moved it to A-02 after this handheld last synced; the balance there is now -10 kg."
        " It is at A-02 (15 kg) now. Flagged for a supervisor"
    )


def _received_pump(ledger: Ledger) -> Movement:
    return ledger.receive("PUMP", 1, "A-01", serial="P-1")


def _ship_pump(ledger: Ledger) -> Movement:
    return ledger.ship("SO-1", "PUMP", 1, line=1, serial="P-1")


def test_a_serial_shipped_twice_is_held(central: Central, handheld: Make) -> None:
    dock, yard = handheld("Dock 1"), handheld("Yard")
    dock.do(_received_pump)
    dock.sync(central)
    yard.pull(central)
    dock.do(_ship_pump)
    yard.do(_ship_pump)
    dock.sync(central)

    response = yard.sync(central)

    assert statuses(response) == ["held"]
    assert response.outcomes[0].codes == ["SERIAL_CONFLICT"]
    assert response.outcomes[0].server_seq is None
    assert "it has it shipped on SO-1" in response.outcomes[0].message
    assert central.count(Movement) == 2  # the held shipment is not in the ledger
    assert central.run(lambda s: s.get_one(Serial, ("PUMP", "P-1")).status) == "shipped"
    assert consistent(central) == []


def _receive_motor(ledger: Ledger) -> Movement:
    return ledger.receive("MOTOR", 1, "RCV", serial="M-7", po="PO-1", po_line=2)


def test_a_serial_received_twice_is_held(central: Central, handheld: Make) -> None:
    dock, yard = handheld("Dock 1"), handheld("Yard")
    dock.do(_receive_motor)
    yard.do(_receive_motor)
    dock.sync(central)

    response = yard.sync(central)

    assert statuses(response) == ["held"]
    assert response.outcomes[0].codes == ["SERIAL_DUPLICATE_RECEIPT"]
    assert "already in stock at RCV" in response.outcomes[0].message
    assert central.balances() == {("MOTOR", "", "M-7", "RCV"): Decimal(1)}
    assert consistent(central) == []


def _valve_device(session: Session) -> None:
    session.add(Part(number="VALVE", description="Ball valve", tracking="none"))
    session.flush()


def test_an_unknown_part_is_held_until_an_import_brings_it(
    central: Central, handheld: Make, tmp_path: Path, moving: MovableClock
) -> None:
    dock = handheld("Dock 1", _valve_device)
    dock.do(lambda ledger: ledger.receive("VALVE", 5, "RCV"))
    response = dock.sync(central)
    assert statuses(response) == ["held"]
    assert response.outcomes[0].message.startswith("Held: the store does not know part VALVE")
    assert central.run(lambda s: publish_reference(s, moving)) > 0  # the plant itself
    held = central.run(lambda s: s.get_one(SyncEntry, (dock.device_id, 1)).status)
    assert held == "held"  # publishing alone brings no part

    csv = tmp_path / "parts.csv"
    csv.write_text("part,description,tracking\nVALVE,Ball valve,none\n")

    def import_and_publish(session: Session) -> int:
        import_file(session, "parts", csv)
        return publish_reference(session, moving)

    emitted = central.run(import_and_publish)

    assert emitted == 2  # the part, then the movement now applied
    part_change, movement_change = central.changes()[-2:]
    assert (part_change.kind, part_change.key) == ("part", "VALVE")
    data = json.loads(movement_change.payload)
    assert (data["status"], data["server_seq"]) == ("applied", movement_change.seq)
    [exception] = central.run(lambda s: exception_rows(s, None))
    assert (exception["code"], exception["status"]) == ("UNKNOWN_REFERENCE", "auto_cleared")
    assert central.balances() == {("VALVE", "", "", "RCV"): Decimal(5)}
    assert central.run(lambda s: publish_reference(s, moving)) == 0
    assert consistent(central) == []


def test_publishing_sends_only_what_changed(central: Central, moving: MovableClock) -> None:
    first = central.run(lambda s: publish_reference(s, moving))
    kinds = {c.kind for c in central.changes()}
    assert first == len(central.changes())
    assert {"part", "location", "operator", "job", "job_component", "po_line"} <= kinds
    assert central.run(lambda s: publish_reference(s, moving)) == 0

    def hold_a_lot(session: Session) -> int:
        Ledger(session, moving).receive("RESIN", 5, "RCV", lot="L0009")
        Ledger(session, moving).set_lot_status("RESIN", "L0009", "hold")
        return publish_reference(session, moving)

    assert central.run(hold_a_lot) == 1
    lot = central.changes()[-1]
    assert (lot.kind, lot.key, json.loads(lot.payload)["status"]) == ("lot", "RESIN|L0009", "hold")


def test_a_clock_far_off_opens_one_alert(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    dock = handheld("Dock 1")
    ahead = moving.now + timedelta(days=3)
    for _ in range(2):
        central.push(dock.token, dock.request([], device_time=ahead))
    [alert] = open_exceptions(central)
    assert alert["code"] == "CLOCK_SKEW"
    assert "is 3 days ahead of the store's" in str(alert["message"])
    [row] = central.run(device_rows)
    assert row["clock_offset"] == 3 * 86400

    central.push(dock.token, dock.request([]))
    assert open_exceptions(central) == []


def test_a_clock_alert_dismissed_while_the_clock_is_still_off_comes_back(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    """A push looks for the open alert only when the clock was off at the last push or is
    off now: these are the cases where one can be open or must open."""
    dock = handheld("Dock 1")
    behind = moving.now - timedelta(hours=2)
    central.push(dock.token, dock.request([]))
    central.push(dock.token, dock.request([]))
    assert open_exceptions(central) == []

    central.push(dock.token, dock.request([], device_time=behind))
    [alert] = open_exceptions(central)
    central.run(lambda s: resolve(s, int(str(alert["id"])), "dismiss", by="Sam", reason="seen"))
    assert open_exceptions(central) == []
    central.push(dock.token, dock.request([], device_time=behind))
    [again] = open_exceptions(central)
    assert (again["code"], again["id"] != alert["id"]) == ("CLOCK_SKEW", True)

    central.push(dock.token, dock.request([]))
    central.push(dock.token, dock.request([]))
    assert open_exceptions(central) == []


# ---- supervisors ------------------------------------------------------------------------


def test_devices_list_what_each_one_reported(central: Central, handheld: Make) -> None:
    dock, yard = handheld("Dock 1"), handheld("Yard")
    dock.do(_receive_motor)
    yard.do(_receive_motor)
    yard.do(receive_resin("L0001", 3))
    dock.sync(central)
    yard.sync(central)
    central.push(
        yard.token, yard.request([yard.movements()[0].model_copy(update={"qty": Decimal(2)})])
    )

    rows = {row["name"]: row for row in central.run(device_rows)}

    assert set(rows["Yard"]) == {
        "device", "name", "status", "last_seen", "last_applied_seq", "queue_depth", "flagged",
        "held", "rejected", "role", "last_push", "last_pull", "oldest_pending_at",
        "clock_offset", "role_changed_at", "role_changed_by", "role_changed_how",
        "revoked_at", "revoked_by",
    }  # fmt: skip
    assert {k: rows["Yard"][k] for k in ("status", "last_applied_seq", "queue_depth")} == {
        "status": "active",
        "last_applied_seq": 2,
        "queue_depth": 0,
    }
    assert (rows["Yard"]["held"], rows["Yard"]["rejected"], rows["Yard"]["flagged"]) == (1, 1, 0)
    assert (rows["Dock 1"]["held"], rows["Dock 1"]["rejected"]) == (0, 0)
    assert rows["Dock 1"]["last_push"] == "2026-11-02T08:30:00+00:00"


def test_a_held_movement_is_applied_once_what_it_names_is_known(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    dock = handheld("Dock 1", _valve_device)
    dock.do(lambda ledger: ledger.receive("VALVE", 5, "RCV"))
    dock.sync(central)
    [exception] = open_exceptions(central)
    exception_id = int(str(exception["id"]))

    with pytest.raises(SyncError, match="still does not know part VALVE") as missing:
        central.run(lambda s: resolve(s, exception_id, "apply", by="Sam", clock=moving))
    assert missing.value.status == 409

    def add_valve_and_apply(session: Session) -> dict[str, object]:
        _valve_device(session)
        return resolve(session, exception_id, "apply", by="Sam", clock=moving)

    resolved = central.run(add_valve_and_apply)

    assert (resolved["status"], resolved["resolved_by"], resolved["entry_status"]) == (
        "resolved",
        "Sam",
        "applied",
    )
    assert central.balances() == {("VALVE", "", "", "RCV"): Decimal(5)}
    kinds = [(c.kind, c.key) for c in central.changes()]
    assert kinds[-1] == ("movement", _key(dock, 1))
    assert ("part", "VALVE") in kinds[:-1]  # devices learn the part first
    assert json.loads(central.changes()[-1].payload)["status"] == "applied"
    with pytest.raises(SyncError) as twice:
        central.run(lambda s: resolve(s, exception_id, "apply", by="Sam", clock=moving))
    assert (twice.value.status, twice.value.error) == (409, "not_open")
    assert consistent(central) == []


def test_a_serial_received_twice_is_applied_as_recorded_when_a_supervisor_says_so(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    dock, yard = handheld("Dock 1"), handheld("Yard")
    dock.do(_receive_motor)
    yard.do(_receive_motor)
    dock.sync(central)
    yard.sync(central)
    dock.do(lambda ledger: ledger.issue_to_job("J-PUMP", "MOTOR", 1, serial="M-7"))
    dock.sync(central)
    [exception] = open_exceptions(central)

    resolved = central.run(
        lambda s: resolve(s, int(str(exception["id"])), "apply", by="Sam", clock=moving)
    )

    assert resolved["entry_status"] == "applied"
    assert central.run(lambda s: s.get_one(Serial, ("MOTOR", "M-7")).status) == "in_stock"
    assert central.balances() == {("MOTOR", "", "M-7", "RCV"): Decimal(1)}
    assert consistent(central) == []


def _a_pump_shipped_twice(central: Central, handheld: Make) -> tuple[Handheld, int]:
    """Two handhelds ship the same pump: the yard's shipment is held. The yard and the id
    of the exception about it."""
    dock, yard = handheld("Dock 1"), handheld("Yard")
    dock.do(_received_pump)
    dock.sync(central)
    yard.pull(central)
    dock.do(_ship_pump)
    yard.do(_ship_pump)
    dock.sync(central)
    yard.sync(central)
    [exception] = open_exceptions(central)
    return yard, int(str(exception["id"]))


def test_a_held_movement_can_be_voided(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    yard, exception_id = _a_pump_shipped_twice(central, handheld)

    with pytest.raises(SyncError, match="apply it or void it") as adjusting:
        central.run(lambda s: resolve(s, exception_id, "adjust", by="Sam", qty=Decimal(0)))
    assert adjusting.value.status == 409

    resolved = central.run(
        lambda s: resolve(
            s, exception_id, "void", by="Sam", reason="shipped once, scanned twice", clock=moving
        )
    )

    assert (resolved["status"], resolved["entry_status"]) == ("resolved", "voided")
    assert resolved["resolution"] == "Voided by Sam: shipped once, scanned twice"
    change = json.loads(central.changes()[-1].payload)
    assert (change["device_id"], change["status"], change["server_seq"]) == (
        yard.device_id,
        "voided",
        None,
    )
    [row] = [r for r in central.run(device_rows) if r["device"] == yard.device_id]
    assert row["held"] == 0
    assert consistent(central) == []


@pytest.mark.parametrize(
    ("badge", "status", "words"),
    [
        ("B1001", 403, "Ana Ruiz \\(B1001\\) is not a supervisor"),
        ("B7777", 422, "The store knows no operator with badge B7777"),
    ],
    ids=["floor-operator", "unknown-badge"],
)
def test_only_a_supervisor_signed_in_may_decide(
    central: Central, handheld: Make, badge: str, status: int, words: str
) -> None:
    _yard, exception_id = _a_pump_shipped_twice(central, handheld)

    with pytest.raises(SyncError, match=words) as refused:
        central.run(
            lambda s: resolve(s, exception_id, "void", by="office", operator=badge, reason="x")
        )

    assert refused.value.status == status
    [still] = open_exceptions(central)
    assert still["status"] == "open"
    resolved = central.run(
        lambda s: resolve(s, exception_id, "void", by="office", operator="B9001", reason="x")
    )
    assert (resolved["resolved_by"], resolved["resolution"]) == (
        "Sam Okafor on office",
        "Voided by Sam Okafor on office: x",
    )


def test_a_count_settles_a_negative_balance(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    dock = handheld("Dock 1", _late_receipt_device)
    dock.do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="L0001", po="PO-9", po_line=1))
    dock.do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 10, lot="L0001"))
    dock.sync(central)
    flag = next(e for e in open_exceptions(central) if e["code"] == "NEGATIVE_BALANCE")
    flag_id = int(str(flag["id"]))

    with pytest.raises(SyncError, match="only a held movement") as voiding:
        central.run(lambda s: resolve(s, flag_id, "void", by="Sam"))
    assert voiding.value.status == 409

    resolved = central.run(
        lambda s: resolve(
            s, flag_id, "adjust", by="office", operator="B9001", qty=Decimal(0), clock=moving
        )
    )

    assert resolved["status"] == "resolved"
    assert resolved["resolution"] == "Counted 0 at RCV: adjusted by +10"
    assert resolved["entry_status"] == "applied"
    assert ("RESIN", "L0001", "", "RCV") not in central.balances()
    store = central.run(own_device_id)
    count = central.run(
        lambda s: s.scalars(select(Movement).where(Movement.device_id == store)).one()
    )
    assert (count.kind, count.qty, count.to_location, count.sync_state, count.operator) == (
        "adjust",
        Decimal(10),
        "RCV",
        "applied",
        "B9001",
    )
    data = json.loads(central.changes()[-2].payload)  # then the issue, no longer flagged
    assert (data["id"], data["device_id"], data["server_seq"]) == (
        str(count.id),
        store,
        count.server_seq,
    )
    assert consistent(central) == []


def test_a_flag_can_be_dismissed_with_a_reason(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    dock = handheld("Dock 1", _late_receipt_device)
    dock.do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="L0001", po="PO-9", po_line=1))
    dock.do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 10, lot="L0001"))
    dock.sync(central)
    flag = next(e for e in open_exceptions(central) if e["code"] == "NEGATIVE_BALANCE")
    flag_id = int(str(flag["id"]))

    with pytest.raises(SyncError, match="Say why") as unexplained:
        central.run(lambda s: resolve(s, flag_id, "dismiss", by="Sam", reason=" "))
    assert unexplained.value.status == 422
    with pytest.raises(SyncError) as unknown:
        central.run(lambda s: resolve(s, 999, "dismiss", by="Sam", reason="x"))
    assert unknown.value.status == 404
    with pytest.raises(SyncError) as bad_action:
        central.run(lambda s: resolve(s, flag_id, "shrug", by="Sam"))
    assert bad_action.value.status == 422

    resolved = central.run(
        lambda s: resolve(
            s, flag_id, "dismiss", by="Sam", reason="PO-9 is on its way", clock=moving
        )
    )

    assert (resolved["status"], resolved["resolution"]) == (
        "resolved",
        "Dismissed: PO-9 is on its way",
    )
    assert resolved["entry_status"] == "applied"
    assert central.balances()[("RESIN", "L0001", "", "RCV")] == Decimal(-10)  # nothing else
    assert consistent(central) == []


# ---- pull -------------------------------------------------------------------------------


def test_pull_pages_through_every_change_in_order(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    dock = handheld("Dock 1")
    for n in range(1, 5):
        dock.do(receive_resin(f"L000{n}", n))
    dock.sync(central)
    every = [c.seq for c in central.changes()]
    assert every == list(range(1, len(every) + 1))

    seen: list[int] = []
    cursor, pages = 0, 0
    while True:
        page = central.pull(dock.token, cursor, limit=3)
        seen += [c.seq for c in page.changes]
        assert len(page.changes) <= 3 and not page.reset
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            break
    assert seen == every and cursor == every[-1]
    assert pages == -(-len(every) // 3)

    at_end = central.pull(dock.token, cursor)
    assert (at_end.changes, at_end.cursor, at_end.has_more, at_end.reset) == (
        [],
        cursor,
        False,
        False,
    )
    [row] = central.run(device_rows)
    assert row["last_pull"] == "2026-11-02T08:30:00+00:00"


def test_a_cursor_past_the_store_starts_again(central: Central, handheld: Make) -> None:
    dock = handheld("Dock 1")
    dock.do(receive_resin("L0001", 1))
    dock.sync(central)

    page = central.pull(dock.token, 1000)

    assert (page.reset, page.changes, page.cursor) == (True, [], 0)


def _key(device: Handheld, seq: int) -> str:
    return str(next(m.id for m in device.movements() if m.seq == seq))


# ---- a batch is judged as its movements one at a time -----------------------------------
#
# The store judges a push's movements one after the other against what it holds in memory
# and writes them together at the end. These pin that to the plain meaning: a batch leaves
# the store exactly as the same movements pushed one per request do.

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


class Backlog:
    """Movements as a device pushes them, numbered in order."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.movements: list[MovementIn] = []

    def add(self, kind: str, part: str, qty: int, **fields: object) -> MovementIn:
        seq = len({m.seq for m in self.movements}) + 1
        movement = MovementIn.model_validate(
            {
                "seq": seq,
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"{self.device}/{seq}"),
                "kind": kind,
                "part": part,
                "qty": qty,
                "happened_at": START + timedelta(seconds=seq),
                **fields,
            }
        )
        self.movements.append(movement)
        return movement

    def again(self, movement: MovementIn, **changed: object) -> None:
        """The same number sent once more, as it was or (`changed`) tampered with."""
        self.movements.append(movement.model_copy(update=changed))


def _yard_backlog() -> tuple[list[MovementIn], MovementIn]:
    """What another handheld pushed first: resin at A-01 that it then mostly moved away,
    and a receipt it reversed. Returns its movements and that receipt."""
    yard = Backlog("YARD")
    yard.add("receive", "RESIN", 100, to_location="A-01", lot="L-Y", lot_origin="received")
    yard.add("move", "RESIN", 90, from_location="A-01", to_location="A-02", lot="L-Y")
    receipt = yard.add("receive", "BOLT", 10, to_location="RCV")
    yard.add("reverse", "BOLT", 10, from_location="RCV", reverses=receipt.id)
    return yard.movements, receipt


def _mixed_backlog(reversed_by_yard: MovementIn) -> list[MovementIn]:
    """Five hundred movements of one handheld that meet every outcome the store has, many
    of them because of what came earlier in the same batch."""
    dock = Backlog("DOCK")
    block = 0
    while len(dock.movements) <= MAX_BATCH - 30:
        lot, motor, pump = f"L{block}", f"M-{block}", f"P-{block}"
        receipt = dock.add(
            "receive", "RESIN", 20, to_location="RCV", lot=lot, po="PO-1", po_line=1,
            lot_expiry=date(2027, 5, 1), supplier_lot=f"S-{block}", lot_origin="received",
            operator="B1001",
        )  # fmt: skip
        stocked = dock.add("move", "RESIN", 15, from_location="RCV", to_location="A-01", lot=lot)
        dock.add("issue", "RESIN", 20, from_location="A-01", lot=lot, job="J-HOUSING")  # short
        dock.add(
            "produce", "HOUSING", 2, to_location="LINE", lot=f"H{block}", job="J-HOUSING",
            lot_origin="produced", lot_job="J-HOUSING",
        )  # fmt: skip
        # Short at RCV, and covers A-01 again: the issue above is no longer flagged.
        dock.add("move", "RESIN", 10, from_location="RCV", to_location="A-01", lot=lot)
        motor_in = dock.add(
            "receive", "MOTOR", 1, to_location="RCV", serial=motor, po="PO-1", po_line=2
        )
        dock.again(motor_in)  # sent twice: counted once
        dock.add("receive", "MOTOR", 1, to_location="A-02", serial=motor)  # already in stock
        dock.add("ship", "PUMP", 1, from_location="SHIP", serial=pump, so="SO-1", so_line=1)
        dock.add("adjust", "PUMP", 1, to_location="SHIP", serial=pump, reason="found")
        dock.add("ship", "PUMP", 1, from_location="SHIP", serial=pump, so="SO-1", so_line=1)
        dock.add("ship", "PUMP", 1, from_location="SHIP", serial=pump, so="SO-2", so_line=1)
        valve = dock.add("receive", "VALVE", 5, to_location="RCV")
        dock.add("receive", "BOLT", 5, to_location="Z-99", operator="B0000")
        dock.add("receive", "BOLT", 3, to_location="RCV", po="PO-9", po_line=1)
        dock.add("issue", "BOLT", 1, from_location="RCV", job="J-NOPE")
        undo = dock.add(
            "reverse", "RESIN", 15, from_location="A-01", to_location="RCV", lot=lot,
            reverses=stocked.id,
        )  # fmt: skip
        dock.again(undo, qty=Decimal(14))  # the same number, another movement
        dock.add(
            "reverse", "RESIN", 15, from_location="A-01", to_location="RCV", lot=lot,
            reverses=stocked.id,
        )  # fmt: skip
        dock.add("reverse", "VALVE", 5, from_location="RCV", reverses=valve.id)
        # Another device's movement: rejected, as are a receipt with a source and a serial
        # of two; a lot on an untracked part is held (the store tracks BOLT otherwise).
        dock.add("reverse", "BOLT", 10, from_location="RCV", reverses=reversed_by_yard.id)
        dock.add("receive", "BOLT", 2, from_location="A-01", to_location="RCV")
        dock.add("receive", "MOTOR", 2, to_location="RCV", serial=f"M2-{block}")
        dock.add("receive", "BOLT", 2, to_location="RCV", lot=lot)
        # Stale: the yard moved this stock away after the handheld last heard.
        dock.add(
            "move", "RESIN", 8, from_location="A-01", to_location="LINE", lot="L-Y",
            observed_cursor=0,
        )  # fmt: skip
        if block % 3 == 2:
            dock.add("receive", "RESIN", 20, to_location="A-01", lot="L-Y")
        dock.add("adjust", "BOLT", 4, from_location="A-02", reason="count")
        if block % 2 == 1:
            dock.add("receive", "BOLT", 6, to_location="A-02")
        reused = dock.add("receive", "BOLT", 1, to_location="RCV")
        dock.movements[-1] = reused.model_copy(update={"id": receipt.id})
        block += 1
    return sorted(dock.movements, key=lambda m: m.seq)


def _store_with_yard(
    sessions: sessionmaker[Session], moving: MovableClock, yard: list[MovementIn]
) -> tuple[Central, str]:
    """A central store on the plant that heard the yard's backlog; the dock's token."""
    with unit_of_work(sessions) as session:
        ensure_central(session)
        add_plant(session)
    store = Central(sessions, moving)

    def token(name: str, *, supervisor: bool = False) -> str:
        """Enrolled under the id its movements carry, the same in every store."""
        issued = store.run(lambda s: issue_code(s, name, supervisor=supervisor, clock=moving))
        request = EnrollRequest(code=issued.code, device_id=name, queued=1)
        return store.run(lambda s: enroll(s, request, moving)).device_token

    # The dock is a supervisor's device: its adjustments count.
    yard_token, dock_token = token("YARD"), token("DOCK", supervisor=True)
    store.push(yard_token, _request("YARD", yard, moving))
    return store, dock_token


def _request(device: str, movements: list[MovementIn], moving: MovableClock) -> PushRequest:
    return PushRequest(
        device_id=device,
        device_time=moving.now,
        queue_depth=len(movements),
        max_local_seq=max((m.seq for m in movements), default=0),
        movements=movements,
    )


def _everything(session: Session) -> dict[str, object]:
    """All the store holds that a push can change, in a form two stores can be compared in
    (the devices' rows aside: they say when each request came)."""

    def rows(model: type[Any], *order: Any) -> list[tuple[object, ...]]:
        table = model.__table__
        return [
            tuple(getattr(row, column.key) for column in table.columns)
            for row in session.scalars(select(model).order_by(*order))
        ]

    return {
        "movements": rows(Movement, Movement.server_seq),
        "balances": rows(Balance, Balance.part, Balance.lot, Balance.serial, Balance.location),
        "job_lots": rows(JobLot, JobLot.job, JobLot.role, JobLot.part, JobLot.lot),
        "lots": rows(Lot, Lot.part, Lot.number),
        "serials": rows(Serial, Serial.part, Serial.number),
        "entries": rows(SyncEntry, SyncEntry.device_id, SyncEntry.device_seq),
        "exceptions": rows(SyncException, SyncException.id),
        "rejections": rows(SyncRejection, SyncRejection.id),
        "changes": [
            (c.seq, c.kind, c.key, json.loads(c.payload))
            for c in session.scalars(select(Change).order_by(Change.seq))
        ],
        "clock": session.scalar(select(SyncClock.seq)),
    }


@pytest.fixture
def twin(db_url: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A second central store on the same kind of database."""
    if db_url.startswith("sqlite"):
        factory = open_migrated(sqlite_url(tmp_path / "twin.db"))
        yield factory
        factory.kw["bind"].dispose()
        return
    assert PG_URL is not None
    with pg_schema(PG_URL) as url:
        factory = open_migrated(url)
        yield factory
        factory.kw["bind"].dispose()


def test_a_batch_ends_exactly_as_its_movements_pushed_one_at_a_time(
    sessions: sessionmaker[Session], twin: sessionmaker[Session], moving: MovableClock
) -> None:
    yard, reversed_by_yard = _yard_backlog()
    backlog = _mixed_backlog(reversed_by_yard)
    assert MAX_BATCH - 30 < len(backlog) <= MAX_BATCH
    batched, batched_token = _store_with_yard(sessions, moving, yard)
    single, single_token = _store_with_yard(twin, moving, yard)

    at_once = batched.push(batched_token, _request("DOCK", backlog, moving))
    one_by_one = [
        outcome
        for movement in backlog
        for outcome in single.push(single_token, _request("DOCK", [movement], moving)).outcomes
    ]

    assert at_once.outcomes == one_by_one
    assert at_once.last_applied_seq == backlog[-1].seq
    assert batched.run(_everything) == single.run(_everything)
    assert consistent(batched) == [] and consistent(single) == []
    # Every outcome the store has was met, and shortfalls were covered within the batch.
    assert {o.status for o in at_once.outcomes} == {"applied", "flagged", "held", "rejected"}
    assert {code for o in at_once.outcomes for code in o.codes} == {
        "NEGATIVE_BALANCE", "STALE_SOURCE", "SERIAL_CONFLICT", "SERIAL_DUPLICATE_RECEIPT",
        "UNKNOWN_REFERENCE", "DOUBLE_REVERSAL", "IDEMPOTENCY_CONFLICT", "RULE_VIOLATION",
        "TRACKING_MISMATCH",
    }  # fmt: skip
    cleared = batched.run(
        lambda s: s.scalars(
            select(SyncException.code).where(SyncException.status == "auto_cleared")
        ).all()
    )
    assert {"NEGATIVE_BALANCE", "STALE_SOURCE"} <= set(cleared)


def test_a_batch_holds_what_its_own_earlier_movements_conflict_with(
    central: Central, handheld: Make
) -> None:
    """The second shipment of a serial shipped earlier in the same batch is held, and the
    supervisor reads where the serial went."""
    dock = handheld("Dock 1")
    dock.do(_received_pump)
    dock.do(_ship_pump)
    [found, shipped] = dock.movements()
    again = shipped.model_copy(update={"seq": 3, "id": uuid.uuid4(), "so": "SO-2"})

    response = central.push(dock.token, dock.request([found, shipped, again]))

    assert statuses(response) == ["applied", "applied", "held"]
    assert "it has it shipped on SO-1" in response.outcomes[2].message
    assert consistent(central) == []


def test_the_stored_hash_of_a_movement_is_its_protocol_hash(
    central: Central, handheld: Make
) -> None:
    """The store hashes the text it already wrote; a retry is told apart from a reused
    number by `movement_hash`, with and without the lot hints a movement carries."""
    dock = handheld("Dock 1")
    dock.do(receive_resin("L0001", 25))  # a new lot: expiry, origin
    dock.do(lambda ledger: ledger.receive("BOLT", 5, "RCV"))  # no hints at all
    dock.sync(central)
    pushed = {m.seq: movement_hash(m) for m in dock.movements()}
    stored = central.run(
        lambda s: {e.device_seq: e.payload_hash for e in s.scalars(select(SyncEntry))}
    )
    assert stored == pushed


def test_a_movement_change_reads_as_the_movement_and_its_outcome(
    central: Central, handheld: Make
) -> None:
    dock = handheld("Dock 1", supervisor=True)
    dock.do(lambda ledger: ledger.adjust("BOLT", 5, "RCV", reason='a "quoted" note é'))
    [movement] = dock.movements()
    dock.sync(central)

    change = central.changes()[-1]

    assert json.loads(change.payload) == {
        **movement.model_dump(mode="json"),
        "device_id": dock.device_id,
        "status": "applied",
        "server_seq": change.seq,
        "codes": [],
        "message": "",
    }


def test_text_postgresql_cannot_hold_fails_the_push_as_a_data_error(
    central: Central, handheld: Make
) -> None:
    """A NUL character in a pushed movement's words: PostgreSQL refuses it (the service
    answers 422 to the database's DataError, with nothing recorded); SQLite keeps it."""
    dock = handheld("Dock 1", supervisor=True)
    dock.do(lambda ledger: ledger.adjust("BOLT", 5, "RCV", reason="found"))
    [movement] = dock.movements()
    request = dock.request([movement.model_copy(update={"reason": "found\x00"})])
    if central.sessions.kw["bind"].dialect.name != "postgresql":
        assert statuses(central.push(dock.token, request)) == ["applied"]
        return

    with pytest.raises(DataError):
        central.push(dock.token, request)

    assert central.count(Movement) == central.count(SyncEntry) == 0


def _six_counts_in_shares_of_two(handheld: Make, monkeypatch: pytest.MonkeyPatch) -> Handheld:
    """A supervisor's handheld with six counts recorded, pushed with the store writing
    behind in shares of two (sync.central.write_behind), so that three shares go out."""
    monkeypatch.setattr(write_behind, "SHARE", 2)
    dock = handheld("Dock 1", supervisor=True)
    for _ in range(6):
        dock.do(lambda ledger: ledger.adjust("BOLT", 5, "RCV", reason="found"))
    return dock


def test_a_row_the_database_refuses_after_the_push_judged_on_fails_the_push(
    central: Central, handheld: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a push's clean rows go to the server in shares while it judges the rest
    (sync.central.write_behind). A row the server refuses in the first share, answered
    while the push is judging the second, still fails the push as the database's DataError,
    with nothing recorded, and the next push is taken as if it had never been."""
    if central.sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite keeps a NUL, and writes a push's rows when it finishes")
    dock = _six_counts_in_shares_of_two(handheld, monkeypatch)
    movements = dock.movements()
    spoiled = [movements[0].model_copy(update={"reason": "found\x00"}), *movements[1:]]

    with pytest.raises(DataError):
        central.push(dock.token, dock.request(spoiled))

    assert central.count(Movement) == central.count(SyncEntry) == central.count(Change) == 0
    assert statuses(central.push(dock.token, dock.request(movements))) == ["applied"] * 6
    assert central.count(Movement) == central.count(SyncEntry) == 6


def test_a_push_that_fails_with_rows_on_their_way_leaves_nothing_and_the_connection_whole(
    central: Central, handheld: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push that fails after shares of its rows went to PostgreSQL unanswered
    (sync.central.write_behind) rolls them back with it, and the connection it leaves in
    the pool takes the next push as any other: the pipeline ended before the rollback."""
    if central.sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite writes a push's rows when it finishes")
    dock = _six_counts_in_shares_of_two(handheld, monkeypatch)
    request = dock.request(dock.movements())

    def fails(*_args: object) -> None:
        raise RuntimeError("the push fails after its rows were sent")

    with monkeypatch.context() as failing:
        failing.setattr(push_module, "_note_device", fails)
        with pytest.raises(RuntimeError):
            central.push(dock.token, request)

    assert central.count(Movement) == central.count(SyncEntry) == central.count(Change) == 0
    assert statuses(central.push(dock.token, request)) == ["applied"] * 6
    assert central.count(Movement) == central.count(SyncEntry) == central.count(Change) == 6


def test_a_count_past_what_one_movement_carries_is_refused_naming_the_quantity(
    central: Central, handheld: Make, moving: MovableClock
) -> None:
    dock = handheld("Dock 1", _late_receipt_device)
    dock.do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="L0001", po="PO-9", po_line=1))
    dock.do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 10, lot="L0001"))
    dock.sync(central)
    flag = next(e for e in open_exceptions(central) if e["code"] == "NEGATIVE_BALANCE")
    before = central.balances()

    # The adjustment that count needs (a trillion and ten) is more than one movement carries;
    # before, the store's own movement could not even be written into a change: a 500.
    with pytest.raises(SyncError, match="more than one movement carries") as refused:
        central.run(
            lambda s: resolve(
                s, int(str(flag["id"])), "adjust", by="office", qty=Decimal("999999999999.999"),
                clock=moving,
            )
        )  # fmt: skip

    assert refused.value.status == 409
    # In the words of the count typed, not of the adjustment alone (a number nobody typed).
    assert refused.value.message == (
        "Counted 999999999999.999 at RCV, where the balance is -10: the adjustment,"
        " 1000000000009.999, is more than one movement carries (at most 1000000000): check"
        " the count"
    )
    assert central.balances() == before
    assert [e["status"] for e in open_exceptions(central) if e["id"] == flag["id"]] == ["open"]


def test_a_push_reads_no_more_of_the_store_than_what_it_names(
    central: Central, handheld: Make
) -> None:
    """Every statement a push runs finds its rows through an index on what the pushed
    movements name, so a push takes as long on a store of millions of movements as on a new
    one. The open shortfalls were once read from the entries that count, which is nearly
    every entry in the store (SQLite's plan searched ix_sync_entries_status)."""
    if central.sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("SQLite's query plans")
    dock = handheld("Dock 1", _late_receipt_device)
    dock.do(lambda ledger: ledger.receive("RESIN", 25, "RCV", lot="L0001", po="PO-9", po_line=1))
    dock.do(lambda ledger: ledger.issue_to_job("J-HOUSING", "RESIN", 10, lot="L0001"))
    dock.sync(central)  # a shortfall is open now
    for _ in range(3):
        dock.do(receive_resin("L0002", 1))
    dock.do(receive_resin("L0001", 12))  # settles the shortfall
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    engine = central.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert statuses(dock.sync(central)) == ["applied"] * 4
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert statements
    with engine.connect() as connection:
        plans = [
            (statement, row[3])
            for statement, parameters in statements
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    grows = [
        (step, statement)
        for statement, step in plans
        if re.match(r"SCAN (movements|sync_entries|sync_changes)\b", step)
        or "ix_sync_entries_status" in step
    ]
    assert grows == []
