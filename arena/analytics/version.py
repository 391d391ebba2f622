"""data_version: one cheap query that changes whenever what the analytics frames show could have changed.

Frames are worth caching (a million runs take seconds to read) only with a key that cannot go stale. What changes
which rows, and how the key sees it:
    ledger events, verdicts (with their evaluations), contestants, imported runs   appended: their newest id
    a queued or running contestant's steps, cost, tokens, status                   how many, their newest id and
                                                                                   totals, and their last heartbeat
                                                                                   (a contestant is written queued,
                                                                                   and nothing changes it once it
                                                                                   has ended)
    an imported run marked resolved by a later report                              how many are resolved or known
    a schema migration that renames stored agents                                  the Alembic revision
Every part is an index lookup or a scan of live rows only, except the imported runs' totals (a scan of that table).
"""

from sqlalchemy import Integer, cast, func, select

from arena.storage import ContestantRow, EventRow, ImportedRunRow, Status, Store, VerdictRow, migrate

LIVE = (Status.QUEUED, Status.RUNNING)


def data_version(store: Store) -> tuple:
    """A tuple that differs whenever runs_df, events_df, verdicts_df or ratings could differ (module docstring)."""
    live = ContestantRow.status.in_(LIVE)
    parts = [
        select(func.max(EventRow.id)),
        select(func.max(VerdictRow.id)),
        select(func.max(ContestantRow.id)),
        select(func.max(ImportedRunRow.id)),
        select(func.count(ImportedRunRow.resolved)),
        select(func.sum(cast(ImportedRunRow.resolved, Integer))),
        select(func.count()).where(live),
        select(func.max(ContestantRow.id)).where(live),
        select(func.sum(ContestantRow.steps)).where(live),
        select(func.sum(ContestantRow.cost)).where(live),
        select(func.sum(ContestantRow.tokens_in + ContestantRow.tokens_out)).where(live),
        select(func.max(ContestantRow.heartbeat_at)).where(live),
    ]
    with store.session() as s:
        values = s.execute(select(*(p.scalar_subquery() for p in parts))).one()
    return (store.url, migrate.current(store.engine), *values)
