"""Random scans fed to a handheld: whatever arrives, in whatever order, gets a response; a
refused scan records nothing; and afterwards the caches are what the ledger says and no
balance is below zero.

Scans are drawn from a pool where valid and invalid inputs collide often: commands,
prefixed codes (known and unknown), item labels of the plant's parts with lots, serials,
counts and expiry dates, typed quantities and numbers, malformed GS1, any text at all; some
are mixed into lines a floor worker would scan, so that lines get recorded too. Each example
starts from a copy of one stocked SQLite database.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from scanner.balance_check import cache_differences
from scanner.db import open_database, unit_of_work
from scanner.models import Balance, Movement
from scanner.scan import COMMANDS
from scanner.workflows.base import Level, Response
from scanner.workflows.engine import Handheld
from scanner.workspace import sqlite_url
from tests.conftest import fixed_clock
from tests.support.plant import add_plant
from tests.support.transcripts import SIGN_IN, Floor

STOCK = """
    OP:B1001
    CMD:RECEIVE
    (240)RESIN(10)R-1(17)261001(30)20
    CMD:OK
    (240)RESIN(10)R-2(30)20
    (240)PIGMENT(10)PG-1(30)5
    (240)BOLT(30)100
    (240)MOTOR(21)M-1
    LOC:A-01
    (240)MOTOR(21)M-2
    (240)RESIN(10)R-2(30)5
    CMD:DONE
"""

PARTS = ["RESIN", "PIGMENT", "BOLT", "GREASE", "MOTOR", "HOUSING", "PUMP", "NOPE"]
NUMBERS = ["R-1", "R-2", "PG-1", "H-0001", "L-0001", "L-0003", "M-1", "M-2", "P-0001", "P-0002"]

commands = st.sampled_from([f"CMD:{name}" for name in COMMANDS])
codes = st.sampled_from(
    ["OP:B1001", "OP:B9001", "OP:B0000", "PO:PO-1", "PO:PO-9", "SO:SO-1", "SO:SO-2", "SO:SO-9"]
    + [f"LOC:{code}" for code in ("RCV", "A-01", "A-02", "LINE", "SHIP", "NOWHERE")]
    + [f"JOB:{job}" for job in ("J-HOUSING", "J-HOUSING-2", "J-PUMP", "J-NONE")]
)
optional = st.one_of(st.none(), st.sampled_from(NUMBERS))
items = st.builds(
    lambda part, lot, serial, expiry, count: (
        f"(240){part}"
        + (f"(10){lot}" if lot else "")
        + (f"(21){serial}" if serial else "")
        + (f"(17){expiry}" if expiry else "")
        + (f"(30){count}" if count is not None else "")
    ),
    st.sampled_from(PARTS),
    optional,
    optional,
    st.one_of(st.none(), st.sampled_from(["261001", "270301", "261200"])),
    st.one_of(st.none(), st.sampled_from([0, 1, 2, 3, 5, 20, 600, 99999999])),
)
answers = st.sampled_from(
    ["1", "2", "3", "5", "20", "0", "-3", "2.5", "0.0001", "1e3", "NaN", "abc", *NUMBERS]
)
malformed = st.sampled_from(
    ["(01)09506000134353", "(10)", "(17)261399", "]C1", "<GS>", "\x1d", "\x00", "CMD:", "LOC:"]
)
scans = st.one_of(commands, codes, items, items, answers, malformed, st.text(max_size=12))

# Lines a floor worker would scan, for every workflow. Random scans are mixed into them, so
# that refusals happen mid-line too, and stand between them.
LINES = [
    ["CMD:RECEIVE", "(240)RESIN(10)R-3(30)10"],
    ["CMD:RECEIVE", "(240)RESIN(30)10", "CMD:GEN", "L-0001", "L-0002"],
    ["CMD:RECEIVE", "(240)MOTOR(30)2", "CMD:GEN", "CMD:GEN"],
    ["CMD:RECEIVE", "PO:PO-1", "(240)MOTOR(21)M-3"],
    ["CMD:RECEIVE", "LOC:A-02", "(240)BOLT", "20"],
    ["CMD:ISSUE", "JOB:J-HOUSING", "(240)RESIN(10)R-2(30)5", "LOC:RCV", "CMD:OK", "CMD:OK"],
    ["CMD:ISSUE", "JOB:J-HOUSING", "(240)RESIN(10)R-1(30)5", "CMD:OK", "CMD:OK"],
    ["CMD:ISSUE", "JOB:J-PUMP", "(240)MOTOR(21)M-1", "(240)BOLT(30)5"],
    ["CMD:ASSIGN", "JOB:J-HOUSING", "H-0001"],
    ["CMD:COMPLETE", "JOB:J-HOUSING", "(240)HOUSING(30)2", "H-0001"],
    ["CMD:COMPLETE", "JOB:J-PUMP", "(240)PUMP(30)2", "CMD:GEN", "P-0001", "P-0002"],
    ["CMD:SHIP", "SO:SO-1", "(240)BOLT(30)5", "CMD:GEN", "CMD:GEN"],
    ["CMD:SHIP", "SO:SO-1", "(240)PUMP(21)P-0001"],
    ["CMD:SHIP", "SO:SO-2", "(240)HOUSING(10)H-0001(30)1", "LOC:LINE"],
    ["CMD:MOVE", "(240)BOLT(30)5", "LOC:A-02"],
    ["CMD:MOVE", "(240)RESIN(10)R-2(30)5", "LOC:A-01", "LOC:A-02"],
    ["CMD:UNDO"],
    ["CMD:LOOKUP", "(240)RESIN(10)R-2", "LOC:RCV", "JOB:J-PUMP"],
]
lines = st.builds(
    lambda line, noise, at: line[:at] + noise + line[at:],
    st.sampled_from(LINES),
    st.lists(scans, max_size=2),
    st.integers(min_value=0, max_value=6),
)
sessions_of_scans = st.lists(
    st.one_of(lines, scans.map(lambda scan: [scan])), min_size=3, max_size=12
).map(lambda runs: [scan for run in runs for scan in run])


@pytest.fixture(scope="module")
def stocked_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stocked") / "lotscan.db"
    sessions = open_database(sqlite_url(path))
    with unit_of_work(sessions) as session:
        add_plant(session)
    assert not Floor(sessions, fixed_clock).run(STOCK).errors()
    sessions.kw["bind"].dispose()  # the last connection closing folds the WAL into the file
    return path


def movements(handheld: Handheld) -> int:
    with handheld.sessions() as session:
        return session.scalar(select(func.count()).select_from(Movement)) or 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs=sessions_of_scans)
def test_random_scans_never_break_the_handheld_or_the_ledger(
    stocked_database: Path, inputs: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "lotscan.db"
        shutil.copyfile(stocked_database, copy)
        sessions = open_database(sqlite_url(copy))
        try:
            handheld = Handheld(sessions, clock=fixed_clock)
            for raw in [SIGN_IN, *inputs]:
                before = movements(handheld)
                response = handheld.handle(raw).response
                assert isinstance(response, Response)
                if response.level == Level.ERROR:
                    assert response.recorded == (), raw
                    assert movements(handheld) == before, raw
            with sessions() as session:
                assert cache_differences(session) == []
                negative = session.scalar(select(func.count()).where(Balance.qty < 0))
                assert negative == 0
        finally:
            sessions.kw["bind"].dispose()
