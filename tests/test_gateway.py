"""The LLM gateway over real HTTP: relaying and metering every API, keys that stay on the host, caps and retries.

Every test drives real clients (httpx, the OpenAI SDK through litellm) against a started Gateway, which forwards to
the scripted fake upstream (tests/fakes/openai_server.py) on 127.0.0.1. The canary provider key must reach the
upstream and nothing else: no row, no log line, no error message; the virtual key must never reach the upstream.
"""

import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from arena.errors import SpecError
from arena.gateway import Gateway, GatewayConfig
from arena.storage import ArenaRow, ContestantRow, Store
from arena.storage.models import GatewayKeyRow, GatewayRequestRow
from tests.fakes.openai_server import FakeOpenAI, Fault, Text, ToolCall, ToolUse

ROOT = Path(__file__).resolve().parents[1]

CANARY = "sk-canary-7f3e9d1c5b2a"
GPT, CLAUDE, GEMINI = "openai/fake-gpt", "anthropic/claude-fake", "gemini/gemini-fake"
PRICES = {
    GPT: {"input": 2.0, "output": 8.0, "cache_read": 0.5},
    GEMINI: {"input": 1.25, "output": 10.0, "cache_read": 0.3},
    "claude-fake": {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75},
}


def usd(tokens_in: int, tokens_out: int, price: dict, cache_read: int = 0, cache_write: int = 0) -> float:
    uncached = tokens_in - cache_read - cache_write
    read, write = price.get("cache_read", price["input"]), price.get("cache_write", price["input"])
    return (uncached * price["input"] + cache_read * read + cache_write * write + tokens_out * price["output"]) / 1e6


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    arena = ArenaRow(id="A1", repo="r", base="HEAD", base_sha="0" * 40, spec={}, status="running")
    others = ArenaRow(id="A2", repo="r", base="HEAD", base_sha="0" * 40, spec={}, status="running")
    store.create_arena(arena, [ContestantRow(name=n, model="m", strategy="s") for n in ("c1", "c2")])
    store.create_arena(others, [ContestantRow(name="c1", model="m", strategy="s")])
    return store


@pytest.fixture
def upstream():
    with FakeOpenAI(slow_s=1.5) as server:
        yield server


@pytest.fixture
def config() -> GatewayConfig:
    return GatewayConfig.from_env(attempts=3, wait_s=0.01, timeout_s=1.0, arena_budget=0.0, daily_budget=0.0)


@pytest.fixture
def gateway(store, config, monkeypatch):
    monkeypatch.setenv("CANARY_KEY", CANARY)
    gateway = Gateway(store, Path(tempfile.mkdtemp(prefix="gw-test-")), prices=PRICES, config=config)
    gateway.start()
    yield gateway
    gateway.stop()


def row_id(store: Store, arena_id: str, name: str) -> int:
    return next(c.id for c in store.arena(arena_id).contestants if c.name == name)


def issue(gateway: Gateway, upstream: FakeOpenAI, model: str = GPT, contestant: str = "c1", arena_id: str = "A1", **kw):
    base = upstream.api_base if model.startswith("openai/") else upstream.url
    limits = {"cost_limit": 0.0} | kw
    row = row_id(gateway.store, arena_id, contestant)
    return gateway.issue_key(arena_id, contestant, row, model=model, api_base=base, api_key_env="CANARY_KEY", **limits)


def post(gateway: Gateway, path: str, key: str, body: dict, anthropic: bool = False) -> httpx.Response:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"} if anthropic else {"authorization": f"Bearer {key}"}
    return httpx.post(gateway.url + path, json=body, headers=headers, timeout=10)


def events(response: httpx.Response) -> list[dict]:
    lines = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


def rows(gateway: Gateway, arena_id: str = "A1", contestant: str = "c1") -> list[GatewayRequestRow]:
    """The contestant's rows, once those of the requests already answered are written (they are, off the loop)."""
    return gateway.requests(arena_id, contestant)


def chat(content: str = "hi", stream: bool = False, model: str = "fake-gpt") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}


# --- relaying and metering -----------------------------------------------------------------------------------------


def test_chat_completions_relayed_with_the_real_key_and_metered(gateway, upstream, store):
    upstream.script(GPT, Text("hello", prompt_tokens=1000, completion_tokens=50, cached_tokens=400))
    key = issue(gateway, upstream)
    response = post(gateway, "/v1/chat/completions", key, chat(model=GPT))  # the litellm name is accepted too
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "hello"
    [sent] = upstream.requests
    assert sent.headers["authorization"] == f"Bearer {CANARY}" and sent.body["model"] == "fake-gpt"
    assert key not in json.dumps(sent.headers) + json.dumps(sent.body)
    usage = gateway.usage("A1", "c1")
    cost = usd(1000, 50, PRICES[GPT], cache_read=400)
    assert (usage.requests, usage.tokens_in, usage.tokens_out, usage.cache_read) == (1, 1000, 50, 400)
    assert usage.cost == pytest.approx(cost) and usage.limit_hit is None and usage.errors == 0
    contestant = store.contestant(row_id(store, "A1", "c1"))
    assert (contestant.cost, contestant.tokens_in, contestant.tokens_out) == (pytest.approx(cost), 1000, 50)
    [row] = rows(gateway)
    assert (row.route, row.status, row.attempts, row.model) == ("/v1/chat/completions", 200, 1, GPT)
    assert row.request == {"v": 1, "from": 0, "messages": [{"role": "user", "content": "hi"}]}
    assert row.response == {"v": 1, "content": "hello", "tool_calls": [], "stop_reason": "stop"}


def test_chat_completions_stream_relays_chunks_and_reads_the_usage_it_asked_for(gateway, upstream, store):
    upstream.script(GPT, ToolCall("ls -la", thought="let me look", prompt_tokens=300, completion_tokens=30))
    key = issue(gateway, upstream)
    response = post(gateway, "/chat/completions", key, chat(stream=True))  # no /v1: some clients' base has none
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    chunks = events(response)
    assert response.text.rstrip().endswith("data: [DONE]")
    arguments = "".join(
        c["choices"][0]["delta"].get("tool_calls", [{}])[0].get("function", {}).get("arguments", "") for c in chunks
    )
    assert json.loads(arguments) == {"command": "ls -la"}
    assert not any("usage" in c for c in chunks)  # the client did not ask for the usage chunk: not relayed
    assert upstream.requests[0].body["stream_options"] == {"include_usage": True}  # the gateway asked for it
    [row] = rows(gateway)
    assert (row.tokens_in, row.tokens_out, row.first_byte_ms is not None) == (300, 30, True)
    assert row.response["content"] == "let me look" and row.response["stop_reason"] == "tool_calls"
    assert row.response["tool_calls"] == [{"id": "call_1", "name": "bash", "arguments": '{"command": "ls -la"}'}]
    upstream.script(GPT, Text("ok", prompt_tokens=7, completion_tokens=3))
    asked = post(gateway, "/v1/chat/completions", key, chat(stream=True) | {"stream_options": {"include_usage": True}})
    assert events(asked)[-1]["usage"]["prompt_tokens"] == 7  # asked for by the client: relayed


def test_responses_stream_metered_from_response_completed(gateway, upstream, store):
    upstream.script(
        GPT,
        ToolUse(
            "shell", {"cmd": ["ls"]}, thought="checking", prompt_tokens=500, completion_tokens=40, cached_tokens=100
        ),
    )
    key = issue(gateway, upstream)
    body = {"model": "fake-gpt", "input": "fix the bug", "stream": True}
    response = post(gateway, "/v1/responses", key, body)
    kinds = [e["type"] for e in events(response)]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds and "response.function_call_arguments.delta" in kinds
    [row] = rows(gateway)
    assert (row.tokens_in, row.tokens_out, row.cache_read) == (500, 40, 100)
    assert row.cost == pytest.approx(usd(500, 40, PRICES[GPT], cache_read=100))
    assert row.request["messages"] == [{"role": "user", "content": "fix the bug"}]
    assert row.response["content"] == "checking"
    assert row.response["tool_calls"] == [{"id": "call_1", "name": "shell", "arguments": '{"cmd": ["ls"]}'}]


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_messages_relayed_with_x_api_key_and_cache_tokens_metered(gateway, upstream, store, stream):
    reply = ToolUse(
        "Write",
        {"file_path": "a.py", "content": "x = 1\n"},
        thought="writing",
        prompt_tokens=200,
        completion_tokens=60,
        cached_tokens=1000,
        cache_write_tokens=300,
    )
    upstream.script(CLAUDE, reply)
    key = issue(gateway, upstream, CLAUDE)
    body = {
        "model": "claude-fake",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "go"}],
        "stream": stream,
    }
    response = httpx.post(
        gateway.url + "/v1/messages",
        json=body,
        timeout=10,
        headers={"x-api-key": key, "anthropic-version": "2023-06-01", "anthropic-beta": "tools-2024"},
    )
    assert response.status_code == 200
    if stream:
        kinds = [e["type"] for e in events(response)]
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "message_delta" in kinds
    else:
        assert response.json()["content"][1]["input"] == {"file_path": "a.py", "content": "x = 1\n"}
    [sent] = upstream.requests
    assert sent.headers["x-api-key"] == CANARY and "authorization" not in sent.headers
    assert (sent.headers["anthropic-version"], sent.headers["anthropic-beta"]) == ("2023-06-01", "tools-2024")
    [row] = rows(gateway)
    # Anthropic's input_tokens leave the cache out; the gateway counts every input token, as OpenAI does
    assert (row.tokens_in, row.tokens_out, row.cache_read, row.cache_write) == (1500, 60, 1000, 300)
    assert row.cost == pytest.approx(usd(1500, 60, PRICES["claude-fake"], cache_read=1000, cache_write=300))
    assert row.response["content"] == "writing" and row.response["stop_reason"] == "tool_use"
    assert json.loads(row.response["tool_calls"][0]["arguments"]) == {"file_path": "a.py", "content": "x = 1\n"}


GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "go"}]}]}


@pytest.mark.parametrize("method", ["generateContent", "streamGenerateContent?alt=sse"])
def test_gemini_relayed_with_the_real_key_and_metered_from_usage_metadata(gateway, upstream, method):
    reply = ToolUse(
        "run_shell_command",
        {"command": "ls"},
        thought="looking",
        prompt_tokens=800,
        completion_tokens=30,
        cached_tokens=200,
    )
    upstream.script(GEMINI, reply)
    key = issue(gateway, upstream, GEMINI)
    url = f"{gateway.url}/v1beta/models/gemini-fake:{method}"
    response = httpx.post(url, json=GEMINI_BODY, headers={"x-goog-api-key": key}, timeout=10)
    assert response.status_code == 200
    answers = events(response) if "alt=sse" in method else [response.json()]
    parts = [part for answer in answers for part in answer["candidates"][0]["content"]["parts"]]
    assert {"functionCall": {"name": "run_shell_command", "args": {"command": "ls"}}} in parts
    [sent] = upstream.requests
    assert sent.path == f"/v1beta/models/gemini-fake:{method}" and sent.headers["x-goog-api-key"] == CANARY
    assert "authorization" not in sent.headers and sent.body == GEMINI_BODY  # no model added: it is in the path
    assert key not in json.dumps(sent.headers) + sent.path + json.dumps(sent.body)
    [row] = rows(gateway)
    route = "/v1beta/models/{model}:" + method.split("?")[0]
    assert (row.route, row.model, row.status) == (route, "gemini-fake", 200)
    assert (row.tokens_in, row.tokens_out, row.cache_read) == (800, 30, 200)
    assert row.cost == pytest.approx(usd(800, 30, PRICES[GEMINI], cache_read=200))
    assert row.request == {"v": 1, "from": 0, "messages": GEMINI_BODY["contents"]}
    call = {"id": None, "name": "run_shell_command", "arguments": '{"command": "ls"}'}
    assert row.response == {"v": 1, "content": "looking", "tool_calls": [call], "stop_reason": "STOP"}
    assert CANARY not in repr(row)


def test_gemini_key_in_the_query_stays_on_the_host_and_another_model_is_refused(gateway, upstream):
    upstream.script(GEMINI, Text("hi"))
    key = issue(gateway, upstream, GEMINI)
    # litellm's gemini/ with an api_base posts to <base>/models/...: the gateway's /v1 serves it too
    answered = httpx.post(f"{gateway.url}/v1/models/gemini-fake:generateContent", params={"key": key}, json=GEMINI_BODY)
    assert answered.status_code == 200 and answered.json()["candidates"][0]["content"]["parts"] == [{"text": "hi"}]
    [sent] = upstream.requests
    assert sent.path == "/v1beta/models/gemini-fake:generateContent" and sent.headers["x-goog-api-key"] == CANARY
    headers = {"x-goog-api-key": key}
    counted = httpx.post(f"{gateway.url}/v1beta/models/gemini-fake:countTokens", headers=headers, json=GEMINI_BODY)
    assert counted.status_code == 200 and counted.json()["totalTokens"] > 0
    other = httpx.post(f"{gateway.url}/v1beta/models/gemini-other:generateContent", headers=headers, json=GEMINI_BODY)
    assert other.status_code == 403 and other.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "gemini-fake" in other.json()["error"]["message"] and upstream.requests_for("gemini-other") == []
    assert post(gateway, "/v1/chat/completions", key, chat(model="gemini-fake")).status_code == 400
    statuses = [(row.route.rsplit(":", 1)[-1], row.status) for row in rows(gateway)]
    assert statuses == [
        ("generateContent", 200),
        ("countTokens", 200),
        ("generateContent", 403),
        ("/v1/chat/completions", 400),
    ]


def test_count_tokens_models_and_bearer_auth_for_anthropic(gateway, upstream):
    key = issue(gateway, upstream, CLAUDE)
    # Claude Code with ANTHROPIC_AUTH_TOKEN sends a bearer token (and may send a placeholder x-api-key beside it)
    headers = {"authorization": f"Bearer {key}", "x-api-key": "placeholder"}
    body = {"model": "claude-fake", "messages": [{"role": "user", "content": "hello there"}]}
    counted = httpx.post(gateway.url + "/v1/messages/count_tokens", json=body, headers=headers)
    assert counted.status_code == 200 and counted.json()["input_tokens"] > 0
    models = httpx.get(gateway.url + "/v1/models", headers=headers).json()
    assert [m["id"] for m in models["data"]] == ["claude-fake"]
    wrong_api = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=headers)
    assert wrong_api.status_code == 400 and "Anthropic (POST /v1/messages)" in wrong_api.json()["error"]["message"]
    nowhere = httpx.post(gateway.url + "/v1/embeddings", json=body, headers=headers)
    assert (
        nowhere.status_code == 404
        and "no route POST /v1/embeddings; it serves POST /v1/chat/completions" in nowhere.text
    )
    upstream.script(CLAUDE, Text("beta"))
    beta = httpx.post(gateway.url + "/v1/messages?beta=true", json=body, headers=headers)
    assert beta.status_code == 200 and upstream.requests[-1].path == "/v1/messages?beta=true"


def test_the_unix_socket_serves_the_same_gateway(gateway, upstream):
    upstream.script(GPT, Text("through the socket"))
    key = issue(gateway, upstream)
    assert oct(gateway.socket_path.stat().st_mode & 0o777) == "0o666"
    assert oct(gateway.socket_path.parent.stat().st_mode & 0o777) == "0o755"
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(gateway.socket_path)), base_url="http://gateway") as client:
        response = client.post("/v1/chat/completions", json=chat(), headers={"authorization": f"Bearer {key}"})
    assert response.json()["choices"][0]["message"]["content"] == "through the socket"


def test_litellm_as_mini_swe_agent_calls_it(gateway, upstream):
    from arena.llm import import_litellm

    upstream.script(GPT, ToolCall("echo hi", prompt_tokens=120, completion_tokens=12))
    key = issue(gateway, upstream)
    response = import_litellm().completion(
        model=GPT,
        api_base=gateway.url + "/v1",
        api_key=key,
        messages=[{"role": "user", "content": "go"}],
        num_retries=0,
    )
    assert json.loads(response.choices[0].message.tool_calls[0].function.arguments) == {"command": "echo hi"}
    assert gateway.usage("A1", "c1").tokens_in == 120


def test_litellm_calls_a_gemini_model_through_it_too(gateway, upstream):
    from arena.llm import import_litellm

    upstream.script(GEMINI, ToolCall("echo hi", prompt_tokens=120, completion_tokens=12))
    key = issue(gateway, upstream, GEMINI)
    tool = {"type": "function", "function": {"name": "bash", "parameters": {"type": "object", "properties": {}}}}
    response = import_litellm().completion(
        model=GEMINI,
        api_base=gateway.url + "/v1",
        api_key=key,
        messages=[{"role": "user", "content": "go"}],
        tools=[tool],
    )
    assert json.loads(response.choices[0].message.tool_calls[0].function.arguments) == {"command": "echo hi"}
    assert [r.headers["x-goog-api-key"] for r in upstream.requests] == [CANARY]
    assert gateway.usage("A1", "c1").tokens_in == 120


# --- keys ------------------------------------------------------------------------------------------------------------


def test_the_canary_key_is_nowhere_but_upstream_and_the_virtual_key_never_upstream(gateway, upstream, store, caplog):
    caplog.set_level(logging.DEBUG)
    upstream.script(GPT, Text("a"), Fault("500"), Fault("429"), Text("b"))
    upstream.script(CLAUDE, Text("c"))
    key = issue(gateway, upstream)
    claude_key = issue(gateway, upstream, CLAUDE, contestant="c2", cost_limit=1e-9)
    answers = [
        post(gateway, "/v1/chat/completions", key, chat()),
        post(gateway, "/v1/chat/completions", key, chat(stream=True)),
        post(gateway, "/v1/chat/completions", key, chat(model="other")),
        post(gateway, "/v1/messages", claude_key, {"model": "claude-fake", "messages": []}, anthropic=True),
        post(gateway, "/v1/messages", claude_key, {"model": "claude-fake", "messages": []}, anthropic=True),  # 402
        post(gateway, "/v1/chat/completions", "arena-vk-forged", chat()),
    ]
    gateway.revoke("A1", "c1")
    answers.append(post(gateway, "/v1/chat/completions", key, chat()))
    assert [a.status_code for a in answers] == [200, 200, 403, 200, 402, 401, 401]
    gateway.usage("A1", "c1"), gateway.usage("A1", "c2")
    with store.session() as s:
        kept = [
            repr({c.name: getattr(r, c.name) for c in r.__table__.columns})
            for r in s.scalars(select(GatewayRequestRow))
        ]
        kept += [
            repr({c.name: getattr(r, c.name) for c in r.__table__.columns}) for r in s.scalars(select(GatewayKeyRow))
        ]
    seen = "\n".join(kept + [a.text for a in answers] + [r.getMessage() for r in caplog.records] + [caplog.text])
    assert len(kept) == 8  # six rows (the forged key's request is nobody's) and two keys
    for secret in (CANARY, key, claude_key):
        assert secret not in seen
        assert secret not in repr(gateway._keys)
    for sent in upstream.requests:
        assert key not in json.dumps(sent.headers) and claude_key not in json.dumps(sent.headers)
        assert CANARY in (sent.headers.get("authorization", "") + sent.headers.get("x-api-key", ""))


def test_a_revoked_key_is_refused_and_its_replay_recorded(gateway, upstream, store):
    upstream.fallback(GPT, Text("ok"))
    key = issue(gateway, upstream)
    assert post(gateway, "/v1/chat/completions", key, chat()).status_code == 200
    gateway.revoke("A1", "c1")
    replay = post(gateway, "/v1/chat/completions", key, chat())
    assert (
        replay.status_code == 401
        and "revoked when contestant c1 of arena A1 ended" in replay.json()["error"]["message"]
    )
    assert len(upstream.requests) == 1  # the replay never went upstream
    assert [r.status for r in rows(gateway)] == [200, 401]
    with store.session() as s:
        assert s.scalars(select(GatewayKeyRow)).one().revoked_at is not None


def test_a_key_works_only_for_its_model(gateway, upstream):
    upstream.fallback(GPT, Text("ok"))
    key = issue(gateway, upstream)
    other = post(gateway, "/v1/chat/completions", key, chat(model="gpt-5"))
    assert other.status_code == 403 and "for model openai/fake-gpt only" in other.json()["error"]["message"]
    claude = issue(gateway, upstream, CLAUDE, contestant="c2")
    for name in ("claude-fake", "anthropic/claude-fake"):
        upstream.script(CLAUDE, Text("ok"))
        assert post(gateway, "/v1/messages", claude, {"model": name, "messages": []}, anthropic=True).status_code == 200
    refused = post(gateway, "/v1/messages", claude, {"model": "claude-other", "messages": []}, anthropic=True)
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
    assert upstream.requests_for("gpt-5") == [] and upstream.requests_for("claude-other") == []


def test_keys_fail_at_issue_for_providers_it_cannot_forward_and_unset_keys(gateway, upstream, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ARENA_API_BASE", raising=False)
    with pytest.raises(SpecError, match="OpenAI-compatible, Anthropic and Gemini models only"):
        gateway.issue_key(
            "A1", "c1", 1, model="mistral/mistral-large-latest", api_base=None, api_key_env=None, cost_limit=0
        )
    with pytest.raises(SpecError, match="needs api_key_env"):  # GEMINI_API_KEY goes to Google only
        gateway.issue_key("A1", "c1", 1, model=GEMINI, api_base=upstream.url, api_key_env=None, cost_limit=0)
    with pytest.raises(SpecError, match="OPENAI_API_KEY is not set"):
        gateway.issue_key("A1", "c1", 1, model="openai/gpt-4.1", api_base=None, api_key_env=None, cost_limit=0)
    with pytest.raises(SpecError, match="NOT_SET_ANYWHERE is not set"):
        gateway.issue_key(
            "A1", "c1", 1, model=GPT, api_base=upstream.api_base, api_key_env="NOT_SET_ANYWHERE", cost_limit=0
        )


# --- caps ----------------------------------------------------------------------------------------------------------


def test_the_contestant_cap_answers_402_with_what_was_spent(gateway, upstream, store):
    upstream.fallback(GPT, Text("ok", prompt_tokens=1_000_000, completion_tokens=0))  # $2 a call
    key = issue(gateway, upstream, cost_limit=3.0)
    assert [post(gateway, "/v1/chat/completions", key, chat()).status_code for _ in range(2)] == [200, 200]
    refused = post(gateway, "/v1/chat/completions", key, chat())
    assert refused.status_code == 402
    message = refused.json()["error"]["message"]
    assert message == (
        "contestant c1's cost_limit is reached: $4.0000 spent of $3; raise cost_limit: in the arena spec to let it "
        "spend more"
    )
    assert len(upstream.requests) == 2
    usage = gateway.usage("A1", "c1")
    assert usage.limit_hit == message and usage.requests == 3 and usage.cost == pytest.approx(4.0)
    assert gateway.budget_exhausted("A1") is None  # the contestant's cap is its own


def test_the_arena_and_daily_budgets_answer_402_and_stop_new_contestants(store, upstream, monkeypatch, config):
    monkeypatch.setenv("CANARY_KEY", CANARY)
    upstream.fallback(GPT, Text("ok", prompt_tokens=1_000_000, completion_tokens=0))  # $2 a call
    budgets = config.model_copy(update={"arena_budget": 3.0, "daily_budget": 5.0})
    gateway = Gateway(store, Path(tempfile.mkdtemp(prefix="gw-test-")), prices=PRICES, config=budgets)
    gateway.start()
    try:
        c1, c2 = issue(gateway, upstream), issue(gateway, upstream, contestant="c2")
        assert post(gateway, "/v1/chat/completions", c1, chat()).status_code == 200
        assert gateway.budget_exhausted("A1") is None
        assert post(gateway, "/v1/chat/completions", c2, chat()).status_code == 200
        refused = post(gateway, "/v1/chat/completions", c1, chat())
        assert refused.status_code == 402 and "arena A1's budget is reached: $4.0000 spent of $3" in refused.text
        assert "ARENA_GATEWAY_ARENA_BUDGET_USD" in gateway.budget_exhausted("A1")
        other = issue(gateway, upstream, arena_id="A2")  # another arena, with budget left, until the day's is spent
        assert post(gateway, "/v1/chat/completions", other, chat()).status_code == 200
        day = post(gateway, "/v1/chat/completions", other, chat())
        assert day.status_code == 402 and "today's budget (UTC) is reached: $6.0000 spent of $5" in day.text
        assert "ARENA_GATEWAY_DAILY_BUDGET_USD" in gateway.budget_exhausted("A2")
        assert gateway.usage("A2", "c1").limit_hit == day.json()["error"]["message"]
    finally:
        gateway.stop()


# --- retries -------------------------------------------------------------------------------------------------------


def test_a_429_then_200_is_retried_transparently_and_counted(gateway, upstream, store):
    upstream.script(GPT, Fault("429", retry_after=0.2), Text("after the wait"))
    key = issue(gateway, upstream)
    started = time.monotonic()
    response = post(gateway, "/v1/chat/completions", key, chat())
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "after the wait"
    assert time.monotonic() - started >= 0.2  # Retry-After honoured
    assert len(upstream.requests) == 2
    usage = gateway.usage("A1", "c1")
    assert (usage.requests, usage.retries, usage.errors) == (1, 1, 0)
    assert rows(gateway)[0].error == "retried: attempt 1: upstream answered 429"


def test_a_permanent_500_reaches_the_client_after_every_attempt(gateway, upstream, store):
    upstream.script(GPT, Fault("500", permanent=True))
    key = issue(gateway, upstream)
    response = post(gateway, "/v1/chat/completions", key, chat(stream=True))
    assert response.status_code == 500 and response.json()["error"]["message"] == "fake server: internal error"
    assert len(upstream.requests) == 3
    [row] = rows(gateway)
    assert (row.status, row.attempts, row.error) == (500, 3, "upstream 500: fake server: internal error")
    usage = gateway.usage("A1", "c1")
    assert (usage.errors, usage.retries) == (1, 2)


def test_a_timeout_is_retried_then_reported(gateway, upstream, store):
    upstream.script(GPT, Fault("timeout"), Text("second try"))
    key = issue(gateway, upstream)
    assert post(gateway, "/v1/chat/completions", key, chat()).json()["choices"][0]["message"]["content"] == "second try"
    upstream.script(GPT, Fault("timeout", permanent=True))
    response = post(gateway, "/v1/chat/completions", key, chat())
    assert response.status_code == 504
    assert response.json()["error"]["message"] == (
        "the upstream did not answer within 1 s (ReadTimeout), after 3 attempt(s); ARENA_GATEWAY_RETRIES and "
        "ARENA_GATEWAY_TIMEOUT_S set how hard the gateway tries"
    )
    assert [(r.status, r.attempts) for r in rows(gateway)] == [(200, 2), (504, 3)]
    assert gateway.usage("A1", "c1").retries == 3


def test_an_unreachable_upstream_gives_a_clear_502(gateway, upstream, store):
    key = gateway.issue_key(
        "A1",
        "c1",
        row_id(store, "A1", "c1"),
        model=GPT,
        api_base="http://127.0.0.1:9/v1",
        api_key_env="CANARY_KEY",
        cost_limit=0,
    )
    response = post(gateway, "/v1/chat/completions", key, chat())
    assert response.status_code == 502
    assert response.json()["error"]["message"].startswith("could not reach the upstream 127.0.0.1 (ConnectError)")


# --- streaming ---------------------------------------------------------------------------------------------------


def test_streams_are_relayed_as_they_arrive_not_buffered(gateway, upstream, store):
    upstream.chunk_delay_s = 0.1
    upstream.script(CLAUDE, Text("a reply long enough to make a dozen events or so, one every tenth of a second"))
    key = issue(gateway, upstream, CLAUDE)
    body = {"model": "claude-fake", "messages": [{"role": "user", "content": "go"}], "stream": True}
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    started = time.monotonic()
    with httpx.stream("POST", gateway.url + "/v1/messages", json=body, headers=headers, timeout=10) as response:
        arrivals = [time.monotonic() - started for _ in response.iter_raw()]
    assert arrivals[-1] >= 1.0  # the upstream took over a second to stream it all
    assert arrivals[0] < 0.3  # the first event reached the client long before the end
    [row] = rows(gateway)
    assert row.first_byte_ms < 300 and row.latency_ms >= 1000


# --- PostgreSQL --------------------------------------------------------------------------------------------------


def test_metering_and_caps_on_postgresql(upstream, config, monkeypatch):
    """Migration 0009 and the gateway's SQL (batched rows, sums, CASE counts) on a real PostgreSQL server."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from arena.storage.models import Base
    from tests.fakes.postgres import pg_bin, throwaway_postgres

    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it as root: apt-get install postgresql)")
    monkeypatch.setenv("CANARY_KEY", CANARY)
    with throwaway_postgres() as url:
        store = Store(url)
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        arena = ArenaRow(id="A1", repo="r", base="HEAD", base_sha="0" * 40, spec={}, status="running")
        store.create_arena(arena, [ContestantRow(name="c1", model="m", strategy="s")])
        budgets = config.model_copy(update={"arena_budget": 3.0})
        gateway = Gateway(store, Path(tempfile.mkdtemp(prefix="gw-test-")), prices=PRICES, config=budgets)
        gateway.start()
        try:
            upstream.script(GPT, Fault("429"), Text("ok", prompt_tokens=1_000_000, completion_tokens=10))
            upstream.fallback(GPT, Text("ok", prompt_tokens=1_000_000, completion_tokens=10))
            key = issue(gateway, upstream)
            statuses = [post(gateway, "/v1/chat/completions", key, chat()).status_code for _ in range(3)]
            assert statuses == [200, 200, 402]
            usage = gateway.usage("A1", "c1")
            assert (usage.requests, usage.tokens_in, usage.retries, usage.errors) == (3, 2_000_000, 1, 1)
            assert usage.cost == pytest.approx(2 * usd(1_000_000, 10, PRICES[GPT]))
            assert "arena A1's budget is reached" in usage.limit_hit and gateway.budget_exhausted("A1")
            assert store.contestant(row_id(store, "A1", "c1")).tokens_in == 2_000_000
        finally:
            gateway.stop()
            store.engine.dispose()


# --- prices --------------------------------------------------------------------------------------------------------


def test_price_tables_from_a_toml_file_inline_json_and_litellms_map(tmp_path, monkeypatch):
    from arena.errors import UserError
    from arena.gateway import Prices, Tokens

    table = tmp_path / "prices.toml"
    table.write_text('["openai/fake-gpt"]\ninput = 2.0\noutput = 8.0\ncache_read = 0.5\n')
    monkeypatch.setenv("ARENA_GATEWAY_PRICES", str(table))
    tokens = Tokens(tokens_in=1000, tokens_out=100, cache_read=400)
    assert Prices.from_setting().price(GPT).cost(tokens) == pytest.approx((600 * 2 + 400 * 0.5 + 100 * 8) / 1e6)
    monkeypatch.setenv("ARENA_GATEWAY_PRICES", '{"m": {"input": 1, "output": 1}}')
    assert Prices.from_setting().price("openai/m", "m").cost(tokens) == pytest.approx(1100 / 1e6)
    assert Prices().price("gpt-4o-mini") is not None  # litellm's map, per million
    monkeypatch.setenv("ARENA_GATEWAY_PRICES", '{"m": {"inptu": 1, "output": 1}}')
    with pytest.raises(UserError, match="price table is malformed .* per million tokens"):
        Prices.from_setting()
    monkeypatch.setenv("ARENA_GATEWAY_PRICES", str(tmp_path / "missing.json"))
    with pytest.raises(UserError, match="ARENA_GATEWAY_PRICES=.*missing.json.* cannot be read"):
        Prices.from_setting()


def test_anthropic_streams_are_retried_too_and_garbage_is_retried_then_a_clear_502(gateway, upstream):
    upstream.script(CLAUDE, Fault("500"), Fault("429"), Text("third time", prompt_tokens=10, completion_tokens=2))
    key = issue(gateway, upstream, CLAUDE)
    body = {"model": "claude-fake", "messages": [{"role": "user", "content": "go"}], "stream": True}
    response = post(gateway, "/v1/messages", key, body, anthropic=True)
    assert response.status_code == 200 and events(response)[-1] == {"type": "message_stop"}
    # A 200 whose body is not JSON (a proxy's error page) is a broken upstream: retried like a 502.
    upstream.script(CLAUDE, Fault("garbage"), Text("after the garbage", prompt_tokens=10, completion_tokens=2))
    retried = post(gateway, "/v1/messages", key, body | {"stream": False}, anthropic=True)
    assert retried.status_code == 200 and retried.json()["content"][0]["text"] == "after the garbage"
    upstream.script(CLAUDE, Fault("garbage", permanent=True))
    garbage = post(gateway, "/v1/messages", key, body | {"stream": False}, anthropic=True)
    assert garbage.status_code == 502
    message = garbage.json()["error"]["message"]
    assert "upstream answered 200 with a body that is not JSON: '<html>this is not JSON</html>'" in message
    assert "after 3 attempt(s)" in message
    first, second, third = rows(gateway)
    assert (first.attempts, first.tokens_in, first.response["content"]) == (3, 10, "third time")
    assert first.error == "retried: attempt 1: upstream answered 500; attempt 2: upstream answered 429"
    assert second.attempts == 2 and "not JSON" in second.error
    assert (third.status, third.attempts, third.response) == (502, 3, None)


def test_the_gateway_adds_no_uvicorn_chatter_and_leaves_uvicorns_levels_alone(tmp_path):
    """A process logging at INFO starts a gateway and exits: none of uvicorn's server lines ("Started server process",
    "Finished server process" at exit, when pytest's stream is already closed) and no logger level changed."""
    script = f"""
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from arena.gateway import gateway_for
from arena.storage import Store
gateway_for(Store("sqlite:///{tmp_path / "a.db"}"))
print(logging.getLogger("uvicorn").level, logging.getLogger("uvicorn.access").level, logging.getLogger("uvicorn.error").level)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "0", "0"]  # NOTSET: what the process configured still holds
    assert "server process" not in done.stderr and "Uvicorn running" not in done.stderr, done.stderr
    assert "gateway serving on" in done.stderr  # its own line, at INFO
