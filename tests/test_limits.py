"""Limits that hold mid-command (wall time) and at collection (patch size), through the real CLI."""

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from arena.errors import SandboxError
from arena.sandboxes.files import FileTooLarge, read_from
from tests.conftest import spec_dict, write_steps
from tests.test_sandbox_contract import make_pair

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def run_cli(arena_dir: Path, spec: dict, data: Path, **env: str) -> dict:
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    environ = {**os.environ, "ARENA_DATA_DIR": str(data), **env}
    environ.pop("ARENA_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "arena.cli", "run", str(arena_dir / "arena.yaml"), "--json"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def contestant(arena_dir: Path, name: str, commands: list[str], **extra) -> dict:
    steps = [{"thought": "work", "commands": commands}, {"thought": "done", "commands": [SUBMIT]}]
    write_steps(arena_dir / f"{name}.yaml", steps)
    return {"name": name, "model": f"scripted:{name}.yaml", "strategy": "minimal-fix", **extra}


def test_wall_time_ends_the_running_command(calc_repo, arena_dir, tmp_path):
    sleeper = contestant(arena_dir, "sleeper", ["sleep 60"], wall_time_limit_s=3)
    spec = spec_dict(calc_repo, [sleeper], sandbox={"command_timeout_s": 50})
    out = run_cli(arena_dir, spec, tmp_path / "data")
    (row,) = out["contestants"]
    ran = datetime.fromisoformat(row["finished_at"]) - datetime.fromisoformat(row["started_at"])
    assert row["exit_status"] == "TimeExceeded" and row["status"] == "completed", row
    assert ran.total_seconds() < 10
    traj = json.loads(Path(row["trajectory_path"]).read_text())
    assert traj["info"]["exit_status"] == "TimeExceeded"
    assert "wall time ran out while this command ran" in traj["messages"][-1]["extra"]["reason"]


def test_a_patch_over_the_limit_is_refused_and_leaves_no_temp_file(calc_repo, arena_dir, tmp_path):
    big = contestant(arena_dir, "big", ["head -c 2000000 /dev/urandom > blob.bin"])
    small = contestant(arena_dir, "small", ["sed -i 's/a - b/a + b/' calc/ops.py"])
    data = tmp_path / "data"
    out = run_cli(arena_dir, spec_dict(calc_repo, [big, small]), data, ARENA_MAX_PATCH_MB="1")
    rows = {c["name"]: c for c in out["contestants"]}
    assert "patch not collected: the patch is " in rows["big"]["error"]
    assert "larger than ARENA_MAX_PATCH_MB=1" in rows["big"]["error"]
    assert rows["big"]["patch_path"] is None
    assert "+    return a + b" in Path(rows["small"]["patch_path"]).read_text()
    for name in ("big", "small"):
        tmp = data / "runs" / out["arena_id"] / name / "sandbox" / "tmp"
        assert tmp.is_dir() and list(tmp.iterdir()) == [], name  # no .arena-diff-*, no mktemp dir


@pytest.mark.parametrize("backend", ["local", "unsafe-local"])
def test_a_binary_file_under_the_limit_round_trips(backend, tmp_path):
    a, _ = make_pair(backend, tmp_path)
    assert a.execute("head -c 300000 /dev/urandom > blob.bin && printf '\\0\\1\\2' > small.bin").returncode == 0
    blob = a.execute("sha256sum blob.bin small.bin").output
    patch = a.diff()
    assert b"GIT binary patch" in patch
    repo = tmp_path / "repo"
    applied = subprocess.run(["git", "apply", "--binary", "-"], input=patch, cwd=repo, capture_output=True)
    assert applied.returncode == 0, applied.stderr
    here = subprocess.run(["sha256sum", "blob.bin", "small.bin"], cwd=repo, capture_output=True, text=True).stdout
    assert here == blob


def test_a_patch_over_the_limit_raises_from_diff(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_MAX_PATCH_MB", "0.5")
    a, _ = make_pair("local", tmp_path)
    a.execute("head -c 1000000 /dev/urandom > blob.bin")
    with pytest.raises(SandboxError, match=r"the patch is 1\.\d MB, larger than ARENA_MAX_PATCH_MB=0.5"):
        a.diff()
    assert list(a.dirs["tmp"].iterdir()) == []


def test_read_from_refuses_rather_than_truncates(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 11)
    assert read_from(tmp_path, "f", limit=11) == b"x" * 11
    with pytest.raises(FileTooLarge, match="11 bytes, more than the 10 bytes allowed"):
        read_from(tmp_path, "f", limit=10)


def test_wall_time_left_before_a_command_starts_ends_the_run(tmp_path):
    """The environment alone: a deadline already passed refuses the command, mini-swe-agent's way."""
    from minisweagent.exceptions import TimeExceeded

    from arena.agents.environment import SandboxEnvironment

    a, _ = make_pair("local", tmp_path)
    env = SandboxEnvironment(a, "local", 50, deadline=time.monotonic() + 1)
    started = time.monotonic()
    with pytest.raises(TimeExceeded) as caught:
        env.execute({"command": "sleep 30"})
    assert time.monotonic() - started < 4
    assert caught.value.messages[0]["extra"]["exit_status"] == "TimeExceeded"
    with pytest.raises(TimeExceeded) as again:
        env.execute({"command": "echo never"})
    assert "ran out before this command could start" in again.value.messages[0]["extra"]["reason"]
