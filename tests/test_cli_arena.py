"""Issue 13's acceptance: mini-swe-agent, aider and Claude Code race one task through `arena run`, every model call
through the gateway to a fake upstream, and the provider key is nowhere a contestant can see or we keep.

Nothing is mocked: `arena run` is a subprocess; the CLIs are the real packages from npm and PyPI (installed once
per machine, tests/test_runners.py's tools dir), running in bubblewrap sandboxes with no network; their model
calls go through the gateway's unix socket to tests/fakes/openai_server.py, which also checks what key arrived.
A probe step in each contestant prints its environment, every process's environment and its config files, so the
canary key would be in its trajectory if it had reached the sandbox.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from arena import artifacts
from arena.config import Settings
from arena.gateway import gateway_for
from arena.storage import Store
from tests.conftest import TOOLS_DIR, spec_dict
from tests.fakes.openai_server import FakeOpenAI, Request, Text, ToolCall, ToolUse
from tests.test_postgres import postgres_url  # noqa: F401  (the fixture: a throwaway PostgreSQL server)
from tests.test_queue import (
    detach,
    ended,
    queue_env,  # noqa: F401  (the fixture: a database and data dir of the test's own)
    start_worker,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
ARENA = [sys.executable, "-m", "arena.cli"]
CANARY = "sk-canary-3f9a1c0e-never-in-a-sandbox"
KEY_VARIABLE = "ARENA_FAKE_UPSTREAM_KEY"
FIX = "sed -i 's/a - b/a + b/' calc/ops.py"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
PROBE = (
    "echo PROBE-BEGIN; env; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done 2>/dev/null; "
    "cat ~/.claude.json ~/.claude/settings.json ~/.aider.conf.yml /tmp/arena-runner/* 2>/dev/null | head -c 20000; "
    "echo PROBE-END"
)
FIXED = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
PRICES = {m: {"input": 3.0, "output": 15.0, "cache_read": 0.3} for m in ("fake-mini", "fake-aider", "fake-claude")}


def _first_call(request: Request) -> bool:
    """A CLI's first model turn: it offers tools and nothing has run yet (side calls offer none)."""
    text = json.dumps(request.body)
    return bool(request.body.get("tools")) and "tool_result" not in text and "function_call_output" not in text


@pytest.fixture
def upstream():
    with FakeOpenAI() as fake:
        fake.script("fake-mini", ToolCall(PROBE), ToolCall(FIX), ToolCall(SUBMIT))
        # aider has no shell tool: the canary check of its sandbox is the grep of every file it left (below).
        # It asks to add a file the answer names to the chat, then asks again with the file in it: two answers.
        edit = Text(f"Here is the fix.\n\ncalc/ops.py\n```\n{FIXED}```\n")
        fake.script("fake-aider", edit, edit)
        fake.fallback("fake-aider", Text("Done."))
        fake.script_when("fake-claude", _first_call, ToolUse("Bash", {"command": f"{PROBE}; {FIX}"}, thought="Fix."))
        fake.fallback("fake-claude", Text("Fixed: add now adds."))
        yield fake


def run_arena(
    tmp_path: Path, calc_repo: Path, upstream: FakeOpenAI, contestants: list[dict], parallel: int = 4, **env: str
):
    data_dir = tmp_path / "data"
    spec = spec_dict(calc_repo, contestants, limits={"time_budget_s": 600, "max_parallel": parallel})
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    environment = {
        **os.environ,
        "ARENA_DATA_DIR": str(data_dir),
        "ARENA_TOOLS_DIR": str(TOOLS_DIR),
        KEY_VARIABLE: CANARY,
        "ARENA_GATEWAY_PRICES": json.dumps(PRICES),
        "ARENA_GATEWAY_RETRY_WAIT_S": "0.05",
        "MSWEA_MODEL_RETRY_STOP_AFTER_ATTEMPT": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        **env,
    }
    for name in ("ARENA_DATABASE_URL", "ARENA_API_BASE", "ARENA_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        environment.pop(name, None)
    result = subprocess.run(
        [*ARENA, "run", str(tmp_path / "spec.yaml"), "--json"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=900,
    )
    return result, data_dir


def app_pages(data_dir: Path, arena_id: str, monkeypatch) -> dict:
    """The Live page's text (every tab) and the Results table's cost per contestant, as the app shows them."""
    from app import queries, resources
    from tests.app.conftest import app, texts

    monkeypatch.setenv("ARENA_DATA_DIR", str(data_dir))
    resources.engine.clear()
    queries.arenas.clear()
    try:
        live = app("live")
        live_text = texts(live) + "\n".join(str(m.value) for m in live.metric)
        results = app("results")
        table = results.dataframe[0].value
        costs = dict(zip(table["candidate"], table["cost"], strict=True))
        leaderboard = app("leaderboard")
        leaderboard.selectbox[0].select("runner").run()
        assert not leaderboard.exception, leaderboard.exception
        runners = sorted(leaderboard.dataframe[0].value["runner"])
        trajectories = app("trajectories")  # the newest arena's first contestant, then the CLI's side by side
        name = next(
            n for n in trajectories.selectbox(key="traj-main-file").options if n.endswith("/ claude (completed)")
        )
        trajectories.selectbox(key="traj-main-file").select(name).run()
        assert not trajectories.exception, trajectories.exception
        trajectories.toggle(key="traj-compare").set_value(True).run()
        assert not trajectories.exception, trajectories.exception
        shown = texts(trajectories) + "\n".join(c.value for c in trajectories.code)
    finally:
        resources.engine().shutdown()
        resources.engine.clear()
    return {"live": live_text, "results": costs, "trajectories": shown, "runners": runners}


def contestant(name: str, model: str, upstream: FakeOpenAI, **fields) -> dict:
    base = upstream.url if model.startswith("anthropic/") else upstream.api_base
    return {"name": name, "model": model, "api_base": base, "api_key_env": KEY_VARIABLE, **fields}


def test_three_runners_race_one_task_through_the_gateway_and_the_key_stays_on_the_host(
    tmp_path, calc_repo, upstream, monkeypatch
):
    contestants = [
        contestant("mini", "openai/fake-mini", upstream),
        contestant("aider", "openai/fake-aider", upstream, runner="aider", runner_options={"edit_format": "whole"}),
        contestant("claude", "anthropic/fake-claude", upstream, runner="claude-code"),
    ]
    result, data_dir = run_arena(tmp_path, calc_repo, upstream, contestants)
    assert result.returncode == 0, result.stderr[-4000:]
    arena_id = json.loads(result.stdout)["arena_id"]
    store = Store(Settings.from_env(data_dir).database_url)
    arena = store.arena(arena_id)
    rows = {c.name: c for c in arena.contestants}
    for name, row in rows.items():
        assert (row.status, row.exit_status, row.error) == ("completed", "Submitted", None), (name, row.error)
        assert "+    return a + b" in Path(row.patch_path).read_text(), name
        assert row.cost > 0 and row.tokens_in > 0 and row.tokens_out > 0, (name, row.cost)  # metered by the gateway
        changed = re.findall(r"^diff --git a/(\S+)", Path(row.patch_path).read_text(), re.M)
        assert changed == ["calc/ops.py"], (name, changed)  # the runner's own files (caches, history) are no patch
    # One trajectory per contestant, in our schema, from the shared store: what Live, Trajectories and export read.
    for name, row in rows.items():
        traj = artifacts.trajectory_of(store, arena_id, name)
        assert traj is not None and traj.steps, name
        assert traj.exit_status == "Submitted" and traj.total_cost == pytest.approx(row.cost), name
    claude = artifacts.trajectory_of(store, arena_id, "claude")
    bash = next(s for s in claude.steps if s.actions)
    assert "sed -i" in bash.actions[0] and "PROBE-BEGIN" in bash.outputs[0]
    aider = artifacts.trajectory_of(store, arena_id, "aider")
    assert any("calc/ops.py" in s.thought for s in aider.steps)
    assert rows["claude"].model == "claude-code/anthropic/fake-claude"
    assert rows["aider"].model == "aider/openai/fake-aider"
    assert rows["mini"].model == "openai/fake-mini"  # mini-swe-agent's identities are as before runners
    verdict = store.latest_verdict(arena_id)
    assert verdict is not None and verdict.winner in rows  # judged like any other arena

    # `arena show` and the app's Live and Results pages show what each runner spent, metered by the gateway.
    shown = subprocess.run(
        [*ARENA, "show", arena_id, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARENA_DATA_DIR": str(data_dir)},
        cwd=ROOT,
    )
    entries = {c["name"]: c for c in json.loads(shown.stdout)["contestants"]}
    assert {n: e["runner"] for n, e in entries.items()} == {
        "mini": "mini-swe-agent",
        "aider": "aider",
        "claude": "claude-code",
    }
    assert entries["claude"]["model_calls"]["requests"] == 2 and entries["aider"]["model_calls"]["requests"] >= 2
    pages = app_pages(data_dir, arena_id, monkeypatch)
    for name, row in rows.items():
        assert f"${row.cost:.4f}" in pages["live"], name
        assert row.cost == pytest.approx(pages["results"][name], abs=1e-4), name
    assert "claude-code · claude-code/anthropic/fake-claude" in pages["live"] and "model calls 2" in pages["live"]
    assert "PROBE-BEGIN" in pages["trajectories"] and "sed -i" in pages["trajectories"]  # the CLI's steps, shown
    # Leaderboards compare runners as they compare models and strategies: rated from the arena's outcomes.
    assert pages["runners"] == ["aider", "claude-code", "mini-swe-agent"]
    board = subprocess.run(
        [*ARENA, "leaderboard", "--by", "runner", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARENA_DATA_DIR": str(data_dir)},
        cwd=ROOT,
    )
    assert board.returncode == 0, board.stderr
    rated = {r["runner"]: r for r in json.loads(board.stdout)}
    assert set(rated) == {"aider", "claude-code", "mini-swe-agent"}
    assert all(r["runs"] == 1 and r["games"] == 2 for r in rated.values()), rated

    # Every call reached the upstream with the real key, and only through the gateway (never the virtual key).
    for model in ("fake-mini", "fake-aider", "fake-claude"):
        requests = upstream.requests_for(model)
        assert requests, model
        for r in requests:
            sent = r.headers.get("x-api-key") or r.headers.get("authorization", "").removeprefix("Bearer ")
            assert sent == CANARY, (model, r.headers)

    # The probes ran in the sandboxes and printed their environments: the virtual key is there, the canary is not.
    trajectories = {name: json.dumps(store.steps(arena_id, name)) for name in rows}
    for name in ("mini", "claude"):
        assert "PROBE-BEGIN" in trajectories[name] and "PROBE-END" in trajectories[name], name
    assert "arena-vk-" in trajectories["claude"]  # the CLI's own (virtual) key, which the probe saw
    # The canary is in no file of the data dir: database, trajectories, logs, sandboxes' upper dirs and tmp.
    leaks = subprocess.run(["grep", "-rlaF", CANARY, str(data_dir)], capture_output=True, text=True)
    assert leaks.stdout == "", f"the provider key was written to {leaks.stdout}"
    assert CANARY not in result.stdout + result.stderr

    # A leaked virtual key, replayed after its contestant ended, is refused by any gateway on this database.
    calls_before = len(upstream.requests_for("fake-claude"))
    leaked = re.search(r"arena-vk-[A-Za-z0-9_-]+", trajectories["claude"]).group(0)
    gateway = gateway_for(store)
    reply = httpx.post(
        f"{gateway.url}/v1/messages",
        headers={"x-api-key": leaked, "anthropic-version": "2023-06-01"},
        json={"model": "fake-claude", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert reply.status_code == 401, reply.text
    assert len(upstream.requests_for("fake-claude")) == calls_before  # the replay never reached the upstream


def test_spend_caps_end_contestants_limits_exceeded_and_start_no_new_ones(tmp_path, calc_repo, upstream):
    """A contestant's cost_limit stops its CLI with 402; a spent arena budget starts no one after."""
    contestants = [
        # Claude Code's first call costs 0.0006 (100 in, 20 out at 3/15 per million): over its limit after it.
        contestant("claude", "anthropic/fake-claude", upstream, runner="claude-code", cost_limit=0.0001),
        # mini-swe-agent's first two calls spend the arena's budget; the third contestant then never starts.
        contestant("mini", "openai/fake-mini", upstream),
        contestant("late", "openai/fake-late", upstream),
    ]
    upstream.script("fake-late", ToolCall(FIX), ToolCall(SUBMIT))
    spec_limits = {"ARENA_GATEWAY_ARENA_BUDGET_USD": "0.0015"}
    result, data_dir = run_arena(tmp_path, calc_repo, upstream, contestants, parallel=1, **spec_limits)
    assert result.returncode == 0, result.stderr[-4000:]
    arena_id = json.loads(result.stdout)["arena_id"]
    store = Store(Settings.from_env(data_dir).database_url)
    rows = {c.name: c for c in store.arena(arena_id).contestants}

    claude = rows["claude"]
    assert claude.exit_status == "LimitsExceeded", (claude.exit_status, claude.error)
    assert "cost_limit is reached" in claude.error and "$0.0001" in claude.error  # which limit, and how much
    assert len(upstream.requests_for("fake-claude")) == 1  # the refused call never reached the upstream

    mini = rows["mini"]
    assert mini.exit_status == "LimitsExceeded" and "arena" in mini.error, (mini.exit_status, mini.error)
    late = rows["late"]
    assert (late.exit_status, late.steps) == ("LimitsExceeded", 0), late.error
    assert "budget" in late.error and upstream.requests_for("fake-late") == []


@pytest.mark.parametrize(
    ("fields", "sandbox", "message"),
    [
        ({"model": "openai/fake-mini", "runner": "claude-code"}, {}, "speaks the anthropic API, but openai/fake-mini"),
        ({"model": "anthropic/fake-claude", "runner": "aider"}, {}, "speaks the openai-chat API"),
        ({"model": "openai/fake-mini", "runner": "opencode"}, {}, "needs sandbox memory_mb >= 8192"),
        ({"model": "anthropic/fake-claude", "runner": "claude-code"}, {"backend": "e2b"}, "local sandbox only"),
        ({"model": "gemini/gemini-2.5-pro", "runner": "claude-code"}, {}, "speaks the anthropic API, but gemini/"),
        ({"model": "mistral/mistral-large-latest"}, {}, "OpenAI-compatible, Anthropic and Gemini models only"),
    ],
)
def test_a_runner_that_cannot_play_is_refused_before_anything_is_written(
    tmp_path, calc_repo, upstream, fields, sandbox, message
):
    native = fields["model"].startswith(("gemini/", "mistral/"))  # their providers' own endpoints and keys
    endpoint = {} if native else {"api_base": upstream.url, "api_key_env": KEY_VARIABLE}
    spec = spec_dict(calc_repo, [{"name": "c", **endpoint, **fields}])
    spec["sandbox"] |= sandbox
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data"), KEY_VARIABLE: CANARY, "GEMINI_API_KEY": "x"}
    env["MISTRAL_API_KEY"] = "x"  # litellm's own check passes; the gateway's refuses the provider
    env["E2B_API_KEY"] = "e2b-not-a-real-key"  # the e2b backend's own check passes; the runner's refuses
    env.pop("ARENA_DATABASE_URL", None)
    result = subprocess.run(
        [*ARENA, "run", str(tmp_path / "spec.yaml")], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "contestants[0] (c)" in result.stderr, result.stderr
    assert not (tmp_path / "data" / "runs").exists() and upstream.requests == []


def test_workers_on_postgresql_race_cli_runners_through_their_own_gateways(queue_env, tmp_path, calc_repo, upstream):  # noqa: F811
    """`arena run --detach` and two `arena worker`s: each worker runs its contestants' CLIs behind a gateway of its
    own, on one database (keys, meter and budgets); the canary stays out of the data dir there too."""
    env, _ = queue_env
    env.update(
        {
            KEY_VARIABLE: CANARY,
            "ARENA_GATEWAY_PRICES": json.dumps(PRICES),
            "MSWEA_MODEL_RETRY_STOP_AFTER_ATTEMPT": "1",
        }
    )
    contestants = [
        contestant("mini", "openai/fake-mini", upstream),
        contestant("claude", "anthropic/fake-claude", upstream, runner="claude-code"),
    ]
    spec = spec_dict(calc_repo, contestants, limits={"max_parallel": 2, "time_budget_s": 300})
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    arena_id = detach(env, tmp_path / "spec.yaml")
    start_worker(queue_env, tmp_path, "a", concurrency=1)
    start_worker(queue_env, tmp_path, "b", concurrency=1)
    row = wait_for(lambda: ended(env, arena_id), 300, "the arena to end", tmp_path)
    rows = {c.name: c for c in row.contestants}
    for name, c in rows.items():
        assert (c.status, c.exit_status, c.error) == ("completed", "Submitted", None), (name, c.error)
        assert c.cost > 0, name
    assert rows["claude"].model == "claude-code/anthropic/fake-claude"
    shown = subprocess.run([*ARENA, "show", arena_id, "--json"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert {c["name"]: c["model_calls"]["requests"] for c in json.loads(shown.stdout)["contestants"]} == {
        "mini": 3,
        "claude": 2,
    }
    leaks = subprocess.run(["grep", "-rlaF", CANARY, env["ARENA_DATA_DIR"]], capture_output=True, text=True)
    assert leaks.stdout == ""
