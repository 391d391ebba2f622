"""Benchmark: what the LLM gateway adds to a model call, through the product's own Gateway, against the fake upstream.

Goals (issue 13), each printed PASS or FAIL, at 1 and at 16 concurrent contestants:
  1. added latency per request: median <= 5 ms (p95 printed beside it), a non-streamed chat completion;
  2. streaming first-byte overhead: median <= 10 ms, a streamed chat completion, to the first body byte.
"Added" = through the gateway minus direct to the upstream, each the statistic over its own requests.

Method. Three processes, as in production: the fake upstream (tests/fakes/openai_server.py, a threaded HTTP server
answering every request with one scripted ~40-token reply, streamed as ~20 SSE chunks when asked); the gateway
(arena.gateway.Gateway started in this process, with its SQLite store in a temp dir: every request is
authenticated, checked against a cost cap, forwarded with the real key, metered and written as a row, the
contestant's totals updated); and the clients (their own process, one thread and one keep-alive httpx client per
contestant, each with its own virtual key). Each client alternates direct and through-gateway requests, so load on
the machine falls on both alike. Three runs: 1 contestant back to back; 16 back to back (every contestant always
has a request in flight: the gateway, one Python event loop, is saturated, so this measures its throughput as much
as its overhead); 16 with a random pause of 0-200 ms before each request (still far busier than agents, whose every
call waits seconds for the model and runs tools between calls). The gateway's own measure of its first byte (gateway_requests.first_byte_ms) and
the rows written are printed too.
--quick: fewer requests, and no think-time run (for tests). The machine may be shared (2 cores): the load average is printed.
Run: .venv/bin/python benchmarks/gateway.py [--quick]
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import load  # noqa: E402

LATENCY_GOAL_MS = 5.0
FIRST_BYTE_GOAL_MS = 10.0
MODEL = "openai/bench-model"
REPLY = "The failing test expects add() to return the sum; the fix replaces the minus with a plus in calc/ops.py."
RUNS = ((1, 0.0), (16, 0.0), (16, 0.1))
"""(concurrent contestants, mean think time between a contestant's requests in seconds)."""


def serve_upstream(port_out, stop) -> None:
    """The fake upstream, in a process of its own."""
    from tests.fakes.openai_server import FakeOpenAI, Text

    with FakeOpenAI() as server:
        server.fallback(MODEL, Text(REPLY, prompt_tokens=2000, completion_tokens=40))
        port_out.put(server.port)
        stop.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_clients(gateway_url: str, upstream_url: str, keys: list[str], n: int, think_s: float, out) -> None:
    """Each contestant: n rounds of (direct, gateway) x (plain, streamed), a random pause (mean think_s) before each
    request; results in ms."""
    import random

    import httpx

    body = {"model": "bench-model", "messages": [{"role": "user", "content": "fix the bug"}]}
    results: dict[str, list[float]] = {k: [] for k in ("direct", "gateway", "direct_fb", "gateway_fb")}
    lock = threading.Lock()
    start = threading.Barrier(len(keys))

    def contestant(key: str) -> None:
        mine: dict[str, list[float]] = {k: [] for k in results}
        with httpx.Client(timeout=30) as client:
            targets = {"direct": (upstream_url, "sk-upstream"), "gateway": (gateway_url, key)}
            for base, token in targets.values():  # warm the connections
                client.post(base + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {token}"})
            start.wait()
            for _ in range(n):
                for name, (base, token) in targets.items():
                    headers = {"authorization": f"Bearer {token}"}
                    time.sleep(random.uniform(0, 2 * think_s))
                    t0 = time.perf_counter()
                    response = client.post(base + "/v1/chat/completions", json=body, headers=headers)
                    mine[name].append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, response.text
                    time.sleep(random.uniform(0, 2 * think_s))
                    t0 = time.perf_counter()
                    stream = body | {"stream": True}
                    with client.stream("POST", base + "/v1/chat/completions", json=stream, headers=headers) as r:
                        chunks = r.iter_raw()
                        next(chunks)
                        mine[name + "_fb"].append((time.perf_counter() - t0) * 1000)
                        for _ in chunks:
                            pass
        with lock:
            for k, v in mine.items():
                results[k] += v

    threads = [threading.Thread(target=contestant, args=(key,)) for key in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (for tests)")
    args = parser.parse_args()
    rounds = {1: 25, 16: 6} if args.quick else {1: 300, 16: 40}
    runs = RUNS[:2] if args.quick else RUNS
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["BENCH_UPSTREAM_KEY"] = "sk-upstream"

    from arena.gateway import Gateway, GatewayConfig
    from arena.storage import ArenaRow, ContestantRow, Store
    from arena.storage.models import GatewayRequestRow

    print(f"load average before: {load()}")
    spawn = multiprocessing.get_context("spawn")
    port_out, stop = spawn.Queue(), spawn.Event()
    upstream_process = spawn.Process(target=serve_upstream, args=(port_out, stop), daemon=True)
    upstream_process.start()
    upstream_url = f"http://127.0.0.1:{port_out.get(timeout=60)}"

    failures = []
    with tempfile.TemporaryDirectory(prefix="arena-gw-bench-") as tmp:
        store = Store(f"sqlite:///{tmp}/arena.db")
        names = [f"c{i}" for i in range(max(c for c, _ in RUNS))]
        arena = ArenaRow(id="BENCH", repo="r", base="HEAD", base_sha="0" * 40, spec={}, status="running")
        store.create_arena(arena, [ContestantRow(name=n, model=MODEL, strategy="s") for n in names])
        ids = {c.name: c.id for c in store.arena("BENCH").contestants}
        prices = {MODEL: {"input": 1.0, "output": 4.0}}
        gateway = Gateway(store, Path(tmp) / "gw", prices=prices, config=GatewayConfig.from_env())
        gateway.start()
        keys = [
            gateway.issue_key(
                "BENCH",
                n,
                ids[n],
                model=MODEL,
                api_base=upstream_url + "/v1",
                api_key_env="BENCH_UPSTREAM_KEY",
                cost_limit=1e6,  # a cap to check on every request, as in a real arena
            )
            for n in names
        ]
        print(f"gateway {gateway.url} (SQLite store, rows written per request), upstream {upstream_url}")
        print(
            f"{'clients':>7} {'think':>5} {'requests':>8}  {'direct med':>10} {'gateway med':>11} {'added med':>9} "
            f"{'added p95':>9}  {'fb direct':>9} {'fb gateway':>10} {'fb added':>8} {'fb p95':>7}"
        )
        for concurrency, think_s in runs:
            out = spawn.Queue()
            clients = spawn.Process(
                target=run_clients,
                args=(gateway.url, upstream_url, keys[:concurrency], rounds[concurrency], think_s, out),
            )
            clients.start()
            r = out.get(timeout=600)
            clients.join()
            med = {k: statistics.median(v) for k, v in r.items()}
            p95 = {k: percentile(v, 0.95) for k, v in r.items()}
            added, added_p95 = med["gateway"] - med["direct"], p95["gateway"] - p95["direct"]
            fb, fb_p95 = med["gateway_fb"] - med["direct_fb"], p95["gateway_fb"] - p95["direct_fb"]
            print(
                f"{concurrency:>7} {think_s * 1000:>3.0f}ms {len(r['gateway']):>8}  {med['direct']:>8.2f}ms {med['gateway']:>9.2f}ms "
                f"{added:>7.2f}ms {added_p95:>7.2f}ms  {med['direct_fb']:>7.2f}ms {med['gateway_fb']:>8.2f}ms "
                f"{fb:>6.2f}ms {fb_p95:>5.2f}ms"
            )
            at = f"{concurrency} clients" + (f", {think_s * 1000:.0f} ms think" if think_s else " back to back")
            if added > LATENCY_GOAL_MS:
                failures.append(f"added latency {added:.1f} ms at {at}")
            if fb > FIRST_BYTE_GOAL_MS:
                failures.append(f"first-byte overhead {fb:.1f} ms at {at}")
            print(
                f"        goal 1 (added median <= {LATENCY_GOAL_MS:g} ms): {'PASS' if added <= LATENCY_GOAL_MS else 'FAIL'}"
                f"; goal 2 (first-byte overhead <= {FIRST_BYTE_GOAL_MS:g} ms): "
                f"{'PASS' if fb <= FIRST_BYTE_GOAL_MS else 'FAIL'}"
            )
        usage = [gateway.usage("BENCH", n) for n in names]
        with store.session() as s:
            first_bytes = [r for r in s.query(GatewayRequestRow.first_byte_ms).all() if r[0] is not None]
        print(
            f"rows written: {sum(u.requests for u in usage)}, metered cost ${sum(u.cost for u in usage):.2f}; "
            f"the gateway's own first-byte median (request in -> first byte out, upstream included): "
            f"{statistics.median(fb for (fb,) in first_bytes):.2f} ms"
        )
        gateway.stop()
    stop.set()
    upstream_process.join(10)
    print(f"load average after: {load()}")
    verdict = "FAIL: " + "; ".join(failures) + ":" if failures else "PASS:"
    print(f"VERDICT: {verdict} gateway overhead at 1 and 16 concurrent contestants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
