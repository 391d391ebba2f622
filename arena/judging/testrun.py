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

from arena.protocols import Sandbox

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
    """The exit code agrees with the report (0 exactly when nothing failed)."""
    output_tail: str = ""

    @property
    def ok(self) -> bool:
        """The whole run passed, by exit code and report together."""
        return self.returncode == 0 and not self.timed_out and self.consistent

    def outcome(self, test_id: str) -> str:
        """passed | failed | error | skipped | missing (not in the report)."""
        key = normalize_test_id(test_id)
        for name, outcome in self.results.items():
            if normalize_test_id(name) == key:
                return outcome
        return "missing"

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

    def suite(self, junit: str) -> str:
        if self.kind == "pytest":
            return f"{self.command} --junitxml={junit} -o junit_family=xunit1 -p no:cacheprovider"
        if self.kind == "unittest":
            m = UNITTEST.match(self.command)
            return f"{m['pre']}{m['py']} /tmp/{JUDGE_TMP}/unittest_junit.py --junit {junit}{m['args']}"
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


def runner_for(command: str) -> Runner:
    if PYTEST.search(command):
        return Runner(command, "pytest")
    if UNITTEST.match(command):
        return Runner(command, "unittest")
    return Runner(command, "opaque")


def run_tests(sandbox: Sandbox, runner: Runner, timeout: float, files: list[str] | None = None) -> TestRun:
    """Run the suite (or `files`) in `sandbox` and read its report."""
    if runner.kind == "unittest":
        sandbox.upload(f"{JUDGE_TMP}/unittest_junit.py", ADAPTER.read_bytes())
    name = f"{JUDGE_TMP}/junit-{secrets.token_hex(6)}.xml"
    command = runner.suite(f"/tmp/{name}") if files is None else runner.files(files, f"/tmp/{name}")
    result = sandbox.execute(command, timeout=timeout)
    run = TestRun(
        command=command,
        returncode=result.returncode,
        timed_out=result.timed_out,
        duration_s=result.duration_s,
        output_tail=result.output[-3000:],
    )
    report = sandbox.download(name)
    if report is not None and runner.kind != "opaque":
        try:
            run.results = parse_junit(report)
            run.parsed = True
        except ET.ParseError:
            run.parsed = False
    if run.parsed:
        nothing_failed = not run.failing()
        run.consistent = (run.returncode == 0) == (nothing_failed and bool(run.results))
    elif runner.kind != "opaque":
        run.consistent = False  # the runner should have written a report; without it, trust nothing
    return run


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
    """One key for pytest ids (a/b.py::C::t), dotted ids (a.b.C.t) and Django's `t (a.b.C)`."""
    test_id = test_id.strip()
    if m := re.fullmatch(r"(\S+) \(([\w.]+)\)", test_id):
        test_id = f"{m[2]}.{m[1]}"
    head, sep, params = test_id.partition("[")
    key = head.replace(".py::", ".").replace("::", ".").replace("/", ".").removesuffix(".py")
    return key + sep + params
