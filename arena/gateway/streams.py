"""Reading usage and the assistant's output out of responses, streamed or not, for each API the gateway speaks.

The gateway relays server-sent events as they arrive and feeds each complete event to a meter on the way through;
nothing waits for the stream to end. A meter keeps the usage block (OpenAI chat: the final chunk, which the gateway
asks for with stream_options.include_usage; Responses: `response.completed`; Anthropic: `message_start` plus
`message_delta`; Gemini: the last event's usageMetadata) and assembles the output into one readable record, the
same for every API:
`{"v": 1, "content": text, "tool_calls": [{"id", "name", "arguments"}], "stop_reason": ...}` (arguments as the
JSON text the model wrote), which becomes part of the contestant's trajectory.
"""

import json
import re
from typing import Any

from arena.gateway.prices import Tokens

OUTPUT_VERSION = 1
_EVENT_END = re.compile(rb"\r?\n\r?\n")


class SSEParser:
    """Splits a byte stream into complete events: (the event's raw bytes, its `data:` parsed as JSON or None)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[bytes, Any]]:
        self._buffer += chunk
        events = []
        while match := _EVENT_END.search(self._buffer):
            raw, self._buffer = self._buffer[: match.end()], self._buffer[match.end() :]
            events.append((raw, _data(raw)))
        return events

    def rest(self) -> bytes:
        """What is left after the last complete event (normally nothing)."""
        rest, self._buffer = self._buffer, b""
        return rest


def _data(raw: bytes) -> Any:
    lines = [line[5:].lstrip() for line in raw.decode("utf-8", "replace").splitlines() if line.startswith("data:")]
    if not lines:
        return None
    try:
        return json.loads("\n".join(lines))
    except ValueError:
        return None  # `[DONE]`, or something no meter reads


class Meter:
    """Usage and output of one response. Subclasses read one API's events and bodies."""

    def __init__(self) -> None:
        self.tokens = Tokens()
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.stop_reason: str | None = None

    def event(self, data: dict[str, Any]) -> None:
        """One streamed event's JSON."""

    def body(self, data: dict[str, Any]) -> None:
        """A whole (non-streamed) response's JSON."""

    def output(self) -> dict[str, Any]:
        calls = [self.calls[i] for i in sorted(self.calls)]
        return {
            "v": OUTPUT_VERSION,
            "content": "".join(self.text),
            "tool_calls": calls,
            "stop_reason": self.stop_reason,
        }

    def _call(self, index: int) -> dict[str, Any]:
        return self.calls.setdefault(index, {"id": None, "name": "", "arguments": ""})


class ChatMeter(Meter):
    """OpenAI chat completions."""

    def event(self, data: dict[str, Any]) -> None:
        if data.get("usage"):
            self._usage(data["usage"])
        for choice in data.get("choices") or []:
            if choice.get("index", 0):
                continue  # n > 1: the first choice is the one an agent uses
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.text.append(delta["content"])
            for part in delta.get("tool_calls") or []:
                call = self._call(part.get("index", 0))
                call["id"] = part.get("id") or call["id"]
                function = part.get("function") or {}
                call["name"] += function.get("name") or ""
                call["arguments"] += function.get("arguments") or ""
            self.stop_reason = choice.get("finish_reason") or self.stop_reason

    def body(self, data: dict[str, Any]) -> None:
        self._usage(data.get("usage") or {})
        for choice in (data.get("choices") or [])[:1]:
            message = choice.get("message") or {}
            self.text.append(message.get("content") or "")
            for i, call in enumerate(message.get("tool_calls") or []):
                function = call.get("function") or {}
                self.calls[i] = {
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            self.stop_reason = choice.get("finish_reason")

    def _usage(self, usage: dict[str, Any]) -> None:
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        self.tokens = Tokens(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0, cached)


class ResponsesMeter(Meter):
    """OpenAI Responses (Codex CLI)."""

    def event(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.text, self.calls = [], {}  # the final response has the whole output
            self.body(data.get("response") or {})
        elif kind == "response.output_text.delta":
            self.text.append(data.get("delta") or "")

    def body(self, data: dict[str, Any]) -> None:
        usage = data.get("usage") or {}
        cached = (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0
        self.tokens = Tokens(usage.get("input_tokens") or 0, usage.get("output_tokens") or 0, cached)
        for item in data.get("output") or []:
            if item.get("type") == "message":
                self.text += [c.get("text") or "" for c in item.get("content") or [] if c.get("type") == "output_text"]
            elif item.get("type") == "function_call":
                call = {"id": item.get("call_id"), "name": item.get("name"), "arguments": item.get("arguments")}
                self.calls[len(self.calls)] = call
        self.stop_reason = data.get("status")


class MessagesMeter(Meter):
    """Anthropic messages (Claude Code). Its input_tokens leave out cache reads and writes; Tokens counts them in."""

    def __init__(self) -> None:
        super().__init__()
        self._usage: dict[str, int] = {}

    def event(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "message_start":
            self._add_usage((data.get("message") or {}).get("usage") or {})
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                self.calls[data.get("index", 0)] = {"id": block.get("id"), "name": block.get("name"), "arguments": ""}
            elif block.get("type") == "text" and block.get("text"):
                self.text.append(block["text"])
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                self.text.append(delta.get("text") or "")
            elif delta.get("type") == "input_json_delta":
                self._call(data.get("index", 0))["arguments"] += delta.get("partial_json") or ""
        elif kind == "message_delta":
            self._add_usage(data.get("usage") or {})
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason

    def body(self, data: dict[str, Any]) -> None:
        self._add_usage(data.get("usage") or {})
        for block in data.get("content") or []:
            if block.get("type") == "text":
                self.text.append(block.get("text") or "")
            elif block.get("type") == "tool_use":
                arguments = json.dumps(block.get("input") or {})
                self.calls[len(self.calls)] = {"id": block.get("id"), "name": block.get("name"), "arguments": arguments}
        self.stop_reason = data.get("stop_reason")

    def _add_usage(self, usage: dict[str, Any]) -> None:
        """message_delta repeats or updates message_start's counts (cumulative), so the later value wins."""
        for name in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            if usage.get(name) is not None:
                self._usage[name] = usage[name]
        read, write = self._usage.get("cache_read_input_tokens", 0), self._usage.get("cache_creation_input_tokens", 0)
        self.tokens = Tokens(
            self._usage.get("input_tokens", 0) + read + write, self._usage.get("output_tokens", 0), read, write
        )


class GeminiMeter(Meter):
    """Gemini generateContent: a stream's events are GenerateContentResponses, each with its parts (not deltas)."""

    def event(self, data: dict[str, Any]) -> None:
        self.body(data)

    def body(self, data: dict[str, Any]) -> None:
        if usage := data.get("usageMetadata"):  # cumulative: the last event carrying it has the totals
            out = (usage.get("candidatesTokenCount") or 0) + (usage.get("thoughtsTokenCount") or 0)
            self.tokens = Tokens(usage.get("promptTokenCount") or 0, out, usage.get("cachedContentTokenCount") or 0)
        for candidate in (data.get("candidates") or [])[:1]:
            for part in (candidate.get("content") or {}).get("parts") or []:
                if part.get("text") and not part.get("thought"):
                    self.text.append(part["text"])
                elif call := part.get("functionCall"):
                    arguments = json.dumps(call.get("args") or {})
                    self.calls[len(self.calls)] = {
                        "id": call.get("id"),
                        "name": call.get("name"),
                        "arguments": arguments,
                    }
            self.stop_reason = candidate.get("finishReason") or self.stop_reason


METERS: dict[str, type[Meter]] = {
    "/chat/completions": ChatMeter,
    "/responses": ResponsesMeter,
    "/messages": MessagesMeter,
    "/messages/count_tokens": Meter,
    "/models/{model}:generateContent": GeminiMeter,
    "/models/{model}:streamGenerateContent": GeminiMeter,
    "/models/{model}:countTokens": Meter,
}
