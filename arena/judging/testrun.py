"""Running a repository's tests in a sandbox and reading per-test results we can trust.

Results come from a junit XML report (pytest's own, or our unittest adapter's), never from the
printed output, and are cross-checked against the process exit code: a run whose exit code
disagrees with its report is `inconsistent` and counts as failed.
"""

import re
import secrets
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from arena.judging.integrity import Sentinel
from arena.protocols import Sandbox
from arena.sandboxes.files import FileTooLarge

JUDGE_TMP = ".arena-judge"
ADAPTER = Path(__file__).with_name("unittest_junit.py")
PYTEST = re.compile(r"(?:^|[\s/;&|])(?:py\.test|pytest)(?=\s|$)|-m\s+pytest(?=\s|$)")
UNITTEST = re.compile(r"^(?P<pre>.*?)(?P<py>\S*python[\d.]*)\s+-m\s+unittest(?P<args>(?:\s.*)?)$")


class TestRun(BaseModel):
    """One run of (part of) a test suite."""

    __test__ = False  # not a pytest test class

    command: str
    returncode: int
    timed_out: bool = False
    duration_s: float = 0.0
    results: dict[str, str] = {}
    """Test id -> passed | failed | error | skipped, from the junit report."""
    parsed: bool = False
    """A report was found and read; without it only the exit code speaks."""
    consistent: bool = True
    """The exit code agrees with the report (0 exactly when nothing failed, sentinels included)."""
    start_error: str = ""
    """Why the test command could not start (runner missing, collection error), with its own error line."""
    sentinels: dict[str, str] | None = None
    """Sentinel role -> outcome (`missing` when not in the report); None when no sentinel was added.
    Sentinel tests are kept out of `results`."""
    output_tail: str = ""

    @property
    def ok(self) -> bool:
        """The whole run passed, by exit code and report together."""
        if self.timed_out or not self.consistent or self.start_error:
            return False
        if self.sentinels is not None and self.parsed:  # a must-fail sentinel makes the exit code non-zero
            return bool(self.results) and not self.failing()
        return self.returncode == 0

    def outcome(self, test_id: str) -> str:
        """passed | failed | error | skipped | missing (not in the report)."""
        key = normalize_test_id(test_id)
        inside = []
        for name, outcome in self.results.items():
            other = normalize_test_id(name)
            if other == key:
                return outcome
            if other.startswith((f"{key}.", f"{key}[")):
                inside.append(outcome)
        # A module, class or unparametrized id stands for its tests (pytest names a collection error by module).
        worst = ("error", "failed", "skipped", "passed")
        return next((o for o in worst if o in inside), "missing")

    def failing(self) -> set[str]:
        return {t for t, o in self.results.items() if o in ("failed", "error")}

    def passing(self) -> set[str]:
        return {t for t, o in self.results.items() if o == "passed"}


@dataclass(frozen=True)
class Runner:
    """Turns the task's test command into commands that also write a junit report."""

    command: str
    kind: str
    """pytest | unittest | opaque (any other command: exit code only)."""
    names_paths: bool = False
    """The pytest command lists what to collect: a sentinel file must be listed too."""

    def suite(self, junit: str, sentinel: str | None = None) -> str:
        if self.kind == "pytest":
            command = f"{self.command} --junitxml={junit} -o junit_family=xunit1 -p no:cacheprovider"
            if sentinel:  # -x would stop at the must-fail sentinel: every test must run anyway to be judged
                command += f" --maxfail=0{' ' + shlex.quote(sentinel) if self.names_paths else ''}"
            return command
        if self.kind == "unittest":
            m = UNITTEST.match(self.command)
            extra = f" --sentinel {shlex.quote(sentinel)}" if sentinel else ""
            return f"{m['pre']}{m['py']} /tmp/{JUDGE_TMP}/unittest_junit.py --junit {junit}{extra}{m['args']}"
        return self.command

    def files(self, files: list[str], junit: str) -> str | None:
        """Run only these test files (cross-validation); None if the runner cannot select files."""
        quoted = " ".join(shlex.quote(f) for f in files)
        if self.kind == "pytest":
            head = self.command[: PYTEST.search(self.command).end()]
            return f"{head} -q {quoted} --junitxml={junit} -o junit_family=xunit1 -p no:cacheprovider"
        if self.kind == "unittest":
            m = UNITTEST.match(self.command)
            modules = " ".join(shlex.quote(f.removesuffix(".py").replace("/", ".")) for f in files)
            return f"{m['pre']}{m['py']} /tmp/{JUDGE_TMP}/unittest_junit.py --junit {junit} {modules}"
        return None


def runner_for(command: str, checkout: Path | None = None) -> Runner:
    if m := PYTEST.search(command):
        return Runner(
            command, "pytest", names_paths=checkout is not None and _names_paths(command[m.end() :], checkout)
        )
    if UNITTEST.match(command):
        return Runner(command, "unittest")
    return Runner(command, "opaque")


def _names_paths(args: str, checkout: Path) -> bool:
    """Does a pytest command line name files or folders of the repository (then only those are collected)?"""
    try:
        words = shlex.split(args)
    except ValueError:
        return False
    return any(not w.startswith("-") and (checkout / w.split("::")[0]).exists() for w in words)


def run_tests(
    sandbox: Sandbox, runner: Runner, timeout: float, files: list[str] | None = None, sentinel: Sentinel | None = None
) -> TestRun:
    """Run the suite (or `files`) in `sandbox` and read its report; `sentinel` is already in the sandbox."""
    if runner.kind == "unittest":
        sandbox.upload(f"{JUDGE_TMP}/unittest_junit.py", ADAPTER.read_bytes())
    name = f"{JUDGE_TMP}/junit-{secrets.token_hex(6)}.xml"
    at = sentinel.path if sentinel else None
    command = runner.suite(f"/tmp/{name}", at) if files is None else runner.files(files, f"/tmp/{name}")
    result = sandbox.execute(command, timeout=timeout)
    run = TestRun(
        command=command,
        returncode=result.returncode,
        timed_out=result.timed_out,
        duration_s=result.duration_s,
        output_tail=result.output[-3000:],
    )
    try:
        report = sandbox.download(name)
    except FileTooLarge:  # code under test can bloat the report: untrusted, like a missing one, never a judge crash
        report = None
    if report is not None and runner.kind != "opaque":
        try:
            run.results = parse_junit(report)
            run.parsed = True
        except ET.ParseError:
            run.parsed = False
    if run.parsed:
        nothing_failed = not run.failing()
        run.consistent = (run.returncode == 0) == (nothing_failed and bool(run.results))
        if sentinel is not None:
            run.results, run.sentinels = split_sentinels(run.results, sentinel)
    elif runner.kind != "opaque":
        run.consistent = False  # the runner should have written a report; without it, trust nothing
    if not run.timed_out and (runner.kind != "opaque" or run.returncode in (126, 127)):  # 127: command not found
        run.start_error = start_failure(runner.kind, run.returncode, run.output_tail, run.parsed, len(run.results))
    return run


def split_sentinels(results: dict[str, str], sentinel: Sentinel) -> tuple[dict[str, str], dict[str, str]]:
    """(the task's results, sentinel role -> outcome): sentinels never count as the repository's tests."""
    outcomes = dict.fromkeys(sentinel.tests.values(), "missing")
    kept = {}
    for test_id, outcome in results.items():
        if role := sentinel.role_of(test_id):
            outcomes[role] = outcome
        else:
            kept[test_id] = outcome
    return kept, outcomes


# What says why a command could not start, most telling first (the first line matching the first pattern wins).
START_ERRORS = [
    re.compile(p)
    for p in (
        r"No module named",
        r"command not found|can't open file|No such file or directory",
        r"ERROR collecting|Error while loading conftest|ImportError while",
        r"error: ",
        r"no tests ran|NO TESTS RAN|Ran 0 tests",
        r"\w+Error\b",
    )
]


def start_failure(kind: str, returncode: int, output: str, parsed: bool, tests: int) -> str:
    """Why the test command could not start ('' when it did), with the command's own error line.

    It did not start when it failed without writing a report (runner missing, exit 127 ...), when
    pytest stopped before running anything (exit 2 on a collection error, 3, 4 usage, 5 no tests),
    or when its report holds none of the repository's tests. A run that wrote no report yet exited
    0 is not this: its exit code and report disagree, and it is judged for that.
    """
    if returncode == 0:
        return ""
    collection = kind == "pytest" and (returncode in (3, 4, 5) or (returncode == 2 and "ERROR collecting" in output))
    if parsed and tests and not collection:
        return ""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    why = next((line for p in START_ERRORS for line in lines if p.search(line)), "")
    if not why:
        why = "it ran none of the repository's tests" if parsed else (lines[-1] if lines else "no output")
    return f"the test command could not start (exit {returncode}): {why[:300]}"


def parse_junit(data: bytes) -> dict[str, str]:
    """Test id (pytest node id style: file::Class::name) -> outcome."""
    results = {}
    for case in ET.fromstring(data).iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                break
        test_id = _node_id(case.get("file") or "", case.get("classname") or "", case.get("name") or "")
        # A test reported twice (setup error + call failure) keeps its worst outcome.
        if results.get(test_id) not in ("failed", "error"):
            results[test_id] = outcome
    return results


def _node_id(file: str, classname: str, name: str) -> str:
    module = file.removesuffix(".py").replace("/", ".") if file else ""
    if module and classname.startswith(module):
        rest = classname[len(module) :].lstrip(".")
        return "::".join(p for p in (file, *rest.split("."), name) if p)
    return f"{classname}::{name}" if classname else name


def normalize_test_id(test_id: str) -> str:
    """One key for pytest ids (a/b.py::C::t), dotted ids (a.b.C.t), Django's `t (a.b.C)` and 3.11's `t (a.b.C.t)`."""
    test_id = test_id.strip()
    if m := re.fullmatch(r"(\S+) \(([\w.]+)\)", test_id):
        test_id = m[2] if m[2].endswith(f".{m[1]}") else f"{m[2]}.{m[1]}"
    head, sep, params = test_id.partition("[")
    key = head.replace(".py::", ".").replace("::", ".").replace("/", ".").removesuffix(".py")
    return key + sep + params
