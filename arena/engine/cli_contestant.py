"""A contestant played by a CLI agent (Claude Code, aider, ...): one long command in its sandbox, every model call
through the host's gateway.

    gateway.issue_key ── the runner installed once (tools dir) ── sandbox with the tools and the gateway's socket
      ── the prompt (strategy persona + problem + instructions) uploaded ── the CLI, until it exits or is stopped
      ── its transcript + the gateway's request log ── one trajectory (messages in our schema) ── key revoked

While it runs, a watcher copies the gateway's request log into the shared store as the contestant's steps, so
Live shows each model call (tokens, cost) as it happens; the gateway itself keeps the row's cost and tokens. At the
end the runner's own transcript (what it did with each answer: edits, commands, their output) replaces those
steps. The real provider key stays in this process: the sandbox sees a virtual key that only the gateway takes,
only for this contestant's model, and only until this contestant ends (arena/gateway).

Exit statuses, in the vocabulary of arena/trajectory/exit_status.py:
    Submitted        the CLI exited 0 (it says it is done by exiting)
    LimitsExceeded   the gateway refused a call with 402 (its cost limit, the arena's or the day's budget)
    TimedOut         its wall time or the arena's time budget ran out (the command was killed)
    Cancelled        cancelled from outside
    APIError         the CLI failed after the gateway's last upstream attempt failed too
    RunnerError      the CLI exited with another code (the error names it, with its output's tail)
"""

import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
from platformdirs import user_cache_dir

from arena.agentfiles import Strategy
from arena.artifacts import TRAJECTORY_INFO
from arena.config import APP_NAME, setting
from arena.gateway import Gateway
from arena.identity import split_identity
from arena.llm import import_litellm
from arena.protocols import ExecResult, PreparedTask, SandboxBackend
from arena.runners import (
    GATEWAY_MOUNT,
    TOOLS_MOUNT,
    TRANSCRIPT_NAME,
    ensure_installed,
    get_runner,
    invocation,
    read_transcript,
)
from arena.sandboxes import sandbox_uid
from arena.storage import Store

PROMPT_FILE = "arena-prompt.md"
FORWARDER_URL = "http://127.0.0.1:4141"
"""Where the CLI finds the gateway: a forwarder on the sandbox's own loopback (each command has its own network
namespace, so every contestant can use the same port)."""
LIVE_POLL_S = 1.0


def prompt_text(problem_statement: str, strategy: Strategy) -> str:
    """What a CLI agent is told: the strategy's persona, the issue, the strategy's instructions, the ground rules.

    The same strategy text mini-swe-agent gets in its templates (arena/agents/strategies.py), so a strategy means
    the same thing on every runner.
    """
    parts = [strategy.persona.strip()] if strategy.persona.strip() else []
    parts.append("Fix the following issue in the repository in the current directory.\n\n" + problem_statement.strip())
    if strategy.instructions.strip():
        parts.append(strategy.instructions.strip())
    parts.append(
        "Edit the files in place. Do not commit, push or create branches: your changes are collected as a diff "
        "of the working tree when you exit. Stop when the issue is fixed."
    )
    return "\n\n".join(parts) + "\n"


def tools_dir() -> Path:
    """Where CLI runners are installed, once per machine and version (ARENA_TOOLS_DIR, else the user's cache dir)."""
    configured = setting("ARENA_TOOLS_DIR")
    return Path(configured).expanduser() if configured else Path(user_cache_dir(APP_NAME, appauthor=False)) / "tools"


@dataclass
class CliOutcome:
    """What the CLI run left: the fields for the contestant's row and the trajectory's messages."""

    fields: dict[str, Any] = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)


def run_cli_contestant(
    store: Store,
    arena_id: str,
    c: Any,
    backend: SandboxBackend,
    prepared: PreparedTask,
    gateway: Gateway,
    problem_statement: str,
    time_left_s: float,
) -> CliOutcome:
    """Run contestant `c` (an arena.engine.contestant.ContestantRun) with its CLI runner; the caller collects the
    patch and writes the row. Raises SpecError/SetupFailed before the CLI starts when it cannot."""
    runner = get_runner(c.spec.runner)
    strategy = c.spec.read_strategy()
    installed = ensure_installed(runner, tools_dir())
    key = contestant_key(gateway, arena_id, c)
    try:
        tools_path, socket_dir = f"{TOOLS_MOUNT}/{runner.name}", GATEWAY_MOUNT
        mounts = [(installed, tools_path), (gateway.socket_path.parent, socket_dir)]
        c.sandbox = backend.create(prepared, c.run_dir / "sandbox", sandbox_uid(arena_id, c.spec.name), mounts=mounts)
        seen = getattr(c.sandbox, "path_of", lambda path: path)  # unsafe-local has no mounts: the host paths
        if c.stop.reason:
            c.sandbox.cancel()
        prompt = prompt_text(problem_statement, strategy)
        prompt_path = c.sandbox.upload(PROMPT_FILE, prompt.encode())
        command = invocation(
            runner,
            model=_model_for_cli(c.spec.model),
            prompt_path=prompt_path,
            base_url=FORWARDER_URL if not hasattr(c.sandbox, "path_of") else _free_host_url(),
            key=key,
            options=c.spec.runner_options,
            tools_path=seen(tools_path),
            gateway_socket=seen(f"{socket_dir}/{gateway.socket_path.name}"),
            tmp=seen("/tmp"),
        )
        limit = c.spec.wall_time_limit_s or time_left_s
        watcher = _LiveSteps(store, gateway, arena_id, c)
        watcher.start()
        started = time.monotonic()
        try:
            result = c.sandbox.execute(command, timeout=max(1.0, limit))
        finally:
            watcher.finish()
        transcript = c.sandbox.download(TRANSCRIPT_NAME) or b""
    finally:
        gateway.revoke(arena_id, c.spec.name)
    usage = gateway.usage(arena_id, c.spec.name)
    log = request_log(gateway, arena_id, c.spec.name)
    messages = _trajectory_messages(prompt, read_transcript(runner, transcript), result)
    failed = [r["error"] or f"HTTP {r['status']}" for r in log if r["status"] >= 400]
    exit_status, error = _exit_status(result, usage, c.stop.reason, failed[-1] if failed else None)
    fields: dict[str, Any] = {
        "exit_status": exit_status,
        "steps": usage.requests,
        "cost": usage.cost,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
    }
    if error:
        fields["error"] = error
    info = {
        "arena": {
            "arena_id": arena_id,
            "contestant": c.spec.name,
            "runner": runner.name,
            "model": split_identity(c.agent)[0],
            "strategy": split_identity(c.agent)[1],
            "agent": c.agent,
        },
        "exit_status": exit_status,
        "submission": "",
        "model_stats": {
            "instance_cost": usage.cost,
            "api_calls": usage.requests,
            "tokens_in": usage.tokens_in,
            "tokens_out": usage.tokens_out,
            "cache_read_tokens": usage.cache_read,
            "cache_write_tokens": usage.cache_write,
        },
        "runner": {
            "name": runner.name,
            "exit_code": result.returncode,
            "duration_s": round(time.monotonic() - started, 3),
            "output_tail": result.output[-4000:],
        },
        "gateway": log,
    }
    data = {"trajectory_format": "mini-swe-agent-1.1", "messages": messages, "info": info}
    store.replace_steps(arena_id, c.spec.name, c.attempt, messages)
    info_part = {"trajectory_format": data["trajectory_format"], "info": info}
    store.put_artifact(arena_id, c.spec.name, TRAJECTORY_INFO, orjson.dumps(info_part, default=str))
    _write_json(c.run_dir / "traj.json", data)
    return CliOutcome(fields=fields, messages=messages)


def contestant_key(gateway: Gateway, arena_id: str, c: Any) -> str:
    """The contestant's virtual key: its model only, its cost limit, until it ends (gateway.revoke)."""
    return gateway.issue_key(
        arena_id,
        c.spec.name,
        c.row_id,
        model=c.spec.model,
        api_base=c.spec.api_base,
        api_key_env=c.spec.api_key_env,
        cost_limit=c.spec.cost_limit,
    )


def _free_host_url() -> str:
    """unsafe-local shares the host's network: each contestant's forwarder needs a port of its own."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _model_for_cli(model: str) -> str:
    """The model as the CLI names it to the gateway: the provider's own name (litellm's `anthropic/` prefix off)."""
    return import_litellm().get_llm_provider(model)[0]


def _trajectory_messages(prompt: str, transcript: list[dict], result: ExecResult) -> list[dict]:
    """The task as the CLI was given it, then its transcript (which may start with the task itself, as aider's does)."""
    told = bool(transcript) and transcript[0].get("role") == "user"
    messages = [*([] if told else [{"role": "user", "content": prompt}]), *transcript]
    if not transcript:  # a CLI that wrote no transcript still leaves its output
        messages.append({"role": "user", "content": result.output[-20_000:], "extra": {"raw_output": result.output}})
    return messages


def _exit_status(
    result: ExecResult, usage: Any, stopped: str | None, last_failure: str | None
) -> tuple[str, str | None]:
    if stopped:
        return {"cancelled": "Cancelled", "timed_out": "TimedOut"}.get(stopped, "Cancelled"), None
    if usage.limit_hit:
        return "LimitsExceeded", usage.limit_hit
    if result.timed_out:
        return "TimedOut", None
    if result.returncode == 0:
        return "Submitted", None
    tail = result.output.strip()[-1500:]
    if last_failure:
        return "APIError", f"the CLI exited {result.returncode} after a failed model call: {last_failure}"
    return "RunnerError", f"the CLI exited with code {result.returncode}: {tail}"


class _LiveSteps:
    """Copies the gateway's request log into the shared store's steps as the CLI runs (what Live shows)."""

    def __init__(self, store: Store, gateway: Gateway, arena_id: str, c: Any):
        self.store, self.gateway, self.arena_id, self.c = store, gateway, arena_id, c
        self._done = threading.Event()
        self._kept = 0
        self._thread = threading.Thread(target=self._run, name=f"live-{c.spec.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._done.wait(LIVE_POLL_S):
            self._copy()

    def _copy(self) -> None:
        log = request_log(self.gateway, self.arena_id, self.c.spec.name)
        new = [_request_message(r) for r in log[self._kept :]]
        if new:
            self.store.append_steps(self.arena_id, self.c.spec.name, self.c.attempt, self._kept, new)
            self._kept = len(log)
            self.store.update_contestant(self.c.row_id, steps=self._kept)


def request_log(gateway: Gateway, arena_id: str, contestant: str) -> list[dict]:
    """The contestant's gateway requests as plain dicts (kept in its trajectory's info; what Live shows)."""
    return [
        {
            "route": r.route,
            "model": r.model,
            "status": r.status,
            "attempts": r.attempts,
            "tokens_in": r.tokens_in,
            "tokens_out": r.tokens_out,
            "cache_read": r.cache_read,
            "cache_write": r.cache_write,
            "cost": r.cost,
            "latency_ms": r.latency_ms,
            "first_byte_ms": r.first_byte_ms,
            "error": r.error,
            "timestamp": r.started_at.replace(tzinfo=UTC).timestamp() if r.started_at else None,
            "response": r.response,
        }
        for r in gateway.requests(arena_id, contestant)
    ]


def _request_message(request: dict) -> dict:
    """One gateway request as an assistant message: what the model answered (its text, the tools it called), with
    its tokens and cost."""
    response = request.get("response") or {}
    calls = response.get("tool_calls") or []
    return {
        "role": "assistant",
        "content": response.get("content") or (request.get("error") or ""),
        "extra": {
            "actions": [
                {"command": f"{c.get('name')} {c.get('arguments')}", "tool_call_id": c.get("id")} for c in calls
            ],
            "cost": request.get("cost"),
            "prompt_tokens": request.get("tokens_in"),
            "completion_tokens": request.get("tokens_out"),
            "timestamp": request.get("timestamp"),
            "gateway": {k: request.get(k) for k in ("status", "latency_ms", "cache_read", "cache_write", "error")},
        },
    }


def _write_json(path: Path, data: dict) -> None:
    from arena.trajectory import write_json_atomic

    write_json_atomic(path, data)
