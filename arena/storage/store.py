"""Store: the only place that talks SQL. Short sessions, detached rows, safe from many threads."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from arena.errors import NotFound, UserError
from arena.storage.models import ArenaRow, Base, ContestantRow, EvaluationRow, Status, VerdictRow, utcnow


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


class Store:
    """Arenas and contestants. Every method opens and closes its own session."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = make_engine(url)
            Base.metadata.create_all(self.engine)
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

    def latest_verdict(self, arena_id: str) -> VerdictRow | None:
        with self.session() as s:
            query = select(VerdictRow).where(VerdictRow.arena_id == arena_id).order_by(VerdictRow.id.desc()).limit(1)
            return s.scalar(query.options(selectinload(VerdictRow.evaluations)))

    def recover_interrupted(self, owner_alive: Callable[[str | None], bool]) -> list[str]:
        """Mark arenas (and their unfinished contestants) left queued/running by a dead process as interrupted."""
        recovered = []
        with self.session() as s:
            stale = s.scalars(select(ArenaRow).where(ArenaRow.status.in_([Status.QUEUED, Status.RUNNING])))
            for arena in stale:
                if owner_alive(arena.owner):
                    continue
                now = utcnow()
                arena.status = Status.INTERRUPTED
                arena.finished_at = now
                arena.error = arena.error or "the process running this arena stopped before it ended"
                for c in arena.contestants:
                    if not Status(c.status).ended:
                        c.status = Status.INTERRUPTED
                        c.finished_at = now
                recovered.append(arena.id)
        return recovered
