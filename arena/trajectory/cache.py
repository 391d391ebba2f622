"""The incremental reader behind the Live page."""

import threading
from pathlib import Path

from arena.trajectory.load import load_trajectory
from arena.trajectory.schema import Trajectory, TrajectoryError


class TrajectoryCache:
    """Loads a file again only when its (size, mtime_ns, inode) changed: the Live page polls every 2 s.

    The inode catches an atomic rewrite (temp + rename) of the same size within one clock tick.

    A file that is momentarily invalid (torn, half-written by another tool) yields the previous good
    parse, or None if there never was one. Safe to share between threads (Streamlit sessions).
    """

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self.parses = 0
        """How many times a file was actually read and parsed (tests count re-reads with it)."""
        self._entries: dict[Path, tuple[tuple[int, int, int], Trajectory]] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> Trajectory | None:
        path = Path(path)
        try:
            stat = path.stat()
        except OSError:
            with self._lock:
                self._entries.pop(path, None)
            return None
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        with self._lock:
            cached = self._entries.get(path)
            if cached and cached[0] == signature:
                return cached[1]
            self.parses += 1
        try:
            traj = load_trajectory(path)
        except TrajectoryError:
            return cached[1] if cached else None  # not stored: the next change is read again
        with self._lock:
            if len(self._entries) >= self.max_entries and path not in self._entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[path] = (signature, traj)
        return traj
