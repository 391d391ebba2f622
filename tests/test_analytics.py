"""arena.analytics over a small store built row by row, with expectations computed by hand in each test.

Three arenas (A1, A2 judged; A3 still running) and two imported runs:
    A1 r1 "t1": a m1+s1 (cost 1, wins, resolved, merged), b m2+s1 (cost 3, resolved), c m1+s2 (cost 2, fails gates)
    A2 r1 "t2": a m1+s1 (cost 1, fails gates), b m2+s1 (cost 1, wins, resolved; the win is later reverted)
    A3 r2 "t3": a m1+s1 (cost 0.5), b m2+s1 (cost 0.5); no verdict yet
    imported: m1 on o__r-1 (cost 0.5, resolved), m9 on o__r-2 (no cost, resolution unknown)
"""

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from arena import analytics
from arena.analytics.ratings import counted
from arena.errors import UserError
from arena.reputation.ratings import rate
from arena.storage import ArenaRow, ContestantRow, EvaluationRow, EventRow, ImportedRunRow, Store, VerdictRow

V2 = Path(__file__).parent / "data" / "trajectories" / "v2-gpt-5-mini-astropy-13033.traj.json"
T0 = datetime(2024, 1, 1, 12)
M1S1, M2S1, M1S2 = "m1+s1", "m2+s1", "m1+s2"


def add_arena(store, arena_id, repo, title, created, contestants, winner=None, judge=None, verdict=None):
    """contestants: (name, model, strategy, cost, steps, exit_status); verdict: name -> (passes, resolved, files)."""
    with store.session() as s:
        arena = ArenaRow(
            id=arena_id,
            repo=repo,
            title=title,
            base="HEAD",
            base_sha="0" * 40,
            spec={},
            status="completed" if verdict else "running",
            created_at=created,
        )
        arena.contestants = [
            ContestantRow(
                name=n,
                model=m,
                strategy=st,
                cost=c,
                steps=k,
                exit_status=x,
                status="completed",
                started_at=created,
                finished_at=created + timedelta(seconds=10 * k),
            )
            for n, m, st, c, k, x in contestants
        ]
        s.add(arena)
        if verdict is None:
            return
        ranking = [
            {"name": n, "rank": i + 1, "evidence": {"files": files}}
            for i, (n, (_, _, files)) in enumerate(verdict.items())
        ]
        row = VerdictRow(arena_id=arena_id, winner=winner, judge=judge or {"reviewer": None}, ranking=ranking)
        row.evaluations = [
            EvaluationRow(arena_id=arena_id, candidate=n, rank=i + 1, passes_gates=p, applies=True, resolved=r)
            for i, (n, (p, r, _)) in enumerate(verdict.items())
        ]
        s.add(row)


def add_events(store, *events):
    with store.session() as s:
        s.add_all(EventRow(**e) for e in events)


def pairwise(arena_id, agent, opponent, outcome):
    return {"agent": agent, "kind": "pairwise", "arena_id": arena_id, "opponent": opponent, "outcome": outcome}


REVERT = {"agent": M2S1, "kind": "reverted", "arena_id": "A2", "contestant": "b", "commit": "abc"}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    traj = tmp_path / "a1-a.traj.json"
    shutil.copy(V2, traj)
    add_arena(
        store,
        "A1",
        "r1",
        "t1",
        T0,
        [
            ("a", "m1", "s1", 1.0, 10, "Submitted"),
            ("b", "m2", "s1", 3.0, 20, "Submitted"),
            ("c", "m1", "s2", 2.0, 5, "LimitsExceeded"),
        ],
        winner="a",
        judge={"reviewer": "openai/judge"},
        verdict={"a": (True, True, ["x.py"]), "b": (True, True, ["x.py", "y.py"]), "c": (False, False, [])},
    )
    add_arena(
        store,
        "A2",
        "r1",
        "t2",
        T0 + timedelta(days=9),
        [("a", "m1", "s1", 1.0, 4, "Submitted"), ("b", "m2", "s1", 1.0, 6, "Submitted")],
        winner="b",
        verdict={"b": (True, True, ["x.py"]), "a": (False, False, ["x.py"])},
    )
    add_arena(
        store,
        "A3",
        "r2",
        "t3",
        T0 + timedelta(days=10),
        [("a", "m1", "s1", 0.5, 2, None), ("b", "m2", "s1", 0.5, 2, None)],
    )
    store.update_contestant(1, trajectory_path=str(traj))
    add_events(
        store,
        pairwise("A1", M1S1, M2S1, 1.0),
        pairwise("A1", M1S1, M1S2, 1.0),
        pairwise("A1", M2S1, M1S2, 1.0),
        {"agent": M1S1, "kind": "merged", "arena_id": "A1", "contestant": "a", "commit": "def"},
        pairwise("A2", M2S1, M1S1, 1.0),
        REVERT,
    )
    with store.session() as s:
        s.add(
            ImportedRunRow(
                sha256="1" * 64,
                path="/x/1.traj.json",
                format="mini-swe-agent-1",
                model="m1",
                instance_id="o__r-1",
                steps=7,
                api_calls=8,
                cost=0.5,
                resolved=True,
                exit_status="Submitted",
            )
        )
        s.add(
            ImportedRunRow(
                sha256="2" * 64,
                path="/x/2.json",
                format="openhands",
                model="m9",
                instance_id="o__r-2",
                steps=3,
                exit_status="finished",
            )
        )
    return store


def by_key(frame: pl.DataFrame, key: str) -> dict[str, dict]:
    return {row[key]: row for row in frame.to_dicts()}


def test_runs_df_has_one_row_per_contestant_and_imported_run(store):
    runs = by_key(analytics.runs_df(store), "run")
    assert len(runs) == 7 + 2
    a1a, a2b, a3a = runs["A1/a"], runs["A2/b"], runs["A3/a"]
    assert (a1a["agent"], a1a["won"], a1a["merged"], a1a["reverted"], a1a["resolved"]) == (
        M1S1,
        True,
        True,
        False,
        True,
    )
    assert (a2b["won"], a2b["reverted"]) == (True, True)
    assert a3a["won"] is None and a3a["resolved"] is None  # not judged yet
    # An arena run's api_calls are its steps (our runner counts both from the same model calls): the trajectory file
    # (a copied one here, which says 17) is not opened, a million of them would be a million reads per leaderboard.
    assert (a1a["duration_s"], a1a["api_calls"], a1a["steps"]) == (100.0, 10, 10)
    assert json.loads(V2.read_text())["info"]["model_stats"]["api_calls"] == 17
    imported = runs["imported/" + "1" * 12]
    assert (imported["source"], imported["strategy"], imported["won"], imported["repo"]) == (
        "imported",
        None,
        None,
        "o/r",
    )


def test_leaderboard_by_agent_counts_wins_reverts_and_costs(store):
    board = analytics.leaderboard(store, by="agent", bootstrap=20)
    assert board.columns[: len(analytics.LEADERBOARD_KEYS)] == analytics.LEADERBOARD_KEYS
    rows = by_key(board, "agent")
    m1s1, m2s1, m1s2 = rows[M1S1], rows[M2S1], rows[M1S2]
    # m1+s1: 3 runs, 2 judged, won A1 (merged): 1 win
    assert (m1s1["runs"], m1s1["wins"], m1s1["win_rate"], m1s1["revert_rate"]) == (3, 1, 0.5, 0.0)
    assert m1s1["cost_total"] == 2.5 and m1s1["cost_per_win"] == 2.5 and m1s1["cost_per_merged"] == 2.5
    assert (m1s1["resolved"], m1s1["resolve_rate"], m1s1["merged"]) == (1, 0.5, 1)
    # m2+s1: won A2 but it was reverted: no win, every win reverted
    assert (m2s1["runs"], m2s1["wins"], m2s1["win_rate"], m2s1["revert_rate"]) == (3, 0, 0.0, 1.0)
    assert m2s1["cost_total"] == 4.5 and m2s1["cost_per_win"] is None and m2s1["reverted"] == 1
    assert (m1s2["runs"], m1s2["wins"], m1s2["revert_rate"], m1s2["exit_statuses"]) == (
        1,
        0,
        None,
        {"LimitsExceeded": 1},
    )
    assert board["agent"].to_list() == [M1S1, M2S1, M1S2]  # best rating first
    assert m1s1["steps_mean"] == (10 + 4 + 2) / 3


def test_leaderboard_by_model_strategy_repo_and_period(store):
    models = by_key(analytics.leaderboard(store, by="model", bootstrap=20), "model")
    assert (models["m1"]["runs"], models["m1"]["wins"], models["m1"]["strategy"]) == (4, 1, None)
    assert models["m1"]["win_rate"] == pytest.approx(1 / 3)
    strategies = by_key(analytics.leaderboard(store, by="strategy", bootstrap=20), "strategy")
    assert (strategies["s1"]["runs"], strategies["s1"]["wins"]) == (6, 1)
    assert strategies["s1"]["rating"] > strategies["s2"]["rating"]
    repos = by_key(analytics.leaderboard(store, by="repo"), "repo")
    assert (repos["r1"]["runs"], repos["r2"]["runs"], repos["r1"]["rating"]) == (5, 2, None)
    weeks = analytics.leaderboard(store, by="period", period="week").sort("period")
    assert weeks["runs"].to_list() == [3, 4]  # Monday 2024-01-01: A1; week of 2024-01-08: A2 and A3
    with pytest.raises(UserError, match="by 'nope'"):
        analytics.leaderboard(store, by="nope")


def test_a_reverted_win_stops_counting_in_ratings(store):
    events = analytics.events_df(store)
    unreverted = analytics.pairwise_outcomes(events.filter(pl.col("kind") != "reverted"))
    before = {r.name: r for r in rate(unreverted, bootstrap=20)}
    assert before[M1S1].rating == pytest.approx(before[M2S1].rating)  # 1-1 head to head, both beat m1+s2
    assert len(unreverted) == 4 and len(analytics.pairwise_outcomes(events)) == 3  # the A2 outcome is gone
    after = by_key(analytics.ratings_df(store, bootstrap=20), "name")
    assert after[M1S1]["rating"] > after[M2S1]["rating"] > after[M1S2]["rating"]
    assert (after[M2S1]["games"], after[M1S1]["games"]) == (2, 2)
    # by model: m1+s1 vs m1+s2 is self-play for m1 and says nothing; m1 and m2 beat each other once
    assert sorted((o.a, o.b) for o in analytics.pairwise_outcomes(events, "model")) == [("m1", "m2"), ("m2", "m1")]


def test_games_and_arenas_beside_every_rating_and_few_games_are_provisional(store):
    ratings = by_key(analytics.ratings_df(store, bootstrap=20), "name")
    assert {n: (r["games"], r["arenas"], r["tier"], r["provisional"]) for n, r in ratings.items()} == {
        M1S1: (2, 1, None, True),  # A1 only: its A2 game was a reverted win of m2+s1
        M2S1: (2, 1, None, True),
        M1S2: (2, 1, None, True),
    }
    add_events(store, *(pairwise(f"B{i}", M1S1, M2S1, 1.0) for i in range(3)))  # three more arenas: 5 games each
    add_arena(store, "A9", "r1", "alone", T0, [("a", "m3", "s3", 1.0, 1, "Submitted")])  # never in a pairwise game
    board = analytics.leaderboard_json(store, by="agent", bootstrap=20)
    assert [(r["agent"], r["games"], r["arenas"], r["provisional"], r["tier"]) for r in board] == [
        (M1S1, 5, 4, False, 1),
        (M2S1, 5, 4, False, 2),  # lost all five to m1+s1
        (M1S2, 2, 1, True, None),  # rated, listed after every tiered agent, never tiered
        ("m3+s3", 0, 0, True, None),
    ]
    assert board[2]["rating"] is not None and board[3]["rating"] is None
    assert analytics.LEADERBOARD_KEYS[-3:] == ["games", "arenas", "provisional"]
    repos = analytics.leaderboard_json(store, by="repo")
    assert all(r["games"] is None and r["provisional"] is None for r in repos)  # repos are not rated


def test_source_filters_and_json_nulls_for_imported_rows(store):
    imported = analytics.leaderboard(store, by="model", source="imported")
    assert set(imported["source"]) == {"imported"} and set(imported["model"]) == {"m1", "m9"}
    both = analytics.leaderboard(store, by="model", source="all", bootstrap=20)
    assert sorted(both["source"].to_list()) == ["arenas", "arenas", "imported", "imported"]
    rows = analytics.leaderboard_json(store, by="agent", source="all", bootstrap=20)
    json.dumps(rows)
    for row in rows:
        assert list(row)[: len(analytics.LEADERBOARD_KEYS)] == analytics.LEADERBOARD_KEYS
    m1 = next(r for r in rows if r["source"] == "imported" and r["model"] == "m1")
    assert (m1["runs"], m1["resolved"], m1["resolve_rate"], m1["cost_total"]) == (1, 1, 1.0, 0.5)
    for key in (
        "strategy",
        "wins",
        "win_rate",
        "rating",
        "ci_low",
        "ci_high",
        "revert_rate",
        "cost_per_win",
        "games",
        "arenas",
        "provisional",
        "tier",
    ):
        assert m1[key] is None, key
    m9 = next(r for r in rows if r["model"] == "m9")
    assert (m9["resolved"], m9["resolve_rate"], m9["cost_total"]) == (None, None, None)


def test_pareto_flags_the_cheap_and_the_good():
    frame = pl.DataFrame({"cost_mean": [1.0, 2.0, 2.0, 0.5, None, 1.0], "win_rate": [0.5, 0.5, 0.8, 0.1, 1.0, 0.5]})
    assert analytics.pareto(frame)["pareto"].to_list() == [True, False, True, True, False, True]
    with pytest.raises(UserError, match="no column 'nope'"):
        analytics.pareto(frame, score="nope")


def test_pareto_on_a_leaderboard(store):
    board = analytics.pareto(analytics.leaderboard(store, by="agent", bootstrap=20))
    # m1+s1: 0.83 per run at 50 %; m2+s1: 1.5 at 0 %; m1+s2: 2.0 at 0 %
    assert dict(zip(board["agent"], board["pareto"], strict=True)) == {M1S1: True, M2S1: False, M1S2: False}


def test_issue_quality_flags_gate_passing_patches_that_disagree(store):
    add_arena(
        store,
        "A4",
        "r3",
        "same files",
        T0,
        [("a", "m1", "s1", 1, 1, None), ("b", "m2", "s1", 1, 1, None)],
        winner="a",
        verdict={"a": (True, True, ["x.py"]), "b": (True, True, ["x.py"])},
    )
    add_arena(
        store,
        "A5",
        "r3",
        "disagree on tests",
        T0,
        [("a", "m1", "s1", 1, 1, None), ("b", "m2", "s1", 1, 1, None)],
        winner="a",
        verdict={"a": (True, True, ["x.py"]), "b": (True, True, ["x.py"])},
        judge={"cross_validation": {"matrix": {"a": {"a": "pass", "b": "fail"}, "b": {"a": "pass", "b": "pass"}}}},
    )
    quality = by_key(analytics.issue_quality(store), "task")
    assert (quality["t1"]["ambiguous"], quality["t1"]["passing"], quality["t1"]["resolved"]) == (True, 2, 2)
    assert quality["t2"]["ambiguous"] is False and quality["t3"]["ambiguous"] is None
    assert quality["same files"]["ambiguous"] is False and quality["disagree on tests"]["ambiguous"] is True
    assert quality["o__r-1"]["source"] == "imported" and quality["o__r-1"]["ambiguous"] is None
    assert quality["o__r-1"]["resolved"] == 1


def test_judges_picked_versus_coverage(store):
    judges = by_key(analytics.judges(store), "judge")
    assert set(judges) == {"openai/judge", "heuristic"}
    assert (
        judges["heuristic"]["arenas"],
        judges["heuristic"]["picked_resolved"],
        judges["heuristic"]["any_resolved"],
    ) == (1, 1, 1)


def test_verdicts_and_steps_frames(store):
    verdicts = analytics.verdicts_df(store)
    assert len(verdicts) == 5 and verdicts.filter(pl.col("picked"))["candidate"].sort().to_list() == ["a", "b"]
    steps = analytics.steps_df(store)
    raw = json.loads(V2.read_text())
    assert len(steps) == sum(m["role"] == "assistant" for m in raw["messages"])
    assert set(steps["run"]) == {"A1/a"}
    assert steps["cum_cost"].drop_nulls()[-1] == pytest.approx(sum(s for s in steps["cost"].drop_nulls()))
    assert analytics.steps_df(store, runs=["A2/a"]).is_empty()
    assert set(analytics.steps_df([V2])["run"]) == {str(V2)}


def test_an_empty_store_gives_empty_frames_with_their_columns(tmp_path):
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    for by in analytics.BY:
        for source in analytics.SOURCES:
            board = analytics.leaderboard(empty, by=by, source=source)
            assert board.is_empty() and board.columns[: len(analytics.LEADERBOARD_KEYS)] == analytics.LEADERBOARD_KEYS
    assert analytics.leaderboard_json(empty) == []
    assert analytics.runs_df(empty).is_empty() and analytics.steps_df(empty).is_empty()
    assert analytics.issue_quality(empty).is_empty() and analytics.judges(empty).is_empty()


# -- the polars fold of the ledger against the per-row loop it replaced ---------------------------------------------


def reference_counted(events: pl.DataFrame, by: str) -> list[tuple[str, str, str, float]]:
    """The per-event loop arena.analytics.ratings used before polars, kept as an oracle: (arena, a, b, outcome)."""
    from arena.analytics.duck import split_agent

    def player(agent: str, by: str) -> str | None:
        if by == "agent":
            return agent
        model, strategy = split_agent(agent)
        return model if by == "model" else strategy

    reverted = set(events.filter(pl.col("kind") == "reverted").select("arena_id", "agent").iter_rows())
    newest = (
        events.filter(pl.col("kind") == "place")
        .group_by("arena_id")
        .agg(newest=pl.col("verdict_id").fill_null(0).max())
    )
    pairwise = events.filter(pl.col("kind") == "pairwise", pl.col("outcome").is_not_null()).join(
        newest, on="arena_id", how="left", maintain_order="left"
    )
    pairwise = pairwise.filter(pl.col("verdict_id").fill_null(0) == pl.col("newest").fill_null(0))
    outcomes = []
    for e in pairwise.iter_rows(named=True):
        winner = {1.0: e["agent"], 0.0: e["opponent"]}.get(e["outcome"])
        if winner is not None and (e["arena_id"], winner) in reverted:
            continue
        a, b = player(e["agent"], by), player(e["opponent"] or "", by)
        if a and b and a != b:
            outcomes.append((e["arena_id"], a, b, e["outcome"]))
    return outcomes


def random_ledger(seed: int) -> pl.DataFrame:
    """Arenas judged once or again (places and pairwise per verdict), some wins reverted, odd names and nulls."""
    import random

    rng = random.Random(seed)
    agents = ["m1+s1", "m1+s2", "m2+s1", "org/m+x+s3", "m3+", "solo", "m2+s2"]
    rows, verdict = [], 0
    for k in range(rng.randint(1, 12)):
        arena, entrants = f"A{k}", rng.sample(agents, rng.randint(2, 5))
        for _ in range(rng.choice([1, 1, 2, 3])):
            verdict += 1
            vid = rng.choice([verdict, verdict, None])
            for agent in entrants:
                rows.append({"arena_id": arena, "agent": agent, "kind": "place", "verdict_id": vid, "outcome": 1.0})
            for i, a in enumerate(entrants):
                for b in entrants[i + 1 :]:
                    outcome = rng.choice([1.0, 0.0, 0.5, None])
                    opponent = rng.choice([b, b, b, None])
                    rows.append(pairwise(arena, a, opponent, outcome) | {"verdict_id": vid})
        if rng.random() < 0.4:
            rows.append({"agent": rng.choice(entrants), "kind": "reverted", "arena_id": arena})
    schema = {"arena_id": pl.String, "agent": pl.String, "opponent": pl.String, "kind": pl.String}
    return pl.DataFrame(rows, schema=schema | {"outcome": pl.Float64, "verdict_id": pl.Int64})


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("by", ["agent", "model", "strategy"])
def test_counted_outcomes_equal_the_per_event_loop_they_replaced(seed, by):
    events = random_ledger(seed)
    got = counted(events, by).select("arena_id", "a", "b", "outcome").rows()
    assert got == reference_counted(events, by)
    ratings = by_key(analytics.ratings_frame(events, by, bootstrap=0), "name")
    arenas: dict[str, set[str]] = {}
    for arena, a, b, _ in got:
        arenas.setdefault(a, set()).add(arena)
        arenas.setdefault(b, set()).add(arena)
    assert {n: r["arenas"] for n, r in ratings.items()} == {n: len(a) for n, a in arenas.items()}
    assert {n: r["games"] for n, r in ratings.items()} == {n: sum(n in (a, b) for _, a, b, _ in got) for n in arenas}


def test_the_data_version_changes_with_every_write_the_frames_show_and_only_then(store):
    version = analytics.data_version(store)
    assert analytics.data_version(store) == version  # nothing written: the same key, so cached frames stay
    seen = {version}

    def changed() -> bool:
        now = analytics.data_version(store)
        new = now not in seen
        seen.add(now)
        return new

    add_events(store, pairwise("A3", M1S1, M2S1, 1.0))
    assert changed()
    launched = ArenaRow(id="A8", repo="r1", title="t8", base="HEAD", base_sha="0" * 40, spec={}, status="running")
    store.create_arena(launched, [ContestantRow(name="a", model="m1", strategy="s1", status="queued")])
    assert changed()
    row = store.arena("A8").contestants[0].id
    store.update_contestant(row, status="running", steps=1, cost=0.5)
    assert changed()
    store.update_contestant(row, steps=2)  # a step of a running contestant: the Costs page shows it
    assert changed()
    store.update_contestant(row, cost=0.75, tokens_in=10)
    assert changed()
    store.update_contestant(row, status="completed", exit_status="Submitted")  # it ends
    assert changed()
    with store.session() as s:
        s.get(ImportedRunRow, 2).resolved = True  # a later SWE-bench report
    assert changed()
    add_arena(
        store, "A7", "r1", "t7", T0, [("a", "m1", "s1", 1.0, 1, None)], winner="a", verdict={"a": (True, True, [])}
    )
    assert changed()
    assert analytics.data_version(store) in seen


def test_the_text_table_never_cuts_a_name(store):
    """Three agents whose models share their first 40 characters read the same when names are cut at 40."""
    prefix = "openrouter/meta-llama/llama-3.3-70b-instruct"  # 44 characters
    models = [f"{prefix}:{tag}" for tag in ("free", "nitro", "floor")]
    add_arena(store, "L1", "r1", "long", T0, [(f"c{i}", m, "s1", 1.0, 1, "Submitted") for i, m in enumerate(models)])
    add_events(store, pairwise("L1", f"{models[0]}+s1", f"{models[1]}+s1", 1.0))
    rows = analytics.leaderboard_json(store, by="agent", bootstrap=20)
    lines = analytics.leaderboard_lines(rows)
    assert len(lines) == len(rows) + 1 and lines[0].split()[:3] == ["model", "strategy", "runs"]
    for model in models:
        assert sum(line.split()[0] == model for line in lines) == 1
    column = lines[0].index("strategy")  # one model column, as wide as the widest name, then the strategies
    assert column == len(models[1]) + 2 and all(line[column:].startswith("s") for line in lines[1:])
    assert analytics.leaderboard_lines([]) == [""]


def test_outcome_events_count_what_the_whole_ledger_counts(store):
    """outcome_events reads places reduced to each arena's newest verdict: the same outcomes as the full ledger."""
    add_events(
        store,
        {"agent": M1S1, "kind": "place", "arena_id": "A5", "contestant": "a", "outcome": 1, "verdict_id": 7},
        pairwise("A5", M1S1, M2S1, 1.0) | {"verdict_id": 7},
        {"agent": M1S1, "kind": "place", "arena_id": "A5", "contestant": "a", "outcome": 2, "verdict_id": 9},
        pairwise("A5", M2S1, M1S1, 1.0) | {"verdict_id": 9},  # judged again: only this one counts
        {"agent": M1S2, "kind": "place", "arena_id": "A6", "contestant": "a", "outcome": 1},
        pairwise("A6", M1S2, M2S1, 0.5),
    )
    for by in ("agent", "model", "strategy"):
        narrow = counted(analytics.outcome_events(store), by).sort(pl.all()).rows()
        assert narrow == counted(analytics.events_df(store), by).sort(pl.all()).rows()
    assert ("A5", M2S1, M1S1, 1.0) in counted(analytics.outcome_events(store), "agent").rows()
    assert len(analytics.outcome_events(store).filter(kind="place")) == 2  # A5 (placed twice) and A6: a row each


def test_runs_and_leaderboards_say_why_runs_ended_in_one_vocabulary(settings):
    """Each format's own words ("Submitted", "submitted", "finished") are one exit_kind beside the raw exit_status."""
    from arena.analytics.frames import runs_df
    from arena.analytics.leaderboards import leaderboard_json
    from arena.ingest import ingest
    from arena.storage import Store
    from arena.trajectory import exit_kind

    store = Store(settings.database_url)
    ingest([Path(__file__).parent / "data" / "trajectories"], store)
    runs = runs_df(store)
    raw = set(runs["exit_status"].drop_nulls())
    assert len(raw) > 1 and {"submitted", "finished"} & raw  # the formats' own words are there ...
    for row in runs.select("exit_status", "exit_kind").iter_rows(named=True):
        assert row["exit_kind"] == str(exit_kind(row["exit_status"]))  # ... and each has its kind
    rows = leaderboard_json(store, by="model", source="imported")
    kinds = {k for r in rows for k in (r["exit_kinds"] or {})}
    assert "submitted" in kinds and not kinds & {"Submitted", "finished"}
