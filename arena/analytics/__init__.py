"""Analytics: polars frames of stored rows and trajectory files, joined and aggregated in DuckDB.

    runs_df(store)          one row per arena contestant and per imported run
    steps_df(store | paths) one row per trajectory step
    verdicts_df(store)      one row per candidate of each arena's latest verdict
    events_df(store)        the reputation ledger
    ratings_df(store, by)   Bradley-Terry ratings with bootstrap intervals (arena.reputation.ratings)
    leaderboard(store, by, source, period) / leaderboard_json(...)   per model, strategy, agent, repo or period
    pareto(frame)           the cost-versus-win-rate frontier
    judges(store)           picked vs coverage per judge
    issue_quality(store)    per task: resolved by how many, ambiguous or not
    open_store(), shared_trajectories()   where notebooks find data (the demo arena when the store is empty)

Rows come through SQLAlchemy into polars (SQLite and PostgreSQL alike) and meet in an in-memory DuckDB; trajectory
files go through arena.trajectory's loader (their formats differ), except the run totals DuckDB's read_json reads.
"""

from arena.analytics.data import open_store, shared_trajectories
from arena.analytics.frames import events_df, runs_df, verdicts_df
from arena.analytics.leaderboards import (
    BY,
    LEADERBOARD_KEYS,
    PERIODS,
    SOURCES,
    judges,
    leaderboard,
    leaderboard_json,
    pareto,
)
from arena.analytics.quality import issue_quality
from arena.analytics.ratings import pairwise_outcomes, ratings_df
from arena.analytics.steps import steps_df, trajectory_files

__all__ = [
    "BY",
    "LEADERBOARD_KEYS",
    "PERIODS",
    "SOURCES",
    "events_df",
    "issue_quality",
    "judges",
    "leaderboard",
    "leaderboard_json",
    "open_store",
    "pareto",
    "pairwise_outcomes",
    "ratings_df",
    "runs_df",
    "shared_trajectories",
    "steps_df",
    "trajectory_files",
    "verdicts_df",
]
