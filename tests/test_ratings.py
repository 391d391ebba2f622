"""Bradley-Terry ratings: checked against an independent Newton fit and the pure-Python MM fit numpy replaced, then
ordering, bootstrap, tiers, edges and scale."""

import math
import random
import statistics
from collections import defaultdict

import pytest

from arena.reputation import ratings as ratings_module
from arena.reputation.ratings import (
    EXACT_BOOTSTRAP_LIMIT,
    MIN_GAMES,
    Games,
    Outcome,
    Rating,
    bradley_terry,
    rate,
    tiers,
)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting; small and dense is all the reference needs."""
    n = len(rhs)
    m = [row[:] + [b] for row, b in zip(matrix, rhs, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def newton_reference(outcomes: list[Outcome], prior: float) -> dict[str, float]:
    """Normalized strengths by Newton's method on the penalized log-likelihood in log-strengths.

    Model: P(a beats b) = sigmoid(t_a - t_b); each player also has `prior` ties against a reference with t = 0.
    Written from the likelihood, not from the MM update, so it checks the fit rather than restating it.
    """
    players = sorted({o.a for o in outcomes} | {o.b for o in outcomes})
    idx = {p: i for i, p in enumerate(players)}
    t = [0.0] * len(players)
    for _ in range(100):
        grad = [prior * (0.5 - sigmoid(x)) for x in t]
        hess = [[0.0] * len(t) for _ in t]
        for i, x in enumerate(t):
            hess[i][i] -= prior * sigmoid(x) * (1 - sigmoid(x))
        for o in outcomes:
            i, j = idx[o.a], idx[o.b]
            p = sigmoid(t[i] - t[j])
            grad[i] += o.weight * (o.score - p)
            grad[j] -= o.weight * (o.score - p)
            c = o.weight * p * (1 - p)
            hess[i][i] -= c
            hess[j][j] -= c
            hess[i][j] += c
            hess[j][i] += c
        step = solve(hess, grad)
        t = [x - s for x, s in zip(t, step, strict=True)]
        if max(abs(s) for s in step) < 1e-13:
            break
    mean = sum(t) / len(t)
    return {p: math.exp(t[idx[p]] - mean) for p in players}


def strengths(ratings: dict[str, float]) -> dict[str, float]:
    """Back from the Elo-like scale to strengths with geometric mean 1."""
    return {p: 10 ** ((r - 1000) / 400) for p, r in ratings.items()}


def games(a: str, b: str, a_wins: int, b_wins: int, ties: int = 0) -> list[Outcome]:
    return [Outcome(a, b, 1.0)] * a_wins + [Outcome(a, b, 0.0)] * b_wins + [Outcome(a, b, 0.5)] * ties


MIXED = [
    *games("gpt+react", "claude+react", 3, 2, ties=1),
    *games("claude+react", "qwen+plan", 4, 1),
    *games("qwen+plan", "gpt+react", 1, 3, ties=2),
    *games("llama+plan", "qwen+plan", 2, 2),
    Outcome("llama+plan", "gpt+react", 1.0, weight=2.5),
    Outcome("claude+react", "llama+plan", 0.5, weight=3.0),
    Outcome("llama+plan", "claude+react", 0.25, weight=0.7),  # a fractional score
]
UNDEFEATED = [*games("a", "b", 5, 0), *games("a", "c", 3, 0), *games("b", "c", 2, 2, ties=1)]


@pytest.mark.parametrize(("outcomes", "prior"), [(MIXED, 1.0), (MIXED, 0.1), (UNDEFEATED, 1.0), (UNDEFEATED, 3.0)])
def test_mm_fit_matches_independent_newton_fit(outcomes, prior):
    got = strengths(bradley_terry(outcomes, prior=prior, iterations=10_000))
    want = newton_reference(outcomes, prior)
    assert got == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("outcomes", [MIXED, UNDEFEATED])
def test_default_iterations_are_enough(outcomes):
    assert strengths(bradley_terry(outcomes)) == pytest.approx(newton_reference(outcomes, 1.0), abs=1e-6)


def test_scale_is_elo_like_and_mean_pinned_at_1000():
    ratings = bradley_terry(games("a", "b", 10, 1), prior=1e-9)  # next to no prior: 10:1 odds
    assert ratings == pytest.approx({"a": 1200.0, "b": 800.0})
    assert sum(bradley_terry(MIXED).values()) / 4 == pytest.approx(1000.0)


def test_a_tie_is_half_a_win_for_each_side():
    split = games("a", "b", 1, 1) + games("a", "c", 2, 0)
    tied = [Outcome("a", "b", 0.5, weight=2.0), *games("a", "c", 2, 0)]
    assert bradley_terry(split) == pytest.approx(bradley_terry(tied))


def test_a_player_who_beats_everyone_rates_highest():
    outcomes = [*games("champ", "x", 3, 0), *games("champ", "y", 2, 0), *games("x", "y", 4, 3)]
    assert [r.name for r in rate(outcomes, bootstrap=50)] == ["champ", "x", "y"]


@pytest.mark.parametrize(
    "outcomes",
    [
        [*games("a", "b", 2, 0), *games("b", "c", 2, 0), *games("c", "a", 2, 0)],
        [*games("a", "b", 0, 0, ties=3), *games("b", "c", 1, 1), *games("a", "c", 0, 0, ties=2)],
    ],
)
def test_symmetric_round_robin_rates_everyone_equal_in_one_tier(outcomes):
    ratings = rate(outcomes * 2, bootstrap=100)  # twice over: everyone has MIN_GAMES or more, so is tiered
    assert [r.rating for r in ratings] == pytest.approx([1000.0] * 3)
    assert {r.tier for r in ratings} == {1}


def test_bootstrap_is_seeded():
    assert rate(MIXED, seed=7) == rate(MIXED, seed=7)
    assert rate(MIXED, seed=7) != rate(MIXED, seed=8)


def test_intervals_contain_the_point_rating():
    for r in rate(MIXED) + rate(UNDEFEATED):
        assert r.ci_low <= r.rating <= r.ci_high, r


def test_more_games_give_narrower_intervals():
    few = games("strong", "weak", 7, 3)
    many = few * 10

    def width(outcomes: list[Outcome]) -> float:
        strong = next(r for r in rate(outcomes, seed=3) if r.name == "strong")
        return strong.ci_high - strong.ci_low

    assert width(many) < 0.5 * width(few)


def test_clearly_separated_players_get_separate_tiers():
    ratings = rate(games("strong", "weak", 45, 5))
    assert [(r.name, r.tier) for r in ratings] == [("strong", 1), ("weak", 2)]
    assert ratings[1].ci_high < ratings[0].ci_low


def test_overlapping_players_share_a_tier():
    ratings = rate(games("a", "b", 6, 4))
    assert [(r.name, r.tier) for r in ratings] == [("a", 1), ("b", 1)]


def test_a_tier_is_measured_from_its_best_player_not_its_neighbour():
    def r(name: str, rating: float, low: float, high: float) -> Rating:
        return Rating(name, rating, low, high, games=10, tier=0)

    # b overlaps a, c overlaps b but not a, d overlaps c: chaining would put all four in one tier.
    board = [r("c", 960, 940, 980), r("a", 1050, 1000, 1100), r("d", 940, 920, 965), r("b", 1000, 970, 1030)]
    assert [(x.name, x.tier) for x in tiers(board)] == [("a", 1), ("b", 1), ("c", 2), ("d", 2)]


def test_empty_input_gives_nothing():
    assert rate([]) == []
    assert bradley_terry([]) == {}


def test_a_player_who_only_wins_stays_finite():
    ratings = rate(games("winner", "loser", 20, 0))
    assert all(math.isfinite(x) for r in ratings for x in (r.rating, r.ci_low, r.ci_high))
    assert ratings[0].name == "winner"
    assert ratings[0].rating > ratings[1].rating


def test_games_count_outcomes_and_zero_weight_players_are_left_out():
    outcomes = [*games("a", "b", 2, 1), Outcome("a", "c", 1.0), Outcome("a", "ghost", 1.0, weight=0.0)]
    ratings = {r.name: r.games for r in rate(outcomes, bootstrap=10)}
    assert ratings == {"a": 4, "b": 3, "c": 1}


@pytest.mark.parametrize("bad", [Outcome("a", "a", 1.0), Outcome("a", "b", 1.5), Outcome("a", "b", 1.0, weight=-1.0)])
def test_bad_outcomes_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError, match="a player cannot play itself|score must be in"):
        rate([bad])


def test_a_zero_prior_is_refused_because_undefeated_players_would_diverge():
    with pytest.raises(ValueError, match="small positive prior"):
        bradley_terry(games("a", "b", 3, 0), prior=0.0)


def test_a_player_with_fewer_than_min_games_is_provisional_untiered_and_listed_last():
    outcomes = [*games("strong", "weak", 45, 5), *games("newcomer", "weak", 1, 0)]  # newcomer: 1 game, 1 win
    ratings = rate(outcomes)
    assert MIN_GAMES == 5
    assert [(r.name, r.games, r.tier, r.provisional) for r in ratings] == [
        ("strong", 50, 1, False),
        ("weak", 51, 2, False),
        ("newcomer", 1, None, True),
    ]
    tiered = {r.name: r.tier for r in rate(outcomes, min_games=1)}
    assert tiered["newcomer"] is not None  # the threshold is the only thing keeping it out


def test_exactly_min_games_is_enough_to_be_tiered():
    ratings = {r.name: r for r in rate(games("a", "b", 3, 2) + games("b", "c", 1, 0))}
    assert (ratings["a"].games, ratings["a"].provisional, ratings["a"].tier) == (MIN_GAMES, False, 1)
    assert (ratings["c"].games, ratings["c"].provisional, ratings["c"].tier) == (1, True, None)


def test_a_provisional_player_never_heads_a_tier():
    def r(name: str, rating: float, low: float, high: float, n: int) -> Rating:
        return Rating(name, rating, low, high, games=n, tier=None, provisional=n < MIN_GAMES)

    # lucky has the best rating and an interval that would otherwise open tier 1 above everyone
    board = [r("a", 1050, 1000, 1100, 20), r("lucky", 1400, 1200, 1600, 1), r("b", 1000, 970, 1030, 20)]
    assert [(x.name, x.tier) for x in tiers(board)] == [("a", 1), ("b", 1), ("lucky", None)]


# -- the numpy fit against the pure-Python one it replaced ---------------------------------------------------------


def reference_bradley_terry(
    outcomes: list[Outcome],
    *,
    prior: float = 1.0,
    iterations: int = 200,
    tol: float = 1e-9,
    players: list[str] | None = None,
) -> dict[str, float]:
    """The MM (Zermelo) fit this module used before numpy, kept verbatim as an oracle (validation left out)."""
    kept = [o for o in outcomes if o.weight > 0]
    players = sorted({o.a for o in kept} | {o.b for o in kept}) if players is None else players
    if not players:
        return {}
    index = {p: i for i, p in enumerate(players)}
    wins = [prior / 2] * len(players)
    pair_games: dict[tuple[int, int], float] = defaultdict(float)  # (i, j) with i < j -> total weight
    for o in kept:
        i, j = index[o.a], index[o.b]
        wins[i] += o.weight * o.score
        wins[j] += o.weight * (1 - o.score)
        pair_games[min(i, j), max(i, j)] += o.weight
    strength = [1.0] * len(players)
    for _ in range(iterations):
        denom = [prior / (s + 1.0) for s in strength]
        for (i, j), n in pair_games.items():
            share = n / (strength[i] + strength[j])
            denom[i] += share
            denom[j] += share
        new = [w / d for w, d in zip(wins, denom, strict=True)]
        level = len(new) / 2 / sum(s / (s + 1.0) for s in new)
        new = [s * level for s in new]
        change = max(abs(math.log(n / s)) for n, s in zip(new, strength, strict=True))
        strength = new
        if change < tol:
            break
    logs = [math.log10(s) for s in strength]
    return {p: 1000 + 400 * (x - statistics.fmean(logs)) for p, x in zip(players, logs, strict=True)}


def reference_intervals(outcomes: list[Outcome], bootstrap: int, seed: int) -> dict[str, tuple[float, float]]:
    """The bootstrap this module used before numpy: `bootstrap` resamples of the outcomes, each refit."""
    players = sorted({o.a for o in outcomes} | {o.b for o in outcomes})
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {p: [] for p in players}
    for _ in range(bootstrap):
        for p, r in reference_bradley_terry(rng.choices(outcomes, k=len(outcomes)), players=players).items():
            samples[p].append(r)
    cuts = {p: statistics.quantiles(samples[p], n=40, method="inclusive") for p in players}
    return {p: (c[0], c[-1]) for p, c in cuts.items()}


def random_board(rng: random.Random) -> list[Outcome]:
    """A few players with hidden strengths, games between random pairs: wins, ties, fractional scores, weights."""
    names = [f"p{i}" for i in range(rng.randint(2, 12))]
    skill = {p: rng.gauss(0, 1) for p in names}
    outcomes = []
    for _ in range(rng.randint(1, 80)):
        a, b = rng.sample(names, 2)
        chance = 1 / (1 + math.exp(skill[b] - skill[a]))
        score = rng.choice([float(rng.random() < chance), 0.5, round(rng.random(), 2)])
        weight = rng.choice([1.0, 1.0, 1.0, round(rng.uniform(0.1, 3), 2), 0.0])
        outcomes.append(Outcome(a, b, score, weight))
    return outcomes


@pytest.mark.parametrize("seed", range(40))
def test_the_numpy_fit_equals_the_pure_python_fit_it_replaced(seed):
    rng = random.Random(seed)
    outcomes, prior = random_board(rng), rng.choice([0.1, 1.0, 3.0])
    # The old fit stopped after 200 MM steps; a board whose wins chain without upsets may need more to converge,
    # and the Newton fit gets there: compare with the old fit run to convergence.
    want = reference_bradley_terry(outcomes, prior=prior, iterations=100_000, tol=1e-13)
    assert bradley_terry(outcomes, prior=prior) == pytest.approx(want, abs=1e-6)
    if want:
        assert {r.name: r.rating for r in rate(outcomes, bootstrap=0)} == pytest.approx(
            reference_bradley_terry(outcomes, iterations=100_000, tol=1e-13), abs=1e-6
        )


@pytest.mark.parametrize("seed", range(10))
def test_the_default_fit_equals_the_old_default_where_the_old_one_converged(seed):
    rng = random.Random(100 + seed)
    outcomes = [o for _ in range(3) for o in random_board(rng)]  # more games per pair: MM converges in 200 steps
    # MM stopped once a step moved every log-strength less than 1e-9, which can leave it ~1e-6 points short
    assert bradley_terry(outcomes) == pytest.approx(reference_bradley_terry(outcomes), abs=1e-5)


def test_batched_bootstrap_intervals_agree_with_the_one_by_one_bootstrap():
    rng = random.Random(5)
    names = [f"p{i}" for i in range(6)]
    outcomes = [
        Outcome(a, b, float(rng.random() < 1 / (1 + 10 ** ((names.index(a) - names.index(b)) / 4))))
        for _ in range(150)
        for a, b in [rng.sample(names, 2)]
    ]
    got = {r.name: (r.ci_low, r.ci_high) for r in rate(outcomes, bootstrap=400, seed=1)}
    want = reference_intervals(outcomes, bootstrap=400, seed=1)
    for name, (low, high) in want.items():  # different random draws: equal up to Monte Carlo error
        assert got[name][0] == pytest.approx(low, abs=25) and got[name][1] == pytest.approx(high, abs=25), name
        assert (got[name][1] - got[name][0]) == pytest.approx(high - low, rel=0.2), name


# -- at scale -----------------------------------------------------------------------------------------------------


def round_robin(players: int, seed: int = 0) -> list[Outcome]:
    """Every pair once, like the pairwise events of one arena with `players` contestants."""
    rng = random.Random(seed)
    names = [f"agent-{i:03d}" for i in range(players)]
    return [
        Outcome(a, b, float(rng.random() < 1 / (1 + 10 ** ((i - j) / 100))))
        for i, a in enumerate(names)
        for j, b in enumerate(names[i + 1 :], start=i + 1)
    ]


def test_outcomes_fold_into_counts_so_a_billion_games_are_one_entry_each():
    games = Games.of(["a", "a", "b", "b"], ["b", "b", "c", "c"], [1.0, 0.0, 1.0, 0.0], [10**9, 10**8, 10**9, 10**6])
    ratings = {r.name: r for r in rate(games, bootstrap=50)}
    assert {n: r.games for n, r in ratings.items()} == {"a": 11 * 10**8, "b": 2101 * 10**6, "c": 1001 * 10**6}
    assert [r.name for r in ratings.values()] == ["a", "b", "c"]
    assert ratings["a"].rating - ratings["b"].rating == pytest.approx(400, abs=0.01)  # 10:1
    assert Games.fold(games_list := [Outcome("x", "y", 1.0)] * 5 + [Outcome("x", "y", 0.5)]).count.tolist() == [5, 1]
    assert rate(games_list, bootstrap=30) == rate(Games.fold(games_list), bootstrap=30)


def test_a_200_player_arena_takes_the_large_sample_bootstrap_and_it_matches_refitting():
    outcomes = round_robin(200)
    assert 200 * (200**3 + 50 * len(outcomes)) > EXACT_BOOTSTRAP_LIMIT  # refitting 200 resamples: too slow to wait
    large = {r.name: r for r in rate(outcomes, seed=3)}
    assert large == {r.name: r for r in rate(outcomes, seed=3)}  # seeded
    assert {r.name: r.rating for r in large.values()} == pytest.approx(bradley_terry(outcomes), abs=1e-6)
    sample = round_robin(40, seed=1) * 3  # small enough for both: the large-sample limit agrees with refitting
    exact = {r.name: r for r in rate(sample, bootstrap=400, seed=2)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ratings_module, "EXACT_BOOTSTRAP_LIMIT", 0)
        approx = {r.name: r for r in rate(sample, bootstrap=400, seed=2)}
    widths = [(approx[n].ci_high - approx[n].ci_low) / (r.ci_high - r.ci_low) for n, r in exact.items()]
    assert statistics.median(widths) == pytest.approx(1.0, abs=0.1) and 0.7 < min(widths) < max(widths) < 1.4
    for name, r in exact.items():
        assert approx[name].rating == r.rating and approx[name].ci_low <= r.rating <= approx[name].ci_high
