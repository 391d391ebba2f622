"""The host-side LLM gateway: every contestant's model calls, with a virtual key, metered and capped.

Why this design. Contestants are CLI coding agents (Claude Code, Codex, aider, ...) running in sandboxes with no
network, and mini-swe-agent whose litellm calls run on the host. Each gets a per-contestant virtual key
(`arena-vk-...`, only its sha256 is stored) that works for its arena, its model and until its contestant ends; the
real provider key stays in this process and is put on the upstream request here. The gateway is a small starlette
app served by uvicorn in a daemon thread (both already dependencies), on 127.0.0.1 for host-side callers and on a
unix socket that sandboxes get bind-mounted, forwarding requests as they are with httpx:
- not LiteLLM's proxy: it needs Prisma, a PostgreSQL schema of its own and a separate process; too heavy for the
  embedded default (SQLite, one process), and its keys, budgets and logs would be a second store beside ours;
- not translating through litellm: re-encoding adds latency, and a re-encoded stream loses the provider's exact
  fields (cache tokens, tool-call ids, Anthropic's event types) that the CLIs and our metering rely on.
So each route speaks its upstream's own API (OpenAI chat completions and Responses; Anthropic messages; Gemini
generateContent, the model in its path), and litellm is used only for what it knows well: the provider of a model
name (arena.llm) and its price map.

Metering: one `gateway_requests` row per request (tokens in/out, cache read/write, cost, latency, first byte,
attempts, the new request messages and the assistant's assembled output), and the contestant row's cost and tokens
kept equal to the sums, so Live shows them as they happen. Caps: a contestant's cost_limit, the arena budget
(ARENA_GATEWAY_ARENA_BUDGET_USD) and the daily budget (ARENA_GATEWAY_DAILY_BUDGET_USD) answer 402 once reached,
checked before each request (requests already in flight may overshoot by their own cost).

Modules: server (Gateway, gateway_for), app (the routes: auth, checks, forwarding, retries, relay), upstream
(where a key's requests go), streams (usage and output out of streams and bodies), spending (rows written in
batches off the event loop; spend in memory for the caps), prices, ledger (the SQL), config.

Measured (benchmarks/gateway.py, 2 shared cores): ~2 ms added per request and ~2.5 ms to the first streamed byte
for one contestant; ~3 ms of CPU per request, so 16 contestants firing back to back queue on the one event loop.
"""

from arena.gateway.config import GatewayConfig
from arena.gateway.ledger import Usage
from arena.gateway.prices import Price, Prices, Tokens
from arena.gateway.server import KEY_PREFIX, Gateway, gateway_for

__all__ = ["KEY_PREFIX", "Gateway", "GatewayConfig", "Price", "Prices", "Tokens", "Usage", "gateway_for"]
