"""The gateway's ASGI app: authenticate a virtual key, check it, apply the caps, forward, relay, meter.

One request, in order: the key (Bearer, x-api-key, x-goog-api-key or Gemini's ?key=) must be known and not revoked
(401); the route must be its upstream's API (400); the body's model (Gemini: the path's) must be the key's (403);
the contestant's, arena's and day's spend must be under their limits (402, see Caps). Then the body goes upstream
with the real key in the provider's header, the model renamed to the upstream's name, the client's own credentials
and hop-by-hop headers dropped. Failures the upstream may not repeat (429, 500, 502, 503, 504, connect errors,
timeouts) are retried with doubling waits (an upstream Retry-After honoured up to RETRY_AFTER_MAX_S) as long as
nothing has reached the client; after that the client gets the upstream's last answer, or 502/504 saying what
failed. Streams are relayed event by event as they arrive, metered on the way (arena/gateway/streams.py). Every
request a key's contestant makes, refused or not, is one row (arena/gateway/ledger.py), written off the event loop
once the response is complete; a request that never proved whose it is (unknown key) is logged, not recorded.
Nothing here logs or stores a key.
"""

import asyncio
import hashlib
import json
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import certifi
import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from arena.gateway.config import GatewayConfig
from arena.gateway.ledger import LIMIT_STATUS, GatewayLedger
from arena.gateway.prices import Prices
from arena.gateway.spending import Spending
from arena.gateway.streams import METERS, Meter, SSEParser
from arena.gateway.upstream import ROUTE_NAMES, ROUTE_PREFIXES, ROUTE_SHAPES, Upstream
from arena.storage.models import GatewayRequestRow

log = logging.getLogger(__name__)

RETRYABLE = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_MAX_S = 30.0
ANTHROPIC_VERSION = "2023-06-01"
"""Sent when an Anthropic client sends no anthropic-version header of its own."""
DROP_REQUEST_HEADERS = frozenset(
    {
        # credentials: the client's are virtual; the upstream's are added by the gateway
        "authorization",
        "x-api-key",
        "x-goog-api-key",
        "api-key",
        "proxy-authorization",
        "cookie",
        "openai-organization",
        "openai-project",
        # hop-by-hop, and what the gateway recomputes
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "accept-encoding",
    }
)
DROP_RESPONSE_HEADERS = frozenset(
    {
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "trailer",
        "upgrade",
        "set-cookie",
        "server",
        "date",
    }
)
ERROR_TYPES = {
    "openai": {
        400: "invalid_request_error",
        401: "invalid_api_key",
        402: "insufficient_quota",
        403: "permission_denied",
    },
    "anthropic": {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
    },
    "gemini": {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        402: "RESOURCE_EXHAUSTED",
        403: "PERMISSION_DENIED",
    },
}
SERVER_ERRORS = {"openai": "server_error", "anthropic": "api_error", "gemini": "INTERNAL"}


@dataclass
class Key:
    """A virtual key as the gateway holds it in memory (the database has only its hash)."""

    hash: str
    arena_id: str
    contestant: str
    contestant_id: int
    model: str
    names: frozenset[str]
    """Model names a request may use."""
    upstream: Upstream
    cost_limit: float
    revoked: bool = False
    spent: float = 0.0
    """USD, the contestant's total: seeded from the database when the key is issued, counted up per request."""
    seen_messages: dict[str, int] = field(default_factory=dict)
    """route -> how many messages its previous request had (the next row keeps only the new ones)."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def error(shape: str, status: int, message: str) -> JSONResponse:
    """An error in the client's own API shape, so its SDK shows our message."""
    kind = ERROR_TYPES[shape].get(status, SERVER_ERRORS[shape])
    if shape == "gemini":
        return JSONResponse({"error": {"code": status, "message": message, "status": kind}}, status)
    if shape == "anthropic":
        return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status)
    return JSONResponse({"error": {"message": message, "type": kind, "code": kind}}, status)


class GatewayApp:
    """The routes and the forwarding; `keys` is shared with the Gateway that issues and revokes them."""

    def __init__(self, ledger: GatewayLedger, prices: Prices, config: GatewayConfig, keys: dict[str, Key]):
        self.ledger, self.prices, self.config, self.keys = ledger, prices, config, keys
        self.clients: dict[str, httpx.AsyncClient] = {}
        """key hash -> its own HTTP client: httpcore scans a pool's every connection per request, so one shared pool
        of many connections cost more CPU per request than everything else the gateway does."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tls_context: ssl.SSLContext | None = None
        self.spending = Spending(ledger, config)
        routes = []
        for route, shape in ROUTE_SHAPES.items():
            for prefix in ROUTE_PREFIXES[shape]:
                routes.append(Route(prefix + route, self._endpoint(route), methods=["POST"]))
        for prefix in ("/v1", ""):
            routes.append(Route(prefix + "/models", self.models, methods=["GET"]))
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        routes.append(Route("/{path:path}", self.no_route, methods=methods))
        self.asgi = Starlette(routes=routes, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.loop = asyncio.get_running_loop()
        self.spending.start()
        try:
            yield
        finally:
            for client in list(self.clients.values()):
                await client.aclose()
            self.clients.clear()
            self.spending.stop()

    def client(self, key: Key) -> httpx.AsyncClient:
        if key.hash not in self.clients:
            timeout = httpx.Timeout(self.config.timeout_s, connect=min(self.config.timeout_s, 30.0))
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=4, keepalive_expiry=60)
            # Small writes (headers, then body) must not wait for a delayed ACK: 40 ms a request with Nagle on.
            nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            transport = httpx.AsyncHTTPTransport(verify=self._tls(), limits=limits, socket_options=nodelay)
            self.clients[key.hash] = httpx.AsyncClient(timeout=timeout, transport=transport)
        return self.clients[key.hash]

    def _tls(self) -> ssl.SSLContext:
        """One TLS context for every client: loading the CA bundle takes ~25 ms, too long for a first request."""
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context(cafile=certifi.where())
        return self._tls_context

    def forget(self, key_hash: str) -> None:
        """Close a revoked key's client (from any thread)."""
        if self.loop is not None and self.loop.is_running():

            async def close() -> None:
                if client := self.clients.pop(key_hash, None):
                    await client.aclose()

            asyncio.run_coroutine_threadsafe(close(), self.loop)

    # --- routes --------------------------------------------------------------------------------------------------

    def _endpoint(self, route: str):
        async def endpoint(request: Request) -> Response:
            return await self.forward(request, route)

        return endpoint

    def _key(self, request: Request) -> Key | None:
        """The key of `x-api-key`, `Authorization: Bearer` or Gemini's (some clients send two, one a placeholder)."""
        auth = request.headers.get("authorization") or ""
        presented = [request.headers.get("x-api-key") or "", auth[7:].strip() if auth[:7].lower() == "bearer " else ""]
        presented += [request.headers.get("x-goog-api-key") or "", request.query_params.get("key") or ""]
        return next((self.keys[h] for h in map(key_hash, filter(None, presented)) if h in self.keys), None)

    async def no_route(self, request: Request) -> Response:
        shape = "anthropic" if "/messages" in request.url.path else "openai"
        routes = ", ".join(f"POST /v1{route}" for route in ROUTE_SHAPES) + " and GET /v1/models"
        return error(shape, 404, f"the gateway has no route {request.method} {request.url.path}; it serves {routes}")

    async def models(self, request: Request) -> Response:
        key = self._key(request)
        if key is None or key.revoked:
            return error("openai", 401, UNKNOWN_KEY)
        name = key.upstream.model
        if key.upstream.shape == "anthropic":
            model = {"type": "model", "id": name, "display_name": name, "created_at": "1970-01-01T00:00:00Z"}
            return JSONResponse({"data": [model], "has_more": False, "first_id": name, "last_id": name})
        return JSONResponse(
            {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "arena"}]}
        )

    async def forward(self, request: Request, route: str) -> Response:
        started, t0 = datetime.now(UTC).replace(tzinfo=None), time.perf_counter()
        shape = ROUTE_SHAPES[route]
        key = self._key(request)
        if key is None:
            log.warning("gateway: refused a request to %s with an unknown virtual key", route)
            return error(shape, 401, UNKNOWN_KEY)
        row = GatewayRequestRow(
            arena_id=key.arena_id,
            contestant=key.contestant,
            route=ROUTE_PREFIXES[shape][0] + route,
            model="",
            started_at=started,
            request={},
            attempts=0,
            **dict.fromkeys(("tokens_in", "tokens_out", "cache_read", "cache_write"), 0),
            cost=0.0,
        )

        def refuse(status: int, message: str) -> Response:
            self._record(key, row, status, message, t0)
            return error(shape, status, message)

        if key.revoked:
            return refuse(
                401,
                f"this virtual key was revoked when contestant {key.contestant} of arena {key.arena_id} ended; "
                "keys work only while their contestant runs",
            )
        if key.upstream.shape != shape:
            return refuse(
                400,
                f"this key's model {key.model} is served over the {ROUTE_NAMES[key.upstream.shape]} API; "
                f"this request used {ROUTE_NAMES[shape]}: point the agent at the other API",
            )
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return refuse(400, f"the body of POST {row.route} must be a JSON object")
        row.model = str(request.path_params["model"] if shape == "gemini" else body.get("model", ""))
        row.request = self._conversation(key, route, body)
        if row.model not in key.names:
            return refuse(
                403,
                f"this key is for model {key.model} only (request model {key.upstream.model!r}); "
                f"the request asked for {row.model!r}",
            )
        if route_has_output(route):  # counting tokens costs nothing: allowed past the caps
            if self.spending.budgets_stale(key.arena_id):
                await run_in_threadpool(self.spending.refresh, key.arena_id)
            reason = self.spending.contestant_reason(key.contestant, key.spent, key.cost_limit)
            if reason := reason or self.spending.budget_reason(key.arena_id):
                return refuse(LIMIT_STATUS, reason)
        return await self._send(request, route, key, body, row, t0)

    # --- forwarding ----------------------------------------------------------------------------------------------

    async def _send(
        self, request: Request, route: str, key: Key, body: dict, row: GatewayRequestRow, t0: float
    ) -> Response:
        upstream = key.upstream
        if upstream.shape != "gemini":  # Gemini's model is in the path (Upstream.url), its body has none
            body = body | {"model": upstream.model}
        streaming = bool(body.get("stream"))
        hide_usage = False
        if route == "/chat/completions" and streaming:
            options = body.get("stream_options") or {}
            hide_usage = not options.get("include_usage")  # asked for the gateway's sake: not relayed
            body["stream_options"] = options | {"include_usage": True}
        headers = {k: v for k, v in request.headers.items() if k not in DROP_REQUEST_HEADERS}
        headers |= upstream.auth_headers()
        if upstream.shape == "anthropic":
            headers.setdefault("anthropic-version", ANTHROPIC_VERSION)
        content, url = json.dumps(body).encode(), upstream.url(route)
        if query := _without_key(request):  # e.g. Claude Code's /v1/messages?beta=true, Gemini's ?alt=sse
            url += "?" + query
        client = self.client(key)

        attempt, failure, failures = 0, "", []
        while True:
            attempt += 1
            response, wait, status = None, None, 502
            try:
                response = await client.send(
                    client.build_request("POST", url, content=content, headers=headers), stream=True
                )
                if not _is_stream(response):
                    await response.aread()
                if response.status_code < 400 and not _is_stream(response) and not _is_json(response.content):
                    # A broken upstream (a proxy's error page, a truncated body): retried like a 502.
                    snippet = response.content[:200].decode("utf-8", "replace")
                    failure = f"upstream answered {response.status_code} with a body that is not JSON: {snippet!r}"
                    await response.aclose()
                    response = None
                elif response.status_code not in RETRYABLE:
                    break
                else:
                    failure = f"upstream answered {response.status_code}"
                    wait = _retry_after(response)
            except (httpx.TimeoutException, httpx.TransportError) as e:
                if isinstance(e, httpx.TimeoutException):
                    status = 504
                    failure = f"the upstream did not answer within {self.config.timeout_s:g} s ({type(e).__name__})"
                else:
                    failure = f"could not reach the upstream {httpx.URL(url).host} ({type(e).__name__})"
                if response is not None:  # it failed while its body was read: none of it goes on
                    await response.aclose()
                    response = None
            if attempt >= self.config.attempts:
                break
            log.info("gateway: %s/%s attempt %d failed: %s", key.arena_id, key.contestant, attempt, failure)
            failures.append(f"attempt {attempt}: {failure}")
            if response is not None:
                await response.aclose()
            wait = min(RETRY_AFTER_MAX_S, wait if wait is not None else self.config.wait_s * 2 ** (attempt - 1))
            await asyncio.sleep(wait)
        row.attempts = attempt
        row.error = f"retried: {'; '.join(failures)}" if failures else None
        if response is None:
            message = f"{failure}, after {attempt} attempt(s); ARENA_GATEWAY_RETRIES and ARENA_GATEWAY_TIMEOUT_S set "
            message += "how hard the gateway tries"
            self._record(key, row, status, message, t0)
            return error(upstream.shape, status, message)
        out_headers = {k: v for k, v in response.headers.items() if k not in DROP_RESPONSE_HEADERS}
        meter = METERS[route]()
        if not _is_stream(response):
            await response.aclose()
            failed, parsed = response.status_code >= 400, True
            try:
                meter.body(response.json())
            except ValueError:  # relayed as it is, and noted: no usage or output to read in it
                failed, parsed = True, False
            problem = _upstream_error(response) if failed else None
            self._record(key, row, response.status_code, problem, t0, meter if parsed else None, first_byte=True)
            return Response(response.content, response.status_code, out_headers)
        relay = self._relay(key, row, response, meter, hide_usage, t0)
        return StreamingResponse(relay, response.status_code, out_headers)

    async def _relay(
        self, key: Key, row: GatewayRequestRow, response: httpx.Response, meter: Meter, hide_usage: bool, t0: float
    ) -> AsyncIterator[bytes]:
        """The upstream's events, each passed on as soon as it is complete, metered on the way."""
        parser, problem = SSEParser(), None
        try:
            async for chunk in response.aiter_bytes():
                ready = []  # the events complete in this read go out in one write
                for raw, data in parser.feed(chunk):
                    if isinstance(data, dict):
                        meter.event(data)
                        if hide_usage and data.get("usage") and not data.get("choices"):
                            continue
                    ready.append(raw)
                if ready:
                    if row.first_byte_ms is None:
                        row.first_byte_ms = (time.perf_counter() - t0) * 1000
                    yield b"".join(ready)
            if rest := parser.rest():
                yield rest
        except Exception as e:  # the stream broke after bytes reached the client: too late to retry
            problem = f"the upstream stream broke after it started ({type(e).__name__}); the client got it cut short"
            raise
        except (GeneratorExit, asyncio.CancelledError):
            problem = "the client closed the connection before the stream ended"
            raise
        finally:
            await response.aclose()
            self._record(key, row, response.status_code, problem, t0, meter)

    # --- metering and caps ---------------------------------------------------------------------------------------

    def _record(
        self,
        key: Key,
        row: GatewayRequestRow,
        status: int,
        problem: str | None,
        t0: float,
        meter: Meter | None = None,
        first_byte: bool = False,
    ) -> None:
        """Finish the row and queue it for the writer thread (Spending.wait_settled waits for it)."""
        row.status, row.error = status, problem or row.error
        row.latency_ms = (time.perf_counter() - t0) * 1000
        if first_byte:
            row.first_byte_ms = row.latency_ms
        if meter is not None:
            tokens = meter.tokens
            row.tokens_in, row.tokens_out = tokens.tokens_in, tokens.tokens_out
            row.cache_read, row.cache_write = tokens.cache_read, tokens.cache_write
            price = self.prices.price(key.model, key.upstream.model)
            row.cost = price.cost(tokens) if price else 0.0
            row.response = meter.output() if status < 400 and route_has_output(row.route) else None
        log.debug(
            "gateway: %s/%s %s %s -> %d in %.1f ms",
            key.arena_id,
            key.contestant,
            row.route,
            row.model,
            status,
            row.latency_ms,
        )
        key.spent += row.cost
        self.spending.submit(row, key.contestant_id)

    @staticmethod
    def _conversation(key: Key, route: str, body: dict[str, Any]) -> dict[str, Any]:
        """The request as kept: the messages new since the key's previous request on this route, else the last one.

        Agents resend the whole conversation each turn, so what is new is what follows the previous length; a shorter
        one (a side call, a compacted history) keeps only its last message and leaves the mark where it was.
        """
        messages = body.get("messages") if "messages" in body else body.get("contents", body.get("input"))
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        if not isinstance(messages, list) or not messages:
            return {"v": 1, "from": 0, "messages": []}
        seen = key.seen_messages.get(route, 0)
        if len(messages) > seen:
            key.seen_messages[route] = len(messages)
            return {"v": 1, "from": seen, "messages": messages[seen:]}
        return {"v": 1, "from": len(messages) - 1, "messages": messages[-1:]}


UNKNOWN_KEY = (
    "unknown virtual key: the gateway takes only the arena-vk-... key the arena issued to a running contestant "
    "(keys end with their contestant, and with the process that issued them)"
)


def route_has_output(route: str) -> bool:
    return not route.endswith(("/count_tokens", ":countTokens"))


def _without_key(request: Request) -> str:
    """The query string without Gemini's `key=` (the virtual key: it must not go upstream)."""
    return "&".join(part for part in request.url.query.split("&") if part and not part.startswith("key="))


def _is_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


def _is_json(content: bytes) -> bool:
    try:
        json.loads(content)
    except ValueError:
        return False
    return True


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None  # absent, or an HTTP date: the doubling wait instead


def _upstream_error(response: httpx.Response) -> str:
    """The upstream's error in a few words (its message, else the start of its body)."""
    try:
        payload = response.json()
        message = (payload.get("error") or {}).get("message") or json.dumps(payload)
    except (ValueError, AttributeError):
        message = response.text
    return f"upstream {response.status_code}: {message[:500]}"
