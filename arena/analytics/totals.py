"""Running totals: what the rated leaderboards read instead of a million runs and millions of ledger events.

Why: at 1,000 agents and a million runs, reading every contestant, evaluation and pairwise event to draw a leaderboard
took ~20 s, and one more arena made every later leaderboard pay for it again. The totals keep, per agent, the
additive counters a leaderboard row is made of (arena.storage.models.Counters), and per pair of players the counted
pairwise outcomes the ratings fit, so a leaderboard reads a thousand rows and a few hundred thousand pair cells.

How they stay right:
  - Every arena's own contribution is stored beside the sums (totals_arena_agents, totals_arena_pairs), so it can be
    taken back out when the arena changes: a re-judge, a revert, a contestant still running.
  - Database triggers (migration 0005) mark an arena dirty (totals_dirty) in the same transaction as any write that
    could change its contribution: a contestant's counters, a verdict or evaluation, a ledger event. No writer has to
    remember it, and a crash between a write and a refresh loses nothing.
  - `refresh` folds the dirty arenas in: each arena's contribution is computed again from the facts with the same
    code the reference path uses (frames.arena_runs, frames.outcome_events, ratings.counted), the old one subtracted,
    the new one added, all in one transaction per chunk. It takes the totals_state row first: on SQLite that is the
    database's write lock, on PostgreSQL a row lock, so two refreshes never fold the same arena twice. A dirty mark
    is cleared only if nobody marked the arena again meanwhile (its `seq` is unchanged), so a write that lands during
    a refresh is folded by the next one.
  - tests/test_totals.py checks the totals against the reference (leaderboards.board over runs_df, ratings over the
    whole ledger) after every kind of write, on SQLite and PostgreSQL.

Readers call `refresh` first (leaderboard does, through `ratings`), so the totals are never older than the facts.
Fitting the ratings of a thousand players takes a second or two: the newest fit per (by, bootstrap, seed,
min_games) is kept in the database and in this process, labelled with the totals' version, which a refresh that
changed the counted outcomes increases (a running contestant's steps do not); the first reader after such a change
fits again, every other reads the fit.
"""

import threading

import polars as pl
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from arena.analytics.duck import rows_frame, runner_column, split_agent_columns, sql
from arena.analytics.frames import arena_runs, outcome_events, with_exit_kinds
from arena.analytics.ratings import RATED, RATING_SCHEMA, canonical, counted, rate_pairs
from arena.reputation.ratings import MIN_GAMES
from arena.storage import Store
from arena.storage.models import (
    COUNTER_COLUMNS,
    TotalsAgentRow,
    TotalsArenaAgentRow,
    TotalsArenaPairRow,
    TotalsDirtyRow,
    TotalsExitRow,
    TotalsFitRow,
    TotalsPairRow,
    TotalsPlayerRow,
    TotalsStateRow,
)

CHUNK = 2000
"""Arenas folded per transaction: a first refresh after the upgrade (every arena dirty) holds the write lock for a
chunk at a time, not for the whole history."""

COUNTER_AGGREGATES = """
  count(*) AS runs, sum(cost) AS cost_sum, count(cost) AS cost_n,
  sum(api_calls) AS api_sum, count(api_calls) AS api_n, sum(steps) AS steps_sum, count(steps) AS steps_n,
  coalesce(count_if(resolved), 0) AS resolved_true, count(resolved) AS resolved_n,
  count(won) AS won_n, coalesce(count_if(won), 0) AS won_true, coalesce(count_if(won AND reverted), 0) AS won_reverted,
  coalesce(count_if(won AND merged), 0) AS won_merged
"""
"""The counters (arena.storage.models.Counters) of a group of runs_df rows. won is null until the arena is judged;
reverted and merged say what became of a win. A sum is null when no run has the value; a leaderboard tells "none
known" from the `_n` counts (leaderboards.BOARD_SQL), since counters add up across groups and nulls would not."""

COUNTERS_SQL = f"SELECT arena_id, agent, any_value(model) AS model, any_value(strategy) AS strategy, {COUNTER_AGGREGATES} FROM runs GROUP BY arena_id, agent"
"""An arena's counters per agent."""

NO_STATUS = ""
"""How a run without an exit status is kept in the exit counts (leaderboards count "" as none, too)."""

_SUMS = {"cost_sum": pl.Float64, "api_sum": pl.Int64, "steps_sum": pl.Int64}
COUNTER_SCHEMA = {c: _SUMS.get(c, pl.Int64) for c in COUNTER_COLUMNS}
AGENT_SCHEMA = {"arena_id": pl.String, "agent": pl.String, "model": pl.String, "strategy": pl.String, **COUNTER_SCHEMA}
EXIT_SCHEMA = {"arena_id": pl.String, "agent": pl.String, "exit_status": pl.String, "n": pl.Int64}
PAIR_SCHEMA = {"arena_id": pl.String, "a": pl.String, "b": pl.String, "outcome": pl.Float64, "n": pl.Int64}


# -- refresh ----------------------------------------------------------------------------------------------------------


def refresh(store: Store) -> int:
    """Fold every dirty arena into the totals (module docstring); returns how many arenas were folded."""
    folded = 0
    while True:
        with store.session() as s:
            s.execute(update(TotalsStateRow).where(TotalsStateRow.id == 1).values(version=TotalsStateRow.version))
            dirty = s.execute(
                select(TotalsDirtyRow.arena_id, TotalsDirtyRow.seq).order_by(TotalsDirtyRow.arena_id).limit(CHUNK)
            ).all()
            if not dirty:
                return folded
            ids = [arena_id for arena_id, _ in dirty]
            _fold(s, store, ids)
            marks = [(arena_id, seq) for arena_id, seq in dirty]
            s.execute(delete(TotalsDirtyRow).where(tuple_(TotalsDirtyRow.arena_id, TotalsDirtyRow.seq).in_(marks)))
            s.execute(update(TotalsStateRow).where(TotalsStateRow.id == 1).values(version=TotalsStateRow.version + 1))
        folded += len(ids)


def contributions(store: Store, arena_ids: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(counters per arena and agent, exit counts per arena and agent, counted pairwise outcomes per arena) of these
    arenas, computed from the facts (AGENT_SCHEMA, EXIT_SCHEMA, PAIR_SCHEMA; pairs a < b, outcome = a's score)."""
    runs = arena_runs(store, arena_ids)
    agents = sql(COUNTERS_SQL, runs=runs).cast(AGENT_SCHEMA).select(*AGENT_SCHEMA)
    exits = (
        runs.group_by("arena_id", "agent", exit_status=pl.col("exit_status").fill_null(NO_STATUS))
        .agg(n=pl.len())
        .cast(EXIT_SCHEMA)
        .select(*EXIT_SCHEMA)
    )
    outcomes = canonical(counted(outcome_events(store, arena_ids), "agent"))
    pairs = outcomes.group_by("arena_id", "a", "b", "outcome").agg(n=pl.len()).cast(PAIR_SCHEMA).select(*PAIR_SCHEMA)
    return agents, exits, pairs


def _fold(s: Session, store: Store, ids: list[str]) -> None:
    """Replace the stored contribution of arenas `ids` by one computed now, and move the sums by the difference."""
    new_agents, new_exits, new_pairs = contributions(store, ids)
    old_rows = s.execute(select(TotalsArenaAgentRow).where(TotalsArenaAgentRow.arena_id.in_(ids))).scalars().all()
    old_agents = pl.DataFrame(
        [{c: getattr(r, c) for c in AGENT_SCHEMA} for r in old_rows], schema=AGENT_SCHEMA, orient="row"
    )
    old_exits = pl.DataFrame(
        [(r.arena_id, r.agent, status, n) for r in old_rows for status, n in (r.exits or {}).items()],
        schema=EXIT_SCHEMA,
        orient="row",
    )
    old_pairs = pl.DataFrame(
        s.execute(
            select(*(getattr(TotalsArenaPairRow, c) for c in PAIR_SCHEMA)).where(TotalsArenaPairRow.arena_id.in_(ids))
        ).all(),
        schema=PAIR_SCHEMA,
        orient="row",
    )

    # the sums move by new - old
    sign = pl.lit(-1, pl.Int64)
    names = ["agent", "model", "strategy"]
    agent_delta = (
        pl.concat([new_agents, old_agents.with_columns(pl.col(c).fill_null(0) * sign for c in COUNTER_SCHEMA)])
        .group_by(names)
        .agg(pl.col(c).fill_null(0).sum() for c in COUNTER_SCHEMA)
    )
    exit_delta = (
        pl.concat([new_exits, old_exits.with_columns(n=-pl.col("n"))])
        .group_by("agent", "exit_status")
        .agg(n=pl.sum("n"))
    )
    _add(s, TotalsAgentRow, agent_delta.filter(pl.any_horizontal(pl.col(c) != 0 for c in COUNTER_SCHEMA)), ["agent"])
    s.execute(delete(TotalsAgentRow).where(TotalsAgentRow.runs <= 0))
    _add(s, TotalsExitRow, exit_delta.filter(pl.col("n") != 0), ["agent", "exit_status"])
    s.execute(delete(TotalsExitRow).where(TotalsExitRow.n <= 0))
    rated = False
    for by in RATED:
        new, old = _players(new_pairs, by), _players(old_pairs, by)
        pair_delta = pl.concat([new, old.with_columns(n=-pl.col("n"))]).group_by("a", "b", "outcome").agg(n=pl.sum("n"))
        pair_delta = pair_delta.filter(pl.col("n") != 0).with_columns(by=pl.lit(by))
        _add(s, TotalsPairRow, pair_delta, ["by", "a", "b", "outcome"])
        arena_delta = (
            pl.concat([_arenas_of(new).with_columns(arenas=1), _arenas_of(old).with_columns(arenas=-1)])
            .group_by("name")
            .agg(arenas=pl.sum("arenas"))
        )
        arena_delta = arena_delta.filter(pl.col("arenas") != 0).with_columns(by=pl.lit(by))
        _add(s, TotalsPlayerRow, arena_delta, ["by", "name"])
        rated = rated or bool(len(pair_delta) or len(arena_delta))
    s.execute(delete(TotalsPairRow).where(TotalsPairRow.n <= 0))
    s.execute(delete(TotalsPlayerRow).where(TotalsPlayerRow.arenas <= 0))

    # the arenas' own rows, replaced
    s.execute(delete(TotalsArenaAgentRow).where(TotalsArenaAgentRow.arena_id.in_(ids)))
    s.execute(delete(TotalsArenaPairRow).where(TotalsArenaPairRow.arena_id.in_(ids)))
    exits_of = {
        key: dict(zip(group["exit_status"], group["n"], strict=True))
        for key, group in new_exits.group_by("arena_id", "agent")
    }
    rows = [{**r, "exits": exits_of.get((r["arena_id"], r["agent"]), {})} for r in new_agents.to_dicts()]
    if rows:
        s.execute(TotalsArenaAgentRow.__table__.insert(), rows)
    if len(new_pairs):
        s.execute(TotalsArenaPairRow.__table__.insert(), new_pairs.to_dicts())
    return rated


def _players(pairs: pl.DataFrame, by: str) -> pl.DataFrame:
    """(arena_id, a, b, outcome, n) of agent pairs, the players named per `by` (a < b again; a pair of one model or
    one strategy says nothing about it and is dropped, as ratings.counted drops it)."""
    if by == "agent":
        return pairs
    if by == "runner":
        a, b = (runner_column(split_agent_columns(pl.col(side))[0]) for side in ("a", "b"))
    else:
        pick = 0 if by == "model" else 1
        a, b = split_agent_columns(pl.col("a"))[pick], split_agent_columns(pl.col("b"))[pick]
    mapped = pairs.with_columns(a=a.fill_null(""), b=b.fill_null(""))
    kept = mapped.filter(pl.col("a") != "", pl.col("b") != "", pl.col("a") != pl.col("b"))
    return canonical(kept).group_by("arena_id", "a", "b", "outcome").agg(n=pl.sum("n"))


def _arenas_of(pairs: pl.DataFrame) -> pl.DataFrame:
    """(arena_id, name): each player with a counted outcome in an arena, once."""
    return pl.concat([pairs.select("arena_id", name="a"), pairs.select("arena_id", name="b")]).unique()


def _add(s: Session, model, delta: pl.DataFrame, keys: list[str]) -> None:
    """Add `delta`'s columns to `model`'s rows by `keys`, inserting the rows that are new: one upsert. An agent's
    model and strategy are written when its row is inserted and never added to."""
    if not len(delta):
        return
    table = model.__table__
    insert = (postgresql if s.get_bind().dialect.name == "postgresql" else sqlite).insert(table)
    added = [c for c in delta.columns if c not in keys and c not in ("model", "strategy")]
    statement = insert.on_conflict_do_update(
        index_elements=keys, set_={c: func.coalesce(table.c[c], 0) + insert.excluded[c] for c in added}
    )
    s.execute(statement, delta.select(c for c in delta.columns if c in table.c).to_dicts())


# -- read -------------------------------------------------------------------------------------------------------------


def counters(store: Store, by: str = "agent") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(counters, exits) of every arena run per leaderboard group of `by` (model, strategy or agent), from the totals
    (refreshed first): the frames leaderboards.ranked takes (leaderboards.grouped of runs_df gives the same)."""
    if by not in RATED:
        raise ValueError(f"the running totals are per {', '.join(RATED)}, not {by!r}")
    refresh(store)
    agents = rows_frame(
        store,
        select(*(getattr(TotalsAgentRow, c) for c in ("agent", "model", "strategy", *COUNTER_COLUMNS))),
        {"agent": pl.String, "model": pl.String, "strategy": pl.String, **COUNTER_SCHEMA},
    )
    exits = rows_frame(
        store,
        select(TotalsExitRow.agent, TotalsExitRow.exit_status, TotalsExitRow.n),
        {"agent": pl.String, "exit_status": pl.String, "n": pl.Int64},
    )
    agents = agents.with_columns(runner=runner_column(pl.col("model")))
    exits = exits.join(agents.select("agent", "model", "strategy", "runner"), on="agent", how="left")
    nulls = {"source": pl.lit("arenas"), "repo": pl.lit(None, pl.String), "period": pl.lit(None, pl.Datetime("us"))}
    keys = {  # an agent's row names its model (the runner is in the model's name) and strategy
        k: (pl.col(k) if (by == "agent" and k != "runner") or k == by else pl.lit(None, pl.String))
        for k in ("runner", "model", "strategy", "agent")
    }
    order = ["source", "runner", "model", "strategy", "agent", "repo", "period"]
    grouped = agents.with_columns(**nulls, **keys).select(*order, *COUNTER_COLUMNS)
    statuses = exits.with_columns(**nulls, **keys, exit_status=pl.col("exit_status").replace(NO_STATUS, None))
    return grouped, with_exit_kinds(statuses.select(*order, "exit_status", "n"))


_fits: dict[tuple, tuple[tuple, pl.DataFrame]] = {}
_fits_lock = threading.Lock()


def ratings(
    store: Store, by: str = "agent", *, bootstrap: int = 200, seed: int = 0, min_games: int = MIN_GAMES
) -> pl.DataFrame:
    """ratings.RATING_SCHEMA rows of the totals (refreshed first): what ratings_frame gives over the whole ledger.

    A fit of a thousand players takes seconds, so it is done once per version of the totals: kept in this process,
    and in the database (totals_fits) for every other process, until a refresh changes the totals. The version is
    read before the pairs: a fit is never labelled newer than the data it was made from.
    """
    if by not in RATED:
        raise ValueError(f"ratings are by one of {', '.join(RATED)}, not {by!r}")
    refresh(store)
    fit = f"{by}:{bootstrap}:{seed}:{min_games}"
    with store.session() as s:
        version = s.scalar(select(TotalsStateRow.version).where(TotalsStateRow.id == 1))
        stored = s.get(TotalsFitRow, fit)
        if stored is not None and stored.version == version:
            frame = pl.DataFrame(stored.ratings, schema=RATING_SCHEMA, orient="row")
            with _fits_lock:
                _fits[(store.url, fit)] = (version, frame)
    key = (store.url, fit)
    with _fits_lock:
        kept = _fits.get(key)
    if kept is not None and kept[0] == version:
        return kept[1]
    pairs = rows_frame(
        store,
        select(TotalsPairRow.a, TotalsPairRow.b, TotalsPairRow.outcome, TotalsPairRow.n).where(TotalsPairRow.by == by),
        {"a": pl.String, "b": pl.String, "outcome": pl.Float64, "n": pl.Int64},
    )
    arenas = rows_frame(
        store,
        select(TotalsPlayerRow.name, TotalsPlayerRow.arenas).where(TotalsPlayerRow.by == by),
        {"name": pl.String, "arenas": pl.Int64},
    )
    frame = rate_pairs(pairs, arenas, bootstrap=bootstrap, seed=seed, min_games=min_games)
    with _fits_lock:
        _fits[key] = (version, frame)
    _keep(store, fit, version, frame)
    return frame


def _keep(store: Store, fit: str, version: int, frame: pl.DataFrame) -> None:
    """Store a fit for other processes (the newest version wins; a fit of an older version never replaces it)."""
    table = TotalsFitRow.__table__
    with store.session() as s:
        insert = (postgresql if s.get_bind().dialect.name == "postgresql" else sqlite).insert(table)
        rows = [list(r) for r in frame.rows()]
        s.execute(
            insert.values(fit=fit, version=version, ratings=rows).on_conflict_do_update(
                index_elements=["fit"],
                set_={"version": insert.excluded.version, "ratings": insert.excluded.ratings},
                where=table.c.version <= insert.excluded.version,
            )
        )


def forget(store: Store | None = None) -> None:
    """Drop the fits this process keeps, and with a store the ones kept in its database: the next `ratings` fits
    again (what the first reader after a change does)."""
    with _fits_lock:
        _fits.clear()
    if store is not None:
        with store.session() as s:
            s.execute(delete(TotalsFitRow))
