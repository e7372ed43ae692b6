"""The text a store keeps of a pushed movement and the hash that tells a retry from a reused
number: the quick ways they are written must give what their definitions give, for any
movement a handheld can push (text with quotes, control characters, DEL, accents)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sync.protocol import LOT_HINTS, MovementIn, canonical, movement_hash, movement_payload

TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from('",\\\x7f\x00\n'),
    min_size=1,
    max_size=20,
)
OPTIONAL = st.none() | TEXT


@st.composite
def movements(draw: st.DrawFn) -> MovementIn:
    return MovementIn(
        seq=draw(st.integers(1, 2**62)),
        id=uuid.UUID(int=draw(st.integers(0, 2**128 - 1))),
        kind=draw(st.sampled_from(["receive", "issue", "produce", "ship", "move", "adjust"])),
        part=draw(TEXT),
        lot=draw(OPTIONAL),
        serial=draw(OPTIONAL),
        qty=draw(st.decimals(Decimal("0.001"), Decimal("999999999999"), places=3)),
        from_location=draw(OPTIONAL),
        to_location=draw(OPTIONAL),
        po_line=draw(st.none() | st.integers(0, 2**31 - 1)),
        reason=draw(st.none() | st.text(max_size=50)),
        reverses=draw(st.none() | st.uuids()),
        happened_at=draw(st.datetimes(timezones=st.just(UTC))),
        observed_cursor=draw(st.none() | st.integers(0, 2**62)),
        lot_expiry=draw(st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31))),
        supplier_lot=draw(OPTIONAL),
        lot_origin=draw(st.none() | st.sampled_from(["received", "produced"])),
        serial_lot=draw(OPTIONAL),
    )


@given(movements())
def test_the_payload_is_the_canonical_json_of_the_movement(movement: MovementIn) -> None:
    assert movement_payload(movement) == canonical(movement.model_dump(mode="json"))


@given(movements())
def test_the_hash_is_of_the_movement_without_its_lot_hints(movement: MovementIn) -> None:
    fact = canonical(movement.model_dump(mode="json", exclude=set(LOT_HINTS)))
    expected = hashlib.sha256(fact.encode()).hexdigest()

    assert movement_hash(movement) == expected
    assert movement_hash(movement, movement_payload(movement)) == expected


def test_a_movement_with_a_new_lot_hint_hashes_as_one_without() -> None:
    """A retry may carry a supplier lot the first try did not (the handheld's lot row
    changed in between): it is the same movement."""
    first = MovementIn(
        seq=1,
        id=uuid.uuid4(),
        kind="receive",
        part="RESIN",
        lot="L1",
        qty=Decimal(5),
        to_location="RCV",
        happened_at=datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
    )
    again = first.model_copy(update={"supplier_lot": "ACME-7", "lot_expiry": date(2027, 1, 1)})

    assert movement_hash(again) == movement_hash(first)
    assert movement_payload(again) != movement_payload(first)
