"""Statements on the driver's cursor (scanner.prepared): the same values, rows and errors as
SQLAlchemy's own way, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.orm import Session, sessionmaker

from scanner.db import unit_of_work
from scanner.models import Balance
from scanner.prepared import Prepared
from tests.plant import add_plant

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
