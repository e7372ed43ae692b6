"""The text a store keeps of a pushed movement and the hash that tells a retry from a reused
number: the quick ways they are written must give what their definitions give, for any
movement a handheld can push (text with quotes, backslashes, accents; times over the store's
whole range)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from scanner.models import MOVEMENT_FACTS, MOVEMENT_STANDING, Movement
from scanner.plain_text import control_character
from sync.central.pending import NewMovement
from sync.protocol import (
    LOT_HINTS,
    PUSHED_FACTS,
    MovementIn,
    canonical,
    movement_facts,
    movement_hash,
    movement_in,
    movement_payload,
)
from sync.wire_values import EARLIEST, LATEST, PlainText, Quantity

# What a movement's text may hold at the door: anything but a control character.
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from('",\\'),
    min_size=1,
    max_size=20,
).filter(lambda text: control_character(text) is None)
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
        reason=draw(st.none() | TEXT),
        reverses=draw(st.none() | st.uuids()),
        happened_at=draw(
            st.datetimes(
                EARLIEST.replace(tzinfo=None), LATEST.replace(tzinfo=None), timezones=st.just(UTC)
            )
        ),
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


# ---- a movement's facts, one list of them -------------------------------------------------

RECEIPT = MovementIn(
    seq=7,
    id=uuid.UUID("0190c6f1-7a2b-7c3d-8e4f-0123456789ab"),
    kind="receive",
    part="P-100",
    lot="L0042",
    qty=Decimal("12.500"),
    to_location="RCV",
    po="PO-1",
    po_line=2,
    operator="B1001",
    happened_at=datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC),
    observed_cursor=41,
)
REVERSAL = Movement(
    id=uuid.UUID("0190c6f1-7a2b-7c3d-8e4f-0123456789ac"),
    device_id="HH-01",
    device_seq=8,
    kind="reverse",
    part="MOTOR",
    lot="L1",
    serial="M-7",
    qty=Decimal(1),
    from_location="A-01",
    to_location="B-02",
    job="J1",
    po="PO-9",
    po_line=0,
    so="SO-3",
    so_line=4,
    operator="B1002",
    reverses=uuid.UUID("0190c6f1-7a2b-7c3d-8e4f-0123456789ab"),
    reason="Wrong bin — größer",
    happened_at=datetime(2025, 3, 4, 5, 6, 8),  # naive, as SQLite reads it
    observed_cursor=0,
    sync_state="pending",
)
"""A ledger row with every fact given."""


def test_a_movement_hashes_as_it_always_has(sessions: sessionmaker[Session]) -> None:
    """Handhelds retry a push with the payload they first sent, and the store tells a retry
    from a reused number by this hash: it must never change. These were computed before a
    movement's fields were listed in one place."""
    hinted = RECEIPT.model_copy(
        update={"lot_expiry": date(2026, 1, 31), "supplier_lot": "S-9", "lot_origin": "received"}
    )
    with sessions() as session:
        pushed = movement_in(session, REVERSAL)

    assert movement_hash(RECEIPT) == (
        "ebad505245ad7f2970c4ce50149cb9dd4ca09c4db0ba5a3696d86366fec45a88"
    )
    assert movement_hash(hinted) == movement_hash(RECEIPT)
    assert movement_hash(pushed) == (
        "071cb9fa4fa4a3d5ea22de7e8d5e387f3e0dee8beaa1d27062bdd5cbb9848acd"
    )


def test_a_push_carries_every_fact_of_a_movement_and_the_lot_hints() -> None:
    """A column added to the ledger and not to the protocol would never leave the handheld."""
    assert set(MovementIn.model_fields) == set(PUSHED_FACTS) | LOT_HINTS
    assert not LOT_HINTS & set(MOVEMENT_FACTS)


def test_every_column_of_a_movement_is_a_fact_or_where_it_stands() -> None:
    columns = set(Movement.__table__.columns.keys())

    assert set(MOVEMENT_FACTS) == columns - MOVEMENT_STANDING
    assert MOVEMENT_STANDING.issubset(columns)


def test_a_movement_keeps_every_fact_on_the_wire_and_back(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        pushed = movement_in(session, REVERSAL)
    facts = movement_facts(pushed)

    assert all(value is not None for value in facts.values())
    assert facts == {name: getattr(REVERSAL, name) for name in MOVEMENT_FACTS} | {
        "happened_at": datetime(2025, 3, 4, 5, 6, 8, tzinfo=UTC)
    }


def test_the_store_records_every_column_of_a_pushed_movement() -> None:
    """The store writes a pushed movement's record to every column of the ledger; its
    facts come first, in order, because `NewMovement.pushed` fills them by place."""
    fields = tuple(NewMovement.__dataclass_fields__)

    assert set(fields) == set(Movement.__table__.columns.keys())
    assert fields[: len(MOVEMENT_FACTS)] == MOVEMENT_FACTS
    recorded = NewMovement.pushed(
        RECEIPT,
        device_id="HH-01",
        recorded_at=datetime(2025, 3, 4, 6, tzinfo=UTC),
        sync_state="applied",
        server_seq=3,
    )
    assert {name: getattr(recorded, name) for name in MOVEMENT_FACTS} == movement_facts(RECEIPT)


# ---- the door's own checks agree with what they replace --------------------------------


class _PydanticDigits(BaseModel):
    """A quantity as pydantic's own constraints judge it, which `Quantity` checks in one
    step of its own (`sync.wire_values._fits_the_store`)."""

    qty: Annotated[Decimal, Field(max_digits=15, decimal_places=3)]


class _OurDigits(BaseModel):
    qty: Quantity


def _error_kinds(model: type[BaseModel], value: object, field: str = "qty") -> list[str]:
    try:
        model.model_validate({field: value})
    except ValidationError as error:
        return [problem["type"] for problem in error.errors()]
    return []


_QUANTITIES = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**13), max_value=10**13
    ),
    st.builds(
        lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
        st.integers(0, 10**20),
        st.integers(-25, 25),
    ),
)


@given(_QUANTITIES)
def test_a_quantity_fits_the_store_exactly_when_pydantic_says_so(value: Decimal) -> None:
    assert _error_kinds(_OurDigits, value) == _error_kinds(_PydanticDigits, value)
    assert _error_kinds(_OurDigits, str(value)) == _error_kinds(_PydanticDigits, str(value))


@given(st.text())
def test_plain_text_is_refused_exactly_when_it_holds_a_control_or_half_a_pair(text: str) -> None:
    class Words(BaseModel):
        words: PlainText

    refused = bool(control_character(text)) or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    assert bool(_error_kinds(Words, text, "words")) == refused
