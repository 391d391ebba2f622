"""Where keys go: a provider's key only to its own endpoint; a custom api_base gets the variable the spec names
(api_key_env), ARENA_API_KEY only if it is the operator's ARENA_API_BASE, or a placeholder; never a provider key. Planted canaries, the real `arena run` in a
subprocess, and the fake OpenAI server recording every header and body it receives."""

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import spec_dict, write_steps
from tests.fakes.openai_server import FakeOpenAI, Fault, Text, ToolCall
from tests.test_cli import arena

FIX = "sed -i 's/a - b/a + b/' calc/ops.py"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
# Every provider variable litellm or the OpenAI SDK might read; none may reach a custom endpoint.
CANARIES = {
    "OPENAI_API_KEY": "sk-canary-OPENAI",
    "ANTHROPIC_API_KEY": "sk-canary-ANTHROPIC",
    "GEMINI_API_KEY": "canary-GEMINI",
    "AZURE_API_KEY": "canary-AZURE",
    "HOSTED_VLLM_API_KEY": "canary-VLLM",
    "LITELLM_PROXY_API_KEY": "canary-PROXY",
    "OPENAI_ORGANIZATION": "org-canary-ORG",
    "OPENAI_ORG_ID": "org-canary-ORGID",
    "OPENAI_PROJECT_ID": "proj-canary-PROJECT",
}


@pytest.fixture(autouse=True)
def operator_env(monkeypatch):
    """The operator's shell: provider keys planted; no endpoint or arena key unless a test sets one."""
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    for name in ("ARENA_API_BASE", "ARENA_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "ARENA_KEY_FOR_X"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("MSWEA_MODEL_RETRY_STOP_AFTER_ATTEMPT", "1")
    monkeypatch.setenv("ARENA_MODEL_RETRIES", "1")
    monkeypatch.setenv("ARENA_GATEWAY_RETRIES", "1")  # model calls go through the gateway, which retries them
    monkeypatch.setenv("ARENA_MODEL_TIMEOUT_S", "10")


@pytest.fixture
def server():
    with FakeOpenAI() as server:
        yield server


def run_spec(arena_dir: Path, data: Path, contestant: dict, **extra) -> tuple:
    path = arena_dir / "keys.yaml"
    path.write_text(yaml.safe_dump(spec_dict(Path("../calc"), [contestant], **extra)))
    return arena("run", str(path), "--json", data_dir=data)


def contestant(server: FakeOpenAI, **fields) -> dict:
    return {"name": "llm", "model": "openai/fake-model-a", "api_base": server.api_base, **fields}


def assert_no_canary(server: FakeOpenAI) -> None:
    assert server.requests, "the fake server got no request at all"
    for request in server.requests:
        sent = json.dumps(request.headers) + json.dumps(request.body)
        assert not [v for v in CANARIES.values() if v in sent], request.headers


def authorizations(server: FakeOpenAI) -> set[str]:
    return {r.headers.get("authorization") for r in server.requests}


@pytest.mark.parametrize(
    "env, spec_fields, key",
    [
        ({}, {}, "sk-local-endpoint"),  # no key configured: a placeholder that is no one's secret
        ({"ARENA_API_KEY": "sk-arena-key", "ARENA_API_BASE": "SERVER"}, {}, "sk-arena-key"),
        # Found in review: the operator's ARENA_API_KEY is for ARENA_API_BASE, not for an endpoint a spec names.
        ({"ARENA_API_KEY": "sk-arena-key", "ARENA_API_BASE": "https://gateway.example/v1"}, {}, "sk-local-endpoint"),
        (
            {"ARENA_API_KEY": "sk-arena-key", "ARENA_KEY_FOR_X": "sk-for-x"},
            {"api_key_env": "ARENA_KEY_FOR_X"},
            "sk-for-x",
        ),
    ],
    ids=["placeholder", "ARENA_API_KEY", "not ARENA_API_KEY elsewhere", "api_key_env"],
)
def test_a_custom_endpoint_gets_only_its_own_key(env, spec_fields, key, server, arena_dir, tmp_path, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, server.api_base if value == "SERVER" else value)
    server.script("openai/fake-model-a", ToolCall(FIX), ToolCall(SUBMIT))
    result = run_spec(arena_dir, tmp_path / "data", contestant(server, **spec_fields))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["contestants"][0]["exit_status"] == "Submitted"
    assert authorizations(server) == {f"Bearer {key}"}
    assert_no_canary(server)


def test_arena_api_base_from_the_environment_follows_the_same_rule(server, arena_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_API_BASE", server.api_base)
    server.script("openai/fake-model-a", ToolCall(SUBMIT))
    result = run_spec(arena_dir, tmp_path / "data", {"name": "llm", "model": "openai/fake-model-a"})
    assert result.returncode == 0, result.stderr
    assert authorizations(server) == {"Bearer sk-local-endpoint"}
    assert_no_canary(server)


def test_the_reviewer_gets_only_its_own_key(server, arena_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_KEY_FOR_JUDGE", "sk-judge-key")
    write_steps(arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"commands": [SUBMIT]}])
    answer = {"ranking": ["fix"], "rationale": "fixes add"}
    server.script("openai/judge-model", Text(json.dumps(answer)), Fault("500", permanent=True))
    judge = {"model": "openai/judge-model", "api_base": server.api_base, "api_key_env": "ARENA_KEY_FOR_JUDGE"}
    result = run_spec(
        arena_dir, tmp_path / "data", {"name": "fix", "model": "scripted:fix.yaml"}, judge=judge | {"synthesize": True}
    )
    assert result.returncode == 0, result.stderr
    assert len(server.requests_for("openai/judge-model")) >= 1  # the reviewer was really called
    assert authorizations(server) == {"Bearer sk-judge-key"}
    assert_no_canary(server)
    monkeypatch.delenv("ARENA_KEY_FOR_JUDGE")
    server.requests.clear()
    server.script("openai/judge-model", Text(json.dumps(answer)))
    judge = {"model": "openai/judge-model", "api_base": server.api_base}
    result = run_spec(arena_dir, tmp_path / "data2", {"name": "fix", "model": "scripted:fix.yaml"}, judge=judge)
    assert result.returncode == 0, result.stderr


def test_the_reviewer_without_a_key_sends_the_placeholder(server, arena_dir, tmp_path):
    write_steps(arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"commands": [SUBMIT]}])
    server.script("openai/judge-model", Text(json.dumps({"ranking": ["fix"]})), Fault("500", permanent=True))
    judge = {"model": "openai/judge-model", "api_base": server.api_base, "synthesize": True}
    result = run_spec(arena_dir, tmp_path / "data", {"name": "fix", "model": "scripted:fix.yaml"}, judge=judge)
    assert result.returncode == 0, result.stderr
    assert server.requests_for("openai/judge-model") and authorizations(server) == {"Bearer sk-local-endpoint"}
    assert_no_canary(server)


REFUSED = {
    "provider key named": (
        lambda s: {"api_key_env": "OPENAI_API_KEY"},
        "'OPENAI_API_KEY' may not be sent to a spec's api_base",
    ),
    "arena setting named": (lambda s: {"api_key_env": "ARENA_DATABASE_URL"}, "is not one of the arena's settings"),
    "not a variable name": (lambda s: {"api_key_env": "sk-live-123"}, "is not an environment variable name"),
    "api_base in model_kwargs": (
        lambda s: {"api_base": None, "model_kwargs": {"api_base": s.api_base}},
        "api_base is not a sampling option",
    ),
    "base_url in model_kwargs": (
        lambda s: {"model_kwargs": {"base_url": s.api_base}},
        "give an endpoint as api_base:",
    ),
    "headers in model_kwargs": (lambda s: {"model_kwargs": {"extra_headers": {"x": "y"}}}, "extra_headers is not"),
    # Found in review: litellm routes by these too, filling in OPENAI_API_KEY for the endpoint they name.
    "model_list in model_kwargs": (
        lambda s: {"model_kwargs": {"model_list": [{"model_name": "x", "litellm_params": {"api_base": s.api_base}}]}},
        "model_list is not a sampling option",
    ),
    "fallbacks in model_kwargs": (
        lambda s: {"model_kwargs": {"fallbacks": [{"model": "openai/x", "api_base": s.api_base}]}},
        "fallbacks is not a sampling option",
    ),
    "cloud provider at a custom endpoint": (
        lambda s: {"model": "bedrock/anthropic.claude-3-haiku-20240307-v1:0"},
        "cannot use a custom api_base",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_specs_that_would_misdirect_a_key_exit_2(case, server, arena_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_KEY_FOR_X", "sk-for-x")
    fields, message = REFUSED[case]
    result = run_spec(arena_dir, tmp_path / "data", contestant(server) | fields(server))
    assert result.returncode == 2, result.stderr
    assert message in json.loads(result.stdout)["error"]
    assert server.requests == []


@pytest.mark.parametrize("where", ["contestant", "judge", "no endpoint"])
def test_an_unusable_key_variable_refuses_the_launch_naming_it(where, server, arena_dir, tmp_path, monkeypatch):
    write_steps(arena_dir / "idle.yaml", [{"commands": [SUBMIT]}])
    named, message = (
        {"api_key_env": "ARENA_KEY_FOR_X"},
        "api_key_env: ARENA_KEY_FOR_X is not set; export ARENA_KEY_FOR_X=",
    )
    if where == "contestant":
        result = run_spec(arena_dir, tmp_path / "data", contestant(server, **named))
    elif where == "judge":
        judge = {"model": "openai/judge-model", "api_base": server.api_base, **named}
        result = run_spec(arena_dir, tmp_path / "data", {"name": "idle", "model": "scripted:idle.yaml"}, judge=judge)
    else:  # set, but there is no custom endpoint to send it to
        monkeypatch.setenv("ARENA_KEY_FOR_X", "sk-for-x")
        result = run_spec(arena_dir, tmp_path / "data", contestant(server, api_base=None, **named))
        message = "names the key for a custom endpoint, but there is none"
    assert result.returncode == 2, result.stderr
    assert message in json.loads(result.stdout)["error"]
    assert server.requests == [] and not (tmp_path / "data" / "runs").exists()


def test_a_contestant_whose_every_call_failed_took_no_step(server, arena_dir, tmp_path):
    server.script("openai/fake-model-a", Fault("500", permanent=True))
    data = tmp_path / "data"
    result = run_spec(arena_dir, data, contestant(server))
    assert result.returncode == 0, result.stderr
    arena_id = json.loads(result.stdout)["arena_id"]
    shown = json.loads(arena("show", arena_id, "--json", data_dir=data).stdout)["contestants"][0]
    assert (shown["status"], shown["exit_status"], shown["steps"]) == ("failed", "InternalServerError", 0)
    assert len(server.requests) == 1  # ARENA_GATEWAY_RETRIES=1: one attempt, and it got no reply


# -- the rule itself, on plain values (fast) ---------------------------------------------------------


def test_endpoint_and_key_never_returns_a_provider_key(monkeypatch):
    from arena.llm import endpoint_and_key

    assert endpoint_and_key("openai/gpt-4.1-mini", None, None) == (None, None)  # litellm: own key, own endpoint
    assert endpoint_and_key("openai/m", "http://h/v1", None) == ("http://h/v1", "sk-local-endpoint")
    assert endpoint_and_key("anthropic/m", "http://h", None) == ("http://h", "sk-local-endpoint")
    monkeypatch.setenv("ARENA_API_KEY", "sk-arena")
    assert endpoint_and_key("openai/m", "http://h/v1", None) == ("http://h/v1", "sk-local-endpoint")
    monkeypatch.setenv("ARENA_API_BASE", "http://h/v1/")
    assert endpoint_and_key("openai/m", "http://h/v1", None) == ("http://h/v1", "sk-arena")
    monkeypatch.delenv("ARENA_API_BASE")
    monkeypatch.setenv("ARENA_KEY_FOR_X", "sk-x")
    assert endpoint_and_key("openai/m", "http://h/v1", "ARENA_KEY_FOR_X") == ("http://h/v1", "sk-x")
    monkeypatch.setenv("ARENA_API_BASE", "http://gateway/v1")
    assert endpoint_and_key("openai/m", None, None) == ("http://gateway/v1", "sk-arena")


@pytest.mark.parametrize(
    "name, ok",
    [
        ("ARENA_KEY_FOR_X", True),
        ("ARENA_API_KEY", True),
        ("OPENAI_API_KEY", False),
        ("ANTHROPIC_API_KEY", False),
        ("AWS_SECRET_ACCESS_KEY", False),
        ("ARENA_DATABASE_URL", False),
        ("arena_key", False),
        ("ARENA_X; rm", False),
    ],
)
def test_api_key_env_must_name_an_arena_variable_of_the_operators_own(name, ok):
    from arena.errors import SpecError
    from arena.spec import spec_from_dict

    raw = spec_dict(Path("/tmp"), [{"name": "a", "model": "openai/m", "api_base": "http://h/v1", "api_key_env": name}])
    raw["judge"] = {"model": "openai/j", "api_base": "http://h/v1", "api_key_env": name}
    if ok:
        spec = spec_from_dict(raw)
        assert spec.contestants[0].api_key_env == spec.judge.api_key_env == name
    else:
        with pytest.raises(SpecError, match="api_key_env"):
            spec_from_dict(raw)
