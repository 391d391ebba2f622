"""The real litellm path end to end: Engine → ArenaLitellmModel → litellm → HTTP → a scripted local server.

Nothing is mocked: litellm and the OpenAI SDK talk real HTTP to tests/fakes/openai_server.py, which scripts tool
calls and injects faults (429, 500, a slow answer, a non-JSON body). Contestants run in the `local` (bubblewrap)
sandbox on the calc repository, whose add() subtracts.
"""

import json
from pathlib import Path

import pytest

from arena.engine import Engine
from arena.spec import spec_from_dict
from arena.storage import ContestantRow
from tests.conftest import spec_dict, write_steps
from tests.fakes.openai_server import FakeOpenAI, Fault, ToolCall

PROBLEM = "add(2, 3) returns -1; it must return 5."
FIX = "sed -i 's/a - b/a + b/' calc/ops.py"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
TIMEOUT_S = 2.0
GATEWAY_TIMEOUT_S = 0.6
RETRIES = 3


@pytest.fixture(autouse=True)
def model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast, deterministic retries; no endpoint or key leaking in from the developer's shell."""
    monkeypatch.setenv("ARENA_MODEL_RETRIES", str(RETRIES))
    monkeypatch.setenv("ARENA_MODEL_RETRY_WAIT_S", "0.05")
    monkeypatch.setenv("ARENA_MODEL_TIMEOUT_S", str(TIMEOUT_S))
    # The calls go through the gateway (arena/gateway): it is the one that retries the upstream's failures.
    monkeypatch.setenv("ARENA_GATEWAY_RETRIES", str(RETRIES))
    monkeypatch.setenv("ARENA_GATEWAY_RETRY_WAIT_S", "0.05")
    monkeypatch.setenv("ARENA_GATEWAY_TIMEOUT_S", str(GATEWAY_TIMEOUT_S))
    monkeypatch.setenv("MSWEA_MODEL_RETRY_STOP_AFTER_ATTEMPT", "1")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    for name in ("ARENA_API_BASE", "ARENA_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def engine(settings):
    engine = Engine(settings)
    yield engine
    engine.shutdown()


@pytest.fixture
def server():
    with FakeOpenAI(slow_s=TIMEOUT_S + 1.5) as server:
        yield server


def llm(name: str, model: str, server: FakeOpenAI | None) -> dict:
    """A litellm contestant; `server=None` leaves the endpoint to the environment."""
    return {"name": name, "model": model, **({"api_base": server.api_base} if server else {})}


def run(engine: Engine, calc_repo: Path, arena_dir: Path, contestants: list[dict]) -> dict[str, ContestantRow]:
    """Run an arena to its end; its contestants' rows by name."""
    spec = spec_from_dict(spec_dict(calc_repo, contestants), base_dir=arena_dir)
    arena_id = engine.run(spec)
    arena = engine.store.arena(arena_id)
    assert arena.status == "completed", arena.error  # whatever a contestant did, the arena itself did not break
    return {c.name: c for c in arena.contestants}


def messages(row: ContestantRow) -> list[dict]:
    return json.loads(Path(row.trajectory_path).read_text())["messages"]


def assert_fixed(row: ContestantRow, steps: int = 2) -> None:
    assert (row.status, row.exit_status, row.error) == ("completed", "Submitted", None)
    assert row.steps == steps
    assert "+    return a + b" in Path(row.patch_path).read_text()


def test_tool_calls_fix_the_bug(engine, server, calc_repo, arena_dir):
    server.script(
        "openai/fake-model-a",
        ToolCall(FIX, thought="add() subtracts; flip the operator.", prompt_tokens=120, completion_tokens=30),
        ToolCall(SUBMIT, prompt_tokens=200, completion_tokens=10),
    )
    rows = run(engine, calc_repo, arena_dir, [llm("a", "openai/fake-model-a", server)])

    row = rows["a"]
    assert_fixed(row, steps=2)
    assert (row.tokens_in, row.tokens_out) == (320, 40)  # summed from the server's usage blocks
    assert row.cost == 0.0  # an unpriced model runs at cost 0 instead of failing on the cost lookup

    first, second = server.requests_for("openai/fake-model-a")
    assert first.headers["authorization"] == "Bearer sk-local-endpoint"  # the default key for a custom api_base
    assert any(PROBLEM in m["content"] for m in first.body["messages"] if m["role"] == "user")
    assert [t["function"]["name"] for t in first.body["tools"]] == ["bash"]
    # The observation of the first call went back to the server as a tool message answering that call.
    call_id = second.body["messages"][-2]["tool_calls"][0]["id"]
    assert second.body["messages"][-1]["role"] == "tool"
    assert second.body["messages"][-1]["tool_call_id"] == call_id

    trajectory = messages(row)
    tools = [m for m in trajectory if m["role"] == "tool"]
    assert len(tools) == 1 and tools[0]["tool_call_id"] == call_id
    assert json.loads(tools[0]["content"]) == {"returncode": 0, "output": ""}  # mini.yaml's observation template
    assert [m["role"] for m in trajectory][-1] == "exit"
    assert trajectory[2]["extra"]["actions"] == [{"command": FIX, "tool_call_id": call_id}]


def test_priced_model_cost_comes_from_usage(engine, server, calc_repo, arena_dir):
    """A model litellm knows the price of is charged from the server's usage blocks."""
    server.script(
        "openai/gpt-4o-mini",
        ToolCall(FIX, prompt_tokens=1000, completion_tokens=100),
        ToolCall(SUBMIT, prompt_tokens=2000, completion_tokens=50),
    )
    rows = run(engine, calc_repo, arena_dir, [llm("priced", "openai/gpt-4o-mini", server)])

    import litellm  # only now: the engine imported it with the local cost map

    info = litellm.get_model_info("openai/gpt-4o-mini")
    expected = 3000 * info["input_cost_per_token"] + 150 * info["output_cost_per_token"]
    assert_fixed(rows["priced"], steps=2)
    assert (rows["priced"].tokens_in, rows["priced"].tokens_out) == (3000, 150)
    assert rows["priced"].cost == pytest.approx(expected) and expected > 0


def test_rate_limit_is_retried(engine, server, calc_repo, arena_dir):
    server.script("openai/fake-model-a", Fault("429"), ToolCall(FIX), ToolCall(SUBMIT))
    rows = run(engine, calc_repo, arena_dir, [llm("a", "openai/fake-model-a", server)])

    assert_fixed(rows["a"], steps=2)  # the retry happens inside one model call
    limited, retried, _ = server.requests_for("openai/fake-model-a")
    assert limited.body == retried.body


def test_permanent_server_error_fails_only_that_contestant(engine, server, calc_repo, arena_dir):
    server.script("openai/broken", Fault("500", permanent=True))
    server.script("openai/fake-model-b", ToolCall(FIX), ToolCall(SUBMIT))
    steps = write_steps(arena_dir / "steps.yaml", [{"thought": "fix", "commands": [FIX]}, {"commands": [SUBMIT]}])
    rows = run(
        engine,
        calc_repo,
        arena_dir,
        [
            llm("broken", "openai/broken", server),
            llm("b", "openai/fake-model-b", server),
            {"name": "scripted", "model": f"scripted:{steps}"},
        ],
    )

    broken = rows["broken"]
    assert (broken.status, broken.exit_status) == ("failed", "InternalServerError")
    assert broken.error.startswith("InternalServerError: ") and "fake server: internal error" in broken.error
    assert "Traceback (most recent call last)" in broken.traceback and "InternalServerError" in broken.traceback
    assert len(server.requests_for("openai/broken")) == RETRIES  # the gateway's attempts, not more, not less
    assert_fixed(rows["b"], steps=2)
    assert_fixed(rows["scripted"], steps=2)


def test_slow_answer_times_out_and_is_retried(engine, server, calc_repo, arena_dir):
    server.script("openai/fake-model-a", Fault("timeout"), ToolCall(FIX), ToolCall(SUBMIT))
    rows = run(engine, calc_repo, arena_dir, [llm("a", "openai/fake-model-a", server)])

    assert_fixed(rows["a"], steps=2)
    slow, retried, _ = server.requests_for("openai/fake-model-a")
    assert slow.body == retried.body
    # The gateway gave up after ARENA_GATEWAY_TIMEOUT_S, before the server would have answered, and before the
    # contestant's own client would have given up on the gateway (ARENA_MODEL_TIMEOUT_S).
    assert GATEWAY_TIMEOUT_S <= retried.at - slow.at < TIMEOUT_S


def test_garbage_body_fails_cleanly(engine, server, calc_repo, arena_dir):
    server.script("openai/fake-model-a", Fault("garbage", permanent=True))
    rows = run(engine, calc_repo, arena_dir, [llm("a", "openai/fake-model-a", server)])

    row = rows["a"]
    # The gateway retries a body that is not JSON as a broken upstream, then answers 502 saying what it got.
    assert (row.status, row.exit_status) == ("failed", "BadGatewayError")
    assert "with a body that is not JSON" in row.error and "this is not JSON" in row.error
    assert row.traceback
    assert len(server.requests_for("openai/fake-model-a")) == RETRIES
    assert Path(row.patch_path).read_text() == ""


@pytest.mark.parametrize("route", ["ARENA_API_BASE+ARENA_API_KEY", "OPENAI_BASE_URL+OPENAI_API_KEY"])
def test_api_key_never_enters_the_sandbox(engine, server, calc_repo, arena_dir, monkeypatch, route):
    """The key reaches the server (the LLM call runs on the host), yet the sandbox's environment lacks it."""
    monkeypatch.setenv("ARENA_API_KEY", "sk-test-secret-arena")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-openai")
    if route.startswith("OPENAI_BASE_URL"):
        monkeypatch.setenv("OPENAI_BASE_URL", server.api_base)
        contestant, key = llm("a", "openai/fake-model-a", None), "sk-test-secret-openai"
    else:  # ARENA_API_KEY goes only to the operator's ARENA_API_BASE
        monkeypatch.setenv("ARENA_API_BASE", server.api_base)
        contestant, key = llm("a", "openai/fake-model-a", server), "sk-test-secret-arena"
    server.script("openai/fake-model-a", ToolCall("env; cat /proc/self/environ"), ToolCall(SUBMIT))
    rows = run(engine, calc_repo, arena_dir, [contestant])

    row = rows["a"]
    assert (row.status, row.exit_status) == ("completed", "Submitted")
    observation = next(m for m in messages(row) if m["role"] == "tool")["content"]
    assert "PATH=" in observation and "HOME=" in observation  # the command ran and printed its environment
    assert "sk-test-secret" not in observation
    assert {r.headers["authorization"] for r in server.requests_for("openai/fake-model-a")} == {f"Bearer {key}"}


def test_api_key_is_not_written_to_the_trajectory(engine, server, calc_repo, arena_dir, monkeypatch):
    """Trajectories are shown in the app, downloaded and replayed by others: the key must not be in them."""
    monkeypatch.setenv("ARENA_API_KEY", "sk-test-secret-arena")
    monkeypatch.setenv("ARENA_API_BASE", server.api_base)
    server.script("openai/fake-model-a", ToolCall(SUBMIT))
    rows = run(engine, calc_repo, arena_dir, [llm("a", "openai/fake-model-a", server)])

    assert rows["a"].exit_status == "Submitted"
    assert {r.headers["authorization"] for r in server.requests_for("openai/fake-model-a")} == {
        "Bearer sk-test-secret-arena"
    }
    assert "sk-test-secret" not in Path(rows["a"].trajectory_path).read_text()
