"""Writers' turns at the central store (sync.central.turns): first come, first served, and
a writer that cannot have its turn in time is told to come back, holding nothing."""

from __future__ import annotations

import threading

import pytest

from sync.central.turns import StoreBusy, Turns


def test_a_writer_that_cannot_have_its_turn_in_time_is_told_to_come_back() -> None:
    turns = Turns(patience=0.0)

    with turns.turn(), pytest.raises(StoreBusy) as busy, turns.turn():
        pass

    assert (busy.value.status, busy.value.error) == (503, "retry_later")
    assert turns.queued == 0


def test_a_writer_whose_turn_is_free_never_gives_up_even_late() -> None:
    turns = Turns(patience=2.0)

    with turns.turn(arrived=0.0):  # arrived long ago, but nobody is ahead
        assert turns.queued == 1
    assert turns.queued == 0


def test_a_waiting_writer_has_the_turn_when_the_one_before_is_done() -> None:
    turns = Turns(patience=60.0)
    order: list[str] = []
    later = threading.Thread(target=lambda: _write(turns, order, "second"))

    with turns.turn():
        later.start()
        order.append("first")
    later.join()

    assert order == ["first", "second"]
    assert turns.queued == 0


def _write(turns: Turns, order: list[str], name: str) -> None:
    with turns.turn():
        order.append(name)
