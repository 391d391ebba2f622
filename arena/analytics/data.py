"""Where notebooks find data: the configured store (else the demo arena in a temp dir) and the shared trajectories."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from arena.config import Settings
from arena.errors import ArenaError
from arena.storage import Store

ROOT = Path(__file__).resolve().parents[2]
"""The project checkout (arena/analytics/data.py -> ../../)."""


def open_store(demo_if_empty: bool = True) -> Store:
    """The store of ARENA_DATA_DIR / ARENA_DATABASE_URL; when it holds no arena, `arena demo` run in a temp data dir.

    The demo goes to a fresh temp dir (under TMPDIR) so a notebook never writes demo rows into a real database.
    """
    store = Store(Settings.from_env().database_url)
    if store.arenas(limit=1) or not demo_if_empty:
        return store
    data_dir = Path(tempfile.mkdtemp(prefix="arena-demo-"))
    env = {k: v for k, v in os.environ.items() if k != "ARENA_DATABASE_URL"} | {"ARENA_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from arena.cli import main; sys.exit(main(['demo', '--json']))"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ArenaError(
            f"`arena demo` failed in {data_dir} (exit {done.returncode}): {done.stderr[-2000:]}; "
            "set ARENA_DATA_DIR to a data dir that holds arenas, or run `arena demo` to see the whole error"
        )
    return Store(Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'arena.db'}").database_url)


def shared_trajectories() -> Path:
    """ARENA_SHARED_TRAJECTORIES, else ../shared/data/trajectories beside the checkout, else tests/data/trajectories."""
    if configured := os.environ.get("ARENA_SHARED_TRAJECTORIES"):
        return Path(configured).resolve()
    shared = (ROOT.parent / "shared" / "data" / "trajectories").resolve()
    return shared if shared.is_dir() else ROOT / "tests" / "data" / "trajectories"
