"""Benchmark: workers on the PostgreSQL queue: makespan against the ideal, enqueue->start latency, Live at 32.

Goals (issue 12), each printed PASS or FAIL:
  1. makespan <= 1.1 x the ideal, for 20 arenas x 4 sleep-bound scripted contestants on 1, 2 and 4 `arena worker
     --concurrency 4` processes on this machine;
  2. enqueue->start latency of a contestant job, p95 <= 500 ms (the wait the queue adds: defined below);
  3. a Live refresh <= 100 ms with 32 contestants whose ~150-step trajectories are read from PostgreSQL.

Method. A throwaway PostgreSQL server (initdb, as tests/test_postgres.py starts one), one fresh database per worker
count. The workers are the real command (`python -m arena.cli worker --concurrency 4`, as subprocesses), started and
registered (procrastinate_workers) before anything is queued; the arenas are queued as `arena run --detach` queues
them (arena.engine.validate once, then QueueLauncher.launch per arena, in a process of its own per database: see
enqueue), all at once. Each arena:
the calc repository of the tests, local sandbox, max_parallel 4, contestants c0..c3 (each its own steps file, so its
own agent) running `sleep 1` per step, then submitting. Everything is read back from the database afterwards:
  makespan  the first prepare job's `deferred` event -> the last arena's finished_at.
  ideal     max(work / slots, critical path); slots = workers x concurrency; work = every contestant's run
            (started_at -> finished_at of its row, i.e. its sandbox and agent) + each arena's prepare and judge
            job's duration (procrastinate_events started -> succeeded; the judge's includes preparing the task on
            a worker that had not); critical path = the longest prepare + slowest contestant + judge of one arena.
            What the ideal leaves out is the queue's cost, printed in slot-seconds: the rest of each contestant job
            (claim, preparing the task on a worker that had not, advance), judge jobs beyond an arena's longest
            (deferred again while the first ran; the verdicts recorded per arena are counted), publish/sync jobs,
            and slots left idle. The workers' CPU time (with everything they ran) is printed beside it.
  latency   per contestant job, from procrastinate_events: raw = deferred -> started, which on a saturated queue
            is mostly waiting for a slot (the backlog, not the queue); the goal's figure = started - ready, where
            ready is when the job could first have started: deferred, every older job started (procrastinate takes
            jobs oldest first), and a slot free (fewer jobs running than slots). That is the time the queue takes
            to hand a waiting job to an idle slot (LISTEN/NOTIFY, the fetch, the subworker's turn).
Live: one arena of 32 running contestants, each with a ~150-step trajectory (benchmarks/live_refresh.py's
messages(), ~1 MB) kept the way the runner keeps it: Store.append_steps and Store.put_artifact(...,
"trajectory_info", ...), no files (the app's machine has none of the workers'). streamlit's AppTest drives app/main.py
-> Live with ARENA_DATABASE_URL on that PostgreSQL: (a) a refresh with nothing new; (b) a refresh after the open tab's
contestant gained a step (its messages appended, its info and step counter updated, as the runner does per step);
each the median of several refreshes.
--quick: 4 arenas x 2 contestants of 2 x `sleep 1`, workers 1 and 2, Live with 8 contestants x 20 steps (for tests;
short contestants magnify the fixed cost per job, so its makespan ratio says little).
The machine may be shared (2 cores, other people's tests): its load average is printed before and after.
Run: .venv/bin/python benchmarks/workers.py [--quick]
"""

import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import load  # noqa: E402

MAKESPAN_GOAL = 1.1
LATENCY_GOAL_MS = 500.0
LIVE_GOAL_MS = 100.0
CONCURRENCY = 4
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


@contextmanager
def postgres_server():
    """A throwaway PostgreSQL (tests/fakes/postgres.py, as the tests start theirs): yields the URL of its `arena` db."""
    from tests.fakes.postgres import throwaway_postgres

    try:
        with throwaway_postgres(max_connections=300) as url:
            yield url
    except FileNotFoundError as e:
        raise SystemExit(str(e)) from None


def fresh_database(server_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def epoch(at: datetime) -> float:
    """A store time (naive UTC) or a timestamptz, as seconds since the epoch."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


# ---------------------------------------------------------------------------------------------------------------------
# The queue


def arena_spec(tmp: Path, contestants: int, sleeps: int):
    """A spec like tests/test_queue.py's: the calc repository, scripted contestants that sleep, then submit."""
    from arena.spec import spec_from_dict
    from tests.conftest import CALC_FILES, make_repo, spec_dict, write_steps

    repo = tmp / "calc"
    if not repo.exists():
        make_repo(repo, CALC_FILES)
    folder = tmp / f"spec-{contestants}"
    for i in range(contestants):
        steps = [{"thought": f"c{i} waits ({k})", "commands": ["sleep 1"]} for k in range(sleeps)]
        write_steps(folder / f"c{i}.yaml", [*steps, {"thought": "done", "commands": [SUBMIT]}])
    raw = spec_dict(
        repo,
        [{"name": f"c{i}", "model": f"scripted:c{i}.yaml"} for i in range(contestants)],
        limits={"max_parallel": contestants, "time_budget_s": 1800},
    )
    return spec_from_dict(raw, base_dir=folder)


def start_workers(n: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    workers = []
    for i in range(n):
        log = open(logs / f"worker-{i}.log", "w")  # noqa: SIM115 (the process keeps it)
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "arena.cli", "worker", "--concurrency", str(CONCURRENCY)],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for w in workers:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()


def wait_for(predicate, timeout: float, what: str, logs: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    shown = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("worker-*.log")))
    raise SystemExit(f"timed out waiting for {what}\n{shown}")


def enqueue(url: str, data: Path, tmp: Path, contestants: int, sleeps: int, n_arenas: int, pipe) -> None:
    """In a process of its own: what `arena run --detach` does (validate, then QueueLauncher.launch), n_arenas times
    once the parent says go; sends back the arena ids.

    A process per database because arena.queue.jobs.queue_app serves a second database in one process through
    procrastinate's App.with_connector, whose tasks still defer through the first database's connector."""
    from arena.config import Settings
    from arena.engine import validate
    from arena.queue.jobs import QueueLauncher
    from arena.sandboxes import RepoCache

    os.environ["ARENA_DATABASE_URL"] = url
    settings = Settings.from_env(data)
    spec = arena_spec(tmp, contestants, sleeps)
    base_sha = validate(spec, RepoCache(settings.cache_dir))
    launcher = QueueLauncher(settings)  # the store migrated and procrastinate's schema made, before any worker starts
    pipe.send("ready")
    pipe.recv()
    pipe.send([launcher.launch(spec, base_sha) for _ in range(n_arenas)])


def run_queue(server_url: str, tmp: Path, n_workers: int, contestants: int, sleeps: int, n_arenas: int) -> dict:
    """Queue n_arenas at once on n_workers workers just started, on a fresh database; then read back what happened."""
    import multiprocessing

    from sqlalchemy import text

    from arena.storage import Store

    url = fresh_database(server_url, f"bench_w{n_workers}")
    data = tmp / f"data-w{n_workers}"
    env = {**os.environ, "ARENA_DATABASE_URL": url, "ARENA_DATA_DIR": str(data)}
    logs = tmp / f"logs-w{n_workers}"
    logs.mkdir()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    launcher = context.Process(target=enqueue, args=(url, data, tmp, contestants, sleeps, n_arenas, theirs))
    launcher.start()
    workers: list[subprocess.Popen] = []
    store = None
    try:
        if not ours.poll(300) or ours.recv() != "ready":
            raise SystemExit("the launching process did not get ready")
        store = Store(url)
        workers = start_workers(n_workers, env, logs)

        def registered() -> bool:
            with store.engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar() >= n_workers

        wait_for(registered, 180, f"{n_workers} worker(s) to start", logs)
        ours.send("go")
        if not ours.poll(300):
            raise SystemExit("the launching process did not queue the arenas")
        ids = ours.recv()

        def all_ended() -> bool:
            return all(store.arena(a).status not in ("queued", "running") for a in ids)

        wait_for(all_ended, 1800, "every arena to end", logs)

        def drained() -> bool:  # the jobs still running after the last arena ended (publish, a second judge)
            with store.engine.connect() as conn:
                return not conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")).scalar()

        wait_for(drained, 120, "the last jobs to end", logs)
        arenas = [store.arena(a) for a in ids]
        with store.engine.connect() as conn:
            jobs = conn.execute(
                text(
                    "SELECT j.id, j.task_name, j.status, j.args, "
                    "min(extract(epoch FROM e.at)) FILTER (WHERE e.type = 'deferred'), "
                    "min(extract(epoch FROM e.at)) FILTER (WHERE e.type = 'started'), "
                    "max(extract(epoch FROM e.at)) FILTER (WHERE e.type IN ('succeeded', 'failed', 'aborted')), "
                    "count(*) FILTER (WHERE e.type = 'started') "
                    "FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id "
                    "GROUP BY j.id ORDER BY j.id"
                )
            ).all()
            verdicts = dict(conn.execute(text("SELECT arena_id, count(*) FROM verdicts GROUP BY arena_id")).all())
    finally:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        stop_workers(workers)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers and all they ran, once reaped
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        launcher.join(timeout=30)
        if launcher.is_alive():
            launcher.kill()
        if store is not None:
            store.engine.dispose()
    jobs = [dict(zip(JOB_KEYS, map(_plain, j), strict=True)) for j in jobs]
    return {"arenas": arenas, "jobs": jobs, "logs": logs, "cpu": cpu, "verdicts": verdicts}


JOB_KEYS = ("id", "task", "status", "args", "deferred", "started", "ended", "starts")


def _plain(value):
    return float(value) if type(value).__name__ == "Decimal" else value


def ready_at(job: dict, jobs: list[dict], slots: int) -> float:
    """When `job` could first have started: deferred, every older job started (oldest first), and a slot free."""
    head = max([job["deferred"], *(j["started"] for j in jobs if j["id"] < job["id"] and j["started"] is not None)])
    others = [(j["started"], j["ended"] or float("inf")) for j in jobs if j is not job and j["started"] is not None]
    t = head
    while True:  # the first moment from `head` with fewer jobs running than slots
        running = [(s, e) for s, e in others if s <= t < e]
        if len(running) < slots:
            return t
        t = min(e for _, e in running)


def analyse(run: dict, n_workers: int) -> dict:
    arenas, jobs = run["arenas"], run["jobs"]
    slots = n_workers * CONCURRENCY
    bad = [
        (
            a.id,
            a.status,
            [(c.name, c.status, c.exit_status, c.error) for c in a.contestants if c.exit_status != "Submitted"],
        )
        for a in arenas
        if a.status != "completed" or any(c.exit_status != "Submitted" for c in a.contestants)
    ]
    if bad:
        raise SystemExit(f"arenas did not complete cleanly: {bad[:3]} (logs in {run['logs']})")
    unfinished = [j["task"] for j in jobs if j["started"] is None or j["ended"] is None]
    retried = [j["task"] for j in jobs if j["starts"] > 1 or j["status"] != "succeeded"]
    by_task: dict[str, list[dict]] = {}
    for j in jobs:
        if j["started"] is not None and j["ended"] is not None:
            by_task.setdefault(j["task"].removeprefix("arena:"), []).append(j)
    first_prepare = min(j["deferred"] for j in by_task["prepare"])
    last_end = max(epoch(a.finished_at) for a in arenas)
    makespan = last_end - first_prepare

    def duration(j: dict) -> float:
        return j["ended"] - j["started"]

    rows = {(a.id, c.name): c for a in arenas for c in a.contestants}
    runs = {key: epoch(c.finished_at) - epoch(c.started_at) for key, c in rows.items()}

    def longest(task: str) -> dict[str, float]:
        """Per arena, its longest job of a kind: the one that did the work (a second judge job, deferred while the
        first ran, finds the arena ended and returns)."""
        out: dict[str, float] = {}
        for j in by_task.get(task, []):
            out[j["args"]["arena_id"]] = max(out.get(j["args"]["arena_id"], 0.0), duration(j))
        return out

    prepare, judge = longest("prepare"), longest("judge")
    work = sum(runs.values()) + sum(prepare.values()) + sum(judge.values())
    critical = max(prepare[a.id] + max(runs[(a.id, c.name)] for c in a.contestants) + judge[a.id] for a in arenas)
    ideal = max(work / slots, critical)
    contestant_jobs = by_task["contestant"]
    in_job = sum(duration(j) for j in contestant_jobs) - sum(runs.values())
    extra_judge = sum(duration(j) for j in by_task["judge"]) - sum(judge.values())
    judging_at_once = sum(  # judge jobs that started while another judge job of the same arena ran
        any(
            i is not j and i["args"] == j["args"] and i["started"] <= j["started"] < i["ended"]
            for i in by_task["judge"]
        )
        for j in by_task["judge"]
    )
    busy = sum(duration(j) for js in by_task.values() for j in js)
    other = busy - work - in_job - extra_judge  # publish and sync jobs
    # A contestant job before its run (claim, the task prepared on this worker if it had not) and after (advance).
    heads = [epoch(rows[key(j)].started_at) - j["started"] for j in contestant_jobs]
    tails = [j["ended"] - epoch(rows[key(j)].finished_at) for j in contestant_jobs]
    idle = slots * makespan - busy
    raw = [(j["started"] - j["deferred"]) * 1000 for j in contestant_jobs]
    queue_ms = [max(0.0, j["started"] - ready_at(j, jobs, slots)) * 1000 for j in contestant_jobs]
    return {
        "workers": n_workers,
        "cpu": run["cpu"],
        "slots": slots,
        "makespan": makespan,
        "ideal": ideal,
        "critical": critical,
        "work": work,
        "ratio": makespan / ideal,
        "in_job": in_job,
        "other": other,
        "extra_judge": extra_judge,
        "judging_at_once": judging_at_once,
        "judged_twice": sum(run["verdicts"].get(a.id, 0) > 1 for a in arenas),
        "idle": idle,
        "run_mean": statistics.mean(runs.values()),
        "prepare_mean": statistics.mean(prepare.values()),
        "judge_mean": statistics.mean(judge.values()),
        "raw_median": statistics.median(raw),
        "raw_p95": p95(raw),
        "lat_median": statistics.median(queue_ms),
        "lat_p95": p95(queue_ms),
        "lat_max": max(queue_ms),
        "jobs": {task: len(js) for task, js in sorted(by_task.items())},
        "head_mean": statistics.mean(heads),
        "head_max": max(heads),
        "tail_mean": statistics.mean(tails),
        "unfinished": unfinished,
        "retried": retried,
    }


def key(job: dict) -> tuple[str, str]:
    return job["args"]["arena_id"], job["args"]["name"]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


# ---------------------------------------------------------------------------------------------------------------------
# Live


def seed_live(url: str, contestants: int, steps: int):
    """One running arena on the queue whose contestants' trajectories are kept in the database, as the runner keeps
    them (arena/engine/contestant.py `_keep`); no trajectory files."""
    import orjson

    from arena.artifacts import TRAJECTORY_INFO
    from arena.storage import QUEUE_OWNER, ArenaRow, ContestantRow, Store, utcnow
    from benchmarks.live_refresh import messages

    store = Store(url)
    names = [f"contestant-{i}" for i in range(contestants)]
    rows = [
        ContestantRow(
            name=n, model="scripted:x", strategy="balanced", status="running", started_at=utcnow(), steps=steps
        )
        for n in names
    ]
    store.create_arena(
        ArenaRow(
            id="bench",
            title="workers benchmark: Live",
            repo="/x",
            base="HEAD",
            base_sha="0" * 40,
            spec={},
            status="running",
            started_at=utcnow(),
            owner=QUEUE_OWNER,
        ),
        rows,
    )
    info = {"info": {"exit_status": "", "submission": ""}, "trajectory_format": "mini-swe-agent-1.1"}
    for name in names:
        store.append_steps("bench", name, 1, 0, messages(name, steps))
        store.put_artifact("bench", name, TRAJECTORY_INFO, orjson.dumps(info))
    return store, names, [r.id for r in store.arena("bench").contestants]


def gain_step(store, name: str, row_id: int, steps: int) -> None:
    """What the runner writes when a contestant takes one more step: its new messages, its info, its counters."""
    import orjson

    from arena.artifacts import TRAJECTORY_INFO
    from benchmarks.live_refresh import messages

    new = messages(name, steps)[-2:]  # the step's assistant message and its observation
    store.append_steps("bench", name, 1, 2 * steps, new)
    info = {"info": {"exit_status": "", "submission": ""}, "trajectory_format": "mini-swe-agent-1.1"}
    store.put_artifact("bench", name, TRAJECTORY_INFO, orjson.dumps(info))
    store.update_contestant(row_id, steps=steps)


def run_live(server_url: str, tmp: Path, contestants: int, steps: int, repeats: int) -> dict:
    url = fresh_database(server_url, "bench_live")
    os.environ.update(ARENA_DATABASE_URL=url, ARENA_DATA_DIR=str(tmp / "data-live"))
    from streamlit.testing.v1 import AppTest

    from arena import artifacts
    from arena.trajectory import load_trajectory

    started = time.perf_counter()
    store, names, row_ids = seed_live(url, contestants, steps)
    seeded = time.perf_counter() - started
    with store.engine.connect() as conn:
        from sqlalchemy import text

        kept_mb = conn.execute(text("SELECT pg_total_relation_size('trajectory_steps')")).scalar() / 1e6

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120).run()
    at.session_state["arena_id"] = "bench"
    at.switch_page("../pages/live.py").run()
    assert not at.exception and [t.label for t in at.tabs] == names, at.exception

    def refresh() -> float:
        start = time.perf_counter()
        at.run()
        elapsed = (time.perf_counter() - start) * 1000
        assert not at.exception, at.exception
        return elapsed

    refresh()  # warm
    loads = artifacts.CACHE.loads
    unchanged = statistics.median(refresh() for _ in range(repeats))
    loads_unchanged = artifacts.CACHE.loads - loads
    changed = []
    for i in range(repeats):
        gain_step(store, names[0], row_ids[0], steps + i + 1)  # the open (first) tab's contestant
        changed.append(refresh())
    loads_changed = artifacts.CACHE.loads - loads - loads_unchanged
    step_blocks = sum(1 for m in at.markdown if m.value.startswith("**Step "))

    def read_uncached() -> float:
        start = time.perf_counter()
        load_trajectory(artifacts.trajectory_data(store, "bench", names[1]))
        return (time.perf_counter() - start) * 1000

    uncached = statistics.median(read_uncached() for _ in range(repeats))
    store.engine.dispose()
    return {
        "unchanged": unchanged,
        "changed": statistics.median(changed),
        "uncached": uncached,
        "loads_unchanged": loads_unchanged,
        "loads_changed": loads_changed,
        "step_blocks": step_blocks,
        "seeded": seeded,
        "kept_mb": kept_mb,
    }


# ---------------------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 arenas x 2 contestants, workers 1 and 2 (for tests)")
    args = parser.parse_args()
    if args.quick:
        n_arenas, n_contestants, sleeps, counts = 4, 2, 2, [1, 2]
        live_contestants, live_steps, repeats = 8, 20, 3
    else:
        n_arenas, n_contestants, sleeps, counts = 20, 4, 5, [1, 2, 4]
        live_contestants, live_steps, repeats = 32, 150, 10
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-workers-"))
    os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
    os.environ["STREAMLIT_LOGGER_LEVEL"] = "error"  # AppTest outside `streamlit run` warns on every cache
    print(f"machine load {load()}")
    try:
        with postgres_server() as server_url:
            print(
                f"{n_arenas} arenas x {n_contestants} scripted contestants ({sleeps} x `sleep 1`, then submit; local "
                f"sandbox), queued at once on `arena worker --concurrency {CONCURRENCY}` x "
                f"{', '.join(map(str, counts))} (a fresh database each)\n"
            )
            results = []
            for n in counts:
                run = run_queue(server_url, tmp, n, n_contestants, sleeps, n_arenas)
                r = analyse(run, n)
                results.append(r)
                print(
                    f"{n} worker(s), {r['slots']} slots: jobs {r['jobs']}"
                    + (f"; retried or failed: {', '.join(r['retried'])}" if r["retried"] else "")
                    + (f"; never ended: {', '.join(r['unfinished'])}" if r["unfinished"] else "")
                    + f"; judge jobs started while another judged the same arena: {r['judging_at_once']}, "
                    f"arenas with more than one verdict: {r['judged_twice']}"
                    + f"; means: contestant run {r['run_mean']:.2f} s, prepare job {r['prepare_mean']:.2f} s, "
                    f"judge job {r['judge_mean']:.2f} s; a contestant job before its run (claim, the task prepared "
                    f"on that worker) {r['head_mean']:.2f} s (max {r['head_max']:.2f} s), after it (advance) "
                    f"{r['tail_mean']:.2f} s; the workers' CPU (with all they ran) {r['cpu']:.0f} s = "
                    f"{r['cpu'] / r['makespan']:.2f} cores over the makespan (their start-up included); machine load {load()}"
                )
            print(
                f"\n{'workers':>7} | {'slots':>5} | {'makespan s':>10} | {'ideal s':>7} | {'ratio':>5} | "
                f"{'crit. path s':>12} | {'in-job s':>8} | {'judge again s':>13} | {'other s':>7} | {'idle s':>6} | "
                f"{'latency ms med / p95 / max':>26} | {'raw wait ms med / p95':>21}"
            )
            print("-" * 166)
            for r in results:
                print(
                    f"{r['workers']:>7} | {r['slots']:>5} | {r['makespan']:>10.1f} | {r['ideal']:>7.1f} | "
                    f"{r['ratio']:>5.2f} | {r['critical']:>12.1f} | {r['in_job']:>8.1f} | {r['extra_judge']:>13.1f} | "
                    f"{r['other']:>7.1f} | "
                    f"{r['idle']:>6.1f} | {r['lat_median']:>8.0f} / {r['lat_p95']:>5.0f} / {r['lat_max']:>6.0f} | "
                    f"{r['raw_median']:>9.0f} / {r['raw_p95']:>9.0f}"
                )
            print(
                "slot-seconds: slots x makespan = work (the ideal's) + in-job (contestant jobs beyond their runs: "
                "claim, the task prepared on that worker, advance) + judge again (an arena's judge jobs beyond its "
                "longest: deferred again while the first ran) + other (publish, sync jobs) + idle.\n"
                "latency = started - ready (deferred, older jobs started, a slot free); raw wait = started - deferred."
            )
            live = run_live(server_url, tmp, live_contestants, live_steps, repeats)
            print(
                f"\nLive: {live_contestants} running contestants x {live_steps} steps kept in PostgreSQL "
                f"(trajectory_steps {live['kept_mb']:.1f} MB, seeded in {live['seeded']:.1f} s); "
                f"{live['step_blocks']} step blocks rendered (the open tab's window); median of {repeats} refreshes"
            )
            print(
                f"   (a) refresh, nothing new                          {live['unchanged']:7.1f} ms "
                f"(trajectories loaded: {live['loads_unchanged']})"
            )
            print(
                f"   (b) refresh, the open tab's contestant took a step {live['changed']:7.1f} ms "
                f"(trajectories loaded: {live['loads_changed']} in {repeats} refreshes)"
            )
            print(f"   one trajectory read from PostgreSQL and parsed, no cache: {live['uncached']:.1f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nmachine load {load()}")
    failures = []
    worst_ratio = max(r["ratio"] for r in results)
    worst_p95 = max(r["lat_p95"] for r in results)
    worst_live = max(live["unchanged"], live["changed"])
    for r in results:
        if r["ratio"] > MAKESPAN_GOAL:
            failures.append(f"{r['workers']} worker(s) makespan {r['ratio']:.2f} x the ideal")
        if r["lat_p95"] > LATENCY_GOAL_MS:
            failures.append(f"{r['workers']} worker(s) latency p95 {r['lat_p95']:.0f} ms")
        if r["judged_twice"]:  # a correctness check, not a timing: each arena is judged once (the judge's lock)
            failures.append(f"{r['workers']} worker(s): {r['judged_twice']} arena(s) judged more than once")
    if worst_live > LIVE_GOAL_MS:
        failures.append(f"Live refresh {worst_live:.0f} ms")
    note = " [--quick: 2-s contestants magnify the fixed cost per job; judge by the full run]" if args.quick else ""
    print(
        f"VERDICT: {'FAIL: ' + '; '.join(failures) + ':' if failures else 'PASS:'} worst makespan "
        f"{worst_ratio:.2f} x the ideal (goal <= {MAKESPAN_GOAL}); worst enqueue->start p95 {worst_p95:.0f} ms "
        f"(goal <= {LATENCY_GOAL_MS:.0f} ms); Live refresh at {live_contestants} contestants {worst_live:.1f} ms "
        f"(goal <= {LIVE_GOAL_MS:.0f} ms){note}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
