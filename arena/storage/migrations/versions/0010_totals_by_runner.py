"""Running totals by runner: every stored arena marked for one more fold, so its outcomes count per runner too.

Revision ID: 0010
Revises: 0009

A contestant's runner (mini-swe-agent, claude-code, ...) is part of its agent's name (arena/identity.py), and
leaderboards rate runners as they rate models and strategies (arena/analytics/totals.py keeps `totals_pairs` and
`totals_players` per `by`). Totals folded before this revision have no `by = 'runner'` rows, and a fold moves the
sums by (new contribution - stored contribution), which would leave them out for good. So the totals are emptied
and every stored arena marked: the next leaderboard folds them all again, the same one-time fold as after 0005.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


TOTALS = (
    "totals_arena_agents",
    "totals_arena_pairs",
    "totals_agents",
    "totals_exits",
    "totals_pairs",
    "totals_players",
)


def upgrade() -> None:
    for table in TOTALS:
        op.execute(f"DELETE FROM {table}")
    op.execute(
        "INSERT INTO totals_dirty (arena_id, seq) SELECT arena_id, 1 FROM (SELECT arena_id FROM contestants "
        "UNION SELECT arena_id FROM reputation_events WHERE arena_id IS NOT NULL) AS stored "
        "WHERE true ON CONFLICT (arena_id) DO UPDATE SET seq = totals_dirty.seq + 1"
    )


def downgrade() -> None:
    op.execute("DELETE FROM totals_pairs WHERE by = 'runner'")
    op.execute("DELETE FROM totals_players WHERE by = 'runner'")
