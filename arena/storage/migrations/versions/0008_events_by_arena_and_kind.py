"""An index on the ledger's (arena_id, kind): one arena's pairwise events without walking every pairwise event.

Revision ID: 0008
Revises: 0007

Folding one arena into the running totals (arena/analytics/totals.py) asks for its `pairwise`, `place` and
`reverted` events. With an index on each column alone, SQLite picked the `kind` one and read all 4 M pairwise events
of a million-run ledger to find one arena's 19,900: 30 s for the first leaderboard after a 200-contestant arena.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_arena_kind", "reputation_events", ["arena_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_events_arena_kind", "reputation_events")
