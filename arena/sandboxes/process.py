"""Run one process tree with a timeout that kills the whole group and an output cap."""

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path

from arena.errors import SetupFailed
from arena.protocols import ExecResult

_CHUNK = 65536


class ProcessRunner:
    """Runs commands one at a time; `kill()` from any thread ends the current one."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.cancelled = False

    def run(
        self, argv: Sequence[str], *, env: dict[str, str], cwd: str | None, timeout: float, output_limit: int
    ) -> ExecResult:
        if self.cancelled:
            return ExecResult(output="", returncode=-1, cancelled=True, exception_info="the contestant was cancelled")
        start = time.monotonic()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with self._lock:
            self._proc = proc
            if self.cancelled:  # kill() ran between the check above and now
                _kill_group(proc)
        capture = _Capture(output_limit)
        reader = threading.Thread(target=capture.drain, args=(proc.stdout,), daemon=True)
        reader.start()
        # A timer kills at the deadline while this thread blocks in waitpid: Popen.wait(timeout)
        # would poll with sleeps of up to 50 ms and make every command end late.
        expired = threading.Event()
        timer = threading.Timer(timeout, lambda: (expired.set(), _kill_group(proc)))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
            with self._lock:
                self._proc = None
        timed_out = expired.is_set()
        reader.join(timeout=5)
        output, dropped = capture.text()
        result = ExecResult(
            output=output,
            returncode=proc.returncode,
            duration_s=round(time.monotonic() - start, 3),
            truncated_bytes=dropped,
            timed_out=timed_out,
            cancelled=self.cancelled,
        )
        if timed_out:
            result.returncode = 124
            result.exception_info = f"the command timed out after {timeout:g} s; its whole process group was killed"
        elif self.cancelled:
            result.exception_info = "the contestant was cancelled while this command ran"
        return result

    def kill(self) -> None:
        """Cancel: kill the running command and refuse later ones."""
        self.cancelled = True
        with self._lock:
            if self._proc is not None:
                _kill_group(self._proc)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


class _Capture:
    """Keeps the head and the tail of the output, counts what it drops in between."""

    def __init__(self, limit: int):
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def drain(self, stream) -> None:
        while chunk := stream.read1(_CHUNK) if hasattr(stream, "read1") else stream.read(_CHUNK):
            room = self.half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                if len(self.tail) > 2 * self.half:
                    cut = len(self.tail) - self.half
                    self.dropped += cut
                    del self.tail[:cut]
        stream.close()

    def text(self) -> tuple[str, int]:
        if len(self.tail) > self.half:
            cut = len(self.tail) - self.half
            self.dropped += cut
            del self.tail[:cut]
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes of output truncated by the sandbox ...]\n{tail}", self.dropped
        return head + tail, 0


# Setup commands run inside a backend's prepare(); the coordinator that asked for them can kill them
# (cancel during setup) without the backend knowing about arenas: it tags them with this context.
setup_owner: ContextVar[str | None] = ContextVar("setup_owner", default=None)
_setups: dict[str, set[ProcessRunner]] = {}
_setups_lock = threading.Lock()


def setup_runner() -> ProcessRunner:
    """A runner for a setup command, killable by `kill_setups(owner)` while it runs."""
    runner = ProcessRunner()
    if owner := setup_owner.get():
        with _setups_lock:
            _setups.setdefault(owner, set()).add(runner)
    return runner


def kill_setups(owner: str) -> None:
    with _setups_lock:
        runners = _setups.pop(owner, set())
    for runner in runners:
        runner.kill()


def log_setup_step(log: str, script: str, result: ExecResult, log_path: Path, failed: str, shown: bool = True) -> str:
    """`log` with one setup step's output joined (written at once, so a failure keeps it); SetupFailed if it failed.

    `failed` is the error message, `{code}` its exit code; `shown=False` keeps the script out of the log.
    """
    status = f"[exit code {result.returncode}{' (timed out)' if result.timed_out else ''}]\n"
    log += (f"$ {script}\n" if shown else "") + result.output + ("\n" if shown else "")
    log += status if shown or result.returncode != 0 else ""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(log)
    if result.returncode != 0:
        raise SetupFailed(failed.format(code=result.returncode), log)
    return log
