"""who revoked a device

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-27 12:00:00

- `sync_devices.revoked_by`: who revoked the device (a supervisor's device, the console's
  operator, or the central machine's user), as the device list and the console show it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place, as migration 0007 adds its columns (SQLite would copy the table otherwise).
    op.execute("ALTER TABLE sync_devices ADD COLUMN revoked_by VARCHAR(80)")


def downgrade() -> None:
    with op.batch_alter_table("sync_devices") as batch:
        batch.drop_column("revoked_by")
