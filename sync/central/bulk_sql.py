"""Statements over many rows at once, in each database's quickest form: the central store
takes hundreds of movements per push, and SQLAlchemy's per-row and per-value bookkeeping for
an executemany or a long IN list cost more than the database's own work.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import (
    ColumnElement,
    Dialect,
    Select,
    Table,
    Text,
    Uuid,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values` with all the values in one bound parameter: an array on
    PostgreSQL, a JSON list on SQLite (read with json_each), so five hundred ids cost one
    parameter, not five hundred."""
    return among_each(session, [column], values)[0]


def among_each(
    session: Session, columns: list[Any], values: Iterable[Any]
) -> list[ColumnElement[bool]]:
    """`among` for each of several columns of one type, with the values written once."""
    wanted = list(values)
    kind = columns[0].type
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        if isinstance(kind, Uuid):
            # psycopg writes a list of UUIDs one element at a time in Python; the array as
            # one text costs a quarter of that (a push looks up five hundred ids).
            text = "{" + ",".join(map(uuid_text, wanted)) + "}"
            array = cast(bindparam(None, text, type_=Text), ARRAY(kind))
            unnested: Select[Any] = select(func.unnest(array))
            return [column.in_(unnested) for column in columns]
        bound = bindparam(None, wanted, type_=ARRAY(kind))
        return [column == any_(bound) for column in columns]
    if dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 38):  # JSON built in
        convert = kind.dialect_impl(dialect).bind_processor(dialect)
        items = [convert(value) for value in wanted] if convert else wanted
        listed: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(items)))
        )
        return [column.in_(listed) for column in columns]
    return [column.in_(wanted) for column in columns]


def write_rows(
    session: Session, table: Table, names: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Inserts many rows (values in the order of `names`) the quickest way the database
    has: COPY on PostgreSQL, one executemany of a plain INSERT on SQLite. The values go
    through the columns' types as SQLAlchemy would convert them (quantities to thousandths,
    UUIDs and times as SQLite keeps them), without its per-row bookkeeping, which cost more
    than the database's own work."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    raw: Any = connection.connection.dbapi_connection
    columns = ", ".join(names)
    if isinstance(raw, psycopg.Connection):
        statement = f"COPY {table.name} ({columns}) FROM STDIN"
        try:
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in converted(table, names, dialect, rows):
                    copy.write_row(row)
        except psycopg.Error as error:
            raise reported(statement, error, dialect) from error
    elif dialect.name == "sqlite":
        marks = ", ".join("?" for _ in names)
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({columns}) VALUES ({marks})",
            converted(table, names, dialect, rows),
        )
    else:
        connection.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])


def reported(statement: str, error: psycopg.Error, dialect: Dialect) -> StatementError:
    """A psycopg error as SQLAlchemy reports a failed statement (text PostgreSQL cannot hold
    is a DataError, which the service answers 422), not as the driver's own error."""
    return DBAPIError.instance(statement, None, error, psycopg.Error, dialect=dialect)


def converted(
    table: Table, names: tuple[str, ...], dialect: Dialect, rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The rows with each value as the database driver takes it. A value the same object
    as the one above it (the operation's time, on every row) is converted once."""
    convert = [
        (index, to_db)
        for index, to_db in enumerate(_converters(table, names, dialect))
        if to_db is not None
    ]
    if not convert:
        return rows
    last: dict[int, tuple[Any, Any]] = {}
    quantities: dict[tuple[int, Decimal], Any] = {}
    converted: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for index, to_db in convert:
            value = values[index]
            if value is None:
                continue
            before = last.get(index)
            if before is not None and before[0] is value:
                values[index] = before[1]
            elif type(value) is Decimal:
                # Equal quantities are stored alike (whole thousandths): converted once.
                known = quantities.get((index, value))
                if known is None:
                    known = quantities[(index, value)] = to_db(value)
                values[index] = known
            else:
                values[index] = to_db(value)
                last[index] = (value, values[index])
        converted.append(tuple(values))
    return converted


_CONVERTERS: dict[tuple[Table, tuple[str, ...], str], list[Callable[[Any], Any] | None]] = {}


def _converters(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> list[Callable[[Any], Any] | None]:
    key = (table, names, f"{dialect.name}+{dialect.driver}")
    known = _CONVERTERS.get(key)
    if known is None:
        known = _CONVERTERS[key] = [
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        ]
    return known


def uuid_text(value: uuid.UUID) -> str:
    """A UUID as 32 hex digits, which PostgreSQL reads as a uuid: the quickest way to write
    one (`str` adds the dashes in Python, twice as slow)."""
    return f"{value.int:032x}"
