"""A push's clean rows sent to PostgreSQL while the push goes on judging (docs/architecture.md,
"Push, exactly once").

A movement that applies clean (`sync.central.batch`) is three rows, its ledger row, its
entry and its change, which nothing in the operation changes again. The database's share
of writing them (their indexes, the foreign keys' checks) happens in the server's process,
on the other core, while the service waits; and it used to happen at the end of the push,
after all of the judging. Here they go as they come, a hundred movements at a time, one
INSERT a table from one array a column, in psycopg's pipeline mode: sent without waiting
for the answer, so the server takes in one share while the service judges the next. The
rows stay in the operation's pending records too, for what the rest of the batch looks up;
`Pending.write` leaves out what went this way, and the changes never join the change log's
own rows.

Nothing is committed unseen: before any other statement on the push's connection (a
movement judged alone reads the store), before the operation writes the rest, and before it
commits, the push waits for the server's answers, and a row the server refused fails the
push with the server's own error, as if the push had written it then (text PostgreSQL
cannot hold is a DataError, which the service answers 422). A rollback takes the rows sent
with it.

Measured and left: the same rows by COPY from a thread of the push's own. The thread
needed Python's lock for every row it formatted and after every wait on the socket, and
got it only when the judging gave it up (every 5 ms): it wrote a share in 40 ms, and
pushes took longer than before. COPY cannot be pipelined, and psycopg writes arrays of text
about twenty times slower than in binary, hence `%b`. On SQLite, whose work is done in the
service's own process, a thread inserting each share in one call without Python's lock
(`INSERT ... SELECT FROM json_each(?)`) took 1.17-1.31 of the time in paired runs, and 1.00
with a 0.2 ms switch interval: the JSON cost the push what the thread saved it, so there a
push's rows are written when it finishes, as before.
"""

from __future__ import annotations

import re
from contextlib import ExitStack, suppress
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import Connection, Dialect, Table, event
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from sync.central.bulk_sql import converted, reported

Rows = list[tuple[Any, ...]]
Target = tuple[Table, tuple[str, ...]]

SHARE = 100
"""Clean movements gathered before their rows are sent: enough that each statement's own
cost stays small beside its rows, few enough that the server starts early. Shares of 25 and
50 made no measurable difference."""


class WriteBehind:
    """The clean rows of one push, sent while the push judges the rest (see the module).
    `add` takes a clean movement's rows; `flush` sends what is left and waits for the
    server, and must be called before the operation writes anything else."""

    def __init__(self, session: Session, targets: tuple[Target, Target, Target]) -> None:
        connection = session.connection()
        self._connection: Connection | None = connection
        self._raw: psycopg.Connection[Any] = connection.connection.dbapi_connection  # type: ignore[assignment]
        self._dialect = connection.dialect
        self._targets = [
            (table, names, _insert_unnest(table, names, self._dialect)) for table, names in targets
        ]
        self._waiting: tuple[Rows, Rows, Rows] = ([], [], [])
        self._sent: ExitStack | None = None
        self._cursor: psycopg.Cursor[Any] | None = None
        event.listen(connection, "before_cursor_execute", self._before_statement)
        event.listen(connection, "rollback", self._before_rollback)

    @staticmethod
    def available(session: Session) -> bool:
        """Whether the push's database is one where writing behind gains (PostgreSQL)."""
        return session.get_bind().dialect.name == "postgresql"

    def add(
        self, movement: tuple[Any, ...], entry: tuple[Any, ...], change: tuple[Any, ...]
    ) -> None:
        """A clean movement's ledger row, entry and change, as `write_rows` takes them."""
        movements, entries, changes = self._waiting
        movements.append(movement)
        entries.append(entry)
        changes.append(change)
        if len(movements) >= SHARE:
            self._send()

    def flush(self) -> None:
        """Sends what is left and waits for the server: afterwards every row `add` took is
        in the transaction. Raises what the server answered to any of them."""
        if self._waiting[0]:
            self._send()
        self.wait()

    def close(self) -> None:
        """`flush`, and the connection is no longer watched."""
        self.flush()
        if self._connection is not None:
            event.remove(self._connection, "before_cursor_execute", self._before_statement)
            event.remove(self._connection, "rollback", self._before_rollback)
            self._connection = None

    def wait(self) -> None:
        """Returns once the server has taken every row sent; raises what it answered."""
        sent, self._sent, self._cursor = self._sent, None, None
        if sent is None:
            return
        try:
            sent.close()
        except psycopg.Error as error:
            raise self._failed(error) from error

    # ---- inside ---------------------------------------------------------------------------

    def _before_statement(self, *_args: Any) -> None:
        self.wait()

    def _before_rollback(self, *_args: Any) -> None:
        """The transaction is being rolled back (the push failed): what was sent goes with
        it, and the connection leaves pipeline mode for the rollback."""
        self._abandon()

    def _abandon(self) -> None:
        sent, self._sent, self._cursor = self._sent, None, None
        if sent is not None:
            with suppress(psycopg.Error):  # the error that ends the push was raised already
                sent.close()

    def _failed(self, error: psycopg.Error) -> StatementError:
        return reported(_STATEMENT, error, self._dialect)

    def _send(self) -> None:
        """Sends the rows gathered, one statement a table, without waiting for the server
        (psycopg's pipeline mode, left at the next `wait`)."""
        share, self._waiting = self._waiting, ([], [], [])
        if self._sent is None or self._cursor is None:
            self._sent = ExitStack()
            self._sent.enter_context(self._raw.pipeline())
            self._cursor = self._sent.enter_context(self._raw.cursor())
        # The ledger rows first: an entry and a change are about a movement already there.
        try:
            for (table, names, statement), rows in zip(self._targets, share, strict=True):
                columns = [
                    list(values)
                    for values in zip(*converted(table, names, self._dialect, rows), strict=True)
                ]
                self._cursor.execute(statement, columns)
        except psycopg.Error as error:  # an answer to a share sent before came back failed
            self._abandon()
            raise self._failed(error) from error


_UNSIZED = re.compile(r"\(\d+\)")
_STATEMENT = "INSERT ... SELECT FROM unnest(...): the rows a push wrote behind its judging"


@cache
def _insert_unnest(table: Table, names: tuple[str, ...], dialect: Dialect) -> str:
    """An INSERT of many rows from one array per column (in binary), each cast to its
    column's type without a length: the INSERT checks the length once, as it stores."""
    arrays = ", ".join(
        f"%b::{_UNSIZED.sub('', table.c[name].type.compile(dialect=dialect))}[]" for name in names
    )
    return f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"
