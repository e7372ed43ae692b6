"""Statements on the driver's cursor (scanner.cursor_statements) and rows by key
(scanner.row_by_key): the same values, rows, objects and errors as SQLAlchemy's own way,
on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.orm import Session, sessionmaker

from scanner.cursor_statements import Prepared
from scanner.db import unit_of_work
from scanner.ledger import Ledger
from scanner.models import Balance, Location, Movement, Part
from scanner.row_by_key import find
from tests.support.plant import add_plant

BALANCES = Balance.__table__
ADD_BALANCE = Prepared(insert(BALANCES))
QUANTITY = Prepared(
    select(BALANCES.c.qty, BALANCES.c.location).where(
        BALANCES.c.part == bindparam("part"), BALANCES.c.location == bindparam("location")
    )
)


@pytest.fixture
def plant(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(sessions) as session:
        add_plant(session)
    return sessions


def test_values_go_in_and_come_out_as_the_columns_types_keep_them(
    plant: sessionmaker[Session],
) -> None:
    with unit_of_work(plant) as session:
        ADD_BALANCE.run(
            session,
            {"part": "RESIN", "lot": "L1", "serial": "", "location": "RCV", "qty": Decimal("2.5")},
        )
        assert QUANTITY.first(session, {"part": "RESIN", "location": "RCV"}) == (
            Decimal("2.5"),
            "RCV",
        )
    with plant() as session:
        stored = session.scalars(select(Balance).where(Balance.part == "RESIN")).one()
        assert stored.qty == Decimal("2.5")


def test_a_statement_that_finds_nothing_gives_no_rows(plant: sessionmaker[Session]) -> None:
    with unit_of_work(plant) as session:
        assert QUANTITY.run(session, {"part": "RESIN", "location": "NOWHERE"}) == []
        assert QUANTITY.first(session, {"part": "RESIN", "location": "NOWHERE"}) is None


def test_a_failed_statement_raises_as_sqlalchemy_would(plant: sessionmaker[Session]) -> None:
    row = {"part": "BOLT", "lot": "", "serial": "", "location": "RCV", "qty": 1}
    with pytest.raises(IntegrityError), unit_of_work(plant) as session:
        ADD_BALANCE.run(session, row)
        ADD_BALANCE.run(session, row)
    with plant() as session:
        assert session.scalars(select(Balance)).all() == []


def test_a_value_left_out_is_refused_before_the_database_sees_it(
    plant: sessionmaker[Session],
) -> None:
    with pytest.raises(InvalidRequestError, match="location"), unit_of_work(plant) as session:
        QUANTITY.run(session, {"part": "RESIN"})


def test_find_answers_what_session_get_answers(plant: sessionmaker[Session]) -> None:
    with unit_of_work(plant) as session:
        part = find(session, Part, "BOLT")
        assert part is session.get(Part, "BOLT")
        assert part is not None and part.tracking == "none"
        assert find(session, Part, "BOLT") is part
        assert find(session, Part, "NO-SUCH-PART") is None
        assert not session.dirty and not session.new
        part.description = "Hex bolt M6, zinc"
    with plant() as session:
        changed = find(session, Part, "BOLT")
        assert changed is not None and changed.description == "Hex bolt M6, zinc"


def test_find_sees_an_object_added_but_not_yet_flushed(plant: sessionmaker[Session]) -> None:
    with unit_of_work(plant) as session:
        dock = Location(code="DOCK-2", name="Second dock", kind="receiving")
        session.add(dock)
        assert find(session, Location, "DOCK-2") is dock


def test_find_reads_an_expired_object_again(plant: sessionmaker[Session]) -> None:
    with unit_of_work(plant) as session:
        part = find(session, Part, "BOLT")
        assert part is not None
        session.expire(part)
        assert find(session, Part, "BOLT") is part
        assert part.number == "BOLT"


def test_a_row_found_first_thing_in_a_new_process_is_whole(tmp_path: Path) -> None:
    # An object made without a query needs the mappers configured, as a query would have.
    database = tmp_path / "device.db"
    script = f"""
from scanner.db import open_database, unit_of_work
from scanner.models import Part
from scanner.row_by_key import find
from scanner.workspace import sqlite_url
from sqlalchemy import insert
from pathlib import Path
sessions = open_database(sqlite_url(Path({str(database)!r})))
with sessions.kw["bind"].begin() as connection:
    connection.execute(insert(Part.__table__).values(
        number="P-1", description="A part", tracking="none", backflush=False, uom="ea"))
with unit_of_work(sessions) as session:
    part = find(session, Part, "P-1")
    print(part.number, part.tracking, part.uom, part in session)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["P-1", "none", "ea", "True"]


def test_a_recorded_movement_is_held_by_the_session_and_changes_flush(
    plant: sessionmaker[Session],
) -> None:
    with unit_of_work(plant) as session:
        movement = Ledger(session).receive("BOLT", 5, "RCV")
        assert movement in session and not session.dirty
        assert find(session, Movement, movement.id) is movement
        movement.outcome = "checked"
    with plant() as session:
        stored = session.get(Movement, movement.id)
        assert stored is not None and stored.outcome == "checked"
        assert (stored.qty, stored.to_location, stored.device_seq) == (Decimal(5), "RCV", 1)
        assert isinstance(stored.id, uuid.UUID)
        assert stored.happened_at.replace(tzinfo=UTC) <= datetime.now(UTC)
