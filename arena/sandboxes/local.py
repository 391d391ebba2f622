"""The local sandbox: bubblewrap + a private overlay of one pristine checkout per contestant.

Every command runs as

    unshare --mount            a private mount namespace, gone when the command ends
      mount -t overlay         pristine checkout (read-only lower) + this contestant's upper dir
      setpriv --reuid UID      an unprivileged uid of its own (so RLIMIT_NPROC binds; root is exempt)
        prlimit ...            CPU time, address space, processes, file size
          bwrap ...            no network, new pid/ipc/uts namespaces, system dirs read-only,
                               /workspace = the overlay, /tmp = the contestant's private tmp;
                               the host's home, the data dir and other workspaces are not mounted
            bash -c COMMAND

Read-only mounts (`create(..., mounts=[(host_path, "/arena/...")])`) join the staged mounts of execute() only
(never of diff()): a CLI runner's tools and the LLM gateway's socket directory. A unix socket is connect()-able
through a read-only bind, and the network namespace stays empty, so the socket is the sandbox's only way out.

Provisioning is four mkdirs (no copy), so it does not grow with the repository. A non-root host
user gets the same layout inside `unshare --user --map-root-user` (needs unprivileged user namespaces).
The task's Python environment is /workspace/.venv, created in the checkout before setup (pyenv.py).
"""

import os
import posixpath
import secrets
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from arena.config import setting
from arena.errors import SandboxError, SandboxUnavailable, SetupFailed
from arena.protocols import ExecResult, PreparedTask, TestCommand
from arena.sandboxes import pyenv
from arena.sandboxes.files import FileTooLarge, read_from, write_into
from arena.sandboxes.process import ProcessRunner, log_setup_step, setup_runner
from arena.sandboxes.repos import RepoCache, setup_key
from arena.spec import SandboxSpec

WORKDIR = "/workspace"
VENV = f"{WORKDIR}/{pyenv.VENV_DIR}"
MB = 1_000_000
SIGXFSZ_EXIT = 128 + 25  # a process killed by the file size rlimit
BASE_GIT = "/arena/base.git"
SHM_BYTES = 64 * 1024 * 1024
STAGE = "/run"  # hidden by a private tmpfs inside each command's own mount namespace
SETUP_UID = 199_999
SANDBOX_PATH = pyenv.BASE_PATH
MOUNT_ROOT = "/arena"  # extra mounts live here: bwrap makes the directories on its own root, outside /usr and /opt
INSTALL_HINT = (
    "bubblewrap is not installed, so the local sandbox cannot isolate contestants. "
    "Install it with `apt-get install bubblewrap` (Debian/Ubuntu, as root; `make run` does this when run as root), "
    "or, only if you trust every contestant, set `sandbox: {backend: unsafe-local}` in the spec."
)


def sandbox_env(home: str = "/tmp", venv: str = VENV) -> dict[str, str]:
    """The whole environment a command sees: nothing of the host process's (no keys, no tokens).

    The task's environment comes first on PATH (as if activated), so `python`, `python3` and `pip` are its own.
    """
    return {
        "PATH": f"{venv}/bin:{SANDBOX_PATH}",
        "VIRTUAL_ENV": venv,
        "HOME": home,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "PAGER": "cat",
        "MANPAGER": "cat",
        "GIT_PAGER": "cat",
        "PIP_PROGRESS_BAR": "off",
        "TQDM_DISABLE": "1",
        # The checkout belongs to another uid; without this git refuses it as "dubious ownership".
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
    }


def diff_script(diff_base: str, git_dir: str, work_tree: str, out: str) -> str:
    """Shell that writes the workspace's patch against `diff_base` to `out`, trusting only the base .git.

    The contestant's own .git, ~/.gitconfig and hooks are never consulted (it may have edited them);
    new blobs go to a throw-away object dir layered over the base objects; stderr stays out of the patch.
    """
    git = (
        "git -c core.fsmonitor=false -c core.hooksPath=/dev/null -c core.quotepath=off "
        "-c diff.noprefix=false -c diff.mnemonicPrefix=false -c core.autocrlf=false"
    )
    return f"""d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
fail() {{ cat "$d/err"; exit 1; }}
mkdir -p "$d/objects" || exit 1
export HOME="$d" GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_ATTR_NOSYSTEM=1 \\
       GIT_DIR='{git_dir}' GIT_WORK_TREE='{work_tree}' GIT_INDEX_FILE="$d/index" \\
       GIT_OBJECT_DIRECTORY="$d/objects" GIT_ALTERNATE_OBJECT_DIRECTORIES='{git_dir}/objects'
# Nested repositories (an agent's `git init` in a subfolder) would make `git add` fail; they are no patch.
(cd '{work_tree}' && find . -mindepth 2 -name .git -prune -printf '%h/\\n' | sed 's|^[.]/|/|') > "$d/nested"
echo '/{pyenv.VENV_DIR}/' >> "$d/nested"  # the task's Python environment is never part of a patch
{git} -c core.excludesFile="$d/nested" read-tree {diff_base} 2>"$d/err" || fail
{git} -c core.excludesFile="$d/nested" add -A 2>>"$d/err" || fail
{git} diff --cached --binary --no-color --no-ext-diff --no-textconv --src-prefix=a/ --dst-prefix=b/ {diff_base} \\
    > '{out}' 2>>"$d/err" || fail
"""


def _bwrap(*, network: bool = False) -> list[str]:
    """bwrap with everything but the workspace: own namespaces, no nested user namespaces, read-only system."""
    args = ["bwrap", "--die-with-parent", "--unshare-all", "--unshare-user", "--disable-userns", "--hostname", "arena"]
    if network:
        args.append("--share-net")
    if os.geteuid() != 0:  # inside `unshare --map-root-user` we are "root": drop it and every capability
        args += ["--uid", "1000", "--gid", "1000", "--cap-drop", "ALL"]
    return args + _system_mounts()


def _lockdown() -> list[str]:
    """Last: nothing but /workspace and /tmp stays writable (the root and /dev would be RAM the limits miss)."""
    return ["--remount-ro", "/dev", "--remount-ro", "/"]


def _system_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind", "/etc", "/etc"]
    for secret in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers"):
        if Path(secret).exists():
            args += ["--ro-bind", "/dev/null", secret]
    args += ["--ro-bind-try", "/opt", "/opt", "--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]
    return args


def check_mounts(mounts: Sequence[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """The mounts as (existing host path, normalized sandbox path); SandboxError naming the bad one otherwise."""
    checked = []
    for host, target in mounts:
        normal = posixpath.normpath(target)
        if not normal.startswith(f"{MOUNT_ROOT}/") or normal == BASE_GIT or normal.startswith(f"{BASE_GIT}/"):
            raise SandboxError(
                f"sandbox mount target {target!r} must be an absolute path under {MOUNT_ROOT}/ "
                f"(and not {BASE_GIT}); mount e.g. tools at {MOUNT_ROOT}/tools/<name>"
            )
        if not Path(host).exists():
            raise SandboxError(f"sandbox mount source {host} does not exist on the host; create it before the sandbox")
        checked.append((Path(host), normal))
    return checked


class LocalBackend:
    """Bubblewrap sandboxes over overlays of a shared pristine checkout."""

    name = "local"

    def __init__(self, repos: RepoCache, limits: SandboxSpec):
        self.repos = repos
        self.limits = limits

    def check_available(self) -> None:
        if shutil.which("bwrap") is None:
            raise SandboxUnavailable(INSTALL_HINT)
        for tool in ("unshare", "mount", "prlimit") + (("setpriv",) if os.geteuid() == 0 else ()):
            if shutil.which(tool) is None:
                raise SandboxUnavailable(
                    f"`{tool}` (util-linux) is missing; install it with `apt-get install util-linux`"
                )

    def prepare(
        self, repo: str, base_sha: str, setup_command: str | None, log_path: Path, test_command: TestCommand = None
    ) -> PreparedTask:
        """The checkout with its Python environment and setup, once per (repo, base, setup); see pyenv.py.

        `test_command`: when it runs pytest and the environment has none, pytest is installed there.
        """
        key = setup_key(f"{pyenv.ENV_VERSION}\0{setup_command or ''}", self.name)
        with self.repos.lock_checkout(repo, base_sha, key):
            checkout, ready = self.repos.checkout(repo, base_sha, key)
            if callable(test_command):  # found in the checkout now, so pytest goes in before anyone shares it
                test_command = test_command(checkout)
            if not ready:
                log = self._set_up(checkout, setup_command, log_path)
                self.repos.mark_ready(checkout, {"setup_command": setup_command, "base_sha": base_sha})
                _open_up(checkout)
            else:
                log = log_path.read_text() if log_path.exists() else ""
            # Also on reuse: the checkout may have been prepared for a task whose tests did not need pytest.
            log = self._ensure_pytest(checkout, test_command, log, log_path)
            diff_base = self.repos.diff_base(checkout)
        return PreparedTask(
            repo=repo,
            base_sha=base_sha,
            checkout=checkout,
            setup_command=setup_command,
            setup_log=log,
            diff_base=diff_base,
        )

    def _set_up(self, checkout: Path, setup_command: str | None, log_path: Path) -> str:
        """Python environment first (setup commands use it), then the user's setup command."""
        if (checkout / pyenv.VENV_DIR).exists():
            raise SetupFailed(
                f"the repository has its own {pyenv.VENV_DIR}/ at the base commit, where the arena puts the task's "
                "Python environment; remove it from the repository (virtual environments are not source)"
            )
        _open_up(checkout)
        log = self._setup_step(checkout, pyenv.create_script(VENV), "", log_path, pyenv.CREATE_FAILED, shown=False)
        log += pyenv.write_pip_conf(checkout / pyenv.VENV_DIR)
        if setup_command:
            failed = "the task's setup_command failed with exit code {code}; see the setup log"
            log = self._setup_step(checkout, setup_command, log, log_path, failed)
        _open_up(checkout)
        return log

    def _ensure_pytest(self, checkout: Path, test_command: str | None, log: str, log_path: Path) -> str:
        if not pyenv.runs_pytest(test_command) or not pyenv.has_env(checkout / pyenv.VENV_DIR):
            return log
        if self._in_setup(checkout, 'python -c "import pytest"', log_path).returncode == 0:
            return log
        log = self._setup_step(checkout, pyenv.install_pytest_script(), log, log_path, pyenv.PYTEST_FAILED)
        _open_up(checkout)
        log += pyenv.PYTEST_NOTE + "\n"
        log_path.write_text(log)
        return log

    def _setup_step(
        self, checkout: Path, script: str, log: str, log_path: Path, failed: str, shown: bool = True
    ) -> str:
        """Run one setup step; its output joins the setup log, written at once so a failure keeps it."""
        result = self._in_setup(checkout, script, log_path)
        return log_setup_step(log, script, result, log_path, failed, shown)

    def _in_setup(self, checkout: Path, script: str, log_path: Path) -> ExecResult:
        """A script with network, in the layout contestants get (repo and environment at /workspace)."""
        tmp = log_path.parent / "setup-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        _give(tmp, SETUP_UID)
        staging = [("bind", checkout, "ws"), ("bind", tmp, "tmp")]
        bwrap = _bwrap(network=True)
        bwrap += ["--bind", f"{STAGE}/tmp", "/tmp", "--bind", f"{STAGE}/ws", WORKDIR, *_lockdown(), "--chdir", WORKDIR]
        argv = _staged(staging, SETUP_UID, prlimit_args(self.limits), [*bwrap, "bash", "-c", f"umask 000\n{script}"])
        try:
            return setup_runner().run(
                argv, env=sandbox_env(), cwd=None, timeout=self.limits.setup_timeout_s, output_limit=1_000_000
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def create(
        self, prepared: PreparedTask, root: Path, uid: int, mounts: Sequence[tuple[Path, str]] = ()
    ) -> "LocalSandbox":
        return LocalSandbox(prepared, root, uid, self.limits, mounts)


class LocalSandbox:
    """One contestant's overlay workspace; its state lives in `root` (upper, work, tmp)."""

    workdir = WORKDIR

    def __init__(self, prepared: PreparedTask, root: Path, uid: int, limits: SandboxSpec, mounts: Sequence = ()):
        self.prepared = prepared
        self.limits = limits
        self.mounts = check_mounts(mounts)
        self.uid = uid if os.geteuid() == 0 else os.geteuid()
        self.dirs = {name: root / name for name in ("upper", "work", "tmp")}
        for name, path in self.dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            if name in ("upper", "tmp"):
                _give(path, self.uid)
        for path in (self.dirs["upper"], self.dirs["work"], prepared.checkout):
            if "," in str(path) or ":" in str(path):
                raise SandboxError(
                    f"path {path} contains ',' or ':', which overlay mounts cannot take; move ARENA_DATA_DIR"
                )
        self.runner = ProcessRunner()

    def path_of(self, sandbox_path: str) -> str:
        """Where a command sees `sandbox_path` (unsafe-local maps mounts to host paths; here it is the same)."""
        return sandbox_path

    def _argv(self, command: str, base_git: bool = False) -> list[str]:
        lower, upper, work = self.prepared.checkout, self.dirs["upper"], self.dirs["work"]
        staging = [
            ("overlay", f"lowerdir={lower},upperdir={upper},workdir={work}", "ws"),
            ("bind", self.dirs["tmp"], "tmp"),
        ]
        bwrap = _bwrap()
        bwrap += ["--bind", f"{STAGE}/tmp", "/tmp", "--bind", f"{STAGE}/ws", WORKDIR]
        if base_git:
            staging.append(("bind", lower / ".git", "base"))
            bwrap += ["--ro-bind", f"{STAGE}/base", BASE_GIT]
        else:
            for i, (host, target) in enumerate(self.mounts):
                staging.append(("bind", host, f"mount{i}"))
                bwrap += ["--ro-bind", f"{STAGE}/mount{i}", target]
        bwrap += [*_lockdown(), "--chdir", WORKDIR, "bash", "-c", command]
        return _staged(staging, self.uid, prlimit_args(self.limits), bwrap)

    def execute(self, command: str, timeout: float | None = None) -> ExecResult:
        return self.runner.run(
            self._argv(command),
            env=sandbox_env(),
            cwd=None,
            timeout=timeout or self.limits.command_timeout_s,
            output_limit=self.limits.output_limit_bytes,
        )

    def diff(self) -> bytes:
        name = f".arena-diff-{secrets.token_hex(6)}"
        argv = self._argv(diff_script(self.prepared.diff_base, BASE_GIT, WORKDIR, f"/tmp/{name}"), base_git=True)
        result = ProcessRunner().run(argv, env=sandbox_env(), cwd=None, timeout=300, output_limit=20_000)
        return collect_patch(self.dirs["tmp"], name, result)

    def upload(self, name: str, data: bytes) -> str:
        write_into(self.dirs["tmp"], name, data, self.uid)
        return f"/tmp/{name}"

    def download(self, name: str) -> bytes | None:
        return read_from(self.dirs["tmp"], name)

    def cancel(self) -> None:
        self.runner.kill()

    def close(self) -> None:
        """Nothing stays mounted between commands; the upper dir stays for inspection."""
        shutil.rmtree(self.dirs["work"], ignore_errors=True)


def collect_patch(tmp_dir: Path, name: str, result: ExecResult) -> bytes:
    """The patch the diff script wrote to tmp_dir/name; refused above ARENA_MAX_PATCH_MB. The file never stays."""
    limit_mb = setting("ARENA_MAX_PATCH_MB")
    try:
        try:
            patch = read_from(tmp_dir, name, int(limit_mb * MB))
        except FileTooLarge as e:
            raise SandboxError(
                f"the patch is {e.size / MB:.1f} MB, larger than ARENA_MAX_PATCH_MB={limit_mb:g}; it was not kept. "
                "Raise ARENA_MAX_PATCH_MB if a patch this big is expected; otherwise the agent left large "
                "generated or binary files in the workspace"
            ) from None
        if result.returncode == SIGXFSZ_EXIT:
            raise SandboxError(
                "could not collect the patch: it outgrew the sandbox's max_file_size_mb; raise it in the spec's "
                "sandbox settings if a patch this big is expected"
            )
        if result.returncode != 0 or patch is None:
            raise SandboxError(f"could not collect the patch (exit {result.returncode}): {result.output[-2000:]}")
        return patch
    finally:
        with suppress(OSError):
            (tmp_dir / name).unlink()  # unlink removes a planted symlink itself, never its target


def _staged(mounts: list[tuple[str, object, str]], uid: int, prlimit: list[str], bwrap: list[str]) -> list[str]:
    """As root of a private mount namespace: mount everything under STAGE, then drop to `uid` and exec bwrap.

    Staging first means bwrap, running unprivileged, never has to traverse the host paths
    (a data dir under a 0700 home, say): it binds only STAGE/<name>.
    """
    lines = ["set -e", f"mount -t tmpfs -o mode=0755 arena-stage {STAGE}"]
    for kind, source, name in mounts:
        target = shlex.quote(f"{STAGE}/{name}")
        is_file = kind == "bind" and isinstance(source, Path) and source.exists() and not source.is_dir()
        lines.append(f"touch {target}" if is_file else f"mkdir {target}")  # a file binds onto a file
        if kind == "overlay":
            lines.append(f"mount -t overlay overlay -o {shlex.quote(str(source))} {target}")
        else:
            lines.append(f"mount --bind {shlex.quote(str(source))} {target}")
    lines.append('exec "$@"')
    return [*_namespace_prefix(), "sh", "-c", "\n".join(lines), "arena-sandbox", *_as_uid(uid, prlimit, bwrap)]


def _namespace_prefix() -> list[str]:
    if os.geteuid() == 0:
        return ["unshare", "--mount", "--propagation", "private", "--"]
    return ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "--"]


def _as_uid(uid: int, prlimit: list[str], argv: list[str]) -> list[str]:
    limited = ["prlimit", *prlimit, "--", *argv]
    if os.geteuid() != 0:
        return limited
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *limited]


def _give(path: Path, uid: int) -> None:
    if os.geteuid() == 0:
        os.chown(path, uid, uid)


def _open_up(checkout: Path) -> None:
    """Let every sandbox uid read and (through its own overlay copy) write the checkout."""
    subprocess.run(["chmod", "-R", "a+rwX", str(checkout)], check=True)


def prlimit_args(limits: SandboxSpec) -> list[str]:
    """Hard and soft rlimits for everything the command starts."""
    mib = 1024 * 1024
    return [
        f"--cpu={limits.cpu_time_s}",
        f"--as={limits.memory_mb * mib}",
        f"--nproc={limits.max_processes}",
        f"--fsize={limits.max_file_size_mb * mib}",
    ]
