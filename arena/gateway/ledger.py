"""The gateway's SQL: virtual keys (hashed), one row per request, spend sums for the caps, a contestant's usage.

Kept beside the gateway rather than in arena/storage/store.py: only the gateway writes these tables. Request rows
and their contestants' running totals (cost, tokens in/out on the contestant row, which Live shows) are written in
one transaction, so the totals are always the sums of the rows.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, insert, select, update

from arena.storage import ContestantRow, Store, utcnow
from arena.storage.models import GatewayKeyRow, GatewayRequestRow

LIMIT_STATUS = 402


@dataclass(frozen=True)
class Usage:
    """A contestant's use of the gateway, summed over its requests."""

    requests: int = 0
    tokens_in: int = 0
    """Every input token, cache reads and writes included."""
    tokens_out: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cost: float = 0.0
    """USD."""
    limit_hit: str | None = None
    """The 402 message, if a cap refused one of its requests."""
    errors: int = 0
    """Requests the client got an error for (status >= 400), refusals included."""
    retries: int = 0
    """Upstream attempts beyond the first, over all its requests."""


class GatewayLedger:
    def __init__(self, store: Store):
        self.store = store

    def add_key(self, row: GatewayKeyRow) -> None:
        with self.store.session() as s:
            s.add(row)

    def revoke(self, arena_id: str, contestant: str) -> None:
        with self.store.session() as s:
            s.execute(
                update(GatewayKeyRow)
                .where(
                    GatewayKeyRow.arena_id == arena_id,
                    GatewayKeyRow.contestant == contestant,
                    GatewayKeyRow.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )

    def record(self, batch: list[tuple[GatewayRequestRow, int | None]]) -> None:
        """Add the rows, and set each of their contestants' totals to the sums over its rows (one transaction)."""
        with self.store.session() as s:
            # Core's executemany, not the ORM's unit of work: this thread shares the GIL with the event loop
            columns = [c.key for c in GatewayRequestRow.__table__.columns if c.key != "id"]
            rows = [{c: getattr(row, c) for c in columns} for row, _ in batch]
            s.execute(insert(GatewayRequestRow), rows)
            for (arena_id, contestant), contestant_id in {(r.arena_id, r.contestant): c for r, c in batch}.items():
                if contestant_id is None:
                    continue
                cost, tokens_in, tokens_out = s.execute(
                    select(
                        func.coalesce(func.sum(GatewayRequestRow.cost), 0.0),
                        func.coalesce(func.sum(GatewayRequestRow.tokens_in), 0),
                        func.coalesce(func.sum(GatewayRequestRow.tokens_out), 0),
                    ).where(GatewayRequestRow.arena_id == arena_id, GatewayRequestRow.contestant == contestant)
                ).one()
                s.execute(
                    update(ContestantRow)
                    .where(ContestantRow.id == contestant_id)
                    .values(cost=float(cost), tokens_in=int(tokens_in), tokens_out=int(tokens_out))
                )

    def spent(self, arena_id: str, contestant: str | None = None, since: datetime | None = None) -> float:
        """USD spent through the gateway: by a contestant of an arena, by an arena (`contestant` None), or since a
        time across all arenas (`arena_id` "")."""
        query = select(func.coalesce(func.sum(GatewayRequestRow.cost), 0.0))
        if arena_id:
            query = query.where(GatewayRequestRow.arena_id == arena_id)
        if contestant is not None:
            query = query.where(GatewayRequestRow.contestant == contestant)
        if since is not None:
            query = query.where(GatewayRequestRow.started_at >= since)
        with self.store.session() as s:
            return float(s.execute(query).scalar_one())

    def usage(self, arena_id: str, contestant: str) -> Usage:
        mine = (GatewayRequestRow.arena_id == arena_id, GatewayRequestRow.contestant == contestant)
        with self.store.session() as s:
            n, tin, tout, read, write, cost, errors, retries = s.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(GatewayRequestRow.tokens_in), 0),
                    func.coalesce(func.sum(GatewayRequestRow.tokens_out), 0),
                    func.coalesce(func.sum(GatewayRequestRow.cache_read), 0),
                    func.coalesce(func.sum(GatewayRequestRow.cache_write), 0),
                    func.coalesce(func.sum(GatewayRequestRow.cost), 0.0),
                    func.coalesce(func.sum(case((GatewayRequestRow.status >= 400, 1), else_=0)), 0),
                    func.coalesce(
                        func.sum(case((GatewayRequestRow.attempts > 1, GatewayRequestRow.attempts - 1), else_=0)), 0
                    ),
                ).where(*mine)
            ).one()
            limit_hit = s.execute(
                select(GatewayRequestRow.error)
                .where(*mine, GatewayRequestRow.status == LIMIT_STATUS)
                .order_by(GatewayRequestRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        return Usage(n, int(tin), int(tout), int(read), int(write), float(cost), limit_hit, int(errors), int(retries))

    def requests(self, arena_id: str, contestant: str) -> list[GatewayRequestRow]:
        """A contestant's request rows, oldest first (its gateway log, for its trajectory)."""
        with self.store.session() as s:
            query = select(GatewayRequestRow).where(
                GatewayRequestRow.arena_id == arena_id, GatewayRequestRow.contestant == contestant
            )
            return list(s.scalars(query.order_by(GatewayRequestRow.id)))
