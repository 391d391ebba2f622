"""Bradley-Terry ratings: checked against an independent Newton fit, then ordering, bootstrap, tiers and edges."""

import math

import pytest

from arena.reputation.ratings import MIN_GAMES, Outcome, Rating, bradley_terry, rate, tiers


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
