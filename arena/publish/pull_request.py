"""Push an arena's candidates and open (or update) its one draft pull request; read merges and reverts back.

`publish(arena_id)` (used by `arena pr`, Results and the engine when a spec asks for `publish.pull_request`):
  1. every candidate with a non-empty patch is committed on the base (arena/publish/branches.py) and pushed as
     `arena/ID/c/NAME`; `arena/ID/pr` points at the chosen one (the judge's winner unless a contestant is named);
  2. the arena's publication row is claimed (one per arena: a second process finds it, never a second PR), then the
     PR is updated if it exists, adopted if GitHub already has one for `arena/ID/pr` (a crash between creating and
     recording it), else created as a draft; it stays a draft;
  3. a commit status with the verdict is set on the head commit.
No winner and nothing chosen: no PR; an early one is closed with the reason. A failure (network, permission) is kept
on the row and raised; nothing is lost and `arena pr ID` retries.

`sync()` asks GitHub about every PR this data dir opened (or the ones it is given): merged -> `merged` (stake
returned, reward); closed unmerged -> `abandoned` (stake returned); a commit on the base branch saying "This reverts
commit <sha>" of the merge commit or any commit of the PR, or a merged PR whose body says "Reverts OWNER/REPO#N" ->
`reverted` (stake forfeited or penalised, k + 1). The ledger records each outcome once, so syncing twice changes
nothing. It is the only way a PR's fate reaches the ledger: `arena sync` and the app's polling call it for every PR,
the webhook receiver (arena/publish/webhooks.py) for the PRs an event concerns; both read the facts from GitHub.
"""

import contextlib
import re
from datetime import UTC
from itertools import islice

from github import GithubException

from arena.artifacts import patch_of
from arena.config import Settings
from arena.credentials import GitHubError, RepoRef, configured, credentials, explained, repo_of_url
from arena.errors import UserError
from arena.judging.verdict import Verdict
from arena.publish.branches import candidate_branch, commit_message, commit_patch, pr_branch, push
from arena.publish.evidence import pr_body, pr_title
from arena.report import publication_json
from arena.reputation.ledger import Ledger
from arena.sandboxes.repos import RepoCache
from arena.settlement import read_verdict
from arena.storage import ArenaRow, PublicationRow, Store, utcnow


def _repo(arena: ArenaRow) -> RepoRef:
    repo = repo_of_url(arena.repo)
    if repo is None:
        raise UserError(
            f"arena {arena.id}'s repository {arena.repo} is not on the configured GitHub (GITHUB_API_URL); "
            "use `arena apply` for a local repository"
        )
    return repo


def _issue(arena: ArenaRow) -> int | None:
    ref = ((arena.spec or {}).get("task") or {}).get("github_issue") or ""
    m = re.search(r"#(\d+)$", str(ref))
    return int(m.group(1)) if m else None


def _patches(store: Store, arena: ArenaRow, verdict: Verdict | None) -> dict[str, tuple[bytes, str]]:
    """contestant -> (patch bytes, agent) for every candidate with a non-empty patch (the synthesis one too)."""
    found = {}
    for c in arena.contestants:
        patch = patch_of(store, c)  # from the shared store: the contestant may have run on another machine
        if patch is not None and patch.strip():
            found[c.name] = (patch, f"{c.model}+{c.strategy}")  # the row holds the identity's halves
    synthesis = verdict.synthesis if verdict else None
    if synthesis is not None and synthesis.patch.strip():
        agent = f"{synthesis.model or 'judge'}+{synthesis.strategy or synthesis.name}"
        found[synthesis.name] = (synthesis.patch.encode("utf-8", "surrogateescape"), agent)
    return found


def publish(store: Store, settings: Settings, arena_id: str, contestant: str | None = None, pr: bool = True) -> dict:
    """Push the candidates and open or update the draft PR (when `pr`); returns the publication as a dict."""
    arena = store.arena(arena_id)
    repo = _repo(arena)
    creds = configured() or credentials()
    verdict = read_verdict(store, arena_id)
    patches = _patches(store, arena, verdict)
    if contestant is not None and contestant not in patches:
        raise UserError(f"arena {arena_id} has no candidate '{contestant}' with a non-empty patch")
    head = contestant or (verdict.winner if verdict and not verdict.error else None)
    if head is None and verdict is None and patches and arena.status in ("queued", "running"):
        head = next(iter(patches))  # an early draft: the first candidate with something to show
    store.claim_publication(arena_id, repo.full_name, _issue(arena))
    try:
        branches = _push(arena, settings, patches, head)
        store.update_publication(arena_id, branches=branches, error=None)
        if pr and head is not None:
            _open_or_update(store, creds, repo, arena, verdict, head, branches[head]["commit"])
        elif pr:
            _close(store, creds, repo, arena_id, verdict)
    except (GitHubError, GithubException) as e:
        error = e if isinstance(e, GitHubError) else explained(e, f"updating the pull request of arena {arena_id}")
        store.update_publication(arena_id, error=str(error))
        raise error from None
    return publication_json(store.publication(arena_id))


def _push(arena: ArenaRow, settings: Settings, patches: dict, head: str | None) -> dict:
    mirror = RepoCache(settings.cache_dir).mirror(arena.repo)
    when = (arena.created_at or utcnow()).replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    branches, refs = {}, {}
    for name, (patch, agent) in patches.items():
        message = commit_message(arena.title, arena.id, name)
        sha = commit_patch(mirror, arena.base_sha, patch, agent=agent, message=message, date=when)
        branches[name] = {"branch": candidate_branch(arena.id, name), "commit": sha, "agent": agent}
        refs[branches[name]["branch"]] = sha
    if head is not None:
        refs[pr_branch(arena.id)] = branches[head]["commit"]
    push(mirror, arena.repo, refs)
    return branches


def _open_or_update(store, creds, repo: RepoRef, arena: ArenaRow, verdict, head: str, sha: str) -> None:
    row = store.publication(arena.id)
    gh = creds.client(repo).get_repo(repo.full_name)
    title, body = pr_title(arena), pr_body(arena, verdict, head, row.issue)
    pull = None
    if row.pr_number is not None:
        pull = gh.get_pull(row.pr_number)
        if pull.state == "open":
            pull.edit(title=title, body=body)
        pull = gh.get_pull(row.pr_number)
    else:
        owner = repo.owner
        found = list(gh.get_pulls(state="open", head=f"{owner}:{pr_branch(arena.id)}"))
        if found:
            pull = found[0]
            pull.edit(title=title, body=body)
        else:
            base = _default_branch(gh)
            pull = gh.create_pull(title=title, body=body, head=pr_branch(arena.id), base=base, draft=True)
    store.update_publication(
        arena.id,
        head_contestant=head,
        pr_number=pull.number,
        pr_url=pull.html_url,
        pr_state=pull.state,
        pr_draft=bool(pull.draft),
        pr_merged=bool(pull.merged),
        merge_commit=pull.merge_commit_sha if pull.merged else None,
    )
    state, text = _status(verdict, head)
    with contextlib.suppress(GithubException):  # welcome, not required: a token without `statuses: write` still works
        gh.get_commit(sha).create_status(state=state, description=text[:140], context="agent-arena/verdict")


def _default_branch(gh) -> str:
    return gh.default_branch


def _status(verdict: Verdict | None, head: str) -> tuple[str, str]:
    if verdict is None:
        return "pending", "judging in progress"
    if verdict.error:
        return "error", f"the judge could not decide: {verdict.error}"
    coverage = f"{verdict.coverage.resolved}/{verdict.coverage.candidates} resolved"
    if verdict.winner == head:
        return "success", f"winner of the arena ({coverage})"
    return "failure", f"not the judge's pick ({coverage})"


def _close(store, creds, repo: RepoRef, arena_id: str, verdict: Verdict | None) -> None:
    row = store.publication(arena_id)
    if row is None or row.pr_number is None:
        return
    gh = creds.client(repo).get_repo(repo.full_name)
    pull = gh.get_pull(row.pr_number)
    if pull.state == "open":
        why = verdict.error if verdict and verdict.error else "no candidate passed the judge's gates"
        pull.create_issue_comment(f"Closed by Agent Arena: the verdict has no winner ({why}).")
        pull.edit(state="closed")
    store.update_publication(arena_id, pr_state="closed")


def sync(store: Store, ledger: Ledger, rows: list[PublicationRow] | None = None) -> list[dict]:
    """Read recorded PRs back from GitHub into the ledger; returns what was new (idempotent).

    Args:
        store: where the publications are.
        ledger: where merges, abandons and reverts are recorded (each once, by its unique indexes).
        rows: the publications to read (the webhook receiver passes those an event concerns); None: every one with
            a PR. Whatever caused the call, each PR's state is read from GitHub now, never taken from the caller.

    Returns:
        One dict per new outcome (`arena_id`, `event`, `commit`), and a `skipped` one (with `why`) per PR GitHub
        would not answer for; the others are still synced.
    """
    found = []
    for row in store.publications() if rows is None else rows:
        try:
            found += _sync_one(store, ledger, row)
        except GithubException as e:
            found.append({"arena_id": row.arena_id, "event": "skipped", "commit": "", "why": str(explained(e, "sync"))})
    return found


def _sync_one(store: Store, ledger: Ledger, row: PublicationRow) -> list[dict]:
    repo = RepoRef(*row.repo.split("/", 1))
    creds = configured() or credentials()
    gh = creds.client(repo).get_repo(repo.full_name)
    pull = gh.get_pull(row.pr_number)
    store.update_publication(
        row.arena_id,
        pr_state=pull.state,
        pr_draft=bool(pull.draft),
        pr_merged=bool(pull.merged),
        merge_commit=pull.merge_commit_sha if pull.merged else None,
    )
    contestant = row.head_contestant
    agent = row.branches.get(contestant, {}).get("agent") if contestant else None
    if agent is None:
        return []
    found = []
    events = {e.kind for e in ledger.events(arena_id=row.arena_id)}
    if pull.merged and "merged" not in events:
        if ledger.record("merged", row.arena_id, agent, contestant, pull.merge_commit_sha, pr=row.pr_number):
            found.append({"arena_id": row.arena_id, "event": "merged", "commit": pull.merge_commit_sha})
    elif (
        pull.state == "closed"
        and not pull.merged
        and ledger.winner_escrow(row.arena_id) is not None
        and ledger.record("abandoned", row.arena_id, agent, contestant)  # False: a concurrent sync returned it first
    ):
        found.append({"arena_id": row.arena_id, "event": "abandoned", "commit": ""})
    if pull.merged and "reverted" not in events:
        revert = _revert_of(gh, repo, pull)
        if revert and ledger.record(
            "reverted", row.arena_id, agent, contestant, revert, pr=row.pr_number, reverted_commit=pull.merge_commit_sha
        ):
            found.append({"arena_id": row.arena_id, "event": "reverted", "commit": revert})
    return found


def _revert_of(gh, repo: RepoRef, pull) -> str | None:
    """A commit on the base branch reverting the PR (its merge commit or any of its commits), or the merge commit of
    a PR whose body says "Reverts OWNER/REPO#N"."""
    targets = {pull.merge_commit_sha, *(c.sha for c in pull.get_commits())}
    for commit in islice(gh.get_commits(sha=pull.base.ref), 500):
        for sha in re.findall(r"This reverts commit ([0-9a-f]{7,40})", commit.commit.message or ""):
            if any(t and t.startswith(sha) for t in targets):
                return commit.sha
    marker = re.compile(rf"\bReverts {re.escape(repo.full_name)}#{pull.number}\b")
    for other in islice(gh.get_pulls(state="closed", base=pull.base.ref), 200):
        if other.number != pull.number and other.merged and marker.search(other.body or ""):
            return other.merge_commit_sha
    return None
