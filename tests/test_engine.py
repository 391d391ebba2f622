"""The engine end to end: scripted contestants in parallel, cancellation, time budget, crashes, recovery, setup."""

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from arena.engine import Engine
from arena.errors import SpecError
from arena.spec import spec_from_dict
from arena.storage import ArenaRow, ContestantRow, Store, utcnow
from tests.conftest import make_repo, observations, spec_dict, write_steps

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
FIX = "sed -i 's/a - b/a + b/' calc/ops.py"
WRONG = "sed -i 's/a - b/b - a/' calc/ops.py"
TESTS = "python3 -m pytest -q 2>&1 | tail -3 || python3 -c 'from calc.ops import add; print(add(2, 3))'"


@pytest.fixture
def engine(settings):
    engine = Engine(settings)
    yield engine
    engine.shutdown()


def scripted(arena_dir: Path, name: str, steps: list[dict], **extra) -> dict:
    write_steps(arena_dir / "steps" / f"{name}.yaml", steps)
    return {"name": name, "model": f"scripted:steps/{name}.yaml", "strategy": "minimal-fix", **extra}


def step(*commands: str, thought: str = "next") -> dict:
    return {"thought": thought, "commands": list(commands)}


def test_three_scripted_contestants_in_parallel(engine, calc_repo, arena_dir):
    contestants = [
        scripted(
            arena_dir,
            "fixer",
            [
                step("cat calc/ops.py"),
                step(FIX),
                step("python3 -c 'from calc.ops import add; print(add(2, 3))'"),
                step(SUBMIT),
            ],
        ),
        scripted(arena_dir, "wrong", [step(WRONG), step(SUBMIT)]),
        scripted(arena_dir, "quitter", [step("ls"), step(SUBMIT)]),
    ]
    # Three contestants that each sleep 1 s finish in well under 3 s only if they really run in parallel.
    for c in contestants:
        steps_file = arena_dir / c["model"].split(":", 1)[1]
        steps = [step("sleep 1")] + __import__("yaml").safe_load(steps_file.read_text())
        write_steps(steps_file, steps)
    spec = spec_from_dict(spec_dict(calc_repo, contestants), base_dir=arena_dir)
    arena_id = engine.run(spec)
    arena = engine.store.arena(arena_id)
    rows = {c.name: c for c in arena.contestants}

    assert arena.status == "completed" and arena.error is None
    assert {n: (c.status, c.exit_status, c.steps) for n, c in rows.items()} == {
        "fixer": ("completed", "Submitted", 5),
        "wrong": ("completed", "Submitted", 3),
        "quitter": ("completed", "Submitted", 3),
    }
    assert "+    return a + b" in Path(rows["fixer"].patch_path).read_text()
    assert "+    return b - a" in Path(rows["wrong"].patch_path).read_text()
    assert Path(rows["quitter"].patch_path).read_text() == ""
    starts = sorted(c.started_at for c in rows.values())
    ends = sorted(c.finished_at for c in rows.values())
    assert starts[-1] < ends[0], "contestants did not overlap"
    # The trajectory is mini-swe-agent's own format, with the fix's output recorded.
    traj = json.loads(Path(rows["fixer"].trajectory_path).read_text())
    assert traj["trajectory_format"].startswith("mini-swe-agent")
    assert traj["info"]["exit_status"] == "Submitted" and traj["info"]["arena"]["contestant"] == "fixer"
    outputs = [m["extra"].get("raw_output") for m in traj["messages"] if m["role"] == "user" and "extra" in m]
    assert "5\n" in outputs
    # The pristine checkout was never written: contestants wrote only to their own overlays.
    checkout = next(p for p in (engine.settings.cache_dir / "checkouts").iterdir() if p.is_dir())
    assert "a - b" in (checkout / "calc/ops.py").read_text()
    assert "a - b" in (calc_repo / "calc/ops.py").read_text()


def test_the_patch_includes_new_files_and_not_bytecode(engine, calc_repo, arena_dir):
    steps = [
        step("mkdir -p tests && printf 'def test_new():\\n    assert True\\n' > tests/test_new.py"),
        step("python3 -c 'import calc.ops'"),
        step("rm tests/test_ops.py"),
        step(SUBMIT),
    ]
    spec = spec_from_dict(spec_dict(calc_repo, [scripted(arena_dir, "adder", steps)]), base_dir=arena_dir)
    row = engine.store.arena(engine.run(spec)).contestants[0]
    patch = Path(row.patch_path).read_text()
    assert "new file mode 100644" in patch and "+++ b/tests/test_new.py" in patch
    assert "deleted file mode" in patch and "--- a/tests/test_ops.py" in patch
    assert ".pyc" not in patch and "__pycache__" not in patch
    # The patch applies to the base commit.
    check = subprocess.run(["git", "apply", "--check", "-"], input=patch, text=True, cwd=calc_repo, capture_output=True)
    assert check.returncode == 0, check.stderr


def test_cancel_one_contestant_and_then_the_arena(engine, calc_repo, arena_dir):
    long = [step("sleep 0.3") for _ in range(200)]
    contestants = [scripted(arena_dir, name, long) for name in ("a", "b", "c")]
    spec = spec_from_dict(spec_dict(calc_repo, contestants, limits={"max_parallel": 2}), base_dir=arena_dir)
    arena_id = engine.launch(spec)
    wait_for(lambda: engine.store.arena(arena_id).contestants[0].steps >= 2)
    engine.cancel(arena_id, "a")
    wait_for(lambda: engine.store.arena(arena_id).contestants[0].status == "cancelled")
    # "c" takes the freed slot; then the whole arena is cancelled from another "process" (the store).
    wait_for(lambda: engine.store.arena(arena_id).contestants[2].status == "running")
    Store(engine.settings.database_url).request_cancel(arena_id)
    assert engine.wait(arena_id, timeout=30)
    arena = engine.store.arena(arena_id)
    assert arena.status == "cancelled"
    assert [(c.status, c.exit_status) for c in arena.contestants] == [("cancelled", "Cancelled")] * 3
    assert all(Path(c.patch_path).exists() for c in arena.contestants)


def test_time_budget_stops_running_and_unstarted_contestants(engine, calc_repo, arena_dir):
    slow = [step("sleep 30")]
    contestants = [scripted(arena_dir, "slow", slow), scripted(arena_dir, "queued", slow)]
    raw = spec_dict(
        calc_repo, contestants, limits={"max_parallel": 1, "time_budget_s": 2}, sandbox={"command_timeout_s": 60}
    )
    started = time.monotonic()
    arena = engine.store.arena(engine.run(spec_from_dict(raw, base_dir=arena_dir)))
    assert time.monotonic() - started < 15, "a running command was not killed at the budget"
    assert arena.status == "timed_out"
    slow_row, queued_row = arena.contestants
    assert (slow_row.status, slow_row.exit_status) == ("timed_out", "TimedOut")
    assert queued_row.status == "timed_out" and queued_row.started_at is None and "not started" in queued_row.error


def test_a_crashing_contestant_is_recorded_and_does_not_disturb_the_others(engine, calc_repo, arena_dir):
    broken = arena_dir / "broken.yaml"  # a strategy whose template uses an undefined variable: jinja raises
    broken.write_text(
        "name: broken\ninstance_template: '{{ no_such_variable }}'\n".replace(
            "instance_template", "agent:\n  instance_template"
        )
    )
    contestants = [
        scripted(arena_dir, "crasher", [step("ls"), step(SUBMIT)], strategy="broken.yaml"),
        scripted(arena_dir, "fine", [step(FIX), step(SUBMIT)]),
    ]
    arena = engine.store.arena(engine.run(spec_from_dict(spec_dict(calc_repo, contestants), base_dir=arena_dir)))
    crasher, fine = arena.contestants
    assert arena.status == "completed"
    assert crasher.status == "failed" and crasher.exit_status == "UndefinedError"
    assert "no_such_variable" in crasher.error and "Traceback" in crasher.traceback
    assert (fine.status, fine.exit_status) == ("completed", "Submitted")


def test_limits_end_a_contestant_with_the_reason(engine, calc_repo, arena_dir):
    many = [step("true") for _ in range(10)]
    contestants = [
        scripted(arena_dir, "steps", many, step_limit=3),
        scripted(arena_dir, "script-ends", [step("true")]),
    ]
    arena = engine.store.arena(engine.run(spec_from_dict(spec_dict(calc_repo, contestants), base_dir=arena_dir)))
    limited, ended = arena.contestants
    assert (limited.status, limited.exit_status, limited.steps) == ("completed", "LimitsExceeded", 3)
    assert (ended.status, ended.exit_status) == ("completed", "ScriptExhausted")


def test_arenas_whose_lease_ran_out_become_interrupted(settings, calc_repo):
    from datetime import timedelta

    store = Store(settings.database_url)
    arena = ArenaRow(
        id="deadbeef",
        repo=str(calc_repo),
        base="HEAD",
        base_sha="0" * 40,
        spec={},
        status="running",
        owner="gone:1",
        lease_until=utcnow() - timedelta(seconds=1),
    )
    store.create_arena(
        arena,
        [
            ContestantRow(name="x", model="m", strategy="s", status="running"),
            ContestantRow(name="y", model="m", strategy="s", status="completed"),
        ],
    )
    alive = ArenaRow(
        id="a11ve000",
        repo=str(calc_repo),
        base="HEAD",
        base_sha="0" * 40,
        spec={},
        status="running",
        owner="elsewhere:2",
        lease_until=utcnow() + timedelta(seconds=60),
    )
    store.create_arena(alive, [ContestantRow(name="z", model="m", strategy="s", status="running")])
    engine = Engine(settings)
    try:
        assert engine.recovered == ["deadbeef"]
        row = engine.store.arena("deadbeef")
        assert row.status == "interrupted" and [c.status for c in row.contestants] == ["interrupted", "completed"]
        assert engine.store.arena("a11ve000").status == "running"
    finally:
        engine.shutdown()


def test_setup_runs_once_and_contestants_see_its_result(engine, tmp_path, arena_dir):
    repo = tmp_path / "pkg"
    make_repo(repo, {"pkg/__init__.py": "VALUE = 1\n", "pyproject.toml": "[project]\nname='pkg'\nversion='0'\n"})
    setup = (
        "python3 -m venv .venv && .venv/bin/python -c 'import sys; print(sys.prefix)' && echo ran >> /workspace/.setup-count"
        " && echo '# generated by setup' >> pkg/__init__.py"  # setup edits a tracked file
    )
    reader = [
        step("cat .setup-count && .venv/bin/python -c 'print(\"venv ok\")' && echo mine > .venv/marker"),
        step(SUBMIT),
    ]
    contestants = [scripted(arena_dir, "r1", reader), scripted(arena_dir, "r2", reader)]
    raw = spec_dict(repo, contestants)
    raw["task"]["setup_command"] = setup
    spec = spec_from_dict(raw, base_dir=arena_dir)
    first = engine.store.arena(engine.run(spec))
    second = engine.store.arena(engine.run(spec))  # same (repo, base, setup): prepared once, reused
    for arena in (first, second):
        assert arena.status == "completed"
        for c in arena.contestants:
            assert (c.status, c.exit_status) == ("completed", "Submitted"), c.error
            traj = Path(c.trajectory_path).read_text()
            assert "venv ok" in traj and "ran\\n" in traj and "ran\\nran" not in traj
            assert Path(c.patch_path).read_text() == ""  # what setup made or changed is not part of any patch
    assert "/workspace/.venv" in Path(first.setup_log_path).read_text()
    checkout = next(p for p in (engine.settings.cache_dir / "checkouts").iterdir() if p.is_dir())
    assert not (checkout / ".venv" / "marker").exists(), "a contestant wrote into the shared environment"


def test_failing_setup_ends_the_arena_with_its_log(engine, calc_repo, arena_dir):
    raw = spec_dict(calc_repo, [scripted(arena_dir, "never", [step(SUBMIT)])])
    raw["task"]["setup_command"] = "echo installing; echo 'no such package' >&2; exit 3"
    arena = engine.store.arena(engine.run(spec_from_dict(raw, base_dir=arena_dir)))
    assert arena.status == "failed"
    assert "setup_command failed with exit code 3" in arena.error and "no such package" in arena.error
    assert "no such package" in Path(arena.setup_log_path).read_text()
    assert arena.contestants[0].status == "failed" and "setup failed" in arena.contestants[0].error
    assert arena.contestants[0].started_at is None


def test_setup_has_network_but_contestants_do_not(engine, calc_repo, arena_dir):
    """Setup shares the host network (to reach registries); contestants get none."""
    server = __import__("socket").create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    threading.Thread(target=accept_all, args=(server,), daemon=True).start()
    probe = (
        f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')\""
    )
    raw = spec_dict(calc_repo, [scripted(arena_dir, "c", [step(probe), step(SUBMIT)])])
    raw["task"]["setup_command"] = probe
    arena = engine.store.arena(engine.run(spec_from_dict(raw, base_dir=arena_dir)))
    server.close()
    assert "connected" in Path(arena.setup_log_path).read_text()
    seen = observations(arena.contestants[0].trajectory_path)[0]
    assert seen["command"] == probe and "connected" not in seen["raw_output"]
    assert "Network is unreachable" in seen["raw_output"] or "refused" in seen["raw_output"]


def test_bad_base_is_rejected_before_anything_is_written(settings, calc_repo, arena_dir):
    raw = spec_dict(calc_repo, [scripted(arena_dir, "x", [step(SUBMIT)])])
    raw["task"]["base"] = "no-such-branch"
    engine = Engine(settings)
    try:
        with pytest.raises(SpecError, match="task.base: 'no-such-branch' is not a commit"):
            engine.launch(spec_from_dict(raw, base_dir=arena_dir))
        assert engine.store.arenas() == []
    finally:
        engine.shutdown()


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def accept_all(server) -> None:
    """Accept and close connections until the socket is closed."""
    while True:
        try:
            server.accept()[0].close()
        except OSError:
            return
