"""Lot and serial numbers: ranges from a first and last number, patterns, offline minting."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.db import open_database, unit_of_work
from scanner.errors import RuleViolation
from scanner.models import Part
from scanner.numbering import check_number, check_pattern, mint_numbers, number_range
from scanner.workspace import sqlite_url

TODAY = date(2026, 11, 2)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("LOT0098", "LOT0102", ["LOT0098", "LOT0099", "LOT0100", "LOT0101", "LOT0102"]),
        ("A-9", "A-11", ["A-9", "A-10", "A-11"]),
        ("SN-0007", "SN-0007", ["SN-0007"]),
        ("12-B", "14-B", ["12-B", "13-B", "14-B"]),
        ("R26-099", "R26-101", ["R26-099", "R26-100", "R26-101"]),
    ],
)
def test_a_range_counts_up_the_last_number_keeping_its_width(
    first: str, last: str, expected: list[str]
) -> None:
    assert number_range(first, last) == expected


@pytest.mark.parametrize(
    ("first", "last", "count", "message"),
    [
        ("LOT0098", "LOT0102", 4, "LOT0098..LOT0102 is 5 numbers, but 4 are needed"),
        ("LOT0102", "LOT0098", None, "LOT0098 comes before LOT0102"),
        ("LOT0098", "LOX0102", None, "differ in more than their last number"),
        ("LOT0098", "LOT102", None, "do not share a number format"),
        ("LOTA", "LOTB", None, "LOTA has no digits to count up from"),
        ("A 1", "A 3", None, "cannot carry: space"),
    ],
)
def test_a_range_that_does_not_make_sense_is_refused(
    first: str, last: str, count: int | None, message: str
) -> None:
    with pytest.raises(RuleViolation, match=message):
        number_range(first, last, expected=count)


def test_a_range_of_the_expected_count_is_accepted() -> None:
    assert len(number_range("LOT0098", "LOT0102", expected=5)) == 5


@given(
    head=st.text(alphabet="ABCXYZ-", max_size=5),
    start=st.integers(min_value=0, max_value=10_000),
    count=st.integers(min_value=1, max_value=50),
    width=st.integers(min_value=1, max_value=6),
)
def test_every_range_has_as_many_distinct_numbers_as_it_spans(
    head: str, start: int, count: int, width: int
) -> None:
    first = f"{head}{start:0{width}d}"
    last = f"{head}{start + count - 1:0{width}d}"
    if len(last) > 20 or (len(f"{start + count - 1}") > width and len(str(start)) < width):
        return  # the last number is wider than a padded first: a different format
    numbers = number_range(first, last)
    assert len(numbers) == len(set(numbers)) == count
    assert (numbers[0], numbers[-1]) == (first, last)


def test_a_number_uses_only_gs1_characters_and_at_most_twenty() -> None:
    assert check_number("AB-12/3.x") == "AB-12/3.x"
    with pytest.raises(RuleViolation, match="empty"):
        check_number("")
    with pytest.raises(RuleViolation, match="'#'"):
        check_number("LOT#1")
    with pytest.raises(RuleViolation, match="'é'"):
        check_number("LOTé")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{part}-{seq}", "needs {device} and {seq}"),
        ("{device}-{yy}", "needs {device} and {seq}"),
        ("{device}-{seq}-{colour}", "unknown fields: colour"),
        ("{device-{seq}", "malformed"),
    ],
)
def test_a_pattern_without_the_device_and_a_counter_is_refused(pattern: str, message: str) -> None:
    with pytest.raises(RuleViolation, match=message):
        check_pattern(pattern)


def _device(tmp_path: Path, name: str, pattern: str | None):  # type: ignore[no-untyped-def]
    sessions = open_database(sqlite_url(tmp_path / f"{name}.db"))
    with unit_of_work(sessions) as session:
        session.add(Part(number="RESIN", description="Resin", tracking="lot", lot_pattern=pattern))
    return sessions


@pytest.mark.parametrize("pattern", [None, "R{yy}{mm}{dd}-{device}-{seq:04}"])
def test_two_devices_minting_offline_never_produce_the_same_number(
    tmp_path: Path, pattern: str | None
) -> None:
    minted: list[set[str]] = []
    for name in ("handheld-1", "handheld-2"):
        sessions = _device(tmp_path, name, pattern)
        numbers: set[str] = set()
        for _ in range(3):  # three receipts, each in its own transaction
            with unit_of_work(sessions) as session:
                part = session.get(Part, "RESIN")
                assert part is not None
                numbers.update(mint_numbers(session, part, 4, TODAY))
        assert len(numbers) == 12
        for number in numbers:
            check_number(number)
        minted.append(numbers)
    assert minted[0].isdisjoint(minted[1])


def test_a_pattern_renders_the_date_device_and_counter(tmp_path: Path) -> None:
    sessions = _device(tmp_path, "h", "R{yy}{mm}{dd}-{device}-{seq:04}")
    with unit_of_work(sessions) as session:
        part = session.get(Part, "RESIN")
        assert part is not None
        first, second = mint_numbers(session, part, 2, TODAY)
    head = first.rsplit("-", 2)[0]
    assert head == "R261102"
    assert first.endswith("-0001") and second.endswith("-0002")
