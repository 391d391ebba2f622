"""What an arena hands on: a candidate's patch as SWE-bench predictions JSONL or as a plain diff, or its trajectory
file (rebuilt from the shared store, so any machine can export what a worker ran).

One function for the CLI (`arena export`) and the Results page, with the same checks.
"""

import json
from dataclasses import dataclass

from arena.artifacts import patch_text, trajectory_data
from arena.errors import UserError
from arena.identity import agent_identity
from arena.storage import Store
from arena.tasks.swebench import prediction, write_predictions

FORMATS = ("swebench", "patch", "trajectory")


@dataclass
class Export:
    text: str
    """The JSONL line(s) or the diff."""
    contestant: str
    instance_id: str
    """The SWE-bench instance id, or the arena id for an arena that did not come from SWE-bench."""


def export(store: Store, arena_id: str, contestant: str | None = None, fmt: str = "swebench") -> Export:
    """The winner's (or `contestant`'s) patch of an arena in `fmt`; UserError saying what to choose otherwise."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")
    row, verdict = store.arena(arena_id), store.latest_verdict(arena_id, successful=True)
    instance_id = (row.spec.get("task") or {}).get("instance_id") or row.id
    name = contestant or (verdict.winner if verdict else None)
    by_name = {c.name: c for c in row.contestants}
    if name is None:
        raise UserError(
            f"arena {row.id} has no winner; choose a candidate with --contestant NAME ({', '.join(by_name)})"
        )
    if fmt == "trajectory":
        c = by_name.get(name)
        data = trajectory_data(store, row.id, name, c.trajectory_path) if c is not None else None
        if data is None:
            raise UserError(f"arena {row.id} has no trajectory of '{name}'; contestants: {', '.join(by_name)}")
        return Export(text=json.dumps(data, indent=1), contestant=name, instance_id=instance_id)
    if name == "synthesis" and verdict and verdict.judge.get("synthesis_patch"):
        patch, agent = verdict.judge["synthesis_patch"], f"{verdict.judge.get('reviewer')}+synthesis"
    elif name in by_name and (text := patch_text(store, by_name[name])) is not None:
        c = by_name[name]
        patch, agent = text, agent_identity(c.model, c.strategy)
    else:
        raise UserError(f"arena {row.id} has no candidate '{name}' with a patch; candidates: {', '.join(by_name)}")
    text = patch if fmt == "patch" else write_predictions(None, [prediction(instance_id, agent, patch)])
    return Export(text=text, contestant=name, instance_id=instance_id)
