"""The coordinator: queue an arena, prepare its task once, keep max_parallel contestants on one process-wide pool.

    launch(spec) ── validate (nothing written if bad) ── rows `queued` ── coordinator thread
    coordinator: prepare (mirror, pristine checkout, setup once) ── keep max_parallel contestants
                 on the pool (arena/engine/contestant.py) ── watch the time budget and cancel requests
                 (in-process or from the database, so `arena cancel` works from another process) ──
                 judge (arena/settlement.py) ── final arena status ── settle the stakes
    leases:      a keeper thread renews this process's leases and recovers dead owners' runs (arena/recovery.py)

Worker threads never touch Streamlit; the app reads rows and trajectory files.
"""

import logging
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from arena.artifacts import keep_setup_log
from arena.config import Settings
from arena.engine.contestant import ContestantRun, run_contestant
from arena.engine.preparation import prepare_task, validate
from arena.errors import ArenaError, SetupFailed, UserError
from arena.identity import split_identity
from arena.judging.verdict import Verdict
from arena.protocols import PreparedTask, SandboxBackend
from arena.recovery import lease_s, lease_until, process_owner, recover
from arena.reputation.ledger import Ledger
from arena.sandboxes import RepoCache, get_backend
from arena.sandboxes.process import kill_setups, setup_owner
from arena.settlement import judge_arena, record_verdict, settle_arena
from arena.spec import ArenaSpec, self_contained
from arena.storage import ArenaRow, ContestantRow, Status, Store, utcnow

log = logging.getLogger("arena")
DB_POLL_S = 1.0
HEARTBEAT_S = 10.0


@dataclass(frozen=True)
class EngineEvent:
    """What listeners hear: `candidate` (contestant left a non-empty patch) or `verdict` (stored and settled)."""

    kind: Literal["candidate", "verdict"]
    arena_id: str
    contestant: str | None = None


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


def record_launch(
    store: Store, ledger: Ledger, spec: ArenaSpec, base_sha: str, owner: str, lease: datetime | None
) -> tuple[ArenaSpec, str, list[ContestantRow], list[str]]:
    """Write a validated arena as queued, with its contestants and their stakes: (the spec as stored, the arena id,
    the contestant rows, their agents). The in-process engine and the queue (arena/queue) launch through this.

    Raises:
        StakeRefused: an agent cannot stake its entry (nothing is left of the launch).
    """
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
        owner=owner,
        lease_until=lease,
    )
    # The row before the stakes, so an escrow never belongs to an arena nobody can find (and recover);
    # a refused agent (StakeRefused, exit 2) takes the row back out: nothing is left of the launch.
    store.create_arena(arena, rows)
    try:
        ledger.enter(arena_id, [(c.name, agent) for c, agent in zip(spec.contestants, agents, strict=True)])
    except BaseException:
        store.delete_arena(arena_id)
        raise
    return spec, arena_id, rows, agents


class Engine:
    """Process-wide: one store, one repo cache, one contestant thread pool. Build one per process."""

    def __init__(
        self,
        settings: Settings | None = None,
        max_workers: int = 32,
        listeners: Sequence[Callable[[EngineEvent], None]] = (),
    ):
        """`listeners` hear each EngineEvent (a contestant left a candidate, a verdict was stored), on the engine's
        threads: the layers above the engine (publishing to GitHub) hook in here without the engine knowing them."""
        self.settings = settings or Settings.from_env()
        self.listeners = list(listeners)
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
        spec, arena_id, rows, agents = record_launch(
            self.store, self.ledger, spec, base_sha, owner=self.owner, lease=lease_until(self.store)
        )
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
        verdict_id = judge_arena(self.store, self.settings.runs_dir, arena_id, spec, backend, prepared)
        settle_arena(self.store, self.ledger, arena_id, row.status)
        self._tell(EngineEvent("verdict", arena_id))
        return verdict_id

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
                        for c in run.contestants.values():
                            c.lost = True
                        kill_setups(run.arena_id)
                recover(self.store, self.ledger)
            except Exception:  # a database hiccup: the next round tries again, well within the lease
                log.exception("renewing leases failed")

    # -- coordinator ----------------------------------------------------------------------------

    def _coordinate(self, run: ArenaRun) -> None:
        store, arena_id = self.store, run.arena_id
        setup_owner.set(arena_id)
        final, judged = Status.FAILED, False
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
                keep_setup_log(store, arena_id, setup_log)
                self._end_unstarted(
                    run, list(run.contestants.values()), Status.FAILED, "not started: the task's setup failed"
                )
                return
            if setup_log.exists():  # the task's Python environment (and pytest) are logged there too
                store.update_arena(arena_id, setup_log_path=str(setup_log))
                keep_setup_log(store, arena_id, setup_log)
            final = self._schedule(run, backend, prepared)
            if final in (Status.COMPLETED, Status.TIMED_OUT) and not run.lost:
                judge_arena(store, self.settings.runs_dir, arena_id, run.spec, backend, prepared)
                judged = True
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
                if judged:
                    self._tell(EngineEvent("verdict", arena_id))
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
                running[self.pool.submit(self._contestant, run, c, backend, prepared)] = c
            if running:
                timeout = max(0.0, min(next_poll, deadline) - time.monotonic()) if ending is None else 0.5
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
        return ending or Status.COMPLETED

    def _contestant(self, run: ArenaRun, c: ContestantRun, backend: SandboxBackend, prepared: PreparedTask) -> None:
        run_contestant(self.store, run.arena_id, run.spec, c, backend, prepared)
        if not c.lost and c.patch_path.is_file() and c.patch_path.stat().st_size > 0:
            self._tell(EngineEvent("candidate", run.arena_id, c.spec.name))

    def _tell(self, event: EngineEvent) -> None:
        """Every listener hears `event`; a listener that fails is logged and never stops the engine."""
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("engine listener %r failed on %s", listener, event)

    def _end_unstarted(self, run: ArenaRun, contestants: list[ContestantRun], status: Status, why: str) -> None:
        for c in contestants:
            self.store.update_contestant(c.row_id, status=status, error=why, finished_at=utcnow())
