"""The two bridges: stored rows -> polars (through SQLAlchemy) and polars frames -> DuckDB SQL -> polars.

Rows go through SQLAlchemy rather than a DuckDB scanner: the sqlite/postgres scanner extensions cannot be
downloaded here, and SQLAlchemy already speaks to SQLite and PostgreSQL alike.
"""

import re
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import Select

from arena.storage import Store

AGENT = re.compile(r"^(.*)\+([^+]*)$")


def split_agent(agent: str | None) -> tuple[str | None, str | None]:
    """(model, strategy) of an agent `model+strategy`, split on the last '+' (a model name may contain '+')."""
    if agent is None:
        return None, None
    match = AGENT.match(agent)
    return (match.group(1), match.group(2)) if match else (agent, None)


def split_agent_columns(agent: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(model, strategy) expressions of an agent column, as split_agent splits one name."""
    return pl.coalesce(agent.str.extract(AGENT.pattern, 1), agent), agent.str.extract(AGENT.pattern, 2)


def rows_frame(store: Store, stmt: Select, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of `stmt` as a frame with exactly `schema` (so an empty result still has typed columns)."""
    with store.session() as s:
        rows = [tuple(r) for r in s.execute(stmt).all()]
    return pl.DataFrame(rows, schema=schema, orient="row")


def sql(query: str, **frames: pl.DataFrame) -> pl.DataFrame:
    """Run `query` in a fresh in-memory DuckDB where each keyword is a table; the result fully fetched as polars."""
    con = duckdb.connect()
    try:
        for name, frame in frames.items():
            con.register(name, frame)
        return con.sql(query).pl()
    finally:
        con.close()
