"""Bradley-Terry ratings with seeded bootstrap confidence intervals and tiers, the way LMArena ranks chat models.

A player with fewer than MIN_GAMES games (5) is *provisional*: it is rated, with its interval, but not tiered (its
tier is None) and it is listed after every tiered player, because a handful of games cannot place it with the
certainty a tier suggests.

Plain Python on purpose: numpy is only a transitive dependency, and outcomes fold into per-pair totals, so fits stay small.
"""

import math
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, replace

__all__ = ["MIN_GAMES", "Outcome", "Rating", "bradley_terry", "rate", "tiers"]

SCALE, BASE = 400.0, 1000.0
MIN_GAMES = 5
"""Games (outcomes with positive weight) a player needs to be tiered; below it the player is provisional."""


@dataclass(frozen=True)
class Outcome:
    """One game between two players (an agent `model+strategy`, a model, or a strategy)."""

    a: str
    b: str
    score: float
    """1.0 a beat b, 0.0 b beat a, 0.5 tie (half a win each); values in between are fractional wins."""
    weight: float = 1.0
    """How many games this outcome counts as; 0 drops it."""


@dataclass(frozen=True)
class Rating:
    """A player's place on the leaderboard."""

    name: str
    rating: float
    """Elo-like: 1000 + 400 * log10(strength), with strengths scaled so the ratings average exactly 1000."""
    ci_low: float
    """2.5th percentile of the rating over bootstrap refits."""
    ci_high: float
    """97.5th percentile of the rating over bootstrap refits."""
    games: int
    """Outcomes (with positive weight) involving this player."""
    tier: int | None
    """1 = best; None for a provisional player. See `tiers`."""
    provisional: bool = False
    """Fewer than the minimum games (MIN_GAMES by default): rated, not tiered."""


def _check(outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes that carry weight; bad ones raise, because a silent skip would bias the ratings."""
    for o in outcomes:
        if o.a == o.b:
            raise ValueError(f"{o!r}: a player cannot play itself; drop self-play outcomes before rating")
        if not 0.0 <= o.score <= 1.0 or o.weight < 0 or not math.isfinite(o.weight):
            raise ValueError(f"{o!r}: score must be in [0, 1] and weight a finite number >= 0")
    return [o for o in outcomes if o.weight > 0]


def bradley_terry(
    outcomes: list[Outcome],
    *,
    prior: float = 1.0,
    iterations: int = 200,
    tol: float = 1e-9,
    players: list[str] | None = None,
) -> dict[str, float]:
    """Maximum-likelihood Bradley-Terry ratings, P(a beats b) = s_a / (s_a + s_b), by MM (Zermelo) iteration.

    Args:
        outcomes: games; ties count as half a win for each side, `weight` scales a game.
        prior: virtual ties (> 0) of every player against a fixed reference of strength 1, so that players with only
            wins or only losses get finite ratings. Small against real game counts, it barely moves anyone else.
        iterations: cap on steps. Each is a Zermelo step per player, then an MM step for a common multiplier of all
            strengths: games fix only ratios, and the level (held by the prior alone) would otherwise creep for
            hundreds of steps. Boards where wins chain without upsets still converge slowly; they hang on the prior.
        tol: stop once no log-strength moves more than this.
        players: who to rate; defaults to everyone in `outcomes`. The bootstrap passes the full roster so a player
            missing from a resample is still rated (from its prior alone).

    Returns:
        name -> 1000 + 400 * log10(strength), strengths scaled so the mean rating is exactly 1000 (the geometric-mean
        player sits at 1000). A 400-point gap means 10:1 odds, as in Elo.
    """
    if prior <= 0:
        raise ValueError(f"prior={prior}: use a small positive prior, e.g. 1.0; without it undefeated players diverge")
    kept = _check(outcomes)
    players = _players(kept) if players is None else players
    if not players:
        return {}
    index = {p: i for i, p in enumerate(players)}
    wins = [prior / 2] * len(players)
    games: dict[tuple[int, int], float] = defaultdict(float)  # (i, j) with i < j -> total weight
    for o in kept:
        i, j = index[o.a], index[o.b]
        wins[i] += o.weight * o.score
        wins[j] += o.weight * (1 - o.score)
        games[min(i, j), max(i, j)] += o.weight
    strength = [1.0] * len(players)
    for _ in range(iterations):
        denom = [prior / (s + 1.0) for s in strength]
        for (i, j), n in games.items():
            share = n / (strength[i] + strength[j])
            denom[i] += share
            denom[j] += share
        new = [w / d for w, d in zip(wins, denom, strict=True)]
        level = len(new) / 2 / sum(s / (s + 1.0) for s in new)  # MM for c in the prior's sum of log(c s / (c s + 1)^2)
        new = [s * level for s in new]
        change = max(abs(math.log(n / s)) for n, s in zip(new, strength, strict=True))
        strength = new
        if change < tol:
            break
    logs = [math.log10(s) for s in strength]
    return {p: BASE + SCALE * (x - statistics.fmean(logs)) for p, x in zip(players, logs, strict=True)}


def _players(outcomes: list[Outcome]) -> list[str]:
    return sorted({o.a for o in outcomes} | {o.b for o in outcomes})


def rate(outcomes: list[Outcome], *, bootstrap: int = 200, seed: int = 0, min_games: int = MIN_GAMES) -> list[Rating]:
    """Point ratings plus percentile-bootstrap 95 % intervals, with tiers: tiered players best first, then provisional
    ones (fewer than `min_games` games; tier None) best first.

    Each resample draws len(outcomes) outcomes with replacement (seeded, so the same input and seed give the same
    output) and refits every original player; one missing from a resample keeps only its prior and lands near 1000,
    which widens its interval, as it should for a player whose rating hangs on few games. Fits use the default prior.
    """
    kept = _check(outcomes)
    players = _players(kept)
    point = bradley_terry(kept, players=players)
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {p: [] for p in players}
    for _ in range(bootstrap):
        for p, r in bradley_terry(rng.choices(kept, k=len(kept)), players=players).items():
            samples[p].append(r)
    games = {p: sum(p in (o.a, o.b) for o in kept) for p in players}
    ratings = []
    for p in players:
        low, high = point[p], point[p]
        if len(samples[p]) >= 2:
            cuts = statistics.quantiles(samples[p], n=40, method="inclusive")  # cut 0 is 2.5 %, cut 38 is 97.5 %
            low, high = cuts[0], cuts[-1]
        ratings.append(Rating(p, point[p], low, high, games[p], tier=None, provisional=games[p] < min_games))
    return tiers(ratings)


def tiers(ratings: list[Rating]) -> list[Rating]:
    """Group players whose intervals overlap, the LMArena way, so the board does not rank noise.

    Walk players best first (by rating, then name). The first player opens tier 1 and heads it. A later player opens
    the next tier, and heads it, when its ci_high is below the ci_low of the current tier's head; otherwise it joins
    the head's tier. Comparing with the head rather than the previous player stops a chain of small overlaps from
    merging the whole board into one tier.

    Provisional players are left out of the walk: they get tier None and follow the tiered players, best first.
    """
    ranked, head, tier = [], None, 0
    for r in sorted(ratings, key=lambda r: (r.provisional, -r.rating, r.name)):
        if r.provisional:
            ranked.append(replace(r, tier=None))
            continue
        if head is None or r.ci_high < head.ci_low:
            head, tier = r, tier + 1
        ranked.append(replace(r, tier=tier))
    return ranked
