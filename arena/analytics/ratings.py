"""Ratings frames: pairwise outcomes from the ledger, rated by arena.reputation.ratings (Bradley-Terry + bootstrap).

Only each arena's newest recorded verdict counts (a re-judge replaces its outcomes, as it does for wins).
Revert rule: a `pairwise` event counts as a win for the side it favours (outcome 1 -> agent, 0 -> opponent) unless
that side has a `reverted` event in the same arena: its win there was undone, so the outcome is dropped (not turned
into a loss: the revert already costs the agent its stake). Ties and the other pairs of that arena still count.
For by='model' / by='strategy' each agent maps to its model / strategy (split on the last '+'); an outcome whose two
sides map to the same name says nothing about it and is dropped.
Beside every interval: `games` (counted outcomes) and `arenas` (arenas with a counted outcome of the player); a player
with fewer than MIN_GAMES games is `provisional`, with a null tier (arena.reputation.ratings).

Everything here is polars expressions over whole columns: 19,900 pairwise events of one 200-contestant arena are
folded into counts per (player, opponent, outcome) before any Python sees them.
"""

import polars as pl

from arena.analytics.duck import runner_column
from arena.analytics.frames import outcome_events, split_agent_columns
from arena.reputation.ratings import MIN_GAMES, Games, Outcome, rate
from arena.storage import Store

RATED = ("agent", "model", "strategy", "runner")
RATING_SCHEMA = {
    "name": pl.String,
    "rating": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "games": pl.Int64,
    "arenas": pl.Int64,
    "tier": pl.Int64,
    "provisional": pl.Boolean,
}


def pairwise_outcomes(events: pl.DataFrame, by: str = "agent") -> list[Outcome]:
    """Outcomes of every counted `pairwise` event in `events` (an events_df), players named per `by`."""
    return [Outcome(a, b, score) for a, b, score in counted(events, by).select("a", "b", "outcome").iter_rows()]


def counted(events: pl.DataFrame, by: str) -> pl.DataFrame:
    """(arena_id, a, b, outcome) of every counted `pairwise` event (module docstring: which count), in event order.

    `events` needs the columns arena_id, agent, opponent, kind, outcome and verdict_id (events_df has them).
    """
    if by not in RATED:
        raise ValueError(f"ratings are by one of {', '.join(RATED)}, not {by!r}")
    verdict = pl.col("verdict_id").fill_null(0)
    reverted = events.filter(pl.col("kind") == "reverted").select("arena_id", winner="agent").unique()
    newest = (  # each arena's newest recorded verdict counts, as for wins (arena.reputation.ledger.newest_outcomes)
        events.filter(pl.col("kind") == "place").group_by("arena_id").agg(newest=verdict.max())
    )
    pairwise = (
        events.filter(pl.col("kind") == "pairwise", pl.col("outcome").is_not_null())
        .join(newest, on="arena_id", how="left", maintain_order="left")
        .filter(verdict == pl.col("newest").fill_null(0))
        .with_columns(
            winner=pl.when(pl.col("outcome") == 1.0).then("agent").when(pl.col("outcome") == 0.0).then("opponent")
        )
        .join(reverted, on=["arena_id", "winner"], how="anti", nulls_equal=False, maintain_order="left")
    )
    a, b = _player(pl.col("agent"), by), _player(pl.col("opponent").fill_null(""), by)
    return (
        pairwise.select("arena_id", a=a, b=b, outcome="outcome")
        .filter(pl.col("a") != "", pl.col("b") != "", pl.col("a") != pl.col("b"))
        .with_columns(pl.col("arena_id").cast(pl.String))
    )


def _player(agent: pl.Expr, by: str) -> pl.Expr:
    """An agent column mapped to the player it counts for; "" when it names none (such outcomes are dropped)."""
    if by == "agent":
        return agent
    model, strategy = split_agent_columns(agent)
    if by == "runner":
        return pl.when(agent != "").then(runner_column(model)).otherwise(pl.lit(""))
    return (model if by == "model" else strategy).fill_null("")


def ratings_df(
    store: Store, by: str = "agent", *, bootstrap: int = 200, seed: int = 0, min_games: int = MIN_GAMES
) -> pl.DataFrame:
    """One row per rated player (RATING_SCHEMA): tiered players best first, then provisional ones best first."""
    return ratings_frame(outcome_events(store), by, bootstrap=bootstrap, seed=seed, min_games=min_games)


def ratings_frame(
    events: pl.DataFrame, by: str = "agent", *, bootstrap: int = 200, seed: int = 0, min_games: int = MIN_GAMES
) -> pl.DataFrame:
    """ratings_df of ledger rows already read (the columns `counted` needs)."""
    outcomes = canonical(counted(events, by))
    pairs = outcomes.group_by("a", "b", "outcome").agg(n=pl.len())
    sides = pl.concat([outcomes.select("arena_id", name="a"), outcomes.select("arena_id", name="b")])
    arenas = sides.group_by("name").agg(arenas=pl.col("arena_id").n_unique())
    return rate_pairs(pairs, arenas, bootstrap=bootstrap, seed=seed, min_games=min_games)


def canonical(outcomes: pl.DataFrame) -> pl.DataFrame:
    """`outcomes` (a, b, outcome: a's score) with a < b in every row, the score turned round where the sides swap.

    One game reads one way, so the running totals and a fold of the ledger count it in the same cell, and the
    bootstrap draws from the same cells in the same order (arena.analytics.totals keeps pairs this way).
    """
    swap = pl.col("a") > pl.col("b")
    return outcomes.with_columns(
        a=pl.when(swap).then("b").otherwise("a"),
        b=pl.when(swap).then("a").otherwise("b"),
        outcome=pl.when(swap).then(1.0 - pl.col("outcome")).otherwise("outcome"),
    )


def rate_pairs(
    pairs: pl.DataFrame, arenas: pl.DataFrame, *, bootstrap: int = 200, seed: int = 0, min_games: int = MIN_GAMES
) -> pl.DataFrame:
    """RATING_SCHEMA rows of folded games: `pairs` (a < b, outcome = a's score, n games) and `arenas` (name, arenas).

    The one place ratings are fitted from counts, for the ledger's fold (ratings_frame) and the running totals alike:
    the same counts give the same ratings and the same intervals.
    """
    pairs = pairs.filter(pl.col("n") > 0).sort("a", "b", "outcome")
    roster = pl.concat([pairs["a"], pairs["b"]]).unique().sort().to_list()
    index = pl.DataFrame({"name": roster, "i": range(len(roster))}, schema={"name": pl.String, "i": pl.Int64})
    coded = pairs.join(index.rename({"name": "a", "i": "ia"}), on="a", maintain_order="left").join(
        index.rename({"name": "b", "i": "ib"}), on="b", maintain_order="left"
    )  # players as integers: grouping millions of rows by long names costs seconds
    games = Games.indexed(
        roster, coded["ia"].to_numpy(), coded["ib"].to_numpy(), coded["outcome"].to_numpy(), coded["n"].to_numpy()
    )
    rows = [
        (r.name, r.rating, r.ci_low, r.ci_high, r.games, r.tier, r.provisional)
        for r in rate(games, bootstrap=bootstrap, seed=seed, min_games=min_games)
    ]
    frame = pl.DataFrame(rows, schema={k: v for k, v in RATING_SCHEMA.items() if k != "arenas"}, orient="row")
    arenas = arenas.select(pl.col("name").cast(pl.String), pl.col("arenas").cast(pl.Int64))
    return frame.join(arenas, on="name", how="left", maintain_order="left").select(*RATING_SCHEMA).cast(RATING_SCHEMA)
