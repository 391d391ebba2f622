"""A GitHub issue as the task, read from the fake GitHub with real PyGithub."""

import pytest

from arena.errors import UserError
from arena.tasks.github_issue import fill_task, parse_issue_ref
from tests.conftest import GITHUB_REPO as REPO


def test_issue_refs_parse_from_both_forms_and_bad_ones_say_what_to_write(fake_github):
    assert str(parse_issue_ref("acme/calc#12")) == "acme/calc#12"
    assert str(parse_issue_ref(f"{fake_github.api_url}/acme/calc/issues/3")) == "acme/calc#3"
    with pytest.raises(UserError, match="OWNER/REPO#NUMBER"):
        parse_issue_ref("acme/calc 12")
    with pytest.raises(UserError, match="set GITHUB_API_URL"):
        parse_issue_ref("https://gitlab.example.com/acme/calc/issues/3")


def test_the_issue_fills_the_task_with_comments_marked_and_the_base_recorded(fake_github, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token())
    number = fake_github.add_issue(REPO.full_name, "add() subtracts", "add(2, 3) gives -1", ["Also for negatives."])
    task = fill_task({"github_issue": f"{REPO.full_name}#{number}", "test_command": "pytest -q"})
    assert task["repo"] == fake_github.clone_url(REPO.full_name)
    assert task["base"] == fake_github.branch_sha(REPO.full_name, "main")
    assert task["problem_statement"].startswith("# add() subtracts\n\nadd(2, 3) gives -1")
    assert "## Comment on the issue by @commenter1\n\nAlso for negatives." in task["problem_statement"]
    assert task["test_command"] == "pytest -q" and task["github_issue"] == "acme/calc#1"
    kept = fill_task({"github_issue": f"acme/calc#{number}", "problem_statement": "mine", "base": "abc123"})
    assert kept["problem_statement"] == "mine" and kept["base"] == "abc123"


def test_a_missing_issue_or_repository_or_token_is_a_clear_error(fake_github, monkeypatch):
    with pytest.raises(UserError, match="no GitHub credentials"):
        fill_task({"github_issue": "acme/calc#1"})
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token())
    with pytest.raises(UserError, match="404 while reading acme/calc#99.*does not exist"):
        fill_task({"github_issue": "acme/calc#99"})
    with pytest.raises(UserError, match="404 while reading acme/nothing#1"):
        fill_task({"github_issue": "acme/nothing#1"})
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong")
    with pytest.raises(UserError, match="401.*wrong or expired"):
        fill_task({"github_issue": "acme/calc#1"})
