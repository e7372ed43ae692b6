"""Sharing a line's quantity among its containers: exact, never empty, whole units whole."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.containers import container_shares, most_containers
from scanner.errors import RuleViolation
from scanner.workflows.base import MAX_NUMBERS


@pytest.mark.parametrize(
    ("qty", "containers", "uom", "shares"),
    [
        ("10", 3, "ea", ["3", "3", "4"]),
        ("10", 4, "ea", ["2", "2", "3", "3"]),
        ("12", 4, "ea", ["3", "3", "3", "3"]),
        ("10", 3, "kg", ["3.333", "3.333", "3.334"]),
        ("100", 7, "kg", ["14.285", "14.285", "14.286", "14.286", "14.286", "14.286", "14.286"]),
        ("10", 4, "kg", ["2.5", "2.5", "2.5", "2.5"]),
        ("2.5", 2, "ea", ["1.25", "1.25"]),
        ("0.002", 2, "kg", ["0.001", "0.001"]),
        ("7", 1, "ea", ["7"]),
    ],
)
def test_the_last_containers_take_the_remainder(
    qty: str, containers: int, uom: str, shares: list[str]
) -> None:
    assert container_shares(Decimal(qty), containers, uom) == [Decimal(s) for s in shares]


@pytest.mark.parametrize(
    ("qty", "containers", "uom", "message"),
    [
        ("2", 3, "ea", "2 ea cannot fill 3 containers: at most 2"),
        ("0.002", 3, "kg", "0.002 kg cannot fill 3 containers: at most 2"),
    ],
)
def test_a_quantity_too_small_for_its_containers_is_refused(
    qty: str, containers: int, uom: str, message: str
) -> None:
    assert most_containers(Decimal(qty), uom) == containers - 1
    with pytest.raises(RuleViolation) as refused:
        container_shares(Decimal(qty), containers, uom)
    assert str(refused.value) == message


quantities = st.decimals(
    min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3, allow_nan=False
)


@given(
    qty=st.one_of(quantities, st.integers(1, 10**6).map(Decimal)),
    containers=st.integers(1, MAX_NUMBERS),
    uom=st.sampled_from(["ea", "kg", "L", "m"]),
)
def test_shares_add_up_exactly_and_none_is_empty_or_finer_than_a_thousandth(
    qty: Decimal, containers: int, uom: str
) -> None:
    if containers > most_containers(qty, uom):
        with pytest.raises(RuleViolation):
            container_shares(qty, containers, uom)
        return
    shares = container_shares(qty, containers, uom)
    assert len(shares) == containers
    assert sum(shares, Decimal(0)) == qty
    assert all(share > 0 for share in shares)
    assert all(share == share.quantize(Decimal("0.001")) for share in shares)
    if uom == "ea" and qty == int(qty):
        assert all(share == int(share) for share in shares)
    step = Decimal(1) if uom == "ea" and qty == int(qty) else Decimal("0.001")
    assert max(shares) - min(shares) <= step  # as even as the quantity allows
    assert shares == sorted(shares)  # the odd units go to the last containers
