"""Benchmark: what the judge costs per candidate, against running the same tests bare.

Goal: judge wall time for N candidates / (N x one bare test run) <= 1.3, for N = 1, 4, 8. The task
is prepared once (mirror, pristine checkout) and every evaluation is an overlay of it, so the judge
should pay little beyond the test runs themselves.

Measured in one run, on a generated Python repository whose unittest suite takes a deterministic
~1.35 s (40 tests, 36 of them sleeping 0.02-0.05 s; --quick: 20 tests, ~0.65 s), with a bug one F2P
test exposes (`add` subtracts). Candidates are N patches made with `git diff` in a scratch clone:
the real fix, and variants of it that also add a comment line (so no two are identical).
  * judge: Judge(spec, backend, prepared, ...).run(candidates) on the local (bubblewrap) backend with
    `judge: {cross_validate: false, max_parallel: <cores>}` and no reviewer; the timer is around
    the Judge constructor and run(), the one-off prepare is outside it (done before, shared).
    A subclass records timestamps of the baseline, of each evaluation and of every sandboxed
    command (which command, how long), so the table can say where the time goes.
  * bare run (denominator): `python3 -m unittest discover -s tests -t .` (the task's test command)
    in a fresh sandbox of the same backend (backend.create, then sandbox.execute). Same backend, not
    a host subprocess, because the judge can only ever run tests in sandboxes: this ratio isolates
    the judge's own overhead (baseline, git apply, junit adapter, report parsing, thread pool) from
    the price of isolation, which benchmarks/provision.py measures. The same command as a host
    subprocess in a clone is printed too, for reference. The denominator is N x the median of
    several bare runs interleaved with the judge runs (same process, same machine state).
How to read the ratio: the judge runs the baseline (the suite at base) beside the N evaluations,
at most `max_parallel` (= cores) at a time, while the denominator is N runs one after another. A
ratio below 1 is parallelism paying for the overhead; above 1 is overhead that parallelism did not
cover. N = 1 shows the fixed cost most plainly: the baseline and the one evaluation share the cores.
Each N runs 3 times (1 with --quick); the verdict takes the worst per-N median ratio.
Everything lives in one temporary directory (ARENA_DATA_DIR points into it), deleted at the end.
Run: .venv/bin/python benchmarks/evaluation.py [--quick]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

GOAL = 1.3
GIT_ID = ["-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
TEST_COMMAND = "python3 -m unittest discover -s tests -t ."
F2P = "tests/test_ops.py::TestOps::test_add"
OPS = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n\n\ndef neg(a):\n    return -a\n"
TEST_OPS = """import unittest

from calc.ops import add, mul, neg


class TestOps(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_mul(self):
        self.assertEqual(mul(2, 3), 6)

    def test_neg(self):
        self.assertEqual(neg(2), -2)

    def test_mul_zero(self):
        self.assertEqual(mul(7, 0), 0)
"""


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path, n_tests: int) -> tuple[str, list[str]]:
    """calc/ops.py with the bug, tests/test_ops.py (4 fast tests), then n_tests - 4 slow tests, 8 per file.

    Slow test i sleeps 0.02 + 0.01 * (i % 4) s (0.035 s on average). Returns (sha, P2P ids).
    """
    files = {"calc/__init__.py": "", "calc/ops.py": OPS, "tests/__init__.py": "", "tests/test_ops.py": TEST_OPS}
    p2p = [f"tests/test_ops.py::TestOps::{t}" for t in ("test_mul", "test_neg", "test_mul_zero")]
    slow: dict[int, list[str]] = {}
    for i in range(n_tests - 4):
        k = i // 8
        lines = slow.setdefault(k, ["import time", "import unittest", "", "from calc.ops import mul", "", ""])
        if len(lines) == 6:
            lines.append(f"class TestSlow{k}(unittest.TestCase):")
        lines += [
            f"    def test_case_{i}(self):",
            f"        time.sleep({0.02 + 0.01 * (i % 4):.2f})",
            f"        self.assertEqual(mul({i}, {k + 1}), {i * (k + 1)})",
            "",
        ]
        p2p.append(f"tests/test_slow_{k}.py::TestSlow{k}::test_case_{i}")
    files |= {f"tests/test_slow_{k}.py": "\n".join(lines) for k, lines in slow.items()}
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git("init", "-q", "-b", "main", cwd=path)
    git("add", "-A", cwd=path)
    git(*GIT_ID, "commit", "-qm", "initial", cwd=path)
    return git("rev-parse", "HEAD", cwd=path).strip(), p2p


def make_patches(repo: Path, scratch: Path, n: int) -> list[str]:
    """The fix, then the fix plus a comment line `# variant i`: N different patches that all resolve."""
    git("clone", "-q", str(repo), str(scratch), cwd=repo.parent)
    ops = scratch / "calc" / "ops.py"
    patches = []
    for i in range(n):
        text = OPS.replace("return a - b", "return a + b")
        ops.write_text(text if i == 0 else text + f"\n\n# variant {i}\n")
        patches.append(git("diff", cwd=scratch))
    git("checkout", "-q", "--", ".", cwd=scratch)
    return patches


def timed_judge_class(judge_cls):
    """Judge with timestamps: the baseline, each evaluation, and every sandboxed command."""

    class Timed(judge_cls):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.marks: dict = {"baseline": None, "evals": [], "commands": [], "creates": []}
            self.lock = threading.Lock()

        def _sandbox(self, label: str):
            start = time.perf_counter()
            box = super()._sandbox(label)
            with self.lock:
                self.marks["creates"].append(time.perf_counter() - start)
            marks, lock, execute = self.marks, self.lock, box.execute

            def traced(command: str, timeout: float | None = None):
                t0 = time.perf_counter()
                result = execute(command, timeout)
                kind = "apply" if command.startswith("git apply") else "tests" if "unittest" in command else "other"
                with lock:
                    marks["commands"].append((label, kind, t0, time.perf_counter()))
                return result

            box.execute = traced
            return box

        def _baseline(self, bench):
            start = time.perf_counter()
            try:
                return super()._baseline(bench)
            finally:
                self.marks["baseline"] = (start, time.perf_counter())

        def _test(self, bench, c):
            start = time.perf_counter()
            try:
                return super()._test(bench, c)
            finally:
                with self.lock:
                    self.marks["evals"].append((c.name, start, time.perf_counter()))

    return Timed


def run_judge(ctx: dict, n: int, label: str) -> dict:
    from arena.judging.judge import Candidate

    candidates = [Candidate(name=f"fix-{i:02d}", patch=p) for i, p in enumerate(ctx["patches"][:n])]
    start = time.perf_counter()
    judge = ctx["judge_cls"](ctx["spec"], ctx["backend"], ctx["prepared"], f"bench-{label}", ctx["tmp"] / label)
    result = judge.run(candidates)
    end = time.perf_counter()
    resolved, baseline = result.coverage.resolved, result.judge.baseline
    if result.winner is None or resolved != n or baseline is None or baseline.failing != [F2P]:
        raise SystemExit(f"judge {label}: winner {result.winner}, resolved {resolved}/{n}, baseline {baseline}")
    m = judge.marks
    b0, b1 = m["baseline"]
    evals = m["evals"]
    tests = [c for c in m["commands"] if c[1] == "tests" and c[0] != "baseline"]
    applies = [c for c in m["commands"] if c[1] == "apply"]
    eval_s = [e - s for _, s, e in evals]
    return {
        "judge": end - start,
        "baseline": b1 - b0,
        "eval_phase": max(e for _, _, e in evals) - min(s for _, s, _ in evals),
        "outside": (end - start) - (max(b1, *(e for _, _, e in evals)) - min(b0, *(s for _, s, _ in evals))),
        "eval": statistics.mean(eval_s),
        "eval_tests": statistics.mean(e - s for *_, s, e in tests),
        "eval_apply_ms": statistics.mean(e - s for *_, s, e in applies) * 1000,
        "eval_other_ms": statistics.mean(
            d - sum(e - s for lab, _, s, e in m["commands"] if lab == f"eval-{name}")
            for (name, _, _), d in zip(evals, eval_s, strict=True)
        )
        * 1000,
        "create_ms": statistics.mean(m["creates"]) * 1000,
    }


def bare_sandbox_run(ctx: dict, i: int) -> float:
    from arena.sandboxes import sandbox_uid

    label = f"bare-{i}"
    start = time.perf_counter()
    box = ctx["backend"].create(ctx["prepared"], ctx["tmp"] / "bare" / label, sandbox_uid("bench-bare", label))
    try:
        result = box.execute(TEST_COMMAND)
    finally:
        box.close()
    seconds = time.perf_counter() - start
    check_bare(result.output, ctx["n_tests"], f"sandbox {label}")
    return seconds


def bare_host_run(ctx: dict) -> float:
    start = time.perf_counter()
    argv = [ctx["python3"], *TEST_COMMAND.split()[1:]]
    proc = subprocess.run(argv, cwd=ctx["clone"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    check_bare(proc.stdout + proc.stderr, ctx["n_tests"], "host")
    return seconds


def check_bare(output: str, n_tests: int, where: str) -> None:
    """At base exactly the F2P test fails: the whole suite ran."""
    if f"Ran {n_tests} tests" not in output or "FAILED (failures=1)" not in output:
        raise SystemExit(f"bare run ({where}) did not run the suite as expected:\n{output[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 4, a 20-test suite, one judge run each")
    args = parser.parse_args()
    sizes, n_tests, repeats, bare_per_round = ([1, 4], 20, 1, 3) if args.quick else ([1, 4, 8], 40, 3, 2)
    cores = os.cpu_count() or 2

    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-evaluation-"))
    os.environ["ARENA_DATA_DIR"] = str(tmp / "data")
    os.environ.pop("ARENA_DATABASE_URL", None)
    os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
    from arena.config import Settings
    from arena.judging.judge import Judge
    from arena.sandboxes import RepoCache, get_backend
    from arena.sandboxes.local import SANDBOX_PATH
    from arena.spec import spec_from_dict

    try:
        repo = tmp / "repo"
        sha, p2p = make_repo(repo, n_tests)
        patches = make_patches(repo, tmp / "scratch", max(sizes))
        raw = {
            "task": {
                "repo": str(repo),
                "title": "add() subtracts",
                "problem_statement": "add(2, 3) returns -1; it must return 5.",
                "test_command": TEST_COMMAND,
                "fail_to_pass": [F2P],
                "pass_to_pass": p2p,
            },
            "contestants": [{"name": "c0", "model": "scripted:steps.yaml"}],
            "sandbox": {"backend": "local"},
            "judge": {"cross_validate": False, "max_parallel": cores, "test_timeout_s": 120},
        }
        spec = spec_from_dict(raw, base_dir=tmp)
        backend = get_backend(spec.sandbox, RepoCache(Settings.from_env().cache_dir))
        backend.check_available()
        start = time.perf_counter()
        prepared = backend.prepare(spec.task.repo, sha, None, tmp / "data" / "setup.log")
        prepare_ms = (time.perf_counter() - start) * 1000
        ctx = {
            "tmp": tmp,
            "spec": spec,
            "backend": backend,
            "prepared": prepared,
            "patches": patches,
            "n_tests": n_tests,
            "clone": tmp / "scratch",
            "python3": shutil.which("python3", path=SANDBOX_PATH) or "python3",  # the sandbox's interpreter
            "judge_cls": timed_judge_class(Judge),
        }
        print(
            f"{n_tests} unittest tests ({n_tests - 4} sleeping 0.02-0.05 s), local sandbox, "
            f"judge max_parallel = {cores} (cores), cross_validate off, no reviewer; one-off prepare {prepare_ms:.0f} ms"
        )
        bare_sandbox_run(ctx, -1)  # warm-up: page cache, first bwrap; not counted
        run_judge(ctx, 1, "cold")  # warm-up: first judge (imports on first use); not counted
        bare, host, rows = [], [], {n: [] for n in sizes}
        for r in range(repeats):
            for _ in range(bare_per_round):
                bare.append(bare_sandbox_run(ctx, len(bare)))
                host.append(bare_host_run(ctx))
            for n in sizes:
                rows[n].append(run_judge(ctx, n, f"n{n}-r{r}"))
        one = statistics.median(bare)
        print(
            f"one bare run (median of {len(bare)}): sandbox {one:.3f} s (min-max {min(bare):.3f}-{max(bare):.3f}), "
            f"host subprocess ({ctx['python3']}, in a clone) {statistics.median(host):.3f} s\n"
        )
        print(f"per N (medians over {repeats} judge run(s)); ratio = judge s / bare N-run s\n")
        header = (
            f"{'N':>3} | {'judge s':>7} | {'bare N-run s':>12} | {'ratio':>5} | "
            f"{'baseline s':>10} | {'eval phase s':>12} | {'mean eval s':>11} | {'eval tests s':>12} | "
            f"{'apply ms':>8} | {'create ms':>9} | {'other ms':>8} | {'outside ms':>10}"
        )
        print(header)
        print("-" * len(header))
        worst = 0.0
        for n in sizes:
            rs = rows[n]

            def med(key: str, rs=rs) -> float:
                return statistics.median(r[key] for r in rs)

            denominator = n * one
            ratio = statistics.median(r["judge"] / denominator for r in rs)
            fixed = statistics.median(r["outside"] * 1000 for r in rs)
            worst = max(worst, ratio)
            print(
                f"{n:>3} | {med('judge'):>7.3f} | {denominator:>12.3f} | {ratio:>5.2f} | "
                f"{med('baseline'):>10.3f} | {med('eval_phase'):>12.3f} | {med('eval'):>11.3f} | "
                f"{med('eval_tests'):>12.3f} | {med('eval_apply_ms'):>8.0f} | {med('create_ms'):>9.1f} | "
                f"{med('eval_other_ms'):>8.0f} | {fixed:>10.0f}"
            )
        print(
            "\nbaseline s = the suite at base, beside the evaluations; eval phase = first evaluation start ->"
            "\nlast end (parallel, <= max_parallel at once); mean eval = one evaluation (sandbox, git apply, tests,"
            "\nreport); eval tests = its test command alone; apply = its `git apply`; create = backend.create;"
            "\nother = eval minus its sandboxed commands (create, uploads, report parsing); outside = judge time"
            "\nwhen neither the baseline nor an evaluation runs (Workbench, ls-tree, scoring, ranking)."
        )
        verdict = "PASS" if worst <= GOAL else "FAIL"
        note = " [--quick: a ~0.6 s suite magnifies the fixed cost; judge by the full run]" if args.quick else ""
        print(f"VERDICT: {verdict}: worst median judge/bare-N-run ratio {worst:.2f} (goal <= {GOAL}){note}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
