"""lot and serial status operated by people, and who a shipment's parties are

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-20 12:00:00

docs/architecture.md, "Quality and recall":

- `operators.role` takes `quality` (quality staff hold, release and recall).
- `serials.quality_status`: a serial held or recalled on its own (its lot's status aside).
- `status_changes.subject` takes `lot` and `serial`: holds, releases and recalls are status
  changes, with who, when, why and on which device, and sync both ways.
- `sync_exceptions.code` takes `LOT_NOT_RELEASED` (a movement of a held or recalled lot
  reached the store) and `STATUS_CONFLICT` (a status change reached it after a later one).
- `purchase_orders` and `sales_orders` keep the supplier's and customer's address, phone and
  GLN for the exports (EPCIS, FSMA 204).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As migrations 0001, 0006 and 0009 left them; written out, as a migration must not change
# with the models.
OLD_ROLES = "role IN ('floor', 'supervisor')"
NEW_ROLES = "role IN ('floor', 'supervisor', 'quality')"
OLD_SUBJECTS = "subject IN ('job', 'po_line', 'so_line')"
NEW_SUBJECTS = "subject IN ('job', 'po_line', 'so_line', 'lot', 'serial')"
OLD_CODES = (
    "code IN ('NEGATIVE_BALANCE', 'STALE_SOURCE', 'SERIAL_CONFLICT', "
    "'SERIAL_DUPLICATE_RECEIPT', 'UNKNOWN_REFERENCE', 'IDEMPOTENCY_CONFLICT', "
    "'CLOCK_SKEW', 'DOUBLE_REVERSAL', 'JOB_CLOSED', 'LINE_CLOSED', 'TOO_MANY_EXCEPTIONS', "
    "'RULE_VIOLATION', 'TRACKING_MISMATCH')"
)
NEW_CODES = OLD_CODES.removesuffix(")") + ", 'LOT_NOT_RELEASED', 'STATUS_CONFLICT')"
QUALITY = "quality_status IN ('active', 'hold', 'recalled')"
PARTIES = {
    "purchase_orders": "supplier",
    "sales_orders": "customer",
}


def upgrade() -> None:
    _replace_check("operators", "ck_operators_role_valid", OLD_ROLES, NEW_ROLES)
    _replace_check("status_changes", "ck_status_changes_subject_valid", OLD_SUBJECTS, NEW_SUBJECTS)
    _replace_check("sync_exceptions", "ck_sync_exceptions_code_valid", OLD_CODES, NEW_CODES)
    _add_column(
        "serials",
        "quality_status VARCHAR(10) DEFAULT 'active' NOT NULL"
        f" CONSTRAINT ck_serials_quality_status_valid CHECK ({QUALITY})",
    )
    for table, party in PARTIES.items():
        _add_column(table, f"{party}_address VARCHAR(200)")
        _add_column(table, f"{party}_phone VARCHAR(40)")
        _add_column(table, f"{party}_gln VARCHAR(13)")


def downgrade() -> None:
    for table, party in PARTIES.items():
        with op.batch_alter_table(table) as batch:
            for column in ("gln", "phone", "address"):
                batch.drop_column(f"{party}_{column}")
    with op.batch_alter_table("serials") as batch:
        batch.drop_constraint(op.f("ck_serials_quality_status_valid"), type_="check")
        batch.drop_column("quality_status")
    op.execute("DELETE FROM sync_exceptions WHERE code IN ('LOT_NOT_RELEASED', 'STATUS_CONFLICT')")
    _replace_check("sync_exceptions", "ck_sync_exceptions_code_valid", NEW_CODES, OLD_CODES)
    op.execute("DELETE FROM status_changes WHERE subject IN ('lot', 'serial')")
    _replace_check("status_changes", "ck_status_changes_subject_valid", NEW_SUBJECTS, OLD_SUBJECTS)
    op.execute("UPDATE operators SET role = 'supervisor' WHERE role = 'quality'")
    _replace_check("operators", "ck_operators_role_valid", NEW_ROLES, OLD_ROLES)


def _add_column(table: str, definition: str) -> None:
    """Adds a column with its constraint, in place (as migration 0007 does)."""
    op.execute(f"ALTER TABLE {table} ADD COLUMN {definition}")


def _replace_check(table: str, name: str, old: str, new: str) -> None:
    """Replaces a check constraint, as migration 0009 does (on SQLite, the table's recorded
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
