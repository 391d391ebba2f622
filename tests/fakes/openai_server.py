"""A tiny OpenAI-compatible chat-completions server for end-to-end tests of the real litellm path.

Why a real server and not a mock: the arena's promises (retries, timeouts, token accounting, the API key staying
on the host) live in how litellm and the OpenAI SDK behave over HTTP, so the tests drive the real client against
this server. Replies are scripted per model name (the request body's `model`, e.g. `fake-model-a` for the litellm
name `openai/fake-model-a`), and faults can be injected between them. Standard library only.
"""

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal


@dataclass(frozen=True)
class ToolCall:
    """A normal turn: the model calls the `bash` tool, the format mini-swe-agent's LitellmModel parses."""

    command: str
    thought: str = ""
    prompt_tokens: int = 100
    completion_tokens: int = 20


@dataclass(frozen=True)
class Fault:
    """A failed turn. `permanent` faults are never consumed, so every later request fails the same way.

    429 and 500 answer with a JSON error body; `timeout` sleeps `FakeOpenAI.slow_s` before answering (longer than
    the client's timeout, so the client gives up first); `garbage` answers 200 with a body that is not JSON.
    """

    kind: Literal["429", "500", "timeout", "garbage"]
    permanent: bool = False


@dataclass(frozen=True)
class Text:
    """A plain assistant message (no tool call): what the judge's reviewer reads."""

    content: str
    prompt_tokens: int = 100
    completion_tokens: int = 20


Reply = ToolCall | Fault | Text


@dataclass(frozen=True)
class Request:
    """One request as received, so tests can assert on what the client really sent."""

    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    """Lower-cased header names."""
    path: str = "/v1/chat/completions"
    at: float = field(default_factory=time.monotonic)


class FakeOpenAI:
    """`with FakeOpenAI() as server:` serves on 127.0.0.1:<ephemeral port> from a background thread."""

    def __init__(self, slow_s: float = 3.0):
        self.slow_s = slow_s
        self.requests: list[Request] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a handler still sleeping in a `timeout` fault must not block close
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, model: str, *replies: Reply) -> "FakeOpenAI":
        """Queue replies for `model`; a litellm name such as `openai/x` is keyed by what it sends, `x`."""
        with self._lock:
            self._scripts[model.removeprefix("openai/")].extend(replies)
        return self

    def requests_for(self, model: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.model == model.removeprefix("openai/")]

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self, request: Request) -> Reply | None:
        with self._lock:
            queue = self._scripts[request.model]
            if not queue:
                return None
            return queue[0] if isinstance(queue[0], Fault) and queue[0].permanent else queue.popleft()

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the OpenAI SDK expects

    def do_POST(self) -> None:
        fake: FakeOpenAI = self.server.fake  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        request = Request(
            str(body.get("model", "")), body, {k.lower(): v for k, v in self.headers.items()}, path=self.path
        )
        fake._record(request)  # every request, on any path: tests assert on all the client sent
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._send(404, {"error": {"message": f"fake server: no route {self.path}", "type": "not_found"}})
        reply = fake._next(request)
        if reply is None:
            message = f"fake server: no reply scripted for model {request.model!r}"
            return self._send(400, {"error": {"message": message, "type": "invalid_request_error"}})
        if isinstance(reply, ToolCall | Text):
            return self._send(200, _completion(request, reply, len(fake.requests)))
        if reply.kind == "429":
            error = {"message": "fake server: rate limited", "type": "rate_limit_error", "code": "rate_limit_exceeded"}
            return self._send(429, {"error": error})
        if reply.kind == "500":
            return self._send(500, {"error": {"message": "fake server: internal error", "type": "server_error"}})
        if reply.kind == "timeout":
            time.sleep(fake.slow_s)
            return self._send(504, {"error": {"message": "fake server: too slow", "type": "timeout"}})
        return self._send(200, b"<html>this is not JSON</html>", "text/html")

    def _send(self, status: int, payload: dict | bytes, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout fault) and closed the connection
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


def _completion(request: Request, reply: ToolCall | Text, n: int) -> dict[str, Any]:
    usage = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    if isinstance(reply, Text):
        message, finish = {"role": "assistant", "content": reply.content}, "stop"
    else:
        arguments = json.dumps({"command": reply.command})
        call = {"id": f"call_{n}", "type": "function", "function": {"name": "bash", "arguments": arguments}}
        message, finish = {"role": "assistant", "content": reply.thought or None, "tool_calls": [call]}, "tool_calls"
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }
