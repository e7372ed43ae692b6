"""Movement ids (scanner/ids.py): version-7 UUIDs that sort by the time they were made."""

from __future__ import annotations

import itertools
import time
import uuid

from scanner.ids import new_movement_id


def test_an_id_is_a_version_7_uuid_that_starts_with_the_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    made = new_movement_id()
    after = time.time_ns() // 1_000_000

    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after
    assert uuid.UUID(str(made)) == made  # it survives the trip through text (the push)


def test_ids_made_in_later_milliseconds_sort_after_earlier_ones_and_never_repeat() -> None:
    batches = []
    for _ in range(5):
        batches.append([new_movement_id() for _ in range(2_000)])
        time.sleep(0.002)

    every = [made for batch in batches for made in batch]
    assert len(set(every)) == len(every)
    for earlier, later in itertools.pairwise(batches):
        assert max(earlier) < min(later)
