"""Evaluate one patch in a fresh sandbox: apply it to the pristine base, restore the task's tests, run them.

Never in the contestant's own workspace: an agent can write anything there. The fresh sandbox is
an overlay of the same prepared checkout (setup already done), so evaluation reinstalls nothing.
"""

import shlex
from dataclasses import dataclass, field

from arena.judging.integrity import Sentinel, make_sentinel
from arena.judging.patches import PatchInfo, is_test_file, parse_patch, patch_bytes
from arena.judging.testrun import JUDGE_TMP, Runner, TestRun, run_tests
from arena.protocols import Sandbox


@dataclass
class Workbench:
    """What every evaluation of one arena shares."""

    base_sha: str
    runner: Runner
    timeout_s: float
    existing_tests: set[str]
    """Test files at the base commit: always run from their base versions."""
    test_patch: str = ""
    """SWE-bench's test patch, applied after the candidate (and its restoration)."""
    sentinel_dir: str | None = None
    """Where sentinel test files go (arena/judging/integrity.py); None: no sentinels."""


@dataclass
class Applied:
    """A candidate patch as applied in a sandbox."""

    info: PatchInfo
    applies: bool = True
    apply_error: str = ""
    tampered: list[str] = field(default_factory=list)
    """Existing test files the patch edits or deletes (restored before the tests run)."""
    dropped: list[str] = field(default_factory=list)
    """New conftest.py files the patch adds (removed: they could rewrite the task tests' results)."""


def apply_candidate(sandbox: Sandbox, bench: Workbench, patch: str, include: list[str] | None = None) -> Applied:
    """Apply `patch` (or only its `include` files) in `sandbox`, then put the task's tests back to base."""
    info = parse_patch(patch)
    applied = Applied(info=info)
    if not patch.strip():
        return applied
    path = sandbox.upload(f"{JUDGE_TMP}/candidate.patch", patch_bytes(patch))
    only = "".join(f" --include={shlex.quote(f)}" for f in include or [])
    result = sandbox.execute(f"git apply --binary --whitespace=nowarn{only} {path}", timeout=120)
    if result.returncode != 0:
        applied.applies = False
        applied.apply_error = result.output.strip()[-1000:] or f"git apply exited with {result.returncode}"
        return applied
    if include is not None:
        return applied
    applied.tampered = info.touched_existing(bench.existing_tests)
    applied.dropped = [f for f in info.new_files() if f.endswith("conftest.py")]
    restore = [f"git checkout -q {bench.base_sha} -- {shlex.quote(f)}" for f in applied.tampered]
    restore += [f"rm -f {shlex.quote(f)}" for f in applied.dropped]
    if restore:
        result = sandbox.execute(" && ".join(restore), timeout=120)
        if result.returncode != 0:
            applied.applies = False
            applied.apply_error = f"could not restore the task's tests: {result.output.strip()[-500:]}"
    return applied


def apply_test_patch(sandbox: Sandbox, bench: Workbench) -> str:
    """Apply the hidden test patch; returns an error message or ''."""
    if not bench.test_patch.strip():
        return ""
    path = sandbox.upload(f"{JUDGE_TMP}/test.patch", bench.test_patch.encode())
    result = sandbox.execute(f"git apply --binary --whitespace=nowarn {path}", timeout=120)
    return "" if result.returncode == 0 else f"the task's test_patch does not apply: {result.output.strip()[-500:]}"


def evaluate(sandbox: Sandbox, bench: Workbench, patch: str) -> tuple[Applied, TestRun | None]:
    """Apply, restore, add the test patch, run the suite. TestRun is None when the patch does not apply."""
    applied = apply_candidate(sandbox, bench, patch)
    if not applied.applies or applied.info.empty:
        return applied, None
    if error := apply_test_patch(sandbox, bench):
        applied.applies, applied.apply_error = False, error
        return applied, None
    return applied, run_suite(sandbox, bench)


def run_suite(sandbox: Sandbox, bench: Workbench) -> TestRun:
    """The whole suite, with a fresh sentinel beside the repository's tests (the baseline runs this too)."""
    sentinel = place_sentinel(sandbox, bench)
    return run_tests(sandbox, bench.runner, bench.timeout_s, sentinel=sentinel)


def place_sentinel(sandbox: Sandbox, bench: Workbench) -> Sentinel | None:
    """Write a sentinel test file into the checkout; when it cannot be written the run shows it as missing."""
    if bench.sentinel_dir is None or (sentinel := make_sentinel(bench.runner.kind, bench.sentinel_dir)) is None:
        return None
    src = sandbox.upload(f"{JUDGE_TMP}/{sentinel.path.replace('/', '_')}", sentinel.source.encode())
    folder = shlex.quote(sentinel.path.rpartition("/")[0] or ".")
    # The staged copy goes: a hijack listing the judge's folder would learn the sentinel's name.
    src, dest = shlex.quote(src), shlex.quote(sentinel.path)
    sandbox.execute(f"mkdir -p {folder} && cp -- {src} {dest}; rm -f -- {src}", timeout=60)
    return sentinel


def new_test_files(info: PatchInfo) -> list[str]:
    """Test files a candidate added: its reproduction tests, for cross-validation."""
    return [f for f in info.new_files() if is_test_file(f) and not f.endswith("conftest.py") and f.endswith(".py")]
