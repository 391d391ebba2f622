"""Ratings frames: pairwise outcomes from the ledger, rated by arena.reputation.ratings (Bradley-Terry + bootstrap).

Only each arena's newest recorded verdict counts (a re-judge replaces its outcomes, as it does for wins).
Revert rule: a `pairwise` event counts as a win for the side it favours (outcome 1 -> agent, 0 -> opponent) unless
that side has a `reverted` event in the same arena: its win there was undone, so the outcome is dropped (not turned
into a loss: the revert already costs the agent its stake). Ties and the other pairs of that arena still count.
For by='model' / by='strategy' each agent maps to its model / strategy (split on the last '+'); an outcome whose two
sides map to the same name says nothing about it and is dropped.
"""

import polars as pl

from arena.analytics.duck import split_agent
from arena.analytics.frames import events_df
from arena.reputation.ratings import Outcome, rate
from arena.storage import Store

RATED = ("agent", "model", "strategy")
RATING_SCHEMA = {
    "name": pl.String,
    "rating": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "games": pl.Int64,
    "tier": pl.Int64,
}


def _player(agent: str, by: str) -> str | None:
    if by == "agent":
        return agent
    model, strategy = split_agent(agent)
    return model if by == "model" else strategy


def pairwise_outcomes(events: pl.DataFrame, by: str = "agent") -> list[Outcome]:
    """Outcomes of every counted `pairwise` event in `events` (an events_df), players named per `by`."""
    if by not in RATED:
        raise ValueError(f"ratings are by one of {', '.join(RATED)}, not {by!r}")
    reverted = set(events.filter(pl.col("kind") == "reverted").select("arena_id", "agent").iter_rows())
    newest = (  # each arena's newest recorded verdict counts, as for wins (arena.reputation.ledger.newest_outcomes)
        events.filter(pl.col("kind") == "place")
        .group_by("arena_id")
        .agg(newest=pl.col("verdict_id").fill_null(0).max())
    )
    pairwise = events.filter(pl.col("kind") == "pairwise", pl.col("outcome").is_not_null()).join(
        newest, on="arena_id", how="left"
    )
    pairwise = pairwise.filter(pl.col("verdict_id").fill_null(0) == pl.col("newest").fill_null(0))
    outcomes = []
    for e in pairwise.iter_rows(named=True):
        winner = {1.0: e["agent"], 0.0: e["opponent"]}.get(e["outcome"])
        if winner is not None and (e["arena_id"], winner) in reverted:
            continue
        a, b = _player(e["agent"], by), _player(e["opponent"] or "", by)
        if a and b and a != b:
            outcomes.append(Outcome(a, b, e["outcome"]))
    return outcomes


def ratings_df(store: Store, by: str = "agent", *, bootstrap: int = 200, seed: int = 0) -> pl.DataFrame:
    """One row per rated player (name, rating, ci_low, ci_high, games, tier), best first."""
    ratings = rate(pairwise_outcomes(events_df(store), by), bootstrap=bootstrap, seed=seed)
    rows = [(r.name, r.rating, r.ci_low, r.ci_high, r.games, r.tier) for r in ratings]
    return pl.DataFrame(rows, schema=RATING_SCHEMA, orient="row")
