"""What a run leaves, read from the shared store: a contestant's patch and trajectory, an arena's setup log.

A worker's disk is invisible to the app, to other workers and to `arena export` on another machine, so the runner
keeps what they need in the database as it goes (Store.put_artifact, Store.append_steps; arena/engine/contestant.py
writes them): the patch when the contestant ends, each trajectory message as the agent produces it, and the rest of
the trajectory file (`trajectory_info`) after every step. Readers ask here, never a path: the database first, then
the file (arenas run before the shared store existed, or a database that lost a write).

    patch_of(store, row)            the patch bytes, or None
    patch_text(store, row)          the same as text that round-trips its bytes
    trajectory_data(store, arena_id, contestant, path)   the trajectory as its file would hold it (a dict), or None
    trajectory_of(...)              the same, loaded (arena.trajectory.Trajectory), cached by what was kept
    setup_log(store, arena_id, path)   the setup log text, or None (keep_setup_log keeps it)
"""

import json
import threading
from pathlib import Path

from arena.judging.patches import read_patch
from arena.storage import ContestantRow, Store
from arena.trajectory import Trajectory, TrajectoryError, load_trajectory

PATCH, TRAJECTORY_INFO, SETUP_LOG = "patch", "trajectory_info", "setup.log"


def patch_of(store: Store, row: ContestantRow) -> bytes | None:
    """A contestant's patch: as kept in the database, else its file on this machine, else None."""
    kept = store.artifact(row.arena_id, row.name, PATCH)
    if kept is not None:
        return kept
    if row.patch_path and Path(row.patch_path).is_file():
        return Path(row.patch_path).read_bytes()
    return None


def patch_text(store: Store, row: ContestantRow) -> str | None:
    """patch_of as text that round-trips its exact bytes (arena.judging.patches.read_patch)."""
    kept = store.artifact(row.arena_id, row.name, PATCH)
    if kept is not None:
        return kept.decode("utf-8", "surrogateescape")
    if row.patch_path and Path(row.patch_path).is_file():
        return read_patch(Path(row.patch_path))
    return None


def trajectory_data(store: Store, arena_id: str, contestant: str, path: str | None = None) -> dict | None:
    """The contestant's trajectory as its file holds it (info and messages of the latest attempt), from the database;
    else the file at `path` on this machine; None when neither has one yet."""
    messages = store.steps(arena_id, contestant)
    info = store.artifact(arena_id, contestant, TRAJECTORY_INFO)
    if messages or info is not None:
        data = json.loads(info) if info is not None else {}
        return {**data, "messages": messages}
    if path and Path(path).is_file():
        try:
            return json.loads(Path(path).read_bytes())
        except ValueError:
            return None
    return None


class _Cache:
    """Loads a kept trajectory again only when what was kept changed (its attempt, message count or info): the Live
    page polls every 2 s, and most polls find nothing new."""

    def __init__(self, max_entries: int = 512):
        self.max_entries, self.loads = max_entries, 0
        self._entries: dict[tuple, tuple[tuple, Trajectory]] = {}
        self._lock = threading.Lock()

    def get(self, store: Store, arena_id: str, contestant: str, path: str | None) -> Trajectory | None:
        key = (store.url, arena_id, contestant)
        mark = store.steps_mark(arena_id, contestant)
        if mark is None:  # nothing kept: an arena from before the shared store; the file, if this machine has it
            data = trajectory_data(store, arena_id, contestant, path)
            return _load(data)
        with self._lock:
            cached = self._entries.get(key)
            if cached and cached[0] == mark:
                return cached[1]
            self.loads += 1
        traj = _load(trajectory_data(store, arena_id, contestant, path))
        if traj is None:
            return cached[1] if cached else None
        with self._lock:
            if len(self._entries) >= self.max_entries and key not in self._entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (mark, traj)
        return traj


def _load(data: dict | None) -> Trajectory | None:
    if data is None:
        return None
    try:
        return load_trajectory(data)
    except TrajectoryError:
        return None


CACHE = _Cache()


def trajectory_of(store: Store, arena_id: str, contestant: str, path: str | None = None) -> Trajectory | None:
    """trajectory_data loaded (arena.trajectory), cached until more of it is kept."""
    return CACHE.get(store, arena_id, contestant, path)


def keep_setup_log(store: Store, arena_id: str, path: Path) -> None:
    """Keep the arena's setup log (the task's setup output) for machines that do not have the file."""
    if path.is_file():
        store.put_artifact(arena_id, "", SETUP_LOG, path.read_bytes())


def setup_log(store: Store, arena_id: str, path: str | None = None) -> str | None:
    kept = store.artifact(arena_id, "", SETUP_LOG)
    if kept is not None:
        return kept.decode("utf-8", "replace")
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8", errors="replace")
    return None
