"""E2B sandboxes: a cloud VM per contestant, started from a snapshot of one sandbox prepared once.

prepare, once per (template, repository, base, setup command):
    host            the pristine checkout (RepoCache: git credentials stay on the host), as a git bundle of HEAD
    Sandbox.create(template, internet on)
                    upload the bundle, clone it at /workspace; as `user`: the task's Python environment and the
                    setup command; as root: what setup made is excluded from patches and a root-owned copy of
                    .git goes to /arena/base.git (the trusted base patches are taken against)
    create_snapshot(name="arena-<key>"), then the prepare sandbox is killed
create, per contestant and per judge evaluation:
    Sandbox.create(template=<snapshot id>, internet off): one API call, no upload, no command, so provisioning
    stays flat in the number of contestants and in the size of the repository.

Why a snapshot: SDK 2.63 also has `fork`, but it checkpoints a live source sandbox on every call (at most 20
forks at once) and the source would have to outlive the arena, judging included. A snapshot is taken once, and
a later arena on the same task reuses it (checked with `list_snapshots`). Snapshots stay in your E2B team, as
local checkouts stay in the cache; delete them in E2B's dashboard or with `Sandbox.delete_snapshot`.

What enters a sandbox: the repository's history up to base (no other branch, no remote, no credentials), the
setup command and the contestant's commands. No variable of the host: the SDK reads E2B_API_KEY for its own API
calls; LLM calls stay on the host.

Every command is one `commands.run` as root:
    timeout -s KILL T           the per-command timeout
      setpriv --reuid=user      E2B's unprivileged user
        prlimit ...             CPU time, address space, processes, file size (as local)
          env -i ...            the environment local commands get (sandbox_env), nothing else
            bash -c COMMAND     stdout and stderr together, cut in the sandbox to head and tail (only those travel)
and then every process of `user` is killed, so nothing outlives its command (local: the pid namespace ends).
E2B templates usually give `user` passwordless sudo, so a contestant can be root inside its own VM: the VM holds
nothing but the repository, has no network, and the judge applies the patch in a fresh sandbox.

The task's Python environment is local's (pyenv.py: /workspace/.venv, first on PATH, never in a patch) made with
--system-site-packages: a template is where dependencies get preinstalled, and the task must see them. The
host's pip.conf is not copied: its indexes are on the host's network, not E2B's.

A template needs bash, coreutils, util-linux (setpriv, prlimit), git, and python3 with venv for Python tasks.
"""

import base64
import hashlib
import json
import shlex
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from e2b import (
    AuthenticationException,
    CommandExitException,
    FileType,
    NotFoundException,
    Sandbox,
    SandboxException,
    SandboxNotFoundException,
    SandboxNotRunningException,
    SandboxUnreachableException,
    TimeoutException,
)

from arena.config import setting
from arena.errors import ArenaError, SandboxError, SandboxUnavailable, SetupFailed
from arena.protocols import ExecResult, PreparedTask, TestCommand
from arena.sandboxes import pyenv
from arena.sandboxes.files import FileTooLarge
from arena.sandboxes.local import diff_script, prlimit_args, sandbox_env
from arena.sandboxes.process import _Capture, log_setup_step
from arena.sandboxes.repos import DEFAULT_EXCLUDES, RepoCache, git, locked, setup_key
from arena.spec import SandboxSpec

WORKDIR = "/workspace"
VENV = f"{WORKDIR}/{pyenv.VENV_DIR}"
USER = "user"  # E2B's default unprivileged user, present in every template
ARENA = "/arena"  # root's: the trusted base .git, per-command scratch dirs, the cancel flag, the patch
BASE_GIT = f"{ARENA}/base.git"
CANCELLED = f"{ARENA}/cancelled"
PATCH = f"{ARENA}/patch.diff"
PREPARE_VERSION = "e2b1"  # part of a snapshot's name: changing how sandboxes are prepared makes new ones
GRACE_S = 30  # past a command's own timeout, how long the sandbox may take to answer
SETUP_OUTPUT_LIMIT = 1_000_000
DOWNLOAD_LIMIT = 50_000_000
MB = 1_000_000
MARK = "arena-result"
SDK_ERRORS = (SandboxException, AuthenticationException, httpx.TransportError)
KEY_HINT = (
    "the e2b sandbox backend needs an E2B API key: create one at https://e2b.dev/dashboard?tab=keys and set "
    "E2B_API_KEY in the environment of the arena (CLI, app and every worker); or use `sandbox: {backend: local}`"
)
_ROOT_ENV = (
    f"export PATH={pyenv.BASE_PATH} LC_ALL=C HOME=/root TMPDIR={ARENA} "
    "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'\n"
)
_AS_USER = f"setpriv --reuid={USER} --regid={USER} --clear-groups --"
# kill(-1) as `user` reaches every process of `user` but the caller: whatever the command left running.
_SWEEP = f"{_AS_USER} bash -c 'kill -KILL -1' >/dev/null 2>&1"


@dataclass
class E2BPreparedTask(PreparedTask):
    snapshot_id: str = ""
    """The E2B snapshot every sandbox of this task starts from."""


class E2BBackend:
    """Sandboxes in E2B's cloud, each a VM started from a snapshot of the prepared task."""

    name = "e2b"

    def __init__(self, repos: RepoCache, limits: SandboxSpec, sdk: type | None = None):
        self.repos = repos
        self.limits = limits
        self.sdk = sdk if sdk is not None else Sandbox  # the module attribute, so tests can swap in a fake

    @property
    def template(self) -> str:
        return self.limits.template or setting("ARENA_E2B_TEMPLATE")

    def check_available(self) -> None:
        """Only the key is checked: launching must not wait for the network."""
        if not setting("E2B_API_KEY"):
            raise SandboxUnavailable(KEY_HINT)

    def prepare(
        self, repo: str, base_sha: str, setup_command: str | None, log_path: Path, test_command: TestCommand = None
    ) -> E2BPreparedTask:
        """The host checkout (the judge reads base files there) and a snapshot of the set-up sandbox, reused."""
        self.check_available()
        key = setup_key(None, self.name)
        with self.repos.lock_checkout(repo, base_sha, key):
            checkout, ready = self.repos.checkout(repo, base_sha, key)
            if not ready:
                self.repos.mark_ready(checkout, {"base_sha": base_sha})
        if callable(test_command):
            test_command = test_command(checkout)
        needs_pytest = pyenv.runs_pytest(test_command)
        facts = f"{PREPARE_VERSION}\0{self.template}\0{repo}\0{base_sha}\0{setup_command or ''}\0{needs_pytest}"
        name = f"arena-{hashlib.sha256(facts.encode()).hexdigest()[:20]}"
        record = checkout.with_name(f"{checkout.name}.{name}.json")
        with locked(record):
            info = self._reusable(record, name)
            if info is None:
                info = self._prepare_snapshot(checkout, base_sha, setup_command, needs_pytest, name, log_path)
                tmp = record.with_suffix(".tmp")
                tmp.write_text(json.dumps(info, indent=2))
                tmp.replace(record)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(info["setup_log"])
        return E2BPreparedTask(
            repo=repo,
            base_sha=base_sha,
            checkout=checkout,
            setup_command=setup_command,
            setup_log=info["setup_log"],
            diff_base=info["diff_base"],
            snapshot_id=info["snapshot_id"],
        )

    def _reusable(self, record: Path, name: str) -> dict | None:
        """What an earlier prepare recorded, if E2B still has its snapshot."""
        if not record.exists():
            return None
        try:
            found = self.sdk.list_snapshots(name=name).next_items()
        except SDK_ERRORS as e:
            raise _sdk_error("looking up the prepared E2B snapshot", e) from None
        return json.loads(record.read_text()) if found else None

    def _prepare_snapshot(
        self, checkout: Path, base_sha: str, setup_command: str | None, needs_pytest: bool, name: str, log_path: Path
    ) -> dict:
        if (checkout / pyenv.VENV_DIR).exists():
            raise SetupFailed(
                f"the repository has its own {pyenv.VENV_DIR}/ at the base commit, where the arena puts the task's "
                "Python environment; remove it from the repository (virtual environments are not source)"
            )
        box = self._create(self.template, internet=True, metadata={"arena": "prepare", "snapshot": name})
        try:
            with tempfile.TemporaryDirectory() as tmp:
                bundle = Path(tmp) / "repo.bundle"
                git("bundle", "create", str(bundle), "HEAD", cwd=checkout)  # history up to base, nothing else
                with bundle.open("rb") as data:
                    _sdk(lambda: box.files.write(f"{ARENA}/repo.bundle", data, user="root"), "uploading the repository")
            _root(box, _clone_script(base_sha), 600)
            log = self._setup_step(box, _venv_script(), "", log_path, pyenv.CREATE_FAILED, shown=False)
            if setup_command:
                failed = "the task's setup_command failed with exit code {code}; see the setup log"
                log = self._setup_step(box, setup_command, log, log_path, failed)
            if needs_pytest:
                log = self._ensure_pytest(box, log, log_path)
            diff_base = _root(box, _finalize_script(), 600).split()[-1]
            snapshot = _sdk(lambda: box.create_snapshot(name=name), "snapshotting the prepared sandbox")
        finally:
            with suppress(*SDK_ERRORS):
                box.kill()
        return {"snapshot_id": snapshot.snapshot_id, "diff_base": diff_base, "setup_log": log, "name": name}

    def _setup_step(self, box: Sandbox, script: str, log: str, log_path: Path, failed: str, shown: bool = True) -> str:
        """One step as `user` with network; its output joins the setup log, written at once so a failure keeps it."""
        result = run_user(box, script, self.limits.setup_timeout_s, SETUP_OUTPUT_LIMIT, self.limits)
        return log_setup_step(log, script, result, log_path, failed, shown)

    def _ensure_pytest(self, box: Sandbox, log: str, log_path: Path) -> str:
        missing = f'test -x {VENV}/bin/python && ! python -c "import pytest" 2>/dev/null'
        if run_user(box, missing, 120, 10_000, self.limits).returncode != 0:
            return log
        log = self._setup_step(box, pyenv.install_pytest_script(), log, log_path, pyenv.PYTEST_FAILED)
        log += pyenv.PYTEST_NOTE + "\n"
        log_path.write_text(log)
        return log

    def create(
        self, prepared: PreparedTask, root: Path, uid: int, mounts: Sequence[tuple[Path, str]] = ()
    ) -> "E2BSandbox":
        """A new VM from the task's snapshot; `root` keeps its id, so an operator can find it in E2B."""
        if mounts:
            raise SandboxError(
                "CLI runners (claude-code, codex, aider, ...) need `sandbox: {backend: local}`: their tools and the "
                "LLM gateway's socket are host paths mounted into the sandbox, and the gateway on this host is not "
                "reachable from E2B's cloud; run this contestant on the local backend, or use runner mini-swe-agent"
            )
        if not isinstance(prepared, E2BPreparedTask) or not prepared.snapshot_id:
            raise SandboxError("this task was prepared by another sandbox backend; prepare it with backend e2b")
        box = self._create(prepared.snapshot_id, internet=False, metadata={"arena": "sandbox", "dir": root.name})
        root.mkdir(parents=True, exist_ok=True)
        (root / "e2b.json").write_text(json.dumps({"sandbox_id": box.sandbox_id, "snapshot": prepared.snapshot_id}))
        return E2BSandbox(box, prepared, self.limits)

    def _create(self, template: str, internet: bool, metadata: dict[str, str]) -> Sandbox:
        try:
            return self.sdk.create(
                template=template, timeout=self.limits.lifetime_s, metadata=metadata, allow_internet_access=internet
            )
        except SandboxException as e:
            if e.status_code == 404:
                raise SandboxError(
                    f"E2B has no template or snapshot '{template}' for this key ({e}); set sandbox.template in the "
                    "spec, or ARENA_E2B_TEMPLATE, to a template of your E2B team"
                ) from None
            raise _sdk_error(f"starting an E2B sandbox from '{template}'", e) from None
        except SDK_ERRORS as e:
            raise _sdk_error(f"starting an E2B sandbox from '{template}'", e) from None


class E2BSandbox:
    """One contestant's VM; the repository at /workspace, its private files in /tmp."""

    workdir = WORKDIR

    def __init__(self, box: Sandbox, prepared: E2BPreparedTask, limits: SandboxSpec):
        self.box = box
        self.prepared = prepared
        self.limits = limits
        self.cancelled = False
        self._running = 0
        self._lock = threading.Lock()

    def execute(self, command: str, timeout: float | None = None) -> ExecResult:
        with self._lock:
            if self.cancelled:
                return ExecResult(
                    output="", returncode=-1, cancelled=True, exception_info="the contestant was cancelled"
                )
            self._running += 1
        try:
            limit = self.limits.output_limit_bytes
            result = run_user(self.box, command, timeout or self.limits.command_timeout_s, limit, self.limits)
        finally:
            with self._lock:
                self._running -= 1
        if self.cancelled:
            result.cancelled = True
            result.exception_info = "the contestant was cancelled while this command ran"
        return result

    def diff(self) -> bytes:
        """The patch from the root-owned base .git (as local: the contestant's own .git is never read)."""
        limit_mb = setting("ARENA_MAX_PATCH_MB")
        script = f"""rm -f {PATCH}
(
{diff_script(self.prepared.diff_base, BASE_GIT, WORKDIR, PATCH)}
) > {ARENA}/patch.log 2>&1
echo "{MARK} $? $(stat -c %s {PATCH} 2>/dev/null || echo -1)"
tail -c 2000 {ARENA}/patch.log
"""
        out = _root(self.box, script, 300)
        rc, size = (int(x) for x in out.rpartition(MARK)[2].split("\n", 1)[0].split())
        if size > limit_mb * MB:
            raise SandboxError(
                f"the patch is {size / MB:.1f} MB, larger than ARENA_MAX_PATCH_MB={limit_mb:g}; it was not kept. "
                "Raise ARENA_MAX_PATCH_MB if a patch this big is expected; otherwise the agent left large "
                "generated or binary files in the workspace"
            )
        if rc != 0 or size < 0:
            raise SandboxError(f"could not collect the patch (exit {rc}): {out.rpartition(MARK)[2][-2000:]}")
        return bytes(_sdk(lambda: self.box.files.read(PATCH, format="bytes", user="root"), "reading the patch"))

    def upload(self, name: str, data: bytes) -> str:
        path = _tmp_path(name)
        _sdk(lambda: self.box.files.write(path, data, user=USER), f"uploading {name}")
        return path

    def download(self, name: str) -> bytes | None:
        """None if missing, a symlink or not a regular file; no command runs meanwhile (each one ends with a sweep)."""
        path = _tmp_path(name)
        try:
            info = self.box.files.get_info(path, user="root")
            if info.type != FileType.FILE or info.symlink_target is not None:
                return None
            if info.size > DOWNLOAD_LIMIT:
                raise FileTooLarge(name, info.size, DOWNLOAD_LIMIT)
            data = self.box.files.read(path, format="bytes", user="root")
        except NotFoundException:
            return None
        except SDK_ERRORS as e:
            raise _sdk_error(f"downloading {name}", e) from None
        if len(data) > DOWNLOAD_LIMIT:
            raise FileTooLarge(name, len(data), DOWNLOAD_LIMIT)
        return bytes(data)

    def cancel(self) -> None:
        """Refuse further commands; a running one is killed, and the flag stops one that is about to start."""
        with self._lock:
            self.cancelled = True
            running = self._running > 0
        if running:
            with suppress(*SDK_ERRORS):
                self.box.commands.run(f"{_ROOT_ENV}touch {CANCELLED}\n{_SWEEP}", user="root", timeout=60)

    def close(self) -> None:
        with suppress(*SDK_ERRORS):
            self.box.kill()


def run_user(box: Sandbox, command: str, timeout: float, limit: int, limits: SandboxSpec) -> ExecResult:
    """`command` as `user` in /workspace: cut to `limit` bytes, killed after `timeout` s with all it started."""
    half = max(limit // 2, 1)
    start = time.monotonic()
    try:
        done = box.commands.run(_user_script(command, timeout, half, limits), user="root", timeout=timeout + GRACE_S)
    except CommandExitException as e:
        raise SandboxError(f"the command wrapper failed in the E2B sandbox (exit {e.exit_code}): {_said(e)}") from None
    except TimeoutException as e:
        if isinstance(e, SandboxNotRunningException | SandboxUnreachableException):
            raise _sdk_error("running a command", e) from None
        with suppress(*SDK_ERRORS):
            box.commands.run(_ROOT_ENV + _SWEEP, user="root", timeout=60)
        return ExecResult(
            output="",
            returncode=124,
            duration_s=round(time.monotonic() - start, 3),
            timed_out=True,
            exception_info=f"the sandbox did not answer within {timeout + GRACE_S:g} s; the command was killed",
        )
    except SDK_ERRORS as e:
        raise _sdk_error("running a command", e) from None
    try:
        status, _, encoded = done.stdout.rpartition(f"{MARK} ")[2].partition("\n")
        rc, elapsed_ms, rest = (int(x) for x in status.split())
        kept = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:
        raise SandboxError(f"the E2B sandbox answered a command strangely: {done.stdout[-500:]!r}") from None
    capture = _Capture(limit)  # the same head, tail and truncation note as a local command's
    capture.head, capture.tail, capture.dropped = bytearray(kept[:half]), bytearray(kept[half:]), max(rest - half, 0)
    output, dropped = capture.text()
    result = ExecResult(
        output=output, returncode=rc, duration_s=round(time.monotonic() - start, 3), truncated_bytes=dropped
    )
    # `timeout -s KILL` exits 137 when it killed the command; so does a command killed otherwise, but not this late.
    if rc in (124, 137) and elapsed_ms >= int(timeout * 1000):
        result.timed_out, result.returncode = True, 124
        result.exception_info = f"the command timed out after {timeout:g} s; every process it started was killed"
    return result


def _user_script(command: str, timeout: float, half: int, limits: SandboxSpec) -> str:
    """Root's wrapper: runs `command` as `user`, prints MARK, exit code, ms taken, bytes past the head, base64(kept).

    Output is cut in the sandbox: dd keeps exactly the first `half` bytes, tail the last `half` of the rest, and
    wc counts the rest, so a command printing gigabytes sends at most `2 * half` bytes to the host.
    """
    env = " ".join(shlex.quote(f"{k}={v}") for k, v in sandbox_env(home="/tmp", venv=VENV).items())
    gate = f'[ -e {CANCELLED} ] && exit 125; exec "$@"'  # checked as `user`: see cancel()
    run = (
        f"timeout --foreground -s KILL {timeout:.3f} {_AS_USER} prlimit {' '.join(prlimit_args(limits))} -- "
        f"env -i {env} sh -c {shlex.quote(gate)} sh bash -c {shlex.quote(command)}"
    )
    return f"""{_ROOT_ENV}d=$(mktemp -d {ARENA}/run.XXXXXX) || exit 1
trap 'rm -rf "$d"' EXIT
mkfifo "$d/rest.fifo" || exit 1
wc -c < "$d/rest.fifo" > "$d/rest" &
counter=$!
cd {WORKDIR} 2>/dev/null || cd /
{{
  start=$(date +%s%N)
  {run} < /dev/null 2>&1
  rc=$?
  echo "$rc $(( ($(date +%s%N) - start) / 1000000 ))" > "$d/rc"
  {_SWEEP}
}} | {{ dd bs={half} count=1 iflag=fullblock status=none; tee "$d/rest.fifo" | tail -c {half}; }} > "$d/kept"
wait $counter
echo "{MARK} $(cat "$d/rc") $(cat "$d/rest")"
base64 -w0 < "$d/kept"
"""


def _clone_script(base_sha: str) -> str:
    """Root: the uploaded bundle becomes /workspace at base, owned by `user`, with no remote left."""
    return f"""set -e
mkdir -p {WORKDIR}
git clone --quiet --no-checkout {ARENA}/repo.bundle {WORKDIR}
cd {WORKDIR}
git -c advice.detachedHead=false checkout --quiet --detach {base_sha}
git remote remove origin
git config user.name arena-contestant
git config user.email contestant@agent-arena.invalid
rm -f {ARENA}/repo.bundle
chown -R {USER}:{USER} {WORKDIR}
chmod 755 {ARENA}
"""


def _venv_script() -> str:
    """pyenv.create_script, with the template's own packages visible."""
    return f"""export PATH={pyenv.BASE_PATH}
if ! command -v python3 >/dev/null; then echo {shlex.quote(pyenv.NO_PYTHON_NOTE)}; exit 0; fi
python3 -m venv --system-site-packages {VENV} && \\
  echo "arena: created the task's Python environment {VENV} ($(python3 --version), the template's packages visible)"
"""


def _finalize_script() -> str:
    """Root, after setup: RepoCache.mark_ready in the sandbox, then the trusted base .git; prints the diff base."""
    excludes = " ".join(shlex.quote(p) for p in DEFAULT_EXCLUDES)
    index = f"GIT_INDEX_FILE={ARENA}/setup-index"
    return f"""set -e
cd {WORKDIR}
git -c core.quotepath=off ls-files --others --exclude-standard --directory > {ARENA}/untracked
mkdir -p .git/info
{{ printf '%s\\n' {excludes}; sed '/^$/d; s|^|/|' {ARENA}/untracked; }} > .git/info/exclude
{index} git read-tree HEAD
{index} git add -A
{index} git write-tree > {ARENA}/diff-base
rm -f {ARENA}/setup-index {ARENA}/untracked
chown -R {USER}:{USER} .git
rm -rf {BASE_GIT}
cp -a .git {BASE_GIT}
chown -R root:root {BASE_GIT}
chmod -R go-w {BASE_GIT}
cat {ARENA}/diff-base
"""


def _root(box: Sandbox, script: str, timeout: float) -> str:
    """A script of ours as root; its stdout. Failing is the sandbox failing, not a contestant's command."""
    try:
        return box.commands.run(_ROOT_ENV + script, user="root", timeout=timeout).stdout
    except CommandExitException as e:
        raise SandboxError(
            f"a step of the e2b backend failed in the sandbox (exit {e.exit_code}): {_said(e)}"
        ) from None
    except SDK_ERRORS as e:
        raise _sdk_error("running a step of the e2b backend", e) from None


def _sdk(call, what: str):
    try:
        return call()
    except SDK_ERRORS as e:
        raise _sdk_error(what, e) from None


def _sdk_error(what: str, e: Exception) -> ArenaError:
    if isinstance(e, AuthenticationException):
        return SandboxUnavailable(f"{what}: E2B refused the key ({e}); {KEY_HINT}")
    if isinstance(e, SandboxNotRunningException | SandboxNotFoundException):
        return SandboxError(
            f"{what}: the E2B sandbox is not running any more ({e}); a sandbox lives sandbox.lifetime_s seconds"
        )
    if isinstance(e, httpx.TransportError):
        return SandboxError(f"{what}: cannot reach E2B ({e}); check this machine's network")
    return SandboxError(f"{what}: {type(e).__name__}: {e}")


def _said(e: CommandExitException) -> str:
    return f"{e.stdout or ''}{e.stderr or ''}"[-2000:]


def _tmp_path(name: str) -> str:
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise SandboxError(f"sandbox file name {name!r} must be relative to its /tmp")
    return f"/tmp/{name}"
