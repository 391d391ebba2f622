"""The jobs workers run, on procrastinate (PostgreSQL): prepare, contestant, judge, rejudge, publish, sync.

Why procrastinate: it keeps jobs in the PostgreSQL the team already runs (no broker to operate), wakes workers with
LISTEN/NOTIFY, has retries, locks, queueing locks, periodic tasks and stalled-job detection from worker heartbeats;
PgQueuer has fewer of those, and a home-made queue would have to grow them all.

    prepare(arena_id)              the arena running; its task prepared on this worker; `advance`
    contestant(arena_id, name)     `claim` it, prepare (cached per worker), run it in a fresh sandbox while a watcher
                                   renews its heartbeat, stops it on cancel (polled every CANCEL_POLL_S) or at the
                                   arena's deadline, and gives it up if another worker took it over; `advance`
    judge(arena_id)                once every contestant ended: judge, end the arena (once), settle the stakes
    rejudge(arena_id)              "Judge again" of an ended arena
    publish(arena_id, kind)        the GitHub listener (arena.publish.listener) for a candidate or a verdict
    sync                           every minute: pull requests read back from GitHub (arena.publish.pull_request)

`advance` (arena/queue/state.py) decides what runs next; jobs only defer what it says. Deferring is made safe to
repeat: queueing locks keep one job of a kind per arena (or contestant) waiting, and every job checks the rows
before it acts, so a job run twice does nothing the second time.

Every worker also keeps an upkeep thread (Worker._upkeep, every third of ARENA_LEASE_S): jobs of workers that
stopped sending heartbeats are retried (their contestants run again from scratch elsewhere), each live arena is
advanced (a cancel or the time budget ends contestants nobody has started), and contestants dispatched but never
claimed are deferred again.
"""

import asyncio
import json
import logging
import os
import shutil
import socket
import threading
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager
from procrastinate.sync_psycopg_connector import SyncPsycopgConnector
from procrastinate.tasks import configure_task
from sqlalchemy import make_url, text

from arena.artifacts import keep_setup_log
from arena.config import Settings
from arena.engine import EngineEvent, prepare_task, record_launch
from arena.engine.contestant import ContestantRun, run_contestant
from arena.errors import ArenaError, SetupFailed, UserError
from arena.ops import job_fields
from arena.queue import state
from arena.recovery import lease_s
from arena.reputation.ledger import Ledger
from arena.sandboxes import RepoCache, get_backend
from arena.settlement import judge_arena, record_verdict, settle_arena
from arena.spec import ArenaSpec
from arena.storage import QUEUE_OWNER, ContestantRow, Status, Store, utcnow
from arena.storage.migrate import ADVISORY_KEY

log = logging.getLogger("arena.queue")

QUEUES = ("arenas", "contestants", "github")
CANCEL_POLL_S = 0.5
"""How often a running contestant's watcher reads its cancel flags: a cancel reaches it within a second."""

blueprint = procrastinate.Blueprint()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (procrastinate speaks psycopg directly)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise UserError(
            f"the queue needs PostgreSQL, and the database is {url.get_backend_name()} "
            f"({'ARENA_DATABASE_URL' if os.environ.get('ARENA_DATABASE_URL') else 'the default in ARENA_DATA_DIR'}): set "
            "ARENA_DATABASE_URL=postgresql+psycopg://USER@HOST/DB (the embedded SQLite default runs arenas in the "
            "process that launches them; run `arena run SPEC` without --detach)"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


_apps: dict[str, procrastinate.App] = {}
_apps_lock = threading.Lock()


def queue_app(settings: Settings) -> procrastinate.App:
    """The procrastinate app on the store's database, with every job registered (names `arena:<job>`).

    One per database and process: registering the jobs renames them in the blueprint, so it happens once. The worker
    opens it asynchronously to run jobs, and synchronously too, for the jobs (on the worker's threads) to defer more.
    """
    info = conninfo(settings.database_url)
    with _apps_lock:
        if info not in _apps:
            if not _apps:
                app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=info))
                app.add_tasks_from(blueprint, namespace="arena")
            else:  # another database in this process (tests): the same jobs on another connector
                app = next(iter(_apps.values())).with_connector(procrastinate.PsycopgConnector(conninfo=info))
            _apps[info] = app
        return _apps[info]


def ensure_schema(store: Store, app: procrastinate.App) -> None:
    """procrastinate's tables, created once per database (under the migrations' advisory lock)."""
    with store.engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_KEY})
        try:
            if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
                with app.open():
                    app.schema_manager.apply_schema()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            conn.commit()


# -- launching (the CLI's --detach and the Launch page on PostgreSQL) -------------------------------------------------


class QueueLauncher:
    """Launch, cancel and judge arenas through the queue: the interface of the in-process Engine (launch, cancel,
    judge), for a database the workers share. Nothing runs in this process."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.app = queue_app(self.settings)  # refuses a database that is not PostgreSQL, before anything is opened
        self.store = Store(self.settings.database_url)
        self.ledger = Ledger(self.store)
        ensure_schema(self.store, self.app)

    def launch(self, spec: ArenaSpec, base_sha: str) -> str:
        """Rows `queued` with their stakes, and the prepare job deferred; returns the arena id at once."""
        _, arena_id, _, _ = record_launch(self.store, self.ledger, spec, base_sha, owner=QUEUE_OWNER, lease=None)
        with self.app.open():
            _defer(self.app, "prepare", f"prepare/{arena_id}", arena_id=arena_id)
        return arena_id

    def cancel(self, arena_id: str, contestant: str | None = None) -> None:
        """Flag it; contestants not started end now, running ones within a second on their worker."""
        self.store.request_cancel(arena_id, contestant)
        nxt = state.advance(self.store, arena_id, worker_name())
        with self.app.open():
            _follow_up(self.app, arena_id, nxt)

    def judge(self, arena_id: str) -> None:
        """Judge an ended arena again on a worker (the new verdict appears when it is done)."""
        row = self.store.arena(arena_id)
        if not Status(row.status).ended:
            raise UserError(f"arena {arena_id} is still {row.status}; judge it after it ends (or `arena cancel` it)")
        with self.app.open():
            _defer(self.app, "rejudge", f"rejudge/{arena_id}", arena_id=arena_id)


LOCKED = {"judge", "rejudge"}
"""Jobs that take the arena's lock: a second judge of one arena (deferred while the first runs, by a contestant's
end or a worker's upkeep) waits for the first, then finds the arena ended and does nothing."""


def _defer(via: procrastinate.App | JobManager, job: str, queueing_lock: str, **kwargs) -> None:
    """Defer a job unless one like it is already waiting (its queueing lock), through this app's database, or a job
    manager on a synchronous connection of its own (the upkeep thread's: the worker's pool belongs to the worker's
    loop). Named through the given manager, never the task's first app: a process can hold apps of two databases."""
    manager = via if isinstance(via, JobManager) else via.job_manager
    task = blueprint.tasks[f"arena:{job}"]
    lock = f"arena/{kwargs['arena_id']}" if job in LOCKED else None
    deferrer = configure_task(
        name=task.name, job_manager=manager, queue=task.queue, queueing_lock=queueing_lock, lock=lock
    )
    with suppress(AlreadyEnqueued):
        deferrer.defer(**kwargs)


def _follow_up(via: procrastinate.App | JobManager, arena_id: str, nxt: state.Next) -> None:
    for name in nxt.dispatch:
        _defer(via, "contestant", f"contestant/{arena_id}/{name}", arena_id=arena_id, name=name)
    if nxt.judge:
        _defer(via, "judge", f"judge/{arena_id}", arena_id=arena_id)


# -- the jobs ---------------------------------------------------------------------------------------------------------


class Context:
    """What jobs share in one worker process: settings, store, repo cache, the app (to defer more jobs), its name."""

    current: "Context | None" = None

    def __init__(self, settings: Settings):
        self.settings = settings
        self.app = queue_app(settings)
        self.store = Store(settings.database_url)
        self.ledger = Ledger(self.store)
        self.repos = RepoCache(settings.cache_dir)
        self.name = worker_name()
        self._prepared: dict[str, object] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @classmethod
    def get(cls) -> "Context":
        if cls.current is None:
            raise ArenaError("this job runs only inside `arena worker` (no worker context in this process)")
        return cls.current

    def prepared(self, arena_id: str, spec: ArenaSpec, base_sha: str):
        """(backend, the prepared task) on this worker, prepared once per task here: arenas on the same repository,
        base, setup, test command and sandbox share it (as the backend's checkout cache does), and two tasks prepare
        at once, each under a lock of its own. The arena's setup log is written for it either way."""
        backend = get_backend(spec.sandbox, self.repos)
        task = [spec.sandbox.model_dump(mode="json"), spec.task.repo, base_sha, spec.task.setup_command]
        key = json.dumps([*task, spec.task.test_command], sort_keys=True)
        log_path = self.settings.runs_dir / arena_id / "setup.log"
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._prepared:
                self._prepared[key] = prepare_task(backend, spec, base_sha, log_path)
            prepared = self._prepared[key]
        if not log_path.exists() and prepared.setup_log:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(prepared.setup_log)
        return backend, prepared

    def advance(self, arena_id: str) -> None:
        _follow_up(self.app, arena_id, state.advance(self.store, arena_id, self.name))


@blueprint.task(name="prepare", queue="arenas", retry=2)
def prepare(arena_id: str) -> None:
    ctx = Context.get()
    state.start(ctx.store, arena_id)
    arena = ctx.store.arena(arena_id)
    if Status(arena.status).ended:
        return
    spec = ArenaSpec.model_validate(arena.spec)
    setup_log = ctx.settings.runs_dir / arena_id / "setup.log"
    try:
        ctx.prepared(arena_id, spec, arena.base_sha)
    except SetupFailed as e:
        ctx.store.update_arena(arena_id, error=f"{e}\n\n{e.log[-4000:]}", setup_log_path=str(setup_log))
        keep_setup_log(ctx.store, arena_id, setup_log)
        _end_arena(ctx, arena_id, Status.FAILED, "not started: the task's setup failed")
        return
    if setup_log.exists():
        ctx.store.update_arena(arena_id, setup_log_path=str(setup_log))
        keep_setup_log(ctx.store, arena_id, setup_log)
    ctx.advance(arena_id)


@blueprint.task(name="contestant", queue="contestants", retry=2)
def contestant(arena_id: str, name: str) -> None:
    ctx = Context.get()
    lease = timedelta(seconds=lease_s())
    row = state.claim(ctx.store, arena_id, name, ctx.name, lease)
    if row is None:
        ctx.advance(arena_id)
        return
    arena = ctx.store.arena(arena_id)
    spec = ArenaSpec.model_validate(arena.spec)
    run_dir = ctx.settings.runs_dir / arena_id / name
    _set_aside(run_dir, row.attempts)
    cspec = next(s for s in spec.contestants if s.name == name)
    c = ContestantRun(row.id, cspec, run_dir, f"{row.model}+{row.strategy}", attempt=row.attempts)
    done = threading.Event()  # the watcher runs from the claim on: a long first prepare here keeps the heartbeat
    watcher = threading.Thread(
        target=_watch, args=(ctx, arena_id, row, c, state.deadline(arena, spec), done), daemon=True
    )
    watcher.start()
    try:
        try:
            backend, prepared = ctx.prepared(arena_id, spec, arena.base_sha)
        except ArenaError as e:
            why = f"setup on {ctx.name}: {e}"
            ctx.store.update_contestant(row.id, status=Status.FAILED, error=why, finished_at=utcnow())
            prepared = None
        if prepared is not None:
            run_contestant(ctx.store, arena_id, spec, c, backend, prepared)
    finally:
        done.set()
        watcher.join()
    if not c.lost and c.patch_path.is_file() and c.patch_path.stat().st_size > 0:
        _defer(ctx.app, "publish", f"publish/{arena_id}/candidate", arena_id=arena_id, kind="candidate")
    ctx.advance(arena_id)


def _watch(ctx: Context, arena_id: str, row: ContestantRow, c: ContestantRun, ends, done: threading.Event) -> None:
    """While a contestant runs: its heartbeat every third of the lease; a cancel or the deadline stops it; a claim
    taken over by another worker (this one was thought dead) gives it up."""
    beat = lease_s() / 3
    next_beat = 0.0
    clock = 0.0
    while not done.wait(CANCEL_POLL_S):
        clock += CANCEL_POLL_S
        try:
            flagged, names = ctx.store.cancel_requests(arena_id)
            reason = None
            if flagged or c.spec.name in names:
                reason = Status.CANCELLED
            elif ends is not None and ctx.store.now() >= ends:
                reason = Status.TIMED_OUT
            if reason is not None and c.stop.reason is None:
                c.halt(reason.value)
                state.stopping(ctx.store, row.id, ctx.name, reason)  # when the stop reached this worker
            if clock >= next_beat:
                next_beat = clock + beat
                if not state.holds(ctx.store, row.id, row.attempts, ctx.store.now()):
                    log.error("contestant %s/%s was taken over by another worker; stopping it here", arena_id, row.name)
                    c.lost = True
                    c.halt(Status.INTERRUPTED.value)
        except Exception:  # a database hiccup: try again on the next tick, well within the lease
            log.exception("watching contestant %s/%s failed", arena_id, row.name)


def _set_aside(run_dir: Path, attempt: int) -> None:
    """A second attempt starts from scratch: the first one's files are kept beside it, not reused."""
    if attempt > 1 and run_dir.exists():
        aside = run_dir.parent / f"{run_dir.name}.attempt-{attempt - 1}"
        shutil.rmtree(aside, ignore_errors=True)
        run_dir.rename(aside)


@blueprint.task(name="judge", queue="arenas", retry=2)
def judge(arena_id: str) -> None:
    ctx = Context.get()
    arena = ctx.store.arena(arena_id)
    if Status(arena.status).ended or any(not Status(c.status).ended for c in arena.contestants):
        return
    final = state.final_status(ctx.store, arena_id)
    judged = False
    if final in (Status.COMPLETED, Status.TIMED_OUT):
        spec = ArenaSpec.model_validate(arena.spec)
        try:
            backend, prepared = ctx.prepared(arena_id, spec, arena.base_sha)
            judge_arena(ctx.store, ctx.settings.runs_dir, arena_id, spec, backend, prepared)
            judged = True
        except ArenaError as e:
            record_verdict(ctx.store, arena_id, _error_verdict(e))
    _end_arena(ctx, arena_id, final, "not started: the arena ended", judged=judged)


@blueprint.task(name="rejudge", queue="arenas", retry=0)
def rejudge(arena_id: str) -> None:
    ctx = Context.get()
    arena = ctx.store.arena(arena_id)
    spec = ArenaSpec.model_validate(arena.spec)
    try:
        backend, prepared = ctx.prepared(arena_id, spec, arena.base_sha)
    except ArenaError as e:
        record_verdict(ctx.store, arena_id, _error_verdict(e))
        return
    judge_arena(ctx.store, ctx.settings.runs_dir, arena_id, spec, backend, prepared)
    settle_arena(ctx.store, ctx.ledger, arena_id, arena.status)
    _defer(ctx.app, "publish", f"publish/{arena_id}/verdict", arena_id=arena_id, kind="verdict")


def _error_verdict(e: Exception):
    from arena.judging.verdict import Verdict

    return Verdict(error=f"{type(e).__name__}: {e}")


def _end_arena(ctx: Context, arena_id: str, final: Status, why: str, judged: bool = False) -> None:
    """End the arena once (a conditional write), end what never started, settle the stakes, publish the verdict."""
    if not ctx.store.finish_arena(arena_id, final):
        return
    for c in ctx.store.arena(arena_id).contestants:
        if not Status(c.status).ended:
            ctx.store.update_contestant(c.id, status=Status.FAILED, error=why, finished_at=utcnow())
    settle_arena(ctx.store, ctx.ledger, arena_id, final)
    if judged:
        _defer(ctx.app, "publish", f"publish/{arena_id}/verdict", arena_id=arena_id, kind="verdict")


@blueprint.task(name="publish", queue="github", retry=0)
def publish(arena_id: str, kind: str) -> None:
    from arena.publish.listener import Publisher

    ctx = Context.get()
    Publisher(ctx.store, ctx.settings)(EngineEvent(kind, arena_id))


@blueprint.periodic(cron="* * * * *")
@blueprint.task(name="sync", queue="github", queueing_lock="sync")
def sync(timestamp: int) -> None:
    from arena.publish.pull_request import sync as read_back

    ctx = Context.get()
    for change in read_back(ctx.store, ctx.ledger):
        log.info("GitHub: %s", change)


# -- the worker ---------------------------------------------------------------------------------------------------------


class Worker:
    """`arena worker`: runs jobs from the queues with `concurrency` at once, and keeps the upkeep thread."""

    def __init__(self, settings: Settings | None = None, concurrency: int = 4, queues: list[str] | None = None):
        self.settings = settings or Settings.from_env()
        self.concurrency, self.queues = concurrency, list(queues or QUEUES)
        unknown = sorted(set(self.queues) - set(QUEUES))
        if unknown:
            raise UserError(f"unknown queue(s) {', '.join(unknown)}; the queues are {', '.join(QUEUES)}")
        self.app = queue_app(self.settings)
        self.context = Context(self.settings)
        ensure_schema(self.context.store, self.app)
        self._stopping = threading.Event()

    def run(self) -> None:
        """Until SIGINT/SIGTERM (procrastinate stops taking jobs and lets running ones finish)."""
        Context.current = self.context
        keeper = threading.Thread(target=self._upkeep, daemon=True, name="arena-upkeep")
        keeper.start()
        beat = max(1.0, lease_s() / 3)
        try:
            self.app.run_worker(
                queues=self.queues,
                concurrency=self.concurrency,
                name=self.context.name,
                update_heartbeat_interval=beat,
                stalled_worker_timeout=lease_s(),
                install_signal_handlers=True,
                worker_middleware=[job_fields],  # job_id, arena_id and contestant on each job's log records
            )
        finally:
            self._stopping.set()
            keeper.join(timeout=10)

    def _upkeep(self) -> None:
        ctx, lease = self.context, timedelta(seconds=lease_s())
        connector = SyncPsycopgConnector(conninfo=conninfo(self.settings.database_url))
        connector.open()
        jobs = JobManager(connector)
        try:
            while not self._stopping.wait(lease_s() / 3):
                try:
                    asyncio.run(self._retry_stalled())
                    for arena_id in state.live_arenas(ctx.store):
                        _follow_up(jobs, arena_id, state.advance(ctx.store, arena_id, ctx.name))
                        for name in state.undelivered(ctx.store, arena_id, lease):
                            _defer(jobs, "contestant", f"contestant/{arena_id}/{name}", arena_id=arena_id, name=name)
                except Exception:  # a database hiccup: the next round tries again
                    log.exception("queue upkeep failed")
        finally:
            connector.close()

    async def _retry_stalled(self) -> None:
        """Jobs whose worker stopped sending heartbeats go back to the queue (their contestant is claimed again).

        procrastinate's job manager is asynchronous here: the upkeep thread runs it on a loop and a connection of
        its own (the worker's pool belongs to the worker's loop)."""
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(self.settings.database_url))
        await connector.open_async()
        try:
            jobs = JobManager(connector)
            for job in await jobs.get_stalled_jobs(seconds_since_heartbeat=lease_s()):
                log.warning(
                    "job %s (%s %s) stalled on a dead worker; retrying it", job.id, job.task_name, job.task_kwargs
                )
                try:
                    await jobs.retry_job(job)
                except Exception:  # another worker retried it first
                    log.info("job %s was retried elsewhere", job.id)
        finally:
            await connector.close_async()
