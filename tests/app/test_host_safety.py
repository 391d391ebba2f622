"""Issue 9, no host execution from the app: unsafe-local is refused on every path unless the operator allows it,
the backend is always on the form, `make run` listens on loopback, and what could hide an error no longer does."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import launch
from tests.app.conftest import ROOT, SUBMIT, app, texts
from tests.conftest import CALC_FILES, make_repo, write_steps


def unsafe_spec(tmp_path: Path, marker: Path) -> dict:
    """A spec on unsafe-local whose setup command leaves `marker` on the host when it runs."""
    repo = tmp_path / "calc"
    make_repo(repo, CALC_FILES)
    steps = write_steps(tmp_path / "done.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    return {
        "task": {
            "repo": str(repo),
            "title": "asks for unsafe-local",
            "problem_statement": "add() subtracts",
            "setup_command": f"touch {marker}",
        },
        "contestants": [{"name": "a", "model": f"scripted:{steps}", "strategy": "balanced"}],
        "sandbox": {"backend": "unsafe-local"},
    }


@pytest.fixture
def unsafe_arena(data, tmp_path):
    """An unsafe-local arena run from the CLI (the operator's own tool, which may); returns (arena id, marker)."""
    import yaml

    marker = tmp_path / "ran-on-the-host"
    (tmp_path / "arena.yaml").write_text(yaml.safe_dump(unsafe_spec(tmp_path, marker)))
    result = subprocess.run(
        [sys.executable, "-m", "arena.cli", "run", str(tmp_path / "arena.yaml"), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert marker.exists()  # the spec really runs its setup on the host...
    marker.unlink()  # ...so from here on the marker says whether the app ran it again
    from app.resources import engine

    return engine().store.arenas()[0].id, marker


def arena_count() -> int:
    from app.resources import engine

    return len(engine().store.arenas())


def press(at, label: str):
    return next(b for b in at.button if b.label == label).click().run()


def test_run_again_of_an_unsafe_local_arena_is_refused(unsafe_arena):
    arena_id, marker = unsafe_arena
    at = app("arenas")
    at.button(key=f"again-{arena_id}").click().run()
    assert at.title[0].value == "Launch an arena"
    at.switch_page("../pages/launch.py").run()  # AppTest's later runs start from the page it was told to open
    assert at.selectbox(key="backend").value == "unsafe-local"  # shown, not kept silently
    assert [e.value for e in at.error] == [launch.REFUSAL]
    press(at, "Launch")
    assert not at.exception, at.exception
    assert at.title[0].value == "Launch an arena" and launch.REFUSAL in [e.value for e in at.error]
    time.sleep(1)  # what a launch would have started had time to run its setup
    assert arena_count() == 1 and not marker.exists()


def test_run_again_with_unsafe_local_allowed_shows_it_in_red_and_launches(unsafe_arena, monkeypatch):
    arena_id, marker = unsafe_arena
    monkeypatch.setenv("ARENA_ALLOW_UNSAFE_LOCAL", "1")
    at = app("arenas")
    at.button(key=f"again-{arena_id}").click().run()
    at.switch_page("../pages/launch.py").run()
    assert [e.value for e in at.error] == [launch.NO_ISOLATION]
    press(at, "Launch")
    assert not at.exception, at.exception
    assert at.title[0].value == "Live"
    from app.resources import engine

    assert engine().wait(at.session_state["arena_id"], timeout=120)
    assert arena_count() == 2 and marker.exists()


def test_choosing_unsafe_local_on_the_form_is_refused(data, tmp_path):
    marker = tmp_path / "ran-on-the-host"
    spec = unsafe_spec(tmp_path, marker)
    at = app("launch")
    at.session_state["launch_preset"] = {**spec, "sandbox": {"backend": "local"}}
    at.run()
    assert at.selectbox(key="backend").value == "local" and not at.error
    at.selectbox(key="backend").select("unsafe-local").run()
    assert [e.value for e in at.error] == [launch.REFUSAL]
    press(at, "Launch")
    assert at.title[0].value == "Launch an arena" and launch.REFUSAL in [e.value for e in at.error]
    time.sleep(1)
    assert arena_count() == 0 and not marker.exists()


def test_the_launch_call_itself_refuses_unsafe_local(data, tmp_path):
    """Below any widget: what the page hands to launch.submit is refused before anything is validated or written."""
    from app.resources import engine, upload_dir

    marker = tmp_path / "ran-on-the-host"
    arena_id, errors = launch.submit(unsafe_spec(tmp_path, marker), upload_dir(), engine())
    assert arena_id is None and errors == {"sandbox.backend": [launch.REFUSAL]}
    time.sleep(1)
    assert arena_count() == 0 and not marker.exists()


def test_judge_again_of_an_unsafe_local_arena_is_refused(unsafe_arena):
    """Judging re-runs the setup command on the arena's backend: from the app, that is host execution too."""
    arena_id, marker = unsafe_arena
    at = app("results")
    press(at, "Judge again")
    assert any(launch.REFUSAL in e.value for e in at.error)
    time.sleep(1)
    assert not marker.exists()


def test_health_shows_unsafe_local_as_a_warning(data):
    at = app("health")
    assert not any("unsafe-local" in s.value for s in at.success)
    assert any("**unsafe-local** · no isolation" in w.value and "refused by the app" in w.value for w in at.warning)


def test_a_completed_contestant_shows_its_error_on_arenas_live_and_results(demo):
    from app.resources import engine

    store = engine().store
    arena = store.arenas()[0]
    loser = next(c for c in arena.contestants if c.name == "wrong-fix")
    assert loser.status == "completed"
    error = "patch not collected: the patch is 120 MB, larger than ARENA_MAX_PATCH_MB=50"
    store.update_contestant(loser.id, error=error)
    at = app("arenas")
    assert f"wrong-fix (completed · {error})" in texts(at)
    at = app("live")
    assert error in [e.value for e in at.error]
    at = app("results")
    assert "**wrong-fix**: F2P 0/1 passed" in texts(at) and f"error: {error}" in texts(at)
    table = at.dataframe[0].value
    assert table.set_index("candidate").loc["wrong-fix", "error"] == error


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_listens_on_loopback_unless_told_otherwise():
    def run_line(*args: str) -> str:
        out = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, check=True)
        return next(line for line in out.stdout.splitlines() if "streamlit run" in line)

    assert "--server.address 127.0.0.1" in run_line()
    assert "--server.address 0.0.0.0" in run_line("ADDRESS=0.0.0.0")
    assert 'address = "127.0.0.1"' in (ROOT / ".streamlit" / "config.toml").read_text()
