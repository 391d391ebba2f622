"""The Gateway: issues and revokes virtual keys, and serves the ASGI app on a loopback port and a unix socket.

uvicorn runs in a daemon thread with its own event loop, on two sockets the Gateway binds itself (so the port is
known before the first request): 127.0.0.1:<ephemeral> for host-side callers (mini-swe-agent's litellm), and a unix
socket for sandboxes, which have no network but get the socket bind-mounted (mode 0o666 in a 0o755 directory:
sandboxes run as other uids). `gateway_for(store)` gives each process one started Gateway per database.
"""

import atexit
import contextlib
import logging
import os
import secrets
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from arena.errors import UserError
from arena.gateway.app import GatewayApp, Key, key_hash
from arena.gateway.config import GatewayConfig
from arena.gateway.ledger import GatewayLedger, Usage
from arena.gateway.prices import Price, Prices
from arena.gateway.upstream import model_names, resolve
from arena.storage import Store
from arena.storage.models import GatewayKeyRow

log = logging.getLogger(__name__)

THREAD_NAME = "arena-gateway"
"""The gateway's server thread (its uvicorn info lines are dropped by name)."""
KEY_PREFIX = "arena-vk-"
SOCKET_NAME = "gateway.sock"
MAX_SOCKET_PATH = 107
"""Linux's sun_path holds 108 bytes, the terminating NUL included."""


class Gateway:
    """The host-side LLM gateway of one database. `start()` it, issue keys, `stop()` it.

    Args:
        store: where keys (hashed) and request rows go, and whose contestant rows get the running totals.
        socket_dir: the directory of the unix socket (created; must make a path shorter than 108 bytes).
        prices: a price table (model -> USD per million tokens, see arena/gateway/prices.py), used before
            litellm's map; default: ARENA_GATEWAY_PRICES.
        config: retries, timeout and budgets; default: the ARENA_GATEWAY_* settings.
    """

    def __init__(
        self,
        store: Store,
        socket_dir: Path,
        *,
        prices: dict[str, dict | Price] | Prices | None = None,
        config: GatewayConfig | None = None,
    ):
        self.store = store
        self.socket_dir = Path(socket_dir)
        self.socket_path = self.socket_dir / SOCKET_NAME
        if len(os.fsencode(self.socket_path.absolute())) > MAX_SOCKET_PATH:
            raise UserError(
                f"the gateway's socket path {self.socket_path} is longer than the {MAX_SOCKET_PATH} bytes a unix "
                "socket may have; give the Gateway a shorter socket_dir (e.g. one from tempfile.mkdtemp())"
            )
        self.config = config or GatewayConfig.from_env()
        self.prices = prices if isinstance(prices, Prices) else Prices(prices) if prices else Prices.from_setting()
        self.url = ""
        self._keys: dict[str, Key] = {}
        self._ledger = GatewayLedger(store)
        self._app = GatewayApp(self._ledger, self.prices, self.config, self._keys)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- serving -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on 127.0.0.1:<ephemeral port> and the unix socket, from a daemon thread; returns once serving."""
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.chmod(0o755)
        if self.socket_path.is_socket() or self.socket_path.exists():
            self.socket_path.unlink()  # a dead gateway's socket
        # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets, and without it every response
        # (headers, then body: two writes) waited 40 ms for the client's delayed ACK.
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", 0))
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(str(self.socket_path))
        self.socket_path.chmod(0o666)
        config = uvicorn.Config(
            self._app.asgi,
            log_config=None,  # the process's own logging (redaction, JSON) stays as it is
            log_level=None,  # a level here is set on every uvicorn logger of the process (webhooks' access log too)
            access_log=False,
            lifespan="on",
            http="auto",  # httptools and uvloop when installed (uvicorn[standard]): about half the CPU a request
            loop="auto",
            timeout_keep_alive=120,
            timeout_graceful_shutdown=5,  # stop() must not wait on a stream that never ends
        )
        _quiet_uvicorn()
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [tcp, unix]}, name=THREAD_NAME, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the LLM gateway did not start; its error is in the log above (logger uvicorn)")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{tcp.getsockname()[1]}"
        log.info("gateway serving on %s and %s", self.url, self.socket_path)

    def stop(self) -> None:
        """Stop serving (in-flight requests get a few seconds) and remove the socket."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = self._thread = None
        if self.socket_path.exists() and stat.S_ISSOCK(self.socket_path.lstat().st_mode):
            self.socket_path.unlink()

    # --- keys ----------------------------------------------------------------------------------------------------

    def issue_key(
        self,
        arena_id: str,
        contestant: str,
        row_id: int,
        *,
        model: str,
        api_base: str | None,
        api_key_env: str | None,
        cost_limit: float,
    ) -> str:
        """A new virtual key for one contestant, its model only, until `revoke`.

        The upstream is resolved now (arena.llm.endpoint_and_key): SpecError if its key is unset or the model's
        provider speaks none of the OpenAI, Anthropic and Gemini APIs. cost_limit is USD, 0 = no limit.
        """
        upstream = resolve(model, api_base, api_key_env)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = key_hash(key)
        if self.prices.price(model, upstream.model) is None and (cost_limit > 0 or self.config.arena_budget > 0):
            log.warning(
                "gateway: no price is known for %s, so its calls cost 0 and spend caps cannot stop it; "
                "add it to ARENA_GATEWAY_PRICES",
                model,
            )
        self._ledger.add_key(
            GatewayKeyRow(
                key_hash=digest,
                arena_id=arena_id,
                contestant=contestant,
                contestant_id=row_id,
                model=model,
                shape=upstream.shape,
                api_base=upstream.base,
                cost_limit=cost_limit,
            )
        )
        spent = self._ledger.spent(arena_id, contestant)  # a contestant run again keeps what it spent
        self._keys[digest] = Key(
            digest, arena_id, contestant, row_id, model, model_names(model, upstream), upstream, cost_limit, spent=spent
        )
        return key

    def revoke(self, arena_id: str, contestant: str) -> None:
        """End the contestant's keys: any later use gets 401 (the key stays known, so a replay is recorded)."""
        for key in list(self._keys.values()):
            if key.arena_id == arena_id and key.contestant == contestant:
                key.revoked = True
                self._app.forget(key.hash)
        self._ledger.revoke(arena_id, contestant)

    # --- metering ------------------------------------------------------------------------------------------------

    def usage(self, arena_id: str, contestant: str) -> Usage:
        """The contestant's requests, tokens, cost, refusals and retries so far (answered requests included)."""
        self._app.spending.wait_settled(arena_id, contestant)
        return self._ledger.usage(arena_id, contestant)

    def requests(self, arena_id: str, contestant: str) -> list:
        """The contestant's request rows (GatewayRequestRow), oldest first: its gateway log."""
        self._app.spending.wait_settled(arena_id, contestant)
        return self._ledger.requests(arena_id, contestant)

    def budget_exhausted(self, arena_id: str) -> str | None:
        """Why no new contestant of this arena should start: its budget or today's is spent (else None)."""
        self._app.spending.refresh(arena_id)
        return self._app.spending.budget_reason(arena_id)


class _GatewayChatter(logging.Filter):
    """Drops uvicorn's info lines from the gateway's own threads ("Started server process", "Finished server
    process" at exit, when a test runner may have closed the stream): levels stay as the process set them, so a
    uvicorn server of its own in the same process (the webhooks receiver) logs as before."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.threadName.startswith(THREAD_NAME)


_chatter = _GatewayChatter()


def _quiet_uvicorn() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _chatter not in logger.filters:
        logger.addFilter(_chatter)


_gateways: dict[str, Gateway] = {}
_lock = threading.Lock()


def gateway_for(store: Store) -> Gateway:
    """This process's started Gateway for the store's database (started on first use, stopped at exit)."""
    with _lock:
        gateway = _gateways.get(store.url)
        if gateway is None:
            gateway = Gateway(store, Path(tempfile.mkdtemp(prefix="arena-gw-")))
            gateway.start()
            if not _gateways:
                atexit.register(_stop_all)
            _gateways[store.url] = gateway
        return gateway


def _stop_all() -> None:
    with _lock:
        for gateway in _gateways.values():
            gateway.stop()
            with contextlib.suppress(OSError):
                gateway.socket_dir.rmdir()
        _gateways.clear()
