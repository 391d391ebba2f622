"""Contestants run by the queue's workers (arena/queue): when dispatched, how many attempts, and their history;
the ratings fitted from the running totals, kept for every process (totals_fits).

Revision ID: 0006
Revises: 0005

Columns are added in place (ALTER TABLE ADD COLUMN, not SQLite's batch mode): recreating `contestants` would drop the
running totals' triggers (0005).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contestants", sa.Column("dispatched_at", sa.DateTime(), nullable=True))
    op.add_column("contestants", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("contestants", sa.Column("history", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "totals_fits",
        sa.Column("fit", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("fit"),
    )


def downgrade() -> None:
    op.drop_table("totals_fits")
    for column in ("history", "attempts", "dispatched_at"):
        op.execute(f"ALTER TABLE contestants DROP COLUMN {column}")
