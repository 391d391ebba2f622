"""Analytics: polars frames of stored rows and trajectory files, joined and aggregated in DuckDB.

    runs_df(store)          one row per arena contestant and per imported run; recent_runs(store, n): the newest n
    steps_df(store | paths) one row per trajectory step
    verdicts_df(store)      one row per candidate of each arena's latest verdict
    events_df(store)        the reputation ledger
    ratings_df(store, by)   Bradley-Terry ratings with bootstrap intervals (arena.reputation.ratings)
    leaderboard(store, by, source, period) / leaderboard_json(...)   per model, strategy, agent, repo or period
    leaderboard_lines(rows) the CLI's text table of leaderboard_json rows (names never cut)
    data_version(store)     a cheap key that changes whenever these frames could: cache them by it
    totals                  running totals the rated leaderboards read (refresh, counters, ratings)
    outcome_events(store), ratings_frame(events, by), board(runs, ratings, by, ...)   the same from every row
    ranked(counters, exits, ratings, by, source)   a leaderboard of counters per group (the totals' or board's)
    pareto(frame)           the cost-versus-win-rate frontier
    judges(store)           picked vs coverage per judge
    issue_quality(store)    per task: resolved by how many, ambiguous or not
    open_store(), shared_trajectories()   where notebooks find data (the demo arena when the store is empty)

Rows come through SQLAlchemy into polars (SQLite and PostgreSQL alike) and meet in an in-memory DuckDB; trajectory
files go through arena.trajectory's loader (their formats differ) and only for steps_df.
"""

from arena.analytics.data import open_store, shared_trajectories
from arena.analytics.frames import events_df, outcome_events, recent_runs, runs_df, verdicts_df
from arena.analytics.leaderboards import (
    BY,
    LEADERBOARD_KEYS,
    PERIODS,
    SOURCES,
    board,
    cost_per_step,
    judges,
    leaderboard,
    leaderboard_json,
    leaderboard_lines,
    pareto,
    ranked,
    rates,
)
from arena.analytics.quality import issue_quality
from arena.analytics.ratings import pairwise_outcomes, ratings_df, ratings_frame
from arena.analytics.steps import steps_df, trajectory_files
from arena.analytics.version import data_version

__all__ = [
    "BY",
    "LEADERBOARD_KEYS",
    "PERIODS",
    "SOURCES",
    "board",
    "cost_per_step",
    "data_version",
    "events_df",
    "issue_quality",
    "judges",
    "leaderboard",
    "leaderboard_json",
    "leaderboard_lines",
    "open_store",
    "outcome_events",
    "pareto",
    "pairwise_outcomes",
    "ranked",
    "rates",
    "ratings_df",
    "ratings_frame",
    "recent_runs",
    "runs_df",
    "shared_trajectories",
    "steps_df",
    "trajectory_files",
    "verdicts_df",
]
