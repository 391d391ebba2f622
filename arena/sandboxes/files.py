"""Moving files in and out of a sandbox through its private /tmp, without following its symlinks.

Whatever runs in a sandbox can plant a symlink in its /tmp pointing at a host file; the host
(root) must never write or read through one.
"""

import os
from pathlib import Path

from arena.errors import SandboxError

_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def _inside(tmp_dir: Path, name: str) -> Path:
    path = tmp_dir / name
    if ".." in Path(name).parts or Path(name).is_absolute():
        raise SandboxError(f"sandbox file name {name!r} must be relative to its /tmp")
    for parent in reversed(path.relative_to(tmp_dir).parents):
        p = tmp_dir / parent
        if p.is_symlink():
            raise SandboxError(f"{p} is a symlink; refusing to follow it out of the sandbox")
    return path


def write_into(tmp_dir: Path, name: str, data: bytes, uid: int | None) -> None:
    path = _inside(tmp_dir, name)
    for parent in reversed(path.relative_to(tmp_dir).parents[:-1]):
        d = tmp_dir / parent
        if not d.exists():
            d.mkdir()
            if uid is not None and os.geteuid() == 0:
                os.chown(d, uid, uid)
    if path.is_symlink() or path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class FileTooLarge(SandboxError):
    """A sandbox file bigger than the caller's limit; nothing of it was read."""

    def __init__(self, name: str, size: int, limit: int):
        super().__init__(f"sandbox file {name} is {size} bytes, more than the {limit} bytes allowed")
        self.size = size
        self.limit = limit


def read_from(tmp_dir: Path, name: str, limit: int = 50_000_000) -> bytes | None:
    """The file's bytes, or None if it is missing, a symlink or not a regular file.

    Raises FileTooLarge rather than return a cut file: a truncated patch or report looks valid and is not.
    """
    path = _inside(tmp_dir, name)
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not os.path.stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > limit:
            raise FileTooLarge(name, info.st_size, limit)
        data = f.read(limit + 1)  # the sandbox may still be writing to it
        if len(data) > limit:
            raise FileTooLarge(name, len(data), limit)
        return data
