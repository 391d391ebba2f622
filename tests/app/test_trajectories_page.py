"""The Trajectories page, driven by AppTest over real trajectories of every format."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from arena.trajectory import TrajectoryError, load_trajectory
from tests.app.conftest import ARGS, ARTIFACTS, CHROMIUM
from tests.test_trajectory_loader import LOCAL, OPENHANDS, RATE_LIMITED, SWE_AGENT, recorded

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "trajectories.py")
# One file per format (and the 62-step rate-limited run for paging), in the layouts the page must find.
FILES = {
    "runs/a1/v1/traj.json": LOCAL / "v1-gemini-3-pro-astropy-13033.traj.json",
    "runs/a1/v2/traj.json": LOCAL / "v2-gpt-5-mini-astropy-13033.traj.json",
    "imports/django-15252-ratelimited.traj.json": RATE_LIMITED,
    "imports/mini-like.traj.json": LOCAL / "mini-like/gpt-4.1-mini__custom-agent/astropy__astropy-13033.traj.json",
    "imports/swe-agent__test-repo-i1.traj": SWE_AGENT,
    "imports/openhands/basic.json": OPENHANDS,
}


@pytest.fixture(autouse=True)
def fresh_engine(monkeypatch):
    """The page lists the arenas of the app's engine (its store): one made for the data dir this test sets, not
    the one an earlier test in this process left cached. (It asks for monkeypatch so that the test's ARENA_DATA_DIR
    is still set when the engine is shut down.)"""
    from app import queries, resources

    resources.engine.clear()
    queries.arenas.clear()
    yield
    resources.engine().shutdown()
    resources.engine.clear()
    queries.arenas.clear()


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    for target, source in FILES.items():
        (data / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, data / target)
    # Neither of these is a trajectory to list: an evaluation report, and an agent's file in its sandbox.
    shutil.copyfile(next(LOCAL.rglob("*.report.json")), data / "imports" / "report.json")
    (data / "runs/a1/v1/sandbox/upper").mkdir(parents=True)
    shutil.copyfile(FILES["runs/a1/v1/traj.json"], data / "runs/a1/v1/sandbox/upper/traj.json")
    monkeypatch.setenv("ARENA_DATA_DIR", str(data))
    return data


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=30)


def metrics(at: AppTest) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in at.metric:
        found.setdefault(m.label, []).append(m.value)
    return found


def step_numbers(at: AppTest) -> list[int]:
    return [int(m.value.split("**")[1].split()[1]) for m in at.markdown if m.value.startswith("**Step ")]


def test_every_format_renders_with_its_step_count_and_exit_status(data_dir):
    at = page().run()
    assert not at.exception
    select = at.selectbox(key="traj-main-file")
    assert sorted(select.options) == sorted(FILES)
    for name in FILES:
        at.selectbox(key="traj-main-file").set_value(name).run()
        assert not at.exception, name
        assert not at.error, name
        expected = recorded(json.loads((data_dir / name).read_bytes()))
        shown = metrics(at)
        assert shown["Steps"] == [str(expected["steps"])], name
        assert shown["Exit status"] == [expected["exit_status"] or "–"], name
        numbers = step_numbers(at)
        assert numbers == list(range(max(1, expected["steps"] - 19), expected["steps"] + 1)), name
        assert at.code, name  # commands and outputs


def test_the_latest_steps_show_first_and_older_ones_are_a_page_away(data_dir):
    at = page().run()
    at.selectbox(key="traj-main-file").set_value("imports/django-15252-ratelimited.traj.json").run()
    total = len(load_trajectory(data_dir / "imports/django-15252-ratelimited.traj.json").steps)
    assert step_numbers(at) == list(range(total - 19, total + 1))
    pages = at.selectbox(key="traj-main-page")
    assert pages.options == ["latest 20", "steps 1–20", "steps 21–40", "steps 41–60", f"steps 61–{total}"]
    pages.set_value(0).run()  # values are page indexes (-1: the latest)
    assert step_numbers(at) == list(range(1, 21))
    at.selectbox(key="traj-main-page").set_value(3).run()
    assert step_numbers(at) == list(range(61, total + 1))


def test_search_narrows_the_steps_and_says_how_many_match(data_dir):
    at = page().run()
    at.selectbox(key="traj-main-file").set_value("imports/swe-agent__test-repo-i1.traj").run()
    assert step_numbers(at) == [1, 2, 3, 4, 5]
    at.text_input(key="traj-search").set_value("PYTHON TESTS/").run()
    traj = load_trajectory(data_dir / "imports/swe-agent__test-repo-i1.traj")
    expected = [
        s.index + 1 for s in traj.steps if "python tests/" in "\n".join([s.thought, *s.actions, *s.outputs]).lower()
    ]
    assert 0 < len(expected) < len(traj.steps)
    assert step_numbers(at) == expected
    assert f"{len(expected)} of {len(traj.steps)} steps match" in " ".join(c.value for c in at.caption)
    at.text_input(key="traj-search").set_value("no step says this").run()
    assert step_numbers(at) == [] and "No step matches" in at.info[0].value


def test_compare_mode_shows_two_trajectories_side_by_side(data_dir):
    at = page().run()
    at.toggle(key="traj-compare").set_value(True).run()
    assert not at.exception
    left, right = at.selectbox(key="traj-0-file"), at.selectbox(key="traj-1-file")
    left.set_value("runs/a1/v1/traj.json")
    right.set_value("runs/a1/v2/traj.json")
    at.run()
    assert not at.exception
    v1 = recorded(json.loads((data_dir / "runs/a1/v1/traj.json").read_bytes()))
    v2 = recorded(json.loads((data_dir / "runs/a1/v2/traj.json").read_bytes()))
    assert metrics(at)["Steps"] == [str(v1["steps"]), str(v2["steps"])]
    assert len(at.columns) >= 2
    # Each view pages on its own: the left one goes back to its first steps, the right one stays on the latest.
    at.selectbox(key="traj-0-page").set_value(0).run()
    assert step_numbers(at) == list(range(1, 21)) + list(range(1, v2["steps"] + 1))


def test_a_broken_file_shows_the_loaders_message(data_dir):
    (data_dir / "runs/a1/torn.traj.json").write_text('{"messages": [')
    at = page().run()
    at.selectbox(key="traj-main-file").set_value("runs/a1/torn.traj.json").run()
    assert not at.exception
    assert "is not valid JSON" in at.error[0].value


def test_garbage_is_a_clear_trajectory_error():
    # AppTest cannot drive st.file_uploader; the page shows this message with st.error for a bad upload.
    with pytest.raises(TrajectoryError, match="is not valid JSON .*give a .traj.json, .traj or OpenHands .json"):
        load_trajectory(b"garbage")


def test_an_empty_data_dir_says_there_are_no_trajectories(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "empty"))
    at = page().run()
    assert not at.exception
    assert "No trajectories" in at.info[0].value


def test_an_uploaded_file_replaces_the_selected_one_in_chromium(server):
    """Issue 10: after an upload the view kept showing the data dir's file it had selected (AppTest cannot upload)."""
    from playwright.sync_api import sync_playwright

    url, data = server
    subprocess.run(
        [sys.executable, "-m", "arena.cli", "demo", "--json"],
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=120,
    )
    upload = LOCAL / "v2-gpt-5-mini-astropy-13033.traj.json"
    uploaded = load_trajectory(upload)
    unique = f"model {uploaded.model} · {uploaded.instance_id}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/trajectories")
        page.wait_for_selector("h1:has-text('Trajectories')", timeout=30_000)
        page.wait_for_selector("text=Exit status", timeout=30_000)  # a demo run's trajectory is shown
        assert unique not in page.inner_text("body")
        page.locator("input[type=file]").first.set_input_files(str(upload))
        # Before the fix the selector kept the demo's trajectory: this timed out.
        page.wait_for_function("t => document.body.innerText.includes(t)", arg=unique, timeout=30_000)
        page.wait_for_timeout(1000)  # every rerun after the upload has finished
        body = page.inner_text("body")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "trajectories-upload.png"), full_page=True)
        browser.close()
    assert unique in body
    assert uploaded.steps[-1].actions[0] in body  # its last command
