"""Agent identity (arena/identity.py): readable, free of paths, the same from a file, a moved file or a stored spec."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from arena.analytics.duck import split_agent
from arena.errors import SpecError
from arena.identity import agent_identity, split_identity
from arena.spec import self_contained, spec_from_dict
from tests.conftest import spec_dict, write_steps

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
FIX = [
    {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
    {"thought": "done", "commands": [SUBMIT]},
]
CAREFUL = {"name": "careful", "persona": "You change as little as you can.", "instructions": "Read first."}
HASHED = r"[0-9a-f]{8}"


def test_a_file_is_named_by_its_name_and_content_never_its_path(tmp_path):
    one = write_steps(tmp_path / "checkout-one/steps/fix.yaml", FIX)
    agent = agent_identity(f"scripted:{one}", "minimal-fix")
    assert re.fullmatch(rf"scripted:fix\.yaml@{HASHED}\+minimal-fix", agent), agent
    moved = write_steps(tmp_path / "elsewhere/deeper/fix.yaml", FIX)
    assert agent_identity(f"scripted:{moved}", "minimal-fix") == agent
    reformatted = tmp_path / "reformatted/fix.yaml"
    reformatted.parent.mkdir()
    reformatted.write_text("# the same steps, written differently\n" + yaml.safe_dump(FIX, default_flow_style=True))
    assert agent_identity(f"scripted:{reformatted}", "minimal-fix") == agent
    edited = write_steps(tmp_path / "edited/fix.yaml", [{**FIX[0], "commands": ["true"]}, FIX[1]])
    assert agent_identity(f"scripted:{edited}", "minimal-fix") != agent
    assert agent_identity(f"scripted:{one}", "test-first") == agent.replace("+minimal-fix", "+test-first")
    assert agent_identity("openai/gpt-4.1-mini", "balanced") == "openai/gpt-4.1-mini+balanced"
    # A stored row holds the two halves: naming them again gives the same agent and reads no file.
    one.unlink()
    assert agent_identity(*split_identity(agent)) == agent


def test_strategy_files_and_odd_file_names_split_where_the_analytics_split(tmp_path):
    steps = write_steps(tmp_path / "a b+c.yaml", FIX)
    strategy = tmp_path / "my+careful strategy.yaml"
    strategy.write_text(yaml.safe_dump(CAREFUL))
    agent = agent_identity(f"scripted:{steps}", str(strategy))
    assert re.fullmatch(rf"scripted:a-b-c\.yaml@{HASHED}\+my-careful-strategy\.yaml@{HASHED}", agent), agent
    assert str(tmp_path) not in agent
    assert split_agent(agent) == split_identity(agent) == tuple(agent.rsplit("+", 1))
    replay = tmp_path / "run.traj.json"
    replay.write_text(json.dumps({"messages": [{"role": "assistant", "content": "", "extra": {"actions": []}}]}))
    assert re.fullmatch(rf"replay:run\.traj\.json@{HASHED}\+balanced", agent_identity(f"replay:{replay}", "balanced"))


def test_the_self_contained_spec_names_the_same_agents_where_the_files_are_gone(tmp_path, calc_repo):
    folder = tmp_path / "spec"
    write_steps(folder / "steps/fix.yaml", FIX)
    (folder / "careful.yaml").write_text(yaml.safe_dump(CAREFUL))
    (folder / "issue.md").write_text("add() subtracts")
    raw = spec_dict(
        calc_repo,
        [
            {"name": "a", "model": "scripted:steps/fix.yaml", "strategy": "careful.yaml"},
            {"name": "b", "model": "openai/gpt-4.1-mini", "strategy": "test-first"},
        ],
    )
    raw["task"] = {"repo": str(calc_repo), "problem_statement_file": "issue.md"}
    spec = spec_from_dict(raw, base_dir=folder)
    agents = spec.agents()
    stored = self_contained(spec).model_dump(mode="json")
    shutil.rmtree(folder)
    again = spec_from_dict(stored, base_dir=tmp_path / "nowhere")
    assert again.agents() == agents
    assert again.problem_statement == "add() subtracts"
    assert again.contestants[0].model == "scripted:fix.yaml" and again.contestants[0].strategy == "careful.yaml"
    assert again.contestants[0].read_strategy().persona == CAREFUL["persona"]


def test_agent_aliases_are_readable_and_never_merge_two_different_agents(tmp_path, calc_repo):
    write_steps(tmp_path / "fix.yaml", FIX)
    write_steps(tmp_path / "other.yaml", FIX[1:])

    def agents(*contestants: dict) -> list[str]:
        return spec_from_dict(spec_dict(calc_repo, list(contestants)), base_dir=tmp_path).agents()

    assert agents(
        {"name": "a", "model": "scripted:fix.yaml", "agent": "acme-fixer"},
        {"name": "b", "model": "scripted:fix.yaml", "agent": "acme-fixer+v2", "strategy": "test-first"},
        {"name": "c", "model": "scripted:fix.yaml", "agent": "acme-fixer"},  # the same agent twice: pays twice
    ) == ["acme-fixer+balanced", "acme-fixer+v2", "acme-fixer+balanced"]
    with pytest.raises(SpecError, match="contestants a and b would both be agent acme-fixer\\+balanced, but a is"):
        agents(
            {"name": "a", "model": "scripted:fix.yaml", "agent": "acme-fixer"},
            {"name": "b", "model": "scripted:other.yaml", "agent": "acme-fixer"},
        )
    for alias in ("openai/gpt-4o", "x@1", "a+b+c", "steps.yaml", ""):
        with pytest.raises(SpecError, match="is not an agent name"):
            agents({"name": "a", "model": "scripted:fix.yaml", "agent": alias})


def arena(*args: str, data: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    env.pop("ARENA_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=180
    )


def test_show_names_each_agent_and_a_moved_checkout_keeps_its_reputation(tmp_path, calc_repo, arena_dir):
    write_steps(arena_dir / "steps/fix.yaml", FIX)
    (arena_dir / "careful.yaml").write_text(yaml.safe_dump(CAREFUL))
    spec = spec_dict(
        calc_repo,
        [
            {"name": "fixer", "model": "scripted:steps/fix.yaml", "strategy": "careful.yaml"},
            {"name": "alias", "model": "scripted:steps/fix.yaml", "agent": "acme-fixer"},
        ],
    )
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    data = tmp_path / "data"
    first = arena("run", str(arena_dir / "arena.yaml"), "--json", data=data, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    shown = json.loads(arena("show", json.loads(first.stdout)["arena_id"], "--json", data=data, cwd=tmp_path).stdout)
    fixer, alias = (c["agent"] for c in shown["contestants"])
    assert re.fullmatch(rf"scripted:fix\.yaml@{HASHED}\+careful\.yaml@{HASHED}", fixer), fixer
    assert alias == "acme-fixer+balanced"
    assert [f"{c['model']}+{c['strategy']}" for c in shown["contestants"]] == [fixer, alias]
    human = arena("show", shown["arena_id"], data=data, cwd=tmp_path).stdout
    assert fixer in human and str(arena_dir) not in human.split("patch")[0]

    moved = tmp_path / "moved-checkout"
    shutil.copytree(arena_dir, moved)
    shutil.rmtree(arena_dir)
    second = arena("run", str(moved / "arena.yaml"), "--json", data=data, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert [c["agent"] for c in json.loads(second.stdout)["contestants"]] == [fixer, alias]

    by_identity = json.loads(arena("agent", fixer, "--json", data=data, cwd=tmp_path).stdout)
    as_in_a_spec = arena("agent", "scripted:steps/fix.yaml+careful.yaml", "--json", data=data, cwd=moved)
    assert json.loads(as_in_a_spec.stdout) == by_identity
    kinds = [e["kind"] for e in by_identity["history"]]
    assert (by_identity["name"], kinds.count("entered"), kinds.count("grant")) == (fixer, 2, 1)
    gone = arena("agent", f"scripted:{arena_dir}/steps/fix.yaml+careful.yaml", data=data, cwd=tmp_path)
    assert gone.returncode == 2 and "does not exist" in gone.stderr and "arena show ID --json" in gone.stderr


def test_the_cli_prints_agent_names_in_full(tmp_path, calc_repo, arena_dir):
    """Names longer than a table column used to be cut at 40 characters, so two agents could read the same."""
    long = "fix-the-subtraction-in-add-then-submit-the-patch"
    names = [f"{long}-{n}.yaml" for n in ("one", "two")]
    for name in names:
        write_steps(arena_dir / name, FIX)
    contestants = [{"name": f"c{i}", "model": f"scripted:{name}"} for i, name in enumerate(names)]
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec_dict(calc_repo, contestants)))
    data = tmp_path / "data"
    run = arena("run", str(arena_dir / "arena.yaml"), "--json", data=data, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    agents = [c["agent"] for c in json.loads(run.stdout)["contestants"]]
    board = arena("leaderboard", "--by", "model", data=data, cwd=tmp_path).stdout
    shown = arena("show", json.loads(run.stdout)["arena_id"], data=data, cwd=tmp_path).stdout
    for agent in agents:
        assert split_identity(agent)[0] in board and agent in shown


def test_a_cli_runner_prefixes_the_model_half_and_mini_swe_agent_keeps_old_names():
    from arena.runners import split_runner

    assert agent_identity("openai/gpt-4.1-mini", "balanced") == "openai/gpt-4.1-mini+balanced"  # as before runners
    cli = agent_identity("anthropic/claude-sonnet-4-5", "minimal-fix", runner="claude-code")
    assert cli == "claude-code/anthropic/claude-sonnet-4-5+minimal-fix"
    model, strategy = split_identity(cli)
    assert (model, strategy) == ("claude-code/anthropic/claude-sonnet-4-5", "minimal-fix")
    assert split_runner(model) == ("claude-code", "anthropic/claude-sonnet-4-5")
    assert split_runner("openai/gpt-4.1-mini") == ("mini-swe-agent", "openai/gpt-4.1-mini")
    # an alias names the model; the runner still shows, and an alias already naming it is not prefixed twice
    assert agent_identity("openai/x", "balanced", agent="acme", runner="aider") == "aider/acme+balanced"
    assert agent_identity("openai/x", "balanced", agent="aider/acme+careful", runner="aider") == "aider/acme+careful"
    assert agent_identity("openai/x", "balanced", agent="acme+careful", runner="aider") == "aider/acme+careful"


def test_a_spec_names_its_runner_and_refuses_what_a_cli_runner_cannot_play(tmp_path):
    from arena.spec import ContestantSpec

    c = ContestantSpec(name="a", model="anthropic/claude-sonnet-4-5", runner="claude-code")
    assert c.identity == "claude-code/anthropic/claude-sonnet-4-5+balanced"
    with pytest.raises(ValueError, match="unknown runner|not a runner|known runners") as e:
        ContestantSpec(name="a", model="openai/x", runner="no-such-cli")
    assert "claude-code" in str(e.value)  # the error lists the runners there are
    steps = write_steps(tmp_path / "fix.yaml", FIX)
    with pytest.raises(ValueError, match="calls a model itself"):
        ContestantSpec(name="a", model=f"scripted:{steps}", runner="aider")
    with pytest.raises(ValueError, match="runner_options: are for CLI runners"):
        ContestantSpec(name="a", model="openai/x", runner_options={"effort": "high"})
    with pytest.raises(ValueError, match="(?i)secret|key"):
        ContestantSpec(name="a", model="openai/x", runner="aider", runner_options={"api_key": "sk-live-123"})
