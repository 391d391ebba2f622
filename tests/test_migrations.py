"""Alembic migrations: the models and the migrations agree; old databases are brought forward."""

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from arena.reputation.ledger import Ledger
from arena.storage import Store, migrate
from arena.storage.models import Base

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    env.pop("ARENA_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT)


def test_migrations_build_exactly_the_schema_of_the_models(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == migrate.head()
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_database_from_before_migrations_is_stamped_upgraded_and_cleaned(tmp_path):
    """What stop 6 wrote (create_all, no alembic_version), including the grants its race minted twice."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        config = migrate._config(conn)
        command.upgrade(config, "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        for _ in range(3):
            conn.execute(
                text(
                    "INSERT INTO reputation_events (at, agent, kind, amount, escrow, detail) "
                    "VALUES ('2026-11-01 00:00:00', 'm+s', 'grant', 100, 0, '{}')"
                )
            )
    engine.dispose()
    store = Store(url)
    assert migrate.current(store.engine) == migrate.head()
    assert Ledger(store).state("m+s").balance == 100  # the minted copies are gone


def test_db_upgrade_and_current_from_the_cli(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    fresh = cli("db", "upgrade", data=data)
    assert fresh.returncode == 0 and f"database at {migrate.head()} (was empty)" in fresh.stdout
    again = cli("db", "upgrade", data=data)
    assert again.returncode == 0 and "already up to date" in again.stdout
    current = cli("db", "current", data=data)
    assert current.stdout.strip() == f"{migrate.head()} (newest: {migrate.head()})"
