"""A push's body read in one step by pydantic (`sync.central.service.push_body`) gives what
Python's `json` and pydantic's check of its result give, FastAPI's way, which it falls back
on for anything the one step refuses: so a body is taken exactly when it was taken before,
as the same movements, and refused with the same words."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sync.central.service import push_body
from sync.protocol import PushRequest

_MOVEMENT: dict[str, Any] = {
    "id": "01a24eb7-ce4d-778e-9b65-141cf5b3bf59",
    "seq": 1,
    "kind": "receive",
    "part": "BOLT-M6",
    "qty": "5",
    "to_location": "RCV",
    "operator": "B1002",
    "happened_at": "2026-03-02T06:00:01Z",
}
_PUSH: dict[str, Any] = {
    "device_id": "D1",
    "device_time": "2026-03-02T06:00:01Z",
    "queue_depth": 1,
    "max_local_seq": 1,
    "oldest_pending_at": None,
    "movements": [_MOVEMENT],
}

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(),
    st.sampled_from(["\ud800", "a\udfff", "\u001b[2J", "1_000", "١٢", "5.0", "1e2", "0.0001"]),
    st.sampled_from(["2026-03-02T06:00:01+01:00", "2026-03-02 06:00", "2026-03-02", "0"]),
    st.decimals(allow_nan=True).map(str),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
_FIELDS = st.sampled_from(sorted({*_MOVEMENT, "lot", "serial", "reverses", "po_line", "x"}))


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A push of one or two movements, some of whose fields (or the push's own) are
    anything JSON can say, written with or without escapes."""
    push = json.loads(json.dumps(_PUSH))
    for movement in push["movements"] * draw(st.integers(1, 2)):
        for field, value in draw(st.dictionaries(_FIELDS, _VALUES, max_size=3)).items():
            movement[field] = value
    if draw(st.booleans()):
        push[draw(st.sampled_from(sorted(_PUSH)))] = draw(_VALUES)
    text = json.dumps(push, ensure_ascii=draw(st.booleans()), allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def _the_usual_way(text: bytes) -> PushRequest | None:
    try:
        return PushRequest.model_validate(json.loads(text))
    except ValueError:  # not JSON, or not a push (ValidationError is a ValueError)
        return None


def _in_one_step(text: bytes) -> PushRequest | None:
    read = push_body(text)
    return read if isinstance(read, PushRequest) else None


@given(bodies())
def test_a_body_is_taken_in_one_step_only_as_the_usual_way_takes_it(text: bytes) -> None:
    fast = _in_one_step(text)
    if fast is not None:
        usual = _the_usual_way(text)
        assert usual is not None
        assert fast.model_dump_json() == usual.model_dump_json()


def test_a_valid_push_is_taken_in_one_step() -> None:
    text = json.dumps(_PUSH).encode()
    read = push_body(text)
    assert isinstance(read, PushRequest)
    assert read.movements[0].happened_at == datetime(2026, 3, 2, 6, 0, 1, tzinfo=UTC)


def test_what_the_one_step_refuses_is_handed_on_as_json_reads_it() -> None:
    bad = {**_PUSH, "movements": [{**_MOVEMENT, "qty": "-1"}]}
    assert push_body(json.dumps(bad).encode()) == json.loads(json.dumps(bad))
    surrogate = json.dumps({**_PUSH, "device_id": "\ud800"}).encode()
    assert push_body(surrogate) == json.loads(surrogate)


def test_a_model_given_as_the_body_is_not_checked_again() -> None:
    """What `PushRoute` relies on: pydantic takes an instance of the model as it is."""
    read = PushRequest.model_validate_json(json.dumps(_PUSH).encode())
    assert PushRequest.model_validate(read) is read
