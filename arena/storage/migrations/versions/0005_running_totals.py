"""Running totals for the rated leaderboards, kept fresh by triggers; arenas remember being settled.

Revision ID: 0005
Revises: 0004

At a million runs, reading every row to draw a leaderboard takes tens of seconds. The totals tables hold what the
rated leaderboards need, summed per agent and per pair of players, and per arena (so an arena's old contribution can
be taken back out). Triggers on the tables of facts mark an arena dirty in the same transaction as any write that
could change its contribution (a contestant's counters, a verdict, an evaluation, a ledger event), so no writer has
to remember to: arena/analytics/totals.py folds the dirty arenas in before it reads. Every arena already stored is
marked dirty here, so the first leaderboard after this upgrade computes the totals once.

SQLite's batch mode recreates a table to alter it and drops its triggers with it: a later migration that batch-alters
contestants, verdicts, evaluations or reputation_events must create them again (`create_triggers`);
tests/test_migrations.py checks they exist at head.

`arenas.settled_at`: recovery (Store.unsettled_arenas) looked at every escrow ever written on every CLI command;
an ended arena found with nothing left to settle is now marked and never looked at again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WATCHED = {
    # table: the columns whose change can change an arena's contribution (None: any)
    "contestants": ("arena_id", "name", "model", "strategy", "exit_status", "steps", "cost"),
    "verdicts": None,
    "evaluations": None,
    "reputation_events": None,
}
MARK = (
    "INSERT INTO totals_dirty (arena_id, seq) VALUES ({row}.arena_id, 1) "
    "ON CONFLICT (arena_id) DO UPDATE SET seq = totals_dirty.seq + 1"
)


def _counters() -> list[sa.Column]:
    return [
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("cost_sum", sa.Float(), nullable=True),
        sa.Column("cost_n", sa.Integer(), nullable=False),
        sa.Column("api_sum", sa.Integer(), nullable=True),
        sa.Column("api_n", sa.Integer(), nullable=False),
        sa.Column("steps_sum", sa.Integer(), nullable=True),
        sa.Column("steps_n", sa.Integer(), nullable=False),
        sa.Column("resolved_true", sa.Integer(), nullable=False),
        sa.Column("resolved_n", sa.Integer(), nullable=False),
        sa.Column("won_n", sa.Integer(), nullable=False),
        sa.Column("won_true", sa.Integer(), nullable=False),
        sa.Column("won_reverted", sa.Integer(), nullable=False),
        sa.Column("won_merged", sa.Integer(), nullable=False),
    ]


def create_triggers() -> None:
    """The triggers that mark arenas dirty (SQLite or PostgreSQL), on every WATCHED table."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE OR REPLACE FUNCTION totals_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                IF OLD.arena_id IS NOT NULL THEN {MARK.format(row="OLD")}; END IF;
              ELSE
                IF NEW.arena_id IS NOT NULL THEN {MARK.format(row="NEW")}; END IF;
                IF TG_OP = 'UPDATE' THEN
                  IF OLD.arena_id IS DISTINCT FROM NEW.arena_id AND OLD.arena_id IS NOT NULL THEN
                    {MARK.format(row="OLD")};
                  END IF;
                END IF;
              END IF;
              RETURN NULL;
            END $$"""
        )
        for table, columns in WATCHED.items():
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            op.execute(
                f"CREATE TRIGGER totals_dirty_{table} AFTER INSERT OR {update} OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION totals_mark_dirty()"
            )
        return
    for table, columns in WATCHED.items():
        update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
        for event, rows in (("INSERT", ["NEW"]), (update, ["NEW", "OLD"]), ("DELETE", ["OLD"])):
            name = f"totals_dirty_{table}_{event.split()[0].lower()}"
            guard = " OR ".join(f"{row}.arena_id IS NOT NULL" for row in rows)
            # INSERT ... SELECT ... WHERE: the WHERE keeps SQLite from reading ON CONFLICT as part of a join (its
            # documented upsert parsing ambiguity), and skips a row without an arena (an agent's grant)
            marks = " ".join(
                f"INSERT INTO totals_dirty (arena_id, seq) SELECT {row}.arena_id, 1 WHERE {row}.arena_id IS NOT NULL"
                f"{' AND OLD.arena_id IS NOT NEW.arena_id' if row == 'OLD' and len(rows) == 2 else ''} "
                "ON CONFLICT (arena_id) DO UPDATE SET seq = totals_dirty.seq + 1;"
                for row in rows
            )
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW WHEN {guard} BEGIN {marks} END")


def drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS totals_dirty_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS totals_mark_dirty()")
        return
    for table in WATCHED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS totals_dirty_{table}_{event}")


def upgrade() -> None:
    with op.batch_alter_table("arenas") as batch:
        batch.add_column(sa.Column("settled_at", sa.DateTime(), nullable=True))
    op.create_index(
        "ix_arenas_unsettled",
        "arenas",
        ["status"],
        sqlite_where=sa.text("settled_at IS NULL"),
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.create_table(
        "totals_dirty",
        sa.Column("arena_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("arena_id"),
    )
    op.create_table(
        "totals_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "totals_arena_agents",
        sa.Column("arena_id", sa.String(length=32), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("exits", sa.JSON(), nullable=False),
        *_counters(),
        sa.PrimaryKeyConstraint("arena_id", "agent"),
    )
    op.create_table(
        "totals_agents",
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        *_counters(),
        sa.PrimaryKeyConstraint("agent"),
    )
    op.create_table(
        "totals_exits",
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("exit_status", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agent", "exit_status"),
    )
    op.create_table(
        "totals_arena_pairs",
        sa.Column("arena_id", sa.String(length=32), nullable=False),
        sa.Column("a", sa.String(length=256), nullable=False),
        sa.Column("b", sa.String(length=256), nullable=False),
        sa.Column("outcome", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("arena_id", "a", "b", "outcome"),
    )
    op.create_table(
        "totals_pairs",
        sa.Column("by", sa.String(length=16), nullable=False),
        sa.Column("a", sa.String(length=256), nullable=False),
        sa.Column("b", sa.String(length=256), nullable=False),
        sa.Column("outcome", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("by", "a", "b", "outcome"),
    )
    op.create_table(
        "totals_players",
        sa.Column("by", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("arenas", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("by", "name"),
    )
    op.execute("INSERT INTO totals_state (id, version) VALUES (1, 0)")
    op.execute(
        "INSERT INTO totals_dirty (arena_id, seq) SELECT arena_id, 1 FROM (SELECT arena_id FROM contestants "
        "UNION SELECT arena_id FROM reputation_events WHERE arena_id IS NOT NULL) AS stored"
    )
    create_triggers()


def downgrade() -> None:
    drop_triggers()
    for table in (
        "totals_players",
        "totals_pairs",
        "totals_arena_pairs",
        "totals_exits",
        "totals_agents",
        "totals_arena_agents",
        "totals_state",
        "totals_dirty",
    ):
        op.drop_table(table)
    op.drop_index("ix_arenas_unsettled", "arenas")
    op.execute("ALTER TABLE arenas DROP COLUMN settled_at")  # not batch mode: recreating arenas breaks its references
