"""Numbers past what a plant has, pushed over HTTP (issue 17, defect 5): thousands of receipts
at the largest quantity once drove a balance past 64 bits, so that on PostgreSQL every later
receipt of that part there was refused forever (the device's queue stuck) and on SQLite the
balance silently became a float. Now one movement carries at most `MOST_MOVED` and a balance
holds at most `MOST_HELD`: what would pass them is rejected, and every queue goes on."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from scanner.balance_check import cache_differences
from scanner.db import unit_of_work
from scanner.models import Balance
from scanner.quantity import MOST_HELD, MOST_MOVED
from sync.protocol import PushResponse
from tests.support.sync_service import Central, push_body, receipt


def outcomes(central: Central, token: str, device: str, *movements: object) -> list[tuple]:
    answer = central.push(token, push_body(device, *movements))  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    return [
        (outcome.seq, outcome.status, outcome.codes, outcome.message)
        for outcome in PushResponse.model_validate(answer.json()).outcomes
    ]


def bolts_at_receiving(central: Central) -> Decimal | None:
    with unit_of_work(central.sessions) as session:
        return session.scalar(
            select(Balance.qty).where(Balance.part == "BOLT", Balance.location == "RCV")
        )


def test_one_movement_past_a_billion_is_rejected_and_the_next_is_applied(
    central: Central,
) -> None:
    device, token = central.enroll("dock")
    largest_the_wire_takes = receipt(1, qty="999999999999.999")

    (huge, plain) = outcomes(central, token, device, largest_the_wire_takes, receipt(2))

    assert huge[:3] == (1, "rejected", ["RULE_VIOLATION"])
    assert "Quantity 999999999999.999 is more than one movement carries" in huge[3]
    assert plain[:2] == (2, "applied")
    assert bolts_at_receiving(central) == 10


def test_a_receipt_past_what_a_balance_holds_is_rejected_and_every_queue_goes_on(
    central: Central,
) -> None:
    dock, dock_token = central.enroll("dock")
    yard, yard_token = central.enroll("yard")
    full = [receipt(seq, qty=str(MOST_MOVED)) for seq in range(1, 1001)]
    for start in (0, 500):
        pushed = outcomes(central, dock_token, dock, *full[start : start + 500])
        assert {status for _seq, status, _codes, _message in pushed} == {"applied"}
    assert bolts_at_receiving(central) == MOST_HELD

    one_more, grease = outcomes(
        central, dock_token, dock, receipt(1001, qty="1"), receipt(1002, part="GREASE")
    )
    assert one_more[:3] == (1001, "rejected", ["RULE_VIOLATION"])
    assert "BOLT at RCV 1000000000001: one balance holds at most 1000000000000" in one_more[3]
    assert grease[:2] == (1002, "applied")  # the device's queue goes on
    # Another device's receipt there is judged the same way; its queue goes on too.
    yard_bolt, yard_grease = outcomes(
        central, yard_token, yard, receipt(1, qty="0.001"), receipt(2, part="GREASE")
    )
    assert yard_bolt[1:3] == ("rejected", ["RULE_VIOLATION"])
    assert yard_grease[1] == "applied"

    assert bolts_at_receiving(central) == MOST_HELD
    assert isinstance(bolts_at_receiving(central), Decimal)
    pulled = [c.data for c in central.pull(yard_token).changes if c.kind == "movement"]
    assert all(Decimal(data["qty"]) <= MOST_MOVED for data in pulled)
    assert {data["status"] for data in pulled if data["part"] == "BOLT"} == {"applied"}
    with unit_of_work(central.sessions) as session:
        assert cache_differences(session) == []
