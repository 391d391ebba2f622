"""Launch with a GitHub issue, under AppTest against the fake GitHub (tests/fakes/github_server.py): the issue's
title, repository and base shown before launch, GitHub's refusals as the field's errors, `task.github_issue` and
`publish.pull_request` round-tripping like every other field, and an arena launched from the app that publishes
itself (the app's engine has the CLI's Publisher listener)."""

import subprocess

import pytest

from app import launch
from tests.app.conftest import GATEWAY_KEY, SUBMIT, app, every_field_spec, texts
from tests.app.test_launch import untouched
from tests.conftest import GITHUB_REPO, write_steps

ISSUE = f"{GITHUB_REPO.full_name}#1"


@pytest.fixture
def gh(fake_github, data, monkeypatch):
    """The fake GitHub serving acme/calc with issue #1, the app's data dir, private network allowed (127.0.0.1)."""
    monkeypatch.setenv("ARENA_ALLOW_PRIVATE_NETWORK", "1")
    number = fake_github.add_issue(
        GITHUB_REPO.full_name, "add() subtracts", "add(2, 3) returns -1; it must return 5.", ["Seen on 1.2 too."]
    )
    assert number == 1
    return fake_github


def launch_page(preset: dict | None = None):
    at = app()
    if preset is not None:
        at.session_state["launch_preset"] = preset
    at.switch_page("../pages/launch.py").run()
    assert not at.exception, at.exception
    return at


def type_issue(at, text: str):
    at.radio(key="source").set_value(launch.GITHUB).run()
    at.text_input(key="github_issue").input(text).run()
    assert not at.exception, at.exception
    return at


def test_the_issue_is_shown_before_launch_by_its_reference_or_its_url(gh, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", gh.add_token())
    head = gh.branch_sha(GITHUB_REPO.full_name, "main")
    for text in (ISSUE, f"{gh.api_url}/{GITHUB_REPO.full_name}/issues/1"):
        at = type_issue(launch_page(), text)
        [shown] = [s.value for s in at.success]
        assert "**add() subtracts**" in shown and f"repository `{GITHUB_REPO.full_name}`" in shown
        assert f"base: `main` at `{head[:12]}`" in shown
        assert not at.error
        assert "Seen on 1.2 too." in "\n".join(t.value for t in at.text)  # the problem statement, comments too
        placeholders = {t.key: t.placeholder for t in at.text_input}
        assert placeholders["repo"] == launch.ISSUE_HINTS["repo"]
        assert at.checkbox(key="publish_pr").label == "Open a draft pull request"


@pytest.mark.parametrize(
    ("typed", "token", "said"),
    [
        (ISSUE, None, ["no GitHub credentials: set GITHUB_TOKEN", "ARENA_GITHUB_APP_ID", "restart the app"]),
        (f"{GITHUB_REPO.full_name}#99", "good", ["GitHub answered 404 while reading acme/calc#99", "does not exist"]),
        (ISSUE, "ghp_wrong", ["GitHub answered 401", "the token is wrong or expired: check GITHUB_TOKEN"]),
        ("calc#1", "good", ["is not a GitHub issue: write OWNER/REPO#NUMBER or paste the issue's URL"]),
    ],
)
def test_what_github_refuses_is_the_fields_error(gh, monkeypatch, typed, token, said):
    if token:
        monkeypatch.setenv("GITHUB_TOKEN", gh.add_token() if token == "good" else token)
    at = type_issue(launch_page(), typed)
    assert not at.success
    [error] = [e.value for e in at.error]
    assert all(s in error for s in said), error


def test_launch_without_a_token_is_refused_by_the_issue_and_nothing_runs(gh, tmp_path):
    from app.resources import engine

    write_steps(tmp_path / "idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    at = launch_page({"contestants": [{"name": "a", "model": f"scripted:{tmp_path / 'idle.yaml'}"}]})
    type_issue(at, ISSUE)
    next(b for b in at.button if b.label == "Launch").click().run()
    assert at.title[0].value == "Launch an arena"
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("no GitHub credentials: set GITHUB_TOKEN"), errors
    assert engine().store.arenas() == []


def test_a_spec_with_an_issue_and_a_pr_comes_back_as_it_went_in(tmp_path, monkeypatch):
    """every_field_spec without its SWE-bench instance: the task is from the issue, shown in its field."""
    spec = every_field_spec(tmp_path / "sample", tmp_path)
    spec["task"] = {k: v for k, v in spec["task"].items() if k not in ("swebench", "instance_id", "test_patch")}
    for pull_request in (True, False):
        spec["publish"] = {"pull_request": pull_request}
        state: dict = {}
        launch.apply_preset(spec, state)
        assert state["source"] == launch.GITHUB and state["github_issue"] == "demo/textstats#1"
        assert state["publish_pr"] is pull_request
        assert untouched(spec) == spec
    only = {"task": {"github_issue": ISSUE}, "contestants": [{"name": "a", "model": "m/x"}]}  # as `arena run --issue`
    assert untouched(only) == only
    odd = {**only, "publish": {"pull_request": "yes"}}  # not a bool: kept as is, for validation to name
    assert untouched(odd) == odd


def test_another_issue_empties_the_fields_the_presets_issue_filled():
    preset = {
        "task": {"github_issue": "acme/calc#1", "repo": "https://x/acme/calc.git", "base": "abc", "title": "old"},
        "contestants": [],
    }
    preset["task"]["problem_statement"] = "# old\n"
    state: dict = {}
    launch.apply_preset(preset, state)
    state["title"] = "typed by hand"
    launch.follow_issue(state)  # unchanged issue: nothing moves
    assert state["repo"] == "https://x/acme/calc.git"
    state["github_issue"] = "acme/calc#2"
    launch.follow_issue(state)
    assert (state["repo"], state["base"], state["problem_statement"]) == ("", "HEAD", "")
    assert state["title"] == "typed by hand"
    state["repo"] = "/my/clone"
    state["github_issue"] = "acme/calc#3"
    launch.follow_issue(state)  # the preset's values are gone; what the user gave stays
    assert state["repo"] == "/my/clone"


def test_an_arena_launched_from_the_app_with_an_issue_opens_its_draft_pr(gh, tmp_path, monkeypatch):
    from app.resources import engine

    monkeypatch.setenv("GITHUB_TOKEN", gh.add_token())
    write_steps(
        tmp_path / "fix.yaml",
        [{"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]}, {"commands": [SUBMIT]}],
    )
    at = launch_page(
        {
            "task": {"test_command": "python3 -m pytest -q"},
            "contestants": [{"name": "fixer", "model": f"scripted:{tmp_path / 'fix.yaml'}", "strategy": "minimal-fix"}],
            "limits": {"max_parallel": 1, "time_budget_s": 180},
        }
    )
    type_issue(at, ISSUE)
    at.checkbox(key="publish_pr").check().run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Live", texts(at)
    arena_id = at.session_state["arena_id"]
    stored = engine().store.arena(arena_id).spec
    assert stored["task"]["github_issue"] == ISSUE and stored["publish"] == {"pull_request": True}
    assert stored["task"]["title"] == "add() subtracts" and stored["task"]["repo"] == gh.clone_url("acme/calc")
    assert engine().wait(arena_id, timeout=180)
    published = engine().store.publication(arena_id)
    assert published.pr_number is not None and published.head_contestant == "fixer", published.error
    pr = gh.repos[GITHUB_REPO.full_name].pulls[published.pr_number]
    assert pr["draft"] and pr["head"]["ref"] == f"arena/{arena_id}/pr" and "Fixes #1" in pr["body"]


def test_every_field_with_an_issue_launches_from_the_app_and_publishes(gh, tmp_path, monkeypatch):
    """every_field_spec's GitHub variant: its repository served by the fake as demo/textstats (issue #1), launched
    from the form untouched; the stored spec keeps the issue and the PR flag, and the PR shows the judge's pick."""
    from app.resources import engine

    monkeypatch.setenv(GATEWAY_KEY, "not-a-real-key")
    monkeypatch.setenv("GITHUB_TOKEN", gh.add_token())
    spec = every_field_spec(tmp_path / "sample", tmp_path, cli_runner=False)
    gh.add_repo("demo/textstats", tmp_path / "sample" / "demo-repo")
    assert gh.add_issue("demo/textstats", "median() of an even-length list", "It returns the upper middle.") == 1
    spec["task"]["repo"] = gh.clone_url("demo/textstats")
    spec["publish"] = {"pull_request": True}
    assert untouched(spec) == spec
    at = launch_page(spec)
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Live", texts(at)
    arena_id = at.session_state["arena_id"]
    stored = engine().store.arena(arena_id).spec
    assert stored["task"]["github_issue"] == "demo/textstats#1" and stored["publish"]["pull_request"] is True
    assert engine().wait(arena_id, timeout=300)
    published = engine().store.publication(arena_id)
    assert published.head_contestant == "correct-fix" and published.pr_number is not None, published.error
    pr = gh.repos["demo/textstats"].pulls[published.pr_number]
    assert gh.branch_sha("demo/textstats", pr["head"]["ref"]) == published.branches["correct-fix"]["commit"]
    assert "Fixes #1" in pr["body"]
    upstream = tmp_path / "sample" / "demo-repo"
    assert (
        subprocess.run(["git", "branch", "--list", "arena/*"], cwd=upstream, capture_output=True, text=True).stdout
        == ""
    )
