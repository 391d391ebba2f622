"""Runners: the registry, installs, sandbox mounts, and CLI agents run for real in the local sandbox.

The CLIs are installed from npm and PyPI once into ~/.cache/arena-test-tools (a stable directory, so a second
`make test` reuses them: claude-code alone is 400 MB; ARENA_TEST_TOOLS_DIR moves it). In the end-to-end tests each
CLI runs inside a real bubblewrap sandbox with no network; its only way out is the mounted unix socket of the real
gateway (arena.gateway), which swaps its virtual key for a canary "real" key and forwards to the scripted fake
upstream (tests/fakes/openai_server.py). The fake makes the CLI change calc/ops.py and stop; the sandbox's diff must
show the change, the CLI's transcript must parse, and the canary must be nowhere in the sandbox. The plumbing tests
use a plain relay (tests/fakes/unix_relay.py) instead of the gateway, to test the mounts alone.
"""

import json
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from arena.errors import SandboxError, SetupFailed, SpecError
from arena.gateway import Gateway, GatewayConfig
from arena.runners import (
    FORWARDER_FAILED,
    GATEWAY_MOUNT,
    TOOLS_MOUNT,
    TRANSCRIPT_NAME,
    RunnerDef,
    check_limits,
    check_model_shape,
    ensure_installed,
    get_runner,
    invocation,
    load_runner_file,
    read_transcript,
    runner_names,
)
from arena.sandboxes import RepoCache, get_backend
from arena.spec import SandboxSpec
from arena.storage import ArenaRow, ContestantRow, Store
from tests.conftest import CALC_FILES, TOOLS_DIR, make_repo
from tests.fakes.openai_server import FakeOpenAI, Request, Text, ToolUse
from tests.fakes.unix_relay import UnixRelay

VIRTUAL_KEY = "vk-arena-test-0123456789"
FIXED = CALC_FILES["calc/ops.py"].replace("a - b", "a + b")
PROMPT = "calc.ops.add subtracts instead of adding; fix it in calc/ops.py.\n"
SED = "sed -i 's/a - b/a + b/' calc/ops.py"


# ---- registry ------------------------------------------------------------------------------------------------


def test_builtin_runners_are_listed_with_the_default_first():
    assert runner_names()[0] == "mini-swe-agent"
    assert {"mini-swe-agent", "claude-code", "codex", "aider"} <= set(runner_names())
    assert get_runner("mini-swe-agent").in_process
    assert get_runner("claude-code").install.npm == "@anthropic-ai/claude-code@2.1.332"
    assert get_runner("aider").install.pypi == "aider-chat==0.86.2"


def test_an_unknown_runner_is_refused_with_the_known_ones():
    with pytest.raises(SpecError) as e:
        get_runner("cursor")
    assert "unknown runner 'cursor'" in str(e.value)
    assert "claude-code" in str(e.value) and "mini-swe-agent" in str(e.value)
    assert "ARENA_RUNNERS_DIR" in str(e.value)


USER_RUNNER = """
name: hello-agent
api: openai-chat
install:
  npm: "is-number@7.0.0"
  check: "test -f {{ tools }}/node_modules/is-number/package.json"
command: echo "model={{ model }} base={{ base_url }}" {{ extra }}
options:
  effort: "--effort={{ value | q }}"
transcript:
  format: text
"""


def test_a_user_runner_is_one_yaml_file_in_the_runners_dir(tmp_path, monkeypatch):
    (tmp_path / "hello-agent.yaml").write_text(USER_RUNNER)
    monkeypatch.setenv("ARENA_RUNNERS_DIR", str(tmp_path))
    assert "hello-agent" in runner_names()
    runner = get_runner("hello-agent")
    command = invocation(
        runner,
        model="m1",
        prompt_path="/tmp/p.md",
        base_url="http://127.0.0.1:4141",
        key=VIRTUAL_KEY,
        options={"effort": "high", "flags": ["--x", "two words"]},
        tools_path=f"{TOOLS_MOUNT}/hello-agent",
        gateway_socket=f"{GATEWAY_MOUNT}/gateway.sock",
    )
    assert "echo \"model=m1 base=http://127.0.0.1:4141\" --effort=high --x 'two words'" in command
    assert read_transcript(runner, b"all of it") == [{"role": "assistant", "content": "all of it"}]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (USER_RUNNER.replace("is-number@7.0.0", "is-number"), "install: Value error, npm: 'is-number' must be pinned"),
        (USER_RUNNER.replace("format: text", "format: jsonl"), "transcript.format 'jsonl' is not a known parser"),
        (USER_RUNNER.replace("command:", "comand:"), "comand: Extra inputs are not permitted"),
        (USER_RUNNER.replace("api: openai-chat", "api: grpc"), "api: Input should be"),
        ("name: x\napi: anthropic\n", "a CLI runner needs `install` and `command`"),
        ("- just\n- a list\n", "expected a mapping"),
        ("name: [unclosed\n", "cannot be read as YAML"),
        (USER_RUNNER + "leaves: [../elsewhere]\n", "leaves: '../elsewhere' must be a path inside the workspace"),
        (USER_RUNNER + "leaves: [/etc]\n", "leaves: '/etc' must be a path inside the workspace"),
    ],
)
def test_a_bad_runner_file_names_the_file_and_the_field(tmp_path, text, named):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as e:
        load_runner_file(path)
    assert str(path) in str(e.value)
    assert named in str(e.value)


def test_an_unknown_option_or_a_bad_template_is_a_clear_error(tmp_path):
    runner = get_runner("claude-code")
    args = dict(
        model="m", prompt_path="/tmp/p", base_url="http://127.0.0.1:1", key="k", tools_path="/t", gateway_socket="/s"
    )
    with pytest.raises(SpecError, match="runner claude-code has no option 'temperature'; its options: flags, effort"):
        invocation(runner, options={"temperature": 0}, **args)
    with pytest.raises(SpecError, match="option `flags` must be a list"):
        invocation(runner, options={"flags": "--yolo"}, **args)
    broken = runner.model_copy(update={"command": "{{ modle }}"})
    with pytest.raises(SpecError, match="command does not render: 'modle' is undefined"):
        invocation(broken, options={}, **args)
    with pytest.raises(SpecError, match="must be http://127.0.0.1:<port>"):
        invocation(runner, options={}, **(args | {"base_url": "https://api.anthropic.com"}))


# ---- install -------------------------------------------------------------------------------------------------


def test_parallel_installs_of_one_runner_install_once(tmp_path, monkeypatch):
    (tmp_path / "runners").mkdir()
    (tmp_path / "runners" / "hello-agent.yaml").write_text(USER_RUNNER)
    monkeypatch.setenv("ARENA_RUNNERS_DIR", str(tmp_path / "runners"))
    runner, tools = get_runner("hello-agent"), tmp_path / "tools"
    said: list[str] = []
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_installed(runner, tools, said.append))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [tools / "is-number-7.0.0"] * 4
    assert [s for s in said if s.startswith("installing")] == [
        f"installing runner hello-agent (is-number@7.0.0) into {results[0]}"
    ]
    assert (results[0] / "node_modules" / "is-number" / "package.json").exists()
    assert (tools / "is-number-7.0.0.log").read_text().count("$ npm install") == 1
    started = time.monotonic()
    assert ensure_installed(runner, tools) == results[0]
    assert time.monotonic() - started < 0.1


def test_a_failed_install_says_which_package_and_shows_the_log(tmp_path, monkeypatch):
    (tmp_path / "runners").mkdir()
    (tmp_path / "runners" / "hello-agent.yaml").write_text(USER_RUNNER.replace("7.0.0", "999.0.0"))
    monkeypatch.setenv("ARENA_RUNNERS_DIR", str(tmp_path / "runners"))
    with pytest.raises(SetupFailed) as e:
        ensure_installed(get_runner("hello-agent"), tmp_path / "tools")
    assert "installing runner hello-agent (is-number@999.0.0) failed" in str(e.value)
    assert "ETARGET" in str(e.value) or "No matching version" in str(e.value)
    assert not (tmp_path / "tools" / "is-number-999.0.0" / ".arena-installed").exists()


# ---- sandbox mounts --------------------------------------------------------------------------------------------


@pytest.fixture
def task(tmp_path):
    """A prepared calc task on the local backend, and a way to make sandboxes of it."""
    repo = tmp_path / "repo"
    sha = make_repo(repo, CALC_FILES)
    limits = SandboxSpec(backend="local", command_timeout_s=300)
    backend = get_backend(limits, RepoCache(tmp_path / "cache"))
    backend.check_available()
    prepared = backend.prepare(str(repo), sha, None, tmp_path / "runs" / "setup.log")
    made = []

    def create(name: str, mounts=(), uid: int = 1_600_001, memory_mb: int | None = None):
        chosen, task = backend, prepared
        if memory_mb is not None:  # the same checkout (already prepared), other limits
            chosen = get_backend(limits.model_copy(update={"memory_mb": memory_mb}), backend.repos)
            task = chosen.prepare(str(repo), sha, None, tmp_path / "runs" / "setup.log")
        box = chosen.create(task, tmp_path / "runs" / name, uid, mounts=mounts)
        made.append(box)
        return box

    yield create
    for box in made:
        box.close()


@pytest.fixture
def upstream(tmp_path):
    """The fake LLM upstream and a unix socket relaying to it (the gateway's stand-in), in a dir to mount."""
    with FakeOpenAI() as fake, UnixRelay(tmp_path / "gateway", fake.port) as relay:
        yield fake, relay


PROBE = RunnerDef(
    name="probe",
    api="openai-chat",
    install={"npm": "is-number@7.0.0", "check": "true"},
    command="/usr/bin/python3 -c \"import urllib.request; print(urllib.request.urlopen('{{ base_url }}/v1/models').read().decode())\"",
)


def probe_command(tools_path: str) -> str:
    """PROBE's command line, with the gateway socket where the tests mount it."""
    return invocation(
        PROBE,
        model="m",
        prompt_path="/tmp/none",
        base_url="http://127.0.0.1:4141",
        key=VIRTUAL_KEY,
        options={},
        tools_path=tools_path,
        gateway_socket=f"{GATEWAY_MOUNT}/gateway.sock",
    )


def test_a_sandbox_reaches_the_gateway_socket_and_nothing_else(task, upstream, tmp_path):
    fake, relay = upstream
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "marker").write_text("tool\n")
    box = task("a", mounts=[(tools, f"{TOOLS_MOUNT}/probe"), (relay.path.parent, GATEWAY_MOUNT)])
    command = probe_command(f"{TOOLS_MOUNT}/probe")
    result = box.execute(command)
    assert result.returncode == 0, result.output
    assert json.loads(box.download(TRANSCRIPT_NAME)) == {"object": "list", "data": fake_models(fake)}
    assert relay.connections == 1
    # The mounts are read-only; the fake upstream's own TCP port (on the host) is not reachable.
    reach = f"/usr/bin/python3 -c \"import socket; socket.create_connection(('127.0.0.1', {fake.port}), timeout=3)\""
    checks = box.execute(f"cat {TOOLS_MOUNT}/probe/marker; touch {TOOLS_MOUNT}/probe/x; {reach}")
    assert checks.output.startswith("tool\n")
    assert "Read-only file system" in checks.output
    assert "ConnectionRefusedError" in checks.output
    assert not (tools / "x").exists()
    # diff() sees no mounts (they are never part of a patch).
    assert box.diff() == b""


def fake_models(fake: FakeOpenAI) -> list:
    with socket.create_connection(("127.0.0.1", fake.port)) as s:
        s.sendall(b"GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])["data"]


def test_a_forwarder_that_cannot_start_is_its_own_exit_code(task, upstream):
    _, relay = upstream
    box = task("a", mounts=[(relay.path.parent, GATEWAY_MOUNT)])
    squat = "/usr/bin/python3 -c 'import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\", 4141)); s.listen(); time.sleep(30)' &\nsleep 0.5\n"
    command = probe_command("/nowhere")
    result = box.execute(squat + command)
    assert result.returncode == FORWARDER_FAILED
    assert "the gateway forwarder did not start on 127.0.0.1:4141" in result.output
    assert "Address already in use" in result.output


def test_mount_targets_are_checked(task, tmp_path):
    with pytest.raises(SandboxError, match="must be an absolute path under /arena/"):
        task("a", mounts=[(tmp_path, "/usr/local/evil")])
    with pytest.raises(SandboxError, match="does not exist on the host"):
        task("b", mounts=[(tmp_path / "missing", "/arena/tools/x")])


def test_unsafe_local_maps_mount_paths_to_host_paths(tmp_path):
    repo = tmp_path / "repo"
    sha = make_repo(repo, CALC_FILES)
    backend = get_backend(SandboxSpec(backend="unsafe-local"), RepoCache(tmp_path / "cache"))
    prepared = backend.prepare(str(repo), sha, None, tmp_path / "runs" / "setup.log")
    tools = tmp_path / "tools"
    tools.mkdir()
    box = backend.create(prepared, tmp_path / "runs" / "a", 1, mounts=[(tools, f"{TOOLS_MOUNT}/aider")])
    assert box.path_of(f"{TOOLS_MOUNT}/aider/venv/bin/python") == f"{tools}/venv/bin/python"
    assert box.path_of("/arena/toolsX") == "/arena/toolsX"
    assert box.path_of("/tmp/arena-prompt.md") == box.upload("arena-prompt.md", b"task")


def test_a_cli_runs_on_unsafe_local_through_mapped_paths(tmp_path, gateway):
    """No mounts there: the command gets host paths (path_of) and the forwarder a free port on the host's loopback."""
    repo = tmp_path / "repo"
    sha = make_repo(repo, CALC_FILES)
    backend = get_backend(SandboxSpec(backend="unsafe-local", command_timeout_s=300), RepoCache(tmp_path / "cache"))
    prepared = backend.prepare(str(repo), sha, None, tmp_path / "runs" / "setup.log")
    runner = get_runner("claude-code")
    tools = ensure_installed(runner, TOOLS_DIR)
    mounts = [(tools, f"{TOOLS_MOUNT}/claude-code"), (gateway.socket_dir, GATEWAY_MOUNT)]
    box = backend.create(prepared, tmp_path / "runs" / "a", 1, mounts=mounts)
    with FakeOpenAI() as fake, socket.socket() as free:
        fake.script_when("claude-sonnet-4-5", _first_call, ToolUse("Bash", {"command": SED}))
        fake.fallback("claude-sonnet-4-5", Text("Fixed."))
        row = next(c.id for c in gateway.store.arena("R1").contestants if c.name == "claude-code")
        key = gateway.issue_key(
            "R1",
            "claude-code",
            row,
            model="anthropic/claude-sonnet-4-5",
            api_base=fake.url,
            api_key_env="CANARY_KEY",
            cost_limit=0,
        )
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        free.close()
        command = invocation(
            runner,
            model="claude-sonnet-4-5",
            prompt_path=box.upload("arena-prompt.md", PROMPT.encode()),
            base_url=f"http://127.0.0.1:{port}",
            key=key,
            options={},
            tools_path=box.path_of(f"{TOOLS_MOUNT}/claude-code"),
            gateway_socket=box.path_of(f"{GATEWAY_MOUNT}/{gateway.socket_path.name}"),
            tmp=box.path_of("/tmp"),
        )
        result = box.execute(command)
    assert result.returncode == 0, result.output
    assert "+    return a + b" in box.diff().decode()
    assert read_transcript(runner, box.download(TRANSCRIPT_NAME))[-1]["content"] == "Fixed."


def test_e2b_refuses_mounts_with_the_reason(tmp_path):
    from arena.sandboxes.e2b import E2BBackend

    backend = E2BBackend(RepoCache(tmp_path / "cache"), SandboxSpec(backend="e2b"), sdk=object)
    with pytest.raises(SandboxError, match="CLI runners .* need `sandbox: \\{backend: local\\}`"):
        backend.create(None, tmp_path, 1, mounts=[(tmp_path, "/arena/tools/x")])


# ---- the CLIs, for real, through the gateway -------------------------------------------------------------------

CANARY = "sk-canary-real-provider-key-7f3a9c"


@pytest.fixture
def gateway(tmp_path, monkeypatch):
    """The real LLM gateway (arena.gateway) on a short socket dir, one arena with one contestant per CLI."""
    monkeypatch.setenv("CANARY_KEY", CANARY)
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    arena = ArenaRow(id="R1", repo="r", base="HEAD", base_sha="0" * 40, spec={}, status="running")
    store.create_arena(
        arena,
        [
            ContestantRow(name=n, model="m", strategy="s")
            for n in ("claude-code", "codex", "aider", "opencode", "gemini-cli")
        ],
    )
    config = GatewayConfig.from_env(attempts=1, wait_s=0.01, timeout_s=30.0, arena_budget=0.0, daily_budget=0.0)
    gateway = Gateway(store, Path(tempfile.mkdtemp(prefix="gw-runners-")), config=config)
    gateway.start()
    yield gateway
    gateway.stop()
    shutil.rmtree(gateway.socket_dir, ignore_errors=True)


def run_cli(name: str, task, gateway: Gateway, fake: FakeOpenAI, model: str, options: dict | None = None):
    """Install `name`, run it on the calc task in a fresh sandbox with a virtual key; (result, diff, messages)."""
    runner = get_runner(name)
    tools = ensure_installed(runner, TOOLS_DIR)
    row = next(c.id for c in gateway.store.arena("R1").contestants if c.name == name)
    base = fake.api_base if model.startswith("openai/") else fake.url
    key = gateway.issue_key("R1", name, row, model=model, api_base=base, api_key_env="CANARY_KEY", cost_limit=0)
    mounts = [(tools, f"{TOOLS_MOUNT}/{name}"), (gateway.socket_dir, GATEWAY_MOUNT)]
    box = task(name, mounts=mounts, memory_mb=max(runner.min_memory_mb, 4096))
    prompt = box.upload("arena-prompt.md", PROMPT.encode())
    command = invocation(
        runner,
        model=model.split("/", 1)[1],
        prompt_path=prompt,
        base_url="http://127.0.0.1:4141",
        key=key,
        options=options or {},
        tools_path=f"{TOOLS_MOUNT}/{name}",
        gateway_socket=f"{GATEWAY_MOUNT}/{gateway.socket_path.name}",
    )
    assert CANARY not in command
    result = box.execute(command, timeout=300)
    print("OUT", command, result.returncode, result.output[-3000:])
    transcript = box.download(TRANSCRIPT_NAME) or b""
    # The real key went upstream and nowhere else: not into the sandbox's environment, files or output.
    leaked = box.execute(f"cat /proc/*/environ 2>/dev/null; env; grep -rl {CANARY} /tmp /workspace 2>/dev/null; true")
    assert CANARY not in leaked.output + result.output and CANARY.encode() not in transcript
    keys = ("x-api-key", "x-goog-api-key", "authorization")
    assert fake.requests and all(
        next(r.headers[k] for k in keys if k in r.headers).endswith(CANARY) for r in fake.requests
    )
    usage = gateway.usage("R1", name)
    assert usage.requests == len(fake.requests) and usage.tokens_in > 0
    return result, box.diff().decode(), read_transcript(runner, transcript)


def _first_call(request: Request) -> bool:
    """The CLI's first model turn: it has tools and nothing has been run yet."""
    text = json.dumps(request.body)
    answers = ("tool_result", "function_call_output", "functionResponse")
    return bool(request.body.get("tools")) and not any(answer in text for answer in answers)


def tool_calls(messages: list[dict]) -> list[dict]:
    return [c for m in messages if m["role"] == "assistant" for c in m.get("tool_calls", [])]


def test_claude_code_fixes_the_task_in_the_sandbox(task, gateway):
    with FakeOpenAI() as fake:
        fix = ToolUse("Bash", {"command": SED, "description": "fix add"})
        fake.script_when("claude-sonnet-4-5", _first_call, fix)
        fake.fallback("claude-sonnet-4-5", Text("Fixed: add now adds."))
        result, diff, messages = run_cli("claude-code", task, gateway, fake, "anthropic/claude-sonnet-4-5")
        assert {r.path.split("?")[0] for r in fake.requests} == {"/v1/messages"}
    assert result.returncode == 0, result.output
    assert "-    return a - b\n+    return a + b" in diff
    assert tool_calls(messages)[0]["function"]["name"] == "Bash"
    assert "sed -i" in json.loads(tool_calls(messages)[0]["function"]["arguments"])["command"]
    assert any(m["role"] == "tool" for m in messages)
    assert messages[-1]["role"] == "assistant" and messages[-1]["content"] == "Fixed: add now adds."


def test_aider_fixes_the_task_in_the_sandbox(task, gateway):
    with FakeOpenAI() as fake:
        fake.script("fake-aider", Text(f"Here is the fix.\n\ncalc/ops.py\n```\n{FIXED}```\n"))
        result, diff, messages = run_cli("aider", task, gateway, fake, "openai/fake-aider", {"edit_format": "whole"})
        assert [r.path for r in fake.requests] == ["/v1/chat/completions"]
    assert result.returncode == 0, result.output
    assert "-    return a - b\n+    return a + b" in diff
    assert messages[0] == {"role": "user", "content": PROMPT.strip()}
    assert any(m["role"] == "assistant" and "calc/ops.py\n```\ndef add" in m["content"] for m in messages)
    assert any(m["role"] == "user" and "Applied edit to calc/ops.py" in m["content"] for m in messages)


def test_codex_fixes_the_task_in_the_sandbox(task, gateway):
    with FakeOpenAI() as fake:
        fake.script_when("fake-codex", _first_call, ToolUse("exec_command", {"cmd": SED}))
        fake.fallback("fake-codex", Text("Fixed."))
        result, diff, messages = run_cli("codex", task, gateway, fake, "openai/fake-codex")
        assert {r.path for r in fake.requests} == {"/v1/responses"}
    assert result.returncode == 0, result.output
    assert "-    return a - b\n+    return a + b" in diff
    assert "sed -i" in json.loads(tool_calls(messages)[0]["function"]["arguments"])["command"]
    assert messages[-1]["content"] == "Fixed."


def test_opencode_fixes_the_task_in_the_sandbox(task, gateway):
    with FakeOpenAI() as fake:
        fake.script_when("fake-oc", _first_call, ToolUse("bash", {"command": SED, "description": "fix add"}))
        fake.fallback("fake-oc", Text("Fixed."))  # also its session title (a request without tools)
        result, diff, messages = run_cli("opencode", task, gateway, fake, "openai/fake-oc")
        assert {r.path for r in fake.requests} == {"/v1/chat/completions"}
    assert result.returncode == 0, result.output
    assert "-    return a - b\n+    return a + b" in diff
    assert tool_calls(messages)[0]["function"]["name"] == "bash"
    assert json.loads(tool_calls(messages)[0]["function"]["arguments"])["command"] == SED
    assert messages[1]["role"] == "tool" and not messages[1]["content"].startswith("[error]")
    assert messages[-1]["content"] == "Fixed."


def test_gemini_cli_fixes_the_task_in_the_sandbox(task, gateway):
    with FakeOpenAI() as fake:
        fake.script_when("gemini-2.5-flash", _first_call, ToolUse("run_shell_command", {"command": SED}))
        fake.fallback("gemini-2.5-flash", Text("Fixed."))
        result, diff, messages = run_cli("gemini-cli", task, gateway, fake, "gemini/gemini-2.5-flash")
        assert {r.path for r in fake.requests} == {"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"}
    assert result.returncode == 0, result.output
    assert "-    return a - b\n+    return a + b" in diff
    assert messages[0] == {"role": "user", "content": PROMPT.strip()}
    assert tool_calls(messages)[0]["function"]["name"] == "run_shell_command"
    assert json.loads(tool_calls(messages)[0]["function"]["arguments"])["command"] == SED
    assert messages[2]["role"] == "tool" and messages[2]["extra"] == {}
    assert messages[-1] == {"role": "assistant", "content": "Fixed.", "extra": {}}


def test_a_sandbox_below_a_runners_memory_is_refused():
    check_limits(get_runner("claude-code"), 4096)
    with pytest.raises(SpecError, match="runner claude-code needs sandbox memory_mb >= 2048 .* the spec gives 1024"):
        check_limits(get_runner("claude-code"), 1024)


def test_transcripts_survive_a_cli_killed_mid_line_and_keep_its_errors():
    claude = (
        b'{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"Looking."}]}}\n'
        b'{"type":"result","is_error":true,"subtype":"success","result":"API Error: 402 spend cap reached"}\n'
        b'{"type":"assistant","message":{"id":"m2","content":[{"type":"te'
    )
    assert read_transcript(get_runner("claude-code"), claude) == [
        {"role": "assistant", "content": "Looking.", "extra": {}},
        {"role": "user", "content": "[claude-code: success] API Error: 402 spend cap reached"},
    ]
    codex = b'{"type":"turn.failed","error":{"message":"unexpected status 402 Payment Required"}}\n{"type":"item.comp'
    assert read_transcript(get_runner("codex"), codex) == [
        {"role": "user", "content": "[codex: turn failed] unexpected status 402 Payment Required"}
    ]
    assert read_transcript(
        get_runner("aider"), b"# aider chat started at 2026\n> Aider v0.86.2\n#### fix it\n\nOn it"
    ) == [
        {"role": "user", "content": "fix it"},
        {"role": "assistant", "content": "On it"},
    ]
    assert read_transcript(
        get_runner("opencode"), b'{"type":"error","error":{"name":"APIError","data":{"message":"402"}}}'
    ) == [{"role": "user", "content": "[opencode] 402"}]
    gemini = (
        b'{"type":"message","role":"assistant","content":"Look","delta":true}\n'
        b'{"type":"message","role":"assistant","content":"ing.","delta":true}\n'
        b'{"type":"result","status":"error","error":{"type":"Error","message":"402 spend cap reached"}}\n'
        b'{"type":"tool_use","tool_na'
    )
    assert read_transcript(get_runner("gemini-cli"), gemini) == [
        {"role": "assistant", "content": "Looking.", "extra": {}},
        {"role": "user", "content": "[gemini-cli] 402 spend cap reached"},
    ]


def test_a_runner_gets_only_models_in_its_own_api():
    check_model_shape(get_runner("claude-code"), "anthropic", "anthropic/claude-sonnet-4-5")
    check_model_shape(get_runner("codex"), "openai", "openai/gpt-5")
    check_model_shape(get_runner("mini-swe-agent"), "anthropic", "anthropic/claude-sonnet-4-5")
    with pytest.raises(SpecError, match="runner aider speaks the openai-chat API, but anthropic/claude-x is served in"):
        check_model_shape(get_runner("aider"), "anthropic", "anthropic/claude-x")
    check_model_shape(get_runner("gemini-cli"), "gemini", "gemini/gemini-2.5-pro")
    with pytest.raises(SpecError, match="give gemini-cli a model like gemini/gemini-2.5-pro"):
        check_model_shape(get_runner("gemini-cli"), "openai", "openai/gpt-5")
    with pytest.raises(SpecError, match="give claude-code a model like anthropic/claude-sonnet-4-5"):
        check_model_shape(get_runner("claude-code"), "openai", "openai/gpt-5")
