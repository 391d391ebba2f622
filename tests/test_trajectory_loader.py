"""load_trajectory on every real trajectory we have, on our own engine's files, and TrajectoryCache.

Expected values come from the raw JSON of each file (what the file itself records), never copied by hand.
"""

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arena.demo import SCRIPTS
from arena.errors import UserError
from arena.trajectory import Trajectory, TrajectoryCache, TrajectoryError, load_trajectory, write_json_atomic

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "tests" / "data" / "trajectories"
SHARED = Path("/work/shared/data/trajectories")
RATE_LIMITED = (
    LOCAL / "mini-swe-agent/gpt-5-mini__live-swe-agent__mini-v2.2.4__ratelimited/django__django-15252.traj.json"
)
SWE_AGENT = (
    LOCAL / "swe-agent/gpt4__swe-agent__test-repo__default_from_url__t-0.00__p-0.95/swe-agent__test-repo-i1.traj"
)
OPENHANDS = LOCAL / "openhands/basic.json"
NOT_TRAJECTORIES = ("README.md", "MANIFEST.tsv", ".report.json")


def trajectory_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(NOT_TRAJECTORIES))


def params(folder: Path, label: str) -> list:
    return [pytest.param(p, id=f"{label}:{p.relative_to(folder)}") for p in trajectory_files(folder)]


def manifest(folder: Path) -> list[dict]:
    with open(folder / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


ALL_FILES = params(LOCAL, "local") + params(SHARED, "shared")


def test_both_sets_of_real_trajectories_are_found():
    assert len(trajectory_files(LOCAL)) >= 8
    if SHARED.is_dir():  # the shared set must never vanish silently from the parametrization
        assert trajectory_files(SHARED), f"{SHARED} exists but holds no trajectory"
        assert len(trajectory_files(SHARED)) == sum(r["kind"] == "trajectory" for r in manifest(SHARED))


def test_the_local_manifest_describes_every_file_byte_for_byte():
    rows = {r["local_path"]: r for r in manifest(LOCAL)}
    files = {str(p.relative_to(LOCAL)) for p in LOCAL.rglob("*") if p.is_file()} - {"README.md", "MANIFEST.tsv"}
    assert files == set(rows)
    for name, row in rows.items():
        data = (LOCAL / name).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (row["sha256"], int(row["size"])), name
    trajectories = {name for name, row in rows.items() if row["kind"] == "trajectory"}
    assert trajectories == {str(p.relative_to(LOCAL)) for p in trajectory_files(LOCAL)}
    if SHARED.is_dir():  # every shared file has a local copy
        assert {r["sha256"] for r in manifest(SHARED)} == {r["sha256"] for r in rows.values()}


# ---- what each file records, read straight from its JSON -------------------------------------------


def recorded(raw) -> dict:
    """Step count, totals and exit status as the raw file records them."""
    if isinstance(raw, list):  # OpenHands: one step per agent action event
        actions = [e for e in raw if e.get("source") == "agent" and "action" in e]
        actions = [e for e in actions if e["action"] not in ("system", "change_agent_state", "recall")]
        states = [e["extras"]["agent_state"] for e in raw if e.get("observation") == "agent_state_changed"]
        finished = any(e["action"] == "finish" for e in actions)
        costs = [
            e["llm_metrics"]["accumulated_cost"] for e in raw if "accumulated_cost" in (e.get("llm_metrics") or {})
        ]
        return {
            "steps": len(actions),
            "total_cost": costs[-1] if costs else None,
            "exit_status": states[-1] if states else "finished" if finished else None,
        }
    stats = raw["info"]["model_stats"]
    # SWE-agent: one step per trajectory entry; mini-swe-agent and mini-like: one per assistant message.
    steps = len(raw["trajectory"]) if "trajectory" in raw else sum(m["role"] == "assistant" for m in raw["messages"])
    return {
        "steps": steps,
        "total_cost": stats["instance_cost"],
        "exit_status": raw["info"]["exit_status"],
        "api_calls": stats["api_calls"],
    }


@pytest.mark.parametrize("path", ALL_FILES)
def test_every_real_trajectory_loads_with_what_the_file_records(path: Path):
    raw = json.loads(path.read_bytes())
    traj = load_trajectory(path)
    expected = recorded(raw)
    assert len(traj.steps) == expected["steps"]
    assert traj.total_cost == expected["total_cost"]
    assert traj.exit_status == expected["exit_status"]
    if "api_calls" in expected:
        assert traj.api_calls == expected["api_calls"]
    assert [s.index for s in traj.steps] == list(range(len(traj.steps)))
    for step in traj.steps:
        assert all(isinstance(a, str) and a for a in step.actions), step
        assert len(step.outputs) <= len(step.actions) and len(step.returncodes) == len(step.outputs), step
    assert traj.task and traj.source == str(path)
    if isinstance(raw, dict) and "submission" in raw["info"]:
        assert traj.submission == raw["info"]["submission"]
    if isinstance(raw, dict) and "instance_id" in raw:
        assert traj.instance_id == raw["instance_id"]
    assert load_trajectory(path.read_bytes()) == load_trajectory(raw) != traj  # same, except `source`


@pytest.mark.parametrize("path", [p for p in ALL_FILES if p.values[0].name.endswith(".traj.json")])
def test_mini_swe_agent_steps_match_their_messages(path: Path):
    raw = json.loads(path.read_bytes())
    traj = load_trajectory(path)
    assistants = [m for m in raw["messages"] if m["role"] == "assistant"]
    extras = [m.get("extra") or {} for m in assistants]
    assert [s.cost for s in traj.steps] == [e.get("cost") for e in extras]
    usage = [(e.get("response") or {}).get("usage") or {} for e in extras]
    assert [s.tokens_in for s in traj.steps] == [u.get("prompt_tokens") for u in usage]
    assert [s.tokens_out for s in traj.steps] == [u.get("completion_tokens") for u in usage]
    if raw.get("trajectory_format") == "mini-swe-agent-1.1":
        assert [s.actions for s in traj.steps] == [[a["command"] for a in e["actions"]] for e in extras]
        observations = [m for m in raw["messages"] if m["role"] == "tool"]
        outputs = [(o, rc) for s in traj.steps for o, rc in zip(s.outputs, s.returncodes, strict=True)]
        assert outputs == [(m["extra"]["raw_output"], m["extra"]["returncode"]) for m in observations]
        errors = [m for m in raw["messages"] if (m.get("extra") or {}).get("interrupt_type") == "FormatError"]
        assert sum(len(s.notes) for s in traj.steps) == len(errors)
        times = [e["timestamp"] for e in extras]
        assert [s.timestamp for s in traj.steps] == times
        assert [s.duration_s for s in traj.steps] == [
            round(b - a, 6) for a, b in zip(times, times[1:], strict=False)
        ] + [None]
    if raw.get("trajectory_format") == "mini-swe-agent-1":
        tagged = [m for m in raw["messages"] if m["role"] == "user" and m["content"].startswith("<returncode>")]
        assert sum(rc is not None for s in traj.steps for rc in s.returncodes) == len(tagged)
        assert all("```bash" not in s.thought and not s.thought.startswith("THOUGHT:") for s in traj.steps)
    if "trajectory_format" not in raw:  # mini-like: tool calls carry the commands
        calls = [c for m in assistants for c in m.get("tool_calls") or []]
        assert [a for s in traj.steps for a in s.actions] == [
            json.loads(c["function"]["arguments"])["bash_command"] for c in calls
        ]


def test_a_run_that_died_on_a_rate_limit_keeps_its_steps_and_format_errors():
    raw = json.loads(RATE_LIMITED.read_bytes())
    traj = load_trajectory(RATE_LIMITED)
    assert traj.exit_status == raw["messages"][-1]["extra"]["exit_status"] == "RateLimitError"
    assert traj.submission == ""
    # The failed calls are billed as api_calls but leave no assistant message: api_calls > steps.
    assert traj.api_calls > len(traj.steps)
    assert "No tool calls found" in traj.steps[-1].notes[-1]


def test_swe_agent_and_openhands_fields():
    swe = load_trajectory(SWE_AGENT)
    raw = json.loads(SWE_AGENT.read_bytes())
    assert [s.actions for s in swe.steps] == [[e["action"].strip()] for e in raw["trajectory"]]
    assert [s.outputs for s in swe.steps] == [[e["observation"]] for e in raw["trajectory"]]
    assert [s.thought for s in swe.steps] == [e["thought"].strip() for e in raw["trajectory"]]
    assert swe.instance_id == "swe-agent__test-repo-i1"  # SWE-agent names its files <instance_id>.traj
    assert swe.tokens_in == raw["info"]["model_stats"]["tokens_sent"]

    events = json.loads(OPENHANDS.read_bytes())
    oh = load_trajectory(OPENHANDS)
    edit = next(e for e in events if e.get("action") == "edit")
    result = next(e for e in events if e.get("cause") == edit["id"])
    assert oh.steps[0].actions == [f"str_replace_editor create {edit['args']['path']}"]
    assert oh.steps[0].outputs == [result["content"]]
    assert oh.model == edit["tool_call_metadata"]["model_response"]["model"]
    assert oh.steps[0].tokens_in == edit["tool_call_metadata"]["model_response"]["usage"]["prompt_tokens"]
    assert oh.task == events[0]["message"]
    assert oh.steps[0].duration_s is not None and oh.steps[0].duration_s > 0


# ---- our own engine ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> dict:
    data = tmp_path_factory.mktemp("demo") / "data"
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    result = subprocess.run(
        [sys.executable, "-m", "arena.cli", "demo", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_our_engine_trajectories_load_step_by_step(demo_run):
    assert {c["name"] for c in demo_run["contestants"]} == set(SCRIPTS)
    for contestant in demo_run["contestants"]:
        path = Path(contestant["trajectory_path"])
        traj = load_trajectory(path)
        script = SCRIPTS[contestant["name"]]
        raw = json.loads(path.read_bytes())
        assert traj.format == "mini-swe-agent-1.1"
        assert len(traj.steps) == contestant["steps"] == len(script)
        assert [s.thought for s in traj.steps] == [s["thought"] for s in script]
        assert [s.actions for s in traj.steps] == [s["commands"] for s in script]
        assert (traj.exit_status, traj.total_cost) == (contestant["exit_status"], contestant["cost"])
        assert traj.model == contestant["model"] == raw["info"]["arena"]["model"]
        assert traj.tokens_in == raw["info"]["model_stats"]["tokens_in"]
        # Every command but the final submit ran, returned 0 and recorded its own duration.
        *ran, submit = traj.steps
        assert submit.outputs == [] and submit.actions == ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]
        assert all(s.returncodes == [0] and len(s.outputs) == 1 for s in ran)
        durations = [m["extra"]["duration_s"] for m in raw["messages"] if "duration_s" in (m.get("extra") or {})]
        assert [s.duration_s for s in ran] == durations and all(d >= 0 for d in durations)
        assert all(s.cost == 0.0 and s.timestamp for s in traj.steps)
        assert "median() is wrong" in traj.task
    correct = load_trajectory(Path(demo_run["contestants"][0]["trajectory_path"]))
    assert "def median" in correct.steps[0].outputs[0]
    assert "FAILED (failures=1)" in correct.steps[2].outputs[0] and "OK" in correct.steps[4].outputs[0]


# ---- the incremental cache --------------------------------------------------------------------------


def test_cache_rereads_only_on_change_and_survives_a_torn_write(tmp_path):
    raw = json.loads((LOCAL / "v2-gpt-5-mini-astropy-13033.traj.json").read_bytes())
    path = tmp_path / "traj.json"
    cache = TrajectoryCache()
    assert cache.get(path) is None and cache.parses == 0  # missing: None, nothing read

    write_json_atomic(path, raw)
    first = cache.get(path)
    assert isinstance(first, Trajectory) and cache.parses == 1
    for _ in range(5):
        assert cache.get(path) is first
    assert cache.parses == 1

    raw["messages"].append(raw["messages"][2])  # the agent takes one more step
    write_json_atomic(path, raw)
    second = cache.get(path)
    assert cache.parses == 2 and len(second.steps) == len(first.steps) + 1

    complete = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    path.write_bytes(complete[: len(complete) // 2])  # a torn write by some other tool, in place
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))  # a coarse clock must not hide the changes below
    assert cache.get(path) is second and cache.parses == 3
    path.write_bytes(complete)
    os.utime(path, ns=(mtime + 2 * 10**9, mtime + 2 * 10**9))
    assert cache.get(path) == second and cache.parses == 4

    torn = tmp_path / "never-complete.json"
    torn.write_bytes(complete[:100])
    assert cache.get(torn) is None
    path.unlink()
    assert cache.get(path) is None


# ---- what is not a trajectory -----------------------------------------------------------------------


def test_garbage_and_unknown_formats_give_clear_trajectory_errors(tmp_path):
    with pytest.raises(TrajectoryError, match="not valid JSON"):
        load_trajectory(b"garbage")
    assert issubclass(TrajectoryError, UserError) and TrajectoryError.exit_code == 2
    with pytest.raises(TrajectoryError, match="not in a format this loader knows: an object with keys foo"):
        load_trajectory({"foo": 1})
    with pytest.raises(TrajectoryError, match="trajectory_format 'mini-swe-agent-9' is unknown"):
        load_trajectory({"trajectory_format": "mini-swe-agent-9", "messages": []})
    with pytest.raises(TrajectoryError, match="not OpenHands events"):
        load_trajectory([1, 2, 3])
    with pytest.raises(TrajectoryError, match="looks like mini-like but is malformed"):
        load_trajectory({"messages": [1, 2]})
    with pytest.raises(TrajectoryError, match="does not exist"):
        load_trajectory(tmp_path / "missing.traj.json")
    reports = list(LOCAL.rglob("*.report.json"))
    assert reports
    for report in reports:  # real JSON, but an evaluation report
        with pytest.raises(TrajectoryError, match=f"{report.name} is not in a format this loader knows"):
            load_trajectory(report)
