"""Publications: an arena's pushed candidate branches and its one pull request on GitHub (arena/publish).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("arena_id", sa.String(length=32), nullable=False),
        sa.Column("repo", sa.String(length=256), nullable=False),
        sa.Column("issue", sa.Integer(), nullable=True),
        sa.Column("branches", sa.JSON(), nullable=False),
        sa.Column("head_contestant", sa.String(length=64), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("pr_url", sa.Text(), nullable=True),
        sa.Column("pr_state", sa.String(length=16), nullable=True),
        sa.Column("pr_draft", sa.Boolean(), nullable=False),
        sa.Column("pr_merged", sa.Boolean(), nullable=False),
        sa.Column("merge_commit", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["arena_id"], ["arenas.id"]),
        sa.PrimaryKeyConstraint("arena_id"),
    )


def downgrade() -> None:
    op.drop_table("publications")
