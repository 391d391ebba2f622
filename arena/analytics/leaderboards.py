"""Leaderboards over runs_df (DuckDB), ratings from the ledger, the cost/win-rate Pareto frontier, judge accuracy.

Definitions (per group of runs; arena-only columns are null for imported runs):
    runs           arena contestants / imported runs in the group
    resolved       runs that resolved the task (latest verdict / SWE-bench report); null when none is known
    resolve_rate   resolved / runs whose resolution is known
    wins           arenas won and not later reverted (as the ledger counts them)
    win_rate       wins / judged runs (an arena without a verdict yet does not count)
    revert_rate    reverted wins / all wins the judge gave (reverted included); null without wins
    merged         wins whose patch reached the base branch (`merged` events)
    cost_per_win   cost_total / wins;  cost_per_merged: cost_total / merged
    rating, ci_low, ci_high, tier   Bradley-Terry over pairwise events (see arena.analytics.ratings)
    games, arenas  pairwise outcomes counted in the rating, and the arenas they come from (0 for an arena row
                   never rated); null where no rating applies (imported runs, by repo or period)
    provisional    games < MIN_GAMES (arena.reputation.ratings): rated but not tiered (tier null), listed after the
                   tiered rows
    exit_statuses  exit status -> runs (as recorded);  exit_kinds: the same in one vocabulary (submitted, gave_up,
                   limits_exceeded, timeout, ... : arena.trajectory.exit_kind)
"""

import math
from datetime import date, datetime

import polars as pl
from sqlalchemy import select

from arena.analytics import totals
from arena.analytics.duck import rows_frame, sql
from arena.analytics.frames import latest_candidates, runs_df, with_exit_kinds
from arena.analytics.ratings import RATED, RATING_SCHEMA
from arena.errors import UserError
from arena.storage import Store, VerdictRow

BY = ("model", "strategy", "runner", "agent", "repo", "period")
SOURCES = ("arenas", "imported", "all")
PERIODS = ("day", "week", "month", "quarter", "year")
LEADERBOARD_KEYS = [
    "runner",
    "model",
    "strategy",
    "runs",
    "cost_total",
    "cost_mean",
    "api_calls_mean",
    "resolved",
    "resolve_rate",
    "wins",
    "win_rate",
    "rating",
    "ci_low",
    "ci_high",
    "revert_rate",
    "games",
    "arenas",
    "provisional",
]
"""The columns `leaderboard_json` puts first, in this order (the CLI's `arena leaderboard --json`)."""
EXTRA_KEYS = [
    "source",
    "agent",
    "repo",
    "period",
    "tier",
    "merged",
    "reverted",
    "cost_per_win",
    "cost_per_merged",
    "steps_mean",
    "exit_statuses",
    "exit_kinds",
]

KEYS = ("source", "runner", "model", "strategy", "agent", "repo", "period")
"""A leaderboard row's group: the columns `by` does not group by are null."""

COUNTERS_SQL = (
    "SELECT source, {runner} AS runner, {model} AS model, {strategy} AS strategy, {agent} AS agent, {repo} AS repo, "
    "{period} AS period,"
    + totals.COUNTER_AGGREGATES.replace("{", "{{").replace("}", "}}")
    + "FROM runs WHERE {where} GROUP BY ALL"
)
"""The counters of each group of runs: every leaderboard column is a ratio of their sums, so counters of finer
groups (an agent's, in the running totals) add up to those of coarser ones (its model's)."""

EXITS_SQL = """
SELECT source, {runner} AS runner, {model} AS model, {strategy} AS strategy, {agent} AS agent, {repo} AS repo,
  {period} AS period, nullif(exit_status, '') AS exit_status, count(*) AS n
FROM runs WHERE {where} GROUP BY ALL
"""

BOARD_SQL = """
WITH b AS (
  SELECT source, runner, model, strategy, agent, repo, period,
    sum(runs)::BIGINT AS runs,
    CASE WHEN sum(cost_n) > 0 THEN sum(cost_sum)::DOUBLE END AS cost_total,
    sum(cost_sum)::DOUBLE / nullif(sum(cost_n), 0) AS cost_mean,
    sum(api_sum)::DOUBLE / nullif(sum(api_n), 0) AS api_calls_mean,
    CASE WHEN sum(resolved_n) > 0 THEN sum(resolved_true)::BIGINT END AS resolved,
    sum(resolved_true)::DOUBLE / nullif(sum(resolved_n), 0) AS resolve_rate,
    CASE WHEN source = 'arenas' AND sum(won_n) > 0 THEN (sum(won_true) - sum(won_reverted))::BIGINT END AS wins,
    CASE WHEN source = 'arenas' THEN (sum(won_true) - sum(won_reverted))::DOUBLE / nullif(sum(won_n), 0) END
      AS win_rate,
    CASE WHEN source = 'arenas' THEN sum(won_reverted)::DOUBLE / nullif(sum(won_true), 0) END AS revert_rate,
    CASE WHEN source = 'arenas' AND sum(won_n) > 0 THEN sum(won_merged)::BIGINT END AS merged,
    CASE WHEN source = 'arenas' AND sum(won_n) > 0 THEN sum(won_reverted)::BIGINT END AS reverted,
    CASE WHEN source = 'arenas' THEN sum(cost_sum)::DOUBLE / nullif(sum(won_true) - sum(won_reverted), 0) END
      AS cost_per_win,
    CASE WHEN source = 'arenas' THEN sum(cost_sum)::DOUBLE / nullif(sum(won_merged), 0) END AS cost_per_merged,
    sum(steps_sum)::DOUBLE / nullif(sum(steps_n), 0) AS steps_mean
  FROM counters GROUP BY source, runner, model, strategy, agent, repo, period
),
statuses AS (
  SELECT source, runner, model, strategy, agent, repo, period,
    map_from_entries(list(struct_pack(key := exit_status, value := n::UBIGINT) ORDER BY exit_status)) AS exit_statuses
  FROM (SELECT source, runner, model, strategy, agent, repo, period, exit_status, sum(n) AS n FROM exits
        WHERE exit_status IS NOT NULL GROUP BY ALL)
  GROUP BY source, runner, model, strategy, agent, repo, period
),
kinds AS (
  SELECT source, runner, model, strategy, agent, repo, period,
    map_from_entries(list(struct_pack(key := exit_kind, value := n::UBIGINT) ORDER BY exit_kind)) AS exit_kinds
  FROM (SELECT source, runner, model, strategy, agent, repo, period, exit_kind, sum(n) AS n FROM exits GROUP BY ALL)
  GROUP BY source, runner, model, strategy, agent, repo, period
)
SELECT b.*, h.exit_statuses, k.exit_kinds, r.rating, r.ci_low, r.ci_high, r.tier,
  CASE WHEN {rated_rows} AND b.source = 'arenas' THEN coalesce(r.games, 0) END AS games,
  CASE WHEN {rated_rows} AND b.source = 'arenas' THEN coalesce(r.arenas, 0) END AS arenas,
  CASE WHEN {rated_rows} AND b.source = 'arenas' THEN coalesce(r.provisional, true) END AS provisional
FROM b
LEFT JOIN statuses h ON h.source = b.source AND h.runner IS NOT DISTINCT FROM b.runner
  AND h.model IS NOT DISTINCT FROM b.model
  AND h.strategy IS NOT DISTINCT FROM b.strategy AND h.agent IS NOT DISTINCT FROM b.agent
  AND h.repo IS NOT DISTINCT FROM b.repo AND h.period IS NOT DISTINCT FROM b.period
LEFT JOIN kinds k ON k.source = b.source AND k.runner IS NOT DISTINCT FROM b.runner
  AND k.model IS NOT DISTINCT FROM b.model
  AND k.strategy IS NOT DISTINCT FROM b.strategy AND k.agent IS NOT DISTINCT FROM b.agent
  AND k.repo IS NOT DISTINCT FROM b.repo AND k.period IS NOT DISTINCT FROM b.period
LEFT JOIN r ON b.source = 'arenas' AND r.name = b.{rated}
ORDER BY b.source, provisional NULLS FIRST, r.rating DESC NULLS LAST, b.win_rate DESC NULLS LAST,
         b.resolve_rate DESC NULLS LAST, b.runs DESC, b.runner NULLS LAST, b.model NULLS LAST,
         b.strategy NULLS LAST, b.repo NULLS LAST, b.period NULLS LAST
"""


def _check(by: str, source: str, period: str) -> None:
    for name, value, valid in (("by", by, BY), ("source", source, SOURCES), ("period", period, PERIODS)):
        if value not in valid:
            raise UserError(f"leaderboard {name} {value!r} is not one of: {', '.join(valid)}")


def leaderboard(
    store: Store,
    by: str = "agent",
    source: str = "arenas",
    period: str = "week",
    *,
    bootstrap: int = 200,
    seed: int = 0,
) -> pl.DataFrame:
    """One row per (source, group): LEADERBOARD_KEYS then EXTRA_KEYS, best first (module docstring: definitions).

    Rated boards (by model, strategy, runner or agent) read the arenas from the running totals
    (arena.analytics.totals: a thousand rows, whatever the number of runs); boards by repo or period read every run
    (runs_df).

    Args:
        by: model | strategy | runner (mini-swe-agent, claude-code, ...) | agent (runner, model and strategy) | repo |
            period (runs by `created_at`, truncated to period).
        source: arenas | imported | all (every row says its source; the two are never pooled).
        period: day | week | month | quarter | year, for by='period'.
        bootstrap, seed: passed to the rating's bootstrap (ratings only for by model/strategy/agent, arena rows).
    """
    _check(by, source, period)
    if not rates(by, source):
        return board(runs_df(store, arenas=source != "imported"), None, by, source, period)
    ratings = totals.ratings(store, by, bootstrap=bootstrap, seed=seed)  # refreshes the totals first
    counters, exits = totals.counters(store, by)
    if source == "all":
        imported, imported_exits = grouped(runs_df(store, arenas=False), by, "imported", period)
        counters = pl.concat([counters, imported], how="vertical_relaxed")
        exits = pl.concat([exits, imported_exits], how="vertical_relaxed")
    return ranked(counters, exits, ratings, by, source)


def rates(by: str, source: str) -> bool:
    """Whether a leaderboard by `by` over `source` carries ratings (arena rows by model, strategy, runner or agent)."""
    return by in RATED and source != "imported"


def board(
    runs: pl.DataFrame,
    ratings: pl.DataFrame | None,
    by: str = "agent",
    source: str = "arenas",
    period: str = "week",
) -> pl.DataFrame:
    """`leaderboard` of frames already read: runs_df, and ratings_df by the same `by` when `rates(by, source)`.

    For callers that keep the runs between calls, and the reference the running totals are tested against.
    """
    _check(by, source, period)
    counters, exits = grouped(runs, by, source, period)
    return ranked(counters, exits, ratings, by, source)


def grouped(runs: pl.DataFrame, by: str, source: str, period: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(counters, exits) of `runs` per leaderboard group (KEYS): COUNTERS_SQL, and runs per exit status and kind."""
    _check(by, source, period)  # only these validated names reach the SQL text
    keys = dict.fromkeys(("runner", "model", "strategy", "agent", "repo"), "NULL::VARCHAR")
    keys["period"] = "NULL::TIMESTAMP"
    if by == "agent":
        keys.update(model="model", strategy="strategy", agent="agent")  # the runner is in the model's name
    elif by == "period":
        keys["period"] = f"date_trunc('{period}', created_at)"
    else:
        keys[by] = by
    where = "true" if source == "all" else f"source = '{source}'"
    counters = sql(COUNTERS_SQL.format(**keys, where=where), runs=runs)
    exits = sql(EXITS_SQL.format(**keys, where=where), runs=runs)
    return counters, with_exit_kinds(exits)


def ranked(
    counters: pl.DataFrame, exits: pl.DataFrame, ratings: pl.DataFrame | None, by: str, source: str
) -> pl.DataFrame:
    """The leaderboard of counters per group (COUNTERS_SQL's columns) and their exits (with_kinds), rated or not."""
    rated = rates(by, source)
    if rated and ratings is None:
        raise ValueError(f"a leaderboard by {by} over {source} is rated: pass ratings_frame(outcome_events, {by!r})")
    if not rated:
        ratings = pl.DataFrame(schema=RATING_SCHEMA)
    # repo / period rows are not rated: `r` is empty then, and the join only needs a column to name
    query = BOARD_SQL.format(rated=by if by in RATED else "agent", rated_rows=str(rated).lower())
    return sql(query, counters=counters, exits=exits, r=ratings).select(*LEADERBOARD_KEYS, *EXTRA_KEYS)


def leaderboard_json(store: Store, by: str = "agent", source: str = "arenas", period: str = "week", **kw) -> list[dict]:
    """`leaderboard` as JSON-safe dicts: LEADERBOARD_KEYS first, null where a value does not apply, times ISO."""
    return [{k: _json(v) for k, v in row.items()} for row in leaderboard(store, by, source, period, **kw).to_dicts()]


NAME_KEYS = ("model", "strategy")


def leaderboard_lines(rows: list[dict]) -> list[str]:
    """`arena leaderboard`'s table of leaderboard_json rows: a header, then a line per row.

    Columns are the LEADERBOARD_KEYS some row fills, each as wide as its widest cell: names are never cut (two
    agents whose models differ only after the 40th character must not read the same); numbers right-aligned, floats
    to 4 significant digits, "-" where a value does not apply.
    """
    shown = [k for k in LEADERBOARD_KEYS if any(r.get(k) is not None for r in rows)]
    cells = [
        [f"{r[k]:.4g}" if isinstance(r[k], float) else "-" if r[k] is None else str(r[k]) for k in shown] for r in rows
    ]
    widths = [max(len(k), 12 if k not in NAME_KEYS else 0, *(len(c[i]) for c in cells)) for i, k in enumerate(shown)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if k in NAME_KEYS else v.rjust(w) for k, v, w in zip(shown, values, widths, strict=True)
        ).rstrip()

    return [line(shown), *(line(c) for c in cells)]


def _json(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def pareto(frame: pl.DataFrame, cost: str = "cost_mean", score: str = "win_rate") -> pl.DataFrame:
    """`frame` plus a boolean `pareto`: no other row is at least as cheap and at least as good, and better in one.

    Rows missing either value are never on the frontier. Lower `cost` is better, higher `score` is better.
    """
    for column in (cost, score):
        if column not in frame.columns:
            raise UserError(f"pareto: the frame has no column {column!r}; its columns are {', '.join(frame.columns)}")
    points = frame.select(pl.col(cost).cast(pl.Float64).alias("c"), pl.col(score).cast(pl.Float64).alias("s"))
    flags = sql(
        "SELECT c IS NOT NULL AND s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM f g WHERE g.c <= f.c AND g.s >= f.s "
        "AND (g.c < f.c OR g.s > f.s)) AS pareto FROM f ORDER BY i",
        f=points.with_row_index("i"),
    )
    return frame.with_columns(pareto=flags["pareto"])


def judges(store: Store) -> pl.DataFrame:
    """Per judge (reviewer model or "heuristic"), over each arena's latest verdict: picked vs coverage.

    Columns: judge, arenas, picked_resolved (the winner resolved), any_resolved (some candidate resolved: coverage),
    picked_rate, coverage_rate (each / arenas) and pick_accuracy (picked_resolved / any_resolved).
    """
    candidates = latest_candidates(store)
    reviewers = rows_frame(
        store,
        select(VerdictRow.id, VerdictRow.judge["reviewer"].as_string()).where(VerdictRow.error.is_(None)),
        {"verdict_id": pl.Int64, "judge": pl.String},
    )
    return sql(
        """SELECT coalesce(judge, 'heuristic') AS judge, count(DISTINCT arena_id) AS arenas,
                  count(DISTINCT arena_id) FILTER (WHERE picked AND resolved) AS picked_resolved,
                  count(DISTINCT arena_id) FILTER (WHERE resolved) AS any_resolved,
                  picked_resolved / arenas AS picked_rate, any_resolved / arenas AS coverage_rate,
                  picked_resolved / nullif(any_resolved, 0) AS pick_accuracy
           FROM v LEFT JOIN r USING (verdict_id) GROUP BY ALL ORDER BY judge""",
        v=candidates.select(
            "verdict_id", "arena_id", picked=pl.col("candidate") == pl.col("winner"), resolved="resolved"
        ),
        r=reviewers,
    )


def cost_per_step(source: Store | pl.DataFrame) -> pl.DataFrame:
    """Per agent, from its arena runs' totals: steps (model calls), runs, cost per step, steps per run; dearest first.

    `source`: a Store (its running totals: nothing is read per run) or a runs_df (the same numbers from every run).
    A run records its cost and its model calls, so no trajectory file is read.
    """
    if isinstance(source, Store):
        counters, _ = totals.counters(source, "agent")
    else:
        counters, _ = grouped(source, "agent", "arenas", "week")
    return sql(
        """SELECT agent, sum(steps_sum)::BIGINT AS steps, sum(runs)::BIGINT AS runs,
                  coalesce(sum(cost_sum) / nullif(sum(steps_sum), 0), 0) AS cost_per_step,
                  sum(steps_sum)::DOUBLE / nullif(sum(steps_n), 0) AS steps_per_run
           FROM c WHERE source = 'arenas' GROUP BY agent ORDER BY cost_per_step DESC, agent""",
        c=counters,
    )
