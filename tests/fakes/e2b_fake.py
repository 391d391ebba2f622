"""A fake of the e2b SDK's `Sandbox` (2.63) for tests: the methods the e2b backend calls, with the SDK's own
argument names, result types (CommandResult, WriteInfo, EntryInfo, SnapshotInfo) and exceptions
(CommandExitException, TimeoutException, FileNotFoundException, ...), backed by a real directory per sandbox on
this machine and real processes. tests/test_e2b.py checks the signatures against the installed SDK.

Each sandbox is a directory that bubblewrap mounts as `/`, with this machine's /usr (/bin, /lib, ...) and /etc
read-only on top and its own /etc/passwd and /etc/group naming `user`. Commands run as envd runs them,
`/bin/bash -l -c CMD`, as root (real root here, confined to the sandbox's mount namespace) or as `user`, with a
clean environment (nothing of the host's) plus the sandbox's and the command's `envs`, and no network unless the
sandbox was created with `allow_internet_access`. A command's client-side `timeout` ends the call with
TimeoutException and leaves the process running, as envd does. File operations run as processes in the sandbox,
as the given user, so paths and symlinks resolve inside it.

Not a VM: the sandboxes share this machine's kernel and pid space. So that "kill every process of `user`"
(kill -1) stays inside one sandbox, each sandbox's `user` has a uid of its own, and a sandbox started from a
snapshot gets its files re-owned to its uid. A snapshot keeps files, not memory; commands run in the foreground
only. Needs root and bubblewrap (`FakeE2B.unavailable()` says why not).

Everything asked of the fake is recorded in `FakeE2B.calls` (creates with all arguments, commands with user and
envs, file writes with their bytes, snapshots, kills), so a test can assert what entered a sandbox.
"""

import codecs
import io
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from e2b import (
    AuthenticationException,
    CommandExitException,
    CommandResult,
    EntryInfo,
    FileNotFoundException,
    FileType,
    SandboxException,
    SandboxNotRunningException,
    SnapshotInfo,
    TimeoutException,
    WriteInfo,
)
from e2b.api import api_exception_from_code

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
UID_BASE = 2_000_000_000  # far above the local backend's sandbox uids and any real user's
DEFAULT_LIFETIME_S = 300  # E2B's default sandbox timeout
NO_KEY = (
    "API key is required, please visit the API Keys tab at https://e2b.dev/dashboard?tab=keys to get your API key. "
    "You can either set the environment variable `E2B_API_KEY` "
    'or you can pass it directly to the method like api_key="e2b_..."'
)


class FakeE2B:
    """The service: templates, snapshots, live sandboxes, and a record of every call."""

    def __init__(self, root: Path, templates: tuple[str, ...] = ("base",)):
        self.root = Path(root)
        self.templates = set(templates)
        self.snapshots: dict[str, tuple[Path, int, str]] = {}  # id -> (files, uid of `user` in them, name)
        self.sandboxes: dict[str, FakeSandbox] = {}
        self.calls: list[dict] = []
        self._lock = threading.Lock()
        self.sandbox_class: type[FakeSandbox] = type("Sandbox", (FakeSandbox,), {"service": self})

    @staticmethod
    def unavailable() -> str | None:
        """Why the fake cannot run here, or None."""
        if os.geteuid() != 0:
            return "the E2B fake runs commands as its sandboxes' own users, which needs root"
        if shutil.which("bwrap") is None or shutil.which("setpriv") is None:
            return "the E2B fake needs bubblewrap and setpriv"
        return None

    def record(self, kind: str, **fields) -> None:
        with self._lock:
            self.calls.append({"kind": kind, **fields})

    def calls_of(self, kind: str) -> list[dict]:
        return [c for c in self.calls if c["kind"] == kind]

    def new_uid(self) -> int:
        return UID_BASE + secrets.randbelow(100_000_000)

    def close(self) -> None:
        """Kill every sandbox still running (a test's teardown)."""
        for box in list(self.sandboxes.values()):
            box.kill()


def _check_key(opts: dict) -> None:
    if not (opts.get("api_key") or os.environ.get("E2B_API_KEY")):
        raise AuthenticationException(NO_KEY)


class FakeSandbox:
    """Stands in for `e2b.Sandbox`; `FakeE2B.sandbox_class` is this class bound to one service."""

    service: FakeE2B
    default_template = "base"

    def __init__(self, sandbox_id: str, home: Path, uid: int, envs: dict[str, str], internet: bool, lifetime: int):
        self.sandbox_id = sandbox_id
        self.home = home
        self.fs = home / "fs"
        self.uid = uid
        self.envs = envs
        self.internet = internet
        self.deadline = time.monotonic() + lifetime
        self.killed = False
        self.procs: set[subprocess.Popen] = set()
        self.commands = FakeCommands(self)
        self.files = FakeFilesystem(self)

    # -- the SDK's API ------------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        template=None,
        timeout=None,
        metadata=None,
        envs=None,
        secure=None,
        allow_internet_access=None,
        mcp=None,
        network=None,
        iam=None,
        lifecycle=None,
        volume_mounts=None,
        logger=None,
        idempotency_key=None,
        **opts,
    ) -> "FakeSandbox":
        _check_key(opts)
        service = cls.service
        template = template or cls.default_template
        service.record(
            "create",
            template=template,
            timeout=timeout,
            metadata=metadata,
            envs=envs,
            allow_internet_access=allow_internet_access,
            network=network,
            opts=opts,
        )
        sandbox_id = f"fake{secrets.token_hex(8)}"
        home = service.root / "sandboxes" / sandbox_id
        home.mkdir(parents=True)
        uid = service.new_uid()
        if template in service.snapshots:
            files, old_uid, _ = service.snapshots[template]
            subprocess.run(["cp", "-a", str(files), str(home / "fs")], check=True)
            _reown(home / "fs", old_uid, uid)
        elif template in service.templates:
            _base_files(home / "fs", uid)
        else:
            raise api_exception_from_code(404, f"template '{template}' not found")
        _write_users(home, uid)
        internet = allow_internet_access is not False  # E2B's default: internet on
        box = cls(sandbox_id, home, uid, dict(envs or {}), internet, timeout or DEFAULT_LIFETIME_S)
        service.sandboxes[sandbox_id] = box
        return box

    def kill(self, **opts) -> bool:
        if self.killed:
            return False
        self.killed = True
        self.service.record("kill", sandbox=self.sandbox_id)
        for proc in list(self.procs):
            _kill_group(proc.pid)
        _kill_uid(self.uid)
        self.service.sandboxes.pop(self.sandbox_id, None)
        return True

    def create_snapshot(self, name=None, *, mode=None, **opts) -> SnapshotInfo:
        self.alive()
        snapshot_id = f"{name or 'snapshot-' + secrets.token_hex(6)}:latest"
        files = self.service.root / "snapshots" / secrets.token_hex(8)
        files.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(self.fs), str(files)], check=True)
        self.service.snapshots[snapshot_id] = (files, self.uid, name or snapshot_id)
        self.service.record("snapshot", sandbox=self.sandbox_id, name=name, snapshot_id=snapshot_id)
        return SnapshotInfo(snapshot_id=snapshot_id, names=[f"fake-team/{snapshot_id}"])

    @classmethod
    def list_snapshots(cls, sandbox_id=None, limit=None, next_token=None, name=None, **opts) -> "FakeSnapshotPaginator":
        _check_key(opts)
        cls.service.record("list_snapshots", name=name)
        found = [
            SnapshotInfo(snapshot_id=sid, names=[f"fake-team/{sid}"])
            for sid, (_, _, snap_name) in cls.service.snapshots.items()
            if name in (None, sid, snap_name)
        ]
        return FakeSnapshotPaginator(found)

    # -- the machinery ------------------------------------------------------------------------------------------

    def alive(self) -> None:
        if self.killed or time.monotonic() > self.deadline:
            raise SandboxNotRunningException(
                f"The sandbox {self.sandbox_id} was not found: The sandbox was killed or reached its timeout."
            )

    def popen(
        self, user: str | None, cwd: str | None, argv: list[str], envs: dict | None, **kwargs
    ) -> subprocess.Popen:
        user = user or "user"
        if user not in ("root", "user"):
            raise SandboxException(f"user '{user}' does not exist in the sandbox")
        home = "/root" if user == "root" else "/home/user"
        env = {"PATH": BASE_PATH, "HOME": home, "USER": user, "LOGNAME": user, "SHELL": "/bin/bash", "LANG": "C.UTF-8"}
        env |= self.envs | dict(envs or {})
        args = ["bwrap", "--bind", str(self.fs), "/", "--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            if Path("/", name).is_dir() and not Path("/", name).is_symlink():
                args += ["--ro-bind", f"/{name}", f"/{name}"]
        args += ["--ro-bind", "/etc", "/etc"]
        args += [
            "--ro-bind",
            str(self.home / "passwd"),
            "/etc/passwd",
            "--ro-bind",
            str(self.home / "group"),
            "/etc/group",
        ]
        for secret in ("/etc/shadow", "/etc/gshadow"):
            if Path(secret).exists():
                args += ["--ro-bind", "/dev/null", secret]
        args += ["--proc", "/proc", "--dev", "/dev", "--unshare-ipc", "--unshare-uts", "--hostname", "e2b-fake"]
        if not self.internet:
            args.append("--unshare-net")
        args += ["--chdir", cwd or home]
        if user != "root":
            args += ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--"]
        proc = subprocess.Popen([*args, *argv], env=env, start_new_session=True, **kwargs)
        self.procs.add(proc)
        return proc

    def run_argv(self, user: str | None, argv: list[str], data: bytes = b"") -> tuple[int, bytes, bytes]:
        """A short helper process (file operations): exit code, stdout, stderr."""
        self.alive()
        proc = self.popen(user, "/", argv, None, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(data, timeout=120)
        finally:
            self.procs.discard(proc)
        return proc.returncode, out, err


class FakeCommands:
    def __init__(self, box: FakeSandbox):
        self.box = box

    def run(
        self,
        cmd,
        background=None,
        envs=None,
        user=None,
        cwd=None,
        on_stdout=None,
        on_stderr=None,
        stdin=None,
        timeout=60,
        request_timeout=None,
        *,
        retain_output=True,
    ) -> CommandResult:
        box = self.box
        box.alive()
        box.service.record("command", sandbox=box.sandbox_id, user=user or "user", cmd=cmd, envs=envs, cwd=cwd)
        if background:
            raise NotImplementedError("the E2B fake runs commands in the foreground only")
        deadline = time.monotonic() + timeout if timeout else None
        pipes = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        proc = box.popen(user, cwd, ["/bin/bash", "-l", "-c", cmd], envs, **pipes)
        readers = [_Reader(proc.stdout, on_stdout, retain_output), _Reader(proc.stderr, on_stderr, retain_output)]
        try:
            proc.wait(timeout=None if deadline is None else max(deadline - time.monotonic(), 0))
            for reader in readers:  # envd ends the call when the output ends, not only the process
                reader.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            pass
        finally:
            if proc.returncode is not None:
                box.procs.discard(proc)
        if proc.returncode is None or any(r.is_alive() for r in readers):
            raise TimeoutException(
                "context deadline exceeded: This error is likely due to exceeding 'timeout' — the distinct timeout "
                "for the command, which is different from the sandbox timeout"
            )
        stdout, stderr = (r.text() for r in readers)
        code, error = proc.returncode, None
        if code < 0:  # envd reports a signalled process as Go does
            code, error = -1, f"signal: {signal.Signals(-proc.returncode).name.lower().removeprefix('sig')}"
        if code != 0:
            raise CommandExitException(stdout=stdout, stderr=stderr, exit_code=code, error=error)
        return CommandResult(stdout=stdout, stderr=stderr, exit_code=0, error=None)


class FakeFilesystem:
    def __init__(self, box: FakeSandbox):
        self.box = box

    def read(self, path, format="text", user=None, request_timeout=None, gzip=False, stream_idle_timeout=None):
        if format == "stream":
            raise NotImplementedError("the E2B fake reads whole files only")
        script = 'if [ ! -e "$1" ]; then exit 44; fi; if [ -d "$1" ]; then exit 45; fi; exec cat -- "$1"'
        code, out, err = self.box.run_argv(user, ["/bin/sh", "-c", script, "sh", path])
        if code == 44:
            raise FileNotFoundException(f"path '{path}' does not exist")
        if code != 0:
            raise SandboxException(f"cannot read '{path}': {err.decode(errors='replace').strip() or 'a directory'}")
        return out.decode("utf-8", errors="replace") if format == "text" else bytearray(out)

    def write(
        self, path, data, user=None, request_timeout=None, gzip=False, use_octet_stream=None, metadata=None
    ) -> WriteInfo:
        payload = _as_bytes(data)
        box = self.box
        box.service.record("write", sandbox=box.sandbox_id, path=path, user=user or "user", data=payload)
        script = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"'
        code, _, err = box.run_argv(user, ["/bin/sh", "-c", script, "sh", path], payload)
        if code != 0:
            raise SandboxException(f"cannot write '{path}': {err.decode(errors='replace').strip()}")
        return WriteInfo(name=PurePosixPath(path).name, type=FileType.FILE, path=path)

    def get_info(self, path, user=None, request_timeout=None) -> EntryInfo:
        script = 'stat -c "%F|%s|%f|%A|%U|%G|%Y" -- "$1" && { ! [ -L "$1" ] || readlink -- "$1"; }'
        code, out, err = self.box.run_argv(user, ["/bin/sh", "-c", script, "sh", path])
        if code != 0:
            if b"No such file" in err:
                raise FileNotFoundException(f"path '{path}' does not exist")
            raise SandboxException(f"cannot stat '{path}': {err.decode(errors='replace').strip()}")
        stat, _, target = out.decode().partition("\n")
        kind, size, mode, permissions, owner, group, mtime = stat.split("|")
        types = {"directory": FileType.DIR, "symbolic link": FileType.SYMLINK}
        return EntryInfo(
            name=PurePosixPath(path).name,
            type=types.get(kind, FileType.FILE),
            path=path,
            size=int(size),
            mode=int(mode, 16) & 0o7777,
            permissions=permissions,
            owner=owner,
            group=group,
            modified_time=datetime.fromtimestamp(int(mtime), UTC),
            symlink_target=target.strip() if kind == "symbolic link" else None,
        )


class FakeSnapshotPaginator:
    def __init__(self, items: list[SnapshotInfo]):
        self._items = items
        self.has_next = True

    def next_items(self, **opts) -> list[SnapshotInfo]:
        if not self.has_next:
            raise Exception("No more items to fetch")
        self.has_next = False
        return self._items


class _Reader(threading.Thread):
    """Drains one output stream, decoding as envd's client does, feeding the callback, keeping it if asked."""

    def __init__(self, stream, callback, retain: bool):
        super().__init__(daemon=True)
        self.stream, self.callback = stream, callback
        self.chunks: list[str] | None = [] if retain else None
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.start()

    def run(self) -> None:
        while data := self.stream.read1(65536):
            self._emit(self.decoder.decode(data))
        self._emit(self.decoder.decode(b"", final=True))

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self.chunks is not None:
            self.chunks.append(text)
        if self.callback:
            self.callback(text)

    def text(self) -> str | None:
        return None if self.chunks is None else "".join(self.chunks)


def _as_bytes(data) -> bytes:
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, io.IOBase) or hasattr(data, "read"):
        content = data.read()
        return content.encode() if isinstance(content, str) else content
    return b"".join(data)


def _base_files(fs: Path, uid: int) -> None:
    """The `base` template: an empty system with root's and `user`'s homes and a /tmp."""
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if Path("/", name).is_symlink():
            (fs / name).parent.mkdir(parents=True, exist_ok=True)
            (fs / name).symlink_to(os.readlink(Path("/", name)))
    (fs / "tmp").mkdir(parents=True)
    (fs / "tmp").chmod(0o1777)
    (fs / "root").mkdir(mode=0o700)
    (fs / "home" / "user").mkdir(parents=True)
    os.chown(fs / "home" / "user", uid, uid)


def _write_users(home: Path, uid: int) -> None:
    """The sandbox's /etc/passwd and /etc/group: this machine's, with `user` as this sandbox's uid."""
    for name, line in (("passwd", f"user:x:{uid}:{uid}::/home/user:/bin/bash"), ("group", f"user:x:{uid}:")):
        kept = [x for x in Path("/etc", name).read_text().splitlines() if not x.startswith("user:")]
        (home / name).write_text("\n".join([*kept, line]) + "\n")


def _reown(fs: Path, old: int, new: int) -> None:
    """What belonged to the snapshot's `user` belongs to this sandbox's (symlinks themselves, never followed)."""
    paths = [fs]
    for folder, dirs, files in os.walk(fs):
        paths += [Path(folder, name) for name in dirs + files]
    for path in paths:
        info = path.lstat()
        if old in (info.st_uid, info.st_gid):
            uid = new if info.st_uid == old else info.st_uid
            gid = new if info.st_gid == old else info.st_gid
            os.lchown(path, uid, gid)


def _kill_group(pid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill_uid(uid: int) -> None:
    for entry in Path("/proc").iterdir():
        with suppress(ProcessLookupError, FileNotFoundError, PermissionError):
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                os.kill(int(entry.name), signal.SIGKILL)
