"""unsafe-local: plain host processes in a per-contestant clone. No isolation; only when asked for by name.

With no shared mount layout, a prepared environment (a virtualenv, say) would point at the
pristine checkout's path, so the setup command runs once to prove it works and then again in
each contestant's own clone.
"""

import secrets
import shutil
from pathlib import Path

from arena.errors import SandboxError, SetupFailed
from arena.protocols import ExecResult, PreparedTask
from arena.sandboxes.files import read_from, write_into
from arena.sandboxes.local import diff_script, prlimit_args, sandbox_env
from arena.sandboxes.process import ProcessRunner, setup_runner
from arena.sandboxes.repos import RepoCache, git, setup_key
from arena.spec import SandboxSpec


class UnsafeLocalBackend:
    name = "unsafe-local"

    def __init__(self, repos: RepoCache, limits: SandboxSpec):
        self.repos = repos
        self.limits = limits

    def check_available(self) -> None:
        """Needs only git and bash, which the engine needs anyway."""

    def prepare(self, repo: str, base_sha: str, setup_command: str | None, log_path: Path) -> PreparedTask:
        key = setup_key(None, self.name)
        with self.repos.lock_checkout(repo, base_sha, key):
            checkout, ready = self.repos.checkout(repo, base_sha, key)
            if not ready:
                self.repos.mark_ready(checkout, {"base_sha": base_sha})
        prepared = PreparedTask(repo=repo, base_sha=base_sha, checkout=checkout, setup_command=setup_command)
        # Setup runs again in each clone; its edits to tracked files differ per clone, so diff against base.
        if setup_command:
            # Proves the command works before any contestant starts; its output is the arena's setup log.
            probe = UnsafeLocalSandbox(prepared, log_path.parent / "setup-probe", self.limits, None)
            prepared.setup_log = probe.setup(setup_command, log_path)
            shutil.rmtree(log_path.parent / "setup-probe", ignore_errors=True)
        return prepared

    def create(self, prepared: PreparedTask, root: Path, uid: int) -> "UnsafeLocalSandbox":
        sandbox = UnsafeLocalSandbox(prepared, root, self.limits, None)
        if prepared.setup_command:
            sandbox.setup(prepared.setup_command, root / "setup.log")
        return sandbox


class UnsafeLocalSandbox:
    def __init__(self, prepared: PreparedTask, root: Path, limits: SandboxSpec, _uid: int | None):
        self.prepared = prepared
        self.limits = limits
        self.root = root
        ws = root / "workspace"
        if not (ws / ".git").exists():
            root.mkdir(parents=True, exist_ok=True)
            git("clone", "--quiet", "--shared", "--no-checkout", str(prepared.checkout), str(ws))
            git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", prepared.base_sha, cwd=ws)
            shutil.copy(prepared.checkout / ".git" / "info" / "exclude", ws / ".git" / "info" / "exclude")
        (root / "tmp").mkdir(exist_ok=True)
        self.workdir = str(ws)
        self.runner = ProcessRunner()

    def _run(self, script: str, timeout: float, limit: int, runner: ProcessRunner | None = None) -> ExecResult:
        env = sandbox_env(home=str(self.root / "tmp")) | {"TMPDIR": str(self.root / "tmp")}
        argv = ["prlimit", *prlimit_args(self.limits), "--", "bash", "-c", script]
        return (runner or self.runner).run(argv, env=env, cwd=self.workdir, timeout=timeout, output_limit=limit)

    def setup(self, command: str, log_path: Path) -> str:
        result = self._run(command, self.limits.setup_timeout_s, 1_000_000, setup_runner())
        log = f"$ {command}\n{result.output}\n[exit code {result.returncode}]\n"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(log)
        if result.returncode != 0:
            raise SetupFailed(
                f"the task's setup_command failed with exit code {result.returncode}; see the setup log", log
            )
        return log

    def execute(self, command: str, timeout: float | None = None) -> ExecResult:
        return self._run(command, timeout or self.limits.command_timeout_s, self.limits.output_limit_bytes)

    def diff(self) -> bytes:
        out = self.root / "tmp" / f".arena-diff-{secrets.token_hex(6)}"
        script = diff_script(self.prepared.diff_base, str(self.prepared.checkout / ".git"), self.workdir, str(out))
        result = self._run(script, 300, 20_000, ProcessRunner())
        patch = self.download(out.name)
        if result.returncode != 0 or patch is None:
            raise SandboxError(f"could not collect the patch (exit {result.returncode}): {result.output[-2000:]}")
        out.unlink(missing_ok=True)
        return patch

    def upload(self, name: str, data: bytes) -> str:
        write_into(self.root / "tmp", name, data, None)
        return str(self.root / "tmp" / name)

    def download(self, name: str) -> bytes | None:
        return read_from(self.root / "tmp", name)

    def cancel(self) -> None:
        self.runner.kill()

    def close(self) -> None:
        pass
