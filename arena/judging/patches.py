"""What a patch touches: files (added / modified / deleted), line counts, and which are tests."""

import re
from dataclasses import dataclass, field
from pathlib import Path

TEST_FILE = re.compile(
    r"(^|/)(tests?|testing)/.+"  # anything under a tests/ folder
    r"|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$"  # Python
    r"|_test\.go$|\.(test|spec)\.[jt]sx?$"  # Go, JavaScript / TypeScript
)


def read_patch(path: Path) -> str:
    """A patch file as text that round-trips its exact bytes (non-UTF-8 content survives via surrogateescape)."""
    return path.read_bytes().decode("utf-8", "surrogateescape")


def patch_bytes(patch: str) -> bytes:
    return patch.encode("utf-8", "surrogateescape")


def is_test_file(path: str) -> bool:
    return bool(TEST_FILE.search(path))


@dataclass
class FileChange:
    path: str
    status: str
    """added | modified | deleted | renamed"""
    old_path: str | None = None


@dataclass
class PatchInfo:
    files: list[FileChange] = field(default_factory=list)
    added_lines: int = 0
    removed_lines: int = 0

    @property
    def empty(self) -> bool:
        return not self.files

    @property
    def diff_lines(self) -> int:
        return self.added_lines + self.removed_lines

    def touched_existing(self, existing: set[str]) -> list[str]:
        """Existing files (of `existing`) this patch edits, deletes or renames away."""
        out = []
        for f in self.files:
            if f.status in ("modified", "deleted") and f.path in existing:
                out.append(f.path)
            elif f.status == "renamed" and f.old_path in existing:
                out.append(f.old_path)
        return sorted(set(out))

    def new_files(self) -> list[str]:
        return [f.path for f in self.files if f.status in ("added", "renamed")]


def parse_patch(text: str) -> PatchInfo:
    """Read a `git diff` (as produced by sandboxes) without applying it."""
    info = PatchInfo()
    current: FileChange | None = None
    in_hunk = False
    for line in text.splitlines():
        if line.startswith("diff --git "):
            m = re.match(r"diff --git a/(.+?) b/(.+)$", line)
            current = FileChange(path=m[2] if m else line[11:], status="modified")
            info.files.append(current)
            in_hunk = False
        elif current is None:
            continue
        elif line.startswith("new file mode"):
            current.status = "added"
        elif line.startswith("deleted file mode"):
            current.status = "deleted"
        elif line.startswith("rename from "):
            current.status, current.old_path = "renamed", line[12:]
        elif line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            info.added_lines += 1
        elif in_hunk and line.startswith("-"):
            info.removed_lines += 1
    return info
