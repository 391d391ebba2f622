"""Scripted and replay models: loading (with clear errors) and re-execution through the engine."""

import json
from pathlib import Path

import pytest

from arena.agents.models import V1_ACTION, load_replay, load_script
from arena.engine import Engine
from arena.errors import SpecError
from arena.spec import spec_from_dict
from tests.conftest import spec_dict, write_steps

TRAJECTORIES = Path(__file__).parent / "data" / "trajectories"
REAL = sorted(TRAJECTORIES.glob("*.traj.json"))


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_replay_reads_the_commands_real_trajectories_recorded(path):
    raw = json.loads(path.read_text())
    assistant = [m for m in raw["messages"] if m["role"] == "assistant"]
    expected = [
        [a["command"] for a in m["extra"]["actions"]]
        if "actions" in m.get("extra", {})
        else V1_ACTION.findall(m["content"])
        for m in assistant
    ]
    steps = load_replay(path)
    assert [s.commands for s in steps] == expected
    assert sum(len(c) for c in expected) > 10  # the files really hold commands
    assert "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" in steps[-1].commands[-1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "must be a non-empty YAML list"),
        ("- {thought: x}", "commands"),
        ("- {thought: x, commands: [ls], colour: red}", "Extra inputs are not permitted"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_bad_scripts_are_explained(tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_script(path)


def test_bad_replay_files_are_explained(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(SpecError, match="is not JSON"):
        load_replay(tmp_path / "x.json")
    (tmp_path / "y.json").write_text('{"history": []}')
    with pytest.raises(SpecError, match="no 'messages' list"):
        load_replay(tmp_path / "y.json")


def test_replaying_a_recorded_arena_reproduces_its_patch(settings, calc_repo, arena_dir):
    write_steps(
        arena_dir / "fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py", "echo 'X = 1' > calc/new.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    engine = Engine(settings)
    try:
        first = engine.store.arena(
            engine.run(
                spec_from_dict(
                    spec_dict(calc_repo, [{"name": "orig", "model": "scripted:fix.yaml"}]), base_dir=arena_dir
                )
            )
        )
        traj = first.contestants[0].trajectory_path
        replay = engine.store.arena(
            engine.run(
                spec_from_dict(spec_dict(calc_repo, [{"name": "again", "model": f"replay:{traj}"}]), base_dir=arena_dir)
            )
        )
    finally:
        engine.shutdown()
    orig, again = first.contestants[0], replay.contestants[0]
    assert (again.status, again.exit_status, again.steps) == ("completed", "Submitted", orig.steps)
    assert Path(again.patch_path).read_text() == Path(orig.patch_path).read_text() != ""


def test_replaying_a_real_v2_trajectory_runs_every_recorded_command(settings, calc_repo, arena_dir):
    path = TRAJECTORIES / "v2-gpt-5-mini-astropy-13033.traj.json"
    engine = Engine(settings)
    try:
        arena = engine.store.arena(
            engine.run(
                spec_from_dict(
                    spec_dict(calc_repo, [{"name": "real", "model": f"replay:{path}", "step_limit": 0}]),
                    base_dir=arena_dir,
                )
            )
        )
    finally:
        engine.shutdown()
    row = arena.contestants[0]
    # Its commands target astropy, so they fail here, but every one runs and the final submit ends it.
    assert (row.status, row.exit_status, row.steps) == ("completed", "Submitted", len(load_replay(path)))
