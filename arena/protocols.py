"""The seams of Agent Arena, as typing.Protocols. Implementations are plain classes elsewhere."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

TestCommand = str | Callable[[Path], str | None] | None
"""A test command, or a function that detects one in a checkout (before setup), or none."""


@dataclass
class ExecResult:
    """What one command did. A failed command is data, never an exception."""

    output: str
    returncode: int
    duration_s: float = 0.0
    truncated_bytes: int = 0
    """Bytes of output dropped to stay within the sandbox's output limit."""
    timed_out: bool = False
    cancelled: bool = False
    exception_info: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class PreparedTask:
    """A repository at a base commit, set up once and shared read-only by every sandbox of an arena."""

    repo: str
    base_sha: str
    checkout: Path
    """Pristine checkout on the host (never written after setup)."""
    setup_command: str | None = None
    setup_log: str = ""
    diff_base: str = ""
    """Tree patches are taken against: the base commit plus what setup changed in tracked files."""

    def __post_init__(self) -> None:
        self.diff_base = self.diff_base or self.base_sha


class Sandbox(Protocol):
    """One contestant's private workspace at the base commit."""

    workdir: str
    """Where the repository is, as commands inside the sandbox see it."""

    def execute(self, command: str, timeout: float | None = None) -> ExecResult: ...

    def diff(self) -> bytes:
        """Patch of the workspace against the base (after setup), new files included; git apply-able bytes."""
        ...

    def upload(self, name: str, data: bytes) -> str:
        """Put a file in the sandbox's private /tmp; returns its path as commands see it."""
        ...

    def download(self, name: str) -> bytes | None:
        """A file from the sandbox's private /tmp (None if missing or not a regular file)."""
        ...

    def cancel(self) -> None:
        """Kill the running command (if any) and refuse further commands."""
        ...

    def close(self) -> None: ...


class SandboxBackend(Protocol):
    """Makes sandboxes: checks the machine, prepares a task once, then one sandbox per contestant."""

    name: str

    def check_available(self) -> None:
        """Raise SandboxUnavailable, saying how to fix it, if this backend cannot run here."""
        ...

    def prepare(
        self, repo: str, base_sha: str, setup_command: str | None, log_path: Path, test_command: "TestCommand" = None
    ) -> PreparedTask:
        """The pristine checkout after setup, once per (repo, base, setup); cheap on reuse.

        `test_command`: what the judge will run, or a function that finds it in the checkout; a backend makes
        sure its runner (e.g. pytest) is there before the checkout is shared.
        """
        ...

    def create(self, prepared: PreparedTask, root: Path, uid: int, mounts: Sequence[tuple[Path, str]] = ()) -> Sandbox:
        """A fresh sandbox whose private state lives under `root`; `uid` is unique among live sandboxes.

        `mounts`: host paths shown read-only inside the sandbox at the given absolute paths (under /arena/, see
        arena.sandboxes.local.check_mounts), e.g. a CLI runner's tools and the LLM gateway's socket directory.
        """
        ...
