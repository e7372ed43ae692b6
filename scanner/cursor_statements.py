"""The statements every scan runs, on the driver's own cursor.

A scan runs a handful of one-row statements (its settings, the movement's INSERT, a balance's
upsert) and commits before the next prompt. Through `Session.execute` each of them costs
SQLAlchemy's bookkeeping for a general statement (cache key, parameter objects, a result
object, events), several times what SQLite spends running it. A `Prepared` statement is
compiled once per database by SQLAlchemy, so it is written in the words of each database
(SQLite, PostgreSQL), and its values go through the columns' own types (quantities as
thousandths, UUIDs and times as SQLite keeps them) as SQLAlchemy would send them; it then
runs on the cursor of the session's connection, in the session's transaction. A failure is
raised as SQLAlchemy would raise it (`sqlalchemy.exc.IntegrityError`, ...).

It does not flush the session first, as a Core statement through `Session.execute` does not:
a caller that may have pending objects flushes. Engine events (`before_cursor_execute`) do
not see these statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, ReturnsRows

from scanner.db import DRIVER_TRANSACTION

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    """A statement as one database takes it: its text, and how to make its values."""

    sql: str
    names: tuple[str, ...] | None
    """The parameters' names in the text, for a driver that takes them by name; None for one
    that takes them by position (in the order of `slots`, a name repeated where it is)."""
    slots: tuple[tuple[str, bool, Any], ...]
    """Each parameter's name as the caller gives it, whether the caller must, and its value
    when the caller does not (a value written into the statement)."""
    to_db: tuple[tuple[int, Convert], ...]
    """How the driver takes the values that need converting, by their place in `slots`."""
    from_db: tuple[tuple[int, Convert], ...]
    """How the columns of the rows that need converting are read, by their place."""

    def parameters(self, params: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        try:
            values = [
                params[key] if required else params.get(key, default)
                for key, required, default in self.slots
            ]
        except KeyError as missing:
            raise InvalidRequestError(f"A value is required for parameter {missing}") from None
        for index, convert in self.to_db:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        if self.names is None:
            return values
        return dict(zip(self.names, values, strict=True))

    def row(self, found: Sequence[Any]) -> tuple[Any, ...]:
        values = list(found)
        for index, convert in self.from_db:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        return tuple(values)


class Prepared:
    """One Core statement, run on the session's connection with the driver's cursor."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[tuple[str, str], _Compiled] = {}

    def run(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Runs the statement with `params`; returns the rows it gives (none for most
        INSERTs, UPDATEs and DELETEs)."""
        connection = _connection(session)
        dialect = connection.dialect
        compiled = self._compiled(dialect)
        parameters = compiled.parameters(params)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
            # Rows as the driver gives them: tuples, for both SQLite's and psycopg's cursors.
            found: list[tuple[Any, ...]] = list(cursor.fetchall()) if cursor.description else []
        except dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                compiled.sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        finally:
            cursor.close()
        if compiled.from_db:
            return [compiled.row(each) for each in found]
        return found

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row the statement gives, or None."""
        found = self.run(session, params)
        return found[0] if found else None

    def _compiled(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        known = self._by_dialect.get(key)
        if known is None:
            known = self._by_dialect[key] = _compile(self.statement, dialect)
        return known


_CONNECTION = "lotscan.prepared.connection"


def _connection(session: Session) -> Connection:
    """`session.connection()`, remembered for the rest of the transaction: a scan runs
    several statements, and asking the session each time cost more than SQLite's work. In
    a transaction run on the driver (`scanner.db.driver_transaction`), its connection: the
    session then begins no transaction of its own until it flushes or queries."""
    own: Connection | None = session.info.get(DRIVER_TRANSACTION)
    if own is not None:
        return own
    transaction = session.get_transaction()
    held = session.info.get(_CONNECTION)
    active = transaction is not None and transaction.is_active
    if active and held is not None and held[0] is transaction:
        connection: Connection = held[1]
        return connection
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("A prepared statement takes each value in a parameter of its own")
    if any(bind.callable for bind in compiled.bind_names):
        raise ValueError("A prepared statement takes no value computed at each run")
    binds = {
        compiled.escaped_bind_names.get(name, name): bind
        for bind, name in compiled.bind_names.items()
    }
    order = list(compiled.positiontup or ()) if compiled.positional else list(binds)
    slots = tuple((binds[name].key, binds[name].required, binds[name].value) for name in order)
    to_db = tuple(
        (index, convert)
        for index, name in enumerate(order)
        if (convert := binds[name].type.dialect_impl(dialect).bind_processor(dialect))
    )
    columns = statement.exported_columns if isinstance(statement, ReturnsRows) else ()
    from_db = tuple(
        (index, convert)
        for index, column in enumerate(columns)
        if (convert := column.type.dialect_impl(dialect).result_processor(dialect, None))
    )
    return _Compiled(
        sql=compiled.string,
        names=None if compiled.positional else tuple(order),
        slots=slots,
        to_db=to_db,
        from_db=from_db,
    )
