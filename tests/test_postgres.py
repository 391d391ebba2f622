"""The same engine on PostgreSQL (ARENA_DATABASE_URL), against a real throwaway server."""

import os
import subprocess
import sys

import pytest

from arena.config import Settings
from arena.engine import Engine
from arena.spec import spec_from_dict
from tests.conftest import spec_dict, write_steps
from tests.fakes.postgres import as_postgres, pg_bin, throwaway_postgres


@pytest.fixture(scope="module")
def postgres_url():
    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it as root: apt-get install postgresql)")
    with throwaway_postgres() as url:
        yield url


def test_an_arena_runs_and_is_shown_from_postgresql(postgres_url, tmp_path, calc_repo, arena_dir, monkeypatch):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARENA_DATABASE_URL", postgres_url)
    settings = Settings.from_env()
    assert settings.database_url == postgres_url
    write_steps(
        arena_dir / "fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    contestants = [{"name": f"c{i}", "model": "scripted:fix.yaml"} for i in range(3)]
    engine = Engine(settings)
    try:
        arena_id = engine.run(spec_from_dict(spec_dict(calc_repo, contestants), base_dir=arena_dir))
    finally:
        engine.shutdown()
    assert not (tmp_path / "data" / "arena.db").exists()  # nothing went to SQLite
    shown = subprocess.run(
        [sys.executable, "-m", "arena.cli", "show", arena_id, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ},
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    assert '"status": "completed"' in shown.stdout and shown.stdout.count('"exit_status": "Submitted"') == 3


def test_many_processes_open_a_fresh_postgresql_database_at_once(postgres_url, tmp_path, calc_repo, arena_dir):
    """The migration lock (an advisory lock) and the ledger's unique indexes, on PostgreSQL."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    import yaml

    url = postgres_url.rsplit("/", 1)[0] + "/fresh"
    port = url.rsplit(":", 1)[1].split("/")[0]
    subprocess.run(
        as_postgres() + [pg_bin() / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "arena", "fresh"],
        check=True,
    )
    write_steps(
        arena_dir / "fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    spec = spec_dict(calc_repo, [{"name": "fixer", "model": "scripted:fix.yaml", "strategy": "minimal-fix"}])
    (arena_dir / "race.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data"), "ARENA_DATABASE_URL": url}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "arena.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )

    from arena.storage import Store, utcnow

    now = Store(url).now()  # leases are written and judged on the database's clock, naive UTC like every time
    assert now.tzinfo is None and abs((now - utcnow()).total_seconds()) < 5
    with ThreadPoolExecutor(8) as pool:
        opened = list(pool.map(lambda _: cli("list"), range(8)))
    assert [r.returncode for r in opened] == [0] * 8, [r.stderr for r in opened]
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: cli("run", str(arena_dir / "race.yaml"), "--json"), range(4)))
    assert [r.returncode for r in runs] == [0] * 4, [r.stderr[-2000:] for r in runs]
    state = json.loads(cli("agent", f"scripted:{arena_dir / 'fix.yaml'}+minimal-fix", "--json").stdout)
    assert [e["kind"] for e in state["history"]].count("grant") == 1
    assert state["balance"] + state["escrow"] == 100


def test_0003_names_old_agents_by_identity_on_postgresql(postgres_url, tmp_path, calc_repo):
    """The agent-identity migration (tests/test_migrations.py) on PostgreSQL: JSON columns, the grant index."""
    from tests.test_migrations import check_migrated, old_database

    url = postgres_url.rsplit("/", 1)[0] + "/before_identities"
    port = url.rsplit(":", 1)[1].split("/")[0]
    subprocess.run(
        as_postgres() + [pg_bin() / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "arena", "before_identities"],
        check=True,
    )
    expected = old_database(url, tmp_path, calc_repo)
    check_migrated(expected, tmp_path, tmp_path / "data", url)
