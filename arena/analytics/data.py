"""Where notebooks find data: the user's store (else the demo arena in a temp dir) and the shared trajectories."""

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
    """The store the CLI and the app use (Settings.from_env()); when it holds no arena, `arena demo` in a temp dir.

    Prints which one it is, so a notebook says whether it shows your arenas or the demo. The demo goes to a fresh temp
    dir (under TMPDIR) so a notebook never writes demo rows into a real database, and an absent default database is
    not created just to find it empty.
    """
    settings = Settings.from_env()
    if _has_arenas(settings) or not demo_if_empty:
        print(f"Arenas from {_where(settings)}.")
        return Store(settings.database_url)
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
    print(
        f"No arena in {_where(settings)}, so this shows the demo arena, run just now into {data_dir}. "
        "Run arenas (`arena run`, `make run`) or set ARENA_DATA_DIR to analyse your own."
    )
    return Store(f"sqlite:///{data_dir / 'arena.db'}")  # not Settings.from_env: ARENA_DATABASE_URL may be set


def _has_arenas(settings: Settings) -> bool:
    default_db = settings.data_dir / "arena.db"
    if settings.database_url == f"sqlite:///{default_db}" and not default_db.exists():
        return False  # nothing there yet: do not create a database to find it empty
    return bool(Store(settings.database_url).arenas(limit=1))


def _where(settings: Settings) -> str:
    default_db = f"sqlite:///{settings.data_dir / 'arena.db'}"
    if settings.database_url == default_db:
        return f"the data directory {settings.describe_data_dir()}"
    return "the database of ARENA_DATABASE_URL"


def shared_trajectories() -> Path:
    """ARENA_SHARED_TRAJECTORIES, else ../shared/data/trajectories beside the checkout, else tests/data/trajectories."""
    if configured := os.environ.get("ARENA_SHARED_TRAJECTORIES"):
        return Path(configured).resolve()
    shared = (ROOT.parent / "shared" / "data" / "trajectories").resolve()
    return shared if shared.is_dir() else ROOT / "tests" / "data" / "trajectories"
