"""A tiny scripted LLM server speaking OpenAI chat completions, OpenAI Responses, Anthropic Messages and Gemini.

Why a real server and not a mock: the arena's promises (retries, timeouts, token accounting, the API key staying
on the host, a gateway that relays streams without buffering) live in how clients behave over HTTP, so the tests
drive real clients (litellm, the OpenAI SDK, CLI agents through the gateway) against this server.

Replies are scripted per model name, the request body's `model` (e.g. `fake-model-a` for the litellm name
`openai/fake-model-a`, `claude-fake` for `anthropic/claude-fake`; Gemini's is in the path); the same script serves
every route, each reply rendered in the route's own shape, streamed as server-sent events when the body says
`stream: true`:

- `POST /v1/chat/completions`: JSON, or `data:` chunks (text and tool_calls deltas, the usage chunk when
  `stream_options.include_usage`, then `data: [DONE]`);
- `POST /v1/responses`: a response object, or `response.created` ... `response.completed` events;
- `POST /v1/messages`: an Anthropic message, or `message_start` ... `message_stop` events;
- `POST /v1beta/models/{model}:generateContent`: a GenerateContentResponse (text and `functionCall` parts,
  usageMetadata), or with `:streamGenerateContent?alt=sse` the same as `data:` events (usage on the last);
- `POST /v1/messages/count_tokens`, `POST /v1beta/models/{model}:countTokens` and `GET /v1/models` answer without
  touching any script.

Paths work with or without the `/v1` prefix. CLI agents make side calls (titles, quota probes) that a test does not
want to script: `fallback(model, reply)` answers any request for `model` when its script is empty, without being
consumed, and `script_when(model, predicate, *replies)` queues replies only for requests the predicate accepts
(checked before the plain script). An unscripted request gets 400 naming the model. Faults answer on every route in
that route's error shape. `chunk_delay_s` sleeps between streamed events (tests of relays that must not buffer).
Standard library only.
"""

import json
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

PROVIDER_PREFIXES = ("openai/", "anthropic/", "gemini/")
"""litellm provider prefixes a script's model name may carry; the server keys scripts by what clients send."""


@dataclass(frozen=True)
class ToolCall:
    """A normal turn: the model calls the `bash` tool, the format mini-swe-agent's LitellmModel parses."""

    command: str
    thought: str = ""
    prompt_tokens: int = 100
    completion_tokens: int = 20
    cached_tokens: int = 0
    """Prompt tokens read from the provider's cache (OpenAI cached_tokens, Anthropic cache_read_input_tokens)."""
    cache_write_tokens: int = 0
    """Anthropic cache_creation_input_tokens (OpenAI has no such field)."""


@dataclass(frozen=True)
class ToolUse:
    """A call of any tool `name` with arguments `input` (Anthropic tool_use, OpenAI function call)."""

    name: str
    input: dict[str, Any]
    thought: str = ""
    prompt_tokens: int = 100
    completion_tokens: int = 20
    cached_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Fault:
    """A failed turn. `permanent` faults are never consumed, so every later request fails the same way.

    429 and 500 answer with a JSON error body; `timeout` sleeps `FakeOpenAI.slow_s` before answering (longer than
    the client's timeout, so the client gives up first); `garbage` answers 200 with a body that is not JSON.
    """

    kind: Literal["429", "500", "timeout", "garbage"]
    permanent: bool = False
    retry_after: float | None = None
    """Sent as the Retry-After header (seconds) with a 429."""


@dataclass(frozen=True)
class Text:
    """A plain assistant message (no tool call): what the judge's reviewer reads; Anthropic stop_reason end_turn."""

    content: str
    prompt_tokens: int = 100
    completion_tokens: int = 20
    cached_tokens: int = 0
    cache_write_tokens: int = 0


Reply = ToolCall | ToolUse | Fault | Text


@dataclass(frozen=True)
class Request:
    """One request as received, so tests can assert on what the client really sent."""

    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    """Lower-cased header names."""
    path: str = "/v1/chat/completions"
    at: float = field(default_factory=time.monotonic)


def _bare(model: str) -> str:
    for prefix in PROVIDER_PREFIXES:
        model = model.removeprefix(prefix)
    return model


class FakeOpenAI:
    """`with FakeOpenAI() as server:` serves on 127.0.0.1:<ephemeral port> from a background thread."""

    def __init__(self, slow_s: float = 3.0, chunk_delay_s: float = 0.0):
        self.slow_s = slow_s
        self.chunk_delay_s = chunk_delay_s
        """Sleep between streamed events, so a test can tell a relay that streams from one that buffers."""
        self.requests: list[Request] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._conditional: list[tuple[str, Callable[[Request], bool], deque[Reply]]] = []
        self._fallbacks: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a handler still sleeping in a `timeout` fault must not block close
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def api_base(self) -> str:
        """The OpenAI-style base (ends in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def url(self) -> str:
        """The server's root, the Anthropic-style base (clients add /v1/messages)."""
        return f"http://127.0.0.1:{self.port}"

    def script(self, model: str, *replies: Reply) -> "FakeOpenAI":
        """Queue replies for `model`; a litellm name such as `openai/x` is keyed by what it sends, `x`."""
        with self._lock:
            self._scripts[_bare(model)].extend(replies)
        return self

    def script_when(self, model: str, predicate: Callable[[Request], bool], *replies: Reply) -> "FakeOpenAI":
        """Queue replies used only for requests for `model` that `predicate` accepts (before the plain script)."""
        with self._lock:
            self._conditional.append((_bare(model), predicate, deque(replies)))
        return self

    def fallback(self, model: str, reply: Reply) -> "FakeOpenAI":
        """Answer `model`'s requests with `reply` whenever its script is empty; never consumed."""
        with self._lock:
            self._fallbacks[_bare(model)] = reply
        return self

    def requests_for(self, model: str, path: str | None = None) -> list[Request]:
        """The requests for `model` (on `path` only, if given, e.g. "/v1/messages")."""
        with self._lock:
            return [
                r for r in self.requests if r.model == _bare(model) and (path is None or _route(r.path) == _route(path))
            ]

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self, request: Request) -> Reply | None:
        with self._lock:
            for model, predicate, queue in self._conditional:
                if model == request.model and queue and predicate(request):
                    return self._take(queue)
            queue = self._scripts[request.model]
            if queue:
                return self._take(queue)
            return self._fallbacks.get(request.model)

    @staticmethod
    def _take(queue: deque[Reply]) -> Reply:
        return queue[0] if isinstance(queue[0], Fault) and queue[0].permanent else queue.popleft()

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a timeout, a closed keep-alive connection) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _route(path: str) -> str:
    """`/v1/messages?beta=true`, `/messages/` -> `/messages`; `/v1beta/models/m:countTokens` -> `:countTokens`."""
    path = path.split("?", 1)[0].rstrip("/")
    if path.startswith(GEMINI_PREFIX) and ":" in path:
        return ":" + path.rsplit(":", 1)[1]
    return path.removeprefix("/v1") or "/"


def _gemini_model(path: str) -> str:
    """The model of a Gemini path (`/v1beta/models/<model>:<method>`), else ""."""
    path = path.split("?", 1)[0]
    return path.removeprefix(GEMINI_PREFIX).rsplit(":", 1)[0] if path.startswith(GEMINI_PREFIX) else ""


GEMINI_PREFIX = "/v1beta/models/"
ROUTES = ("/chat/completions", "/responses", "/messages", ":generateContent", ":streamGenerateContent")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the OpenAI SDK expects
    disable_nagle_algorithm = True  # small SSE writes go out at once (no 40 ms delayed-ACK stalls)

    def do_GET(self) -> None:
        fake: FakeOpenAI = self.server.fake  # type: ignore[attr-defined]
        if _route(self.path) != "/models":
            return self._send(
                404, {"error": {"message": f"fake server: no route GET {self.path}", "type": "not_found"}}
            )
        with fake._lock:
            models = sorted(set(fake._scripts) | set(fake._fallbacks) | {m for m, _, _ in fake._conditional})
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
        self._send(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        fake: FakeOpenAI = self.server.fake  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        model = _gemini_model(self.path) or str(body.get("model", ""))
        request = Request(model, body, {k.lower(): v for k, v in self.headers.items()}, path=self.path)
        fake._record(request)  # every request, on any path: tests assert on all the client sent
        route = _route(self.path)
        if route == "/messages/count_tokens":
            return self._send(200, {"input_tokens": max(1, len(json.dumps(body.get("messages", []))) // 4)})
        if route == ":countTokens":
            return self._send(200, {"totalTokens": max(1, len(json.dumps(body)) // 4)})
        if route not in ROUTES:
            return self._error(route, 404, "not_found", f"fake server: no route {self.path}")
        reply = fake._next(request)
        if reply is None:
            message = f"fake server: no reply scripted for model {request.model!r}"
            return self._error(route, 400, "invalid_request_error", message)
        if isinstance(reply, Fault):
            return self._fault(route, reply, fake)
        n = len(fake.requests)
        if route == ":generateContent":
            return self._send(200, _gemini_response(request, reply, n))
        if not body.get("stream") and route != ":streamGenerateContent":
            render = {"/chat/completions": _completion, "/responses": _response, "/messages": _message}[route]
            return self._send(200, render(request, reply, n))
        events = {
            "/chat/completions": _chat_events,
            "/responses": _response_events,
            "/messages": _message_events,
            ":streamGenerateContent": _gemini_events,
        }
        self._stream(events[route](request, reply, n), fake.chunk_delay_s)

    def _fault(self, route: str, fault: Fault, fake: FakeOpenAI) -> None:
        if fault.kind == "429":
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            return self._error(route, 429, "rate_limit_error", "fake server: rate limited", headers)
        if fault.kind == "500":
            return self._error(route, 500, "server_error", "fake server: internal error")
        if fault.kind == "timeout":
            time.sleep(fake.slow_s)
            return self._error(route, 504, "timeout", "fake server: too slow")
        return self._send(200, b"<html>this is not JSON</html>", "text/html")

    def _error(self, route: str, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        """An error in the route's own shape (Anthropic's and Gemini's differ from OpenAI's)."""
        if route.startswith(":"):
            payload = {"error": {"code": status, "message": message, "status": kind.upper()}}
        elif route.startswith("/messages"):
            anthropic_kind = {"server_error": "api_error", "not_found": "not_found_error"}.get(kind, kind)
            payload = {"type": "error", "error": {"type": anthropic_kind, "message": message}}
        else:
            code = "rate_limit_exceeded" if status == 429 else None
            payload = {"error": {"message": message, "type": kind, "code": code}}
        self._send(status, payload, headers=headers)

    def _send(
        self,
        status: int,
        payload: dict | bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout fault) and closed the connection
            self.close_connection = True

    def _stream(self, events: Iterator[bytes], delay_s: float) -> None:
        """Server-sent events, one HTTP chunk each, written as they are made (chunked transfer keeps keep-alive)."""
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, event in enumerate(events):
                if i and delay_s:
                    time.sleep(delay_s)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


# --- rendering: one reply in each route's shape ----------------------------------------------------------------


def _call(reply: ToolCall | ToolUse) -> tuple[str, dict[str, Any]]:
    if isinstance(reply, ToolCall):
        return "bash", {"command": reply.command}
    return reply.name, reply.input


def _thought(reply: ToolCall | ToolUse | Text) -> str:
    return reply.content if isinstance(reply, Text) else reply.thought


def _pieces(text: str, size: int = 12) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


def _chat_usage(reply: ToolCall | ToolUse | Text) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    if reply.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": reply.cached_tokens}
    return usage


def _completion(request: Request, reply: ToolCall | ToolUse | Text, n: int) -> dict[str, Any]:
    if isinstance(reply, Text):
        message, finish = {"role": "assistant", "content": reply.content}, "stop"
    else:
        name, arguments = _call(reply)
        call = {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        message, finish = {"role": "assistant", "content": reply.thought or None, "tool_calls": [call]}, "tool_calls"
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _chat_usage(reply),
    }


def _chat_events(request: Request, reply: ToolCall | ToolUse | Text, n: int) -> Iterator[bytes]:
    base = {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse(base | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    for piece in _pieces(_thought(reply)):
        yield chunk({"content": piece})
    if not isinstance(reply, Text):
        name, arguments = _call(reply)
        start = {"index": 0, "id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": ""}}
        yield chunk({"tool_calls": [start]})
        for piece in _pieces(json.dumps(arguments)):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    yield chunk({}, "stop" if isinstance(reply, Text) else "tool_calls")
    if (request.body.get("stream_options") or {}).get("include_usage"):
        yield _sse(base | {"choices": [], "usage": _chat_usage(reply)})
    yield _sse("[DONE]")


def _response_items(reply: ToolCall | ToolUse | Text, n: int) -> list[dict[str, Any]]:
    items = []
    if _thought(reply):
        content = [{"type": "output_text", "text": _thought(reply), "annotations": []}]
        items.append(
            {"type": "message", "id": f"msg_{n}", "status": "completed", "role": "assistant", "content": content}
        )
    if not isinstance(reply, Text):
        name, arguments = _call(reply)
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{n}",
                "call_id": f"call_{n}",
                "name": name,
                "arguments": json.dumps(arguments),
                "status": "completed",
            }
        )
    return items


def _response(request: Request, reply: ToolCall | ToolUse | Text, n: int, status: str = "completed") -> dict:
    usage = {
        "input_tokens": reply.prompt_tokens,
        "input_tokens_details": {"cached_tokens": reply.cached_tokens},
        "output_tokens": reply.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    done = status == "completed"
    return {
        "id": f"resp_{n}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": request.model,
        "output": _response_items(reply, n) if done else [],
        "usage": usage if done else None,
    }


def _response_events(request: Request, reply: ToolCall | ToolUse | Text, n: int) -> Iterator[bytes]:
    seq = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> bytes:
        return _sse({"type": kind, "sequence_number": next(seq), **fields}, kind)

    yield event("response.created", response=_response(request, reply, n, "in_progress"))
    yield event("response.in_progress", response=_response(request, reply, n, "in_progress"))
    for index, item in enumerate(_response_items(reply, n)):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield event(
                "response.output_item.added", output_index=index, item=item | {"status": "in_progress", "content": []}
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            yield event(
                "response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=part
            )
            for piece in _pieces(text):
                yield event(
                    "response.output_text.delta", item_id=item["id"], output_index=index, content_index=0, delta=piece
                )
            yield event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0, text=text)
            part = item["content"][0]
            yield event(
                "response.content_part.done", item_id=item["id"], output_index=index, content_index=0, part=part
            )
        else:
            added = item | {"status": "in_progress", "arguments": ""}
            yield event("response.output_item.added", output_index=index, item=added)
            for piece in _pieces(item["arguments"]):
                yield event(
                    "response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=piece
                )
            yield event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                arguments=item["arguments"],
            )
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=_response(request, reply, n))


def _anthropic_usage(reply: ToolCall | ToolUse | Text, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": reply.prompt_tokens,
        "cache_creation_input_tokens": reply.cache_write_tokens,
        "cache_read_input_tokens": reply.cached_tokens,
        "output_tokens": output_tokens,
    }


def _blocks(reply: ToolCall | ToolUse | Text, n: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": _thought(reply)}] if _thought(reply) else []
    if not isinstance(reply, Text):
        name, arguments = _call(reply)
        blocks.append({"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": arguments})
    return blocks


def _message(request: Request, reply: ToolCall | ToolUse | Text, n: int, streaming: bool = False) -> dict:
    return {
        "id": f"msg_{n}",
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": [] if streaming else _blocks(reply, n),
        "stop_reason": None if streaming else ("end_turn" if isinstance(reply, Text) else "tool_use"),
        "stop_sequence": None,
        "usage": _anthropic_usage(reply, 1 if streaming else reply.completion_tokens),
    }


def _message_events(request: Request, reply: ToolCall | ToolUse | Text, n: int) -> Iterator[bytes]:
    def event(kind: str, **fields: Any) -> bytes:
        return _sse({"type": kind, **fields}, kind)

    yield event("message_start", message=_message(request, reply, n, streaming=True))
    yield event("ping")
    for index, block in enumerate(_blocks(reply, n)):
        if block["type"] == "text":
            yield event("content_block_start", index=index, content_block={"type": "text", "text": ""})
            for piece in _pieces(block["text"]):
                yield event("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
        else:
            yield event("content_block_start", index=index, content_block=block | {"input": {}})
            for piece in _pieces(json.dumps(block["input"])):
                yield event(
                    "content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": piece}
                )
        yield event("content_block_stop", index=index)
    stop = "end_turn" if isinstance(reply, Text) else "tool_use"
    delta = {"stop_reason": stop, "stop_sequence": None}
    yield event("message_delta", delta=delta, usage={"output_tokens": reply.completion_tokens})
    yield event("message_stop")


def _gemini_usage(reply: ToolCall | ToolUse | Text) -> dict[str, int]:
    usage = {
        "promptTokenCount": reply.prompt_tokens,
        "candidatesTokenCount": reply.completion_tokens,
        "totalTokenCount": reply.prompt_tokens + reply.completion_tokens,
    }
    if reply.cached_tokens:
        usage["cachedContentTokenCount"] = reply.cached_tokens
    return usage


def _gemini_parts(reply: ToolCall | ToolUse | Text) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"text": _thought(reply)}] if _thought(reply) else []
    if not isinstance(reply, Text):
        name, arguments = _call(reply)
        parts.append({"functionCall": {"name": name, "args": arguments}})
    return parts


def _gemini_response(
    request: Request, reply: ToolCall | ToolUse | Text, n: int, parts: list | None = None, last: bool = True
) -> dict[str, Any]:
    """A GenerateContentResponse: the whole reply, or one streamed event's `parts` (the last: finishReason, usage)."""
    candidate = {"content": {"role": "model", "parts": _gemini_parts(reply) if parts is None else parts}, "index": 0}
    answer = {"candidates": [candidate], "modelVersion": request.model, "responseId": f"resp_{n}"}
    if last:
        candidate["finishReason"] = "STOP"
        answer["usageMetadata"] = _gemini_usage(reply)
    return answer


def _gemini_events(request: Request, reply: ToolCall | ToolUse | Text, n: int) -> Iterator[bytes]:
    """The text in pieces, then the function call whole (Gemini streams a call in one part)."""
    events = [[{"text": piece}] for piece in _pieces(_thought(reply))]
    if not isinstance(reply, Text):
        events.append(_gemini_parts(reply)[-1:])
    events = events or [[{"text": ""}]]
    for i, parts in enumerate(events):
        yield _sse(_gemini_response(request, reply, n, parts, last=i == len(events) - 1))
