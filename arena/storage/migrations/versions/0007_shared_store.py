"""The shared store: artifacts (patches, trajectory info, setup logs) and trajectory steps in the database.

Revision ID: 0007
Revises: 0006

A worker's disk is invisible to the app and to the other workers: what they need of a run is kept here
(arena/artifacts.py reads it, and falls back to the files of arenas run before this revision).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("arena_id", sa.String(length=32), nullable=False),
        sa.Column("contestant", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("arena_id", "contestant", "name"),
    )
    op.create_table(
        "trajectory_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("arena_id", sa.String(length=32), nullable=False),
        sa.Column("contestant", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("arena_id", "contestant", "attempt", "seq", name="uq_trajectory_steps"),
    )


def downgrade() -> None:
    op.drop_table("trajectory_steps")
    op.drop_table("artifacts")
