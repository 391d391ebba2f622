"""The same engine on PostgreSQL (ARENA_DATABASE_URL), against a real throwaway server."""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from arena.config import Settings
from arena.orchestrator import Engine
from arena.spec import spec_from_dict
from tests.conftest import spec_dict, write_steps


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres_url():
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (make test installs it as root: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="arena-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run(
        [*as_user, bindir / "initdb", "-D", data, "-A", "trust", "-U", "arena"], check=True, capture_output=True
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-o", options, "-w", "-l", root / "log", "start"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(
        [*as_user, bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "arena", "arena"], check=True
    )
    yield f"postgresql+psycopg://arena@127.0.0.1:{port}/arena"
    subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def test_an_arena_runs_and_is_shown_from_postgresql(postgres_url, tmp_path, calc_repo, arena_dir, monkeypatch):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARENA_DATABASE_URL", postgres_url)
    settings = Settings.from_env()
    assert settings.database_url == postgres_url
    write_steps(arena_dir / "fix.yaml", [{"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
                                         {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}])  # fmt: skip
    contestants = [{"name": f"c{i}", "model": "scripted:fix.yaml"} for i in range(3)]
    engine = Engine(settings)
    try:
        arena_id = engine.run(spec_from_dict(spec_dict(calc_repo, contestants), base_dir=arena_dir))
    finally:
        engine.shutdown()
    assert not (tmp_path / "data" / "arena.db").exists()  # nothing went to SQLite
    shown = subprocess.run([sys.executable, "-m", "arena.cli", "show", arena_id, "--json"], capture_output=True, text=True,
                           env={**os.environ}, cwd=tmp_path)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert '"status": "completed"' in shown.stdout and shown.stdout.count('"exit_status": "Submitted"') == 3
