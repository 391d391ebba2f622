"""Benchmark: leaderboard analytics in DuckDB over Parquet, against the same queries in SQLite.

Goal: the leaderboard query (per model x strategy) takes <= 100 ms in DuckDB and is >= 10x faster than
in SQLite; the pairwise aggregation that feeds Bradley-Terry ratings takes <= 1 s in DuckDB on all arenas.

Data (seeded numpy, written by polars as Parquet): 1,000,000 contestant rows shaped like the project's
contestants/evaluations tables (arena_id as 8 hex digits, name, model (20), strategy (3),
agent = model+'+'+strategy, status, exit_status, steps, cost, tokens, duration_s, resolved, won,
created_at over one year), in arenas of 2-8 contestants with exactly one winner each (the best by
resolved, then a skill draw), and one row per agent step (arena_id, contestant, step, cost, tokens,
duration_s; ~20 M rows), whose sums are the contestants' steps/cost/tokens. --quick: 100k contestants,
~1 M steps.
Measured in one run, each query once as warm-up then 3 timed runs (the median is reported):
  * DuckDB (in memory, default threads): views over read_parquet(), so every run scans the Parquet;
  * SQLite (file database, one thread by design): the same rows inserted with executemany from polars
    (no DuckDB sqlite extension), indexes on the grouping/join columns, ANALYZE; loading is timed
    separately and counted nowhere else. Pragmas: 4 GB page cache, mmap, temp_store=MEMORY.
Queries (SQL text below):
  1. leaderboard: runs, wins, win rate, resolve rate, mean cost, cost per win, mean steps, p50/p90
     duration. DuckDB: quantile_cont(duration_s, [0.5, 0.9]) (one sort per group for both). SQLite has no percentile: ROW_NUMBER() and COUNT(*) windows
     partitioned by model, strategy, then the same linear interpolation as quantile_cont
     (x[floor(h)] + frac(h) * (x[floor(h) + 1] - x[floor(h)]), h = (n - 1) * p).
  2. pairwise: self-join on arena_id, ordered pairs (a, b) of contestants with different agents;
     a scores 1 if a won, 0 if b won, else 1/0 if exactly one resolved, else 0.5 (tie); summed per
     (agent_a, agent_b) into wins/ties/games. DuckDB runs it on all arenas (the goal) and on a sample;
     SQLite only on the sample (arena_id < '1999999a', ~10 % of arenas: the full self-join would take
     minutes), and the ratio compares both engines on that same sample. Sample times are as measured,
     not scaled up.
  3. steps rollup: per agent, step rows, total and mean per-step cost: steps pre-aggregated per
     (arena_id, contestant), then joined to contestants for the agent.
The Parquet files and the SQLite database are flushed to disk (os.sync) before any query, so no background
writeback competes with the timings. The machine may be shared: the CPU that other processes used during
the timed phase (from /proc/stat, minus this process's own CPU time) is printed with the results.
Each pair of results must agree: same rows after sorting, numbers within 1e-6 (absolute or relative).
Everything lives in one temporary directory, deleted at the end.
Run: .venv/bin/python benchmarks/leaderboard.py [--quick]
"""

import argparse
import math
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

SEED = 20250101
LEADERBOARD_GOAL_MS = 100.0
LEADERBOARD_GOAL_RATIO = 10.0
PAIRWISE_GOAL_MS = 1000.0
SAMPLE_BELOW = "1999999a"  # arena ids are uniform 8-hex-digit strings: this keeps ~10 % of arenas
RUNS = 3
TOLERANCE = 1e-6

MODELS = [
    "anthropic/claude-opus-4",
    "anthropic/claude-sonnet-4",
    "anthropic/claude-3-7-sonnet",
    "anthropic/claude-3-5-haiku",
    "openai/gpt-5",
    "openai/gpt-5-mini",
    "openai/gpt-4.1",
    "openai/gpt-4.1-mini",
    "openai/o3",
    "openai/o4-mini",
    "gemini/gemini-2.5-pro",
    "gemini/gemini-2.5-flash",
    "deepseek/deepseek-chat",
    "deepseek/deepseek-reasoner",
    "mistral/devstral-medium",
    "mistral/mistral-large",
    "xai/grok-4",
    "groq/llama-3.3-70b",
    "together_ai/qwen3-coder-480b",
    "ollama/qwen2.5-coder:32b",
]
STRATEGIES = ["balanced", "minimal-fix", "test-first"]
STATUSES = ["completed", "failed", "timed_out", "cancelled", "interrupted"]
STATUS_P = [0.88, 0.06, 0.03, 0.02, 0.01]

# ---------------------------------------------------------------------------------------------------------------------
# Queries. Views/tables: contestants, steps (DuckDB: views over Parquet; SQLite: tables).

DUCK_LEADERBOARD = """
SELECT model, strategy, runs, wins, win_rate, resolve_rate, mean_cost, cost_per_win, mean_steps,
       q[1] AS p50_duration_s, q[2] AS p90_duration_s
FROM (
SELECT model, strategy,
       count(*) AS runs,
       sum(won::INTEGER) AS wins,
       avg(won::INTEGER) AS win_rate,
       avg(resolved::INTEGER) AS resolve_rate,
       avg(cost) AS mean_cost,
       sum(cost) / nullif(sum(won::INTEGER), 0) AS cost_per_win,
       avg(steps) AS mean_steps,
       quantile_cont(duration_s, [0.5, 0.9]) AS q
FROM contestants
GROUP BY model, strategy
)
ORDER BY model, strategy
"""

SQLITE_LEADERBOARD = """
WITH ranked AS (
    SELECT model, strategy, won, resolved, cost, steps, duration_s,
           ROW_NUMBER() OVER (PARTITION BY model, strategy ORDER BY duration_s) - 1 AS i,
           COUNT(*) OVER (PARTITION BY model, strategy) AS n
    FROM contestants
), grouped AS (
    SELECT model, strategy,
           count(*) AS runs,
           sum(won) AS wins,
           avg(won) AS win_rate,
           avg(resolved) AS resolve_rate,
           avg(cost) AS mean_cost,
           sum(cost) / nullif(sum(won), 0) AS cost_per_win,
           avg(steps) AS mean_steps,
           max(n) AS n,
           max(CASE WHEN i = CAST((n - 1) * 0.5 AS INTEGER) THEN duration_s END) AS lo50,
           max(CASE WHEN i = min(CAST((n - 1) * 0.5 AS INTEGER) + 1, n - 1) THEN duration_s END) AS hi50,
           max(CASE WHEN i = CAST((n - 1) * 0.9 AS INTEGER) THEN duration_s END) AS lo90,
           max(CASE WHEN i = min(CAST((n - 1) * 0.9 AS INTEGER) + 1, n - 1) THEN duration_s END) AS hi90
    FROM ranked
    GROUP BY model, strategy
)
SELECT model, strategy, runs, wins, win_rate, resolve_rate, mean_cost, cost_per_win, mean_steps,
       lo50 + ((n - 1) * 0.5 - CAST((n - 1) * 0.5 AS INTEGER)) * (hi50 - lo50) AS p50_duration_s,
       lo90 + ((n - 1) * 0.9 - CAST((n - 1) * 0.9 AS INTEGER)) * (hi90 - lo90) AS p90_duration_s
FROM grouped
ORDER BY model, strategy
"""

# {won}/{resolved} are how each engine turns its boolean column into 0/1; {where} restricts to a sample.
PAIRWISE = """
SELECT agent_a, agent_b,
       sum(CASE WHEN score = 1.0 THEN 1 ELSE 0 END) AS wins,
       sum(CASE WHEN score = 0.5 THEN 1 ELSE 0 END) AS ties,
       count(*) AS games
FROM (
    SELECT a.agent AS agent_a, b.agent AS agent_b,
           CASE WHEN {won_a} = 1 THEN 1.0
                WHEN {won_b} = 1 THEN 0.0
                WHEN {res_a} > {res_b} THEN 1.0
                WHEN {res_a} < {res_b} THEN 0.0
                ELSE 0.5 END AS score
    FROM contestants a
    JOIN contestants b ON a.arena_id = b.arena_id AND a.agent <> b.agent
    {where}
) pairs
GROUP BY agent_a, agent_b
ORDER BY agent_a, agent_b
"""


def pairwise_sql(duck: bool, sample: bool) -> str:
    cast = "{}.{}::INTEGER" if duck else "{}.{}"
    where = f"WHERE a.arena_id < '{SAMPLE_BELOW}' AND b.arena_id < '{SAMPLE_BELOW}'" if sample else ""
    return PAIRWISE.format(
        won_a=cast.format("a", "won"),
        won_b=cast.format("b", "won"),
        res_a=cast.format("a", "resolved"),
        res_b=cast.format("b", "resolved"),
        where=where,
    )


STEPS_ROLLUP = """
SELECT c.agent,
       sum(s.n) AS step_rows,
       sum(s.cost) AS total_step_cost,
       sum(s.cost) / sum(s.n) AS mean_step_cost
FROM (
    SELECT arena_id, contestant, count(*) AS n, sum(cost) AS cost
    FROM steps
    GROUP BY arena_id, contestant
) s
JOIN contestants c ON c.arena_id = s.arena_id AND c.name = s.contestant
GROUP BY c.agent
ORDER BY c.agent
"""

SQLITE_SCHEMA = """
CREATE TABLE contestants (
    id INTEGER PRIMARY KEY,
    arena_id VARCHAR(32) NOT NULL,
    name VARCHAR(64) NOT NULL,
    model TEXT NOT NULL,
    strategy TEXT NOT NULL,
    agent TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    exit_status VARCHAR(64),
    steps INTEGER NOT NULL,
    cost FLOAT NOT NULL,
    tokens INTEGER NOT NULL,
    duration_s FLOAT NOT NULL,
    resolved BOOLEAN NOT NULL,
    won BOOLEAN NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE TABLE steps (
    id INTEGER PRIMARY KEY,
    arena_id VARCHAR(32) NOT NULL,
    contestant VARCHAR(64) NOT NULL,
    step INTEGER NOT NULL,
    cost FLOAT NOT NULL,
    tokens INTEGER NOT NULL,
    duration_s FLOAT NOT NULL
);
"""

SQLITE_INDEXES = """
CREATE UNIQUE INDEX uq_contestants_arena_name ON contestants (arena_id, name);
CREATE INDEX ix_contestants_model_strategy ON contestants (model, strategy);
CREATE INDEX ix_contestants_agent ON contestants (agent);
CREATE INDEX ix_steps_arena_contestant ON steps (arena_id, contestant);
ANALYZE;
"""

# ---------------------------------------------------------------------------------------------------------------------
# Data


def synthesize(n_contestants: int, n_steps_target: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Contestants (one winner per arena) and their step rows; the contestants' steps/cost/tokens are the step sums."""
    rng = np.random.default_rng(SEED)
    n = n_contestants

    # arenas of 2-8 contestants summing exactly to n
    sizes = rng.integers(2, 9, size=n // 2 + 16)
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, n))
    sizes = sizes[: last + 1].copy()
    sizes[last] -= int(ends[last]) - n
    if sizes[last] == 1:  # a lone contestant: give it to (or take one from) the previous arena
        if sizes[last - 1] < 8:
            sizes, sizes[last - 1] = sizes[:last], sizes[last - 1] + 1
        else:
            sizes[last - 1], sizes[last] = 7, 2
    n_arenas = len(sizes)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    arena_of = np.repeat(np.arange(n_arenas), sizes)
    position = np.arange(n) - np.repeat(starts, sizes)
    # distinct pseudo-random 8-hex-digit ids (odd multiplier: a bijection mod 2^32), arenas in creation order
    ids = (np.arange(n_arenas, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(SEED)) % np.uint64(2**32)
    arena_ids = pl.Series("arena_id", np.char.mod("%08x", ids).astype(str))
    arena_seconds = np.sort(rng.uniform(0, 365 * 86400, n_arenas))

    popularity = rng.dirichlet(np.full(len(MODELS), 2.0))
    model = rng.choice(len(MODELS), size=n, p=popularity)
    strategy = rng.choice(len(STRATEGIES), size=n, p=[0.5, 0.3, 0.2])
    skill = np.sort(rng.normal(0, 0.8, len(MODELS)))[::-1][model] + np.array([0.0, -0.15, 0.1])[strategy]
    price = rng.uniform(0.1, 15.0, len(MODELS))[model] / 1e6  # $ per token
    status = rng.choice(len(STATUSES), size=n, p=STATUS_P)
    submitted = (status == 0) & (rng.random(n) < 0.9)
    exit_status = np.where(
        status == 0,
        np.where(submitted, "Submitted", "LimitsExceeded"),
        np.array(["", "RuntimeError", "TimeExceeded", "Cancelled", ""])[status],
    )
    resolved = submitted & (rng.random(n) < 1 / (1 + np.exp(0.3 - skill)))
    # exactly one winner per arena: the best by (resolved, skill + noise)
    score = resolved * 10.0 + skill + rng.normal(0, 1, n)
    order = np.lexsort((-score, arena_of))
    won = np.zeros(n, dtype=bool)
    won[order[starts]] = True

    # steps per contestant: 1 + negative binomial with the mean that hits the target total
    mean_steps = n_steps_target / n
    steps = 1 + rng.negative_binomial(2, 2 / (mean_steps + 1), size=n)
    owner = np.repeat(np.arange(n), steps)
    total = len(owner)
    step_no = np.arange(total) - np.repeat(np.cumsum(steps) - steps, steps) + 1
    step_tokens = rng.lognormal(7.6, 0.6, total).astype(np.int64) + 50
    step_cost = step_tokens * price[owner]
    step_duration = rng.lognormal(1.2, 0.7, total)
    names = pl.Series("name", np.char.add("c", (position + 1).astype(str)))

    step_rows = pl.DataFrame(
        {
            "arena_id": arena_ids.gather(arena_of[owner]),
            "contestant": names.gather(owner),
            "step": step_no,
            "cost": step_cost,
            "tokens": step_tokens,
            "duration_s": step_duration,
        }
    )
    models = pl.Series(MODELS).gather(model)
    strategies = pl.Series(STRATEGIES).gather(strategy)
    contestants = pl.DataFrame(
        {
            "arena_id": arena_ids.gather(arena_of),
            "name": names,
            "model": models,
            "strategy": strategies,
            "agent": models + "+" + strategies,
            "status": pl.Series(STATUSES).gather(status),
            "exit_status": pl.Series(exit_status).replace("", None),
            "steps": steps,
            "cost": np.bincount(owner, weights=step_cost, minlength=n),
            "tokens": np.bincount(owner, weights=step_tokens, minlength=n).astype(np.int64),
            "duration_s": np.bincount(owner, weights=step_duration, minlength=n) + rng.lognormal(2.5, 0.5, n),
            "resolved": resolved,
            "won": won,
            "created_at": (
                np.datetime64("2025-01-01T00:00:00", "us")
                + (arena_seconds[arena_of] * 1e6).astype("timedelta64[us]")
                + (position * 1000).astype("timedelta64[us]")
            ),
        }
    )
    return contestants, step_rows


def load_sqlite(path: Path, contestants: pl.DataFrame, steps: pl.DataFrame) -> tuple[float, float, float]:
    """Rows in with executemany (chunks of polars rows); returns ms for contestants, steps, indexes + ANALYZE."""
    con = sqlite3.connect(path)
    con.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SQLITE_SCHEMA)
    flat = contestants.with_columns(
        pl.col("resolved", "won").cast(pl.Int8),
        pl.col("created_at").dt.to_string("%Y-%m-%d %H:%M:%S%.6f"),
    )
    timings = []
    for table, frame in (("contestants", flat), ("steps", steps)):
        start = time.perf_counter()
        cols = ", ".join(frame.columns)
        marks = ", ".join("?" * frame.width)
        for offset in range(0, frame.height, 500_000):
            con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", frame.slice(offset, 500_000).iter_rows())
        con.commit()
        timings.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    con.executescript(SQLITE_INDEXES)
    con.commit()
    timings.append((time.perf_counter() - start) * 1000)
    con.close()
    return timings[0], timings[1], timings[2]


# ---------------------------------------------------------------------------------------------------------------------
# Timing and checking


def bench(con, sql: str) -> tuple[list[float], list[tuple]]:
    """One warm-up, then RUNS timed runs (each result fetched in full); the ms of each run and the last result."""
    rows = con.execute(sql).fetchall()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        rows = con.execute(sql).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return times, rows


def machine_busy_s() -> float | None:
    """CPU seconds all processes have used since boot (/proc/stat: everything but idle and iowait), if known."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def disagreement(left: list[tuple], right: list[tuple]) -> str | None:
    """None when both results hold the same rows (sorted; numbers within TOLERANCE), else the first difference."""
    if len(left) != len(right):
        return f"{len(left)} rows vs {len(right)}"

    def key(row):
        return tuple("" if v is None else str(v) for v in row if isinstance(v, str) or v is None)

    for a, b in zip(sorted(left, key=key), sorted(right, key=key), strict=True):
        if len(a) != len(b):
            return f"{a} vs {b}"
        for x, y in zip(a, b, strict=True):
            if x is None or y is None or isinstance(x, str) or isinstance(y, str):
                same = x == y
            else:
                same = math.isclose(float(x), float(y), rel_tol=TOLERANCE, abs_tol=TOLERANCE)
            if not same:
                return f"{a} vs {b}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k contestants, ~1 M step rows (for tests)")
    args = parser.parse_args()
    n_contestants, n_steps = (100_000, 1_000_000) if args.quick else (1_000_000, 20_000_000)

    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-leaderboard-"))
    try:
        start = time.perf_counter()
        contestants, steps = synthesize(n_contestants, n_steps)
        gen_ms = (time.perf_counter() - start) * 1000
        n_arenas = contestants["arena_id"].n_unique()
        sample_arenas = contestants.filter(pl.col("arena_id") < SAMPLE_BELOW)["arena_id"].n_unique()
        print(
            f"synthesized {contestants.height:,} contestants in {n_arenas:,} arenas and {steps.height:,} step rows "
            f"in {gen_ms / 1000:.1f} s (seed {SEED})"
        )
        start = time.perf_counter()
        c_parquet, s_parquet = tmp / "contestants.parquet", tmp / "steps.parquet"
        contestants.write_parquet(c_parquet)
        steps.write_parquet(s_parquet)
        parquet_ms = (time.perf_counter() - start) * 1000
        size_mb = (c_parquet.stat().st_size + s_parquet.stat().st_size) / 1e6
        print(f"Parquet: {size_mb:.0f} MB written in {parquet_ms / 1000:.1f} s")
        os.sync()

        db = tmp / "arena.sqlite"
        load_c, load_s, load_ix = load_sqlite(db, contestants, steps)
        print(
            f"SQLite load (not counted in any query time): contestants {load_c / 1000:.1f} s, "
            f"steps {load_s / 1000:.1f} s, indexes + ANALYZE {load_ix / 1000:.1f} s; "
            f"file {db.stat().st_size / 1e6:.0f} MB"
        )
        del contestants, steps
        os.sync()

        duck = duckdb.connect()
        duck.execute(f"CREATE VIEW contestants AS SELECT * FROM read_parquet('{c_parquet}')")
        duck.execute(f"CREATE VIEW steps AS SELECT * FROM read_parquet('{s_parquet}')")
        lite = sqlite3.connect(db)
        lite.executescript("PRAGMA cache_size = -4000000; PRAGMA mmap_size = 8000000000; PRAGMA temp_store = MEMORY;")
        threads = duck.execute("SELECT current_setting('threads')").fetchall()[0][0]
        print(
            f"DuckDB {duckdb.__version__} ({threads} threads), SQLite {sqlite3.sqlite_version} (1 thread); "
            f"median of {RUNS} runs after 1 warm-up\n"
        )

        sample_label = f"sample: {sample_arenas:,} of {n_arenas:,} arenas ({100 * sample_arenas / n_arenas:.1f} %)"
        cases = [
            ("1. leaderboard", "all", DUCK_LEADERBOARD, SQLITE_LEADERBOARD),
            ("2. pairwise", "all arenas", pairwise_sql(True, False), None),
            ("2. pairwise", sample_label, pairwise_sql(True, True), pairwise_sql(False, True)),
            ("3. steps rollup", "all", STEPS_ROLLUP, STEPS_ROLLUP),
        ]
        header = (
            f"{'query':<16} | {'data':<42} | {'rows':>5} | {'DuckDB ms':>9} | {'SQLite ms':>9} | "
            f"{'SQLite/DuckDB':>13} | agree"
        )
        print(header)
        print("-" * len(header))
        results = {}
        busy0, own0, wall0 = machine_busy_s(), time.process_time(), time.perf_counter()
        for name, data, duck_sql, lite_sql in cases:
            duck_runs, duck_rows = bench(duck, duck_sql)
            duck_ms = statistics.median(duck_runs)
            if lite_sql is None:
                lite_ms, problem, lite_text, ratio_text, agree = None, None, "-", "-", "-"
            else:
                lite_runs, lite_rows = bench(lite, lite_sql)
                lite_ms = statistics.median(lite_runs)
                problem = disagreement(duck_rows, lite_rows)
                lite_text, ratio_text = f"{lite_ms:.0f}", f"{lite_ms / duck_ms:.1f}x"
                agree = "yes" if problem is None else "NO"
            results[(name, data)] = (duck_ms, lite_ms, problem, duck_rows, duck_runs)
            print(
                f"{name:<16} | {data:<42} | {len(duck_rows):>5} | {duck_ms:>9.1f} | {lite_text:>9} | "
                f"{ratio_text:>13} | {agree}"
            )
            if problem:
                print(f"   first difference: {problem}")
        busy1, own1, wall1 = machine_busy_s(), time.process_time(), time.perf_counter()
        lite.close()
        duck.close()
        if busy0 is not None and busy1 is not None:
            other = max(0.0, (busy1 - busy0) - (own1 - own0))
            cores = os.cpu_count() or 1
            print(
                f"\nCPU used outside this process (other processes, kernel threads): {other:.1f} CPU-s of {cores * (wall1 - wall0):.0f} available "
                f"({100 * other / (cores * (wall1 - wall0)):.0f} %) during the {wall1 - wall0:.0f} s of queries"
            )

        board = results[("1. leaderboard", "all")][3]
        best = sorted(board, key=lambda r: -r[4])[:3]
        print("top 3 by win rate: " + "; ".join(f"{m}+{s} {w:.1%} of {n:,}" for m, s, n, _, w, *_ in best))

        lb_duck, lb_lite, _, _, lb_runs = results[("1. leaderboard", "all")]
        print("DuckDB leaderboard runs: " + ", ".join(f"{ms:.1f}" for ms in lb_runs) + " ms")
        pw_duck = results[("2. pairwise", "all arenas")][0]
        problems = [f"{name} ({data})" for (name, data), r in results.items() if r[2]]
        failures = []
        if lb_duck > LEADERBOARD_GOAL_MS:
            failures.append(f"leaderboard {lb_duck:.0f} ms > {LEADERBOARD_GOAL_MS:.0f} ms")
        if lb_lite / lb_duck < LEADERBOARD_GOAL_RATIO:
            failures.append(f"leaderboard only {lb_lite / lb_duck:.1f}x faster than SQLite")
        if pw_duck > PAIRWISE_GOAL_MS:
            failures.append(f"pairwise {pw_duck:.0f} ms > {PAIRWISE_GOAL_MS:.0f} ms")
        if problems:
            failures.append("results differ: " + ", ".join(problems))
        verdict = "FAIL: " + "; ".join(failures) + ":" if failures else "PASS:"
        print(
            f"VERDICT: {verdict} leaderboard {lb_duck:.1f} ms in DuckDB, {lb_lite / lb_duck:.0f}x faster than SQLite "
            f"(goal <= {LEADERBOARD_GOAL_MS:.0f} ms, >= {LEADERBOARD_GOAL_RATIO:.0f}x); pairwise on all "
            f"{n_arenas:,} arenas {pw_duck:.0f} ms (goal <= {PAIRWISE_GOAL_MS:.0f} ms); "
            f"DuckDB and SQLite results {'differ' if problems else 'agree'}"
        )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
