"""The service promises no 5xx (docs/architecture.md, "Endpoints"): every typed field of
every request body, the pull's query and the paths' parameters, each set in turn to the
extremes of its kind (the ends of its range and one past them, the ends of what Python and
the databases hold, the wrong type, text a terminal or a database chokes on), on SQLite and
PostgreSQL. Whatever the answer, it is never a server error.

The fields come from the service's own schema, so a field added to a body is fed its
kind's extremes without a change here."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from scanner.db import unit_of_work
from scanner.models import Balance
from sync.central.models import SyncException
from sync.central.service import NewDevice, Resolution
from sync.protocol import EnrollRequest, MovementIn, PushRequest, StatusChangeIn
from tests.support.sync_service import Central, bearer, push_body, receipt
from tests.support.wire_extremes import LISTS, each_extreme, extremes, fields


@dataclass
class Sent:
    """One request with one field set to one extreme, and the status it was answered."""

    what: str
    status: int


class Feeder:
    """Sends request after request with one field of a body set to an extreme."""

    def __init__(self, central: Central) -> None:
        self.central = central
        self.sent: list[Sent] = []

    def send(self, method: str, path: str, what: str, *, token: str | None, **kw: Any) -> int:
        body = kw.pop("body", None)
        content = None if body is None else json.dumps(body).encode()  # escapes lone surrogates
        headers = {**bearer(token), "Content-Type": "application/json"}
        answer = self.central.http.request(method, path, content=content, headers=headers, **kw)
        self.sent.append(Sent(what, answer.status_code))
        return answer.status_code

    def server_errors(self) -> list[str]:
        return [f"{sent.what}: {sent.status}" for sent in self.sent if sent.status >= 500]


def test_every_field_of_a_push_at_its_extremes_gets_no_server_error(central: Central) -> None:
    device, token = central.enroll("forklift-1")
    feeder = Feeder(central)
    seq = 1

    def fresh() -> dict[str, Any]:
        body = push_body(device, receipt(seq))
        body["status_changes"] = [
            {
                "id": str(uuid.uuid4()),
                "subject": "job",
                "key": "J-HOUSING",
                "status": "closed",
                "happened_at": body["device_time"],
            }
        ]
        return body

    def push(body: dict[str, Any], what: str) -> None:
        nonlocal seq
        if feeder.send("POST", "/v1/sync/push", what, token=token, body=body) == 200:
            seq = central.applied_seq(device) + 1

    for name, value in each_extreme(PushRequest):
        body = fresh()
        body[name] = value
        push(body, f"{name}={value!r}")
    for name, value in each_extreme(MovementIn):
        body = fresh()
        body["movements"][0][name] = value
        push(body, f"movements[0].{name}={value!r}")
    for name, value in each_extreme(StatusChangeIn):
        body = fresh()
        body["status_changes"][0][name] = value
        push(body, f"status_changes[0].{name}={value!r}")
    for name, value in each_extreme(StatusChangeIn):  # a lot's hold, judged at the store
        body = fresh()
        held = {"subject": "lot", "key": "RESIN|L1", "status": "hold", "operator": "B9001"}
        body["status_changes"][0].update(held)
        body["status_changes"][0][name] = value
        push(body, f"status_changes[0].{name}={value!r} (a lot's)")

    assert feeder.server_errors() == []
    assert central.http.get("/v1/sync/pull", headers=bearer(token)).status_code == 200


PULL_NUMBERS = [
    "-1",
    "0",
    "1001",
    str(2**62),
    str(2**63),
    str(2**64),
    "1_0",
    "\u0663",
    "1.0",
    "",
    "x",
]


def test_a_pull_with_extreme_numbers_gets_no_server_error(central: Central) -> None:
    _device, token = central.enroll("forklift-1")
    feeder = Feeder(central)
    for name in ("cursor", "limit"):
        for value in PULL_NUMBERS:
            params = {name: value}
            feeder.send("GET", "/v1/sync/pull", f"{name}={value!r}", token=token, params=params)
    assert feeder.server_errors() == []


def test_every_field_of_an_enrollment_at_its_extremes_gets_no_server_error(
    central: Central,
) -> None:
    feeder = Feeder(central)
    for name, value in each_extreme(EnrollRequest):
        body: dict[str, Any] = {"code": central.code(f"forklift-{len(feeder.sent)}")}
        body[name] = value
        feeder.send("POST", "/v1/devices/enroll", f"{name}={value!r}", token=None, body=body)
    assert feeder.server_errors() == []


def test_every_field_of_a_supervisors_request_at_its_extremes_gets_no_server_error(
    central: Central,
) -> None:
    """New devices, and resolutions of a held movement and of a shortage (a count): each
    extreme meets an exception still open, so it reaches as far into the store as it can."""
    _office, boss = central.enroll("office", supervisor=True)
    device, token = central.enroll("forklift-1")
    feeder = Feeder(central)
    for name, value in each_extreme(NewDevice):
        body: dict[str, Any] = {"name": f"forklift-{len(feeder.sent)}", name: value}
        feeder.send("POST", "/v1/devices", f"new device {name}={value!r}", token=boss, body=body)
    shortages = _Shortages(central, device, token)
    for resolution in (
        {"action": "adjust", "qty": "5", "location": "A-01", "reason": "counted"},
        {"action": "dismiss", "reason": "seen"},
        {"action": "void", "reason": "not real"},
    ):
        for name, value in each_extreme(Resolution):
            exception = shortages.open_one(held=resolution["action"] == "void")
            body = {**resolution, name: value}
            what = f"{resolution['action']} with {name}={value!r}"
            path = f"/v1/exceptions/{exception}/resolve"
            feeder.send("POST", path, what, token=boss, body=body)
    for exception_id in ("0", "-1", str(2**31), str(2**63), "x"):
        path = f"/v1/exceptions/{exception_id}/resolve"
        feeder.send("POST", path, path, token=boss, body={"action": "void"})
    for device_id in ("%00", "%1b", "x" * 21, "ZZZZ", "%F0%9F%98%80"):
        path = f"/v1/devices/{device_id}/revoke"
        feeder.send("POST", path, path, token=boss)
    assert feeder.server_errors() == []
    assert central.http.get("/v1/devices", headers=bearer(boss)).status_code == 200


class _Shortages:
    """A handheld that makes an open exception on demand: a movement of stock that is not
    there (a shortage, flagged), or of a part the store does not know (held)."""

    def __init__(self, central: Central, device: str, token: str) -> None:
        self.central = central
        self.device = device
        self.token = token
        self.seq = 0

    def open_one(self, *, held: bool) -> int:
        """An open exception of the kind asked: the last one, if no resolution closed it."""
        codes = ["UNKNOWN_REFERENCE"] if held else ["NEGATIVE_BALANCE", "STALE_SOURCE"]
        with unit_of_work(self.central.sessions) as session:
            still_open = session.scalars(
                select(SyncException.id).where(
                    SyncException.status == "open", SyncException.code.in_(codes)
                )
            ).first()
        if still_open is not None:
            return still_open
        self.seq += 1
        movement = receipt(self.seq, part="NO-SUCH-PART") if held else self._short(self.seq)
        answer = self.central.push(self.token, push_body(self.device, movement))
        assert answer.status_code == 200, answer.text
        return self.open_one(held=held)

    def _short(self, seq: int) -> MovementIn:
        """BOLT moved from the rack that has least of it, one more than it has."""
        with unit_of_work(self.central.sessions) as session:
            stock = {
                location: session.scalar(
                    select(func.coalesce(func.sum(Balance.qty), 0)).where(
                        Balance.part == "BOLT", Balance.location == location
                    )
                )
                or Decimal(0)
                for location in ("A-01", "A-02", "LINE")
            }
        source = min(stock, key=lambda location: stock[location])
        target = "A-02" if source != "A-02" else "A-01"
        return receipt(seq).model_copy(
            update={
                "kind": "move",
                "from_location": source,
                "to_location": target,
                "qty": max(Decimal(stock[source]), Decimal(0)) + 1,
            }
        )


def test_the_extremes_cover_every_kind_of_field() -> None:
    """Every field of every body has extremes to be fed."""
    for model in (PushRequest, MovementIn, StatusChangeIn, EnrollRequest, NewDevice, Resolution):
        for name, prop in fields(model).items():
            if name not in LISTS:
                assert len(extremes(prop)) > 3, (model.__name__, name)
