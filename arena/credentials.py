"""GitHub credentials: a token for one repository, just in time, that never leaves this process.

Two ways in (settings in arena/config.py):
  * `GITHUB_TOKEN`: a personal or fine-grained token, used as is;
  * a GitHub App: `ARENA_GITHUB_APP_ID` + `ARENA_GITHUB_APP_PRIVATE_KEY` (the PEM GitHub hands out: its path or its
    contents). The App's installation on the repository is looked up, and an installation token is minted restricted
    to that one repository and to PERMISSIONS, cached until REFRESH_MARGIN_S before it expires, then minted again.
`GITHUB_API_URL` is the API root (GitHub Enterprise: https://HOST/api/v3; tests: the fake on 127.0.0.1).

Where the token goes: into PyGithub's Authorization header, and into host-side git through `git_env` (environment
variables GIT_CONFIG_COUNT/KEY/VALUE holding an http.extraHeader), so it is never on a command line, in a remote URL,
in .git/config or a mirror, and never in an environment a sandbox sees (sandboxes get their own, built from scratch).
Rate limits: PyGithub's GithubRetry waits out primary (X-RateLimit-Reset) and secondary (Retry-After) limits up to
ARENA_GITHUB_MAX_WAIT_S; what it waits for is logged on the `arena.github` logger; longer waits fail with the time the
limit resets.
"""

import base64
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from github import Auth, Github, GithubException, GithubIntegration, GithubRetry
from github.GithubException import RateLimitExceededException

from arena.config import setting
from arena.errors import UserError

PERMISSIONS = {"contents": "write", "pull_requests": "write", "issues": "write", "statuses": "write"}
"""What an installation token is minted with: push branches, open and update PRs, read issues, set commit statuses."""
REFRESH_MARGIN_S = 300.0
log = logging.getLogger("arena.github")


class GitHubError(UserError):
    """GitHub refused or could not be reached; the message says what was asked, what GitHub said and what to do."""


@dataclass(frozen=True)
class RepoRef:
    """A repository on the configured GitHub: `owner/name`."""

    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class Credentials:
    """Hands out a token for a repository; `client` and `git_env` are how the rest of the product uses it."""

    api_url: str

    def token(self, repo: RepoRef) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def client(self, repo: RepoRef) -> Github:
        """A PyGithub client for `repo`, with the retry policy that waits out rate limits (and says so)."""
        return Github(
            base_url=self.api_url,
            auth=Auth.Token(self.token(repo)),
            retry=_retry(),
            timeout=30,
            per_page=100,
        )

    def git_env(self, repo: RepoRef) -> dict[str, str]:
        """Environment for one host-side git command against `repo` (clone, fetch, push): the token as an HTTP header.

        Environment, not `-c` on the command line: a command line is readable by every process on the host.
        """
        basic = base64.b64encode(f"x-access-token:{self.token(repo)}".encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            "GIT_TERMINAL_PROMPT": "0",
        }


class TokenCredentials(Credentials):
    def __init__(self, token: str, api_url: str):
        self._token, self.api_url = token, api_url

    def token(self, repo: RepoRef) -> str:
        return self._token

    def describe(self) -> str:
        return "GITHUB_TOKEN"


class AppCredentials(Credentials):
    """A GitHub App: installation tokens minted per repository and cached until shortly before they expire."""

    def __init__(self, app_id: int, private_key: str, api_url: str, clock=time.time):
        self.app_id, self.api_url = app_id, api_url
        self._auth = Auth.AppAuth(app_id, private_key)
        self._clock = clock
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"GitHub App {self.app_id}"

    def token(self, repo: RepoRef) -> str:
        with self._lock:
            cached = self._cache.get(repo.full_name)
            if cached and cached[1] - REFRESH_MARGIN_S > self._clock():
                return cached[0]
            token, expires = self._mint(repo)
            self._cache[repo.full_name] = (token, expires)
            return token

    def _mint(self, repo: RepoRef) -> tuple[str, float]:
        integration = GithubIntegration(auth=self._auth, base_url=self.api_url, retry=_retry())
        try:
            installation = integration.get_repo_installation(repo.owner, repo.name)
        except GithubException as e:
            if e.status == 404:
                raise GitHubError(
                    f"the GitHub App {self.app_id} is not installed on {repo.full_name}; install it there "
                    "(with contents, pull requests and issues: read and write) or use GITHUB_TOKEN"
                ) from None
            raise explained(e, f"looking up the App's installation on {repo.full_name}") from None
        # PyGithub cannot restrict an installation token to chosen repositories: one POST, with the App's JWT.
        reply = requests.post(
            f"{self.api_url.rstrip('/')}/app/installations/{installation.id}/access_tokens",
            json={"repositories": [repo.name], "permissions": PERMISSIONS},
            headers={"Authorization": f"Bearer {self._auth.create_jwt()}", "Accept": "application/vnd.github+json"},
            timeout=30,
        )
        if reply.status_code != 201:
            message = _message(reply)
            raise GitHubError(
                f"GitHub refused an installation token for {repo.full_name} ({reply.status_code}: {message}); "
                "check the App's permissions (contents, pull requests, issues: read and write) and installation"
            )
        body = reply.json()
        expires = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        log.info("minted a GitHub App installation token for %s (expires %s)", repo.full_name, body["expires_at"])
        return body["token"], expires


_configured: dict[tuple, Credentials] = {}
_configured_lock = threading.Lock()


def configured() -> Credentials | None:
    """The configured credentials, one object per configuration (so App tokens stay cached); None when none are set."""
    names = ("GITHUB_API_URL", "GITHUB_TOKEN", "ARENA_GITHUB_APP_ID", "ARENA_GITHUB_APP_PRIVATE_KEY")
    key = tuple(setting(n) for n in names)
    if not any(key[1:]):
        return None
    with _configured_lock:
        if key not in _configured:
            _configured[key] = credentials()
        return _configured[key]


def git_origin(api_url: str) -> tuple[str, str]:
    """(scheme, host[:port]) that GitHub's git URLs use, from its API root: api.github.com -> github.com,
    https://HOST/api/v3 (Enterprise) -> HOST, anything else (a test server) -> the same host."""
    parts = urlsplit(api_url)
    host = "github.com" if parts.netloc == "api.github.com" else parts.netloc
    return parts.scheme, host


def repo_of_url(url: str) -> RepoRef | None:
    """The repository a git URL points at on the configured GitHub (https://HOST/OWNER/NAME[.git]), else None."""
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != git_origin(str(setting("GITHUB_API_URL"))) or parts.username:
        return None
    m = re.fullmatch(r"/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?", parts.path)
    return RepoRef(m.group(1), m.group(2)) if m else None


def git_env_for_url(url: str) -> dict[str, str]:
    """Environment for host-side git against `url`: the token header when `url` is a repository on the configured
    GitHub and credentials are set; nothing otherwise (another host never sees the token)."""
    repo = repo_of_url(url)
    creds = configured() if repo else None
    return creds.git_env(repo) if creds and repo else {}


def credentials() -> Credentials:
    """The configured credentials; GitHubError saying what to set when there are none or they are malformed."""
    api_url = str(setting("GITHUB_API_URL")).rstrip("/")
    app_id, key = setting("ARENA_GITHUB_APP_ID"), setting("ARENA_GITHUB_APP_PRIVATE_KEY")
    if app_id or key:
        if not (app_id and key):
            missing = "ARENA_GITHUB_APP_PRIVATE_KEY" if app_id else "ARENA_GITHUB_APP_ID"
            raise GitHubError(
                f"a GitHub App needs both ARENA_GITHUB_APP_ID and ARENA_GITHUB_APP_PRIVATE_KEY: set {missing}"
            )
        return AppCredentials(int(app_id), _private_key(str(key)), api_url)
    token = setting("GITHUB_TOKEN")
    if token:
        return TokenCredentials(str(token).strip(), api_url)
    raise GitHubError(
        "no GitHub credentials: set GITHUB_TOKEN (a token with contents, pull requests and issues: read and write on "
        "the repository), or ARENA_GITHUB_APP_ID and ARENA_GITHUB_APP_PRIVATE_KEY for a GitHub App"
    )


def _private_key(value: str) -> str:
    if "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise GitHubError(
            f"ARENA_GITHUB_APP_PRIVATE_KEY: {value!r} is neither a PEM key nor a readable file; give the path to the "
            ".pem file GitHub generated for the App, or its contents"
        )
    text = path.read_text()
    if "-----BEGIN" not in text:
        raise GitHubError(
            f"ARENA_GITHUB_APP_PRIVATE_KEY: {path} holds no PEM key; download the App's private key again"
        )
    return text


class _Retry(GithubRetry):
    """PyGithub's retry, saying on the `arena.github` logger what it waits for."""

    def sleep(self, response=None) -> None:
        wait = (self.get_retry_after(response) if response is not None else None) or self.get_backoff_time()
        if wait >= 1:
            until = datetime.fromtimestamp(time.time() + wait, UTC).strftime("%H:%M:%S")
            log.warning("GitHub rate limit: waiting %.0f s (until %s UTC) before retrying", wait, until)
        super().sleep(response)


def _retry() -> GithubRetry:
    return _Retry(total=6, max_rate_limit_wait=float(setting("ARENA_GITHUB_MAX_WAIT_S")))


def _message(reply: requests.Response) -> str:
    try:
        return str(reply.json().get("message") or reply.text[:200])
    except ValueError:
        return reply.text[:200]


def explained(error: Exception, doing: str) -> GitHubError:
    """A GitHubError for a PyGithub failure while `doing` something: GitHub's own message plus what to do."""
    if isinstance(error, RateLimitExceededException) or type(error).__name__ == "RateLimitExceededExceedsMaxWait":
        return GitHubError(
            f"GitHub rate limit while {doing}; it resets later than ARENA_GITHUB_MAX_WAIT_S="
            f"{setting('ARENA_GITHUB_MAX_WAIT_S'):g} s allows to wait: try again later ({error})"
        )
    if isinstance(error, GithubException):
        message = (error.data or {}).get("message") if isinstance(error.data, dict) else error.data
        hint = {
            401: "the token is wrong or expired: check GITHUB_TOKEN or the App's key",
            403: "the token lacks a permission (contents, pull requests, issues: read and write)",
            404: "it does not exist, or the token cannot see it",
        }.get(error.status, "see GitHub's message")
        return GitHubError(f"GitHub answered {error.status} while {doing}: {message}; {hint}")
    return GitHubError(f"GitHub could not be reached while {doing}: {error}")
