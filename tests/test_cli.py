"""The `arena` command as a user runs it: a real subprocess, real exit codes, real JSON."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from arena.cli import COMMANDS, EPILOG, build_parser
from tests.conftest import spec_dict, write_steps

ROOT = Path(__file__).resolve().parents[1]
ARENA = [sys.executable, "-m", "arena.cli"]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def arena(*args: str, data_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARENA_DATA_DIR": str(data_dir)}
    env.pop("ARENA_DATABASE_URL", None)
    return subprocess.run([*ARENA, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


@pytest.fixture
def good_spec(calc_repo, arena_dir) -> dict:
    write_steps(
        arena_dir / "steps/fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": [SUBMIT]},
        ],
    )
    write_steps(arena_dir / "steps/idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    return spec_dict(
        Path("../calc"),  # relative: resolved against the spec file's folder
        [
            {"name": "fix-a", "model": "scripted:steps/fix.yaml", "strategy": "minimal-fix"},
            {"name": "idle-b", "model": "scripted:steps/idle.yaml", "strategy": "test-first", "step_limit": 5},
        ],
    )


def write_spec(arena_dir: Path, spec: dict) -> Path:
    path = arena_dir / "arena.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_run_json_prints_exactly_one_object(good_spec, arena_dir, tmp_path):
    data = tmp_path / "data"
    result = arena("run", str(write_spec(arena_dir, good_spec)), "--json", data_dir=data)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)  # the whole of stdout is one JSON object
    assert out["status"] == "completed"
    assert [c["name"] for c in out["contestants"]] == ["fix-a", "idle-b"]
    for c in out["contestants"]:
        assert {"name", "status", "exit_status", "steps", "cost", "patch_path", "trajectory_path"} <= c.keys()
        assert Path(c["patch_path"]).is_file() and Path(c["trajectory_path"]).is_file()
        assert Path(c["trajectory_path"]).is_relative_to(data / "runs" / out["arena_id"] / c["name"])
    assert "+    return a + b" in Path(out["contestants"][0]["patch_path"]).read_text()

    shown = arena("show", out["arena_id"], "--json", data_dir=data)
    assert shown.returncode == 0 and json.loads(shown.stdout)["contestants"] == out["contestants"]
    listed = arena("list", data_dir=data)
    assert listed.returncode == 0 and out["arena_id"] in listed.stdout and "completed" in listed.stdout
    human = arena("show", out["arena_id"], data_dir=data)
    assert "fix-a" in human.stdout and "Submitted" in human.stdout
    cancel = arena("cancel", out["arena_id"], data_dir=data)
    assert cancel.returncode == 0 and "already ended" in cancel.stdout


BAD_SPECS = {
    "unknown key": (lambda s: s["contestants"][0].update(stepp_limit=3), "contestants[0].stepp_limit: unknown key"),
    "missing repository": (lambda s: s["task"].update(repo="../nowhere"), "task.repo: "),
    "not a repository": (lambda s: s["task"].update(repo="steps"), "is not a git repository"),
    "bad base": (lambda s: s["task"].update(base="v9.9.9"), "task.base: 'v9.9.9' is not a commit"),
    "duplicate names": (lambda s: s["contestants"][1].update(name="fix-a"), "contestant name 'fix-a' is used twice"),
    "unknown model scheme": (
        lambda s: s["contestants"][0].update(model="scriptd:steps/fix.yaml"),
        "unknown model scheme 'scriptd:'",
    ),
    "missing scripted file": (lambda s: s["contestants"][1].update(model="scripted:steps/none.yaml"), "scripted file"),
    "bad strategy": (lambda s: s["contestants"][0].update(strategy="yolo"), "strategy 'yolo' is neither built in"),
    "no contestants": (lambda s: s.update(contestants=[]), "contestants: List should have at least 1 item"),
    "bad limit": (lambda s: s["limits"].update(max_parallel=0), "limits.max_parallel"),
    "blank test command": (lambda s: s["task"].update(test_command="   "), "task.test_command: is blank; leave it out"),
    "bad backend": (lambda s: s["sandbox"].update(backend="docker"), "sandbox.backend"),
    "two problem statements": (
        lambda s: s["task"].update(problem_statement_file="x.md"),
        "exactly one of problem_statement",
    ),
    "repo subfolder": (lambda s: s["task"].update(repo="../calc/calc"), "is a folder inside the repository"),
    "unknown provider": (lambda s: s["contestants"][0].update(model="gpt4-typo"), "litellm does not know the provider"),
    "missing api key": (
        lambda s: s["contestants"][0].update(model="anthropic/claude-3-5-haiku-latest"),
        "ANTHROPIC_API_KEY is not set",
    ),
    "secret in spec": (lambda s: s["contestants"][0].update(model_kwargs={"api_key": "sk-x"}), "looks like a secret"),
    "judge unknown key": (lambda s: s.update(judge={"modle": "x"}), "judge.modle: unknown key"),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_bad_specs_exit_2_with_a_clear_message_and_write_nothing(case, good_spec, arena_dir, tmp_path):
    mutate, message = BAD_SPECS[case]
    mutate(good_spec)
    data = tmp_path / "data"
    result = arena("run", str(write_spec(arena_dir, good_spec)), data_dir=data)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (data / "arena.db").exists() and not (data / "runs").exists()


def test_bad_input_everywhere_else_exits_2(good_spec, arena_dir, tmp_path, monkeypatch):
    (arena_dir / "latin1.yaml").write_bytes("task: {title: caf\xe9}".encode("latin-1"))
    result = arena("run", str(arena_dir / "latin1.yaml"), data_dir=tmp_path)
    assert result.returncode == 2 and "is not UTF-8 text" in result.stderr
    (arena_dir / "bad.traj.json").write_text('{"messages": ["hi"]}')
    good_spec["contestants"][0]["model"] = "replay:bad.traj.json"
    result = arena("run", str(write_spec(arena_dir, good_spec)), "--json", data_dir=tmp_path)
    assert result.returncode == 2 and "messages[0] is not an object" in result.stderr
    assert json.loads(result.stdout) == {
        "error": json.loads(result.stdout)["error"],
        "exit_code": 2,
    }  # one object, even now
    good_spec["contestants"][0]["model"] = "openai/gpt-4.1-mini"
    good_spec["contestants"][0]["api_base"] = "http://127.0.0.1:9/v1"
    monkeypatch.setenv("ARENA_MODEL_RETRIES", "many")
    result = arena("run", str(write_spec(arena_dir, good_spec)), data_dir=tmp_path)
    assert result.returncode == 2 and "ARENA_MODEL_RETRIES='many' is not a whole number" in result.stderr
    monkeypatch.setenv("ARENA_DATABASE_URL", "postgres//oops")
    result = subprocess.run([*ARENA, "list"], capture_output=True, text=True, cwd=ROOT, env={**os.environ})
    assert result.returncode == 2 and "is not a database URL" in result.stderr and "Traceback" not in result.stderr


def test_bad_input_that_is_not_yaml_or_missing(arena_dir, tmp_path):
    (arena_dir / "broken.yaml").write_text("task: [unclosed\n")
    assert "is not valid YAML" in arena("run", str(arena_dir / "broken.yaml"), data_dir=tmp_path).stderr
    missing = arena("run", str(arena_dir / "nope.yaml"), data_dir=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    unknown = arena("show", "ffffffff", data_dir=tmp_path)
    assert unknown.returncode == 2 and "no arena with id 'ffffffff'" in unknown.stderr


def test_missing_bubblewrap_is_refused_with_how_to_install(good_spec, arena_dir, tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH with git and the shell tools, but no bwrap
    bin_dir.mkdir()
    for tool in ("git", "sh", "bash", "unshare", "mount", "prlimit", "setpriv", "python3"):
        if path := subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip():
            (bin_dir / tool).symlink_to(path)
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data"), "PATH": str(bin_dir)}
    spec = write_spec(arena_dir, good_spec)
    result = subprocess.run([*ARENA, "run", str(spec)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 2
    assert "apt-get install bubblewrap" in result.stderr and "unsafe-local" in result.stderr
    good_spec["sandbox"]["backend"] = "unsafe-local"  # asked for explicitly: runs without bubblewrap
    result = subprocess.run(
        [*ARENA, "run", str(write_spec(arena_dir, good_spec)), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [c["exit_status"] for c in out["contestants"]] == ["Submitted", "Submitted"]
    assert "+    return a + b" in Path(out["contestants"][0]["patch_path"]).read_text()


def test_demo_runs_three_contestants_offline(tmp_path):
    result = arena("demo", "--json", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    rows = {c["name"]: c for c in out["contestants"]}
    assert out["status"] == "completed" and set(rows) == {"correct-fix", "wrong-fix", "gives-up"}
    assert all(c["status"] == "completed" for c in rows.values())
    assert "/ 2 if len(ordered) % 2 == 0" in Path(rows["correct-fix"]["patch_path"]).read_text()
    assert "// 2" in Path(rows["wrong-fix"]["patch_path"]).read_text()
    assert Path(rows["gives-up"]["patch_path"]).read_text() == ""
    verdict = out["verdict"]
    assert verdict["winner"] == "correct-fix" and verdict["coverage"]["resolved"] == 1
    assert [p["name"] for p in verdict["ranking"]] == ["correct-fix", "wrong-fix", "gives-up"]
    assert (
        verdict["ranking"][1]["reasons"][1]
        == "F2P 0/1 passed; failing: tests/test_stats.py::StatsTest::test_median_even"
    )
    again = arena("demo", "--if-missing", data_dir=tmp_path / "data")
    assert again.returncode == 0 and "already there" in again.stderr


def test_every_command_has_an_example_and_is_documented():
    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS) == sorted(EPILOG)
    for name in COMMANDS:
        assert f"arena {name}" in EPILOG[name]
        assert f"arena {name}" in readme, f"README does not document `arena {name}`"


def test_ingest_then_leaderboard_lists_each_model_with_runs_and_cost(tmp_path):
    shared = ROOT / "tests" / "data" / "trajectories"
    first = arena("ingest", str(shared), "--json", data_dir=tmp_path / "data")
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert counts["imported"] > 0 and counts["errors"] == []
    again = json.loads(arena("ingest", str(shared), "--json", data_dir=tmp_path / "data").stdout)
    assert again["imported"] == 0 and again["skipped_duplicates"] == counts["imported"]
    board = json.loads(arena("leaderboard", "--source", "imported", "--json", data_dir=tmp_path / "data").stdout)
    keys = [
        "runner",
        "model",
        "strategy",
        "runs",
        "cost_total",
        "cost_mean",
        "api_calls_mean",
        "resolved",
        "resolve_rate",
        "wins",
        "win_rate",
        "rating",
        "ci_low",
        "ci_high",
        "revert_rate",
    ]
    assert all(list(row)[: len(keys)] == keys for row in board)
    assert sum(row["runs"] for row in board) == counts["imported"]
    assert all(row["strategy"] is None and row["win_rate"] is None for row in board)
    missing = arena("ingest", str(tmp_path / "nope"), data_dir=tmp_path / "data")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_ingest_exits_1_when_every_file_failed_and_a_closed_pipe_ends_quietly(tmp_path):
    from arena.storage import ArenaRow, Store

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.traj.json").write_text("{not json")
    (bad / "b.traj").write_text('{"trajectory": 3}')
    failed = arena("ingest", str(bad), data_dir=tmp_path / "data")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "2 errors" in failed.stdout and "nothing was imported" in failed.stderr
    data = tmp_path / "data"
    store = Store(f"sqlite:///{data / 'arena.db'}")
    for i in range(600):  # far more than a pipe buffer holds, so the writer meets the closed pipe
        store.create_arena(
            ArenaRow(
                id=f"{i:08x}", title="x" * 150, repo="/r", base="HEAD", base_sha="0" * 40, spec={}, status="completed"
            ),
            [],
        )
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    piped = subprocess.run(
        f"{sys.executable} -m arena.cli list --limit 600 | head -c 1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert piped.stderr == "", piped.stderr


def test_ctrl_c_cancels_the_arena_and_exits_130(good_spec, arena_dir, tmp_path):
    import signal
    import time

    write_steps(
        arena_dir / "steps/slow.yaml",
        [{"thought": "wait", "commands": ["sleep 30"]}, {"thought": "done", "commands": [SUBMIT]}],
    )
    good_spec["contestants"] = [{"name": "slow", "model": "scripted:steps/slow.yaml"}]
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
    env.pop("ARENA_DATABASE_URL", None)
    proc = subprocess.Popen(
        [*ARENA, "run", str(write_spec(arena_dir, good_spec)), "--json"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the contestant runs
        listed = arena("list", "--json", data_dir=tmp_path / "data")
        rows = json.loads(listed.stdout) if listed.returncode == 0 and listed.stdout.strip() else []
        if rows and rows[0]["contestants"][0]["status"] == "running":
            break
        time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert json.loads(out)["status"] == "cancelled"


def test_export_works_for_any_arena_as_predictions_or_a_plain_patch(good_spec, arena_dir, tmp_path):
    data = tmp_path / "data"
    good_spec["task"]["test_command"] = "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'"
    run = arena("run", str(write_spec(arena_dir, good_spec)), "--json", data_dir=data)
    out = json.loads(run.stdout)
    assert out["verdict"]["winner"] == "fix-a"
    patch = Path(out["contestants"][0]["patch_path"]).read_text()
    predictions = arena("export", out["arena_id"], data_dir=data)
    assert predictions.returncode == 0, predictions.stderr
    assert json.loads(predictions.stdout) == {
        "instance_id": out["arena_id"],
        "model_patch": patch,
        "model_name_or_path": f"{out['contestants'][0]['model']}+minimal-fix",
    }
    plain = arena("export", out["arena_id"], "--format", "patch", "-o", str(tmp_path / "fix.diff"), data_dir=data)
    assert plain.returncode == 0 and (tmp_path / "fix.diff").read_text() == patch
    applied = subprocess.run(["git", "apply", "--check", str(tmp_path / "fix.diff")], cwd=out["repo"])
    assert applied.returncode == 0
    wrong = arena("export", out["arena_id"], "-o", str(tmp_path / "preds.json"), data_dir=data)
    assert wrong.returncode == 2 and "*.jsonl" in wrong.stderr


def test_a_stored_spec_runs_and_judges_again_where_its_files_are_gone(good_spec, arena_dir, tmp_path):
    """`arena spec ID` prints the launched spec with its files embedded; run again, it makes the same agents."""
    data = tmp_path / "data"
    (arena_dir / "issue.md").write_text("add(2, 3) returns -1; it must return 5.")
    (arena_dir / "careful.yaml").write_text(yaml.safe_dump({"name": "careful", "persona": "Change little."}))
    del good_spec["task"]["problem_statement"]
    good_spec["task"] |= {
        "problem_statement_file": "issue.md",
        "test_command": "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'",
    }
    good_spec["contestants"][1]["strategy"] = "careful.yaml"
    first = json.loads(arena("run", str(write_spec(arena_dir, good_spec)), "--json", data_dir=data).stdout)
    assert first["status"] == "completed" and first["verdict"]["winner"] == "fix-a"
    shutil.rmtree(arena_dir)  # the steps, the strategy, the issue and the spec itself

    printed = arena("spec", first["arena_id"], data_dir=data)
    assert printed.returncode == 0, printed.stderr
    stored = yaml.safe_load(printed.stdout)
    assert str(arena_dir) not in printed.stdout
    assert stored["task"]["problem_statement"] == "add(2, 3) returns -1; it must return 5."
    assert [(c["model"], c["strategy"]) for c in stored["contestants"]] == [
        ("scripted:fix.yaml", "minimal-fix"),
        ("scripted:idle.yaml", "careful.yaml"),
    ]
    elsewhere = tmp_path / "another-machine"
    elsewhere.mkdir()
    (elsewhere / "again.yaml").write_text(printed.stdout)
    second = arena("run", str(elsewhere / "again.yaml"), "--json", data_dir=data)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert [c["agent"] for c in again["contestants"]] == [c["agent"] for c in first["contestants"]]
    assert again["verdict"]["winner"] == "fix-a"
    assert (
        Path(again["contestants"][0]["patch_path"]).read_text()
        == Path(first["contestants"][0]["patch_path"]).read_text()
    )

    judged = arena("judge", first["arena_id"], "--json", data_dir=data)
    assert judged.returncode == 0 and json.loads(judged.stdout)["winner"] == "fix-a", judged.stderr
    missing = arena("spec", "nosuchid", data_dir=data)
    assert missing.returncode == 2 and "no arena with id 'nosuchid'" in missing.stderr
