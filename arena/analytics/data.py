"""Where notebooks find data: the store the CLI and the app use (else the demo arena), and the shared trajectories.

Neither writes to your store: the demo runs into a fresh temp dir only when your store holds no arena, and the shared
trajectories (real agents' runs, or the tests' copy of them) go into a temp store of their own, never into your
leaderboard.
"""

import os
import tempfile
from pathlib import Path

from arena.config import Settings
from arena.errors import ArenaError
from arena.storage import Status, Store

ROOT = Path(__file__).resolve().parents[2]
"""The project checkout (arena/analytics/data.py -> ../../)."""


def open_store(demo_if_empty: bool = True) -> Store:
    """The store the CLI and the app use (Settings.from_env()); when it holds no arena, the demo arena in a temp dir.

    Prints which one it is, so a notebook says whether it shows your arenas or the demo. The demo goes to a fresh temp
    dir (under TMPDIR) so a notebook never writes demo rows into a real database, and an absent default database is
    not created just to find it empty.
    """
    settings = Settings.from_env()
    if _has_arenas(settings) or not demo_if_empty:
        print(f"Arenas from {_where(settings)}.")
        return Store(settings.database_url)
    data_dir = Path(tempfile.mkdtemp(prefix="arena-demo-"))
    # Not Settings.from_env(data_dir): ARENA_DATABASE_URL, if set, would send the demo's rows to that database.
    demo = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'arena.db'}")
    arena_id = run_demo(demo)
    print(
        f"No arena in {_where(settings)}, so this shows the demo arena {arena_id}, run just now into {data_dir}. "
        "Run arenas (`arena run`, `make run`) or set ARENA_DATA_DIR to analyse your own."
    )
    return Store(demo.database_url)


def run_demo(settings: Settings) -> str:
    """Build the demo (arena/demo.py) under `<data dir>/sample` and run it to the end in this process; its arena id.

    Raises:
        ArenaError: the demo arena did not complete (its status and error are in the message).
    """
    # Imported here: the engine brings litellm and mini-swe-agent, which a notebook over your own arenas never needs.
    from arena.demo import build_demo
    from arena.engine import Engine
    from arena.spec import load_spec

    spec = load_spec(build_demo(settings.data_dir / "sample"))
    engine = Engine(settings)
    try:
        arena_id = engine.run(spec)
    finally:
        engine.shutdown()
    row = engine.store.arena(arena_id)
    if row.status != Status.COMPLETED:
        raise ArenaError(
            f"the demo arena {arena_id} in {settings.data_dir} ended {row.status}: {row.error}; "
            "run `arena demo` to see it run, or set ARENA_DATA_DIR to a data dir that holds arenas"
        )
    return arena_id


def reference_store(folder: Path | None = None) -> Store:
    """The trajectories of `folder` (default: shared_trajectories()) imported into a fresh temp store, with results.

    Reference runs of real agents beside yours, kept apart: your store is never written to. Prints how many.
    """
    from arena.ingest import ingest  # arena.ingest imports arena.analytics.steps: not at import time of the package

    folder = folder or shared_trajectories()
    data_dir = Path(tempfile.mkdtemp(prefix="arena-reference-"))
    store = Store(f"sqlite:///{data_dir / 'arena.db'}")
    counts = ingest([folder], store, reports=[folder / "results"] if (folder / "results").is_dir() else [])
    unread = f"; {len(counts['errors'])} could not be read" if counts["errors"] else ""
    print(f"Reference runs: {counts['imported']} trajectories from {folder}{unread} (a temp store, not yours).")
    return store


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
