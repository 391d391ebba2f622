"""A hand-made SWE-bench instance run offline against a local copy: hidden test patch, verdict, export."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from arena.sandboxes import pyenv
from tests.conftest import make_repo, write_steps
from tests.test_judge import UNITTEST_FILES

ROOT = Path(__file__).resolve().parents[1]
TEST_PATCH = """diff --git a/tests/test_new.py b/tests/test_new.py
new file mode 100644
--- /dev/null
+++ b/tests/test_new.py
@@ -0,0 +1,8 @@
+import unittest
+
+from calc.ops import add
+
+
+class TestNew(unittest.TestCase):
+    def test_add_negative(self):
+        self.assertEqual(add(-2, -3), -5)
"""


def arena(*args: str, data: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_swebench_instance_runs_offline_and_exports_predictions(tmp_path):
    repo = tmp_path / "calc-mirror"
    sha = make_repo(repo, UNITTEST_FILES)
    instance = {
        "instance_id": "example__calc-1",
        "repo": "example/calc",
        "base_commit": sha,
        "problem_statement": "add() subtracts its arguments.\nadd(-2, -3) should be -5.",
        "test_patch": TEST_PATCH,
        "patch": "the gold patch, never shown",
        "FAIL_TO_PASS": json.dumps(["tests/test_new.py::TestNew::test_add_negative"]),
        "PASS_TO_PASS": json.dumps(["tests/test_ops.py::TestOps::test_mul"]),
        "version": "1.0",
    }
    (tmp_path / "inst.json").write_text(json.dumps(instance))
    write_steps(
        tmp_path / "steps/fix.yaml",
        [
            {"thought": "look", "commands": ["ls tests; cat tests/test_new.py"]},
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    write_steps(
        tmp_path / "steps/idle.yaml", [{"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}]
    )
    data = tmp_path / "data"
    result = arena(
        "run",
        "--swebench",
        "inst.json",
        "--repo",
        "calc-mirror",
        "--test-command",
        "python3 -m unittest discover -s tests -t .",
        "--contestant",
        "fix=scripted:steps/fix.yaml",
        "--contestant",
        "idle=scripted:steps/idle.yaml:test-first",
        "--json",
        data=data,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["title"].startswith("example__calc-1") and out["base_sha"] == sha
    assert [(c["name"], c["strategy"]) for c in out["contestants"]] == [("fix", "balanced"), ("idle", "test-first")]
    # The hidden test patch was not in the contestant's workspace.
    traj = json.loads(Path(out["contestants"][0]["trajectory_path"]).read_text())
    first = next(m for m in traj["messages"] if m["role"] == "user" and "raw_output" in m.get("extra", {}))
    listing, _, cat = first["extra"]["raw_output"].partition("cat: ")
    assert listing.split() == ["__init__.py", "test_ops.py"] and "No such file or directory" in cat
    assert "never shown" not in json.dumps(traj)
    verdict = out["verdict"]
    assert verdict["winner"] == "fix" and verdict["coverage"]["resolved"] == 1
    fix = verdict["ranking"][0]
    assert fix["evidence"]["f2p_total"] == 1 and fix["evidence"]["f2p_passed"] == 1
    assert verdict["judge"]["f2p"] == ["tests/test_new.py::TestNew::test_add_negative"]

    exported = arena("export", out["arena_id"], "--format", "swebench", "-o", "preds.jsonl", data=data, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in (tmp_path / "preds.jsonl").read_text().splitlines()]
    patch = Path(out["contestants"][0]["patch_path"]).read_text()
    assert rows == [
        {
            "instance_id": "example__calc-1",
            "model_name_or_path": f"{out['contestants'][0]['model']}+balanced",
            "model_patch": patch,
        }
    ]
    chosen = arena("export", out["arena_id"], "--contestant", "idle", data=data, cwd=tmp_path)
    assert json.loads(chosen.stdout)["model_patch"] == ""
    not_swe = arena("export", out["arena_id"], "--contestant", "nobody", data=data, cwd=tmp_path)
    assert not_swe.returncode == 2 and "no candidate 'nobody'" in not_swe.stderr


def test_swebench_in_a_spec_with_overrides(tmp_path):
    repo = tmp_path / "calc-mirror"
    sha = make_repo(repo, UNITTEST_FILES)
    instance = {
        "instance_id": "example__calc-2",
        "repo": "example/calc",
        "base_commit": sha,
        "problem_statement": "from the instance",
        "FAIL_TO_PASS": "[]",
        "PASS_TO_PASS": "[]",
    }
    (tmp_path / "inst.jsonl").write_text(
        json.dumps({**instance, "instance_id": "other"}) + "\n" + json.dumps(instance) + "\n"
    )
    write_steps(
        tmp_path / "idle.yaml", [{"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}]
    )
    spec = {
        "task": {
            "swebench": "inst.jsonl",
            "instance_id": "example__calc-2",
            "repo": "calc-mirror",
            "problem_statement": "overridden by the spec",
            "test_command": "python3 -m unittest discover -s tests -t .",
        },
        "contestants": [{"name": "idle", "model": "scripted:idle.yaml"}],
    }
    (tmp_path / "arena.yaml").write_text(yaml.safe_dump(spec))
    result = arena("run", "arena.yaml", "--json", data=tmp_path / "data", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    traj = Path(out["contestants"][0]["trajectory_path"]).read_text()
    assert "overridden by the spec" in traj and "from the instance" not in traj
    missing = dict(spec, task={**spec["task"], "instance_id": "nope"})
    (tmp_path / "arena.yaml").write_text(yaml.safe_dump(missing))
    bad = arena("run", "arena.yaml", data=tmp_path / "data2", cwd=tmp_path)
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr


PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "calc"
version = "0.1"

[tool.setuptools]
packages = ["calc"]
"""


def test_swebench_instance_with_its_own_python_commands(tmp_path):
    """SWE-bench's `python -m pip install -e .` and `python -m pytest` run unchanged in the task's environment."""
    repo = tmp_path / "calc-mirror"
    sha = make_repo(repo, {**UNITTEST_FILES, "pyproject.toml": PYPROJECT})
    instance = {
        "instance_id": "example__calc-3",
        "repo": "example/calc",
        "base_commit": sha,
        "problem_statement": "add() subtracts its arguments.",
        "test_patch": TEST_PATCH,
        "FAIL_TO_PASS": ["tests/test_new.py::TestNew::test_add_negative"],
        "PASS_TO_PASS": ["tests/test_ops.py::TestOps::test_mul"],
    }
    (tmp_path / "inst.json").write_text(json.dumps(instance))
    check = "cd /tmp && python -c 'import calc, sys; print(calc.__file__, sys.prefix)'"
    write_steps(
        tmp_path / "fix.yaml",
        [
            {"thought": "fix", "commands": [check, "sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    write_steps(
        tmp_path / "idle.yaml", [{"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}]
    )
    result = arena(
        "run",
        "--swebench",
        "inst.json",
        "--repo",
        "calc-mirror",
        "--setup-command",
        "python -m pip install -e .",
        "--test-command",
        "python -m pytest -q tests/test_new.py tests/test_ops.py",
        "--contestant",
        "a=scripted:fix.yaml",
        "--contestant",
        "b=scripted:idle.yaml",
        "--json",
        data=tmp_path / "data",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "completed", out["error"]
    setup_log = Path(out["setup_log_path"]).read_text()
    assert "Successfully installed calc-0.1" in setup_log and pyenv.PYTEST_NOTE in setup_log
    traj = json.loads(Path(out["contestants"][0]["trajectory_path"]).read_text())
    first = next(m for m in traj["messages"] if m["role"] == "user" and "raw_output" in m.get("extra", {}))
    assert first["extra"]["raw_output"] == "/workspace/calc/__init__.py /workspace/.venv\n"  # editable, in the env
    verdict = out["verdict"]
    assert verdict["winner"] == "a" and verdict["coverage"]["resolved"] == 1, verdict
    assert Path(out["contestants"][0]["patch_path"]).read_text().count("diff --git") == 1  # no .venv, no egg-info
