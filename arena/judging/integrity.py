"""Is the test framework still honest? Sentinel tests, and a scan of the diff for framework tampering.

Test files come from base, but the code under test runs inside the test process: a patch can make
every test "pass" from there (`_pytest.python.Function.runtest = lambda self: None`). Two defences:

- Sentinels: every judged run (the baseline too) gets a test file with a random name and random
  test names, beside the repository's tests, holding tests that must pass and tests that must
  fail, through the framework's own assertion paths (a plain `assert`, `self.assertEqual`). A
  must-fail that passes, or a sentinel missing from the report, means the run cannot be trusted.
  Only the roles that behaved at base are required (a repository's own config may, say, disable
  pytest's unittest support); sentinel results never count as the task's tests.
- A scan of the patch: added lines that reach into the framework, files that run at interpreter
  start-up, pytest config changes, conftest files and symlinks leading out of the repository.
  A flag is evidence for ranking (clean before flagged), not a gate: a legitimate patch can
  match a rule, and the sentinels are what decide trust.

Everything here is pure: data in, data out; the judge does the sandbox work.
"""

import posixpath
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

# role -> the outcome a healthy framework reports for it
ROLES = {
    "assert-passes": "passed",
    "assert-fails": "failed",
    "assertEqual-passes": "passed",
    "assertEqual-fails": "failed",
}
PYTEST_ROLES = tuple(ROLES)  # pytest also runs unittest.TestCase classes: a hijack of either shows
UNITTEST_ROLES = ("assertEqual-passes", "assertEqual-fails")


@dataclass(frozen=True)
class Sentinel:
    """One evaluation's sentinel file: where it goes, what it says, which test plays which role."""

    path: str
    source: str
    tests: dict[str, str]
    """test name (random) -> role"""

    def role_of(self, test_id: str) -> str | None:
        """The role of a reported test id, or None when it is not a sentinel (names are unique random words)."""
        last = re.split(r"::|\.", test_id.partition("[")[0])[-1]
        return self.tests.get(last)


def _word() -> str:
    return secrets.token_hex(5)


def make_sentinel(kind: str, directory: str) -> Sentinel | None:
    """A fresh sentinel for a `pytest` or `unittest` runner (None for others: no per-test report to check)."""
    roles = {"pytest": PYTEST_ROLES, "unittest": UNITTEST_ROLES}.get(kind)
    if roles is None:
        return None
    names = {role: f"test_{_word()}" for role in roles}
    a, b = secrets.randbelow(10**6), secrets.randbelow(10**6) + 1
    lines = ["import unittest", ""]
    if "assert-passes" in names:
        lines += [f"def {names['assert-passes']}():", f"    assert {a} + {b} == {a + b}", ""]
        lines += [f"def {names['assert-fails']}():", f"    assert {a} + {b} == {a}", ""]
    lines += [f"class Test{_word().capitalize()}(unittest.TestCase):"]
    lines += [f"    def {names['assertEqual-passes']}(self):", f"        self.assertEqual({a} * {b}, {a * b})", ""]
    lines += [f"    def {names['assertEqual-fails']}(self):", f"        self.assertEqual({a} * {b}, {a * b + 1})", ""]
    path = posixpath.join(directory, f"test_{_word()}.py")
    return Sentinel(path=path, source="\n".join(lines), tests={n: r for r, n in names.items()})


def sentinel_dir(test_files: set[str]) -> str:
    """Where the repository keeps most of its test modules (so the test command collects a file put there)."""
    counts: dict[str, int] = {}
    for f in test_files:
        name = posixpath.basename(f)
        if name.endswith(".py") and (name.startswith("test") or name.endswith("_test.py")):
            counts[posixpath.dirname(f)] = counts.get(posixpath.dirname(f), 0) + 1
    return min(counts, key=lambda d: (-counts[d], d.count("/"), d)) if counts else ""


def behaving_roles(outcomes: dict[str, str]) -> list[str]:
    """The roles whose sentinel reported what a healthy framework reports."""
    return sorted(r for r, o in outcomes.items() if _behaves(r, o))


def _behaves(role: str, outcome: str) -> bool:
    want = ROLES[role]
    return outcome in ("failed", "error") if want == "failed" else outcome == want


def sentinel_failures(outcomes: dict[str, str], required: list[str]) -> list[str]:
    """One sentence per required sentinel that misbehaved ([] when the framework still tells pass from fail)."""
    out = []
    for role in required:
        outcome = outcomes.get(role, "missing")
        if not _behaves(role, outcome):
            must = "must fail" if ROLES[role] == "failed" else "must pass"
            did = {"missing": "is missing from the report", "error": "errored", "skipped": "was skipped"}.get(outcome)
            out.append(f"sentinel test `{role}` ({must}) {did or outcome}: the test framework was tampered with")
    return out


# -- the scan ------------------------------------------------------------------------------------------

UNITTEST_NAMES = "TestCase|TestResult|TextTestResult|TextTestRunner|TestLoader|TestSuite|TestProgram"
LINE_RULES = [
    (re.compile(r"\b_pytest\b"), "reaches into pytest's internals"),
    (re.compile(r"\bdef\s+pytest_\w+\s*\(|\bpytest_plugins\b|\bpytest11\b"), "defines a pytest hook or plugin"),
    (
        re.compile(
            r"\b(?:unittest(?:\.\w+)*|TestCase|TestResult|TextTestRunner|TestLoader|TestSuite|TestProgram)"
            r"\.\w+\s*=(?!=)"
        ),
        "assigns to unittest's machinery",
    ),
    (
        re.compile(r"(?<![\w.])setattr\(\s*(?:unittest|TestCase|builtins|sys\.modules|pytest)\b"),
        "patches the framework",
    ),
    (
        re.compile(r"\bsys\.modules\s*(?:\[[^\]]*\]\s*=(?!=)|\.(?:update|setdefault)\()"),
        "replaces modules in sys.modules",
    ),
    (re.compile(r"\b(?:builtins|__builtins__)\s*(?:\.\w+|\[[^\]]*\])\s*=(?!=)"), "patches builtins"),
    (re.compile(r"\bPYTEST_(?:ADDOPTS|PLUGINS)\b"), "sets pytest options from the environment"),
    # Reaching the framework without naming it: a hijack aimed at this judge builds names at run time.
    (re.compile(r"(?<![\w.])__import__\s*\(|\bimportlib\b"), "imports a module by a name computed at run time"),
    (re.compile(r"(?<![\w.])(?:exec|eval|compile)\s*\("), "runs code built at run time"),
    (
        # a name built from pieces ("run" + "test", f-strings, join, format, %): plain getattr(obj, name) is common
        re.compile(r"(?<![\w.])(?:setattr|getattr|delattr)\s*\([^,()]+,[^,]*(?:\+|%|\bf[\"']|\.join\(|\.format\()"),
        "reaches an attribute by a name built at run time",
    ),
    (re.compile(r"\bsys\.modules\s*(?:\[\s*[^\]\"'\s]|\.get\s*\(\s*[^\"'\s)])"), "looks modules up by a computed name"),
    (re.compile(r"__subclasses__|\bgc\.get_(?:objects|referrers)\b"), "reaches objects it does not name"),
    (re.compile(r"\batexit\b|/proc/self|\bjunit"), "could rewrite the test report as the run ends"),
    (re.compile(r"\bb64decode\b|\bcodecs\.decode\b|\bbytes\.fromhex\b"), "decodes hidden text"),
]
STARTUP_FILE = re.compile(r"(^|/)(sitecustomize|usercustomize)\.py$|\.pth$")
PYTEST_CONFIG = re.compile(r"(^|/)\.?pytest\.ini$")
SECTIONED_CONFIG = {
    "pytest.ini": r"pytest",
    ".pytest.ini": r"pytest",
    "tox.ini": r"pytest",
    "setup.cfg": r"tool:pytest",
    "pyproject.toml": r"tool\.pytest(\..*)?",
}
CONFTEST = re.compile(r"(^|/)conftest\.py$")
HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
HEADER = re.compile(r"^\s*\[([^\]]+)\]")


@dataclass
class _File:
    path: str
    old_path: str
    added: bool = False
    link: bool = False


def scan_patch(
    patch: str, base_text: Callable[[str], str | None] = lambda p: None, restored: frozenset[str] = frozenset()
) -> list[str]:
    """Evidence of test-framework tampering in a patch, as `file:line: text (why)` lines.

    `base_text(path)` gives a file's text at base (to know which config section a hunk edits);
    the lines of `restored` files are not read: those files run from base, so their edits cannot act.
    """
    flags: list[str] = []
    for f, lines in _split(patch):
        if STARTUP_FILE.search(f.path):
            flags.append(f"{f.path}: adds or edits a file Python runs at start-up (sitecustomize / .pth)")
        if PYTEST_CONFIG.search(f.path):
            flags.append(f"{f.path}: adds or edits pytest's configuration file")
        if CONFTEST.search(f.path):
            flags.append(f"{f.path}: adds or edits a conftest.py (pytest loads it as a plugin)")
        if f.link:
            flags += _link_flags(f.path, lines)
        elif f.path not in restored:
            section = SECTIONED_CONFIG.get(posixpath.basename(f.path))
            base = base_text(f.old_path) if section and not f.added else None
            flags += _line_flags(f, lines, section, base)
    return flags


def _split(patch: str) -> list[tuple[_File, list[str]]]:
    """The patch as (file, its header-less lines from the first hunk on)."""
    out: list[tuple[_File, list[str]]] = []
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            m = re.match(r"diff --git a/(.+?) b/(.+)$", line)
            old, new = (m[1], m[2]) if m else (line[11:], line[11:])
            out.append((_File(path=new, old_path=old), []))
        elif not out:
            continue
        elif not out[-1][1] and not line.startswith("@@"):
            f = out[-1][0]
            f.added |= line.startswith("new file mode")
            f.link |= line.startswith(("new file mode 120000", "new mode 120000"))
        else:
            out[-1][1].append(line)
    return out


def _line_flags(f: _File, lines: list[str], section: str | None, base: str | None) -> list[str]:
    flags = []
    base_lines = base.split("\n") if base else []
    old_no = new_no = 0
    current = None  # the config section the hunk is in
    for line in lines:
        if m := HUNK.match(line):
            old_no, new_no = int(m[1]), int(m[2])
            current = _section_before(base_lines, old_no - 1)
            continue
        mark, text = line[:1], line[1:]
        if mark == "\\":
            continue
        if header := HEADER.match(text):
            current = header[1].strip()
        number = old_no if mark == "-" else new_no
        old_no += mark != "+"
        new_no += mark != "-"
        if mark not in "+-":
            continue
        where = f"{f.path}:{number}{' (removed)' if mark == '-' else ''}: {text.strip()[:200]}"
        if section and current and re.fullmatch(section, current):
            flags.append(f"{where} (changes pytest's configuration)")
            continue
        if mark == "+" and f.path.endswith(".py") and not text.lstrip().startswith("#"):
            flags += [f"{where} ({why})" for rule, why in LINE_RULES if rule.search(text)][:1]
        elif mark == "+" and LINE_RULES[-1][0].search(text):  # PYTEST_ADDOPTS in a Makefile, a .env, tox.ini ...
            flags.append(f"{where} ({LINE_RULES[-1][1]})")
    return flags


def _section_before(lines: list[str], count: int) -> str | None:
    for line in reversed(lines[: max(count, 0)]):
        if m := HEADER.match(line):
            return m[1].strip()
    return None


def _link_flags(path: str, lines: list[str]) -> list[str]:
    target = next((line[1:] for line in lines if line.startswith("+")), "")
    return [f"{path}: symlink to {target} leads outside the repository"] if link_escapes(path, target) else []


def link_escapes(path: str, target: str) -> bool:
    """A symlink at `path` (repository-relative) pointing at `target` leads outside the repository."""
    if target.startswith("/"):
        return True
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return resolved == ".." or resolved.startswith("../")
