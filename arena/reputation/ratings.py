"""Bradley-Terry ratings with seeded bootstrap confidence intervals and tiers, the way LMArena ranks chat models.

A player with fewer than MIN_GAMES games (5) is *provisional*: it is rated, with its interval, but not tiered (its
tier is None) and it is listed after every tiered player, because a handful of games cannot place it with the
certainty a tier suggests.

Outcomes fold into numpy arrays (`Games`: one entry per distinct game, with how often it happened), so the cost of a
fit grows with the players and the pairs that met, not with the games: 19,900 games of one 200-agent arena are one
array. Fits are Newton steps on the log-strengths (a few steps where Zermelo's MM iteration needs hundreds), and the
bootstrap refits all its resamples at once.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["EXACT_BOOTSTRAP_LIMIT", "MIN_GAMES", "Games", "Outcome", "Rating", "bradley_terry", "rate", "tiers"]

SCALE, BASE = 400.0, 1000.0
MIN_GAMES = 5
"""Games (outcomes with positive weight) a player needs to be tiered; below it the player is provisional."""
EXACT_BOOTSTRAP_LIMIT = 1e8
"""Largest bootstrap x (players^3 + 50 x distinct games) whose resamples are refit one by one (a batched solve per
resample and Newton step, and the games of every resample); larger boards draw the bootstrap's large-sample limit
instead (see `rate`). 200 resamples of 50 players with 5,000 distinct games: 7.5e7, ~0.2 s; of 1,000 players whose
500k pairs met, exact refits would take minutes."""


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


@dataclass(frozen=True)
class Games:
    """Outcomes folded: entry k is the game (players[a[k]] vs players[b[k]], score[k], weight[k]), played count[k] times.

    Build it with `Games.fold(outcomes)` or, from columns already counted (e.g. a polars group_by), `Games.of(...)`.
    Only games with positive weight and count are kept; bad ones raise, because a silent skip would bias the ratings.
    """

    players: list[str]
    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    weight: np.ndarray
    count: np.ndarray

    @classmethod
    def fold(cls, outcomes: Sequence[Outcome], players: Sequence[str] | None = None) -> "Games":
        """`outcomes` counted: identical outcomes become one entry."""
        for o in outcomes:
            if not 0.0 <= o.score <= 1.0 or o.weight < 0 or not math.isfinite(o.weight) or o.a == o.b:
                _refuse(repr(o), o.a == o.b)
        counted: dict[tuple[str, str, float, float], int] = {}
        for o in outcomes:
            if o.weight > 0:
                key = (o.a, o.b, o.score, o.weight)
                counted[key] = counted.get(key, 0) + 1
        a, b, score, weight = zip(*counted, strict=True) if counted else ((), (), (), ())
        return cls.of(a, b, score, list(counted.values()), weight, players=players)

    @classmethod
    def of(
        cls,
        a: Sequence[str],
        b: Sequence[str],
        score: Sequence[float],
        count: Sequence[int],
        weight: Sequence[float] | None = None,
        *,
        players: Sequence[str] | None = None,
    ) -> "Games":
        """Columns of counted games by name (weight 1 when not given); `players` defaults to everyone who played."""
        roster = sorted({*a, *b}) if players is None else list(players)
        index = {p: i for i, p in enumerate(roster)}
        try:
            ia, ib = [index[p] for p in a], [index[p] for p in b]
        except KeyError as e:
            raise ValueError(f"{e.args[0]!r} played but is not among the players given; pass every player") from None
        return cls.indexed(roster, ia, ib, score, count, weight)

    @classmethod
    def indexed(
        cls,
        players: Sequence[str],
        a: Sequence[int],
        b: Sequence[int],
        score: Sequence[float],
        count: Sequence[int],
        weight: Sequence[float] | None = None,
    ) -> "Games":
        """Columns of counted games by index into `players` (weight 1 when not given)."""
        ia, ib = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        score_, count_ = np.asarray(score, dtype=float), np.asarray(count, dtype=np.int64)
        weight_ = np.ones(len(score_)) if weight is None else np.asarray(weight, dtype=float)
        bad = (ia == ib) | ~((score_ >= 0) & (score_ <= 1)) | ~np.isfinite(weight_) | (weight_ < 0) | (count_ < 0)
        if bad.any():
            k = int(np.argmax(bad))
            what = (
                f"{players[ia[k]]!r} vs {players[ib[k]]!r}, score {score_[k]}, weight {weight_[k]}, count {count_[k]}"
            )
            _refuse(what, ia[k] == ib[k])
        keep = (weight_ > 0) & (count_ > 0)
        return cls(list(players), ia[keep], ib[keep], score_[keep], weight_[keep], count_[keep])

    def compact(self) -> "Games":
        """Identical games (same players, score and weight) merged into one entry."""
        scores, score_code = np.unique(self.score, return_inverse=True)
        weights, weight_code = np.unique(self.weight, return_inverse=True)
        pair = self.a * len(self.players) + self.b
        keys, where = np.unique((pair * len(scores) + score_code) * len(weights) + weight_code, return_inverse=True)
        weight_of, rest = keys % len(weights), keys // len(weights)
        score_of, pair_of = rest % len(scores), rest // len(scores)
        n, count = len(self.players), np.bincount(where, self.count, len(keys)).astype(np.int64)
        return Games(self.players, pair_of // n, pair_of % n, scores[score_of], weights[weight_of], count)

    @property
    def outcomes(self) -> int:
        """How many outcomes were folded (what one bootstrap resample draws)."""
        return int(self.count.sum())

    def played(self) -> np.ndarray:
        """Per player: outcomes involving it."""
        n = len(self.players)
        return np.bincount(self.a, self.count, n).astype(np.int64) + np.bincount(self.b, self.count, n).astype(np.int64)


def _refuse(what: str, self_play: bool) -> None:
    if self_play:
        raise ValueError(f"{what}: a player cannot play itself; drop self-play outcomes before rating")
    raise ValueError(f"{what}: score must be in [0, 1] and weight a finite number >= 0")


class _Pairs:
    """Games reduced to what the likelihood needs: pairs that met (lo < hi) and, per resample, wins and pair totals."""

    def __init__(self, games: Games, prior: float):
        self.n_players, self.prior = len(games.players), prior
        lo, hi = np.minimum(games.a, games.b), np.maximum(games.a, games.b)
        score_lo = np.where(games.a < games.b, games.score, 1.0 - games.score)
        keys, self.pair_of = np.unique(lo * self.n_players + hi, return_inverse=True)
        self.lo, self.hi = keys // self.n_players, keys % self.n_players
        self.game_lo, self.game_hi = lo, hi
        self.won_lo = games.weight * score_lo  # per game entry: wins of lo (ties are half a win), then of hi
        self.won_hi = games.weight * (1.0 - score_lo)
        self.weight = games.weight

    def totals(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(wins per player with the prior's half, games per pair), one row per row of `counts` (resamples x games)."""
        n = self.n_players
        wins = _scatter(self.game_lo, counts * self.won_lo, n) + _scatter(self.game_hi, counts * self.won_hi, n)
        return wins + self.prior / 2, _scatter(self.pair_of, counts * self.weight, len(self.lo))


def _scatter(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Row-wise bincount: out[r, i] = sum of values[r, k] where index[k] == i."""
    rows = values.shape[0]
    flat = (np.arange(rows)[:, None] * size + index[None, :]).ravel()
    return np.bincount(flat, values.ravel(), rows * size).reshape(rows, size)


def _log_likelihood(t: np.ndarray, wins: np.ndarray, games: np.ndarray, pairs: _Pairs) -> np.ndarray:
    """Per row: the prior-penalised log-likelihood of log-strengths `t` (the prior: ties against strength 1)."""
    met = np.logaddexp(t[:, pairs.lo], t[:, pairs.hi])
    return (wins * t).sum(1) - (games * met).sum(1) - pairs.prior * np.logaddexp(0.0, t).sum(1)


def _fit(
    wins: np.ndarray, games: np.ndarray, pairs: _Pairs, start: np.ndarray, iterations: int, tol: float
) -> np.ndarray:
    """Log-strengths maximising the penalised likelihood, one row per row of wins/games, by damped Newton steps.

    The objective is strictly concave (the prior makes it so), so a step that lowers it is halved until it does not;
    the fit stops once no log-strength moves more than `tol`, or after `iterations` steps.
    """
    t, n, prior = start.copy(), pairs.n_players, pairs.prior
    diagonal = np.arange(n) * (n + 1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(t[:, pairs.hi] - t[:, pairs.lo]))  # P(lo beats hi)
        q = 1.0 / (1.0 + np.exp(-t))  # P(beats the prior's reference)
        expected = _scatter(pairs.lo, games * p, n) + _scatter(pairs.hi, games * (1 - p), n)
        gradient = wins - expected - prior * q
        curvature = games * p * (1 - p)
        hessian = np.zeros((t.shape[0], n * n))
        hessian[:, pairs.lo * n + pairs.hi] = hessian[:, pairs.hi * n + pairs.lo] = -curvature
        hessian[:, diagonal] = _scatter(pairs.lo, curvature, n) + _scatter(pairs.hi, curvature, n) + prior * q * (1 - q)
        step = np.linalg.solve(hessian.reshape(-1, n, n), gradient[..., None])[..., 0]
        before = _log_likelihood(t, wins, games, pairs)
        scale = np.ones((t.shape[0], 1))
        for _ in range(50):
            worse = _log_likelihood(t + scale * step, wins, games, pairs) < before - 1e-12 * np.maximum(1, abs(before))
            if not worse.any():
                break
            scale[worse] /= 2
        moved = scale * step
        t += moved
        if np.abs(moved).max(initial=0.0) < tol:
            break
    return t


def _ratings(t: np.ndarray) -> np.ndarray:
    """Log-strengths (natural log) -> the Elo-like scale, each row averaging exactly BASE."""
    return BASE + SCALE / math.log(10) * (t - t.mean(axis=-1, keepdims=True))


def bradley_terry(
    outcomes: Sequence[Outcome] | Games,
    *,
    prior: float = 1.0,
    iterations: int = 200,
    tol: float = 1e-9,
    players: list[str] | None = None,
) -> dict[str, float]:
    """Maximum-likelihood Bradley-Terry ratings, P(a beats b) = s_a / (s_a + s_b), by Newton steps on log-strengths.

    Args:
        outcomes: games (or `Games`); ties count as half a win for each side, `weight` scales a game.
        prior: virtual ties (> 0) of every player against a fixed reference of strength 1, so that players with only
            wins or only losses get finite ratings. Small against real game counts, it barely moves anyone else.
        iterations: cap on Newton steps (each halved while it would lower the likelihood). A handful reach `tol`.
        tol: stop once no log-strength moves more than this.
        players: who to rate; defaults to everyone in `outcomes`. A player without games is rated from its prior
            alone (1000 on a board of equals).

    Returns:
        name -> 1000 + 400 * log10(strength), strengths scaled so the mean rating is exactly 1000 (the geometric-mean
        player sits at 1000). A 400-point gap means 10:1 odds, as in Elo.
    """
    if prior <= 0:
        raise ValueError(f"prior={prior}: use a small positive prior, e.g. 1.0; without it undefeated players diverge")
    games = outcomes if isinstance(outcomes, Games) else Games.fold(outcomes, players)
    if isinstance(outcomes, Games) and players is not None:
        named = [outcomes.players[i] for i in outcomes.a], [outcomes.players[i] for i in outcomes.b]
        games = Games.of(*named, outcomes.score, outcomes.count, outcomes.weight, players=players)
    if not games.players:
        return {}
    pairs = _Pairs(games, prior)
    wins, met = pairs.totals(games.count[None, :].astype(float))
    t = _fit(wins, met, pairs, np.zeros((1, len(games.players))), iterations, tol)
    return dict(zip(games.players, map(float, _ratings(t)[0]), strict=True))


def rate(
    outcomes: Sequence[Outcome] | Games, *, bootstrap: int = 200, seed: int = 0, min_games: int = MIN_GAMES
) -> list[Rating]:
    """Point ratings plus percentile-bootstrap 95 % intervals, with tiers: tiered players best first, then provisional
    ones (fewer than `min_games` games; tier None) best first.

    Each resample draws as many outcomes as there are, with replacement (a multinomial over the distinct games,
    seeded: the same input and seed give the same output), and refits every original player, all resamples at once.
    A player missing from a resample keeps only its prior and lands near 1000, which widens its interval, as it
    should for a player whose rating hangs on few games. Fits use the default prior.

    Boards larger than EXACT_BOOTSTRAP_LIMIT take the bootstrap's large-sample limit instead of refitting each
    resample: the resampled score gradient is normal with the covariance of the games' own gradients, and each draw
    moves the point fit by one Newton step (the inverse information times the draw). With hundreds of games per
    player the two agree to a rating point or so; 200 exact refits of such a board would take minutes.
    """
    games = (outcomes if isinstance(outcomes, Games) else Games.fold(outcomes)).compact()
    if not games.players:
        return []
    pairs = _Pairs(games, prior=1.0)
    wins, met = pairs.totals(games.count[None, :].astype(float))
    point = _fit(wins, met, pairs, np.zeros((1, len(games.players))), 200, 1e-9)
    low = high = _ratings(point)[0]
    if bootstrap >= 2:
        rng = np.random.default_rng(seed)
        if bootstrap * (len(games.players) ** 3 + 50 * len(games.count)) <= EXACT_BOOTSTRAP_LIMIT:
            draws = _resampled(games, pairs, point, bootstrap, rng)
        else:
            draws = _large_sample(games, pairs, point, wins, met, bootstrap, rng)
        low, high = np.quantile(_ratings(draws), [0.025, 0.975], axis=0)  # linear, as statistics' "inclusive"
    played = games.played()
    rated = [
        Rating(p, float(r), float(lo), float(hi), int(n), tier=None, provisional=bool(n < min_games))
        for p, r, lo, hi, n in zip(games.players, _ratings(point)[0], low, high, played, strict=True)
    ]
    return tiers(rated)


def _resampled(games: Games, pairs: _Pairs, point: np.ndarray, bootstrap: int, rng) -> np.ndarray:
    """Log-strengths refit on `bootstrap` resamples of the outcomes (rows), all at once, from the point fit."""
    counts = rng.multinomial(games.outcomes, games.count / games.outcomes, size=bootstrap).astype(float)
    wins, met = pairs.totals(counts)
    return _fit(wins, met, pairs, np.repeat(point, bootstrap, axis=0), 200, 1e-6)  # 1e-6: 0.0002 rating points


def _large_sample(
    games: Games, pairs: _Pairs, point: np.ndarray, wins: np.ndarray, met: np.ndarray, bootstrap: int, rng
) -> np.ndarray:
    """Log-strengths of `bootstrap` draws from the bootstrap's normal limit around the point fit (rows)."""
    n, t = pairs.n_players, point[0]
    # Each outcome's score gradient is (won - expected) * weight on its winner's side and the negative on the other.
    p_lo = 1.0 / (1.0 + np.exp(t[pairs.game_hi] - t[pairs.game_lo]))
    residual = games.weight * np.where(games.a < games.b, games.score, 1.0 - games.score) - games.weight * p_lo
    spread = games.count * residual**2
    pair_spread = np.bincount(pairs.pair_of, spread, len(pairs.lo))
    total = np.bincount(pairs.game_lo, games.count * residual, n) - np.bincount(
        pairs.game_hi, games.count * residual, n
    )
    meat = _laplacian(pairs, pair_spread, n) - np.outer(total, total) / max(games.outcomes, 1)
    p = 1.0 / (1.0 + np.exp(t[pairs.hi] - t[pairs.lo]))
    q = 1.0 / (1.0 + np.exp(-t))
    information = _laplacian(pairs, met[0] * p * (1 - p), n) + np.diag(pairs.prior * q * (1 - q))
    # The meat is singular along each connected group's common shift (which the ratings ignore): a tiny ridge keeps
    # its Cholesky factor real without moving any rating difference.
    ridge = 1e-9 * max(float(np.trace(meat)) / n, 1e-12)
    root = np.linalg.cholesky(meat + ridge * np.eye(n))
    shifts = np.linalg.solve(information, root @ rng.standard_normal((n, bootstrap)))
    return point + shifts.T


def _laplacian(pairs: _Pairs, weight: np.ndarray, n: int) -> np.ndarray:
    """The n x n matrix with -weight at each met pair (both ways) and each player's total weight on the diagonal."""
    matrix = np.zeros(n * n)
    matrix[pairs.lo * n + pairs.hi] = matrix[pairs.hi * n + pairs.lo] = -weight  # pairs are distinct
    matrix = matrix.reshape(n, n)
    matrix[np.diag_indices(n)] = np.bincount(pairs.lo, weight, n) + np.bincount(pairs.hi, weight, n)
    return matrix


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
