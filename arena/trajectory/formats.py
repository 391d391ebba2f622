"""The format adapters: mini-swe-agent v1 / v2 / mini-like, SWE-agent, OpenHands -> one Trajectory."""

import contextlib
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from arena.trajectory.schema import Step, Trajectory

FORMATS = ("mini-swe-agent-1", "mini-swe-agent-1.1", "mini-like", "swe-agent", "openhands")

# mini-swe-agent v1's own action regex (plus the v2 text-mode fence name).
ACTION_FENCE = re.compile(r"```(?:bash|mswea_bash_command)\s*\n(.*?)\n```", re.DOTALL)
TAGGED_OUTPUT = re.compile(r"\s*<returncode>(-?\d+)</returncode>\s*(.*)", re.DOTALL)
OUTPUT_BLOCK = re.compile(r"<output>\n?(.*?)\n?</output>\s*", re.DOTALL)
THOUGHT_LABEL = re.compile(r"^THOUGHT:\s*")  # mini-swe-agent's prompts ask for it; boilerplate in a viewer
# OpenHands events that are bookkeeping, not agent turns.
OPENHANDS_NON_STEPS = {"system", "change_agent_state", "recall", "null"}


def detect_format(data: Any) -> str | None:
    """The format name of parsed trajectory JSON, or None."""
    if isinstance(data, list):
        return "openhands" if data and all(isinstance(e, dict) and "source" in e for e in data) else None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("messages"), list):
        fmt = data.get("trajectory_format")
        if fmt in ("mini-swe-agent-1", "mini-swe-agent-1.1"):
            return fmt
        return "mini-like" if fmt is None else None
    if isinstance(data.get("trajectory"), list):
        return "swe-agent"
    events = data.get("history") or data.get("events")
    if isinstance(events, list) and events and all(isinstance(e, dict) and "source" in e for e in events):
        return "openhands"
    return None


# ---- mini-swe-agent v1 / v2 / mini-like ------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _reasoning(message: dict) -> str:
    for source in (message, _response_message(message)):
        for name in ("reasoning_content", "reasoning"):
            if isinstance(source.get(name), str) and source[name].strip():
                return source[name].strip()
    return ""


def _response_message(message: dict) -> dict:
    response = (message.get("extra") or {}).get("response") or {}
    choices = response.get("choices") if isinstance(response, dict) else None
    if choices and isinstance(choices[0], dict):
        return choices[0].get("message") or {}
    return {}


def _tool_command(call: dict) -> str:
    function = call.get("function") or {}
    raw = function.get("arguments", "")
    try:
        args = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError:
        return str(raw)
    if not isinstance(args, dict):
        return str(raw)
    for name in ("command", "bash_command", "cmd", "code"):
        if isinstance(args.get(name), str):
            return args[name]
    strings = [v for v in args.values() if isinstance(v, str)]
    return strings[0] if len(strings) == 1 else f"{function.get('name', 'tool')} {raw}"


def _tagged(content: str) -> tuple[str, int | None]:
    """Output and return code of a `<returncode>N</returncode><output>...</output>` observation."""
    match = TAGGED_OUTPUT.fullmatch(content)
    if not match:
        return content, None
    rest = match.group(2)
    block = OUTPUT_BLOCK.fullmatch(rest)
    return (block.group(1) if block else rest), int(match.group(1))


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _mini_step(index: int, message: dict) -> tuple[Step, list[str | None]]:
    """A step from an assistant message, and the tool-call ids of its actions (for matching observations)."""
    extra = message.get("extra") or {}
    content = _text(message.get("content"))
    if isinstance(extra.get("actions"), list):
        actions = [a for a in extra["actions"] if isinstance(a, dict)]
        commands = [str(a.get("command", "")) for a in actions]
        ids = [a.get("tool_call_id") for a in actions]
    elif message.get("tool_calls"):
        calls = [c for c in message["tool_calls"] if isinstance(c, dict)]
        commands = [_tool_command(c) for c in calls]
        ids = [c.get("id") for c in calls]
    else:
        commands = ACTION_FENCE.findall(content)
        ids = [None] * len(commands)
    usage = (extra.get("response") or {}).get("usage") or {}
    response = extra.get("response") or {}
    step = Step(
        index=index,
        thought=THOUGHT_LABEL.sub("", ACTION_FENCE.sub("", content).strip()) or _reasoning(message),
        actions=commands,
        cost=_float(extra.get("cost")),
        tokens_in=_int(usage.get("prompt_tokens")) if usage else _int(extra.get("prompt_tokens")),
        tokens_out=_int(usage.get("completion_tokens")) if usage else _int(extra.get("completion_tokens")),
        timestamp=_float(extra.get("timestamp")) or _float(response.get("created")),
    )
    return step, ids


def _observe(step: Step, ids: list[str | None], message: dict, durations: dict[int, float]) -> None:
    """Attach an observation message (role tool or user) to the step that caused it."""
    extra = message.get("extra") or {}
    content = _text(message.get("content"))
    if "raw_output" in extra or "returncode" in extra:
        output = str(extra.get("raw_output", content))
        returncode = _int(extra.get("returncode"))
    else:
        output, returncode = _tagged(content)
    call_id = message.get("tool_call_id")
    slot = ids.index(call_id) if call_id is not None and call_id in ids else len(step.outputs)
    while len(step.outputs) <= slot:
        step.outputs.append("")
        step.returncodes.append(None)
    step.outputs[slot], step.returncodes[slot] = output, returncode
    if _float(extra.get("duration_s")) is not None:
        durations[step.index] = durations.get(step.index, 0.0) + float(extra["duration_s"])
    if extra.get("truncated_bytes"):
        step.notes.append(f"output truncated: {extra['truncated_bytes']} bytes not kept")
    if extra.get("exception_type") or extra.get("exception_info"):
        step.notes.append(str(extra.get("exception_type") or extra.get("exception_info")).strip())


def _is_observation(step: Step, message: dict, fmt: str) -> bool:
    extra = message.get("extra") or {}
    if message.get("role") == "tool" or "raw_output" in extra or "returncode" in extra:
        return True
    if extra.get("interrupt_type") or fmt != "mini-swe-agent-1":
        return False
    # v1 executes only a message with exactly one action; the next user message is its output
    # (or, after the submit command, the submission); anything else is a format error.
    return len(step.actions) == 1 and not step.outputs


def _load_mini(data: dict) -> Trajectory:
    fmt = detect_format(data) or "mini-like"
    info = data.get("info") or {}
    stats = info.get("model_stats") or {}
    config = info.get("config") or {}
    traj = Trajectory(
        format=fmt,
        instance_id=data.get("instance_id"),
        exit_status=info.get("exit_status"),
        submission=info.get("submission"),
        total_cost=_float(stats.get("instance_cost")),
        api_calls=_int(stats.get("api_calls")),
        tokens_in=_int(stats.get("tokens_in", stats.get("prompt_tokens"))),
        tokens_out=_int(stats.get("tokens_out", stats.get("completion_tokens"))),
        model=(info.get("arena") or {}).get("model") or (config.get("model") or {}).get("model_name"),
    )
    step, ids, durations = None, [], {}
    for message in data["messages"]:
        role = message.get("role")
        if role == "assistant":
            step, ids = _mini_step(len(traj.steps), message)
            traj.steps.append(step)
        elif role == "exit":
            extra = message.get("extra") or {}
            traj.exit_status = traj.exit_status or extra.get("exit_status")
            traj.submission = traj.submission if traj.submission is not None else extra.get("submission")
        elif role in ("user", "tool") and step is None:
            if role == "user" and traj.task is None:
                traj.task = _text(message.get("content"))
        elif role in ("user", "tool"):
            if _is_observation(step, message, fmt):
                _observe(step, ids, message, durations)
            else:
                step.notes.append(_text(message.get("content")).strip())
    for index, seconds in durations.items():
        traj.steps[index].duration_s = round(seconds, 6)
    if traj.model is None:
        traj.model = next((m for s in data["messages"] if (m := _response_model(s))), None)
    _sum_tokens(traj)
    return traj


def _response_model(message: dict) -> str | None:
    response = (message.get("extra") or {}).get("response") or {}
    return response.get("model") if isinstance(response, dict) else None


def _sum_tokens(traj: Trajectory) -> None:
    """Totals from per-step usage when the file records no totals."""
    if traj.tokens_in is None and any(s.tokens_in is not None for s in traj.steps):
        traj.tokens_in = sum(s.tokens_in or 0 for s in traj.steps)
    if traj.tokens_out is None and any(s.tokens_out is not None for s in traj.steps):
        traj.tokens_out = sum(s.tokens_out or 0 for s in traj.steps)


# ---- SWE-agent ---------------------------------------------------------------------------------------


def _load_swe_agent(data: dict) -> Trajectory:
    info = data.get("info") or {}
    stats = info.get("model_stats") or {}
    traj = Trajectory(
        format="swe-agent",
        instance_id=info.get("instance_id") or data.get("instance_id"),
        exit_status=info.get("exit_status"),
        submission=info.get("submission"),
        total_cost=_float(stats.get("instance_cost")),
        api_calls=_int(stats.get("api_calls")),
        tokens_in=_int(stats.get("tokens_sent")),
        tokens_out=_int(stats.get("tokens_received")),
        model=_swe_agent_model(data),
    )
    for i, entry in enumerate(data["trajectory"]):
        action = str(entry.get("action") or "").strip()
        thought = entry.get("thought")
        if not isinstance(thought, str):
            thought = ACTION_FENCE.sub("", str(entry.get("response") or ""))
        observation = entry.get("observation")
        traj.steps.append(
            Step(
                index=i,
                thought=thought.strip(),
                actions=[action] if action else [],
                outputs=[str(observation)] if action and observation is not None else [],
                returncodes=[None] if action and observation is not None else [],
                duration_s=_float(entry.get("execution_time")),
            )
        )
    history = data.get("history") or []
    traj.task = next(
        (_text(m.get("content")) for m in history if isinstance(m, dict) and m.get("role") == "user"), None
    )
    return traj


def _swe_agent_model(data: dict) -> str | None:
    replay = data.get("replay_config")
    if isinstance(replay, str):
        try:
            replay = orjson.loads(replay)
        except orjson.JSONDecodeError:
            replay = None
    if isinstance(replay, dict):
        return ((replay.get("agent") or {}).get("model") or {}).get("name")
    return None


# ---- OpenHands ---------------------------------------------------------------------------------------


def _epoch(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _openhands_action(event: dict) -> str | None:
    """The command an action event stands for; None for actions that run nothing (message, finish, think)."""
    args = event.get("args") or {}
    kind = event.get("action")
    if kind == "run":
        return str(args.get("command", ""))
    if kind == "run_ipython":
        return str(args.get("code", ""))
    if kind in ("browse", "browse_interactive"):
        return str(args.get("url") or args.get("browser_actions") or "")
    if kind in ("read", "edit", "write"):
        tool = (event.get("tool_call_metadata") or {}).get("function_name") or kind
        call = next(iter(_openhands_calls(event)), {})
        command = (call.get("command") if isinstance(call, dict) else None) or kind
        return f"{tool} {command} {args.get('path', '')}".strip()
    return None


def _openhands_calls(event: dict) -> list[dict]:
    metadata = event.get("tool_call_metadata") or {}
    message = ((metadata.get("model_response") or {}).get("choices") or [{}])[0].get("message") or {}
    calls = []
    for call in message.get("tool_calls") or []:
        if call.get("id") == metadata.get("tool_call_id"):
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                calls.append(orjson.loads(call["function"]["arguments"]))
    return calls


def _load_openhands(data: list | dict) -> Trajectory:
    events = data if isinstance(data, list) else (data.get("history") or data.get("events"))
    traj = Trajectory(format="openhands")
    by_id: dict[Any, Step] = {}
    responses: set[str] = set()
    last_cost = None
    for event in events:
        metadata = event.get("tool_call_metadata") or {}
        response = metadata.get("model_response") or {}
        metrics = event.get("llm_metrics") or {}
        if _float(metrics.get("accumulated_cost")) is not None:
            last_cost = float(metrics["accumulated_cost"])
        if event.get("observation") == "agent_state_changed":
            traj.exit_status = (event.get("extras") or {}).get("agent_state") or traj.exit_status
        if "action" in event and event.get("source") == "user" and event["action"] == "message" and traj.task is None:
            traj.task = str(event.get("message") or (event.get("args") or {}).get("content") or "")
        if "observation" in event and event.get("cause") in by_id:
            step = by_id[event["cause"]]
            extras = event.get("extras") or {}
            code = extras.get("exit_code", (extras.get("metadata") or {}).get("exit_code"))
            step.outputs.append(str(event.get("content", "")))
            step.returncodes.append(_int(code))
            continue
        if "action" not in event or event.get("source") != "agent" or event["action"] in OPENHANDS_NON_STEPS:
            continue
        args = event.get("args") or {}
        command = _openhands_action(event)
        usage = response.get("usage") or {}
        first_of_response = response.get("id") not in responses
        step = Step(
            index=len(traj.steps),
            thought=str(args.get("thought") or args.get("content") or event.get("message") or "").strip(),
            actions=[command] if command is not None else [],
            tokens_in=_int(usage.get("prompt_tokens")) if first_of_response else None,
            tokens_out=_int(usage.get("completion_tokens")) if first_of_response else None,
            timestamp=_epoch(event.get("timestamp")),
        )
        if response.get("id"):
            responses.add(response["id"])
        traj.model = traj.model or response.get("model")
        if event["action"] == "finish":
            traj.exit_status = traj.exit_status or "finished"
            traj.submission = traj.submission or step.thought
        by_id[event.get("id")] = step
        traj.steps.append(step)
    traj.api_calls = len(responses) or None
    traj.total_cost = last_cost
    _sum_tokens(traj)
    return traj


def _fill_durations(steps: list[Step]) -> None:
    """Time to the next step where the format records no command time but both timestamps exist."""
    for step, following in zip(steps, steps[1:], strict=False):
        if step.duration_s is None and step.timestamp is not None and following.timestamp is not None:
            step.duration_s = round(following.timestamp - step.timestamp, 6)
