"""Numbers given as a range (CMD:GEN, first, last) on every workflow that takes them: a range
that cannot be taken records nothing, says why and what to do, and the workflow asks for the
first number again; a good range given then is taken as if nothing had gone wrong."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scanner.workflows.base import Level
from tests.support.transcripts import Floor

AGAIN = ": scan the first number again"


@dataclass(frozen=True)
class RangeCase:
    setup: str
    """Scans after signing in, ending at the first-number prompt."""
    first: str
    last: str
    problem: str
    then: tuple[str, ...]
    """A good range, or what else the workflow now expects, and the message it ends with."""
    done: str
    what: str = "lot"


# A motor issued to J-PUMP first: a completion of a job nothing tracked was issued to warns.
MOTOR_ISSUED = "CMD:RECEIVE\n(240)MOTOR(21)M-9\nCMD:ISSUE\nJOB:J-PUMP\n(240)MOTOR(21)M-9\n"

CASES = {
    "receive-serials-wrong-count": RangeCase(
        "CMD:RECEIVE\n(240)MOTOR(30)3\nCMD:GEN",
        "M-10",
        "M-11",
        "M-10..M-11 is 2 numbers, but 3 are needed",
        ("M-10", "M-12"),
        "Received MOTOR: 3 units",
        what="serial",
    ),
    "receive-serial-given-twice": RangeCase(
        "CMD:RECEIVE\n(240)MOTOR(30)3\nM-1\nCMD:GEN",
        "M-1",
        "M-2",
        "Serial M-1 was already scanned",
        ("M-2", "M-3"),
        "Received MOTOR: 3 units",
        what="serial",
    ),
    "receive-too-many": RangeCase(
        "CMD:RECEIVE\n(240)RESIN(30)1000\nCMD:GEN",
        "R-0001",
        "R-0501",
        "R-0001..R-0501 is 501 numbers, more than one line takes (500)",
        ("R-0001", "R-0004"),
        "Received RESIN: 4 containers",
    ),
    "receive-more-containers-than-the-quantity": RangeCase(
        "CMD:RECEIVE\n(240)HOUSING(30)3\nCMD:GEN",
        "H-1",
        "H-4",
        "H-1..H-4 is 4 containers, more than 3 ea can fill (3 at most)",
        ("H-1", "H-3"),
        "Received HOUSING: 3 containers",
    ),
    "receive-lots-that-exist": RangeCase(
        "CMD:RECEIVE\n(240)RESIN(10)R-0002(30)5\n(240)RESIN(10)R-0003(30)5\n"
        "(240)RESIN(30)40\nCMD:GEN",
        "R-0001",
        "R-0004",
        "Lot R-0002 of RESIN already exists (and 1 more)",
        ("R-0004", "R-0007"),
        "Received RESIN: 4 containers",
    ),
    "receive-not-a-range": RangeCase(
        "CMD:RECEIVE\n(240)RESIN(30)40\nCMD:GEN",
        "R-1",
        "Q-4",
        "R-1 and Q-4 differ in more than their last number",
        ("R-1", "R-4"),
        "Received RESIN: 4 containers",
    ),
    "receive-backwards": RangeCase(
        "CMD:RECEIVE\n(240)RESIN(30)40\nCMD:GEN",
        "R-4",
        "R-1",
        "R-1 comes before R-4",
        ("CMD:GEN",),
        "Received RESIN",
    ),
    "ship-lots-that-exist": RangeCase(
        "CMD:RECEIVE\n(240)BOLT(30)100\nCMD:SHIP\nSO:SO-1\n(240)BOLT(10)S-2(30)1\n"
        "(240)BOLT(30)9\nCMD:GEN",
        "S-1",
        "S-3",
        "Lot S-2 of BOLT already exists",
        ("S-3", "S-5"),
        "Shipped 9 ea of BOLT on SO-1: 3 lots",
    ),
    "ship-more-containers-than-the-quantity": RangeCase(
        "CMD:RECEIVE\n(240)BOLT(30)100\nCMD:SHIP\nSO:SO-1\n(240)BOLT(30)2\nCMD:GEN",
        "S-1",
        "S-3",
        "S-1..S-3 is 3 containers, more than 2 ea can fill (2 at most)",
        ("S-1", "S-2"),
        "Shipped 2 ea of BOLT on SO-1: 2 lots",
    ),
    "ship-not-a-range": RangeCase(
        "CMD:RECEIVE\n(240)BOLT(30)100\nCMD:SHIP\nSO:SO-1\n(240)BOLT(30)9\nCMD:GEN",
        "S-01",
        "S-3",
        "S-01 and S-3 do not share a number format",
        ("S-01", "S-03"),
        "Shipped 9 ea of BOLT on SO-1: 3 lots",
    ),
    "complete-serials-wrong-count": RangeCase(
        MOTOR_ISSUED + "CMD:COMPLETE\nJOB:J-PUMP\n(240)PUMP(30)2\nCMD:GEN",
        "P-1",
        "P-3",
        "P-1..P-3 is 3 numbers, but 2 are needed",
        ("P-1", "P-2"),
        "Completed 2 ea PUMP into LINE",
        what="serial",
    ),
    "complete-serials-that-exist": RangeCase(
        MOTOR_ISSUED + "CMD:COMPLETE\nJOB:J-PUMP\n(240)PUMP(21)P-2\n(240)PUMP(30)2\nCMD:GEN",
        "P-1",
        "P-2",
        "Serial P-2 of PUMP already exists",
        ("P-3", "P-4"),
        "Completed 2 ea PUMP into LINE",
        what="serial",
    ),
    "complete-one-lot": RangeCase(
        "CMD:COMPLETE\nJOB:J-HOUSING-2\n(240)HOUSING(30)2\nCMD:GEN",
        "H-1",
        "H-2",
        "H-1..H-2 is 2 numbers, but 1 is needed",
        ("H-1", "H-1"),
        "Completed 2 ea HOUSING into LINE",
    ),
    "assign-one-lot": RangeCase(
        "CMD:ASSIGN\nJOB:J-HOUSING\nCMD:GEN",
        "H-1",
        "H-2",
        "H-1..H-2 is 2 numbers, but 1 is needed",
        ("H-1", "H-1"),
        "Lot H-1 assigned to J-HOUSING",
    ),
    "assign-a-lot-that-exists": RangeCase(
        "CMD:ASSIGN\nJOB:J-HOUSING\nH-1\nJOB:J-HOUSING-2\nCMD:GEN",
        "H-1",
        "H-1",
        "Lot H-1 of HOUSING already exists",
        ("H-2", "H-2"),
        "Lot H-2 assigned to J-HOUSING-2",
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_refused_range_asks_for_the_first_number_again_and_records_nothing(
    floor: Floor, case: RangeCase
) -> None:
    steps = floor.run("OP:B1001\n" + case.setup)
    assert not steps.errors()
    first_prompt = f"First {case.what} (CMD:GEN again: next from pattern)"
    assert steps.last.prompt == first_prompt
    before = floor.snapshot()
    assert floor.scan(case.first).prompt == f"Last {case.what} (first is {case.first})"
    refused = floor.scan(case.last)
    assert (refused.level, refused.message) == (Level.ERROR, case.problem + AGAIN)
    assert refused.prompt == first_prompt
    assert refused.recorded == () and refused.labels == ()
    assert floor.snapshot() == before
    *good, last = case.then
    for scan in good:
        assert floor.scan(scan).level == Level.INFO
    done = floor.scan(last)
    assert (done.level, done.message) == (Level.OK, case.done)
    assert floor.agrees()


@pytest.mark.parametrize(
    ("scans", "message", "prompt"),
    [
        (
            ["(240)PIGMENT(10)PG-1"],
            "Scan or type the first lot number of RESIN, or scan CMD:GEN",
            "First lot (CMD:GEN again: next from pattern)",
        ),
        (
            ["R-1", "CMD:GEN"],
            "Scan or type the last lot number of RESIN (first is R-1)",
            "Last lot (first is R-1)",
        ),
        (
            ["R-1", "LOC:A-01"],
            "Scan or type the last lot number of RESIN (first is R-1)",
            "Last lot (first is R-1)",
        ),
    ],
    ids=["another-parts-lot-for-the-first", "cmd-gen-for-the-last", "a-location-for-the-last"],
)
def test_a_scan_that_is_not_the_number_asked_for_says_which_is(
    floor: Floor, scans: list[str], message: str, prompt: str
) -> None:
    floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)10
        CMD:GEN
    """)
    *before, scan = scans
    for each in before:
        floor.scan(each)
    refused = floor.scan(scan)
    assert (refused.level, refused.message, refused.prompt) == (Level.ERROR, message, prompt)
    assert floor.movements() == []


def test_the_numbers_of_a_receipt_undone_can_be_given_again(floor: Floor) -> None:
    steps = floor.run("""
        OP:B1001
        CMD:RECEIVE
        (240)RESIN(30)30
        CMD:GEN
        R-0001
        R-0003
        CMD:UNDO
        (240)RESIN(30)36
        CMD:GEN
        R-0001
        R-0003
    """)
    assert not steps.errors()
    assert steps.last.message == "Received RESIN: 3 containers"
    assert floor.stock("RESIN") == {(f"R-000{n}", "RCV"): 12 for n in (1, 2, 3)}
    assert floor.agrees()
