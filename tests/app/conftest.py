"""Fixtures and helpers of the app tests: a data dir of the test's own with a fresh app engine, the app under AppTest."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_env() -> dict[str, str]:
    """Variables the `server` gets on top of this process's; a test module overrides this fixture to set some."""
    return {}


@pytest.fixture
def server(tmp_path, server_env):
    """`streamlit run app/main.py` on 127.0.0.1 with its own data dir; yields (url, data dir)."""
    data, port = tmp_path / "data", free_port()
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    env.pop("ARENA_ALLOW_UNSAFE_LOCAL", None)  # the app's default, whatever this shell has
    env |= server_env
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                assert r.read() == b"ok"
                break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "streamlit did not come up"
            time.sleep(0.3)
    yield url, data
    proc.terminate()
    output = proc.communicate(timeout=10)[0]
    assert "Traceback" not in output, output


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A fresh data dir, and a fresh app engine bound to it."""
    from app import queries, resources

    path = tmp_path / "data"
    monkeypatch.setenv("ARENA_DATA_DIR", str(path))
    monkeypatch.delenv("ARENA_ALLOW_UNSAFE_LOCAL", raising=False)  # the app's default, whatever this shell has
    resources.engine.clear()
    queries.arenas.clear()
    yield path
    resources.engine().shutdown()
    resources.engine.clear()


@pytest.fixture
def demo(data):
    result = subprocess.run(
        [sys.executable, "-m", "arena.cli", "demo", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return data


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"../pages/{page}.py").run()
        assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join(
        e.value
        for kind in ("markdown", "caption", "success", "info", "warning", "error", "code")
        for e in getattr(at, kind)
    )


GATEWAY_KEY = "ARENA_KEY_FOR_GATEWAY"
"""The variable every_field_spec's api_key_env names: set it (to anything) where that spec is validated."""
EXTRA_TEST = (
    "import unittest\n\nfrom textstats import mean\n\n\n"
    "class ExtraTest(unittest.TestCase):\n    def test_mean_of_one(self):\n        self.assertEqual(mean([7]), 7)\n"
)


def every_field_spec(sample: Path, folder: Path, github: bool = True, cli_runner: bool = True) -> dict:
    """A spec that sets every field of ArenaSpec (problem_statement, not problem_statement_file: a spec gives one),
    on the demo's repository and scripted contestants under `sample` (arena.demo.build_demo builds them there), and
    launchable: only correct-fix passes the gates, so the reviewer (an address nobody answers) is never called.
    Its SWE-bench instance file is written into `folder`.

    `github=False` leaves task.github_issue out, for a spec that is launched: an arena whose task is on GitHub
    publishes its candidates there. (With repo, a base other than HEAD and a problem statement given, the issue
    itself is never fetched.)

    `cli_runner=False` leaves out the fourth contestant, a CLI runner (runner:, runner_options:) whose endpoint nobody
    answers: the round trips cover its fields; a spec that is launched leaves it out (tests/test_cli_arena.py runs
    CLI runners against an upstream that answers)."""
    from arena.demo import PROBLEM, SCRIPTS, STRATEGIES, build_demo

    steps = build_demo(sample).parent / "steps"
    repo = sample / "demo-repo"
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    instance = folder / "textstats-instance.json"
    folder.mkdir(parents=True, exist_ok=True)
    instance.write_text(
        json.dumps(
            {
                "instance_id": "textstats__median-1",
                "repo": "demo/textstats",
                "base_commit": base.stdout.strip(),
                "problem_statement": PROBLEM,
            }
        )
    )
    lines = EXTRA_TEST.splitlines()
    test_patch = (
        "diff --git a/tests/test_extra.py b/tests/test_extra.py\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/tests/test_extra.py\n@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}\n" for line in lines)
    )
    contestants = [
        {
            "name": name,
            "model": f"scripted:{steps / f'{name}.yaml'}",
            "strategy": STRATEGIES[name],
            "step_limit": 20 + i,
            "cost_limit": 1.5,
            "wall_time_limit_s": 240,
            "api_base": "http://127.0.0.1:9/v1",
            "api_key_env": GATEWAY_KEY,
            "model_kwargs": {"temperature": 0.2, "seed": i},
        }
        for i, name in enumerate(SCRIPTS)
    ]
    # As a stored spec holds them: steps and a strategy embedded, under their file names only.
    contestants[1] |= {"model": "scripted:wrong-fix.yaml", "steps": SCRIPTS["wrong-fix"], "agent": "wrong-fixer"}
    contestants[2] |= {
        "strategy": "careful.yaml",
        "strategy_definition": {
            "name": "careful",
            "description": "Reads before it writes.",
            "persona": "You are careful.",
            "instructions": "Run the tests before you submit.",
            "agent": {},
            "model": {},
        },
    }
    if cli_runner:
        contestants.append(
            {
                "name": "cli",
                "model": "anthropic/claude-sonnet-4-5",
                "runner": "claude-code",
                "runner_options": {"effort": "high", "flags": ["--max-turns", "30"]},
                "strategy": "minimal-fix",
                "cost_limit": 0.5,
                "wall_time_limit_s": 5,  # launched (Run again), it ends TimedOut: nobody answers at its api_base
                "api_base": "http://127.0.0.1:9",
                "api_key_env": GATEWAY_KEY,
            }
        )
    sandbox = {
        "backend": "local",
        "command_timeout_s": 90,
        "output_limit_bytes": 50_000,
        "memory_mb": 2048,
        "cpu_time_s": 300,
        "max_processes": 128,
        "max_file_size_mb": 256,
        "setup_timeout_s": 600,
        "template": "arena-demo",  # e2b's, unused by local
        "lifetime_s": 1800,
    }
    return {
        "task": {
            "repo": str(repo),
            "base": "main",
            "title": "median() of an even-length list (every field)",
            "problem_statement": PROBLEM,
            "setup_command": "echo setting up\necho set up",
            "test_command": "python3 -m unittest discover -s tests -t .",
            "fail_to_pass": ["tests/test_stats.py::StatsTest::test_median_even"],
            "pass_to_pass": [
                "tests/test_stats.py::StatsTest::test_mean",
                "tests/test_stats.py::StatsTest::test_median_odd",
            ],
            "swebench": str(instance),
            "instance_id": "textstats__median-1",
            "test_patch": test_patch,
            **({"github_issue": "demo/textstats#1"} if github else {}),
        },
        "contestants": contestants,
        "limits": {"max_parallel": 3, "time_budget_s": 600.0},
        "sandbox": sandbox,
        "judge": {
            "model": "openai/reviewer",
            "api_base": "http://127.0.0.1:9/v1",
            "api_key_env": GATEWAY_KEY,
            "model_kwargs": {"temperature": 0},
            "synthesize": False,
            "cross_validate": True,
            "test_timeout_s": 300,
            "max_parallel": 2,
        },
        "publish": {"pull_request": False},
    }
