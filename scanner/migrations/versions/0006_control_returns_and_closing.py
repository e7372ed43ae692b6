"""control: returns, closed order lines, a job's own location, and status changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:00:00

- `movements.kind` takes `return`: goods a customer sends back, or that go back to a
  supplier, with their lot or serial kept; two small covering indexes of the returns alone
  let a recall look for the returns of thousands of lots and serials by a probe each of an
  index that holds only returns (as migration 0005 does for shipments).
- `sync_exceptions.code` takes `JOB_CLOSED` and `LINE_CLOSED`: work the store recorded on a
  job or an order line after it was closed.
- `purchase_order_lines.status` and `sales_order_lines.status`: a line is open until it is
  closed (filled, or short-closed); every line there was stays open.
- `jobs.location`: where the job's work happens, where completion takes its backflush parts
  from first; none for every job there was (the site's production location).
- `status_changes`: who closed or reopened a job or an order line, when and why, on which
  device; a handheld's wait in it for the next push.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As scanner.models has them; written out, as a migration must not change with the models.
OLD_KINDS = "kind IN ('receive', 'issue', 'produce', 'ship', 'move', 'adjust', 'reverse')"
NEW_KINDS = "kind IN ('receive', 'issue', 'produce', 'ship', 'move', 'adjust', 'reverse', 'return')"
OLD_CODES = (
    "code IN ('NEGATIVE_BALANCE', 'STALE_SOURCE', 'SERIAL_CONFLICT', "
    "'SERIAL_DUPLICATE_RECEIPT', 'UNKNOWN_REFERENCE', 'IDEMPOTENCY_CONFLICT', "
    "'CLOCK_SKEW', 'DOUBLE_REVERSAL')"
)
NEW_CODES = OLD_CODES.removesuffix(")") + ", 'JOB_CLOSED', 'LINE_CLOSED')"
LINE_STATUS = "status IN ('open', 'closed')"
LINE_TABLES = ("purchase_order_lines", "sales_order_lines")
RETURN_INDEXES = {
    "ix_movements_returned_lot": (
        ["part", "lot", "kind", "serial", "so", "po", "to_location", "qty", "id"],
        "kind = 'return'",
    ),
    "ix_movements_returned_serial": (
        ["part", "serial", "kind", "lot", "so", "po", "to_location", "qty", "id"],
        "kind = 'return' AND serial IS NOT NULL",
    ),
}


def upgrade() -> None:
    _replace_check("movements", "ck_movements_kind_valid", OLD_KINDS, NEW_KINDS)
    for name, (columns, where) in RETURN_INDEXES.items():
        op.create_index(
            name,
            "movements",
            columns,
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    _replace_check("sync_exceptions", "ck_sync_exceptions_code_valid", OLD_CODES, NEW_CODES)
    for table in LINE_TABLES:
        _add_column(
            table,
            f"status VARCHAR(10) DEFAULT 'open' NOT NULL"
            f" CONSTRAINT ck_{table}_status_valid CHECK ({LINE_STATUS})",
        )
    _add_column(
        "jobs",
        "location VARCHAR(40) CONSTRAINT fk_jobs_location_locations REFERENCES locations (code)",
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("operator", sa.String(length=40), nullable=True),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "subject IN ('job', 'po_line', 'so_line')",
            name=op.f("ck_status_changes_subject_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_changes")),
    )
    op.create_index(
        "ix_status_changes_subject",
        "status_changes",
        ["subject", "key", "happened_at"],
        unique=False,
    )
    op.create_index(
        "ix_status_changes_outbox",
        "status_changes",
        ["happened_at"],
        unique=False,
        sqlite_where=sa.text("sync_state = 'pending'"),
        postgresql_where=sa.text("sync_state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_status_changes_outbox", table_name="status_changes")
    op.drop_index("ix_status_changes_subject", table_name="status_changes")
    op.drop_table("status_changes")
    # On SQLite, dropping a column copies its table (`batch_alter_table`), which leaves out
    # a foreign key declared with the column by itself.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("jobs") as batch:
        if not sqlite:
            batch.drop_constraint(op.f("fk_jobs_location_locations"), type_="foreignkey")
        batch.drop_column("location")
    for table in LINE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_status_valid"), type_="check")
            batch.drop_column("status")
    _replace_check("sync_exceptions", "ck_sync_exceptions_code_valid", NEW_CODES, OLD_CODES)
    for name in reversed(RETURN_INDEXES):
        op.drop_index(name, table_name="movements")
    _replace_check("movements", "ck_movements_kind_valid", NEW_KINDS, OLD_KINDS)


def _add_column(table: str, definition: str) -> None:
    """Adds a column with its constraint, in place: on SQLite, `batch_alter_table` would
    copy the table and drop the old one, which the movements naming its rows forbid."""
    op.execute(f"ALTER TABLE {table} ADD COLUMN {definition}")


def _replace_check(table: str, name: str, old: str, new: str) -> None:
    """Replaces a check constraint. On SQLite, which cannot alter a constraint, the table's
    recorded definition is edited in place, as SQLite's documentation describes for a change
    every stored row already satisfies (`ALTER TABLE`, "making other kinds of table schema
    changes"): copying the table instead would take as long as the ledger is big, on a
    handheld's first start after an upgrade or on a central store."""
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
