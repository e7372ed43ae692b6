"""enrollment: a role changes when its code is redeemed; exceptions: summaries of a flood

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 12:00:00

- `sync_enrollment_codes.role`: the role a code was issued for, given to the device only
  when the code is redeemed (issuing a code used to change the device's role at once).
  A code still unused takes the role its device has now, which is what it would have given.
- `sync_enrollment_codes.issued_by`: who asked for the code.
- `sync_device_roles`: every change of a device's role, with who made it, when and how.
- `sync_exceptions.summary_id`: an exception opened past its device's cap per minute is
  grouped under one summary exception (code `TOO_MANY_EXCEPTIONS`, which the code check
  now takes), so a flood from one device is one line in the supervisors' list; indexed with
  what the cap counts (a device's exceptions by when they were opened).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As sync.central.models has them; written out, as a migration must not change with the models.
ROLES = "role IN ('handheld', 'supervisor')"
OLD_CODES = (
    "code IN ('NEGATIVE_BALANCE', 'STALE_SOURCE', 'SERIAL_CONFLICT', "
    "'SERIAL_DUPLICATE_RECEIPT', 'UNKNOWN_REFERENCE', 'IDEMPOTENCY_CONFLICT', "
    "'CLOCK_SKEW', 'DOUBLE_REVERSAL', 'JOB_CLOSED', 'LINE_CLOSED')"
)
NEW_CODES = OLD_CODES.removesuffix(")") + ", 'TOO_MANY_EXCEPTIONS')"


def upgrade() -> None:
    _add_column(
        "sync_enrollment_codes",
        "role VARCHAR(12) DEFAULT 'handheld' NOT NULL"
        f" CONSTRAINT ck_sync_enrollment_codes_role_valid CHECK ({ROLES})",
    )
    op.execute(
        "UPDATE sync_enrollment_codes SET role ="
        " (SELECT role FROM sync_devices WHERE sync_devices.id = sync_enrollment_codes.device_id)"
    )
    _add_column("sync_enrollment_codes", "issued_by VARCHAR(80)")
    op.create_table(
        "sync_device_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("was", sa.String(length=12), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("how", sa.String(length=200), nullable=False),
        sa.CheckConstraint(ROLES, name=op.f("ck_sync_device_roles_role_valid")),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["sync_devices.id"],
            name=op.f("fk_sync_device_roles_device_id_sync_devices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_device_roles")),
    )
    op.create_index("ix_sync_device_roles_device", "sync_device_roles", ["device_id", "changed_at"])
    _replace_check("sync_exceptions", "ck_sync_exceptions_code_valid", OLD_CODES, NEW_CODES)
    _add_column(
        "sync_exceptions",
        "summary_id INTEGER CONSTRAINT fk_sync_exceptions_summary_id_sync_exceptions"
        " REFERENCES sync_exceptions (id)",
    )
    op.create_index("ix_sync_exceptions_summary", "sync_exceptions", ["summary_id", "id"])
    op.create_index(
        "ix_sync_exceptions_device_opened", "sync_exceptions", ["device_id", "opened_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sync_exceptions_device_opened", table_name="sync_exceptions")
    op.drop_index("ix_sync_exceptions_summary", table_name="sync_exceptions")
    op.execute("DELETE FROM sync_exceptions WHERE code = 'TOO_MANY_EXCEPTIONS'")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("sync_exceptions") as batch:
        if not sqlite:
            batch.drop_constraint(
                op.f("fk_sync_exceptions_summary_id_sync_exceptions"), type_="foreignkey"
            )
        batch.drop_column("summary_id")
    _replace_check("sync_exceptions", "ck_sync_exceptions_code_valid", NEW_CODES, OLD_CODES)
    op.drop_index("ix_sync_device_roles_device", table_name="sync_device_roles")
    op.drop_table("sync_device_roles")
    with op.batch_alter_table("sync_enrollment_codes") as batch:
        batch.drop_column("issued_by")
        batch.drop_constraint(op.f("ck_sync_enrollment_codes_role_valid"), type_="check")
        batch.drop_column("role")


def _add_column(table: str, definition: str) -> None:
    """Adds a column with its constraint, in place (as migration 0006 does): on SQLite,
    `batch_alter_table` would copy the table and drop the old one."""
    op.execute(f"ALTER TABLE {table} ADD COLUMN {definition}")


def _replace_check(table: str, name: str, old: str, new: str) -> None:
    """Replaces a check constraint; on SQLite, by editing the table's recorded definition in
    place, as migration 0006 does and explains."""
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
