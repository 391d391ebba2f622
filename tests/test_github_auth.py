"""GitHub credentials against the fake GitHub (tests/fakes/github_server.py): token and App, scoping, caching,
rate limits, and clear errors. Real PyGithub and real git over HTTP on 127.0.0.1."""

import logging
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException

from arena.credentials import AppCredentials, GitHubError, RepoRef, credentials
from tests.conftest import GITHUB_REPO as REPO
from tests.conftest import make_repo
from tests.fakes.github_server import FakeGitHub


def app_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def clone(creds, tmp_path: Path, gh: FakeGitHub) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **creds.git_env(REPO)}
    target = tmp_path / "clone"
    return subprocess.run(
        ["git", "clone", "-q", gh.clone_url(REPO.full_name), str(target)], env=env, capture_output=True, text=True
    )


def test_a_token_reads_the_repository_and_git_clones_without_the_token_in_any_url(fake_github, tmp_path, monkeypatch):
    token = fake_github.add_token()
    monkeypatch.setenv("GITHUB_TOKEN", token)
    creds = credentials()
    assert creds.client(REPO).get_repo(REPO.full_name).default_branch == "main"
    assert clone(creds, tmp_path, fake_github).returncode == 0
    config = (tmp_path / "clone" / ".git" / "config").read_text()
    assert token not in config and "x-access-token" not in config


def test_no_credentials_or_half_an_app_is_a_clear_error(fake_github, monkeypatch):
    with pytest.raises(GitHubError, match="set GITHUB_TOKEN"):
        credentials()
    monkeypatch.setenv("ARENA_GITHUB_APP_ID", "42")
    with pytest.raises(GitHubError, match="set ARENA_GITHUB_APP_PRIVATE_KEY"):
        credentials()
    monkeypatch.setenv("ARENA_GITHUB_APP_PRIVATE_KEY", "/nowhere/key.pem")
    with pytest.raises(GitHubError, match="neither a PEM key nor a readable file"):
        credentials()


def test_a_wrong_token_is_refused_by_git(fake_github, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong")
    assert clone(credentials(), tmp_path, fake_github).returncode != 0


def test_an_app_token_is_minted_for_one_repository_cached_and_minted_again_near_expiry(
    fake_github, tmp_path, monkeypatch
):
    private, public = app_key()
    make_repo(tmp_path / "other", {"x.txt": "x\n"})
    fake_github.add_repo("acme/other", tmp_path / "other")
    fake_github.add_app(42, public, {7: {"acme/calc", "acme/other"}})
    key_file = tmp_path / "app.pem"
    key_file.write_text(private)
    monkeypatch.setenv("ARENA_GITHUB_APP_ID", "42")
    monkeypatch.setenv("ARENA_GITHUB_APP_PRIVATE_KEY", str(key_file))
    creds = credentials()
    assert isinstance(creds, AppCredentials)
    token = creds.token(REPO)
    assert creds.token(REPO) == token, "a fresh token is reused"
    assert [m["repositories"] for m in fake_github.minted] == [["acme/calc"]]
    calc_only = Github(base_url=fake_github.api_url, auth=Auth.Token(token))
    with pytest.raises(GithubException) as refused:  # the calc token cannot see acme/other ...
        calc_only.get_repo("acme/other")
    assert refused.value.status == 404
    other = creds.client(RepoRef("acme", "other"))
    assert other.get_repo("acme/other").full_name == "acme/other"  # ... which gets its own token
    assert clone(creds, tmp_path, fake_github).returncode == 0

    soon = AppCredentials(42, private, fake_github.api_url)
    fake_github.token_ttl_s = 200  # less than the refresh margin: every use mints again
    first = soon.token(REPO)
    assert soon.token(REPO) != first


def test_an_app_not_installed_on_the_repository_says_so(fake_github, monkeypatch):
    private, public = app_key()
    fake_github.add_app(42, public, {7: {"acme/elsewhere"}})
    monkeypatch.setenv("ARENA_GITHUB_APP_ID", "42")
    monkeypatch.setenv("ARENA_GITHUB_APP_PRIVATE_KEY", private)
    with pytest.raises(GitHubError, match="not installed on acme/calc"):
        credentials().token(REPO)


def test_an_app_key_that_does_not_match_is_refused(fake_github, monkeypatch):
    _, public = app_key()
    other_private, _ = app_key()
    fake_github.add_app(42, public, {7: {"acme/calc"}})
    monkeypatch.setenv("ARENA_GITHUB_APP_ID", "42")
    monkeypatch.setenv("ARENA_GITHUB_APP_PRIVATE_KEY", other_private)
    with pytest.raises(GitHubError, match="401"):
        credentials().token(REPO)


def test_rate_limits_are_waited_out_and_said(fake_github, monkeypatch, caplog):
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token())
    client = credentials().client(REPO)
    fake_github.rate_limit(1, "secondary", wait_s=1)
    fake_github.rate_limit(1, "primary", wait_s=1)
    with caplog.at_level(logging.WARNING, logger="arena.github"):
        assert client.get_repo(REPO.full_name).full_name == REPO.full_name
    assert "GitHub rate limit: waiting" in caplog.text


def test_a_rate_limit_longer_than_the_allowed_wait_fails_saying_when(fake_github, monkeypatch):
    from arena.credentials import explained

    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token())
    monkeypatch.setenv("ARENA_GITHUB_MAX_WAIT_S", "1")
    client = credentials().client(REPO)
    fake_github.rate_limit(1, "primary", wait_s=30)
    with pytest.raises(Exception) as failed:
        client.get_repo(REPO.full_name)
    assert "try again later" in str(explained(failed.value, "reading acme/calc"))


def test_the_repository_cache_clones_a_private_github_repository_with_the_token_kept_out_of_the_mirror(
    fake_github, tmp_path, monkeypatch
):
    from arena.errors import SpecError
    from arena.sandboxes.repos import RepoCache

    monkeypatch.setenv("ARENA_ALLOW_PRIVATE_NETWORK", "1")  # the fake listens on 127.0.0.1
    url = fake_github.clone_url(REPO.full_name)
    with pytest.raises(SpecError, match="cannot clone"):
        RepoCache(tmp_path / "no-token").mirror(url)
    token = fake_github.add_token()
    monkeypatch.setenv("GITHUB_TOKEN", token)
    cache = RepoCache(tmp_path / "cache")
    mirror = cache.mirror(url)
    assert len(cache.resolve(url, "main")) == 40
    cache.mirror(url)  # a fetch, authenticated too
    stored = b"".join(p.read_bytes() for p in mirror.rglob("*") if p.is_file())
    assert token.encode() not in stored and b"x-access-token" not in stored


def test_another_host_never_gets_the_token(fake_github, monkeypatch):
    from arena.credentials import git_env_for_url

    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token())
    assert git_env_for_url(fake_github.clone_url(REPO.full_name))
    assert git_env_for_url("https://evil.example.com/acme/calc.git") == {}
    assert git_env_for_url(fake_github.clone_url(REPO.full_name).replace("http://", "http://user@")) == {}
