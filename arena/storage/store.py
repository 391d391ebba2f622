"""Store: the only place that talks SQL. Short sessions, detached rows, safe from many threads."""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, event, func, insert, make_url, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, aliased, selectinload, sessionmaker

from arena.errors import NotFound, UserError
from arena.storage import migrate
from arena.storage.models import (
    QUEUE_OWNER,
    ArenaRow,
    ArtifactRow,
    ContestantRow,
    EvaluationRow,
    EventRow,
    PublicationRow,
    Status,
    StepRow,
    VerdictRow,
    utcnow,
)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # WAL: the app reads while workers write
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable with WAL; FULL syncs on every heartbeat
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


ENDED = tuple(s for s in Status if s.ended)
SETTLE_GRACE = timedelta(minutes=10)
"""How long an ended arena with nothing to settle is still looked at by recovery (Store.unsettled_arenas)."""


class Store:
    """Arenas and contestants. Every method opens and closes its own session."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = make_engine(url)
            migrate.upgrade(self.engine)
        except (ArgumentError, NoSuchModuleError) as e:
            raise UserError(f"ARENA_DATABASE_URL {url!r} is not a database URL SQLAlchemy understands ({e})") from None
        except OperationalError as e:
            raise UserError(
                f"cannot open the database {url!r}: {e.orig}; check ARENA_DATABASE_URL / ARENA_DATA_DIR"
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    def create_arena(self, arena: ArenaRow, contestants: list[ContestantRow]) -> str:
        with self.session() as s:
            arena.contestants = contestants
            s.add(arena)
        return arena.id

    def arena(self, arena_id: str) -> ArenaRow:
        with self.session() as s:
            row = s.scalar(select(ArenaRow).where(ArenaRow.id == arena_id).options(selectinload(ArenaRow.contestants)))
            if row is None:
                raise NotFound(f"no arena with id '{arena_id}'; run `arena list` to see the ids")
            return row

    def arenas(self, limit: int = 100, status: str | None = None) -> list[ArenaRow]:
        with self.session() as s:
            query = select(ArenaRow).options(selectinload(ArenaRow.contestants)).order_by(ArenaRow.created_at.desc())
            if status:
                query = query.where(ArenaRow.status == status)
            return list(s.scalars(query.limit(limit)))

    def update_arena(self, arena_id: str, **fields: Any) -> None:
        with self.session() as s:
            row = s.get(ArenaRow, arena_id)
            if row is None:
                raise NotFound(f"no arena with id '{arena_id}'")
            for key, value in fields.items():
                setattr(row, key, value)

    def finish_arena(self, arena_id: str, status: str) -> bool:
        """End an arena that is still queued or running; False if it already ended (recovered by another process)."""
        with self.session() as s:
            taken = s.execute(
                update(ArenaRow)
                .where(ArenaRow.id == arena_id, ArenaRow.status.in_([Status.QUEUED, Status.RUNNING]))
                .values(status=status, finished_at=utcnow())
            ).rowcount
        return bool(taken)

    def delete_arena(self, arena_id: str) -> None:
        """Only for an arena that never started (its launch was refused after the row was written)."""
        with self.session() as s:
            if row := s.get(ArenaRow, arena_id):
                s.delete(row)

    def update_contestant(self, contestant_id: int, **fields: Any) -> None:
        with self.session() as s:
            row = s.get(ContestantRow, contestant_id)
            if row is None:
                raise NotFound(f"no contestant with id {contestant_id}")
            for key, value in fields.items():
                setattr(row, key, value)

    def touch(self, contestant_ids: list[int]) -> None:
        """Heartbeat for several contestants in one statement."""
        if contestant_ids:
            with self.session() as s:
                s.execute(
                    update(ContestantRow).where(ContestantRow.id.in_(contestant_ids)).values(heartbeat_at=utcnow())
                )

    def contestant(self, contestant_id: int) -> ContestantRow:
        with self.session() as s:
            row = s.get(ContestantRow, contestant_id)
            if row is None:
                raise NotFound(f"no contestant with id {contestant_id}")
            return row

    def request_cancel(self, arena_id: str, contestant: str | None = None) -> None:
        """Flag an arena (or one contestant) for cancellation; the running process acts on it."""
        with self.session() as s:
            arena = s.get(ArenaRow, arena_id)
            if arena is None:
                raise NotFound(f"no arena with id '{arena_id}'; run `arena list` to see the ids")
            if contestant is None:
                arena.cancel_requested = True
                return
            row = s.scalar(
                select(ContestantRow).where(ContestantRow.arena_id == arena_id, ContestantRow.name == contestant)
            )
            if row is None:
                names = ", ".join(c.name for c in arena.contestants)
                raise NotFound(f"arena {arena_id} has no contestant '{contestant}'; its contestants are: {names}")
            row.cancel_requested = True

    def cancel_requests(self, arena_id: str) -> tuple[bool, set[str]]:
        """(whole arena flagged, names of flagged contestants)."""
        with self.session() as s:
            arena = s.get(ArenaRow, arena_id)
            if arena is None:
                return False, set()
            names = set(
                s.scalars(
                    select(ContestantRow.name).where(
                        ContestantRow.arena_id == arena_id, ContestantRow.cancel_requested.is_(True)
                    )
                )
            )
            return arena.cancel_requested, names

    def add_verdict(self, verdict: VerdictRow, evaluations: list[EvaluationRow]) -> int:
        with self.session() as s:
            verdict.evaluations = evaluations
            s.add(verdict)
            s.flush()
            return verdict.id

    def latest_verdict(self, arena_id: str, successful: bool = False) -> VerdictRow | None:
        """The arena's newest verdict (what Results shows), or its newest that was reached (what decides stakes)."""
        with self.session() as s:
            query = select(VerdictRow).where(VerdictRow.arena_id == arena_id)
            if successful:
                query = query.where(VerdictRow.error.is_(None))
            query = query.order_by(VerdictRow.id.desc()).limit(1)
            return s.scalar(query.options(selectinload(VerdictRow.evaluations)))

    # -- leases (arena/recovery.py) -------------------------------------------------------------

    def now(self) -> datetime:
        """The database's clock (naive UTC): leases written and judged by hosts whose clocks differ
        compare on one clock. SQLite lives on one host, so its clock is this host's."""
        if self.engine.dialect.name == "postgresql":
            with self.session() as s:
                return s.scalar(text("SELECT timezone('UTC', clock_timestamp())"))
        return utcnow()

    def renew_leases(self, arena_ids: list[str], until: datetime) -> set[str]:
        """Extend the leases of these arenas while they are queued or running; returns the ids still held."""
        if not arena_ids:
            return set()
        live = (Status.QUEUED, Status.RUNNING)
        with self.session() as s:
            s.execute(
                update(ArenaRow).where(ArenaRow.id.in_(arena_ids), ArenaRow.status.in_(live)).values(lease_until=until)
            )
            return set(s.scalars(select(ArenaRow.id).where(ArenaRow.id.in_(arena_ids), ArenaRow.status.in_(live))))

    def expire_leases(self, now: datetime, by: str) -> list[str]:
        """Mark arenas (and their unfinished contestants) whose lease passed `now` as interrupted; returns their ids.

        Each arena is taken by one conditional UPDATE, so an owner that renews at the same moment keeps it.
        """
        live = (Status.QUEUED, Status.RUNNING)
        expired = (
            ArenaRow.status.in_(live)
            & (ArenaRow.lease_until.is_(None) | (ArenaRow.lease_until < now))
            & ArenaRow.owner.is_distinct_from(QUEUE_OWNER)  # the queue's workers hold leases per contestant
        )
        recovered = []
        with self.session() as s:
            candidates = list(s.execute(select(ArenaRow.id, ArenaRow.owner, ArenaRow.lease_until).where(expired)))
        for arena_id, owner, lease in candidates:
            why = (
                f"interrupted: its owner ({owner or 'unknown'}) stopped renewing its lease"
                f"{' at ' + lease.isoformat(timespec='seconds') + ' UTC' if lease else ''}; recovered by {by}"
            )
            with self.session() as s:
                taken = s.execute(
                    update(ArenaRow)
                    .where(ArenaRow.id == arena_id, expired)
                    .values(status=Status.INTERRUPTED, finished_at=now, error=func.coalesce(ArenaRow.error, why))
                ).rowcount
                if taken:
                    s.execute(
                        update(ContestantRow)
                        .where(ContestantRow.arena_id == arena_id, ContestantRow.status.in_(live))
                        .values(status=Status.INTERRUPTED, finished_at=now, error=why)
                    )
                    recovered.append(arena_id)
        return recovered

    def unsettled_arenas(self) -> list[str]:
        """Arenas that have ended and still hold an escrow nobody settled or returned (arena/recovery.py settles them).

        Every CLI command asks, so it must not read the whole ledger: only ended arenas not yet found settled are
        looked at (a partial index holds just those), and each one found with nothing left to settle is marked
        (`settled_at`) and never looked at again. An ended arena gains no new escrow, except from an owner that
        stalled past its lease between writing the arena and its escrows: arenas that ended within SETTLE_GRACE are
        looked at again, not marked.
        """
        escrow, other = aliased(EventRow), aliased(EventRow)
        settled_or_returned = (
            select(other.id)
            .where(other.arena_id == escrow.arena_id)
            .where(
                (other.kind == "place")
                | (other.kind.in_(["refund", "forfeit"]) & (other.contestant == escrow.contestant))
            )
            .exists()
        )
        unchecked = ArenaRow.status.in_(ENDED) & ArenaRow.settled_at.is_(None)
        with self.session() as s:
            candidates = list(s.scalars(select(ArenaRow.id).where(unchecked)))
        unsettled: list[str] = []
        for start in range(0, len(candidates), 5000):
            chunk = candidates[start : start + 5000]
            open_escrows = (
                select(escrow.arena_id)
                .where(escrow.kind == "escrow", escrow.arena_id.in_(chunk), ~settled_or_returned)
                .distinct()
            )
            with self.session() as s:
                held = set(s.scalars(open_escrows))
                done = [arena_id for arena_id in chunk if arena_id not in held]
                if done:
                    ended_before = func.coalesce(ArenaRow.finished_at, ArenaRow.created_at) < utcnow() - SETTLE_GRACE
                    s.execute(
                        update(ArenaRow)
                        .where(ArenaRow.id.in_(done), unchecked, ended_before)
                        .values(settled_at=utcnow())
                    )
            unsettled += [arena_id for arena_id in chunk if arena_id in held]
        return unsettled

    # -- publications (arena/publish) -------------------------------------------------------------------------------

    def claim_publication(self, arena_id: str, repo: str, issue: int | None) -> bool:
        """The arena's publication row, created once: True if this call created it (one PR per arena, by the key)."""
        try:
            with self.session() as s:
                s.add(PublicationRow(arena_id=arena_id, repo=repo, issue=issue))
        except IntegrityError:
            return False
        return True

    def publication(self, arena_id: str) -> PublicationRow | None:
        with self.session() as s:
            return s.get(PublicationRow, arena_id)

    def publications(self, with_pull_request: bool = True) -> list[PublicationRow]:
        query = select(PublicationRow).order_by(PublicationRow.updated_at)
        if with_pull_request:
            query = query.where(PublicationRow.pr_number.is_not(None))
        with self.session() as s:
            return list(s.scalars(query))

    def update_publication(self, arena_id: str, **fields: Any) -> None:
        with self.session() as s:
            row = s.get(PublicationRow, arena_id)
            if row is None:
                raise NotFound(f"arena {arena_id} was never published")
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()

    # -- the shared store (arena/artifacts.py) ------------------------------------------------------------------------

    def put_artifact(self, arena_id: str, contestant: str, name: str, content: bytes) -> None:
        """Keep (or replace) a file an arena produced; contestant "" for the arena's own (its setup log)."""
        with self.session() as s:
            s.merge(
                ArtifactRow(arena_id=arena_id, contestant=contestant, name=name, content=content, updated_at=utcnow())
            )

    def artifact(self, arena_id: str, contestant: str, name: str) -> bytes | None:
        with self.session() as s:
            return s.scalar(
                select(ArtifactRow.content).where(
                    ArtifactRow.arena_id == arena_id, ArtifactRow.contestant == contestant, ArtifactRow.name == name
                )
            )

    def append_steps(self, arena_id: str, contestant: str, attempt: int, start: int, messages: list[dict]) -> None:
        """Messages `start`, `start + 1`, ... of an attempt's trajectory (a message already kept is left as it is)."""
        if not messages:
            return
        rows = [
            {"arena_id": arena_id, "contestant": contestant, "attempt": attempt, "seq": start + i, "message": m}
            for i, m in enumerate(messages)
        ]
        try:
            with self.session() as s:
                s.execute(insert(StepRow), rows)
        except IntegrityError:  # some were kept by an earlier call that failed after writing: keep the rest one by one
            for row in rows:
                with suppress(IntegrityError), self.session() as s:
                    s.execute(insert(StepRow), [row])

    def replace_steps(self, arena_id: str, contestant: str, attempt: int, messages: list[dict]) -> None:
        """An attempt's whole trajectory, in place of what was kept while it ran (a CLI runner's live steps are the
        gateway's log; its transcript, read at the end, says more). One transaction: readers see one or the other."""
        with self.session() as s:
            s.execute(
                delete(StepRow).where(
                    StepRow.arena_id == arena_id, StepRow.contestant == contestant, StepRow.attempt == attempt
                )
            )
            if messages:
                rows = [
                    {"arena_id": arena_id, "contestant": contestant, "attempt": attempt, "seq": i, "message": m}
                    for i, m in enumerate(messages)
                ]
                s.execute(insert(StepRow), rows)

    def steps_mark(self, arena_id: str, contestant: str) -> tuple[int, int, datetime | None] | None:
        """(latest attempt, its messages kept, when its info last changed): what a cached trajectory is keyed by."""
        with self.session() as s:
            attempt = s.scalar(
                select(func.max(StepRow.attempt)).where(StepRow.arena_id == arena_id, StepRow.contestant == contestant)
            )
            if attempt is None:
                return None
            count = s.scalar(
                select(func.count()).where(
                    StepRow.arena_id == arena_id, StepRow.contestant == contestant, StepRow.attempt == attempt
                )
            )
            info_at = s.scalar(
                select(ArtifactRow.updated_at).where(
                    ArtifactRow.arena_id == arena_id,
                    ArtifactRow.contestant == contestant,
                    ArtifactRow.name == "trajectory_info",
                )
            )
            return attempt, count, info_at

    def steps(self, arena_id: str, contestant: str) -> list[dict]:
        """The messages of the contestant's latest attempt, in order."""
        with self.session() as s:
            attempt = s.scalar(
                select(func.max(StepRow.attempt)).where(StepRow.arena_id == arena_id, StepRow.contestant == contestant)
            )
            return list(
                s.scalars(
                    select(StepRow.message)
                    .where(StepRow.arena_id == arena_id, StepRow.contestant == contestant, StepRow.attempt == attempt)
                    .order_by(StepRow.seq)
                )
            )

    # -- health -------------------------------------------------------------------------------------------------------

    def count_arenas(self) -> int:
        """How many arenas there are (one COUNT: the Health page must not load them to count them)."""
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(ArenaRow)) or 0

    def shown_url(self) -> str:
        """The database URL fit to show people: its password hidden."""
        return make_url(self.url).render_as_string(hide_password=True)
