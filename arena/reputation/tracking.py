"""Local merge and revert tracking: `arena apply` commits a winner on a branch; `arena sync` watches the base branch.

A winning patch is committed on `arena/<arena>-<contestant>` with trailers naming the arena, the
contestant and the agent. `sync` then looks at the branch the repository was on when the patch
was applied: the commit (or a squash / cherry-pick of it, found by its Arena-Id trailer) reaching
that branch is a merge; a later commit whose message says `This reverts commit <sha>` of it is a
revert. Each is recorded once, so `sync` can run as often as you like.
"""

import os
import re
import subprocess
import tempfile
from pathlib import Path

from arena.artifacts import patch_of
from arena.errors import UserError
from arena.identity import agent_identity
from arena.reputation.ledger import Ledger
from arena.storage import Store


def _git(repo: str, *args: str, env: dict | None = None, input: bytes | None = None, check: bool = True) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        input=input,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
    )
    if check and result.returncode != 0:
        raise UserError(f"git {' '.join(args[:2])} failed in {repo}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode(errors="replace").strip()


def apply_winner(
    store: Store, ledger: Ledger, arena_id: str, contestant: str | None = None, base_branch: str | None = None
) -> dict:
    """Commit the winning (or chosen) patch on a new branch of the task's local repository; nothing else changes."""
    arena = store.arena(arena_id)
    if arena.status in ("queued", "running"):
        raise UserError(f"arena {arena_id} is still {arena.status}; apply its winner after it ends")
    name = contestant or ledger.settled_winner(arena_id)
    if name is None:
        raise UserError(f"arena {arena_id} has no settled winner; choose a candidate with --contestant NAME")
    row = next((c for c in arena.contestants if c.name == name), None)
    patch = patch_of(ledger.store, row) if row is not None else None
    if patch is None:
        raise UserError(f"arena {arena_id} has no candidate '{name}' with a patch")
    if not Path(arena.repo).is_dir():
        raise UserError(
            f"arena {arena_id}'s repository {arena.repo} is not a local path; apply works on local repositories"
        )
    if any(e.kind == "applied" for e in ledger.events(arena_id=arena_id)):
        raise UserError(f"arena {arena_id} was applied already; see `arena agent` for its history")
    agent = agent_identity(row.model, row.strategy)  # a row holds its agent's two halves
    branch = f"arena/{arena_id}-{name}"
    base_branch = base_branch or _git(arena.repo, "symbolic-ref", "--short", "-q", "HEAD", check=False)
    if not base_branch:
        raise UserError(
            f"{arena.repo} has a detached HEAD; check out the branch merges will land on, or pass --base-branch"
        )
    if not _git(arena.repo, "rev-parse", "-q", "--verify", f"refs/heads/{base_branch}", check=False):
        raise UserError(
            f"{arena.repo} has no branch '{base_branch}'; pass --base-branch with the branch merges land on"
        )
    message = (
        f"{arena.title or 'Arena ' + arena_id}\n\nWinning patch of arena {arena_id}.\n\n"
        f"Arena-Id: {arena_id}\nArena-Contestant: {name}\nArena-Agent: {agent}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:  # a private index: the user's working tree is never touched
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(arena.repo, "read-tree", arena.base_sha, env=env)
        _git(arena.repo, "apply", "--cached", "--binary", "-", env=env, input=patch)
        tree = _git(arena.repo, "write-tree", env=env)
    commit = _git(arena.repo, "commit-tree", tree, "-p", arena.base_sha, env=_identity(), input=message.encode())
    _git(arena.repo, "branch", branch, commit)
    ledger.record("applied", arena_id, agent, name, commit, repo=arena.repo, branch=branch, base_branch=base_branch)
    return {"arena_id": arena_id, "contestant": name, "agent": agent, "commit": commit, "branch": branch}


def abandon(ledger: Ledger, arena_id: str) -> str:
    """Give up on an arena's winning patch: its stake is returned and nothing merges. Returns what happened."""
    held = ledger.winner_escrow(arena_id)
    if held is None:
        raise UserError(
            f"arena {arena_id} holds no winner's stake: it has not ended and been settled, had no "
            "winner, or the stake was already returned or forfeited"
        )
    if not ledger.record("abandoned", arena_id, held.agent, held.contestant):
        raise UserError(f"arena {arena_id}'s winning patch was settled by another process a moment ago; look again")
    return f"returned {held.escrow:g} to {held.agent}; arena {arena_id}'s winning patch is abandoned"


def sync(ledger: Ledger) -> list[dict]:
    """Record merges and reverts of applied patches on their base branches; returns what was new."""
    found = []
    events = ledger.events()
    done = {(e.arena_id, e.kind) for e in events if e.kind in ("merged", "reverted")}
    for applied in (e for e in events if e.kind == "applied"):
        repo, base = applied.detail.get("repo"), applied.detail.get("base_branch", "main")
        if not repo or not Path(repo).is_dir():
            found.append({"arena_id": applied.arena_id, "event": "skipped", "commit": "", "why": f"{repo} is gone"})
            continue
        if not _git(repo, "rev-parse", "-q", "--verify", f"refs/heads/{base}", check=False):
            found.append(
                {"arena_id": applied.arena_id, "event": "skipped", "commit": "", "why": f"no branch {base} in {repo}"}
            )
            continue
        merged = next((e for e in events if e.kind == "merged" and e.arena_id == applied.arena_id), None)
        if (applied.arena_id, "merged") not in done:
            commit = _merged_commit(repo, base, applied.commit, applied.arena_id)
            if commit:
                ledger.record("merged", applied.arena_id, applied.agent, applied.contestant, commit, branch=base)
                found.append({"arena_id": applied.arena_id, "event": "merged", "commit": commit})
                merged = next(e for e in ledger.events(arena_id=applied.arena_id) if e.kind == "merged")
        if merged is not None and (applied.arena_id, "reverted") not in done:
            revert = _reverting_commit(repo, base, applied.commit, merged.commit)
            if revert:
                ledger.record(
                    "reverted",
                    applied.arena_id,
                    applied.agent,
                    applied.contestant,
                    revert,
                    branch=base,
                    reverted_commit=merged.commit,
                )
                found.append({"arena_id": applied.arena_id, "event": "reverted", "commit": revert})
    return found


def _merged_commit(repo: str, branch: str, commit: str, arena_id: str) -> str | None:
    if _git(repo, "rev-parse", "-q", "--verify", branch, check=False) == "":
        return None
    if subprocess.run(["git", "merge-base", "--is-ancestor", commit, branch], cwd=repo).returncode == 0:
        return commit
    squashed = _git(repo, "log", branch, "--format=%H", f"--grep=Arena-Id: {arena_id}", "-F", check=False)
    return squashed.splitlines()[-1] if squashed else None


def _reverting_commit(repo: str, branch: str, applied: str, merged: str | None) -> str | None:
    """A commit on `branch` that reverts the applied commit, its squash, or the merge commit that brought it in."""
    for line in _git(repo, "log", branch, "--format=%H %B%x00", check=False).split("\0"):
        sha, _, body = line.strip().partition(" ")
        for target in re.findall(r"This reverts commit ([0-9a-f]{7,40})", body):
            if target in (applied, merged) or _brought_in(repo, target, applied):
                return sha
    return None


def _brought_in(repo: str, merge: str, commit: str) -> bool:
    """`merge` is a merge commit whose second side brought `commit` in (reverting it with -m 1 undoes the patch)."""

    def ancestor(a: str, b: str) -> bool:
        return (
            subprocess.run(["git", "merge-base", "--is-ancestor", a, b], cwd=repo, capture_output=True).returncode == 0
        )

    parent = _git(repo, "rev-parse", "-q", "--verify", f"{merge}^1", check=False)
    return bool(parent) and ancestor(commit, merge) and not ancestor(commit, parent)


def _identity() -> dict:
    return {
        "GIT_AUTHOR_NAME": "Agent Arena",
        "GIT_AUTHOR_EMAIL": "arena@agent-arena.invalid",
        "GIT_COMMITTER_NAME": "Agent Arena",
        "GIT_COMMITTER_EMAIL": "arena@agent-arena.invalid",
    }
