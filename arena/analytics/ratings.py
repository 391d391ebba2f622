"""Ratings frames: pairwise outcomes from the ledger, rated by arena.reputation.ratings (Bradley-Terry + bootstrap).

Only each arena's newest recorded verdict counts (a re-judge replaces its outcomes, as it does for wins).
Revert rule: a `pairwise` event counts as a win for the side it favours (outcome 1 -> agent, 0 -> opponent) unless
that side has a `reverted` event in the same arena: its win there was undone, so the outcome is dropped (not turned
into a loss: the revert already costs the agent its stake). Ties and the other pairs of that arena still count.
For by='model' / by='strategy' each agent maps to its model / strategy (split on the last '+'); an outcome whose two
sides map to the same name says nothing about it and is dropped.
Beside every interval: `games` (counted outcomes) and `arenas` (arenas with a counted outcome of the player); a player
with fewer than MIN_GAMES games is `provisional`, with a null tier (arena.reputation.ratings).
"""

import polars as pl

from arena.analytics.duck import split_agent
from arena.analytics.frames import events_df
from arena.reputation.ratings import MIN_GAMES, Outcome, rate
from arena.storage import Store

RATED = ("agent", "model", "strategy")
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


def _player(agent: str, by: str) -> str | None:
    if by == "agent":
        return agent
    model, strategy = split_agent(agent)
    return model if by == "model" else strategy


def pairwise_outcomes(events: pl.DataFrame, by: str = "agent") -> list[Outcome]:
    """Outcomes of every counted `pairwise` event in `events` (an events_df), players named per `by`."""
    return [o for _, o in _counted(events, by)]


def _counted(events: pl.DataFrame, by: str) -> list[tuple[str, Outcome]]:
    """(arena id, outcome) of every counted `pairwise` event."""
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
            outcomes.append((e["arena_id"], Outcome(a, b, e["outcome"])))
    return outcomes


def ratings_df(
    store: Store, by: str = "agent", *, bootstrap: int = 200, seed: int = 0, min_games: int = MIN_GAMES
) -> pl.DataFrame:
    """One row per rated player (RATING_SCHEMA): tiered players best first, then provisional ones best first."""
    counted = _counted(events_df(store), by)
    arenas: dict[str, set[str]] = {}
    for arena_id, o in counted:
        arenas.setdefault(o.a, set()).add(arena_id)
        arenas.setdefault(o.b, set()).add(arena_id)
    ratings = rate([o for _, o in counted], bootstrap=bootstrap, seed=seed, min_games=min_games)
    rows = [
        (r.name, r.rating, r.ci_low, r.ci_high, r.games, len(arenas[r.name]), r.tier, r.provisional) for r in ratings
    ]
    return pl.DataFrame(rows, schema=RATING_SCHEMA, orient="row")
