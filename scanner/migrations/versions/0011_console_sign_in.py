"""signing in to the office console

Revision ID: 0011
Revises: 0010
Create Date: 2027-02-03 12:00:00

docs/architecture.md, "Office console":

- `operators.password_hash`: a supervisor's or quality staff's console password, as an
  Argon2id hash (`lotscan operators password BADGE`); never synced.
- `console_sessions`: a browser signed in, by the SHA-256 of its cookie's token.
- `console_sign_ins`: every try at signing in, with what became of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, as a migration must not change with the models.
REASONS = (
    "reason IN ('signed_in', 'unknown_badge', 'no_password', 'wrong_password', "
    "'not_console_role', 'throttled', 'locked')"
)


def upgrade() -> None:
    # In place on SQLite too (as migration 0007 does): a nullable column needs no copy.
    op.execute("ALTER TABLE operators ADD COLUMN password_hash VARCHAR(200)")
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("badge", sa.String(length=40), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("address", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["badge"], ["operators.badge"], name=op.f("fk_console_sessions_badge_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_badge", "console_sessions", ["badge"])
    op.create_table(
        "console_sign_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("badge", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.CheckConstraint(REASONS, name=op.f("ck_console_sign_ins_reason_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sign_ins")),
    )
    op.create_index("ix_console_sign_ins_badge", "console_sign_ins", ["badge", "at"])


def downgrade() -> None:
    op.drop_index("ix_console_sign_ins_badge", table_name="console_sign_ins")
    op.drop_table("console_sign_ins")
    op.drop_index("ix_console_sessions_badge", table_name="console_sessions")
    op.drop_table("console_sessions")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("password_hash")
