"""unsafe-local: plain host processes in a per-contestant clone. No isolation; only when asked for by name.

With no shared mount layout, a prepared environment (a virtualenv, say) would point at the
pristine checkout's path, so the task's Python environment (<clone>/.venv, see pyenv.py) and the
setup command are made once to prove they work and then again in each clone: every sandbox,
judge evaluations included, pays for a venv (about 2 s) and its setup.

Mounts (`create(..., mounts=[(host_path, "/arena/...")])`) cannot be shown at their sandbox paths without
root, so they are a map instead: `sandbox.path_of("/arena/tools/aider")` is the host path to use in commands
(and `path_of("/tmp")` the sandbox's private tmp dir, which upload and download use).
Nothing is read-only here, and a command reaches the host's whole network: unsafe-local isolates nothing.
"""

import posixpath
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

from arena.errors import SetupFailed
from arena.protocols import ExecResult, PreparedTask, TestCommand
from arena.sandboxes import pyenv
from arena.sandboxes.files import read_from, write_into
from arena.sandboxes.local import check_mounts, collect_patch, diff_script, prlimit_args, sandbox_env
from arena.sandboxes.process import ProcessRunner, setup_runner
from arena.sandboxes.repos import RepoCache, git, setup_key
from arena.spec import SandboxSpec


class UnsafeLocalBackend:
    name = "unsafe-local"

    def __init__(self, repos: RepoCache, limits: SandboxSpec):
        self.repos = repos
        self.limits = limits
        self.test_command: str | None = None

    def check_available(self) -> None:
        """Needs only git and bash, which the engine needs anyway."""

    def prepare(
        self, repo: str, base_sha: str, setup_command: str | None, log_path: Path, test_command: TestCommand = None
    ) -> PreparedTask:
        key = setup_key(None, self.name)
        with self.repos.lock_checkout(repo, base_sha, key):
            checkout, ready = self.repos.checkout(repo, base_sha, key)
            if not ready:
                self.repos.mark_ready(checkout, {"base_sha": base_sha})
        if callable(test_command):
            test_command = test_command(checkout)
        prepared = PreparedTask(repo=repo, base_sha=base_sha, checkout=checkout, setup_command=setup_command)
        self.test_command = test_command
        # Setup runs again in each clone; its edits to tracked files differ per clone, so diff against base.
        # The probe proves it works before any contestant starts; its output is the arena's setup log.
        probe = UnsafeLocalSandbox(prepared, log_path.parent / "setup-probe", self.limits, None)
        try:
            prepared.setup_log = probe.setup(setup_command, test_command, log_path)
        finally:
            shutil.rmtree(log_path.parent / "setup-probe", ignore_errors=True)
        return prepared

    def create(
        self, prepared: PreparedTask, root: Path, uid: int, mounts: Sequence[tuple[Path, str]] = ()
    ) -> "UnsafeLocalSandbox":
        sandbox = UnsafeLocalSandbox(prepared, root, self.limits, None, mounts)
        sandbox.setup(prepared.setup_command, self.test_command, root / "setup.log")
        return sandbox


class UnsafeLocalSandbox:
    def __init__(
        self, prepared: PreparedTask, root: Path, limits: SandboxSpec, _uid: int | None, mounts: Sequence = ()
    ):
        self.mounts = {target: host for host, target in check_mounts(mounts)} | {"/tmp": root / "tmp"}
        self.prepared = prepared
        self.limits = limits
        self.root = root
        ws = root / "workspace"
        if not (ws / ".git").exists():
            root.mkdir(parents=True, exist_ok=True)
            git("clone", "--quiet", "--shared", "--no-checkout", str(prepared.checkout), str(ws))
            git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", prepared.base_sha, cwd=ws)
            exclude = (prepared.checkout / ".git" / "info" / "exclude").read_text()
            (ws / ".git" / "info" / "exclude").write_text(f"{exclude}/{pyenv.VENV_DIR}/\n")  # git status stays clean
        (root / "tmp").mkdir(exist_ok=True)
        self.workdir = str(ws)
        self.venv = ws / pyenv.VENV_DIR
        self.runner = ProcessRunner()

    def path_of(self, sandbox_path: str) -> str:
        """The host path behind `sandbox_path` when it is at or under a mount's target; else `sandbox_path`."""
        normal = posixpath.normpath(sandbox_path)
        for target, host in self.mounts.items():
            if normal == target or normal.startswith(f"{target}/"):
                return str(host) + normal[len(target) :]
        return sandbox_path

    def _run(self, script: str, timeout: float, limit: int, runner: ProcessRunner | None = None) -> ExecResult:
        env = sandbox_env(home=str(self.root / "tmp"), venv=str(self.venv)) | {"TMPDIR": str(self.root / "tmp")}
        argv = ["prlimit", *prlimit_args(self.limits), "--", "bash", "-c", script]
        return (runner or self.runner).run(argv, env=env, cwd=self.workdir, timeout=timeout, output_limit=limit)

    def setup(self, command: str | None, test_command: str | None, log_path: Path) -> str:
        """This clone's Python environment, the setup command, then pytest if the tests need it (as local does)."""
        log = self._step(pyenv.create_script(str(self.venv)), "", log_path, pyenv.CREATE_FAILED, shown=False)
        log += pyenv.write_pip_conf(self.venv)
        if command:
            failed = "the task's setup_command failed with exit code {code}; see the setup log"
            log = self._step(command, log, log_path, failed)
        if pyenv.runs_pytest(test_command) and pyenv.has_env(self.venv) and not self._has_pytest():
            log = self._step(pyenv.install_pytest_script(), log, log_path, pyenv.PYTEST_FAILED)
            log += pyenv.PYTEST_NOTE + "\n"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(log)
        return log

    def _has_pytest(self) -> bool:
        return self._run('python -c "import pytest"', 60, 10_000, setup_runner()).returncode == 0

    def _step(self, script: str, log: str, log_path: Path, failed: str, shown: bool = True) -> str:
        result = self._run(script, self.limits.setup_timeout_s, 1_000_000, setup_runner())
        log += f"$ {script}\n{result.output}\n" if shown else result.output
        log += f"[exit code {result.returncode}]\n" if shown or result.returncode != 0 else ""
        if result.returncode != 0:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(log)
            raise SetupFailed(failed.format(code=result.returncode), log)
        return log

    def execute(self, command: str, timeout: float | None = None) -> ExecResult:
        return self._run(command, timeout or self.limits.command_timeout_s, self.limits.output_limit_bytes)

    def diff(self) -> bytes:
        out = self.root / "tmp" / f".arena-diff-{secrets.token_hex(6)}"
        script = diff_script(self.prepared.diff_base, str(self.prepared.checkout / ".git"), self.workdir, str(out))
        result = self._run(script, 300, 20_000, ProcessRunner())
        return collect_patch(self.root / "tmp", out.name, result)

    def upload(self, name: str, data: bytes) -> str:
        write_into(self.root / "tmp", name, data, None)
        return str(self.root / "tmp" / name)

    def download(self, name: str) -> bytes | None:
        return read_from(self.root / "tmp", name)

    def cancel(self) -> None:
        self.runner.kill()

    def close(self) -> None:
        pass
