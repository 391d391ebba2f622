"""Trajectory files: written atomically (temp + rename), read tolerantly, loaded into one schema.

A reader never sees a torn file: the writer renames a complete temp file over the old one,
and rename is atomic on POSIX. `read_trajectory` still tolerates garbage (returns None) because
files may come from elsewhere (other tools, a disk that filled up).

`load_trajectory` turns every format we meet into one `Trajectory` of `Step`s:

    format               a step is                        cost / tokens / time come from
    mini-swe-agent-1     an assistant message             -- / response.usage / response.created
    mini-swe-agent-1.1   an assistant message             extra.cost / response.usage or extra.*_tokens /
                                                          extra.timestamp; observation extra.duration_s (ours)
    mini-like            an assistant message             totals in info.model_stats only
    swe-agent            a `trajectory` entry             totals in info.model_stats; entry execution_time
    openhands            an agent action event            tool_call_metadata.model_response (usage, model);
                                                          llm_metrics.accumulated_cost when present

Totals (`total_cost`, `api_calls`, `exit_status`) are what the file records, never recomputed:
a model reply that failed to parse (a FormatError) counts in api_calls but leaves no assistant message,
only a user message, which becomes a note on the step before it.
"""

from arena.trajectory.cache import TrajectoryCache
from arena.trajectory.discover import recent_trajectories, trajectory_files
from arena.trajectory.exit_status import ExitKind, exit_kind
from arena.trajectory.files import read_trajectory, write_json_atomic
from arena.trajectory.formats import FORMATS, detect_format
from arena.trajectory.load import load_trajectory
from arena.trajectory.schema import Step, Trajectory, TrajectoryError

__all__ = [
    "FORMATS",
    "ExitKind",
    "Step",
    "Trajectory",
    "TrajectoryCache",
    "TrajectoryError",
    "detect_format",
    "exit_kind",
    "load_trajectory",
    "read_trajectory",
    "recent_trajectories",
    "trajectory_files",
    "write_json_atomic",
]
