"""The LLM gateway's tables: virtual keys (hashed) and one metered row per request.

Revision ID: 0009
Revises: 0008

arena/gateway issues each contestant a virtual key and forwards its model calls with the real provider key, which
never reaches the database: `gateway_keys` keeps the key's sha256, its contestant, model and limit;
`gateway_requests` keeps every request's tokens, cost, latency and the assistant's assembled output.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_keys",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("arena_id", sa.String(length=32), nullable=False),
        sa.Column("contestant", sa.String(length=64), nullable=False),
        sa.Column("contestant_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("shape", sa.String(length=16), nullable=False),
        sa.Column("api_base", sa.Text(), nullable=False),
        sa.Column("cost_limit", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    op.create_index("ix_gateway_keys_arena_id", "gateway_keys", ["arena_id"])
    op.create_table(
        "gateway_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("arena_id", sa.String(length=32), nullable=False),
        sa.Column("contestant", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cache_read", sa.Integer(), nullable=False),
        sa.Column("cache_write", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("first_byte_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gateway_requests_contestant", "gateway_requests", ["arena_id", "contestant"])
    op.create_index("ix_gateway_requests_started_at", "gateway_requests", ["started_at"])


def downgrade() -> None:
    op.drop_table("gateway_requests")
    op.drop_table("gateway_keys")
