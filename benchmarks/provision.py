"""Benchmark: what each contestant pays to get its own workspace.

Goal: provisioning a local sandbox (LocalBackend.create on an already-prepared task) costs
<= 100 ms per contestant.

Measured in one run, on a generated git repository of 2,000 small text files in nested folders:
  * the one-off prepare (bare mirror + pristine checkout + chmod), cold and cached;
  * for N = 1, 4, 8, 16 contestants: N LocalBackend.create calls in a row -> ms per contestant,
    and N `git worktree add --detach` of the same repository (the naive alternative) -> ms per
    contestant, and their ratio worktree/overlay;
  * the first command in the first new sandbox and worktree (`git status --short | wc -l`), which
    must report 0 changes: the overlay really is a working checkout.
Everything lives in one temporary directory (ARENA_DATA_DIR points into it), deleted once at the end.
Run: .venv/bin/python benchmarks/provision.py [--quick]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 100.0
GIT_ID = ["-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
STATUS = "git status --short | wc -l"


def make_repo(path: Path, n_files: int) -> str:
    """n_files small text files spread over pkgNN/subNN/ (10 x 10 folders); returns the commit sha."""
    for i in range(n_files):
        f = path / f"pkg{i % 10:02d}" / f"sub{i // 10 % 10:02d}" / f"mod{i:05d}.py"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(f'"""Module {i}."""\n\n\ndef f{i}(x):\n    return x + {i}\n')
    (path / "README.md").write_text("benchmark repository\n")
    run = {"cwd": path, "check": True, "capture_output": True, "text": True}
    subprocess.run(["git", "init", "-q", "-b", "main"], **run)
    subprocess.run(["git", "add", "-A"], **run)
    subprocess.run(["git", *GIT_ID, "commit", "-qm", "initial"], **run)
    return subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 files, N = 1, 4 (for tests)")
    args = parser.parse_args()
    n_files, sizes = (300, [1, 4]) if args.quick else (2000, [1, 4, 8, 16])

    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-provision-"))
    os.environ["ARENA_DATA_DIR"] = str(tmp / "data")
    from arena.config import Settings
    from arena.sandboxes.local import LocalBackend
    from arena.sandboxes.repos import RepoCache
    from arena.spec import SandboxSpec

    try:
        repo = tmp / "repo"
        ms, sha = timed(make_repo, repo, n_files)
        print(f"generated repository: {n_files + 1} files in {ms:.0f} ms ({repo})")
        backend = LocalBackend(RepoCache(Settings.from_env().cache_dir), SandboxSpec())
        backend.check_available()
        log = tmp / "data" / "setup.log"
        cold_ms, prepared = timed(backend.prepare, str(repo), sha, None, log)
        warm_ms, _ = timed(backend.prepare, str(repo), sha, None, log)
        print(f"one-off prepare (mirror + pristine checkout): cold {cold_ms:.0f} ms, cached {warm_ms:.0f} ms\n")

        header = (
            f"{'N':>3} | {'overlay ms/contestant':>21} | {'worktree ms/contestant':>22} | {'worktree/overlay':>16} | "
            f"{'1st cmd overlay ms':>18} | {'1st cmd worktree ms':>19}"
        )
        print(header)
        print("-" * len(header))
        uid = 200_000
        worst = 0.0
        for n in sizes:
            roots = [tmp / "sandboxes" / f"n{n}-c{i}" for i in range(n)]
            start = time.perf_counter()
            boxes = [backend.create(prepared, root, uid + i) for i, root in enumerate(roots)]
            overlay_ms = (time.perf_counter() - start) * 1000 / n
            uid += n

            trees = [tmp / "worktrees" / f"n{n}-c{i}" for i in range(n)]
            start = time.perf_counter()
            for tree in trees:
                subprocess.run(
                    ["git", "worktree", "add", "--quiet", "--detach", str(tree), sha],
                    cwd=repo,
                    check=True,
                    capture_output=True,
                )
            worktree_ms = (time.perf_counter() - start) * 1000 / n

            cmd_ms, result = timed(boxes[0].execute, STATUS)
            if result.returncode != 0 or result.output.strip() != "0":
                print(f"overlay sandbox is broken: exit {result.returncode}, output {result.output!r}")
                return 1
            wt_ms, wt = timed(subprocess.run, ["bash", "-c", STATUS], cwd=trees[0], capture_output=True)
            if wt.returncode != 0 or wt.stdout.strip() != b"0":
                print(f"worktree is broken: output {wt.stdout!r}")
                return 1
            for box in boxes:
                box.close()
            worst = max(worst, overlay_ms)
            print(
                f"{n:>3} | {overlay_ms:>21.2f} | {worktree_ms:>22.1f} | {worktree_ms / overlay_ms:>15.0f}x | "
                f"{cmd_ms:>18.0f} | {wt_ms:>19.0f}"
            )
        print("\n(first command = `git status --short | wc -l` in a fresh workspace; both reported 0 changes)")
        verdict = "PASS" if worst <= GOAL_MS else "FAIL"
        print(
            f"VERDICT: {verdict}: worst overlay provisioning {worst:.2f} ms per contestant (goal <= {GOAL_MS:.0f} ms)"
        )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
