"""Schema migrations (Alembic, in migrations/): every process brings the database to the newest
revision on first use, one process at a time, so N processes opening a fresh database all succeed.

    SQLite      an exclusive file lock beside the database file (<db>.migrate.lock)
    PostgreSQL  a session-level advisory lock
Databases created before migrations existed (tables, no alembic_version) are stamped as 0001 first.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
ADVISORY_KEY = 0x4152454E41  # "ARENA"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    """The newest revision in migrations/versions."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to head; returns (revision before, revision after). Cheap when already there."""
    before = current(engine)
    if before == head():
        return before, before
    with _exclusive(engine) as conn, conn.begin():
        before = MigrationContext.configure(conn).get_current_revision()  # another process may have done it
        if before != head():
            config = _config(conn)
            if before is None and inspect(conn).has_table("arenas"):
                command.stamp(config, "0001")  # made by create_all before migrations existed
            command.upgrade(config, "head")
    return before, head()


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A connection holding the migration lock."""
    database = engine.url.database
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_KEY})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                conn.commit()
    elif engine.dialect.name == "sqlite" and database and database != ":memory:":
        with open(f"{database}.migrate.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                with engine.connect() as conn:
                    yield conn
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        with engine.connect() as conn:
            yield conn
