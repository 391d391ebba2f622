"""The task's Python environment: created by prepare, pytest added when the tests need it, host indexes carried."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from arena.errors import SetupFailed
from arena.sandboxes import RepoCache, get_backend, pyenv
from arena.spec import SandboxSpec
from tests.conftest import CALC_FILES, make_repo, spec_dict, write_steps

PYTEST_TASK = "python3 -m pytest -q"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def prepare(tmp_path: Path, backend: str, **kwargs):
    repo = tmp_path / "repo"
    sha = make_repo(repo, CALC_FILES) if not repo.exists() else kwargs.pop("sha")
    limits = SandboxSpec(backend=backend, command_timeout_s=60)
    b = get_backend(limits, RepoCache(tmp_path / "cache"))
    log = tmp_path / "runs" / kwargs.pop("arena", "a1") / "setup.log"
    return b, b.prepare(str(repo), sha, kwargs.pop("setup", None), log, **kwargs), sha


@pytest.mark.parametrize("backend", ["local", "unsafe-local"])
def test_pytest_is_installed_when_the_test_command_runs_it(backend, tmp_path):
    b, prepared, sha = prepare(tmp_path, backend, test_command=PYTEST_TASK)
    assert pyenv.PYTEST_NOTE in prepared.setup_log
    box = b.create(prepared, tmp_path / "runs" / "a1" / "c", 1_500_011)
    run = box.execute("python3 -m pytest -q tests 2>&1 | tail -1")
    assert "1 failed, 1 passed" in run.output, run.output
    if backend == "local":  # the checkout is reused; pytest is there already, so nothing is installed again
        _, again, _ = prepare(tmp_path, backend, sha=sha, arena="a2", test_command=PYTEST_TASK)
        assert again.checkout == prepared.checkout and pyenv.PYTEST_NOTE not in again.setup_log


def test_no_pytest_unless_the_tests_run_it(tmp_path):
    b, prepared, _ = prepare(tmp_path, "local", test_command="python3 -m unittest discover -s tests")
    assert pyenv.PYTEST_NOTE not in prepared.setup_log
    assert "created the task's Python environment /workspace/.venv" in prepared.setup_log
    box = b.create(prepared, tmp_path / "runs" / "a1" / "c", 1_500_012)
    assert box.execute("python -c 'import pytest'").returncode != 0


def test_a_reused_checkout_gets_pytest_when_a_later_task_needs_it(tmp_path):
    _, first, sha = prepare(tmp_path, "local")
    _, later, _ = prepare(tmp_path, "local", sha=sha, arena="a2", test_command="pytest -x tests")
    assert later.checkout == first.checkout and pyenv.PYTEST_NOTE in later.setup_log
    assert (tmp_path / "runs" / "a2" / "setup.log").read_text() == later.setup_log


def test_setup_installs_into_the_environment(tmp_path):
    b, prepared, _ = prepare(tmp_path, "local", setup="python -m pip install iniconfig")
    assert "$ python -m pip install" in prepared.setup_log and "[exit code 0]" in prepared.setup_log
    box = b.create(prepared, tmp_path / "runs" / "a1" / "c", 1_500_013)
    assert (
        box.execute("python -c 'import iniconfig, sys; print(iniconfig.__file__.startswith(sys.prefix))'").output
        == "True\n"
    )


def test_a_repository_shipping_its_own_venv_is_refused(tmp_path):
    repo = tmp_path / "repo"
    sha = make_repo(repo, {**CALC_FILES, ".venv/bin/python3": "#!/bin/sh\necho planted\n"})
    b = get_backend(SandboxSpec(), RepoCache(tmp_path / "cache"))
    with pytest.raises(SetupFailed, match="has its own .venv/"):
        b.prepare(str(repo), sha, None, tmp_path / "setup.log")


def test_host_pip_indexes_are_carried_without_credentials(tmp_path):
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text(
        "[global]\nfind-links = /opt/wheels\nextra-index-url = file:///opt/pypi/simple https://u:secret@corp/simple\n"
    )
    environ = {"PIP_INDEX_URL": "https://mirror.example/simple", "PIP_TRUSTED_HOST": "mirror.example"}
    values, dropped = pyenv.host_pip_options(environ, home)
    assert values == {
        "index-url": "https://mirror.example/simple",
        "extra-index-url": "file:///opt/pypi/simple",
        "find-links": "/opt/wheels",
        "trusted-host": "mirror.example",
    }
    assert dropped == ["https://u:secret@corp/simple"]
    (venv := tmp_path / "venv" / "bin").mkdir(parents=True)
    (venv / "python").symlink_to(sys.executable)
    note = pyenv.write_pip_conf(venv.parent, environ, home)
    assert "secret" not in (venv.parent / "pip.conf").read_text() and "left out 1 URL" in note


@pytest.mark.parametrize(
    ("command", "runs"),
    [
        ("python3 -m pytest -q", True),
        ("pytest", True),
        ("py.test tests", True),
        ("tox -e py", False),
        ("python -m unittest", False),
        ("pytest-benchmark", False),
        (None, False),
    ],
)
def test_runs_pytest(command, runs):
    assert pyenv.runs_pytest(command) is runs


def test_cli_pytest_task_without_setup_gets_pytest(calc_repo, arena_dir, tmp_path):
    """test_command runs pytest, no setup: the judge's runs are trusted and the fix wins (no 'results not trusted')."""
    write_steps(
        arena_dir / "fix.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": [SUBMIT]},
        ],
    )
    write_steps(arena_dir / "idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    contestants = [{"name": n, "model": f"scripted:{n}.yaml", "strategy": "minimal-fix"} for n in ("fix", "idle")]
    spec = spec_dict(calc_repo, contestants, task={"test_command": PYTEST_TASK})
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
    env.pop("ARENA_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "arena.cli", "run", str(arena_dir / "arena.yaml"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert pyenv.PYTEST_NOTE in Path(out["setup_log_path"]).read_text()
    assert out["verdict"]["winner"] == "fix" and "not trusted" not in json.dumps(out["verdict"])
