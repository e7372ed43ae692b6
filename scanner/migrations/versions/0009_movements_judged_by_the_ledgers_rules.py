"""movements judged by the ledger's rules at the store

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-12 12:00:00

- `sync_exceptions.code` takes `RULE_VIOLATION` (a pushed movement that breaks a rule of the
  ledger whatever the store holds: rejected) and `TRACKING_MISMATCH` (its lot or serial does
  not fit its part's tracking as the store has it: held), docs/architecture.md,
  "Exception codes".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As migration 0007 left them; written out, as a migration must not change with the models.
OLD_CODES = (
    "code IN ('NEGATIVE_BALANCE', 'STALE_SOURCE', 'SERIAL_CONFLICT', "
    "'SERIAL_DUPLICATE_RECEIPT', 'UNKNOWN_REFERENCE', 'IDEMPOTENCY_CONFLICT', "
    "'CLOCK_SKEW', 'DOUBLE_REVERSAL', 'JOB_CLOSED', 'LINE_CLOSED', 'TOO_MANY_EXCEPTIONS')"
)
NEW_CODES = OLD_CODES.removesuffix(")") + ", 'RULE_VIOLATION', 'TRACKING_MISMATCH')"
CHECK = "ck_sync_exceptions_code_valid"


def upgrade() -> None:
    _replace_check("sync_exceptions", CHECK, OLD_CODES, NEW_CODES)


def downgrade() -> None:
    _replace_check("sync_exceptions", CHECK, NEW_CODES, OLD_CODES)


def _replace_check(table: str, name: str, old: str, new: str) -> None:
    """Replaces a check constraint, as migration 0006 does (on SQLite, the table's recorded
    definition edited in place, which every stored row already satisfies)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, sa.text(new))
        return
    definition = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    if old not in definition:
        raise RuntimeError(f"the {table} table has no check {old!r} to replace")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        (definition.replace(old, new), table),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA quick_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the {table} table failed its check: {problems}")
