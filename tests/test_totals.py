"""The running totals (arena/analytics/totals.py) against the reference: the same leaderboard and the same ratings as
reading every run and the whole ledger, after every kind of write, on SQLite and PostgreSQL.

The store is filled as the product fills it: bulk rows as the leaderboard benchmark seeds them (benchmarks/
leaderboard.py's Seeder builds them with the product's own verdict and ledger functions), then arenas written through
the engine's own calls (Store.create_arena, Ledger.enter, record_verdict, settle_arena, Ledger.record), a live
contestant's counters, a re-judge, a merge and a revert, a renamed agent and a deleted arena.
"""

import importlib.util
import random
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from alembic import command
from polars.testing import assert_frame_equal
from sqlalchemy import func, select, text, update

from arena import analytics
from arena.analytics import totals
from arena.recovery import settle_arena
from arena.reputation.ledger import Ledger
from arena.settlement import record_verdict
from arena.storage import ArenaRow, ContestantRow, EventRow, Store, migrate
from arena.storage.models import TotalsDirtyRow
from tests.test_postgres import postgres_url  # noqa: F401  (the fixture: a throwaway PostgreSQL server)

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_leaderboard", ROOT / "benchmarks" / "leaderboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()


def reference(store: Store, by: str, source: str) -> pl.DataFrame:
    """The leaderboard read the slow way: every run (runs_df), ratings over the whole ledger."""
    ratings = analytics.ratings_frame(analytics.outcome_events(store), by) if analytics.rates(by, source) else None
    return analytics.board(analytics.runs_df(store), ratings, by, source)


def assert_same(store: Store) -> None:
    for by in ("agent", "model", "strategy", "runner"):
        for source in ("arenas", "all"):
            fast = analytics.leaderboard(store, by, source)
            slow = reference(store, by, source)
            assert_frame_equal(fast, slow, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    per_step = analytics.cost_per_step(store), analytics.cost_per_step(analytics.runs_df(store))
    assert_frame_equal(*per_step, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    total, newest = analytics.recent_runs(store, 50)
    every = analytics.runs_df(store).filter(source="arenas").sort("created_at", "run", descending=True)
    assert total == every.height and newest.equals(every.head(50))
    assert store.engine.connect().execute(select(func.count()).select_from(TotalsDirtyRow)).scalar() == 0


def play(store: Store, arena_id: str, agents: list, rng: random.Random, at: datetime, judged: bool = True) -> list:
    """An arena of `agents` written as the engine writes it; its players (benchmarks' player dicts)."""
    seeder = bench.Seeder(store, Path("/nonexistent"), agents, rng)
    players = [seeder.player(arena_id, k, i, at) for k, i in enumerate(rng.sample(range(len(agents)), len(agents)))]
    row = ArenaRow(id=arena_id, title=arena_id, repo="https://github.com/o/r", base="HEAD", base_sha="0" * 40, spec={})
    store.create_arena(row, [ContestantRow(**{k: p[k] for k in bench.CONTESTANT_KEYS}) for p in players])
    Ledger(store).enter(arena_id, [(p["name"], p["agent"]) for p in players])
    if judged:
        record_verdict(store, arena_id, bench.verdict_of(players, rng))
        store.update_arena(arena_id, status="completed", finished_at=at + timedelta(hours=1))
        settle_arena(store, Ledger(store), arena_id, "completed")
    return players


def check_every_write(store: Store) -> None:
    rng = random.Random(7)
    agents = bench.seed(store, Path("/nonexistent"), 30, 600, 40, rng)
    if store.engine.dialect.name == "postgresql":  # the seeder numbers verdicts itself
        with store.session() as s:
            s.execute(text("SELECT setval('verdicts_id_seq', (SELECT max(id) FROM verdicts))"))
    store.engine.dispose()
    assert_same(store)  # the first refresh folds every seeded arena

    # a new arena; a model name with '+' in it; a run without an exit status
    odd = [("openai/gpt+turbo", "minimal-fix", 0.5), ("openai/gpt+turbo", "test-first", 0.1), *agents[:4]]
    players = play(store, "new1", odd, rng, datetime(2026, 2, 1))
    contestant = store.arena("new1").contestants[0]
    store.update_contestant(contestant.id, exit_status=None)
    assert_same(store)

    # a live arena: contestants counted as they run, judged later
    play(store, "live1", agents[5:9], rng, datetime(2026, 2, 2), judged=False)
    running = store.arena("live1").contestants[1]
    store.update_contestant(running.id, status="running", steps=running.steps + 7, cost=running.cost + 0.25)
    assert_same(store)

    # judged again: the newest verdict counts
    for p in players:
        p["score"] = -p["score"]
    record_verdict(store, "new1", bench.verdict_of(players, rng))
    settle_arena(store, Ledger(store), "new1", "completed")
    assert_same(store)

    # merged, then another arena's win reverted
    ledger = Ledger(store)
    for arena_id, kind in (("new1", "merged"), ("00000003", "reverted")):
        winner = ledger.settled_winner(arena_id)
        if winner is None:
            continue
        agent = next(e.agent for e in ledger.events(arena_id=arena_id) if e.contestant == winner)
        ledger.record(kind, arena_id, agent, winner, commit="f" * 40)
    assert_same(store)

    # an agent renamed by a migration-style UPDATE, then an arena that never started deleted
    with store.session() as s:
        s.execute(update(ContestantRow).where(ContestantRow.model == agents[0][0]).values(model="renamed/model"))
        s.execute(
            update(EventRow)
            .where(EventRow.agent == f"{agents[0][0]}+{agents[0][1]}")
            .values(agent=f"renamed/model+{agents[0][1]}")
        )
    store.delete_arena("live1")
    assert_same(store)


def test_totals_match_the_reference_after_every_write_on_sqlite(tmp_path):
    check_every_write(Store(f"sqlite:///{tmp_path / 'arena.db'}"))


def test_totals_match_the_reference_after_every_write_on_postgresql(postgres_url):  # noqa: F811
    admin = Store(postgres_url).engine
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP DATABASE IF EXISTS totals_check"))
        conn.execute(text("CREATE DATABASE totals_check"))
    check_every_write(Store(postgres_url.rsplit("/", 1)[0] + "/totals_check"))


def test_a_write_marks_its_arena_dirty_in_the_same_transaction(tmp_path):
    """The triggers: a rolled-back write leaves no mark; a heartbeat marks nothing; a step does."""
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    row = ArenaRow(id="a1", title="t", repo="r", base="HEAD", base_sha="0" * 40, spec={})
    store.create_arena(row, [ContestantRow(name="c0", model="m", strategy="s")])
    totals.refresh(store)

    def marks() -> list:
        with store.engine.connect() as conn:
            return conn.execute(select(TotalsDirtyRow.arena_id)).scalars().all()

    contestant = store.arena("a1").contestants[0]
    store.touch([contestant.id])
    assert marks() == []
    with pytest.raises(RuntimeError), store.session() as s:
        s.get(ContestantRow, contestant.id).steps = 3
        s.flush()
        raise RuntimeError("rolled back")
    assert marks() == []
    store.update_contestant(contestant.id, steps=3)
    assert marks() == ["a1"]
    assert analytics.leaderboard(store)["api_calls_mean"].to_list() == [3.0]
    assert marks() == []


def test_the_first_leaderboard_after_the_upgrade_folds_every_stored_arena(tmp_path):
    """A database written before 0005 (no totals): the upgrade marks every stored arena, and the first leaderboard
    shows them all."""
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    rng = random.Random(3)
    bench.seed(store, tmp_path, 10, 60, 0, rng)
    expected = reference(store, "agent", "arenas")
    with store.session() as s:  # as 0004 left it: no totals, no marks
        s.execute(text("DELETE FROM totals_dirty"))
    with store.engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0004")
    store.engine.dispose()
    rows = analytics.leaderboard_json(Store(f"sqlite:///{tmp_path / 'arena.db'}"))
    assert [r["agent"] for r in rows] == expected["agent"].to_list()
    assert [r["runs"] for r in rows] == expected["runs"].to_list()


def test_totals_folded_before_runners_are_refolded_for_the_runner_board(tmp_path):
    """A database whose totals were folded at 0009 (no `runner` rows): 0010 marks every arena, and the first
    leaderboard by runner is the reference's, ratings included."""
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    bench.seed(store, tmp_path, 30, 120, 0, random.Random(5))
    analytics.leaderboard(store, "agent")  # folded
    with store.session() as s:  # as 0009 left them: no runner rows
        s.execute(text("DELETE FROM totals_pairs WHERE by = 'runner'"))
        s.execute(text("DELETE FROM totals_players WHERE by = 'runner'"))
    with store.engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0009")
    store.engine.dispose()
    upgraded = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    board = analytics.leaderboard(upgraded, "runner")
    assert sorted(board["runner"].to_list()) == ["aider", "claude-code", "mini-swe-agent"]
    assert board["rating"].null_count() == 0
    assert_frame_equal(board, reference(upgraded, "runner", "arenas"), check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
