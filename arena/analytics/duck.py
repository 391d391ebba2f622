"""The two bridges: stored rows -> polars (through SQLAlchemy) and polars frames -> DuckDB SQL -> polars.

Rows go through SQLAlchemy rather than a DuckDB scanner: the sqlite/postgres scanner extensions cannot be
downloaded here, and SQLAlchemy already speaks to SQLite and PostgreSQL alike.
"""

import re
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import Select

from arena.runners import DEFAULT_RUNNER, runner_names
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


def runner_column(model: pl.Expr) -> pl.Expr:
    """The runner of an identity's MODEL half, as arena.runners.split_runner names it: a CLI runner's prefix
    (`claude-code/anthropic/x`), else mini-swe-agent."""
    names = [re.escape(n) for n in runner_names() if n != DEFAULT_RUNNER]
    return model.str.extract(rf"^({'|'.join(names)})/.", 1).fill_null(DEFAULT_RUNNER)


def rows_frame(store: Store, stmt: Select, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of `stmt` as a frame with exactly `schema` (so an empty result still has typed columns).

    SQLAlchemy runs the statement and the driver's cursor hands over its rows as plain tuples: SQLAlchemy's per-value
    result processing doubles the time of a million rows. SQLite's own values (times as text, booleans as 0/1) are
    converted by polars, a column at a time.
    """
    with store.engine.connect() as conn:
        result = conn.execute(stmt)
        rows = result.cursor.fetchall()  # the driver's tuples, past SQLAlchemy's row processing
        result.close()
    if store.engine.dialect.name != "sqlite":
        return pl.DataFrame(rows, schema=schema, orient="row")
    raw = {name: SQLITE_VALUES.get(dtype.base_type(), dtype) for name, dtype in schema.items()}
    frame = pl.DataFrame(rows, schema=raw, orient="row")
    return frame.with_columns(
        pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us").cast(dtype)
        if raw[name] == pl.String and dtype.base_type() == pl.Datetime
        else pl.col(name).cast(dtype)
        for name, dtype in schema.items()
    )


SQLITE_VALUES = {pl.Datetime: pl.String, pl.Boolean: pl.Int64}
"""What SQLite's driver returns for these column types: SQLAlchemy stores times as ISO text, booleans as 0/1."""


def sql(query: str, **frames: pl.DataFrame) -> pl.DataFrame:
    """Run `query` in a fresh in-memory DuckDB where each keyword is a table; the result fully fetched as polars."""
    con = duckdb.connect()
    try:
        for name, frame in frames.items():
            con.register(name, frame)
        return con.sql(query).pl()
    finally:
        con.close()
