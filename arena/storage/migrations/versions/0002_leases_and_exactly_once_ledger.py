"""Leases on arenas; the ledger's exactly-once rules as unique indexes; outcomes tagged with their verdict.

Revision ID: 0002
Revises: 0001

Databases written before this revision may hold the duplicates the indexes forbid (concurrent
launches granted an agent its starting credit more than once; two processes could release one
escrow twice). Those duplicates were minted by a bug, not earned: the earliest row is kept and the
later copies are deleted, so balances read what they always should have.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UNIQUE = {
    "uq_events_grant": (["agent"], "kind = 'grant'"),
    "uq_events_escrow": (["arena_id", "contestant"], "kind = 'escrow'"),
    "uq_events_release": (["arena_id", "contestant"], "kind IN ('refund', 'forfeit') AND contestant IS NOT NULL"),
    "uq_events_place": (["arena_id", "contestant", "verdict_id"], "kind = 'place'"),
    "uq_events_outcome": (["arena_id", "kind"], "kind IN ('merged', 'reverted', 'reward', 'redeemed', 'penalty')"),
}


def upgrade() -> None:
    with op.batch_alter_table("arenas") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch.create_index("ix_arenas_lease_until", ["lease_until"])
    with op.batch_alter_table("reputation_events") as batch:
        batch.add_column(sa.Column("verdict_id", sa.Integer(), nullable=True))
    # Outcomes written before were those of each arena's first successful verdict.
    op.execute(
        "UPDATE reputation_events SET verdict_id = (SELECT MIN(v.id) FROM verdicts v WHERE v.arena_id = "
        "reputation_events.arena_id AND v.error IS NULL) WHERE kind IN ('place', 'pairwise')"
    )
    for columns, where in UNIQUE.values():
        keys = ", ".join(columns)
        op.execute(
            f"DELETE FROM reputation_events WHERE {where} AND id NOT IN "
            f"(SELECT MIN(id) FROM reputation_events WHERE {where} GROUP BY {keys})"
        )
    for name, (columns, where) in UNIQUE.items():
        op.create_index(
            name,
            "reputation_events",
            columns,
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name in UNIQUE:
        op.drop_index(name, "reputation_events")
    with op.batch_alter_table("reputation_events") as batch:
        batch.drop_column("verdict_id")
    with op.batch_alter_table("arenas") as batch:
        batch.drop_index("ix_arenas_lease_until")
        batch.drop_column("lease_until")
