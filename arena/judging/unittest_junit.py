"""Run unittest and write a junit XML report (uploaded into sandboxes; imports nothing from arena).

    python unittest_junit.py --junit OUT.xml [--sentinel FILE.py] [unittest arguments: discover ... | modules ...]

Test ids in the report follow pytest's xunit1 layout (file, classname, name) so one parser reads both.
Exit code 0 only when every test passed, like `python -m unittest`. The judge's sentinel file is
run after the collected tests, whatever the arguments select (once, even when discovery found it).
"""

import importlib.util
import inspect
import os
import sys
import time
import unittest
from xml.sax.saxutils import quoteattr


class JunitResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases: list[tuple[unittest.TestCase, str, str, float]] = []
        self._started = 0.0

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def _record(self, test, outcome: str, detail: str = "") -> None:
        # One case per test, keeping the worst outcome: subTest failures and the test's own result meet here.
        rank = {"passed": 0, "skipped": 1, "failure": 2, "error": 3}
        for i, (other, previous, _, seconds) in enumerate(self.cases):
            if other is test:
                if rank[outcome] > rank[previous]:
                    self.cases[i] = (test, outcome, detail, seconds)
                return
        self.cases.append((test, outcome, detail, time.monotonic() - self._started))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", self._exc_info_to_string(err, test))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:  # a failing subTest fails its test (a passing one adds nothing)
            outcome = "failure" if issubclass(err[0], test.failureException) else "error"
            self._record(test, outcome, self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failure", "unexpected success")


def _case_xml(test, outcome: str, detail: str, seconds: float) -> str:
    cls = type(test)
    try:
        file = os.path.relpath(inspect.getsourcefile(cls) or "", os.getcwd())
    except TypeError:
        file = ""
    method = getattr(test, "_testMethodName", str(test))
    attrs = f"file={quoteattr(file)} classname={quoteattr(f'{cls.__module__}.{cls.__qualname__}')} "
    attrs += f"name={quoteattr(method)} time={quoteattr(f'{seconds:.3f}')}"
    if outcome == "passed":
        return f"<testcase {attrs}/>"
    tag = {"failure": "failure", "error": "error", "skipped": "skipped"}[outcome]
    return f"<testcase {attrs}><{tag} message={quoteattr(detail[:200])}/></testcase>"


def _classes(suite) -> set[str]:
    if isinstance(suite, unittest.TestSuite):
        return set().union(*(_classes(t) for t in suite))
    return {type(suite).__qualname__}


class Program(unittest.TestProgram):
    sentinel = ""

    def runTests(self):
        if self.sentinel:
            spec = importlib.util.spec_from_file_location(os.path.basename(self.sentinel)[:-3], self.sentinel)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            extra = unittest.defaultTestLoader.loadTestsFromModule(module)
            if not _classes(extra) & _classes(self.test):  # not discovered already (random class names)
                self.test = unittest.TestSuite([self.test, extra])
        super().runTests()


def main() -> int:
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != "--junit":
        print(__doc__, file=sys.stderr)
        return 2
    out, rest = args[1], args[2:]
    if rest[:1] == ["--sentinel"]:
        Program.sentinel, rest = rest[1], rest[2:]
        sys.argv[1:] = rest  # the code under test sees no pointer to the sentinel
    sys.path.insert(0, os.getcwd())
    runner = unittest.TextTestRunner(resultclass=JunitResult, verbosity=2)
    program = Program(module=None, argv=["python -m unittest", *rest], testRunner=runner, exit=False)
    result = program.result
    cases = "".join(_case_xml(*c) for c in result.cases)
    # Errors outside any test (a module that fails to import) show up as _FailedTest cases above.
    with open(out, "w") as f:
        f.write(f'<?xml version="1.0"?><testsuites><testsuite name="unittest">{cases}</testsuite></testsuites>')
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
