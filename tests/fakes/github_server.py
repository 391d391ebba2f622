"""A fake GitHub for end-to-end tests: the REST JSON that PyGithub reads, and git smart HTTP for clone/fetch/push.

Why a real server: the promises of the GitHub loop (the token never leaves the host process, App tokens are minted
per repository and refreshed, rate limits are waited out, a PR is opened once) live in how PyGithub and git behave
over HTTP, so the tests drive the real clients against this server on 127.0.0.1.

What it checks, as GitHub does:
  * every REST request carries `Authorization: token|Bearer <token>`; an unknown or expired token gets 401;
  * a GitHub App authenticates with an RS256 JWT (verified against the App's public key, `iss` = the App id, at most
    10 minutes long) and may only look up its installations and mint installation tokens; an installation token is
    limited to the repositories and permissions it was minted for and expires (`token_ttl_s`);
  * a repository the token cannot see answers 404; writes without the permission answer 403
    ("Resource not accessible by integration");
  * git goes through `git http-backend` behind HTTP Basic auth (any user name, the token as password; or Bearer);
    pushing needs `contents: write`.
Faults: `rate_limit(...)` answers the next REST requests with a primary (X-RateLimit-Reset) or secondary (Retry-After)
limit; `fail_pushes(n)` drops the connection on the next n pushes. Every request is recorded (`requests`), bodies
un-gzipped, so a test can search everything sent to "GitHub" for a secret.
Test-side actions a maintainer would take on github.com: `merge`, `close`, `revert` (a commit on the default branch
saying "This reverts commit <sha>."), `revert_pr` (a merged PR whose body says "Reverts OWNER/REPO#N").
Webhooks: `pull_request_event` and `push_event` build the payload GitHub would POST after such an action (the fields
it always sends, from this fake's state); signing and sending it is the test's job, as GitHub's is.
Standard library, plus PyJWT (PyGithub's own dependency) for the App's JWT.
"""

import base64
import gzip
import json
import re
import secrets
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

WRITE_ALL = {"contents": "write", "pull_requests": "write", "issues": "write", "statuses": "write", "metadata": "read"}


@dataclass
class Token:
    login: str
    permissions: dict[str, str]
    repos: set[str] | None = None
    """full names the token may see; None: every repository (a personal token)"""
    expires_at: float | None = None
    installation: int | None = None


@dataclass
class Repo:
    full_name: str
    path: Path
    default_branch: str = "main"
    private: bool = True
    id: int = 0
    issues: dict[int, dict] = field(default_factory=dict)
    comments: dict[int, list[dict]] = field(default_factory=dict)
    pulls: dict[int, dict] = field(default_factory=dict)
    statuses: list[dict] = field(default_factory=list)
    next_number: int = 1


@dataclass
class App:
    id: int
    public_key: str
    installations: dict[int, set[str]]
    """installation id -> repositories it is installed on"""


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class FakeGitHub:
    """Start with `with FakeGitHub(tmp) as gh:`; `gh.api_url` is the REST root, `gh.clone_url(repo)` the git URL."""

    def __init__(self, root: Path, token_ttl_s: float = 3600.0):
        self.root = Path(root)
        self.token_ttl_s = token_ttl_s
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, Token] = {}
        self.apps: dict[int, App] = {}
        self.requests: list[Recorded] = []
        self.minted: list[dict] = []
        """every installation token minted: {token, installation, repositories, permissions, expires_at}"""
        self._limits: list[tuple[str, float]] = []
        self._push_failures = 0
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------------------------
    def __enter__(self) -> "FakeGitHub":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def clone_url(self, full_name: str) -> str:
        return f"{self.api_url}/{full_name}.git"

    # --- set-up ----------------------------------------------------------------------------------------------------
    def add_repo(self, full_name: str, source: Path, default_branch: str = "main", private: bool = True) -> Repo:
        """A bare copy of the git repository at `source`, whose branch `default_branch` is the default."""
        path = self.root / "git" / f"{full_name}.git"
        path.parent.mkdir(parents=True, exist_ok=True)
        _git(None, "clone", "--bare", "--quiet", str(source), str(path))
        _git(path, "config", "http.receivepack", "true")
        _git(path, "symbolic-ref", "HEAD", f"refs/heads/{default_branch}")
        with self._lock:
            repo = Repo(full_name, path, default_branch, private, id=len(self.repos) + 1)
            self.repos[full_name] = repo
        return repo

    def add_issue(self, full_name: str, title: str, body: str, comments: list[str] = ()) -> int:
        repo = self.repos[full_name]
        with self._lock:
            number = repo.next_number
            repo.next_number += 1
            repo.issues[number] = {
                "number": number,
                "title": title,
                "body": body,
                "state": "open",
                "user": {"login": "reporter"},
                "comments": len(comments),
                "created_at": _now_iso(),
                "html_url": f"{self.api_url}/{full_name}/issues/{number}",
                "url": f"{self.api_url}/repos/{full_name}/issues/{number}",
            }
            repo.comments[number] = [
                {"id": i + 1, "body": c, "user": {"login": f"commenter{i + 1}"}, "created_at": _now_iso()}
                for i, c in enumerate(comments)
            ]
        return number

    def add_token(
        self, login: str = "arena-bot", permissions: dict[str, str] | None = None, repos: set[str] | None = None
    ) -> str:
        token = "ghp_" + secrets.token_hex(18)
        with self._lock:
            self.tokens[token] = Token(login, dict(WRITE_ALL if permissions is None else permissions), repos)
        return token

    def add_app(self, app_id: int, public_key_pem: str, installations: dict[int, set[str]]) -> None:
        with self._lock:
            self.apps[app_id] = App(app_id, public_key_pem, {i: set(r) for i, r in installations.items()})

    # --- faults ----------------------------------------------------------------------------------------------------
    def rate_limit(self, times: int = 1, kind: str = "primary", wait_s: float = 1.0) -> None:
        """The next `times` REST requests are refused: `primary` (403, X-RateLimit-Remaining 0, reset in wait_s) or
        `secondary` (403 with Retry-After: wait_s)."""
        with self._lock:
            self._limits += [(kind, wait_s)] * times

    def fail_pushes(self, times: int = 2) -> None:
        """The next `times` receive-pack POSTs lose their connection before git-http-backend runs. git (curl) retries a
        POST once on a reused connection that dies, so one failed push takes two drops."""
        with self._lock:
            self._push_failures += times

    # --- what a maintainer does on github.com ----------------------------------------------------------------------
    def branch_sha(self, full_name: str, branch: str) -> str | None:
        done = _git(self.repos[full_name].path, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
        return done.stdout.strip() or None

    def merge(self, full_name: str, number: int) -> str:
        """Merge PR `number` into its base with a merge commit, as the green button does; returns the merge commit."""
        repo = self.repos[full_name]
        pr = repo.pulls[number]
        message = f"Merge pull request #{number} from {pr['head']['ref']}\n\n{pr['title']}"
        sha = self._on_worktree(
            repo,
            pr["base"]["ref"],
            [["merge", "--no-ff", "-m", message, f"origin/{pr['head']['ref']}"]],
        )
        with self._lock:
            pr.update(state="closed", merged=True, merged_at=_now_iso(), merge_commit_sha=sha, closed_at=_now_iso())
        return sha

    def close(self, full_name: str, number: int) -> None:
        with self._lock:
            self.repos[full_name].pulls[number].update(state="closed", closed_at=_now_iso())

    def revert(self, full_name: str, sha: str) -> str:
        """A commit on the default branch that reverts `sha` (its message says "This reverts commit <sha>.")."""
        repo = self.repos[full_name]
        parents = _git(repo.path, "rev-list", "--parents", "-n", "1", sha).stdout.split()
        args = ["revert", "--no-edit", *(["-m", "1"] if len(parents) > 2 else []), sha]
        return self._on_worktree(repo, repo.default_branch, [args])

    def revert_pr(self, full_name: str, number: int) -> int:
        """GitHub's Revert button: a branch reverting PR `number`'s merge, a PR saying "Reverts OWNER/REPO#N", merged."""
        repo = self.repos[full_name]
        merged = repo.pulls[number]["merge_commit_sha"]
        branch = f"revert-{number}-{secrets.token_hex(3)}"
        self._on_worktree(
            repo, repo.default_branch, [["checkout", "-q", "-b", branch], ["revert", "--no-edit", "-m", "1", merged]]
        )
        revert = self._open_pull(repo, "reverter", branch, repo.default_branch, f"Revert #{number}", False)
        revert["body"] = f"Reverts {full_name}#{number}"
        self.merge(full_name, revert["number"])
        return revert["number"]

    def _on_worktree(self, repo: Repo, branch: str, commands: list[list[str]]) -> str:
        with tempfile.TemporaryDirectory(dir=self.root) as tmp:
            _git(None, "clone", "--quiet", "--branch", branch, str(repo.path), tmp)
            for name, value in (("user.name", "Maintainer"), ("user.email", "maintainer@example.com")):
                _git(Path(tmp), "config", name, value)
            for args in commands:
                _git(Path(tmp), *args)
            head = _git(Path(tmp), "rev-parse", "HEAD").stdout.strip()
            current = _git(Path(tmp), "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
            _git(Path(tmp), "push", "--quiet", "origin", f"HEAD:refs/heads/{current}")
        return head

    # --- webhook payloads ------------------------------------------------------------------------------------------
    def repository_event_json(self, full_name: str) -> dict:
        """The `repository` object every webhook payload carries."""
        repo = self.repos[full_name]
        owner, name = full_name.split("/")
        return {
            "id": repo.id,
            "name": name,
            "full_name": full_name,
            "owner": {"login": owner},
            "private": repo.private,
            "default_branch": repo.default_branch,
            "html_url": f"{self.api_url}/{full_name}",
        }

    def pull_request_event(self, full_name: str, number: int, action: str = "closed") -> dict:
        """The `pull_request` payload for PR `number` as it is now (after `merge` or `close`: action "closed")."""
        repo = self.repos[full_name]
        with self._lock:
            pr = json.loads(json.dumps(self._pull_json(repo, repo.pulls[number])))
        return {
            "action": action,
            "number": number,
            "pull_request": pr,
            "repository": self.repository_event_json(full_name),
        }

    def push_event(self, full_name: str, before: str, branch: str | None = None) -> dict:
        """The `push` payload for `branch` (default: the default branch) moving from `before` to its head now, its
        commits oldest first, at most 2048 as GitHub lists them."""
        repo = self.repos[full_name]
        branch = branch or repo.default_branch
        after = self.branch_sha(full_name, branch)
        commits = [
            {"id": c["sha"], "message": c["commit"]["message"], "distinct": True, "author": c["commit"]["author"]}
            for c in reversed(self._commits(repo, f"{before}..{after}", 2048))
        ]
        return {
            "ref": f"refs/heads/{branch}",
            "before": before,
            "after": after,
            "created": False,
            "deleted": False,
            "forced": False,
            "commits": commits,
            "head_commit": commits[-1] if commits else None,
            "repository": self.repository_event_json(full_name),
        }

    # --- REST ------------------------------------------------------------------------------------------------------
    def _open_pull(self, repo: Repo, login: str, head: str, base: str, title: str, draft: bool) -> dict:
        with self._lock:
            number = repo.next_number
            repo.next_number += 1
            owner = repo.full_name.split("/")[0]
            pr = {
                "number": number,
                "id": 1000 + number,
                "title": title,
                "body": "",
                "state": "open",
                "draft": draft,
                "merged": False,
                "merged_at": None,
                "closed_at": None,
                "merge_commit_sha": None,
                "user": {"login": login},
                "head": {"ref": head, "label": f"{owner}:{head}", "sha": self.branch_sha(repo.full_name, head)},
                "base": {"ref": base, "label": f"{owner}:{base}", "sha": self.branch_sha(repo.full_name, base)},
                "html_url": f"{self.api_url}/{repo.full_name}/pull/{number}",
                "url": f"{self.api_url}/repos/{repo.full_name}/pulls/{number}",
                "created_at": _now_iso(),
            }
            repo.pulls[number] = pr
        return pr

    def _pull_json(self, repo: Repo, pr: dict) -> dict:
        pr["head"]["sha"] = self.branch_sha(repo.full_name, pr["head"]["ref"]) or pr["head"]["sha"]
        return pr

    def _repo_json(self, repo: Repo, token: Token) -> dict:
        owner, name = repo.full_name.split("/")
        push = token.permissions.get("contents") == "write"
        return {
            "id": repo.id,
            "name": name,
            "full_name": repo.full_name,
            "owner": {"login": owner, "type": "Organization"},
            "private": repo.private,
            "default_branch": repo.default_branch,
            "clone_url": self.clone_url(repo.full_name),
            "html_url": f"{self.api_url}/{repo.full_name}",
            "url": f"{self.api_url}/repos/{repo.full_name}",
            "permissions": {"admin": False, "push": push, "pull": True},
        }

    def _commits(self, repo: Repo, ref: str, limit: int) -> list[dict]:
        out = _git(repo.path, "log", f"-n{limit}", "--format=%H%x00%P%x00%an%x00%ae%x00%B%x1e", ref, check=False)
        commits = []
        for chunk in out.stdout.split("\x1e"):
            if not chunk.strip():
                continue
            sha, parents, name, email, message = chunk.strip("\n").split("\x00", 4)
            commits.append(
                {
                    "sha": sha,
                    "commit": {"message": message.strip(), "author": {"name": name, "email": email}},
                    "parents": [{"sha": p} for p in parents.split()],
                    "url": f"{self.api_url}/repos/{repo.full_name}/commits/{sha}",
                }
            )
        return commits

    def handle_rest(self, method: str, path: str, query: dict, body: Any, auth: str | None) -> tuple[int, Any, dict]:
        with self._lock:
            if self._limits:
                kind, wait_s = self._limits.pop(0)
                if kind == "secondary":
                    message = (
                        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
                    )
                    return 403, {"message": message}, {"Retry-After": str(int(wait_s))}
                reset = int(time.time() + wait_s) + 1
                headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": str(reset)}
                return 403, {"message": "API rate limit exceeded for installation ID 1."}, headers
        if auth is None:
            return 401, {"message": "Requires authentication"}, {}
        if auth.count(".") == 2:  # a JWT: only the App endpoints
            return self._app_request(method, path, body, auth)
        token = self._token(auth)
        if token is None:
            return 401, {"message": "Bad credentials"}, {}
        if path == "/user":
            return 200, {"login": token.login, "id": 1, "type": "Bot"}, {}
        if path == "/rate_limit":
            core = {"limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600, "used": 1}
            return 200, {"resources": {"core": core}, "rate": core}, {}
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not m:
            return 404, {"message": "Not Found"}, {}
        repo = self.repos.get(m.group(1))
        if repo is None or (token.repos is not None and repo.full_name not in token.repos):
            return 404, {"message": "Not Found"}, {}
        rest = m.group(2) or ""
        return self._repo_request(repo, token, method, rest, query, body)

    def _repo_request(self, repo: Repo, token: Token, method: str, rest: str, query: dict, body: Any):
        forbidden = 403, {"message": "Resource not accessible by integration"}, {}
        if rest == "" and method == "GET":
            return 200, self._repo_json(repo, token), {}
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            issue = repo.issues.get(int(m.group(1)))
            return (200, issue, {}) if issue else (404, {"message": "Not Found"}, {})
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(m.group(1))
            if number not in repo.issues and number not in repo.pulls:
                return 404, {"message": "Not Found"}, {}
            if method == "POST":
                if token.permissions.get("issues") != "write" and token.permissions.get("pull_requests") != "write":
                    return forbidden
                comment = {"id": secrets.randbelow(10**6), "body": body["body"], "user": {"login": token.login}}
                repo.comments.setdefault(number, []).append(comment)
                return 201, comment, {}
            return 200, repo.comments.get(number, []), {}
        if m := re.fullmatch(r"/branches/(.+)", rest):
            sha = self.branch_sha(repo.full_name, m.group(1))
            if sha is None:
                return 404, {"message": "Branch not found"}, {}
            return 200, {"name": m.group(1), "commit": {"sha": sha}, "protected": False}, {}
        if (m := re.fullmatch(r"/commits/([0-9a-f]{7,40})", rest)) and method == "GET":
            found = self._commits(repo, m.group(1), 1)
            return (200, found[0], {}) if found else (404, {"message": "No commit found"}, {})
        if rest == "/commits" and method == "GET":
            return 200, self._commits(repo, query.get("sha", [repo.default_branch])[0], 100), {}
        if rest == "/pulls" and method == "GET":
            state = query.get("state", ["open"])[0]
            head = query.get("head", [None])[0]
            found = [
                self._pull_json(repo, p)
                for p in repo.pulls.values()
                if (state == "all" or p["state"] == state) and (head is None or p["head"]["label"] == head)
            ]
            return 200, found, {}
        if rest == "/pulls" and method == "POST":
            if token.permissions.get("pull_requests") != "write":
                return forbidden
            if self.branch_sha(repo.full_name, body["head"]) is None:
                return 422, {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]}, {}
            if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in repo.pulls.values()):
                message = f"A pull request already exists for {repo.full_name.split('/')[0]}:{body['head']}."
                return 422, {"message": "Validation Failed", "errors": [{"message": message}]}, {}
            pr = self._open_pull(repo, token.login, body["head"], body["base"], body["title"], body.get("draft", False))
            pr["body"] = body.get("body") or ""
            return 201, pr, {}
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            pr = repo.pulls.get(int(m.group(1)))
            if pr is None:
                return 404, {"message": "Not Found"}, {}
            if method == "PATCH":
                if token.permissions.get("pull_requests") != "write":
                    return forbidden
                pr.update({key: body[key] for key in ("title", "body", "state") if key in body})
                if body.get("state") == "closed":
                    pr["closed_at"] = _now_iso()
            return 200, self._pull_json(repo, pr), {}
        if m := re.fullmatch(r"/pulls/(\d+)/commits", rest):
            pr = repo.pulls.get(int(m.group(1)))
            if pr is None:
                return 404, {"message": "Not Found"}, {}
            ref = f"refs/heads/{pr['base']['ref']}..{pr['head']['sha'] or pr['head']['ref']}"
            if pr["merged"]:
                ref = f"{pr['merge_commit_sha']}^1..{pr['merge_commit_sha']}^2"
            return 200, self._commits(repo, ref, 250), {}
        if m := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest):
            if method != "POST":
                return 405, {"message": "Method not allowed"}, {}
            if token.permissions.get("statuses") != "write":
                return forbidden
            status = {"id": len(repo.statuses) + 1, "sha": m.group(1), **body}
            repo.statuses.append(status)
            return 201, status, {}
        return 404, {"message": "Not Found"}, {}

    def _token(self, auth: str) -> Token | None:
        with self._lock:
            token = self.tokens.get(auth)
        if token is None or (token.expires_at is not None and token.expires_at < time.time()):
            return None
        return token

    def _app_request(self, method: str, path: str, body: Any, encoded: str) -> tuple[int, Any, dict]:
        try:
            unverified = jwt.decode(encoded, options={"verify_signature": False})
            app = self.apps[int(unverified["iss"])]
            claims = jwt.decode(encoded, app.public_key, algorithms=["RS256"], options={"require": ["iat", "exp"]})
        except (jwt.PyJWTError, KeyError, ValueError) as e:
            return 401, {"message": f"A JSON web token could not be decoded ({e})"}, {}
        if claims["exp"] - claims["iat"] > 660:
            return 401, {"message": "'Expiration time' claim ('exp') is too far in the future"}, {}
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/installation", path):
            for installation, repos in app.installations.items():
                if m.group(1) in repos:
                    account = {"login": m.group(1).split("/")[0]}
                    return 200, {"id": installation, "app_id": app.id, "account": account}, {}
            return 404, {"message": "Not Found"}, {}
        if (m := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)) and method == "POST":
            installation = int(m.group(1))
            if installation not in app.installations:
                return 404, {"message": "Not Found"}, {}
            body = body or {}
            allowed = app.installations[installation]
            owner = next(iter(allowed)).split("/")[0] if allowed else ""
            asked = {f"{owner}/{r}" for r in body.get("repositories", [])} or set(allowed)
            if not asked <= allowed:
                return 422, {"message": f"There is at least one repository that does not exist: {sorted(asked)}"}, {}
            permissions = body.get("permissions") or dict(WRITE_ALL)
            token = "ghs_" + secrets.token_hex(18)
            expires = time.time() + self.token_ttl_s
            with self._lock:
                self.tokens[token] = Token("arena[bot]", dict(permissions), asked, expires, installation)
                self.minted.append(
                    {"token": token, "installation": installation, "repositories": sorted(asked), "expires_at": expires}
                )
            expires_iso = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            repositories = [{"full_name": r, "name": r.split("/")[1]} for r in sorted(asked)]
            reply = {
                "token": token,
                "expires_at": expires_iso,
                "permissions": permissions,
                "repositories": repositories,
            }
            return 201, reply, {}
        return 403, {"message": "A JSON web token cannot be used for this resource"}, {}

    # --- git smart HTTP --------------------------------------------------------------------------------------------
    def handle_git(self, method: str, path: str, query: str, headers: dict, body: bytes, auth: str | None):
        m = re.fullmatch(r"/([^/]+/[^/]+)\.git(/.*)", path)
        repo = self.repos.get(m.group(1)) if m else None
        token = self._token(auth) if auth else None
        challenge = {"WWW-Authenticate": 'Basic realm="GitHub"'}
        if token is None:
            return 401, b"Authentication failed\n", challenge
        if repo is None or (token.repos is not None and repo.full_name not in token.repos):
            return 404, b"Repository not found.\n", {}
        pushing = "git-receive-pack" in path or "service=git-receive-pack" in query
        if pushing and token.permissions.get("contents") != "write":
            return 403, f"Permission to {repo.full_name}.git denied to {token.login}.\n".encode(), {}
        if pushing and method == "POST":
            with self._lock:
                if self._push_failures:
                    self._push_failures -= 1
                    return None  # drop the connection
        env = {
            "GIT_PROJECT_ROOT": str(self.root / "git"),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{repo.full_name}.git{m.group(2)}",
            "REQUEST_METHOD": method,
            "QUERY_STRING": query,
            "CONTENT_TYPE": headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": token.login,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
            "PATH": "/usr/bin:/bin",
        }
        if headers.get("content-encoding"):
            env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
        if headers.get("git-protocol"):
            env["GIT_PROTOCOL"] = headers["git-protocol"]
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120)
        head, _, out = done.stdout.partition(b"\r\n\r\n")
        status, reply_headers = 200, {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                reply_headers[name] = value.strip()
        return status, out, reply_headers

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def sent(self) -> bytes:
        """Everything clients sent (headers and bodies) as one blob, for secret searches."""
        with self._lock:
            parts = [f"{r.method} {r.path}\n{json.dumps(r.headers)}\n".encode() + r.body for r in self.requests]
        return b"\n".join(parts)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _auth(self) -> str | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value:
            return value.strip()
        if scheme.lower() == "basic" and value:
            user, _, password = base64.b64decode(value).decode(errors="replace").partition(":")
            return password or user
        return None

    def _serve(self, method: str) -> None:
        fake: FakeGitHub = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        path = url.path.removeprefix("/api/v3")
        raw = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        plain = gzip.decompress(raw) if headers.get("content-encoding") == "gzip" and raw else raw
        auth = self._auth()
        if re.match(r"/[^/]+/[^/]+\.git/", path):
            reply = fake.handle_git(method, path, url.query, headers, raw, auth)
            if reply is None:
                fake.record(Recorded(method, self.path, headers, plain, 0))
                self.close_connection = True
                self.connection.close()
                return
            status, out, extra = reply
            fake.record(Recorded(method, self.path, headers, plain, status))
            self._send(status, out, extra.pop("Content-Type", "text/plain"), extra)
            return
        try:
            body = json.loads(plain) if plain else None
        except ValueError:
            body = None
        status, payload, extra = fake.handle_rest(method, path, parse_qs(url.query), body, auth)
        fake.record(Recorded(method, self.path, headers, plain, status))
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", extra)

    def _send(self, status: int, payload: bytes, content_type: str, extra: dict) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


def _git(cwd: Path | None, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "HOME": "/nonexistent", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=check, timeout=60)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
