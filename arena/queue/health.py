"""Is the queue healthy? The database, jobs waiting and running per queue, how long the oldest has waited, and the
workers procrastinate has seen (their heartbeats), read from PostgreSQL; `arena health`, `arena worker --health-port`
(GET /health: 200 when the database answers, else 503) and the app's Health page all show `health()`.

On SQLite there is no queue: arenas run in the process that launches them, so only the database is checked.
"""

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import Engine, create_engine, make_url, text

from arena.errors import UserError
from arena.ops import redact
from arena.recovery import lease_s
from arena.storage import make_engine

log = logging.getLogger("arena.health")

NO_QUEUE = "no queue: arenas run in the launching process"
NO_QUEUE_YET = "no queue yet: `arena worker` or `arena run --detach` creates it"
CONNECT_TIMEOUT_S = 5
"""A probe of a database that does not answer fails in this long (a black-holed host would otherwise hang it)."""

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _engine(database_url: str) -> Engine:
    """One engine per database for the probes; never the store's (opening a Store migrates, a probe only reads)."""
    with _engines_lock:
        if database_url not in _engines:
            if make_url(database_url).get_backend_name() == "postgresql":
                connect = {"connect_timeout": CONNECT_TIMEOUT_S}
                _engines[database_url] = create_engine(database_url, pool_pre_ping=True, connect_args=connect)
            else:
                _engines[database_url] = make_engine(database_url)
        return _engines[database_url]


def health(database_url: str) -> dict:
    """What `arena health --json` prints and GET /health returns.

    Returns:
        ok: the database answered. database: "ok" or "error"; error: what failed (redacted), else None.
        url: the database, its password hidden. backend: "postgresql", "sqlite", ...
        queue: {todo, doing, by_queue: {name: {todo, doing}}} (None without a queue; note says why).
        oldest_queued_s: how long the longest-waiting job ready to run has waited (None: none waits).
        workers: [{id, last_heartbeat_s, doing, stalled}] as procrastinate lists them (its worker id; the JSON logs
        carry it beside the worker's host:pid). stalled_workers: the ids of those silent for over ARENA_LEASE_S
        (their jobs are retried elsewhere by any live worker).
    """
    try:
        url = make_url(database_url)
        shown, backend = url.render_as_string(hide_password=True), url.get_backend_name()
    except Exception as e:  # not a URL at all: say so, as a failed database
        shown, backend = redact(database_url), "unknown"
        return _report(shown, backend, error=f"{type(e).__name__}: {e}")
    try:
        with _engine(database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
            if backend != "postgresql":
                return _report(shown, backend, note=NO_QUEUE)
            if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
                return _report(shown, backend, queue=_depth([]), workers=[], note=NO_QUEUE_YET)
            depth = _depth(conn.execute(DEPTH).all())
            oldest = conn.execute(OLDEST).scalar()
            workers = [
                {"id": w.id, "last_heartbeat_s": round(w.age, 1), "doing": w.doing, "stalled": w.age > lease_s()}
                for w in conn.execute(WORKERS)
            ]
    except Exception as e:  # the report says what failed; a probe must not crash
        log.warning("health: the database did not answer: %s: %s", type(e).__name__, e)
        return _report(shown, backend, error=f"{type(e).__name__}: {e}".splitlines()[0])
    return _report(shown, backend, queue=depth, oldest=oldest, workers=workers)


def _report(url: str, backend: str, error=None, note=None, queue=None, oldest=None, workers=None) -> dict:
    return {
        "ok": error is None,
        "database": "error" if error else "ok",
        "error": redact(error) if error else None,
        "url": url,
        "backend": backend,
        "note": note,
        "queue": queue,
        "oldest_queued_s": None if oldest is None else round(float(oldest), 1),
        "workers": workers,
        "stalled_workers": [w["id"] for w in workers or [] if w["stalled"]],
    }


DEPTH = text(
    "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
    "GROUP BY queue_name, status"
)
# A job waits from its last arrival in `todo` (deferred, deferred again for a retry, retried by hand), or from when it
# was scheduled for if that is later; jobs scheduled for the future are not waiting yet.
OLDEST = text(
    """
    SELECT EXTRACT(EPOCH FROM now() - min(GREATEST(e.since, j.scheduled_at)))
    FROM procrastinate_jobs j
    CROSS JOIN LATERAL (
        SELECT max(at) AS since FROM procrastinate_events
        WHERE job_id = j.id AND type IN ('deferred', 'deferred_for_retry', 'retried')
    ) e
    WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
    """
)
WORKERS = text(
    """
    SELECT w.id, EXTRACT(EPOCH FROM now() - w.last_heartbeat)::float AS age, count(j.id) AS doing
    FROM procrastinate_workers w
    LEFT JOIN procrastinate_jobs j ON j.worker_id = w.id AND j.status = 'doing'
    GROUP BY w.id ORDER BY w.id
    """
)


def _depth(rows) -> dict:
    by_queue: dict[str, dict[str, int]] = {}
    for queue, status, count in rows:
        by_queue.setdefault(queue, {"todo": 0, "doing": 0})[status] = count
    return {
        "todo": sum(q["todo"] for q in by_queue.values()),
        "doing": sum(q["doing"] for q in by_queue.values()),
        "by_queue": dict(sorted(by_queue.items())),
    }


def health_lines(report: dict) -> list[str]:
    """`arena health` without --json."""
    if not report["ok"]:
        return [f"database error: {report['url']}: {report['error']}"]
    lines = [f"database ok: {report['url']}"]
    if report["note"]:
        lines.append(report["note"])
    if (queue := report["queue"]) is None:
        return lines
    oldest = report["oldest_queued_s"]
    waited = f"; the oldest has waited {oldest:g} s" if oldest is not None else ""
    lines.append(f"queue: {queue['todo']} waiting, {queue['doing']} running{waited}")
    lines += [f"  {name:<12} {q['todo']:>5} waiting {q['doing']:>5} running" for name, q in queue["by_queue"].items()]
    lines.append(f"workers seen: {len(report['workers'])}")
    for w in report["workers"]:
        stalled = f"  STALLED: silent for over {lease_s():g} s (ARENA_LEASE_S)" if w["stalled"] else ""
        lines.append(f"  #{w['id']:<5} heartbeat {w['last_heartbeat_s']:g} s ago, {w['doing']} running{stalled}")
    return lines


# -- GET /health on a worker ------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: "HealthServer"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] != "/health":
            self._send(404, {"error": "not found; GET /health"})
            return
        report = health(self.server.database_url) | self.server.extra
        self._send(200 if report["ok"] else 503, report)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # probes every few seconds: not worth a line each
        log.debug("health: " + format, *args)


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], database_url: str, extra: dict):
        self.database_url, self.extra = database_url, extra
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/health"


@contextmanager
def serving_health(database_url: str, host: str, port: int, **extra) -> Iterator[HealthServer]:
    """GET /health on host:port (0: any free port) in a thread while inside; `extra` joins every report (e.g. the
    worker's name). Raises UserError when the address cannot be bound (a port taken), before anything starts."""
    try:
        server = HealthServer((host, port), database_url, extra)
    except OSError as e:
        raise UserError(
            f"cannot serve /health on {host}:{port} ({e.strerror or e}); choose another --health-port"
        ) from None
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="arena-health")
    thread.start()
    log.info("health on %s", server.url)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
