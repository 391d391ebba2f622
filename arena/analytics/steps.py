"""Frames from trajectories: one row per step (steps_df), an arena contestant's from the shared store
(arena/artifacts.py), an imported run's from its file. Built on frames.runs_df (this module imports frames, never
the other way round)."""

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from arena.analytics.frames import runs_df
from arena.artifacts import trajectory_data
from arena.storage import Store
from arena.trajectory import Trajectory, TrajectoryError, load_trajectory
from arena.trajectory.discover import trajectory_files

STEP_SCHEMA = {
    "run": pl.String,
    "path": pl.String,
    "format": pl.String,
    "model": pl.String,
    "instance_id": pl.String,
    "step": pl.Int64,
    "command": pl.String,
    "n_commands": pl.Int64,
    "returncode": pl.Int64,
    "cost": pl.Float64,
    "tokens_in": pl.Int64,
    "tokens_out": pl.Int64,
    "timestamp": pl.Datetime("us"),
    "duration_s": pl.Float64,
}
"""Plus the derived `tokens`, `cum_cost` (cost so far in the run) and `elapsed_s` (since the run's first step)."""


def steps_df(source: Store | Iterable[Path | str], runs: Iterable[str] | None = None) -> pl.DataFrame:
    """One row per step of every readable trajectory.

    Args:
        source: a Store (the trajectories of its contestants, from the shared store, and of its imported runs; `run`,
            `model` and `instance_id` as in `runs_df`) or files and folders (searched recursively; `run` is the file's path, `model` what the file
            records). Files that are not trajectories, or no longer exist, are skipped.
        runs: keep only these run keys.

    Returns:
        STEP_SCHEMA plus tokens, cum_cost and elapsed_s. `command` joins a step's commands with newlines;
        `returncode` is the first non-zero return code among them, else 0, null when none was recorded.
    """
    if isinstance(source, Store):
        stored = runs_df(source).filter(pl.col("trajectory_path").is_not_null() | (pl.col("source") == "arenas"))
        keyed = stored.select("run", "trajectory_path", "model", "instance_id", "arena_id", "contestant").rows()
    else:
        keyed = [(str(p), str(p), None, None, None, None) for p in trajectory_files(source)]
    wanted = set(runs) if runs is not None else None
    rows = []
    for run, path, model, instance_id, arena_id, contestant in keyed:
        if wanted is not None and run not in wanted:
            continue
        try:
            if arena_id is not None:  # an arena's contestant: from the shared store (it may have run elsewhere)
                data = trajectory_data(source, arena_id, contestant, path)
                if data is None:
                    continue
                traj = load_trajectory(data)
            else:
                traj = load_trajectory(Path(path))
        except TrajectoryError:
            continue
        traj.model, traj.instance_id = model or traj.model, instance_id or traj.instance_id  # the stored names win
        rows += _rows(run, path, traj)
    frame = pl.DataFrame(rows, schema=STEP_SCHEMA, orient="row")
    return frame.with_columns(
        tokens=pl.col("tokens_in") + pl.col("tokens_out"),
        cum_cost=pl.col("cost").cum_sum().over("run"),
        elapsed_s=(pl.col("timestamp") - pl.col("timestamp").min().over("run")).dt.total_microseconds() / 1e6,
    )


def _rows(run: str, path: str, traj: Trajectory) -> list[tuple]:
    rows = []
    for step in traj.steps:
        codes = [c for c in step.returncodes if c is not None]
        returncode = next((c for c in codes if c != 0), 0) if codes else None
        moment = datetime.fromtimestamp(step.timestamp, UTC).replace(tzinfo=None) if step.timestamp else None
        rows.append(
            (
                run,
                path,
                traj.format,
                traj.model,
                traj.instance_id,
                step.index,
                "\n".join(step.actions) or None,
                len(step.actions),
                returncode,
                step.cost,
                step.tokens_in,
                step.tokens_out,
                moment,
                step.duration_s,
            )
        )
    return rows
