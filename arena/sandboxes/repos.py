"""Repository cache: one mirror per repository, one pristine checkout per (repo, base, setup).

    data/cache/mirrors/<name>-<hash>.git        bare mirror; cloned once, fetched on reuse
    data/cache/checkouts/<name>-<sha12>-<key>/  pristine checkout at the base commit (after setup)
    data/cache/checkouts/<...>.ready.json       written only when the checkout (and its setup) succeeded

Contestants never write to a pristine checkout: the local sandbox lays a private overlay over it.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from arena.config import setting
from arena.credentials import git_env_for_url
from arena.errors import SandboxError, SpecError
from arena.netguard import GitRemote, check_git_url, redact

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
# Never part of a patch, whether or not the repository ignores them.
DEFAULT_EXCLUDES = ["__pycache__/", "*.py[cod]", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/"]
_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def git(*args: str, cwd: Path | str | None = None, check: bool = True, timeout: float = 600) -> str:
    """Run git on the host and return stdout; raises SandboxError with git's message on failure or timeout."""
    result = run_bounded(["git", *args], cwd=cwd, timeout=timeout, what=f"git {' '.join(args[:3])}")
    if check and result.returncode != 0:
        raise SandboxError(f"git {' '.join(args[:3])} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def run_bounded(
    command: list[str],
    *,
    cwd: Path | str | None,
    timeout: float,
    what: str,
    setting_name: str = "",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run `command` (git) in its own process group; past `timeout` kill the whole group and raise SandboxError.

    The group matters: git clone runs git-remote-https as a child, which a plain kill would leave behind.
    """
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **GIT_ENV, **(env or {})},
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        bound = f"{setting_name}={timeout:g} s" if setting_name else f"{timeout:g} s"
        raise SandboxError(
            f"{what} took longer than {bound} and was stopped; check that the server answers"
            + (f", or raise {setting_name}" if setting_name else "")
        ) from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive lock for `path`, across threads of this process and across processes."""
    key = str(path)
    with _thread_locks_guard:
        lock = _thread_locks.setdefault(key, threading.Lock())
    path.parent.mkdir(parents=True, exist_ok=True)
    with lock, open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_remote(repo: str) -> GitRemote:
    try:
        return check_git_url(repo)
    except SpecError as e:
        raise SpecError(f"task.repo: {e}") from None


def _shown(repo: str) -> str:
    return repo if Path(repo).is_dir() else redact(repo)


def _remote_git(
    args: list[str], remote: GitRemote | None, cwd: Path | None = None, *, what: str
) -> subprocess.CompletedProcess:
    """git `args` against a checked remote (or a local repository), bounded by ARENA_GIT_TIMEOUT_S."""
    timeout = float(setting("ARENA_GIT_TIMEOUT_S"))
    config = ["-c", "http.lowSpeedLimit=1000", "-c", f"http.lowSpeedTime={max(1, int(min(60, timeout)))}"]
    if remote is not None:
        # Only the transports the guard allowed; no redirect to an address it did not check; and curl
        # connects to the addresses checked, not to what a second DNS answer might say (rebinding).
        config += ["-c", "protocol.allow=never", "-c", f"protocol.{remote.scheme}.allow=always"]
        if not setting("ARENA_ALLOW_PRIVATE_NETWORK"):
            config += ["-c", "http.followRedirects=false"]
            if remote.scheme == "https":
                pinned = f"{remote.host}:{remote.port}:{','.join(_bracketed(a) for a in remote.addresses)}"
                config += ["-c", f"http.curloptResolve={pinned}"]
    # A repository on the configured GitHub gets the token, as an HTTP header in git's environment (never in the URL,
    # the mirror's config or a sandbox); any other remote gets nothing.
    env = git_env_for_url(remote.url) if remote is not None else {}
    return run_bounded(
        ["git", *config, *args], cwd=cwd, timeout=timeout, what=what, setting_name="ARENA_GIT_TIMEOUT_S", env=env
    )


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _slug(repo: str) -> str:
    name = re.sub(r"\.git$", "", repo.rstrip("/").split("/")[-1]) or "repo"
    digest = hashlib.sha256(repo.encode()).hexdigest()[:10]
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)[:40]}-{digest}"


class RepoCache:
    """Mirrors and pristine checkouts under `cache_dir`."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = Path(cache_dir)
        # Pristine checkouts are world-writable (every sandbox uid writes through its overlay): keep
        # other host users out of the whole cache. Sandboxes reach it through mounts staged as root.
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.cache_dir.chmod(0o700)

    def mirror(self, repo: str) -> Path:
        """Clone `repo` once as a bare mirror; fetch it on every later use.

        A remote URL is checked (scheme, every address its host resolves to) before git connects,
        and every clone and fetch is bounded by ARENA_GIT_TIMEOUT_S, stalls included.
        """
        remote = None if Path(repo).is_dir() else _check_remote(repo)
        path = self.cache_dir / "mirrors" / f"{_slug(repo)}.git"
        with locked(path):  # an exception (a timeout too) releases it
            if (path / "HEAD").exists():
                # A failed fetch keeps the cached mirror (resolve() says if base is missing); a stall raises.
                _remote_git(
                    ["fetch", "--quiet", "--prune", "--force"], remote, cwd=path, what=f"fetching {_shown(repo)}"
                )
            else:
                if path.exists():
                    shutil.rmtree(path)  # a clone that died half-way
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    result = _remote_git(
                        ["clone", "--quiet", "--mirror", "--", repo, str(path)], remote, what=f"cloning {_shown(repo)}"
                    )
                except SandboxError:
                    shutil.rmtree(path, ignore_errors=True)
                    raise
                if result.returncode != 0:
                    shutil.rmtree(path, ignore_errors=True)
                    raise SpecError(
                        f"task.repo: cannot clone '{_shown(repo)}': {result.stderr.strip()}; "
                        "give a local git repository or a reachable git URL"
                    )
        return path

    def resolve(self, repo: str, base: str) -> str:
        """Full sha of `base`. For a local repository it is resolved there (its HEAD is what the user means)."""
        where = repo if Path(repo).is_dir() else self.mirror(repo)
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
            cwd=where,
            capture_output=True,
            text=True,
            env={**os.environ, **GIT_ENV},
        )
        if result.returncode != 0:
            raise SpecError(
                f"task.base: '{base}' is not a commit in {repo}; use a branch, tag or sha that exists there (default: HEAD)"
            )
        return result.stdout.strip()

    def checkout(self, repo: str, sha: str, key: str = "plain") -> tuple[Path, bool]:
        """Pristine checkout of `sha`, created if needed. Returns (path, ready): ready once setup has succeeded.

        Call under `self.lock_checkout(...)`; `mark_ready` after the setup command succeeded.
        """
        path = self.checkout_path(repo, sha, key)
        if self.ready_marker(path).exists() and (path / ".git").exists():
            return path, True  # a commit never changes: no fetch needed
        mirror = self.mirror(repo)
        if subprocess.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=mirror).returncode != 0:
            # A local commit not on any ref (detached HEAD) is not in the mirror: fetch it by id.
            remote = None if Path(repo).is_dir() else _check_remote(repo)
            result = _remote_git(["fetch", "--quiet", "--", repo, sha], remote, cwd=mirror, what=f"fetching {sha[:12]}")
            if result.returncode != 0:
                raise SandboxError(f"git fetch of {sha[:12]} from {_shown(repo)} failed: {result.stderr.strip()}")
        if path.exists():
            shutil.rmtree(path)  # a checkout whose setup failed or died: start again from clean
        path.parent.mkdir(parents=True, exist_ok=True)
        # Only the base and its history: a clone would bring every branch and every later commit (the fix, as
        # often as not) into a contestant's reach. Fetching one commit sends only the objects it reaches.
        git("init", "--quiet", str(path))
        git(
            "fetch",
            "--quiet",
            "--no-tags",
            "--upload-pack",
            "git -c uploadpack.allowAnySHA1InWant=true upload-pack",
            "--",
            str(mirror),
            sha,
            cwd=path,
        )
        git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", sha, cwd=path)
        (path / ".git" / "FETCH_HEAD").unlink(missing_ok=True)  # names the host's mirror
        git("config", "user.name", "arena-contestant", cwd=path)
        git("config", "user.email", "contestant@agent-arena.invalid", cwd=path)
        return path, False

    def checkout_path(self, repo: str, sha: str, key: str) -> Path:
        return self.cache_dir / "checkouts" / f"{_slug(repo)}-{sha[:12]}-{key}"

    @staticmethod
    def ready_marker(path: Path) -> Path:
        return path.with_name(path.name + ".ready.json")

    def lock_checkout(self, repo: str, sha: str, key: str):
        return locked(self.checkout_path(repo, sha, key))

    def mark_ready(self, path: Path, info: dict) -> str:
        """Record that setup succeeded and return the tree patches are taken against.

        What setup created is excluded from every later patch; what it changed in tracked files
        is part of that tree, so it shows in no contestant's patch either.
        """
        untracked = git("ls-files", "--others", "--exclude-standard", "--directory", cwd=path).splitlines()
        excludes = DEFAULT_EXCLUDES + ["/" + p for p in untracked if p]
        (path / ".git" / "info").mkdir(exist_ok=True)
        (path / ".git" / "info" / "exclude").write_text("\n".join(excludes) + "\n")
        index = path / ".git" / "arena-setup-index"
        env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(index)}
        for args in (["read-tree", "HEAD"], ["add", "-A"]):
            subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
        tree = subprocess.run(
            ["git", "write-tree"], cwd=path, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        index.unlink(missing_ok=True)
        marker = self.ready_marker(path)
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps({**info, "excluded": untracked, "diff_base": tree}, indent=2))
        tmp.replace(marker)
        return tree

    def diff_base(self, path: Path) -> str:
        return json.loads(self.ready_marker(path).read_text()).get("diff_base", "")


CHECKOUT_VERSION = "base-only1"
"""Part of every checkout's key: bumped when what a checkout holds changes (base-only1: no history after the base),
so checkouts made the old way are never reused."""


def setup_key(setup_command: str | None, backend: str) -> str:
    """Checkouts differ by what setup ran in them (and how)."""
    return hashlib.sha256(f"{CHECKOUT_VERSION}\0{backend}\0{setup_command or ''}".encode()).hexdigest()[:8]
