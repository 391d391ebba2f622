"""The engine: validate a spec, queue an arena, run its contestants on one process-wide thread pool.

    launch(spec) ── validate (nothing written if bad) ── rows `queued` ── coordinator thread
    coordinator: prepare (mirror, pristine checkout, setup once) ── keep max_parallel contestants
                 on the pool ── watch the time budget and cancel requests (in-process or from the
                 database, so `arena cancel` works from another process) ── final arena status
    contestant:  sandbox ── ContestantAgent.run ── patch.diff ── row (always, in `finally`)

Worker threads never touch Streamlit; the app reads rows and trajectory files.
"""

import logging
import secrets
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from arena.agents.environment import SandboxEnvironment
from arena.agents.models import make_model
from arena.agents.runner import ContestantAgent, StopSignal
from arena.agents.strategies import agent_config, model_config
from arena.config import Settings
from arena.errors import ArenaError, SetupFailed, SpecError, UserError
from arena.identity import split_identity
from arena.judging.detect import detect_test_command
from arena.judging.judge import Candidate, Judge
from arena.judging.patches import read_patch
from arena.judging.verdict import Verdict
from arena.llm import RetryPolicy, check_litellm_model
from arena.protocols import PreparedTask, Sandbox, SandboxBackend
from arena.recovery import lease_s, lease_until, process_owner, recover, settle_arena
from arena.reputation.ledger import Ledger
from arena.sandboxes import RepoCache, get_backend, sandbox_uid
from arena.sandboxes.process import kill_setups, setup_owner
from arena.sandboxes.repos import git
from arena.settlement import record_verdict
from arena.spec import ArenaSpec, ContestantSpec, self_contained
from arena.storage import ArenaRow, ContestantRow, Status, Store, utcnow

log = logging.getLogger("arena")
DB_POLL_S = 1.0
HEARTBEAT_S = 10.0


def validate(spec: ArenaSpec, repos: RepoCache) -> str:
    """Check everything a launch needs and return the base commit's sha. Raises UserError; writes no rows."""
    get_backend(spec.sandbox, repos).check_available()
    task = spec.task
    if not task.is_remote:
        if not Path(task.repo).is_dir():
            raise SpecError(f"task.repo: {task.repo} does not exist; give a local git repository or an https git URL")
        top = git("rev-parse", "--show-toplevel", cwd=task.repo, check=False).strip()
        if not top:
            raise SpecError(f"task.repo: {task.repo} is not a git repository; run `git init` there or point to one")
        if Path(top).resolve() != Path(task.repo).resolve():
            raise SpecError(f"task.repo: {task.repo} is a folder inside the repository {top}; point task.repo at {top}")
    if task.problem_statement_file:
        try:
            Path(task.problem_statement_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError(
                f"task.problem_statement_file: cannot read {task.problem_statement_file} as UTF-8 text ({e})"
            ) from None
    if any(c.kind == "litellm" for c in spec.contestants) or spec.judge.model:
        RetryPolicy.from_env()  # a malformed ARENA_MODEL_* variable fails here, not mid-run
    for i, c in enumerate(spec.contestants):
        try:
            c.read_strategy()
            if c.kind == "litellm":
                check_litellm_model(c.model, c.api_base, c.api_key_env)
            else:
                c.read_steps()
        except SpecError as e:
            raise SpecError(f"contestants[{i}] ({c.name}): {e}") from None
    spec.agents()  # two contestants that would be one agent but are not the same underneath are refused
    if spec.judge.model:
        try:
            check_litellm_model(spec.judge.model, spec.judge.api_base, spec.judge.api_key_env)
        except SpecError as e:
            raise SpecError(f"judge.model: {e}") from None
    return repos.resolve(task.repo, task.base)


def prepare_task(backend: SandboxBackend, spec: ArenaSpec, base_sha: str, log_path: Path) -> PreparedTask:
    """The prepared checkout, its Python environment ready for the test command the judge will run.

    Without a test command in the spec the judge detects one in the checkout; the backend detects the same
    one as it creates the checkout, so it can add pytest before the checkout is shared.
    """
    task = spec.task
    return backend.prepare(
        task.repo, base_sha, task.setup_command, log_path, test_command=task.test_command or _detected
    )


def _detected(checkout: Path) -> str | None:
    found = detect_test_command(checkout)
    return found.command if found else None


@dataclass
class ContestantRun:
    row_id: int
    spec: ContestantSpec
    run_dir: Path
    agent: str = ""
    """Its agent identity (arena.identity)."""
    stop: StopSignal = field(default_factory=StopSignal)
    sandbox: Sandbox | None = None

    def halt(self, reason: str) -> None:
        self.stop.stop(reason)
        if self.sandbox is not None:
            self.sandbox.cancel()


@dataclass
class ArenaRun:
    """In-process state of one running arena."""

    arena_id: str
    spec: ArenaSpec
    base_sha: str
    contestants: dict[str, ContestantRun]
    done: threading.Event = field(default_factory=threading.Event)
    cancel_arena: bool = False
    cancel_names: set[str] = field(default_factory=set)
    lost: bool = False
    """Its lease was not renewed in time and another process recovered it: stop, write nothing more."""


class Engine:
    """Process-wide: one store, one repo cache, one contestant thread pool. Build one per process."""

    def __init__(self, settings: Settings | None = None, max_workers: int = 32):
        self.settings = settings or Settings.from_env()
        self.settings.runs_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.settings.database_url)
        self.repos = RepoCache(self.settings.cache_dir)
        self.pool = ThreadPoolExecutor(max_workers, thread_name_prefix="contestant")
        self.coordinators = ThreadPoolExecutor(8, thread_name_prefix="arena")
        self.runs: dict[str, ArenaRun] = {}
        self.owner = process_owner()
        self.ledger = Ledger(self.store)
        self.recovered = recover(self.store, self.ledger)
        self._stopping = threading.Event()
        self._keeper = threading.Thread(target=self._keep_leases, daemon=True, name="arena-leases")
        self._keeper.start()

    # -- public API ---------------------------------------------------------------------------

    def launch(self, spec: ArenaSpec, base_sha: str | None = None) -> str:
        """Validate, record as queued and start in the background; returns the arena id at once.

        `base_sha`: the result of the caller's own `validate(spec)` (the CLI and the Launch page validate
        before anything is written); given, the spec is not validated (and a remote mirror not fetched) again.
        """
        base_sha = base_sha or validate(spec, self.repos)
        # Stored and run as it will be run again: its files embedded, so nothing depends on paths of this machine.
        spec = self_contained(spec)
        agents = spec.agents()
        arena_id = secrets.token_hex(4)
        # A row's model and strategy are its agent's two halves (the analytics join them with '+').
        rows = [
            ContestantRow(name=c.name, model=m, strategy=s)
            for c, (m, s) in zip(spec.contestants, map(split_identity, agents), strict=True)
        ]
        arena = ArenaRow(
            id=arena_id,
            title=spec.task.title or (spec.problem_statement.strip().splitlines() or [""])[0][:120],
            repo=spec.task.repo,
            base=spec.task.base,
            base_sha=base_sha,
            spec=spec.model_dump(mode="json"),
            owner=self.owner,
            lease_until=lease_until(self.store),
        )
        # The row before the stakes, so an escrow never belongs to an arena nobody can find (and recover);
        # a refused agent (StakeRefused, exit 2) takes the row back out: nothing is left of the launch.
        self.store.create_arena(arena, rows)
        try:
            self.ledger.enter(arena_id, [(c.name, agent) for c, agent in zip(spec.contestants, agents, strict=True)])
        except BaseException:
            self.store.delete_arena(arena_id)
            raise
        run_dir = self.settings.runs_dir / arena_id
        run = ArenaRun(
            arena_id,
            spec,
            base_sha,
            {
                r.name: ContestantRun(r.id, c, run_dir / c.name, agent)
                for r, c, agent in zip(rows, spec.contestants, agents, strict=True)
            },
        )
        self.runs[arena_id] = run
        self.coordinators.submit(self._coordinate, run)
        return arena_id

    def run(self, spec: ArenaSpec) -> str:
        """Launch and block until the arena has ended."""
        arena_id = self.launch(spec)
        self.wait(arena_id)
        return arena_id

    def wait(self, arena_id: str, timeout: float | None = None) -> bool:
        run = self.runs.get(arena_id)
        return True if run is None else run.done.wait(timeout)

    def cancel(self, arena_id: str, contestant: str | None = None) -> None:
        """Cancel an arena or one contestant, here or in whichever process runs it."""
        self.store.request_cancel(arena_id, contestant)
        if run := self.runs.get(arena_id):
            if contestant is None:
                run.cancel_arena = True
                kill_setups(arena_id)
            else:
                run.cancel_names.add(contestant)

    def judge(self, arena_id: str) -> int:
        """(Re-)judge an arena that has ended; returns the new verdict's id (an error verdict if it cannot be judged).

        Stakes move only if the arena was never settled (e.g. its first verdict errored); see Ledger.settle.
        """
        row = self.store.arena(arena_id)
        if not Status(row.status).ended:
            raise UserError(f"arena {arena_id} is still {row.status}; judge it after it ends (or `arena cancel` it)")
        spec = ArenaSpec.model_validate(row.spec)
        try:
            backend = get_backend(spec.sandbox, self.repos)
            backend.check_available()
            log_path = self.settings.runs_dir / arena_id / "setup.log"
            prepared = prepare_task(backend, spec, row.base_sha, log_path)
        except ArenaError as e:  # recorded like any judge failure, so the Results page can say why
            return record_verdict(self.store, arena_id, Verdict(error=f"{type(e).__name__}: {e}"))
        verdict_id = self._judge(arena_id, spec, backend, prepared)
        settle_arena(self.store, self.ledger, arena_id, row.status)
        return verdict_id

    def _judge(self, arena_id: str, spec: ArenaSpec, backend: SandboxBackend, prepared: PreparedTask) -> int:
        """Judge the contestants' patches and store the verdict (a failure is stored as the verdict's error)."""
        rows = [c for c in self.store.arena(arena_id).contestants if c.patch_path and Path(c.patch_path).is_file()]
        candidates = [
            Candidate(
                name=c.name,
                patch=read_patch(Path(c.patch_path)),
                model=c.model,
                strategy=c.strategy,
                cost=c.cost,
                duration_s=(c.finished_at - c.started_at).total_seconds() if c.finished_at and c.started_at else 0.0,
            )
            for c in rows
        ]
        work_dir = self.settings.runs_dir / arena_id / "judge" / secrets.token_hex(3)
        try:
            verdict = Judge(spec, backend, prepared, arena_id, work_dir).run(candidates)
        except Exception as e:  # a broken judgement is recorded, never lost
            log.exception("judging arena %s failed", arena_id)
            verdict = Verdict(error=f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        return record_verdict(self.store, arena_id, verdict)

    def shutdown(self) -> None:
        for run in self.runs.values():
            run.cancel_arena = True
        self.coordinators.shutdown(wait=True)
        self.pool.shutdown(wait=True)
        self._stopping.set()
        self._keeper.join()

    # -- leases ---------------------------------------------------------------------------------

    def _keep_leases(self) -> None:
        """Every third of the lease: renew ours, give up runs we lost, recover runs whose owners died."""
        while not self._stopping.wait(lease_s() / 3):
            try:
                live = [r for r in list(self.runs.values()) if not r.done.is_set()]
                held = self.store.renew_leases([r.arena_id for r in live], lease_until(self.store))
                for run in live:
                    if run.arena_id not in held and not run.done.is_set():
                        log.error("arena %s: lease lost (another process recovered it); stopping it", run.arena_id)
                        run.lost = run.cancel_arena = True
                        kill_setups(run.arena_id)
                recover(self.store, self.ledger)
            except Exception:  # a database hiccup: the next round tries again, well within the lease
                log.exception("renewing leases failed")

    # -- coordinator ----------------------------------------------------------------------------

    def _coordinate(self, run: ArenaRun) -> None:
        store, arena_id = self.store, run.arena_id
        setup_owner.set(arena_id)
        final = Status.FAILED
        try:
            store.update_arena(arena_id, status=Status.RUNNING, started_at=utcnow())
            backend = get_backend(run.spec.sandbox, self.repos)
            setup_log = self.settings.runs_dir / arena_id / "setup.log"
            try:
                with self._watch_cancel(run):
                    prepared = prepare_task(backend, run.spec, run.base_sha, setup_log)
            except SetupFailed as e:
                if run.cancel_arena:
                    self._end_unstarted(run, list(run.contestants.values()), Status.CANCELLED, "cancelled during setup")
                    final = Status.CANCELLED
                    return
                store.update_arena(arena_id, error=f"{e}\n\n{e.log[-4000:]}", setup_log_path=str(setup_log))
                self._end_unstarted(
                    run, list(run.contestants.values()), Status.FAILED, "not started: the task's setup failed"
                )
                return
            if setup_log.exists():  # the task's Python environment (and pytest) are logged there too
                store.update_arena(arena_id, setup_log_path=str(setup_log))
            final = self._schedule(run, backend, prepared)
            if final in (Status.COMPLETED, Status.TIMED_OUT) and not run.lost:
                self._judge(arena_id, run.spec, backend, prepared)
        except Exception as e:  # the coordinator itself broke: record it, never leave rows `running`
            log.exception("arena %s failed", arena_id)
            store.update_arena(arena_id, error=f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
            final = Status.FAILED
        finally:
            # Ended only if nobody recovered it meanwhile (a stalled owner may not have noticed its lease go);
            # a recovered arena is ended, and its stakes returned, by whoever recovered it.
            if not run.lost and store.finish_arena(arena_id, final):
                unended = {c.name for c in store.arena(arena_id).contestants if not Status(c.status).ended}
                leftover = [c for c in run.contestants.values() if c.spec.name in unended]
                self._end_unstarted(run, leftover, Status.FAILED, "not started: the arena failed")
                settle_arena(store, self.ledger, arena_id, final)
            run.done.set()

    @contextmanager
    def _watch_cancel(self, run: ArenaRun):
        """While setup runs, a cancel (here or from another process) kills it."""
        done = threading.Event()

        def watch() -> None:
            while not done.wait(DB_POLL_S / 2):
                flagged, _ = self.store.cancel_requests(run.arena_id)
                if flagged or run.cancel_arena:
                    run.cancel_arena = True
                    kill_setups(run.arena_id)
                    return

        watcher = threading.Thread(target=watch, daemon=True, name=f"setup-watch-{run.arena_id}")
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()

    def _schedule(self, run: ArenaRun, backend: SandboxBackend, prepared: PreparedTask) -> Status:
        """Keep up to max_parallel contestants running until all ended; returns the arena's final status."""
        pending = list(run.contestants.values())
        running: dict[Future, ContestantRun] = {}
        try:
            return self._loop(run, backend, prepared, pending, running)
        except BaseException:
            # The coordinator broke (a lost database connection, say): stop every contestant it started
            # and wait for them, so none keeps running unwatched after its row says the arena ended.
            for c in running.values():
                c.halt("cancelled")
            wait(running)
            raise

    def _loop(
        self, run: ArenaRun, backend: SandboxBackend, prepared: PreparedTask, pending: list, running: dict
    ) -> Status:
        deadline = time.monotonic() + run.spec.limits.time_budget_s
        ending: Status | None = None
        next_poll = next_beat = 0.0
        while pending or running:
            if running and time.monotonic() >= next_beat:  # alive even while one long command runs
                self.store.touch([c.row_id for c in running.values()])
                next_beat = time.monotonic() + HEARTBEAT_S
            if time.monotonic() >= next_poll:
                flagged, names = self.store.cancel_requests(run.arena_id)
                run.cancel_arena |= flagged
                run.cancel_names |= names
                next_poll = time.monotonic() + DB_POLL_S
            if ending is None and run.cancel_arena:
                ending = Status.CANCELLED
            if ending is None and time.monotonic() >= deadline:
                ending = Status.TIMED_OUT
            if ending is not None:
                for c in running.values():
                    c.halt(ending.value)
                self._end_unstarted(
                    run, pending, ending, f"not started: the arena was {ending.value.replace('_', ' ')}"
                )
                pending = []
            for c in list(pending):
                if c.spec.name in run.cancel_names:
                    pending.remove(c)
                    self._end_unstarted(run, [c], Status.CANCELLED, "cancelled before it started")
            for c in running.values():
                if c.spec.name in run.cancel_names:
                    c.halt("cancelled")
            while pending and len(running) < run.spec.limits.max_parallel:
                c = pending.pop(0)
                running[self.pool.submit(self._run_contestant, run, c, backend, prepared)] = c
            if running:
                timeout = max(0.0, min(next_poll, deadline) - time.monotonic()) if ending is None else 0.5
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
        return ending or Status.COMPLETED

    def _end_unstarted(self, run: ArenaRun, contestants: list[ContestantRun], status: Status, why: str) -> None:
        for c in contestants:
            self.store.update_contestant(c.row_id, status=status, error=why, finished_at=utcnow())

    # -- one contestant -----------------------------------------------------------------------------

    def _run_contestant(self, run: ArenaRun, c: ContestantRun, backend: SandboxBackend, prepared: PreparedTask) -> None:
        store = self.store
        traj_path, patch_path = c.run_dir / "traj.json", c.run_dir / "patch.diff"
        store.update_contestant(
            c.row_id, status=Status.RUNNING, started_at=utcnow(), heartbeat_at=utcnow(), trajectory_path=str(traj_path)
        )
        fields: dict = {}
        agent: ContestantAgent | None = None
        try:
            if c.stop.reason:  # stopped between being scheduled and starting
                raise _Stopped()
            strategy = c.spec.read_strategy()
            c.sandbox = backend.create(prepared, c.run_dir / "sandbox", sandbox_uid(run.arena_id, c.spec.name))
            if c.stop.reason:
                c.sandbox.cancel()
            model = make_model(c.spec, model_config(strategy), RetryPolicy.from_env())
            env = SandboxEnvironment(c.sandbox, backend.name, run.spec.sandbox.command_timeout_s)
            agent = ContestantAgent(
                model,
                env,
                trajectory_path=traj_path,
                stop=c.stop,
                on_step=lambda a: store.update_contestant(c.row_id, **_progress(a)),
                arena_info={
                    "arena_id": run.arena_id,
                    "contestant": c.spec.name,
                    "model": split_identity(c.agent)[0],
                    "strategy": split_identity(c.agent)[1],
                    "agent": c.agent,
                },
                step_limit=c.spec.step_limit,
                cost_limit=c.spec.cost_limit,
                wall_time_limit_seconds=c.spec.wall_time_limit_s,
                **agent_config(strategy),
            )
            result = agent.run(run.spec.problem_statement)
            fields["exit_status"] = result.get("exit_status") or "Unknown"
            fields["status"] = Status(c.stop.reason) if c.stop.reason else Status.COMPLETED
        except _Stopped:
            fields |= {"status": Status(c.stop.reason), "exit_status": _exit_name(c.stop.reason)}
        except Exception as e:  # one contestant's crash is data; it never disturbs the others
            fields |= {
                "status": Status(c.stop.reason) if c.stop.reason else Status.FAILED,
                "exit_status": type(e).__name__,
                "error": f"{type(e).__name__}: {e}"[:4000],
                "traceback": traceback.format_exc(),
            }
        finally:
            if c.sandbox is not None:
                try:
                    patch_path.parent.mkdir(parents=True, exist_ok=True)
                    patch_path.write_bytes(c.sandbox.diff())
                    fields["patch_path"] = str(patch_path)
                except ArenaError as e:
                    fields["error"] = ((fields.get("error") or "") + f"\npatch not collected: {e}").strip()
                c.sandbox.close()
            if agent is not None:
                fields |= _progress(agent)
            if run.lost:  # recovered elsewhere as interrupted: keep that status, add what we learned
                fields.pop("status", None)
            store.update_contestant(c.row_id, finished_at=utcnow(), **fields)


class _Stopped(Exception):
    """A contestant stopped before its agent started."""


def _exit_name(reason: str | None) -> str:
    return {"cancelled": "Cancelled", "timed_out": "TimedOut"}.get(reason or "", "Stopped")


def _progress(agent: ContestantAgent) -> dict:
    return {
        "steps": agent.n_calls,
        "cost": agent.cost,
        "tokens_in": agent.tokens_in,
        "tokens_out": agent.tokens_out,
        "heartbeat_at": utcnow(),
    }
