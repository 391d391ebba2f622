"""Shared fixtures: an isolated data dir per test, generated git repositories, scripted steps."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("MSWEA_MODEL_RETRY_STOP_AFTER_ATTEMPT", "1")
# CLI runners (arena/runners) install once per machine: every test, and the processes it starts, shares one copy.
TOOLS_DIR = Path(os.environ.get("ARENA_TEST_TOOLS_DIR", Path.home() / ".cache" / "arena-test-tools"))
os.environ["ARENA_TOOLS_DIR"] = str(TOOLS_DIR)

from arena.config import Settings  # noqa: E402
from arena.credentials import RepoRef  # noqa: E402

GIT_ID = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]


def make_repo(path: Path, files: dict[str, str], message: str = "initial") -> str:
    """A git repository at `path` with `files` committed; returns the commit sha."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    if not (path / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", *GIT_ID, "commit", "-qm", message], cwd=path, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, check=True, capture_output=True, text=True
    ).stdout.strip()


def write_steps(path: Path, steps: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(steps, sort_keys=False))
    return path


CALC_FILES = {
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
    "tests/test_ops.py": "from calc.ops import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh data dir (and SQLite database) for this test only."""
    data = tmp_path / "data"
    monkeypatch.setenv("ARENA_DATA_DIR", str(data))
    monkeypatch.delenv("ARENA_DATABASE_URL", raising=False)
    return Settings.from_env()


@pytest.fixture
def calc_repo(tmp_path: Path) -> Path:
    """A small repository whose add() subtracts (a real bug with a failing test)."""
    repo = tmp_path / "calc"
    make_repo(repo, CALC_FILES)
    return repo


@pytest.fixture
def arena_dir(tmp_path: Path, calc_repo: Path) -> Path:
    """A folder for a spec and its steps files, beside the calc repository."""
    d = tmp_path / "arena"
    d.mkdir()
    return d


def spec_dict(repo: Path, contestants: list[dict], **extra) -> dict:
    spec = {
        "task": {
            "repo": str(repo),
            "title": "add() subtracts",
            "problem_statement": "add(2, 3) returns -1; it must return 5.",
        },
        "contestants": contestants,
        "limits": {"max_parallel": 4, "time_budget_s": 120},
        "sandbox": {"backend": "local", "command_timeout_s": 20},
    }
    for key, value in extra.items():
        spec[key] = {**spec.get(key, {}), **value} if isinstance(value, dict) else value
    return spec


def observations(traj_path: str) -> list[dict]:
    """(command, output, returncode, extra) of every executed step, from the trajectory file."""
    messages = json.loads(Path(traj_path).read_text())["messages"]
    steps, pending = [], []
    for m in messages:
        if m["role"] == "assistant":
            pending = [a["command"] for a in m["extra"]["actions"]]
        elif m["role"] in ("user", "tool") and "raw_output" in m.get("extra", {}) and pending:
            steps.append({"command": pending.pop(0), **m["extra"]})
    return steps


@pytest.fixture(autouse=True, scope="session")
def _no_user_data_dir(tmp_path_factory):
    """A test that forgets ARENA_DATA_DIR writes to a throw-away user data dir, never the real one."""
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if previous is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = previous


GITHUB_REPO = RepoRef("acme", "calc")
"""The repository the fake GitHub serves in `fake_github` (the calc repository)."""


@pytest.fixture
def fake_github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake GitHub on 127.0.0.1 serving acme/calc, with GITHUB_API_URL pointing at it and no credentials set."""
    from tests.fakes.github_server import FakeGitHub

    make_repo(tmp_path / "upstream", CALC_FILES)
    with FakeGitHub(tmp_path / "github") as gh:
        gh.add_repo(GITHUB_REPO.full_name, tmp_path / "upstream")
        monkeypatch.setenv("GITHUB_API_URL", gh.api_url)
        for name in ("GITHUB_TOKEN", "ARENA_GITHUB_APP_ID", "ARENA_GITHUB_APP_PRIVATE_KEY"):
            monkeypatch.delenv(name, raising=False)
        yield gh
