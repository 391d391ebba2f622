"""Where trajectories are: the one place that finds trajectory files on disk (ingest, analytics, the app).

trajectory_files(paths)      files given as they are, folders searched recursively (sorted): what to try loading
recent_trajectories(root)    under a data directory, newest first, skipping sandboxes, caches and judge work;
                             a plain *.json counts only when `probe` (the loader) accepts it
"""

import os
from collections.abc import Callable, Iterable
from pathlib import Path

TRAJECTORY_SUFFIXES = (".traj.json", ".traj", ".json")
"""Names that may hold a trajectory."""
TRAJECTORY_NAMES = (".traj.json", ".traj")
"""Names that are trajectories by name (plus our runs' `traj.json`); other *.json must load to count."""
SKIP_DIRS = frozenset({"cache", "sandbox", "judge", "node_modules", "__pycache__"})
"""Folders of a data directory that hold sandboxes, checkouts and judge work, never trajectories to browse."""


def trajectory_files(paths: Iterable[Path | str]) -> list[Path]:
    """Files that may hold a trajectory: given files as they are, folders searched recursively, sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TRAJECTORY_SUFFIXES))
        elif path.is_file():
            found.append(path)
    return found


def recent_trajectories(root: Path | str, probe: Callable[[Path], bool], limit: int = 500) -> list[str]:
    """Trajectory files under `root`, newest first: *.traj.json, *.traj, traj.json, and other *.json `probe` accepts."""
    found: list[tuple[float, str]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS]
        for name in files:
            path = Path(folder) / name
            named = name == "traj.json" or name.endswith(TRAJECTORY_NAMES)
            if not named and not (name.endswith(".json") and probe(path)):
                continue
            try:
                found.append((path.stat().st_mtime, str(path)))
            except OSError:
                continue
    return [p for _, p in sorted(found, reverse=True)[:limit]]
