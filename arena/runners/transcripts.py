"""A CLI's own transcript -> messages in the arena's trajectory schema (the `mini-like` shape, formats.py).

    {"role": "user", "content": ...}                              the task as the CLI got it
    {"role": "assistant", "content": text, "tool_calls": [...]}   one model turn; tool calls in OpenAI's shape
    {"role": "tool", "tool_call_id": ..., "content": output}      what a tool call returned
    {"role": "user", "content": ...}                              other feedback (aider's "Applied edit to ...")

Token counts a CLI records go in the assistant message's `extra` (prompt_tokens, completion_tokens). Parsers
never raise on a malformed line: a CLI killed mid-write leaves half a line, and what was before it still counts.
Parsers are chosen by the runner YAML's `transcript.format`.
"""

import json
import re
from collections.abc import Callable

from arena.runners.registry import RunnerDef


def _json_lines(data: bytes) -> list[dict]:
    events = []
    for line in data.decode(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def _call(call_id: str, name: str, arguments) -> dict:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text_of(c.get("text", c.get("content", ""))) for c in content if isinstance(c, dict))
    return ""


def claude_code(data: bytes) -> list[dict]:
    """`claude -p --output-format stream-json --verbose`: one line per content block, grouped by message id."""
    messages: list[dict] = []
    current_id = None
    for event in _json_lines(data):
        kind, message = event.get("type"), event.get("message") or {}
        if kind == "assistant":
            if message.get("id") != current_id or not messages or messages[-1]["role"] != "assistant":
                messages.append({"role": "assistant", "content": "", "extra": {}})
                current_id = message.get("id")
            turn = messages[-1]
            for block in message.get("content") or []:
                if block.get("type") == "text":
                    turn["content"] = "\n".join(filter(None, [turn["content"], block.get("text", "")]))
                elif block.get("type") == "thinking":
                    turn["reasoning_content"] = turn.get("reasoning_content", "") + block.get("thinking", "")
                elif block.get("type") == "tool_use":
                    call = _call(block.get("id", ""), block.get("name", "tool"), block.get("input") or {})
                    turn.setdefault("tool_calls", []).append(call)
            usage = message.get("usage") or {}
            if usage:
                turn["extra"]["prompt_tokens"] = usage.get("input_tokens")
                turn["extra"]["completion_tokens"] = usage.get("output_tokens")
        elif kind == "user":
            content = message.get("content")
            if isinstance(content, str):
                messages.append({"role": "user", "content": content})
                continue
            for block in content or []:
                if block.get("type") == "tool_result":
                    output = _text_of(block.get("content"))
                    extra = {"returncode": 1} if block.get("is_error") else {}
                    messages.append(
                        {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": output, "extra": extra}
                    )
                elif block.get("type") == "text":
                    messages.append({"role": "user", "content": block.get("text", "")})
        elif kind == "result" and event.get("is_error") and event.get("result"):
            messages.append({"role": "user", "content": f"[claude-code: {event.get('subtype')}] {event['result']}"})
    return messages


def codex(data: bytes) -> list[dict]:
    """`codex exec --json`: item.completed events (agent_message, reasoning, command_execution, file_change, ...)."""
    messages: list[dict] = []
    reasoning = ""
    for event in _json_lines(data):
        if event.get("type") == "turn.completed" and messages:
            usage = event.get("usage") or {}
            last = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
            if last is not None:
                last["extra"] = {
                    "prompt_tokens": usage.get("input_tokens"),
                    "completion_tokens": usage.get("output_tokens"),
                }
            continue
        if event.get("type") == "turn.failed":
            error = (event.get("error") or {}).get("message", "")
            messages.append({"role": "user", "content": f"[codex: turn failed] {error}"})
            continue
        if event.get("type") != "item.completed":
            continue
        item = event.get("item") or {}
        kind, item_id = item.get("type"), item.get("id", "")
        if kind == "reasoning":
            reasoning += item.get("text", "")
        elif kind == "agent_message":
            messages.append({"role": "assistant", "content": item.get("text", ""), "reasoning_content": reasoning})
            reasoning = ""
        elif kind == "command_execution":
            call = _call(item_id, "shell", {"command": item.get("command", "")})
            messages.append({"role": "assistant", "content": "", "reasoning_content": reasoning, "tool_calls": [call]})
            reasoning = ""
            extra = {"returncode": item["exit_code"]} if isinstance(item.get("exit_code"), int) else {}
            messages.append(
                {"role": "tool", "tool_call_id": item_id, "content": item.get("aggregated_output", ""), "extra": extra}
            )
        elif kind == "file_change":
            changes = item.get("changes") or []
            call = _call(item_id, "apply_patch", {"changes": changes})
            messages.append({"role": "assistant", "content": "", "reasoning_content": reasoning, "tool_calls": [call]})
            reasoning = ""
            summary = "\n".join(
                f"{c.get('kind', 'update')} {c.get('path', '')}" for c in changes if isinstance(c, dict)
            )
            messages.append(
                {"role": "tool", "tool_call_id": item_id, "content": f"{item.get('status', '')}\n{summary}".strip()}
            )
        elif kind == "error":
            messages.append({"role": "user", "content": f"[codex] {item.get('message', '')}"})
        elif kind:
            call = _call(item_id, kind, {k: v for k, v in item.items() if k not in ("id", "type")})
            messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
    return messages


def opencode(data: bytes) -> list[dict]:
    """`opencode run --format json`: text, tool_use and step_finish events, grouped by the model message's id."""
    messages: list[dict] = []
    current = ""  # the model message the last assistant entry belongs to

    def turn(message_id: str) -> dict:
        nonlocal current
        if not (messages and messages[-1]["role"] == "assistant" and current == message_id):
            messages.append({"role": "assistant", "content": "", "extra": {}})
            current = message_id
        return messages[-1]

    for event in _json_lines(data):
        part = event.get("part") or {}
        message_id = part.get("messageID", "")
        if event.get("type") == "text":
            current = turn(message_id)
            current["content"] = "\n".join(filter(None, [current["content"], part.get("text", "")]))
        elif event.get("type") == "tool_use":
            state = part.get("state") or {}
            call_id = part.get("callID", "")
            turn(message_id).setdefault("tool_calls", []).append(
                _call(call_id, part.get("tool", "tool"), state.get("input") or {})
            )
            output = (
                state.get("output")
                if state.get("status") == "completed"
                else f"[{state.get('status')}] {state.get('error', '')}"
            )
            messages.append({"role": "tool", "tool_call_id": call_id, "content": str(output or ""), "extra": {}})
        elif event.get("type") == "step_finish":
            tokens = part.get("tokens") or {}
            last = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
            if last is not None and tokens:
                last["extra"] = {"prompt_tokens": tokens.get("input"), "completion_tokens": tokens.get("output")}
        elif event.get("type") == "error":
            error = event.get("error") or {}
            detail = (error.get("data") or {}).get("message") or error.get("name") or json.dumps(error)
            messages.append({"role": "user", "content": f"[opencode] {detail}"})
    return messages


def gemini_cli(data: bytes) -> list[dict]:
    """`gemini -p --output-format stream-json`: message deltas, tool_use and tool_result events, a closing result.

    Its events carry no model-turn id: a model turn is what follows a user message or a tool result.
    """
    messages: list[dict] = []

    def turn() -> dict:
        if not (messages and messages[-1]["role"] == "assistant"):
            messages.append({"role": "assistant", "content": "", "extra": {}})
        return messages[-1]

    for event in _json_lines(data):
        kind = event.get("type")
        if kind == "message" and event.get("role") == "user":
            messages.append({"role": "user", "content": _text_of(event.get("content"))})
        elif kind == "message" and event.get("role") == "assistant":
            turn()["content"] += _text_of(event.get("content"))
        elif kind == "tool_use":
            call = _call(event.get("tool_id", ""), event.get("tool_name", "tool"), event.get("parameters") or {})
            turn().setdefault("tool_calls", []).append(call)
        elif kind == "tool_result":
            error = event.get("error") or {}
            output = event.get("output") or error.get("message") or ""
            extra = {} if event.get("status") == "success" else {"returncode": 1}
            messages.append(
                {"role": "tool", "tool_call_id": event.get("tool_id"), "content": str(output), "extra": extra}
            )
        elif kind == "error" or (kind == "result" and event.get("status") not in (None, "success")):
            error = event.get("error")
            detail = error.get("message") if isinstance(error, dict) else event.get("message") or json.dumps(event)
            messages.append({"role": "user", "content": f"[gemini-cli] {detail}"})
    return messages


AIDER_HEADER = re.compile(r"^# aider chat started at ")


def aider(data: bytes) -> list[dict]:
    """aider's chat history markdown: `#### ` lines are the user's, `> ` lines aider's own output, the rest the model's."""
    messages: list[dict] = []
    role_of = {"####": "user", ">": "user", "": "assistant"}

    def add(kind: str, line: str) -> None:
        if messages and messages[-1]["kind"] == kind:
            messages[-1]["lines"].append(line)
        else:
            messages.append({"kind": kind, "lines": [line]})

    for line in data.decode(errors="replace").splitlines():
        if AIDER_HEADER.match(line):
            continue
        if line.startswith("#### ") or line == "####":
            add("####", line[5:])
        elif line.startswith("> ") or line == ">":
            add(">", line[2:].rstrip())
        else:
            add("", line)
    out, started = [], False
    for m in messages:
        started = started or m["kind"] == "####"
        text = "\n".join(m["lines"]).strip()
        if text and started:  # aider's start-up lines (its command line, version, model) are no turn
            out.append({"role": role_of[m["kind"]], "content": text})
    return out


def text(data: bytes) -> list[dict]:
    """Any CLI: its whole output as one assistant message."""
    return [{"role": "assistant", "content": data.decode(errors="replace")}]


PARSERS: dict[str, Callable[[bytes], list[dict]]] = {
    "claude-code-stream-json": claude_code,
    "codex-json": codex,
    "aider-chat-history": aider,
    "opencode-json": opencode,
    "gemini-cli-stream-json": gemini_cli,
    "text": text,
}


def read_transcript(runner: RunnerDef, data: bytes) -> list[dict]:
    """The runner's transcript (bytes of RUN_DIR/transcript) as trajectory messages."""
    return PARSERS[runner.transcript.format](data)
