"""load_trajectory: any supported file, bytes or parsed JSON -> a Trajectory."""

from pathlib import Path
from typing import Any

import orjson

from arena.trajectory.formats import _fill_durations, _load_mini, _load_openhands, _load_swe_agent, detect_format
from arena.trajectory.schema import Trajectory, TrajectoryError

_ADAPTERS = {
    "mini-swe-agent-1": _load_mini,
    "mini-swe-agent-1.1": _load_mini,
    "mini-like": _load_mini,
    "swe-agent": _load_swe_agent,
    "openhands": _load_openhands,
}


def load_trajectory(source: Path | bytes | str | dict | list) -> Trajectory:
    """Load a trajectory of any known format.

    Args:
        source: a path, raw JSON (bytes or a str starting with `{` / `[`), a path as str, or parsed JSON.

    Raises:
        TrajectoryError: missing file, bad JSON, or a format this loader does not know.
    """
    path = None
    if isinstance(source, str) and source.lstrip()[:1] not in ("{", "["):
        source = Path(source)
    if isinstance(source, Path):
        path = source
        try:
            source = path.read_bytes()
        except FileNotFoundError:
            raise TrajectoryError(f"trajectory file {path} does not exist") from None
        except OSError as e:
            raise TrajectoryError(f"trajectory file {path} cannot be read: {e.strerror}") from None
    where = f"trajectory file {path}" if path else "the trajectory"
    if isinstance(source, bytes | str):
        try:
            source = orjson.loads(source)
        except orjson.JSONDecodeError as e:
            raise TrajectoryError(
                f"{where} is not valid JSON ({e}); give a .traj.json, .traj or OpenHands .json"
            ) from None
    fmt = detect_format(source)
    if fmt is None:
        raise TrajectoryError(f"{where} is not in a format this loader knows: {_describe(source)}; " + _EXPECTED)
    try:
        traj = _ADAPTERS[fmt](source)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
        raise TrajectoryError(f"{where} looks like {fmt} but is malformed ({type(e).__name__}: {e})") from None
    if path is not None:
        traj.source = str(path)
        if traj.instance_id is None and fmt == "swe-agent":
            traj.instance_id = path.name.removesuffix(".traj")  # SWE-agent names files <instance_id>.traj
    _fill_durations(traj.steps)
    return traj


_EXPECTED = (
    "expected mini-swe-agent ({'messages': [...]}, v1 or v2), SWE-agent ({'trajectory': [...]}) "
    "or OpenHands (a list of events)"
)


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        fmt = data.get("trajectory_format")
        keys = ", ".join(map(str, list(data)[:8])) or "none"
        return f"trajectory_format {fmt!r} is unknown" if fmt else f"an object with keys {keys}"
    if isinstance(data, list):
        return f"a list of {len(data)} items that are not OpenHands events"
    return f"a JSON {type(data).__name__}"
