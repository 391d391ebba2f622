"""A GitHub issue as the task: `OWNER/REPO#N` (or the issue's URL) -> repository, base and problem statement.

The problem statement is the issue's title and body, then its comments, each marked as a comment and by whom, so a
contestant can tell the report from the discussion (comments come from anyone who can comment: they are context,
not instructions). The repository is cloned from the API's `clone_url` (with the token in git's environment, see
arena/credentials.py); the base is the default branch's head when the arena is launched, recorded as a full sha.
"""

import re
from dataclasses import dataclass
from itertools import islice
from urllib.parse import urlsplit

from github import GithubException

from arena.config import setting
from arena.credentials import RepoRef, configured, credentials, explained, git_origin
from arena.errors import UserError

REF = re.compile(r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)#(?P<number>[0-9]+)")
URL_PATH = re.compile(r"/(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)/issues/(?P<number>[0-9]+)/?")
MAX_COMMENTS = 50


@dataclass(frozen=True)
class IssueRef:
    repo: RepoRef
    number: int

    def __str__(self) -> str:
        return f"{self.repo.full_name}#{self.number}"


@dataclass(frozen=True)
class Issue:
    ref: IssueRef
    title: str
    body: str
    comments: tuple[tuple[str, str], ...]
    """(author login, text), oldest first"""
    url: str
    clone_url: str
    default_branch: str
    base_sha: str

    def problem_statement(self) -> str:
        parts = [f"# {self.title}", "", self.body.strip() or "(the issue has no description)"]
        for login, text in self.comments:
            parts += ["", f"## Comment on the issue by @{login}", "", text.strip()]
        return "\n".join(parts) + "\n"

    def task_fields(self) -> dict:
        """Task fields this issue fills (a spec's own values win; see fill_task)."""
        return {
            "repo": self.clone_url,
            "base": self.base_sha,
            "title": self.title,
            "problem_statement": self.problem_statement(),
        }


def parse_issue_ref(text: str) -> IssueRef:
    """`OWNER/REPO#N`, or an issue URL on the configured GitHub; UserError naming both forms otherwise."""
    text = text.strip()
    if m := REF.fullmatch(text):
        return IssueRef(RepoRef(m["owner"], m["name"]), int(m["number"]))
    parts = urlsplit(text)
    origin = git_origin(str(setting("GITHUB_API_URL")))
    if parts.scheme and (m := URL_PATH.fullmatch(parts.path)):
        if (parts.scheme, parts.netloc) != origin:
            raise UserError(
                f"{text!r} is an issue on {parts.netloc}, but GITHUB_API_URL points at {origin[1]}; set GITHUB_API_URL "
                "to that server's API root (GitHub Enterprise: https://HOST/api/v3)"
            )
        return IssueRef(RepoRef(m["owner"], m["name"]), int(m["number"]))
    raise UserError(f"{text!r} is not a GitHub issue: write OWNER/REPO#NUMBER or paste the issue's URL")


def fetch_issue(ref: IssueRef) -> Issue:
    """The issue, its repository's clone URL and its default branch's head now."""
    creds = configured() or credentials()  # credentials() raises, saying what to set
    client = creds.client(ref.repo)
    try:
        repo = client.get_repo(ref.repo.full_name)
        issue = repo.get_issue(ref.number)
        if issue.pull_request is not None:
            raise UserError(f"{ref} is a pull request, not an issue; give the issue it fixes")
        comments = tuple((c.user.login, c.body or "") for c in islice(issue.get_comments(), MAX_COMMENTS))
        base = repo.get_branch(repo.default_branch).commit.sha
    except GithubException as e:
        raise explained(e, f"reading {ref}") from None
    return Issue(
        ref, issue.title, issue.body or "", comments, issue.html_url, repo.clone_url, repo.default_branch, base
    )


def fill_task(task: dict) -> dict:
    """`task` with `github_issue` resolved: repo, base, title and problem statement filled where the spec is silent.

    A spec that names its own repo or problem statement keeps them; `github_issue` is kept (normalised to
    OWNER/REPO#N) so the arena records where its task came from.
    """
    if not task.get("github_issue"):
        return task
    ref = parse_issue_ref(str(task["github_issue"]))
    stated = task.get("problem_statement") or task.get("problem_statement_file")
    if task.get("repo") and task.get("base") not in (None, "", "HEAD") and stated:
        return {**task, "github_issue": str(ref)}  # a stored spec run again: nothing to ask GitHub
    issue = fetch_issue(ref)
    filled = {k: v for k, v in issue.task_fields().items() if task.get(k) in (None, "", "HEAD")}
    if task.get("problem_statement_file"):
        filled.pop("problem_statement", None)
    return {**task, **filled, "github_issue": str(issue.ref)}
