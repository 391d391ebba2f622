"""An arena on the queue, as rows: who may start a contestant, what starts next, when it is judged.

No process owns a queued arena (its owner is QUEUE_OWNER): its state is its rows, and every step is a conditional
write, so any worker can take the next one and two workers never take the same.

    launch      rows `queued` (engine.record_launch), the prepare job deferred
    prepare     the arena `running` (once: a conditional UPDATE), its task prepared on that worker, then `advance`
    advance     under the arena's row lock: a cancel or the time budget ends the contestants not started; up to
                max_parallel contestants are dispatched (`dispatched_at`); once every contestant has ended, the
                judge job is due. Every job ends by calling it, and every worker's upkeep calls it for live arenas.
    claim       a worker takes a contestant that is queued, or running with a heartbeat older than the lease (its
                worker died): `attempts` + 1 and a line in its `history`; a second claim of a live one fails
    end         after the judge: the arena's final status, once (Store.finish_arena is conditional)

A contestant whose worker died is run again from scratch: its first attempt's files are moved aside
(`attempt-N/`), its counters reset, and its history says which worker stopped renewing its heartbeat.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from arena.spec import ArenaSpec
from arena.storage import QUEUE_OWNER, ArenaRow, ContestantRow, Status, Store

LIVE = (Status.QUEUED, Status.RUNNING)


@dataclass(frozen=True)
class Next:
    """What `advance` decided: contestants to hand to workers, and whether the arena is ready to be judged."""

    dispatch: list[str]
    judge: bool


def note(row: ContestantRow, at: datetime, event: str, worker: str, text: str = "") -> None:
    """Append a line to a contestant's history (a new list, so SQLAlchemy sees the JSON change)."""
    row.history = [
        *(row.history or []),
        {"at": at.isoformat(timespec="milliseconds"), "event": event, "worker": worker},
    ]
    if text:
        row.history[-1]["note"] = text


def deadline(arena: ArenaRow, spec: ArenaSpec) -> datetime | None:
    """When the arena's time budget runs out (counted from when it started), or None before it starts."""
    return None if arena.started_at is None else arena.started_at + timedelta(seconds=spec.limits.time_budget_s)


def start(store: Store, arena_id: str) -> bool:
    """Mark a queued arena running (once); False if it was already started or has ended."""
    now = store.now()
    with store.session() as s:
        arena = s.scalar(select(ArenaRow).where(ArenaRow.id == arena_id).with_for_update())
        if arena is None or arena.status != Status.QUEUED:
            return False
        arena.status, arena.started_at = Status.RUNNING, now
        return True


def advance(store: Store, arena_id: str, worker: str) -> Next:
    """The arena's next step (module docstring), decided under its row lock."""
    now = store.now()
    with store.session() as s:
        arena = s.scalar(select(ArenaRow).where(ArenaRow.id == arena_id).with_for_update())
        if arena is None or Status(arena.status).ended:
            return Next([], False)
        spec = ArenaSpec.model_validate(arena.spec)
        rows = list(
            s.scalars(select(ContestantRow).where(ContestantRow.arena_id == arena_id).order_by(ContestantRow.id))
        )
        ends = deadline(arena, spec)
        ending = (
            Status.CANCELLED
            if arena.cancel_requested
            else Status.TIMED_OUT
            if ends is not None and now >= ends
            else None
        )
        for row in rows:
            waiting = row.status == Status.QUEUED
            if waiting and (ending is not None or row.cancel_requested):
                why = ending or Status.CANCELLED
                row.status, row.finished_at = why, now
                row.error = f"not started: the {'arena' if ending else 'contestant'} was {why.value.replace('_', ' ')}"
                note(row, now, "not started", worker, row.error)
        if arena.status == Status.QUEUED:  # not prepared yet: nothing to dispatch
            return Next([], False)
        busy = sum(1 for r in rows if r.status == Status.RUNNING or (r.status == Status.QUEUED and r.dispatched_at))
        free = max(0, spec.limits.max_parallel - busy)
        dispatch = [r for r in rows if r.status == Status.QUEUED and r.dispatched_at is None][:free]
        for row in dispatch:
            row.dispatched_at = now
            note(row, now, "dispatched", worker)
        return Next([r.name for r in dispatch], all(Status(r.status).ended for r in rows))


def undelivered(store: Store, arena_id: str, older_than: timedelta) -> list[str]:
    """Contestants dispatched longer ago than `older_than` that no worker has claimed: their job is deferred again
    (a worker that died between dispatching and deferring, or a job lost with its worker)."""
    before = store.now() - older_than
    with store.session() as s:
        return list(
            s.scalars(
                select(ContestantRow.name).where(
                    ContestantRow.arena_id == arena_id,
                    ContestantRow.status == Status.QUEUED,
                    ContestantRow.dispatched_at < before,
                )
            )
        )


def claim(store: Store, arena_id: str, name: str, worker: str, lease: timedelta) -> ContestantRow | None:
    """Take a contestant for `worker` (module docstring); the row as taken, or None if it is not to be run here."""
    now = store.now()
    with store.session() as s:
        row = s.scalar(
            select(ContestantRow)
            .where(ContestantRow.arena_id == arena_id, ContestantRow.name == name)
            .with_for_update()
        )
        if row is None:
            return None
        if row.status == Status.RUNNING:
            if row.heartbeat_at is not None and row.heartbeat_at >= now - lease:
                return None  # a live worker has it
            last = (row.history or [{}])[-1].get("worker", "unknown")
            note(row, now, "rerun", worker, f"run again from scratch: worker {last} stopped renewing its heartbeat")
            row.steps, row.cost, row.tokens_in, row.tokens_out, row.exit_status = 0, 0.0, 0, 0, None
            row.error = row.traceback = row.patch_path = None
        elif row.status != Status.QUEUED:
            return None  # ended (cancelled before it started, say)
        else:
            note(row, now, "claimed", worker)
        row.status, row.heartbeat_at, row.attempts = Status.RUNNING, now, row.attempts + 1
        row.started_at = now
        return row


def holds(store: Store, contestant_id: int, attempt: int, now: datetime) -> bool:
    """Renew this attempt's heartbeat while it runs; False once another worker took the contestant over (a later
    attempt), which means this one was thought dead and must stop writing."""
    with store.session() as s:
        row = s.get(ContestantRow, contestant_id)
        if row is None or row.attempts != attempt:
            return False
        if row.status == Status.RUNNING:
            row.heartbeat_at = now
        return True


def stopping(store: Store, contestant_id: int, worker: str, reason: Status) -> None:
    """Say in a contestant's history when a cancel or the arena's deadline reached the worker running it."""
    now = store.now()
    with store.session() as s:
        row = s.scalar(select(ContestantRow).where(ContestantRow.id == contestant_id).with_for_update())
        if row is not None:
            note(row, now, "stopping", worker, f"{reason.value.replace('_', ' ')}: the worker stops it")


def final_status(store: Store, arena_id: str) -> Status:
    """How an arena whose contestants have all ended ends: cancelled, timed out or completed."""
    arena = store.arena(arena_id)
    spec = ArenaSpec.model_validate(arena.spec)
    if arena.cancel_requested:
        return Status.CANCELLED
    ends = deadline(arena, spec)
    if ends is not None and store.now() >= ends:
        return Status.TIMED_OUT
    return Status.COMPLETED


def live_arenas(store: Store) -> list[str]:
    """Arenas the queue runs that have not ended (what every worker's upkeep looks after)."""
    with store.session() as s:
        return list(s.scalars(select(ArenaRow.id).where(ArenaRow.owner == QUEUE_OWNER, ArenaRow.status.in_(LIVE))))
