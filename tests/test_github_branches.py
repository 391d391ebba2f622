"""Candidates as branches on the fake GitHub: commits made in the bare mirror, pushed with the token in git's
environment only; names that cannot collide; push failures that lose nothing."""

import subprocess

import pytest

from arena.credentials import GitHubError
from arena.publish.branches import candidate_branch, commit_message, commit_patch, pr_branch, push
from arena.sandboxes.repos import RepoCache
from tests.conftest import GITHUB_REPO as REPO

PATCH = b"""diff --git a/calc/ops.py b/calc/ops.py
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a - b
+    return a + b
 \n \n def mul(a, b):
"""


@pytest.fixture
def mirror(fake_github, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_ALLOW_PRIVATE_NETWORK", "1")
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token())
    url = fake_github.clone_url(REPO.full_name)
    cache = RepoCache(tmp_path / "cache")
    return cache.mirror(url), url, cache.resolve(url, "main")


def test_branch_names_never_collide_and_odd_names_become_digests():
    names = {candidate_branch("ab12", n) for n in ("pr", "a", "a.b", "c")} | {pr_branch("ab12")}
    assert len(names) == 5
    assert all(not x.startswith(y + "/") for x in names for y in names)
    odd = candidate_branch("ab12", "x..lock")
    assert subprocess.run(["git", "check-ref-format", f"refs/heads/{odd}"]).returncode == 0


def test_a_candidate_is_committed_by_its_agent_with_trailers_and_pushed(fake_github, mirror):
    path, url, base = mirror
    message = commit_message("add() subtracts", "ab12", "alpha")
    sha = commit_patch(path, base, PATCH, agent="scripted:fix.yaml@1a2b3c4d+minimal-fix", message=message)
    push(path, url, {candidate_branch("ab12", "alpha"): sha, pr_branch("ab12"): sha})
    assert fake_github.branch_sha(REPO.full_name, "arena/ab12/c/alpha") == sha
    assert fake_github.branch_sha(REPO.full_name, "arena/ab12/pr") == sha
    shown = subprocess.run(
        ["git", "log", "-1", "--format=%an <%ae>|%cn|%B", sha],
        cwd=fake_github.repos[REPO.full_name].path,
        capture_output=True,
        text=True,
    ).stdout
    assert shown.startswith("scripted:fix.yaml@1a2b3c4d+minimal-fix <scripted-fix.yaml-1a2b3c4d-minimal-fix@")
    assert "Arena-Id: ab12\nArena-Contestant: alpha" in shown
    config = (path / "config").read_text()
    assert "x-access-token" not in config and "ghp_" not in config


def test_a_dropped_push_or_a_token_without_write_fails_saying_how_to_retry(fake_github, mirror, monkeypatch):
    path, url, base = mirror
    sha = commit_patch(path, base, PATCH, agent="a+b", message=commit_message("t", "ab12", "alpha"))
    fake_github.fail_pushes()
    with pytest.raises(GitHubError, match="run `arena pr ab12` to push again"):
        push(path, url, {candidate_branch("ab12", "alpha"): sha})
    assert fake_github.branch_sha(REPO.full_name, "arena/ab12/c/alpha") is None
    push(path, url, {candidate_branch("ab12", "alpha"): sha})  # the retry works
    assert fake_github.branch_sha(REPO.full_name, "arena/ab12/c/alpha") == sha
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token(permissions={"contents": "read"}))
    with pytest.raises(GitHubError, match="denied"):
        push(path, url, {candidate_branch("ab12", "beta"): sha})
