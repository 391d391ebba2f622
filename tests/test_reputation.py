"""Staking and the ledger: properties under random histories, and a revert scenario end to end."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from arena.reputation.ledger import Ledger, StakeRefused, StakeRules
from arena.storage import Store
from tests.conftest import CALC_FILES, GIT_ID, make_repo, write_steps

ROOT = Path(__file__).resolve().parents[1]
AGENTS = ["m1+minimal-fix", "m2+balanced", "m3+test-first"]


class LedgerMachine(RuleBasedStateMachine):
    """Random arenas, merges, reverts and abandons; the money always adds up."""

    def __init__(self):
        super().__init__()
        import tempfile

        self.dir = tempfile.mkdtemp()
        self.rules = StakeRules(starting_grant=25, base_stake=1, multiplier=10, merge_reward=2)
        self.ledger = Ledger(Store(f"sqlite:///{self.dir}/l.db"), self.rules)
        self.arenas: list[tuple[str, list[tuple[str, str]]]] = []
        self.n = 0

    @rule(agents=st.lists(st.sampled_from(AGENTS), min_size=1, max_size=3), win=st.integers(0, 3))
    def run_arena(self, agents, win):
        self.n += 1
        arena_id = f"a{self.n}"
        entries = [(f"c{i}", a) for i, a in enumerate(agents)]
        before = {a: self.ledger.state(a) for a in set(agents)}
        try:
            self.ledger.enter(arena_id, entries)
        except StakeRefused as e:
            assert any(before[a].balance < before[a].stake * agents.count(a) for a in set(agents))
            assert "cannot enter: balance" in str(e)
            assert self.ledger.events(arena_id=arena_id) == []  # refused: nothing written
            return
        for a in set(agents):  # the stake is base * multiplier ** k
            assert before[a].stake == self.rules.base_stake * self.rules.multiplier ** before[a].k
        winner = entries[win][0] if win < len(entries) else None
        ranking = [{"name": n, "rank": i + 1, "resolved": n == winner} for i, (n, _) in enumerate(entries)]
        self.ledger.settle(arena_id, winner, ranking)
        if winner:
            self.arenas.append((arena_id, entries[win]))

    @rule(data=st.data(), action=st.sampled_from(["merged", "abandoned", "reverted", "merge-then-revert"]))
    def after(self, data, action):
        if not self.arenas:
            return
        arena_id, (name, agent) = self.arenas.pop(data.draw(st.integers(0, len(self.arenas) - 1)))
        k_before = self.ledger.state(agent).k
        if action == "merge-then-revert":
            self.ledger.record("merged", arena_id, agent, name, "c1")
            self.ledger.record("reverted", arena_id, agent, name, "c2")
        else:
            self.ledger.record(action, arena_id, agent, name, "c1")
        k_after = self.ledger.state(agent).k
        if action in ("reverted", "merge-then-revert"):
            assert k_after == k_before + 1  # a revert raises k (a redemption by the reverted merge does not count)
        elif action == "merged":
            assert k_after == max(0, k_before - 1)
        assert self.ledger.winner_escrow(arena_id) is None  # nothing stays escrowed once it is decided

    @invariant()
    def money_adds_up(self):
        events = self.ledger.events()
        for agent in AGENTS:
            state = self.ledger.state(agent)
            assert state.balance >= -1e-9 and state.escrow >= -1e-9
        granted = sum(e.amount for e in events if e.kind in ("grant", "reward"))
        lost = -sum(e.escrow for e in events if e.kind == "forfeit") - sum(
            e.amount for e in events if e.kind == "penalty"
        )
        held = sum(e.escrow for e in events)
        available = sum(e.amount for e in events)
        assert abs((available + held) - (granted - lost)) < 1e-6  # escrow is conserved: nothing appears or vanishes
        for arena_id in {e.arena_id for e in events if e.arena_id}:
            assert sum(e.escrow for e in events if e.arena_id == arena_id) >= -1e-9


TestLedger = LedgerMachine.TestCase
TestLedger.settings = settings(
    max_examples=40, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def arena_cli(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def test_a_revert_raises_the_stake_tenfold_and_then_refuses_entry(tmp_path):
    repo, arena_dir = tmp_path / "calc", tmp_path / "arena"
    make_repo(repo, CALC_FILES)
    write_steps(
        arena_dir / "fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    write_steps(
        arena_dir / "idle.yaml", [{"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}]
    )
    spec = {
        "task": {
            "repo": str(repo),
            "problem_statement": "add() subtracts",
            "test_command": "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'",
        },
        "contestants": [
            {"name": "fixer", "model": "scripted:fix.yaml", "strategy": "minimal-fix"},
            {"name": "idler", "model": "scripted:idle.yaml", "strategy": "balanced"},
        ],
    }
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data"), "ARENA_STARTING_GRANT": "5"}
    fixer = f"scripted:{arena_dir / 'fix.yaml'}+minimal-fix"  # as a spec names it; `arena agent` hashes the file

    run = arena_cli("run", str(arena_dir / "arena.yaml"), "--json", env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    arena_id = json.loads(run.stdout)["arena_id"]
    identity = json.loads(run.stdout)["contestants"][0]["agent"]
    agent = json.loads(arena_cli("agent", fixer, "--json", env=env, cwd=tmp_path).stdout)
    assert (agent["balance"], agent["stake"], agent["k"], agent["wins"]) == (4, 1, 0, 1)  # its stake stays escrowed

    applied = arena_cli("apply", arena_id, "--json", env=env, cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    commit = json.loads(applied.stdout)["commit"]
    assert "Arena-Id: " + arena_id in git(repo, "log", "-1", "--format=%B", commit)
    assert git(repo, "status", "--porcelain") == ""  # the user's working tree was not touched
    git(repo, "merge", "--no-ff", "-q", "-m", "merge the arena's winner", f"arena/{arena_id}-fixer")
    synced = json.loads(arena_cli("sync", "--json", env=env, cwd=tmp_path).stdout)
    assert synced == [{"arena_id": arena_id, "event": "merged", "commit": commit}]
    agent = json.loads(arena_cli("agent", fixer, "--json", env=env, cwd=tmp_path).stdout)
    assert (agent["balance"], agent["merged"]) == (6, 1)  # stake returned plus the merge reward

    git(repo, "revert", "--no-edit", commit)
    synced = json.loads(arena_cli("sync", "--json", env=env, cwd=tmp_path).stdout)
    assert [s["event"] for s in synced] == ["reverted"]
    assert json.loads(arena_cli("sync", "--json", env=env, cwd=tmp_path).stdout) == []  # idempotent
    agent = json.loads(arena_cli("agent", fixer, "--json", env=env, cwd=tmp_path).stdout)
    assert (agent["k"], agent["stake"], agent["reverted"], agent["balance"], agent["wins"]) == (1, 10, 1, 5, 0)
    assert [h["kind"] for h in agent["history"]][-2:] == ["reverted", "penalty"]

    refusal = f"agent {identity} cannot enter: balance 5 < stake 10 (1 x 10^1 after 1 unredeemed revert(s))"
    refused = arena_cli("run", str(arena_dir / "arena.yaml"), env=env, cwd=tmp_path)
    assert refused.returncode == 2 and refusal in refused.stderr
    # The same steps in another checkout are the same agent: moving the files does not shed the revert.
    moved = tmp_path / "another-checkout"
    shutil.copytree(arena_dir, moved)
    refused = arena_cli("run", str(moved / "arena.yaml"), env=env, cwd=tmp_path)
    assert refused.returncode == 2 and refusal in refused.stderr
    listed = arena_cli("list", "--json", env=env, cwd=tmp_path)
    assert len(json.loads(listed.stdout)) == 1  # the refused arenas wrote nothing
    idler = json.loads(
        arena_cli("agent", f"scripted:{arena_dir / 'idle.yaml'}+balanced", "--json", env=env, cwd=tmp_path).stdout
    )
    assert (idler["balance"], idler["stake"], idler["escrow"]) == (5, 1, 0)  # the loser got its stake back


def test_abandoning_returns_the_winners_stake(tmp_path, calc_repo, arena_dir, settings):
    from arena.engine import Engine
    from arena.spec import spec_from_dict
    from tests.conftest import spec_dict

    write_steps(
        arena_dir / "fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    engine = Engine(settings)
    try:
        raw = spec_dict(calc_repo, [{"name": "f", "model": "scripted:fix.yaml"}])
        raw["task"]["test_command"] = "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'"
        arena_id = engine.run(spec_from_dict(raw, base_dir=arena_dir))
    finally:
        engine.shutdown()
    env = {**os.environ, "ARENA_DATA_DIR": str(settings.data_dir)}
    assert arena_cli("abandon", arena_id, env=env, cwd=tmp_path).returncode == 0
    again = arena_cli("abandon", arena_id, env=env, cwd=tmp_path)
    assert again.returncode == 2 and "holds no winner's stake" in again.stderr
    agent = f"scripted:{arena_dir / 'fix.yaml'}+balanced"
    state = json.loads(arena_cli("agent", agent, "--json", env=env, cwd=tmp_path).stdout)
    assert (state["balance"], state["escrow"], state["wins"]) == (100, 0, 1)


def test_ledger_edges_from_review(tmp_path):
    """Abandon before settlement is refused; a no-winner arena gives nobody a win; settle after a release adds places."""
    ledger = Ledger(Store(f"sqlite:///{tmp_path}/l.db"), StakeRules(starting_grant=10))
    ledger.enter("a1", [("x", "m+s"), ("y", "n+s")])
    assert ledger.winner_escrow("a1") is None  # running: no winner's stake to abandon or apply
    ledger.settle(
        "a1", None, [{"name": "x", "rank": 1, "resolved": False}, {"name": "y", "rank": 2, "resolved": False}]
    )
    assert ledger.state("m+s").wins == 0 and ledger.state("m+s").balance == 10  # first place without a winner is no win
    ledger.enter("a2", [("x", "m+s"), ("y", "n+s")])
    ledger.release("a2", "the first verdict errored")
    ranking = [{"name": "x", "rank": 1, "resolved": True}, {"name": "y", "rank": 2, "resolved": False}]
    assert ledger.settle("a2", "x", ranking) is True  # a re-judge after the release still records the outcome
    assert ledger.settle("a2", "x", ranking) is False  # once
    state = ledger.state("m+s")
    assert (state.wins, state.balance, state.escrow) == (1, 10, 0)  # its stake was already returned by the release


def test_reverting_a_no_ff_merge_and_a_detached_head(tmp_path):
    repo, arena_dir = tmp_path / "calc", tmp_path / "arena"
    make_repo(repo, CALC_FILES)
    write_steps(
        arena_dir / "fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    spec = {
        "task": {
            "repo": str(repo),
            "problem_statement": "add() subtracts",
            "test_command": "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'",
        },
        "contestants": [{"name": "fixer", "model": "scripted:fix.yaml", "strategy": "minimal-fix"}],
    }
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
    arena_id = json.loads(arena_cli("run", str(arena_dir / "arena.yaml"), "--json", env=env, cwd=tmp_path).stdout)[
        "arena_id"
    ]
    git(repo, "checkout", "-q", "--detach")
    detached = arena_cli("apply", arena_id, env=env, cwd=tmp_path)
    assert detached.returncode == 2 and "detached HEAD" in detached.stderr
    git(repo, "checkout", "-q", "main")
    assert arena_cli("apply", arena_id, env=env, cwd=tmp_path).returncode == 0
    git(repo, "merge", "--no-ff", "-q", "-m", "merge", f"arena/{arena_id}-fixer")
    merge = git(repo, "rev-parse", "HEAD")
    assert [s["event"] for s in json.loads(arena_cli("sync", "--json", env=env, cwd=tmp_path).stdout)] == ["merged"]
    git(repo, "revert", "--no-edit", "-m", "1", merge)  # reverting the merge commit, the usual way
    assert [s["event"] for s in json.loads(arena_cli("sync", "--json", env=env, cwd=tmp_path).stdout)] == ["reverted"]
    agent = json.loads(
        arena_cli("agent", f"scripted:{arena_dir / 'fix.yaml'}+minimal-fix", "--json", env=env, cwd=tmp_path).stdout
    )
    assert (agent["k"], agent["stake"]) == (1, 10)


def test_the_timeline_after_each_event_ends_where_the_state_is(settings):
    """The Reputation page's chart comes from Ledger.timeline: its last point is the agent's state, even when a
    redemption's own arena is reverted later (the app used to recount k without that rule)."""
    from arena.reputation.ledger import Ledger
    from arena.storage import EventRow, Store

    store = Store(settings.database_url)
    ledger = Ledger(store)
    agent = "m+s"
    with store.session() as s:
        s.add_all(
            [
                EventRow(agent=agent, kind="grant", amount=100.0),
                EventRow(agent=agent, kind="escrow", arena_id="a1", contestant="c", amount=-1.0, escrow=1.0),
                EventRow(agent=agent, kind="reverted", arena_id="a1", contestant="c"),
                EventRow(agent=agent, kind="forfeit", arena_id="a1", contestant="c", escrow=-1.0),
                EventRow(agent=agent, kind="redeemed", arena_id="a2"),
                EventRow(agent=agent, kind="reverted", arena_id="a2", contestant="c"),
            ]
        )
    state = ledger.state(agent)
    points = ledger.timeline(state.history)
    assert len(points) == len(state.history)
    assert (points[-1]["balance"], points[-1]["escrow"], points[-1]["stake"]) == (
        state.balance,
        state.escrow,
        state.stake,
    )
    assert [p["stake"] for p in points][2:] == [10.0, 10.0, 1.0, 100.0]
    assert ledger.agents() == [agent]
