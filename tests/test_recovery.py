"""Ownership by lease, recovery in one place, and a ledger that is exactly-once by the database.

Driven through the real `arena` command in subprocesses: a run killed with -9, a run "on another
host" (a row whose owner is elsewhere), and six launches racing on a fresh database.
"""

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import yaml

from arena.reputation.ledger import Ledger
from arena.storage import ArenaRow, ContestantRow, EventRow, Store, utcnow
from tests.conftest import spec_dict, write_steps

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def env_for(data: Path, **extra: str) -> dict:
    env = {**os.environ, "ARENA_DATA_DIR": str(data), **extra}
    env.pop("ARENA_DATABASE_URL", None)
    return env


def arena(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


def agent_state(name: str, env: dict) -> dict:
    result = arena("agent", name, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def slow_spec(calc_repo: Path, arena_dir: Path) -> Path:
    write_steps(
        arena_dir / "slow.yaml",
        [{"thought": "think long", "commands": ["sleep 60"]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    spec = spec_dict(calc_repo, [{"name": "slow", "model": "scripted:slow.yaml", "strategy": "minimal-fix"}])
    spec["sandbox"]["command_timeout_s"] = 90
    path = arena_dir / "slow.yaml.spec"
    path.write_text(yaml.safe_dump(spec))
    return path


def wait_for(predicate, timeout: float = 30, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def running_arena(env: dict) -> dict | None:
    """The newest arena once its first contestant runs (as `arena list --json` shows it), else None."""
    listed = arena("list", "--json", env=env)
    rows = json.loads(listed.stdout) if listed.returncode == 0 and listed.stdout.strip() else []
    return rows[0] if rows and rows[0]["contestants"][0]["status"] == "running" else None


def test_a_run_killed_with_9_is_recovered_after_its_lease_and_its_stake_returns(calc_repo, arena_dir, tmp_path):
    data = tmp_path / "data"
    env = env_for(data, ARENA_LEASE_S="2")
    runner = subprocess.Popen(
        [sys.executable, "-m", "arena.cli", "run", str(slow_spec(calc_repo, arena_dir))],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        row = wait_for(lambda: running_arena(env))
        agent = f"{row['contestants'][0]['model']}+minimal-fix"
        time.sleep(5)  # more than two leases: a live owner keeps renewing, so nobody takes the run early
        shown = json.loads(arena("show", row["arena_id"], "--json", env=env).stdout)
        assert shown["status"] == "running", shown
        assert agent_state(agent, env)["escrow"] == 1
        os.killpg(runner.pid, signal.SIGKILL)  # the whole process group, as when a machine dies
        runner.wait(10)
        time.sleep(2.5)  # the lease runs out
        shown = json.loads(arena("show", row["arena_id"], "--json", env=env).stdout)
        assert shown["status"] == "interrupted"
        assert "stopped renewing its lease" in shown["error"]
        assert [c["status"] for c in shown["contestants"]] == ["interrupted"]
        state = agent_state(agent, env)
        assert (state["balance"], state["escrow"]) == (100, 0)
        cancel = arena("cancel", row["arena_id"], env=env)
        assert cancel.returncode == 0 and "already ended (interrupted)" in cancel.stdout
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)


def _foreign_arena(store: Store, arena_id: str, lease_in_s: float) -> None:
    row = ArenaRow(
        id=arena_id,
        repo="/elsewhere",
        base="HEAD",
        base_sha="0" * 40,
        spec={},
        status="running",
        owner="worker-7f3a:41",
        lease_until=utcnow() + timedelta(seconds=lease_in_s),
    )
    store.create_arena(row, [ContestantRow(name="c", model="m", strategy="s", status="running")])
    Ledger(store).enter(arena_id, [("c", "m+s")])


def test_runs_owned_by_another_host_are_recovered_by_lease_not_hostname(tmp_path):
    data = tmp_path / "data"
    env = env_for(data)
    store = Store(f"sqlite:///{data / 'arena.db'}")
    _foreign_arena(store, "a11ve000", lease_in_s=600)  # its host renews: still alive
    _foreign_arena(store, "deadbeef", lease_in_s=-1)  # its container was recreated under a new hostname
    listed = {r["arena_id"]: r for r in json.loads(arena("list", "--json", env=env).stdout)}
    assert listed["a11ve000"]["status"] == "running"
    assert listed["deadbeef"]["status"] == "interrupted"
    assert "worker-7f3a:41" in listed["deadbeef"]["error"]
    events = Ledger(store).events(arena_id="deadbeef")
    assert [e.kind for e in events] == ["entered", "escrow", "refund"]
    assert [e.kind for e in Ledger(store).events(arena_id="a11ve000")] == ["entered", "escrow"]
    state = agent_state("m+s", env)
    assert (state["balance"], state["escrow"]) == (99, 1)  # the live arena's stake stays held
    judge = arena("judge", "a11ve000", env=env)
    assert judge.returncode == 2 and "still running" in judge.stderr


def test_an_arena_that_ended_unsettled_gets_its_stakes_back_whoever_notices(tmp_path):
    """The crash-between-status-and-settlement case: an arena already `failed`, escrow still held."""
    data = tmp_path / "data"
    store = Store(f"sqlite:///{data / 'arena.db'}")
    _foreign_arena(store, "0ddba11a", lease_in_s=600)
    store.update_arena("0ddba11a", status="failed")
    assert arena("list", env=env_for(data)).returncode == 0
    kinds = [e.kind for e in Ledger(store).events(arena_id="0ddba11a")]
    assert kinds == ["entered", "escrow", "refund"]
    assert arena("list", env=env_for(data)).returncode == 0  # a second look returns nothing twice
    assert [e.kind for e in Ledger(store).events(arena_id="0ddba11a")] == kinds


def test_six_launches_racing_on_a_fresh_database_grant_once_and_all_succeed(calc_repo, arena_dir, tmp_path):
    write_steps(
        arena_dir / "fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": [SUBMIT]},
        ],
    )
    spec = spec_dict(calc_repo, [{"name": "fixer", "model": "scripted:fix.yaml", "strategy": "minimal-fix"}])
    spec["task"]["test_command"] = "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'"
    (arena_dir / "race.yaml").write_text(yaml.safe_dump(spec))
    data = tmp_path / "data"  # no database yet: all six create it at once
    env = env_for(data)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: arena("run", str(arena_dir / "race.yaml"), "--json", env=env), range(6)))
    for r in results:
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["status"] == "completed"
    agent = f"scripted:{arena_dir / 'fix.yaml'}+minimal-fix"
    state = agent_state(agent, env)
    assert [e["kind"] for e in state["history"]].count("grant") == 1
    assert (state["balance"], state["escrow"], state["wins"]) == (94, 6, 6)  # each win's stake waits for a merge


def test_the_database_refuses_a_second_grant_or_release(tmp_path):
    """The rules hold even for a writer that skips the ledger's own checks."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    store = Store(f"sqlite:///{tmp_path / 'l.db'}")
    ledger = Ledger(store)
    ledger.enter("feedf00d", [("a", "m+s")])
    with pytest.raises(IntegrityError):
        ledger._add([EventRow(agent="m+s", kind="grant", amount=100)])
    ledger.release("feedf00d", "test")
    escrow = next(e for e in ledger.events(arena_id="feedf00d") if e.kind == "escrow")
    with pytest.raises(IntegrityError):
        ledger._add([EventRow(agent="m+s", kind="refund", arena_id="feedf00d", contestant="a", amount=escrow.escrow)])
    assert ledger.release("feedf00d", "again") == 0
    assert ledger.state("m+s").balance == 100


def test_a_merge_is_recorded_once_even_when_two_syncs_see_it(tmp_path):
    """Found in review: two `arena sync` at once each wrote `merged` and a reward."""
    store = Store(f"sqlite:///{tmp_path / 'l.db'}")
    ledger = Ledger(store)
    ledger.enter("a1a1a1a1", [("w", "m+s")])
    ledger.settle("a1a1a1a1", "w", [{"name": "w", "rank": 1, "resolved": True}], verdict_id=1)
    assert ledger.record("merged", "a1a1a1a1", "m+s", "w", commit="c0ffee") is True
    assert ledger.record("merged", "a1a1a1a1", "m+s", "w", commit="c0ffee") is False
    state = ledger.state("m+s")
    assert (state.balance, state.escrow, state.merged) == (101, 0, 1)


def test_an_owner_that_stalled_past_its_lease_does_not_undo_the_recovery(calc_repo, arena_dir, tmp_path):
    """Found in review: a paused owner resumed and wrote `completed` (and settled) over the recovery."""
    data = tmp_path / "data"
    env = env_for(data, ARENA_LEASE_S="2")
    write_steps(
        arena_dir / "short.yaml",
        [{"thought": "a while", "commands": ["sleep 4"]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    spec = spec_dict(calc_repo, [{"name": "short", "model": "scripted:short.yaml", "strategy": "minimal-fix"}])
    (arena_dir / "short.spec").write_text(yaml.safe_dump(spec))
    runner = subprocess.Popen(
        [sys.executable, "-m", "arena.cli", "run", str(arena_dir / "short.spec")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        row = wait_for(lambda: running_arena(env))
        os.killpg(runner.pid, signal.SIGSTOP)  # a paused VM, a long GC, a stuck disk
        time.sleep(3)
        assert json.loads(arena("show", row["arena_id"], "--json", env=env).stdout)["status"] == "interrupted"
        os.killpg(runner.pid, signal.SIGCONT)
        runner.wait(60)
        shown = json.loads(arena("show", row["arena_id"], "--json", env=env).stdout)
        assert shown["status"] == "interrupted" and shown["verdict"] is None
        state = agent_state(f"{row['contestants'][0]['model']}+minimal-fix", env)
        assert (state["balance"], state["escrow"]) == (100, 0)
        assert [e["kind"] for e in state["history"]] == ["grant", "entered", "escrow", "refund"]
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)


def test_recovery_looks_at_an_ended_arena_until_it_is_found_settled(tmp_path):
    """Every CLI command asks for unsettled arenas: an arena found with nothing left to settle is marked and not read
    again; one with a stake still escrowed is returned each time; one that ended minutes ago is not marked yet (its
    owner may still be writing escrows). The `arena list` of a marked database shows everything as before."""
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    long_ago, now = utcnow() - timedelta(hours=2), utcnow()
    for arena_id, finished, escrow_open in (("old", long_ago, False), ("held", long_ago, True), ("new", now, False)):
        row = ArenaRow(id=arena_id, repo="r", base="HEAD", base_sha="0" * 40, spec={}, status="completed")
        row.created_at, row.finished_at = long_ago, finished
        store.create_arena(row, [ContestantRow(name="c0", model="m", strategy="s")])
        ledger = Ledger(store)
        ledger.enter(arena_id, [("c0", "m+s")])
        if not escrow_open:
            ledger.release(arena_id, "test")
    assert store.unsettled_arenas() == ["held"]
    settled = {r.id: r.settled_at is not None for r in store.arenas()}
    assert settled == {"old": True, "held": False, "new": False}
    assert store.unsettled_arenas() == ["held"]
    result = subprocess.run(
        [sys.executable, "-m", "arena.cli", "list"], capture_output=True, text=True, env=env_for(tmp_path), cwd=ROOT
    )
    assert result.returncode == 0 and {"old", "held", "new"} <= set(result.stdout.split()), result.stdout
