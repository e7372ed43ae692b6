"""replay: where a transcript's replay got to, kept with each of its scans

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20 12:00:00

- `replay_places`: one row per transcript being replayed (its absolute path), written in
  each scan's transaction with the line, a digest of the inputs up to it and the handheld's
  state, and deleted when the replay ends: `lotscan replay` killed or stopped midway resumes
  after the last line that committed, as if it had never stopped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replay_places",
        sa.Column("transcript", sa.String(length=1000), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("transcript", name=op.f("pk_replay_places")),
    )


def downgrade() -> None:
    op.drop_table("replay_places")
