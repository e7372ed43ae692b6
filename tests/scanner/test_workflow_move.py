"""MOVE on the floor: the next scan applies to the item the screen shows, a lot in one place
is offered whole, and a lot on hold goes into quarantine and nowhere else."""

from __future__ import annotations

import pytest

from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import Location
from scanner.workflows.base import Level
from tests.conftest import fixed_clock
from tests.support.transcripts import Floor

STOCK = """
    OP:B1001
    CMD:RECEIVE
    (240)BOLT(30)100
    (240)PIGMENT(10)PG-1(30)40
    (240)RESIN(10)R-1(17)261231(30)25
    LOC:A-01
    (240)RESIN(10)R-1(17)261231(30)5
    CMD:MOVE
"""


@pytest.fixture
def moving(floor: Floor) -> Floor:
    assert not floor.run(STOCK).errors()
    return floor


def test_a_new_item_after_a_refused_destination_is_the_one_moved(moving: Floor) -> None:
    steps = moving.run("""
        (240)BOLT(30)10
        LOC:NOWHERE
        (240)PIGMENT(10)PG-1(30)4
        LOC:A-02
    """)
    assert steps.at(2).level == Level.ERROR
    switched = steps.at(3).response
    assert (switched.level, switched.message) == (
        Level.WARNING,
        "Unfinished line dropped (10 ea of BOLT). 4 kg of lot PG-1 of PIGMENT from RCV",
    )
    assert switched.prompt == "Move 4 kg of lot PG-1 of PIGMENT to? (LOC:)"
    assert steps.last.message == "Moved 4 kg of lot PG-1 of PIGMENT RCV>A-02"
    assert moving.stock("BOLT") == {("", "RCV"): 100}
    assert moving.stock("PIGMENT") == {("PG-1", "RCV"): 36, ("PG-1", "A-02"): 4}
    assert moving.agrees()


def test_a_new_item_while_the_source_is_asked_replaces_the_line(moving: Floor) -> None:
    steps = moving.run("""
        (240)RESIN(10)R-1(30)5
        (240)BOLT(30)10
        LOC:A-01
    """)
    assert steps.at(1).response.prompt == "From where? A-01, RCV (LOC:)"
    assert steps.at(2).response.prompt == "Move 10 ea of BOLT to? (LOC:)"
    assert steps.last.message == "Moved 10 ea of BOLT RCV>A-01"
    assert moving.stock("RESIN") == {("R-1", "A-01"): 5, ("R-1", "RCV"): 25}


@pytest.mark.parametrize(
    ("item", "lot"),
    [
        ("(240)PIGMENT(30)4", "(10)PG-1"),
        # A label too long for one symbol (`labels.compose`): the part and expiry, then the
        # lot with the count, which is how many the container holds, so what moves.
        ("(240)PIGMENT(17)270331", "(10)PG-1(30)4"),
    ],
    ids=["lot-label", "split-label"],
)
def test_a_label_answering_the_lot_asked_for_is_an_answer_not_a_new_item(
    moving: Floor, item: str, lot: str
) -> None:
    with unit_of_work(moving.sessions) as session:
        session.add(Location(code="QA", name="Quarantine cage", kind="quarantine"))
    steps = moving.run(f"""
        {item}
        {lot}
        LOC:A-02
    """)
    assert steps.at(1).response.prompt == "Lot of PIGMENT?"
    assert (steps.at(2).level, steps.at(2).message) == (
        Level.INFO,
        "4 kg of lot PG-1 of PIGMENT from RCV",
    )
    assert steps.last.message == "Moved 4 kg of lot PG-1 of PIGMENT RCV>A-02"


def test_a_refused_new_item_leaves_the_waiting_line_as_the_screen_shows_it(
    moving: Floor,
) -> None:
    steps = moving.run("""
        (240)BOLT(30)10
        (240)NOSUCH(30)1
        LOC:A-02
    """)
    refused = steps.at(2).response
    assert (refused.level, refused.message) == (Level.ERROR, "Unknown part NOSUCH")
    assert refused.prompt == "Move 10 ea of BOLT to? (LOC:)"
    assert steps.last.message == "Moved 10 ea of BOLT RCV>A-02"


def test_a_lot_in_one_place_is_offered_whole(moving: Floor) -> None:
    steps = moving.run("""
        (240)PIGMENT(10)PG-1
        CMD:OK
        LOC:A-02
    """)
    asked = steps.at(1).response
    assert asked.prompt == "Quantity of lot PG-1 of PIGMENT (kg)? CMD:OK: all 40"
    taken = steps.at(2).response
    assert (taken.level, taken.message) == (Level.INFO, "40 kg of lot PG-1 of PIGMENT from RCV")
    assert steps.last.message == "Moved 40 kg of lot PG-1 of PIGMENT RCV>A-02"
    assert moving.stock("PIGMENT") == {("PG-1", "A-02"): 40}
    assert moving.agrees()


def test_a_lot_offered_whole_may_still_be_moved_in_part(moving: Floor) -> None:
    steps = moving.run("""
        (240)PIGMENT(10)PG-1
        15
        LOC:A-02
    """)
    assert steps.last.message == "Moved 15 kg of lot PG-1 of PIGMENT RCV>A-02"
    assert moving.stock("PIGMENT") == {("PG-1", "RCV"): 25, ("PG-1", "A-02"): 15}


def test_a_lot_in_several_places_is_not_offered_whole(moving: Floor) -> None:
    steps = moving.run("""
        (240)RESIN(10)R-1
        CMD:OK
    """)
    assert steps.at(1).response.prompt == "Quantity of lot R-1 of RESIN (kg)?"
    assert (steps.last.level, steps.last.message) == (Level.ERROR, "Type the quantity")


def _hold_pigment_with_a_quarantine(floor: Floor) -> None:
    with unit_of_work(floor.sessions) as session:
        session.add(Location(code="QA", name="Quarantine cage", kind="quarantine"))
        session.flush()
        Ledger(session, fixed_clock).set_lot_status("PIGMENT", "PG-1", "hold")


def test_a_lot_on_hold_moves_into_quarantine(moving: Floor) -> None:
    _hold_pigment_with_a_quarantine(moving)
    steps = moving.run("""
        (240)PIGMENT(10)PG-1(30)40
        LOC:QA
    """)
    assert steps.at(1).message == (
        "40 kg of lot PG-1 of PIGMENT from RCV: on hold, into quarantine only (QA)"
    )
    assert (steps.last.level, steps.last.message) == (
        Level.OK,
        "Moved 40 kg of lot PG-1 of PIGMENT RCV>QA",
    )
    assert moving.stock("PIGMENT") == {("PG-1", "QA"): 40}
    assert moving.agrees()


def test_a_lot_on_hold_moves_nowhere_but_quarantine(moving: Floor) -> None:
    _hold_pigment_with_a_quarantine(moving)
    before = moving.snapshot()
    steps = moving.run("""
        (240)PIGMENT(10)PG-1(30)40
        LOC:A-02
        CMD:ISSUE
        JOB:J-HOUSING
        (240)PIGMENT(10)PG-1(30)2
    """)
    refused = steps.at(2).response
    assert (refused.level, refused.message) == (
        Level.ERROR,
        "Lot PG-1 of PIGMENT is on hold: it may move only into quarantine (QA)",
    )
    assert refused.prompt == "Move 40 kg of lot PG-1 of PIGMENT to? (LOC:)"
    assert (steps.last.level, steps.last.message) == (Level.ERROR, "Lot PG-1 of PIGMENT is on hold")
    assert moving.snapshot() == before


def test_a_recalled_lot_moves_into_quarantine_and_nowhere_else(moving: Floor) -> None:
    with unit_of_work(moving.sessions) as session:
        session.add(Location(code="QA", name="Quarantine cage", kind="quarantine"))
        session.flush()
        Ledger(session, fixed_clock).set_lot_status("PIGMENT", "PG-1", "recalled")
    steps = moving.run("""
        (240)PIGMENT(10)PG-1(30)40
        LOC:A-02
        LOC:QA
    """)
    assert steps.at(1).message == (
        "40 kg of lot PG-1 of PIGMENT from RCV: recalled, into quarantine only (QA)"
    )
    assert (steps.at(2).level, steps.at(2).message) == (
        Level.ERROR,
        "Lot PG-1 of PIGMENT is recalled: it may move only into quarantine (QA)",
    )
    assert steps.last.message == "Moved 40 kg of lot PG-1 of PIGMENT RCV>QA"
    assert moving.stock("PIGMENT") == {("PG-1", "QA"): 40}
