"""How the screens word sync and supervision: plain functions, read as a table of facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from screens.handheld import CONTINUED, rows_of
from screens.queue import reason_only
from screens.supervisor_lines import actions_for, clock_offset, count_question, movement_words
from screens.sync_line import sync_long, sync_short, when
from sync.device.status import SyncStatus
from tests.conftest import NOW


def status(**fields: Any) -> SyncStatus:
    values: dict[str, Any] = {
        "enrolled": True,
        "url": "http://store:8470",
        "device": "H7KQ",
        "pending": 3,
        "flagged": 0,
        "held": 0,
        "rejected": 0,
        "last_sync_at": NOW - timedelta(minutes=5),
        "last_error": None,
        "online": True,
    }
    return SyncStatus(**(values | fields))


@pytest.mark.parametrize(
    ("sync", "short", "long"),
    [
        (status(), "\u21913 online 08:25", "online, 3 queued, synced 08:25"),
        (status(online=False), "offline \u21913", "offline, 3 queued, last sync 08:25"),
        (status(online=None, last_sync_at=None), "\u21913 not synced", "3 queued, not synced yet"),
        (
            status(last_error="This handheld was revoked by a supervisor"),
            "\u21913 refused",
            "sync refused, 3 queued",
        ),
        (
            status(pending=0, flagged=2, rejected=1),
            "\u21910 online 08:25",
            "online, 0 queued, synced 08:25, 2 flagged, 1 rejected",
        ),
        (status(enrolled=False), "", ""),
        (None, "", ""),
    ],
)
def test_the_status_line_words_the_sync(sync: SyncStatus | None, short: str, long: str) -> None:
    assert sync_short(sync, NOW, UTC) == short
    assert sync_long(sync, NOW, UTC) == long
    assert len(short) <= 16  # beside the workflow and the badge at 40 columns


def test_a_time_is_shown_as_the_hour_today_and_as_the_day_before() -> None:
    assert when(datetime(2026, 11, 2, 6, 5, tzinfo=UTC), NOW, UTC) == "06:05"
    assert when(datetime(2026, 11, 1, 23, 59, tzinfo=UTC), NOW, UTC) == "11-01"
    assert when(None, NOW, UTC) == "never"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, ""), (0, "+0s"), (-45, "-45s"), (119, "+119s"), (600, "+10m"), (-10800, "-3h")],
)
def test_a_clock_offset_is_said_in_the_largest_unit_that_reads_well(
    seconds: int | None, shown: str
) -> None:
    assert clock_offset(seconds) == shown


SHORT = ("adjust", "dismiss")


@pytest.mark.parametrize(
    ("row", "actions"),
    [
        ({"entry_status": "held", "code": "SERIAL_CONFLICT"}, ("apply", "void")),
        (
            {"entry_status": "flagged", "code": "NEGATIVE_BALANCE", "part": "P"},
            ("adjust", "dismiss"),
        ),
        ({"entry_status": "flagged", "code": "STALE_SOURCE", "part": "P"}, SHORT),
        ({"entry_status": None, "code": "CLOCK_SKEW"}, ("dismiss",)),
        ({"entry_status": None, "code": "IDEMPOTENCY_CONFLICT"}, ("dismiss",)),
    ],
)
def test_what_may_resolve_an_exception(row: dict[str, Any], actions: tuple[str, ...]) -> None:
    assert actions_for(row) == actions


def test_a_pushed_movement_reads_as_a_sentence() -> None:
    move = {"kind": "move", "qty": "15.000", "part": "BOLT", "from_location": "RCV"}
    assert movement_words(move | {"to_location": "A-01"}) == "move 15 BOLT RCV>A-01"
    receive = {"kind": "receive", "qty": "2.5", "part": "OIL", "lot": "L-1", "to_location": "RCV"}
    assert movement_words(receive) == "receive 2.5 lot L-1 of OIL to RCV"
    assert movement_words(None) == ""


def test_a_sync_failure_is_shown_without_the_queue_it_had_then() -> None:
    words = "Cannot reach the central store at http://s (timed out)"
    assert reason_only(f"{words}; 12 movements stay queued") == words
    assert reason_only(f"{words}; 1 movement stays queued") == words
    assert reason_only(words) == words


# ---- the work log's rows --------------------------------------------------------------


@given(
    line=st.text(alphabet=st.sampled_from("ab-1 零é"), min_size=1, max_size=120).filter(
        lambda text: text.strip() == text and "  " not in text
    ),
    width=st.integers(min_value=5, max_value=80),
)
def test_a_log_line_is_shown_whole_in_rows_that_fit(line: str, width: int) -> None:
    rows = rows_of(line, width)
    assert all(cell_len(row) <= width for row in rows)
    assert all(row.startswith(CONTINUED) and row[2:3] != " " for row in rows[1:])
    assert "".join(rows).replace(" ", "") == line.replace(" ", "")


@pytest.mark.parametrize(
    ("line", "width", "rows"),
    [
        ("Received 5 ea", 40, ["Received 5 ea"]),
        ("Received 5 ea", 0, ["Received 5 ea"]),  # not laid out yet
        ("Moved 5 ea of BOLT to RACK-A-01", 20, ["Moved 5 ea of BOLT", "  to RACK-A-01"]),
        (
            "Received 5 ea lot ABCDEFGHIJKLMNOPQRST",
            16,
            ["Received 5 ea", "  lot ABCDEFGHIJ", "  KLMNOPQRST"],
        ),
    ],
)
def test_a_log_line_breaks_between_words(line: str, width: int, rows: list[str]) -> None:
    assert rows_of(line, width) == rows


@pytest.mark.parametrize(
    ("row", "question"),
    [
        ({"part": "RESIN", "lot": "R-1", "location": "RCV"}, "Count of RESIN R-1 at RCV? Enter"),
        ({"part": "PUMP", "serial": "P-1", "location": "SHIP"}, "Count of PUMP P-1 at SHIP? Enter"),
        (
            {"part": "BOLT-M10X40", "lot": "L-2026-12-07-0001", "location": "RACK-A2"},
            "Count of BOLT-M10X40 at RACK-A2? Enter",
        ),
        (
            {"part": "P" * 30, "lot": "L-1", "location": "RACK-A2"},
            "Count at RACK-A2? Type it, Enter",
        ),
        ({"part": "RESIN", "location": None}, "Quantity counted? Type it, Enter"),
    ],
)
def test_a_count_asks_for_what_is_counted_where_in_40_columns(
    row: dict[str, Any], question: str
) -> None:
    assert count_question(row) == question and len(question) <= 40
