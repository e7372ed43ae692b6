"""The store's tables analyzed on a PostgreSQL server whose autovacuum is off
(docs/architecture.md, "Measured fast paths").

psycopg prepares a statement it has run five times, and PostgreSQL may then keep one plan
for any values, made for the tables as they were when it chose. A store whose first pushes
met empty tables chose to read a push's ids by sequential scans, and kept doing so when
`sync_entries` and `movements` held 200,000 rows: about a second a push. What renews such a
plan is a new ANALYZE of the table, which autovacuum runs when a tenth of a table has
changed. With autovacuum off (this project's own benchmark machines have it off), nothing
did. So the service, finding it off, runs ANALYZE itself by autovacuum's own rule: a table
of the store's schema is analyzed once more than 50 rows plus a tenth of its rows changed
since its last analysis. The service says so when it starts (`NOTICE`), since a server
without autovacuum also never reclaims dead rows, which the store cannot do for it.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from sync.central.upkeep import Upkeep

EVERY = 2.0
"""Seconds between two looks at what changed: a backlog of 50,000 movements arrives in
under ten seconds."""

NOTICE = (
    "autovacuum is off on this PostgreSQL server: the central store analyzes its own tables"
    " so that its queries keep fitting plans, but nothing reclaims the space of updated and"
    " deleted rows; turn autovacuum on"
)

_DUE = text(
    """
    SELECT format('ANALYZE %I.%I', s.schemaname, s.relname)
    FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid
    WHERE s.schemaname = current_schema()
      AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
    ORDER BY s.relname
    """
)


class Analyzer(Upkeep):
    """Runs ANALYZE on the store's changed tables from a thread of its own, until `stop`,
    when the server's autovacuum is off (or `always`)."""

    name = "analysis"

    def __init__(self, engine: Engine, every: float = EVERY, *, always: bool = False) -> None:
        super().__init__(engine, every)
        self.always = always
        self.analyzed: list[str] = []
        """The ANALYZE statements run so far (for tests)."""

    def _needed(self) -> bool:
        with self.engine.connect() as connection:
            autovacuum = connection.execute(text("SHOW autovacuum")).scalar()
        if autovacuum != "on":
            self.notice = NOTICE
        return autovacuum != "on" or self.always

    def _step(self) -> None:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for (statement,) in connection.execute(_DUE).all():
                connection.exec_driver_sql(statement)
                self.analyzed.append(statement)
