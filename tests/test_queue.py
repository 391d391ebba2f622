"""Arenas run by workers on the PostgreSQL queue (arena/queue), through the real `arena` command: `arena run
--detach`, `arena worker` processes, a worker killed with -9 mid-contestant, a cancel and a time budget that reach
the worker running a contestant. Real PostgreSQL, real bubblewrap sandboxes, scripted contestants."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from arena.storage import Store
from tests.conftest import spec_dict, write_steps
from tests.test_postgres import postgres_url  # noqa: F401  (the fixture: a throwaway PostgreSQL server)

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
FIX = "sed -i 's/a - b/a + b/' calc/ops.py"
LEASE_S = "6"


@pytest.fixture
def queue_env(postgres_url, tmp_path, request):  # noqa: F811
    """The environment of every process of one test: its own database on the test server, its own data dir."""
    name = "q_" + request.node.name.lower().replace("test_", "")[:40]
    admin = Store(postgres_url).engine
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    env = {
        **os.environ,
        "ARENA_DATA_DIR": str(tmp_path / "data"),
        "ARENA_DATABASE_URL": postgres_url.rsplit("/", 1)[0] + "/" + name,
        "ARENA_LEASE_S": LEASE_S,
    }
    workers: list[subprocess.Popen] = []
    env_and_workers = (env, workers)
    yield env_and_workers
    for w in workers:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()


def cli(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout
    )


def start_worker(env_and_workers, tmp_path: Path, label: str, concurrency: int = 2) -> subprocess.Popen:
    """`arena worker` in a process group of its own (so -9 takes the whole group, as when its machine dies)."""
    env, workers = env_and_workers
    log = open(tmp_path / f"worker-{label}.log", "w")  # noqa: SIM115 (the process keeps it)
    worker = subprocess.Popen(
        [sys.executable, "-m", "arena.cli", "worker", "--concurrency", str(concurrency)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers.append(worker)
    return worker


def store_of(env: dict) -> Store:
    return Store(env["ARENA_DATABASE_URL"])


def wait_for(predicate, timeout: float, what: str, logs: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    shown = ""
    if logs is not None:
        shown = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("worker-*.log")))
    raise AssertionError(f"timed out waiting for {what}\n{shown}")


def detach(env: dict, spec_path: Path) -> str:
    started = time.monotonic()
    launched = cli(env, "run", str(spec_path), "--detach", "--json")
    assert launched.returncode == 0, launched.stderr
    assert time.monotonic() - started < 30  # returns at once: no worker is running yet
    return json.loads(launched.stdout)["arena_id"]


def ended(env: dict, arena_id: str):
    row = store_of(env).arena(arena_id)
    return row if row.status not in ("queued", "running") else None


def ledger_of(env: dict, arena_id: str) -> list[tuple]:
    with store_of(env).engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT kind, contestant FROM reputation_events WHERE arena_id = :a ORDER BY id"), {"a": arena_id}
            )
        )


def test_detach_returns_at_once_and_two_workers_run_the_arena(queue_env, tmp_path, calc_repo, arena_dir):
    env, _ = queue_env
    write_steps(
        arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"thought": "done", "commands": [SUBMIT]}]
    )
    write_steps(
        arena_dir / "idle.yaml", [{"thought": "look", "commands": ["ls"]}, {"thought": "done", "commands": [SUBMIT]}]
    )
    contestants = [
        {"name": "fixer", "model": "scripted:fix.yaml"},
        {"name": "idler", "model": "scripted:idle.yaml"},
        {"name": "fixer2", "model": "scripted:fix.yaml", "strategy": "test-first"},
    ]
    spec = spec_dict(calc_repo, contestants, limits={"max_parallel": 2, "time_budget_s": 120})
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    arena_id = detach(env, arena_dir / "arena.yaml")
    assert store_of(env).arena(arena_id).status == "queued"

    start_worker(queue_env, tmp_path, "a")
    start_worker(queue_env, tmp_path, "b")
    row = wait_for(lambda: ended(env, arena_id), 180, "the arena to end", tmp_path)
    assert row.status == "completed", row.error
    assert {c.name: (c.status, c.exit_status, c.attempts) for c in row.contestants} == {
        "fixer": ("completed", "Submitted", 1),
        "idler": ("completed", "Submitted", 1),
        "fixer2": ("completed", "Submitted", 1),
    }
    shown = json.loads(cli(env, "show", arena_id, "--json").stdout)
    assert shown["verdict"]["winner"] in ("fixer", "fixer2")
    kinds = [k for k, _ in ledger_of(env, arena_id)]
    assert kinds.count("escrow") == 3 and kinds.count("place") == 3 and kinds.count("refund") == 2  # settled once


def test_a_worker_killed_mid_contestant_is_replaced_and_the_arena_completes(queue_env, tmp_path, calc_repo, arena_dir):
    """Worker A dies (-9, its whole process group) while a contestant sleeps; after the lease, worker B runs that
    contestant again from scratch in a fresh sandbox, says so in its history, and the arena completes and settles
    its stakes exactly once."""
    env, _ = queue_env
    write_steps(
        arena_dir / "slow.yaml",
        [{"thought": "think long", "commands": ["sleep 15", FIX]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    write_steps(arena_dir / "idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    contestants = [{"name": "slow", "model": "scripted:slow.yaml"}, {"name": "idle", "model": "scripted:idle.yaml"}]
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec_dict(calc_repo, contestants)))
    arena_id = detach(env, arena_dir / "arena.yaml")

    a = start_worker(queue_env, tmp_path, "a")

    def slow_running():
        slow = next(c for c in store_of(env).arena(arena_id).contestants if c.name == "slow")
        return slow if slow.status == "running" else None

    first = wait_for(slow_running, 120, "the slow contestant to run on worker A", tmp_path)
    time.sleep(4)  # inside its `sleep 15`
    os.killpg(a.pid, signal.SIGKILL)
    a.wait()
    dead = first.history[-1]["worker"]

    start_worker(queue_env, tmp_path, "b")
    row = wait_for(lambda: ended(env, arena_id), 180, "the arena to end on worker B", tmp_path)
    assert row.status == "completed", row.error
    slow = next(c for c in row.contestants if c.name == "slow")
    assert (slow.status, slow.exit_status, slow.attempts) == ("completed", "Submitted", 2)
    rerun = [h for h in slow.history if h["event"] == "rerun"]
    assert len(rerun) == 1 and dead in rerun[0]["note"] and "from scratch" in rerun[0]["note"]
    assert rerun[0]["worker"] != dead
    assert (Path(env["ARENA_DATA_DIR"]) / "runs" / arena_id / "slow.attempt-1").is_dir()  # the first try, kept aside
    shown = json.loads(cli(env, "show", arena_id, "--json").stdout)
    assert shown["verdict"]["winner"] == "slow"
    assert [h["event"] for h in shown["contestants"][0]["history"]] == ["dispatched", "claimed", "rerun"]
    events = ledger_of(env, arena_id)
    assert sorted(c for k, c in events if k == "escrow") == ["idle", "slow"]
    assert sorted(c for k, c in events if k == "place") == ["idle", "slow"]  # one verdict, settled once
    assert [c for k, c in events if k in ("refund", "forfeit")] == ["idle"]  # the winner's stake waits for the merge
    assert all(c.status not in ("queued", "running") for c in row.contestants)


def test_a_cancel_reaches_the_worker_running_the_contestant_within_two_seconds(
    queue_env, tmp_path, calc_repo, arena_dir
):
    env, _ = queue_env
    write_steps(
        arena_dir / "sleepy.yaml",
        [{"thought": "wait", "commands": ["sleep 60"]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    contestants = [{"name": "sleepy", "model": "scripted:sleepy.yaml"}]
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec_dict(calc_repo, contestants)))
    arena_id = detach(env, arena_dir / "arena.yaml")
    start_worker(queue_env, tmp_path, "a")
    wait_for(
        lambda: store_of(env).arena(arena_id).contestants[0].status == "running", 120, "the contestant to run", tmp_path
    )
    time.sleep(1)  # inside its sleep
    store = store_of(env)
    cancelling = subprocess.Popen([sys.executable, "-m", "arena.cli", "cancel", arena_id], env=env, cwd=ROOT)
    wait_for(lambda: store.arena(arena_id).cancel_requested, 60, "the cancel flag", tmp_path)
    asked = time.monotonic()  # the flag is in the database: from here the worker has 2 s to notice
    contestant = wait_for(
        lambda: (c := store.arena(arena_id).contestants[0]).history[-1]["event"] == "stopping" and c,
        5,
        "the worker to notice the cancel",
        tmp_path,
    )
    noticed = time.monotonic() - asked
    assert cancelling.wait(60) == 0
    flagged_at = contestant.history[-1]["at"]
    assert noticed <= 2, f"the worker noticed the cancel {noticed:.2f} s after it was stored ({flagged_at})"
    assert "cancelled: the worker stops it" in contestant.history[-1]["note"]
    row = wait_for(lambda: ended(env, arena_id), 60, "the arena to end", tmp_path)
    assert row.status == "cancelled"
    assert [k for k, _ in ledger_of(env, arena_id)].count("refund") == 1  # the stake went back


def test_the_arena_time_budget_holds_on_the_workers(queue_env, tmp_path, calc_repo, arena_dir):
    """Two contestants and max_parallel 1: the first runs past the arena's budget and is stopped there; the second
    never starts."""
    env, _ = queue_env
    write_steps(
        arena_dir / "sleepy.yaml",
        [{"thought": "wait", "commands": ["sleep 60"]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    contestants = [{"name": f"s{i}", "model": "scripted:sleepy.yaml"} for i in range(2)]
    spec = spec_dict(calc_repo, contestants, limits={"max_parallel": 1, "time_budget_s": 8})
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    arena_id = detach(env, arena_dir / "arena.yaml")
    start_worker(queue_env, tmp_path, "a")
    row = wait_for(lambda: ended(env, arena_id), 90, "the arena to end", tmp_path)
    assert row.status == "timed_out"
    assert {c.name: c.status for c in row.contestants} == {"s0": "timed_out", "s1": "timed_out"}
    assert row.contestants[1].error.startswith("not started")
    assert (row.finished_at - row.started_at).total_seconds() < 30


def test_detach_needs_postgresql_and_writes_nothing_without_it(tmp_path, calc_repo, arena_dir):
    write_steps(arena_dir / "idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    (arena_dir / "arena.yaml").write_text(
        yaml.safe_dump(spec_dict(calc_repo, [{"name": "i", "model": "scripted:idle.yaml"}]))
    )
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
    env.pop("ARENA_DATABASE_URL", None)
    refused = cli(env, "run", str(arena_dir / "arena.yaml"), "--detach", "--json")
    assert refused.returncode == 2
    assert "PostgreSQL" in refused.stderr and "without --detach" in refused.stderr
    assert json.loads(refused.stdout)["exit_code"] == 2
    listed = cli(env, "list", "--json")
    assert json.loads(listed.stdout) == []


def test_show_export_judge_and_live_answer_from_a_machine_without_the_workers_files(
    queue_env, tmp_path, calc_repo, arena_dir, monkeypatch
):
    """The shared store: what the workers produced (patches, trajectories, the setup log) is read from PostgreSQL,
    so `arena show`, `arena export`, `arena judge` and the Live page work from a data dir no worker used, even after
    the workers' files are gone."""
    from app import queries, resources
    from arena.trajectory import load_trajectory
    from tests.app.conftest import app, texts

    env, _ = queue_env
    write_steps(
        arena_dir / "fix.yaml",
        [{"thought": "fix the sign", "commands": [FIX]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    write_steps(
        arena_dir / "idle.yaml",
        [{"thought": "look around", "commands": ["ls"]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    contestants = [{"name": "fixer", "model": "scripted:fix.yaml"}, {"name": "idler", "model": "scripted:idle.yaml"}]
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec_dict(calc_repo, contestants)))
    arena_id = detach(env, arena_dir / "arena.yaml")
    start_worker(queue_env, tmp_path, "a")
    row = wait_for(lambda: ended(env, arena_id), 180, "the arena to end", tmp_path)
    assert row.status == "completed", row.error
    worker_runs = Path(env["ARENA_DATA_DIR"]) / "runs" / arena_id
    worker_messages = json.loads((worker_runs / "fixer" / "traj.json").read_text())["messages"]

    import shutil

    shutil.rmtree(Path(env["ARENA_DATA_DIR"]))  # the workers' disk is gone, or was never this machine's
    elsewhere = {**env, "ARENA_DATA_DIR": str(tmp_path / "elsewhere")}
    shown = cli(elsewhere, "show", arena_id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["verdict"]["winner"] == "fixer"
    patch = cli(elsewhere, "export", arena_id, "--format", "patch")
    assert patch.returncode == 0, patch.stderr
    assert "+    return a + b" in patch.stdout
    exported = cli(elsewhere, "export", arena_id, "--format", "trajectory", "--contestant", "fixer")
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["messages"] == worker_messages and data["info"]["arena"]["arena_id"] == arena_id
    assert len(load_trajectory(data).steps) >= 2
    rejudged = cli(elsewhere, "judge", arena_id, "--json")
    assert rejudged.returncode == 0, rejudged.stderr
    assert json.loads(rejudged.stdout)["winner"] == "fixer"  # the judge read both patches from the database

    from arena.analytics import steps_df

    steps = steps_df(store_of(env))  # the notebooks' steps, from the store too
    assert steps.filter(steps["run"] == f"{arena_id}/fixer")["command"].to_list()[:1] == [FIX]

    monkeypatch.setenv("ARENA_DATA_DIR", elsewhere["ARENA_DATA_DIR"])
    monkeypatch.setenv("ARENA_DATABASE_URL", env["ARENA_DATABASE_URL"])
    resources.engine.clear()
    queries.arenas.clear()
    try:
        at = app("live")
        assert "fix the sign" in texts(at) or any("fix the sign" in str(e.value) for e in at.get("expandable"))
        at.switch_page("../pages/trajectories.py").run()
        assert not at.exception, at.exception
        chosen = f"arena {arena_id} / fixer (completed)"
        at.selectbox(key="traj-main-file").set_value(chosen).run()
        assert not at.exception and not at.error, at.exception
        assert any(FIX in c.value for c in at.code)  # its steps, read from the database
    finally:
        resources.engine().shutdown()
        resources.engine.clear()
