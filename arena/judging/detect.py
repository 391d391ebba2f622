"""Guess how a checked-out repository runs its tests, with file:line evidence the user can check.

The judge uses this when an arena spec has no `test_command`. Nothing from the repository is executed: files are
only read (tomllib, json, configparser, ast), line numbers come from scanning the text, and missing, unreadable or
malformed files are skipped. Priority order, the first rule that matches wins:

1. pytest config, in pytest's own lookup order: pytest.ini `[pytest]`, pyproject.toml `[tool.pytest.ini_options]`
   or `[tool.pytest]`, tox.ini `[pytest]`, setup.cfg `[tool:pytest]` -> `python3 -m pytest -q`.
2. CI: the first `run:`/`script:` command in .github/workflows/*.yml|*.yaml, then .gitlab-ci.yml, that starts a
   test runner (pytest, unittest, tox, nox, npm/yarn/pnpm test, make test, go test, cargo test) -> that command
   as written (the specific line of a `run: |` block); install-only lines never match.
3. tox.ini `[testenv]` `commands`: the first non-install command, tox substitutions removed.
4. noxfile.py: the first session calling `session.run("pytest", ...)` -> `python3 -m pytest -q`.
5. Makefile: a `test:`, `tests:` or `check:` target, in that preference -> `make <target>`.
6. package.json: a `scripts.test` that is not npm's placeholder -> `npm test`.
7. go.mod -> `go test ./...`; then Cargo.toml -> `cargo test`.
8. Python test files (test_*.py, *_test.py, or in a top-level tests/ or test/ folder; depth <= 3): pytest if one
   imports pytest or a conftest.py exists; unittest discovery if they import unittest (`-s tests`, plus `-t .`
   when tests/ is a package); else pytest, which also runs plain assert-style tests.
"""

import ast
import configparser
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

PYTEST = "python3 -m pytest -q"  # python3: Debian, and so the sandbox, has no `python`
MAX_BYTES = 2_000_000  # config and test files are small; anything bigger is not worth reading
SKIP_DIRS = {"node_modules", "venv", "env", "site-packages", "build", "dist", "__pycache__"}

# A test runner at the start of one shell command, after env assignments and common wrappers.
_PREFIX = r"(?:\w+=\S*\s+)*(?:(?:uv|poetry|pipenv|pdm|hatch|rye)\s+run\s+)?(?:coverage\s+run\s+(?:-\S+\s+)*-m\s+)?"
_PY_M = r"(?:python[\d.]*\s+-m\s+)"
_RUNNERS = (
    ("pytest", rf"{_PY_M}?(?:pytest|py\.test)"),
    ("unittest", rf"{_PY_M}unittest"),
    ("tox", rf"{_PY_M}?tox"),
    ("nox", rf"{_PY_M}?nox"),
    ("npm", r"(?:npm|yarn|pnpm)\s+(?:run\s+)?test"),
    ("make", r"make\s+(?:test|tests|check)"),
    ("go", r"go\s+test"),
    ("cargo", r"cargo\s+test"),
)
_END = r"(?![\w.-])"  # a whole word: `pytest` but not `pytest-cov`
_INSTALL = re.compile(rf"{_PY_M}?(?:uv\s+)?pip\s+install\b")
_CI_KEY = re.compile(r"(?P<lead>\s*(?:-\s+)?)(?:run|script)\s*:(?:\s+(?P<value>.*))?$")
_BLOCK = re.compile(r"[|>][-+\d]*\s*(?:#.*)?$")  # YAML block scalar indicator: |, |-, >+ ...
_QUOTED = re.compile(r"""^(["'])(.*)\1$""")
_TOX_SUBST = re.compile(r"\{([^{}:]*)[^{}]*\}")
_PYTEST_INI = (("pytest.ini", "pytest"), ("pyproject.toml", None), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))


@dataclass(frozen=True)
class DetectedCommand:
    """A test command guessed for a repository, with the line that justifies it."""

    command: str
    kind: str
    source: str
    line: int
    text: str

    def evidence(self) -> str:
        """Where the guess came from, as `file:line: text`."""
        return f"{self.source}:{self.line}: {self.text}"


def _lines(repo: Path, name: str) -> list[str] | None:
    """The lines of the regular file `repo/name`, or None when missing, huge or unreadable."""
    path = repo / name
    try:  # is_file() rules out FIFOs and devices, which could block forever; "\n" only, as editors count lines
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:
        return None


def _at(command: str, kind: str, source: str, lines: list[str], index: int) -> DetectedCommand:
    """A DetectedCommand whose evidence is `lines[index]` of `source`."""
    return DetectedCommand(command, kind, source, index + 1, lines[index].strip())


def _first(lines: list[str], pattern: str, start: int = 0) -> int | None:
    """Index of the first line at or after `start` that matches `pattern` from its beginning."""
    return next((i for i in range(start, len(lines)) if re.match(pattern, lines[i])), None)  # re caches patterns


def _toml(lines: list[str]) -> dict | None:
    """The parsed TOML document, or None when it is malformed."""
    try:
        return tomllib.loads("\n".join(lines))
    except (tomllib.TOMLDecodeError, RecursionError):
        return None


def _ini_section(lines: list[str], section: str) -> int | None:
    """Index of the `[section]` header of a parseable INI file that has that section."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string("\n".join(lines))
    except configparser.Error:
        return None
    return _first(lines, rf"\s*\[\s*{re.escape(section)}\s*\]") if parser.has_section(section) else None


def _runner_kind(command: str) -> str | None:
    """The kind of test runner that one of the shell commands in `command` starts, if any."""
    for segment in re.split(r"&&|\|\||;|\|", command):
        for kind, pattern in _RUNNERS:
            if re.match(_PREFIX + pattern + _END, segment.strip()):
                return kind
    return None


def _pytest_config(repo: Path) -> DetectedCommand | None:
    """Rule 1: a pytest configuration section (pytest's lookup order, so evidence names the file it reads)."""
    for name, section in _PYTEST_INI:
        if (lines := _lines(repo, name)) is None:
            continue
        index = _ini_section(lines, section) if section else _pyproject_pytest(lines)
        if index is not None:
            return _at(PYTEST, "pytest", name, lines, index)
    return None


def _pyproject_pytest(lines: list[str]) -> int | None:
    """Index of the pytest table header of a well-formed pyproject.toml that configures pytest."""
    tool = (_toml(lines) or {}).get("tool")
    if not (isinstance(tool, dict) and "pytest" in tool):
        return None
    header = _first(lines, r"\s*\[\s*tool\.pytest(?:\.ini_options)?\s*\]")
    if header is None:  # configured with dotted keys or an inline table instead of a header
        header = _first(lines, r".*pytest")
    return header or 0


def _ci_commands(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index, command) for each command under a `run:` or `script:` key: inline, list item or block line."""
    owner: int | None = None  # column of the key whose block or list we are inside
    for index, raw in enumerate(lines):
        stripped, column = raw.strip(), len(raw) - len(raw.lstrip())
        # GitLab allows list items at the key's own column (`script:` then `- pytest`)
        if owner is not None and (not stripped or column > owner or (column == owner and stripped[:2] == "- ")):
            if stripped and not stripped.startswith("#"):
                yield index, _QUOTED.sub(r"\2", stripped.removeprefix("- ").strip())
            continue
        owner = None
        if not (match := _CI_KEY.match(raw)):
            continue
        value = (match["value"] or "").strip()
        if not value or _BLOCK.match(value):
            owner = len(match["lead"])
        elif not value.startswith("["):  # flow lists are rare in CI files; not worth a parser
            yield index, _QUOTED.sub(r"\2", value)


def _ci_workflow(repo: Path) -> DetectedCommand | None:
    """Rule 2: the first CI command that invokes a test runner."""
    workflows = sorted([*repo.glob(".github/workflows/*.yml"), *repo.glob(".github/workflows/*.yaml")])
    for path in [*workflows, repo / ".gitlab-ci.yml"]:
        source = path.relative_to(repo).as_posix()
        lines = _lines(repo, source) or []
        for index, command in _ci_commands(lines):
            if kind := _runner_kind(command):
                # a block line may end in a shell continuation; alone, the command must not
                return _at(command.removesuffix("\\").strip(), kind, source, lines, index)
    return None


def _tox_commands(repo: Path) -> DetectedCommand | None:
    """Rule 3: the first non-install command of tox.ini's [testenv]."""
    if (lines := _lines(repo, "tox.ini")) is None or (header := _ini_section(lines, "testenv")) is None:
        return None
    end = _first(lines, r"\[", header + 1) or len(lines)
    if (key := _first(lines, r"commands\s*[=:]", header + 1)) is None or key > end:
        return None
    for index in range(key, end):
        raw = re.sub(r"^commands\s*[=:]", "", lines[index])
        if index > key and raw.strip() and not raw[0].isspace():
            break  # the next key
        text = re.sub(r"^[\w.!,-]+:\s+", "", raw.strip()).lstrip("- ")  # factor condition `py312: `, ignore-exit `-`
        # drop substitutions like {posargs}, innermost first ({posargs:{toxinidir}/tests}); the root becomes `.`
        while (substituted := _TOX_SUBST.sub(lambda m: "." if m[1] in ("toxinidir", "tox_root") else "", text)) != text:
            text = substituted
        command = " ".join(text.removesuffix("\\").split())  # a continued command still runs without its tail
        if command and not command.startswith("#") and not _INSTALL.match(command):
            kind = _runner_kind(command)
            return _at(command, kind if kind in ("pytest", "unittest") else "tox", "tox.ini", lines, index)
    return None


def _runs_pytest(node: ast.AST) -> bool:
    """Whether `node` is a call like session.run("pytest", ...) or session.run("python", "-m", "pytest")."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"):
        return False
    args = [a.value if isinstance(a, ast.Constant) else None for a in node.args[:3]]
    return args[:1] == ["pytest"] or args == ["python", "-m", "pytest"]


def _nox_session(repo: Path) -> DetectedCommand | None:
    """Rule 4: the first nox session that runs pytest (the file is parsed, never imported)."""
    if (lines := _lines(repo, "noxfile.py")) is None:
        return None
    try:
        tree = ast.parse("\n".join(lines))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        sessions = [f for f in functions if any("session" in ast.unparse(d) for d in f.decorator_list)]
        calls = [n.lineno for f in sessions for n in ast.walk(f) if _runs_pytest(n)]
    except (SyntaxError, ValueError, RecursionError):
        return None
    return _at(PYTEST, "pytest", "noxfile.py", lines, min(calls) - 1) if calls else None


def _make_target(repo: Path) -> DetectedCommand | None:
    """Rule 5: a test-like target in the makefile that make itself would read."""
    try:
        present = set(os.listdir(repo))  # exact names, even on case-insensitive file systems
    except OSError:
        return None
    name = next((n for n in ("GNUmakefile", "makefile", "Makefile") if n in present), None)
    if name is None or (lines := _lines(repo, name)) is None:
        return None
    for target in ("test", "tests", "check"):
        if (index := _first(lines, rf"{target}\s*::?(?!=)")) is not None:  # `test :=` is a variable
            return _at(f"make {target}", "make", name, lines, index)
    return None


def _npm_script(repo: Path) -> DetectedCommand | None:
    """Rule 6: package.json's scripts.test, unless it is npm's `no test specified` placeholder."""
    if (lines := _lines(repo, "package.json")) is None:
        return None
    try:
        data = json.loads("\n".join(lines))
    except (ValueError, RecursionError):
        return None
    scripts = data.get("scripts") if isinstance(data, dict) else None
    test = scripts.get("test") if isinstance(scripts, dict) else None
    if not isinstance(test, str) or not test.strip() or "no test specified" in test:
        return None
    scripts_at = _first(lines, r'.*"scripts"\s*:') or 0
    index = _first(lines, r'\s*"test"\s*:', scripts_at)  # the key inside "scripts", not one elsewhere
    return _at("npm test", "npm", "package.json", lines, scripts_at if index is None else index)


def _go_or_cargo(repo: Path) -> DetectedCommand | None:
    """Rule 7: a Go module or a (well-formed) Cargo manifest."""
    if (lines := _lines(repo, "go.mod")) is not None:
        return _at("go test ./...", "go", "go.mod", lines, _first(lines, r"\s*module\s") or 0)
    if (lines := _lines(repo, "Cargo.toml")) is not None and _toml(lines) is not None:
        return _at("cargo test", "cargo", "Cargo.toml", lines, _first(lines, r"\s*\[(?:package|workspace)\]") or 0)
    return None


def _python_files(repo: Path, max_depth: int = 3) -> list[Path]:
    """Relative paths of .py files at most `max_depth` folders deep, skipping hidden and vendored folders."""
    found: list[Path] = []
    for root, dirs, files in os.walk(repo):  # does not follow symlinked folders
        rel = Path(root).relative_to(repo)
        keep = len(rel.parts) < max_depth
        dirs[:] = sorted(d for d in dirs if keep and not d.startswith(".") and d not in SKIP_DIRS)
        found += [rel / f for f in sorted(files) if f.endswith(".py")]
    return found


def _python_tests(repo: Path) -> DetectedCommand | None:
    """Rule 8: Python test files, run by pytest or unittest depending on what they import."""
    files = _python_files(repo)
    named = [p for p in files if p.name.startswith("test_") or p.name.endswith("_test.py")]
    in_folder = [p for p in files if len(p.parts) > 1 and p.parts[0] in ("tests", "test") and p.name != "conftest.py"]
    tests = named + [p for p in in_folder if p not in named]
    texts = {p: _lines(repo, p.as_posix()) or [""] for p in tests[:200]}  # bounded work on huge repositories
    for path, lines in texts.items():
        if (index := _first(lines, r"\s*(?:import|from)\s+pytest\b")) is not None:
            return _at(PYTEST, "pytest", path.as_posix(), lines, index)
    conftest = next((p for p in files if p.name == "conftest.py"), None)
    if tests and conftest is not None:
        return _at(PYTEST, "pytest", conftest.as_posix(), _lines(repo, conftest.as_posix()) or [""], 0)
    for path, lines in texts.items():
        # unittest.mock alone says nothing about the runner; pytest users import it too
        if (index := _first(lines, r"\s*(?:import\s+unittest\b(?!\.)|from\s+unittest\s+import\s+(?!mock\b))")) is None:
            continue
        command = "python3 -m unittest discover -v"
        if len(path.parts) > 1 and path.parts[0] in ("tests", "test"):
            # -t . only works when the folder is a package ("Start directory is not importable" otherwise)
            package = (repo / path.parts[0] / "__init__.py").is_file()
            command += f" -s {path.parts[0]}" + (" -t ." if package else "")
        return _at(command, "unittest", path.as_posix(), lines, index)
    return _at(PYTEST, "pytest", tests[0].as_posix(), texts[tests[0]], 0) if tests else None


RULES: tuple[Callable[[Path], DetectedCommand | None], ...] = (
    _pytest_config,
    _ci_workflow,
    _tox_commands,
    _nox_session,
    _make_target,
    _npm_script,
    _go_or_cargo,
    _python_tests,
)


def detect_test_command(repo: Path) -> DetectedCommand | None:
    """Best guess for how `repo` (a checked-out working tree on disk) runs its tests."""
    repo = Path(repo)
    if not repo.is_dir():
        return None
    return next((found for rule in RULES if (found := rule(repo)) is not None), None)
