"""Every page under AppTest, and the whole path a user takes: Launch -> Live -> Results.

Pages run inside the real app (app/main.py with st.navigation), on a data dir of the test's own,
against the real engine: arenas launched here run in the engine's pool with real sandboxes.
"""

import os
import subprocess
import sys
import time
from datetime import date, timedelta

from tests.app.conftest import ROOT, SUBMIT, app, texts
from tests.conftest import CALC_FILES, make_repo, write_steps


def test_every_page_renders_on_an_empty_data_dir(data):
    for page in ("arenas", "launch", "live", "results", "leaderboard", "costs", "reputation", "trajectories", "health"):
        at = app(page)
        assert at.title[0].value, page


def test_arenas_page_lists_and_filters_the_demo(demo):
    at = app("arenas")
    assert "winner correct-fix" in texts(at) and "median() is wrong" in texts(at)
    at.multiselect[0].select("completed").run()  # status filter
    assert "1 of 1 arenas" in texts(at)
    at.date_input[0].set_value(date.today() + timedelta(days=1)).run()
    assert "0 of 1 arenas" in texts(at)


def test_results_page_shows_the_verdict_and_why_losers_lost(demo):
    at = app("results")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["winner"] == "correct-fix" and metrics["coverage (resolved)"] == "1/3"
    assert "**wrong-fix**: F2P 0/1 passed" in texts(at) and "**gives-up**: empty patch" in texts(at)
    assert list(at.dataframe[0].value["candidate"]) == ["correct-fix", "wrong-fix", "gives-up"]
    assert any("/ 2 if len(ordered)" in c.value for c in at.code)


def test_health_page_reports_without_showing_keys(data, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-show-me")
    at = app("health")
    assert "sk-do-not-show-me" not in str(at._tree)
    assert any("bubblewrap" in s.value for s in at.success)
    providers = at.dataframe[0].value
    assert providers.set[providers.variable == "OPENAI_API_KEY"].item()


def test_launch_shows_bad_input_next_to_the_field(data, tmp_path):
    at = app("launch")
    at.session_state["launch_preset"] = {
        "task": {"repo": str(tmp_path / "nowhere"), "problem_statement": "x"},
        "contestants": [{"name": "a", "model": "scripted:none.yaml"}],
    }
    at.run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert any("task.repo" in e.value and "does not exist" in e.value for e in at.error)
    assert at.session_state["launch_errors"]["task.repo"]


def test_a_blank_test_command_is_a_field_error_while_an_empty_one_means_detect(data, tmp_path):
    at = app("launch")
    at.session_state["launch_preset"] = {
        "task": {"repo": str(tmp_path / "nowhere"), "problem_statement": "x", "test_command": "   "},
        "contestants": [{"name": "a", "model": "scripted:none.yaml"}],
    }
    at.run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert any("is blank; leave it out" in m for m in at.session_state["launch_errors"]["task.test_command"])
    assert any("is blank; leave it out" in e.value for e in at.error)


def test_launch_a_scripted_arena_watch_it_live_and_see_its_verdict(data, tmp_path):
    repo = tmp_path / "calc"
    make_repo(repo, CALC_FILES)
    slow = [{"thought": f"look {i}", "commands": [f"echo look-{i} && sleep 0.4"]} for i in range(6)]
    write_steps(
        tmp_path / "fix.yaml",
        [
            *slow,
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": [SUBMIT]},
        ],
    )
    write_steps(tmp_path / "idle.yaml", [*slow, {"thought": "done", "commands": [SUBMIT]}])
    at = app("launch")
    at.session_state["launch_preset"] = {
        "task": {
            "repo": str(repo),
            "title": "calc from the browser",
            "problem_statement": "add() subtracts",
            "test_command": "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'",
        },
        "contestants": [
            {"name": "fixer", "model": f"scripted:{tmp_path / 'fix.yaml'}", "strategy": "minimal-fix"},
            {"name": "idler", "model": f"scripted:{tmp_path / 'idle.yaml'}", "strategy": "balanced"},
        ],
    }
    at.run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Live"  # launching took us to the Live page
    at.switch_page("../pages/live.py").run()  # AppTest's later runs start from the page it was told to open
    assert [t.label for t in at.tabs] == ["fixer", "idler"]
    deadline = time.monotonic() + 60  # prepare (the task's Python environment) comes first
    while "look-" not in texts(at) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    steps_before = texts(at).count("look-")
    time.sleep(1.5)
    at.run()
    assert texts(at).count("look-") > steps_before, "no new steps after a rerun"

    from app.resources import engine

    assert engine().wait(at.session_state["arena_id"], timeout=120)
    at.switch_page("../pages/results.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["winner"] == "fixer" and metrics["coverage (resolved)"] == "1/2"


def test_launch_shows_stakes_and_refuses_an_agent_that_cannot_pay(data, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_STARTING_GRANT", "0.5")  # below the base stake of 1
    repo = tmp_path / "calc"
    make_repo(repo, CALC_FILES)
    write_steps(tmp_path / "idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    at = app("launch")
    at.session_state["launch_preset"] = {
        "task": {"repo": str(repo), "problem_statement": "add() subtracts"},
        "contestants": [{"name": "poor", "model": f"scripted:{tmp_path / 'idle.yaml'}", "strategy": "balanced"}],
    }
    at.run()
    stakes = next(d.value for d in at.dataframe if "stake" in d.value.columns)
    assert list(stakes["stake"]) == [1.0] and list(stakes["balance"]) == [0.5] and list(stakes["can enter"]) == [False]
    next(b for b in at.button if b.label == "Launch").click().run()
    assert any("cannot enter: balance 0.5 < stake 1" in e.value for e in at.error)
    assert at.title[0].value == "Launch an arena"  # still here, nothing launched
    from app.resources import engine

    assert engine().store.arenas() == []


def test_leaderboard_costs_and_reputation_pages_on_demo_arenas(demo):
    for _ in range(2):  # a second demo arena: more pairwise outcomes
        subprocess.run(
            [sys.executable, "-m", "arena.cli", "demo", "--json"],
            capture_output=True,
            env={**os.environ, "ARENA_DATA_DIR": str(demo)},
            cwd=ROOT,
            timeout=120,
            check=True,
        )
    at = app("leaderboard")
    table = next(d.value for d in at.dataframe if "win_rate" in d.value.columns)
    assert len(table) == 3 and table["runs"].tolist() == [3, 3, 3]
    best = table.sort_values("rating", ascending=False)["agent"].iloc[0]
    assert best.startswith("scripted:correct-fix.yaml@") and best.endswith("+minimal-fix")  # its identity: no path
    assert len(at.get("plotly_chart")) == 1  # the ratings with their intervals
    at = app("costs")
    assert not at.exception and len(at.get("plotly_chart")) >= 1
    at = app("reputation")
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"balance", "stake to enter", "wins", "merged", "reverted"}


def test_an_uploaded_spec_of_the_wrong_shape_is_explained():
    from app.launch import preset

    assert "task: must be a mapping" in preset(b"task: oops\n", None)["error"]
    assert "contestants: must be a list of mappings" in preset(b"contestants: [a, b]\n", None)["error"]
    assert "not valid YAML" in preset(b"task: [unclosed\n", None)["error"]
    assert preset(b"task: {repo: x}\ncontestants: [{name: a}]\n", None)["task"] == {"repo": "x"}
