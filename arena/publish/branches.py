"""Candidates as git branches: each non-empty patch committed on the base and pushed over HTTPS as its own branch.

Names cannot collide, because git refuses `x/y` beside `x/y/z`: every candidate of arena A lives under
`arena/A/c/<contestant>` (contestant names hold no '/'), and the pull request's head is `arena/A/pr`, a branch of
our own that points at the chosen candidate's commit, so a re-judge can move the PR to another candidate (GitHub
cannot change a PR's head branch). A name git would refuse (`..`, `.lock`, ...) is replaced by a digest.

Commits are made in the repository cache's bare mirror with a private index: no working tree, nothing to clean up.
Author: the agent (its identity as on the leaderboard); committer: Agent Arena; trailers `Arena-Id:` and
`Arena-Contestant:`. The token reaches `git push` only through its environment (arena/credentials.py).
"""

import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from arena.config import setting
from arena.credentials import GitHubError, git_env_for_url

COMMITTER = ("Agent Arena", "arena@agent-arena.invalid")
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def candidate_branch(arena_id: str, contestant: str) -> str:
    return _valid(f"arena/{arena_id}/c/{contestant}", f"arena/{arena_id}/c/")


def pr_branch(arena_id: str) -> str:
    return _valid(f"arena/{arena_id}/pr", "arena/pr/")


def _valid(name: str, prefix: str) -> str:
    ok = subprocess.run(["git", "check-ref-format", f"refs/heads/{name}"], capture_output=True).returncode == 0
    return name if ok else prefix + hashlib.sha256(name.encode()).hexdigest()[:16]


def author_email(agent: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", agent).strip("-.")[:60] or "agent"
    return f"{slug}@agents.agent-arena.invalid"


def commit_patch(mirror: Path, base_sha: str, patch: bytes, *, agent: str, message: str, date: str = "") -> str:
    """A commit of `patch` on `base_sha` in the bare `mirror`, authored by `agent`; returns its sha.

    With `date` (git's date formats) the commit is reproducible: the same patch gives the same sha, so publishing
    again pushes nothing new.
    """
    env = {
        **({"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {}),
        "GIT_AUTHOR_NAME": agent,
        "GIT_AUTHOR_EMAIL": author_email(agent),
        "GIT_COMMITTER_NAME": COMMITTER[0],
        "GIT_COMMITTER_EMAIL": COMMITTER[1],
    }
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(mirror, "read-tree", base_sha, env=index)
        _git(mirror, "apply", "--cached", "--binary", "-", env=index, input=patch)
        tree = _git(mirror, "write-tree", env=index)
    return _git(mirror, "commit-tree", tree, "-p", base_sha, env=env, input=message.encode())


def commit_message(title: str, arena_id: str, contestant: str, body: str = "") -> str:
    text = f"{title.strip() or 'Arena ' + arena_id} (candidate {contestant})\n\n"
    if body.strip():
        text += body.strip() + "\n\n"
    return text + f"Arena-Id: {arena_id}\nArena-Contestant: {contestant}\n"


def push(mirror: Path, url: str, refs: dict[str, str]) -> None:
    """Point branch -> sha on `url` (forced: these branches are the arena's own), token in git's environment only.

    A failure (network, permission) raises GitHubError with git's message; nothing local is lost, so the push can
    be retried (`arena pr`).
    """
    if not refs:
        return
    refspecs = [f"+{sha}:refs/heads/{branch}" for branch, sha in sorted(refs.items())]
    timeout = float(setting("ARENA_GIT_TIMEOUT_S"))
    try:
        done = subprocess.run(
            ["git", "push", "--porcelain", "--", url, *refspecs],
            cwd=mirror,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **GIT_ENV, **git_env_for_url(url)},
        )
    except subprocess.TimeoutExpired:
        raise GitHubError(
            f"pushing {len(refs)} branch(es) took longer than ARENA_GIT_TIMEOUT_S={timeout:g} s"
        ) from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        arena_id = sorted(refs)[0].split("/")[1]  # every branch is arena/<arena id>/...
        raise GitHubError(
            f"pushing {', '.join(sorted(refs))} failed: {' | '.join(said)}; the arena keeps its verdict and "
            f"candidates: run `arena pr {arena_id}` to push again"
        )


def _git(cwd: Path, *args: str, env: dict | None = None, input: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, input=input, env={**os.environ, **GIT_ENV, **(env or {})}
    )
    if done.returncode != 0:
        raise GitHubError(f"git {args[0]} failed in {cwd}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode().strip()
