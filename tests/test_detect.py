"""detect_test_command: one small real repository per rule, plus priorities and malformed files."""

import os
from pathlib import Path

from arena.judging.detect import DetectedCommand, detect_test_command

PYTEST = "python3 -m pytest -q"
MAKEFILE = ".PHONY: test\n\ntest:\n\tpytest\n"
WORKFLOW = """name: CI
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Install
        run: pip install -e . pytest
      - name: Test
        run: |
          pip install tox
          echo starting
          tox -e py312
"""


def write(repo: Path, files: dict[str, str]) -> Path:
    """Create `files` under `repo` and return it."""
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    return repo


def detect(repo: Path, files: dict[str, str]) -> DetectedCommand | None:
    return detect_test_command(write(repo, files))


def test_pyproject_pytest_config(tmp_path):
    pyproject = '[project]\nname = "x"\n\n[tool.pytest.ini_options]\naddopts = "-ra"\n'
    found = detect(tmp_path, {"pyproject.toml": pyproject})
    assert found == DetectedCommand(PYTEST, "pytest", "pyproject.toml", 4, "[tool.pytest.ini_options]")
    assert found.evidence() == "pyproject.toml:4: [tool.pytest.ini_options]"


def test_pyproject_native_tool_pytest_table(tmp_path):
    found = detect(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n[tool.pytest]\nminversion = "9.0"\n'})
    assert (found.source, found.line, found.text) == ("pyproject.toml", 3, "[tool.pytest]")


def test_pytest_ini(tmp_path):
    found = detect(tmp_path, {"pytest.ini": "# settings\n[pytest]\naddopts = -q\n"})
    assert found == DetectedCommand(PYTEST, "pytest", "pytest.ini", 2, "[pytest]")


def test_setup_cfg_tool_pytest(tmp_path):
    found = detect(tmp_path, {"setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\ntestpaths = tests\n"})
    assert found == DetectedCommand(PYTEST, "pytest", "setup.cfg", 4, "[tool:pytest]")


def test_tox_ini_pytest_section(tmp_path):
    tox = "[tox]\nenvlist = py312\n\n[testenv]\ncommands = stestr run\n\n[pytest]\naddopts = -q\n"
    found = detect(tmp_path, {"tox.ini": tox})
    assert found == DetectedCommand(PYTEST, "pytest", "tox.ini", 7, "[pytest]")


def test_setup_cfg_without_pytest_section_is_not_config(tmp_path):
    found = detect(tmp_path, {"setup.cfg": "[metadata]\nname = x\n", "Makefile": MAKEFILE})
    assert found.kind == "make"


def test_github_workflow_block_line(tmp_path):
    found = detect(tmp_path, {".github/workflows/ci.yml": WORKFLOW})
    assert found == DetectedCommand("tox -e py312", "tox", ".github/workflows/ci.yml", 14, "tox -e py312")


def test_github_workflow_inline_run_and_yaml_extension(tmp_path):
    workflow = "jobs:\n  t:\n    steps:\n      - run: pip install pytest\n      - run: 'python -m pytest -x tests'\n"
    found = detect(tmp_path, {".github/workflows/tests.yaml": workflow})
    assert found.command == "python -m pytest -x tests"
    assert (found.kind, found.source, found.line) == ("pytest", ".github/workflows/tests.yaml", 5)
    assert found.text == "- run: 'python -m pytest -x tests'"


def test_workflow_folded_block_with_env_manager_and_continuation(tmp_path):
    workflow = "steps:\n  - name: t\n    run: >-\n      CI=1 uv run pytest -q \\\n        --maxfail=1\n"
    found = detect(tmp_path, {".github/workflows/ci.yml": workflow})
    text = "CI=1 uv run pytest -q \\"  # the evidence keeps the line as written
    assert found == DetectedCommand("CI=1 uv run pytest -q", "pytest", ".github/workflows/ci.yml", 4, text)


def test_gitlab_ci_script_list(tmp_path):
    gitlab = "test:\n  image: python:3.12\n  script:\n  - pip install -r requirements.txt\n  - make test\n"
    found = detect(tmp_path, {".gitlab-ci.yml": gitlab})
    assert found == DetectedCommand("make test", "make", ".gitlab-ci.yml", 5, "- make test")


def test_workflow_with_only_installs_does_not_match(tmp_path):
    workflow = "jobs:\n  t:\n    steps:\n      - run: |\n          pip install pytest tox\n          npm ci\n"
    assert detect(tmp_path, {".github/workflows/ci.yml": workflow}) is None


def test_tox_testenv_commands(tmp_path):
    tox = (
        "[tox]\nenvlist = py312\n\n"
        "[testenv]\ndeps = pytest\ncommands =\n    pip install -e .\n    pytest {posargs:tests} -x\n\n"
        "[testenv:lint]\ncommands = ruff check .\n"
    )
    found = detect(tmp_path, {"tox.ini": tox})
    assert found == DetectedCommand("pytest -x", "pytest", "tox.ini", 8, "pytest {posargs:tests} -x")


def test_tox_testenv_factor_and_nested_substitution(tmp_path):
    tox = "[testenv]\ncommands =\n  py312: python -m unittest discover {posargs:-s {toxinidir}/tests}\n"
    found = detect(tmp_path, {"tox.ini": tox})
    assert (found.command, found.kind, found.line) == ("python -m unittest discover", "unittest", 3)


def test_tox_testenv_other_runner_is_kind_tox(tmp_path):
    found = detect(tmp_path, {"tox.ini": "[testenv]\ncommands = stestr run {posargs}\n"})
    assert found == DetectedCommand("stestr run", "tox", "tox.ini", 2, "commands = stestr run {posargs}")


def test_noxfile_session_running_pytest(tmp_path):
    noxfile = (
        "import nox\n\n\n"
        "@nox.session\n"
        "def lint(session):\n"
        '    session.run("ruff", "check")\n\n\n'
        '@nox.session(python=["3.12"])\n'
        "def tests(session):\n"
        '    session.install("pytest")\n'
        '    session.run("pytest", *session.posargs)\n'
    )
    found = detect(tmp_path, {"noxfile.py": noxfile})
    assert found == DetectedCommand(PYTEST, "pytest", "noxfile.py", 12, 'session.run("pytest", *session.posargs)')


def test_makefile_test_target(tmp_path):
    found = detect(tmp_path, {"Makefile": "VERSION := 1\n.PHONY: test\n\nlint:\n\truff .\n\ntest: lint\n\tpytest\n"})
    assert found == DetectedCommand("make test", "make", "Makefile", 7, "test: lint")


def test_makefile_check_target_when_no_test(tmp_path):
    found = detect(tmp_path, {"Makefile": "all:\n\tcc x.c\n\ncheck:\n\t./run-checks\n"})
    assert found == DetectedCommand("make check", "make", "Makefile", 4, "check:")


def test_package_json_test_script(tmp_path):
    package = '{\n  "name": "x",\n  "scripts": {\n    "build": "tsc",\n    "test": "jest"\n  }\n}\n'
    found = detect(tmp_path, {"package.json": package})
    assert found == DetectedCommand("npm test", "npm", "package.json", 5, '"test": "jest"')


def test_npm_placeholder_test_script_is_ignored(tmp_path):
    package = '{\n  "scripts": {\n    "test": "echo \\"Error: no test specified\\" && exit 1"\n  }\n}\n'
    assert detect(tmp_path, {"package.json": package}) is None


def test_go_module(tmp_path):
    found = detect(tmp_path, {"go.mod": "module example.com/x\n\ngo 1.22\n"})
    assert found == DetectedCommand("go test ./...", "go", "go.mod", 1, "module example.com/x")


def test_cargo_crate(tmp_path):
    found = detect(tmp_path, {"Cargo.toml": '# crate\n[package]\nname = "x"\nversion = "0.1.0"\n'})
    assert found == DetectedCommand("cargo test", "cargo", "Cargo.toml", 2, "[package]")


def test_python_files_importing_pytest(tmp_path):
    found = detect(tmp_path, {"src/x.py": "X = 1\n", "tests/test_x.py": '"""Doc."""\nimport pytest\n'})
    assert found == DetectedCommand(PYTEST, "pytest", "tests/test_x.py", 2, "import pytest")


def test_python_files_with_conftest(tmp_path):
    found = detect(tmp_path, {"tests/conftest.py": "# fixtures\n", "tests/test_x.py": "def test_a():\n    pass\n"})
    assert found == DetectedCommand(PYTEST, "pytest", "tests/conftest.py", 1, "# fixtures")


def test_unittest_files_in_tests_folder(tmp_path):
    found = detect(tmp_path, {"tests/test_x.py": "import unittest\n\n\nclass T(unittest.TestCase):\n    pass\n"})
    assert found == DetectedCommand(
        "python3 -m unittest discover -v -s tests", "unittest", "tests/test_x.py", 1, "import unittest"
    )


def test_unittest_files_in_tests_package_get_top_level_dir(tmp_path):
    found = detect(tmp_path, {"tests/__init__.py": "", "tests/test_x.py": "from unittest import TestCase\n"})
    assert found.command == "python3 -m unittest discover -v -s tests -t ."
    assert (found.kind, found.source, found.line) == ("unittest", "tests/test_x.py", 1)


def test_unittest_files_at_the_root(tmp_path):
    found = detect(tmp_path, {"x_test.py": "import os\nimport unittest\n"})
    assert found == DetectedCommand("python3 -m unittest discover -v", "unittest", "x_test.py", 2, "import unittest")


def test_plain_assert_tests_fall_back_to_pytest(tmp_path):
    found = detect(
        tmp_path, {"pkg/test_y.py": "from unittest.mock import Mock\n\n\ndef test_y():\n    assert Mock()\n"}
    )
    assert found == DetectedCommand(PYTEST, "pytest", "pkg/test_y.py", 1, "from unittest.mock import Mock")


def test_test_files_deeper_than_three_folders_are_ignored(tmp_path):
    assert detect(tmp_path, {"a/b/c/d/test_deep.py": "import pytest\n"}) is None
    assert detect(tmp_path, {"a/b/c/test_ok.py": "import pytest\n"}).source == "a/b/c/test_ok.py"


def test_pyproject_config_beats_makefile(tmp_path):
    found = detect(tmp_path, {"Makefile": MAKEFILE, "pyproject.toml": "[tool.pytest.ini_options]\n"})
    assert (found.kind, found.source, found.line) == ("pytest", "pyproject.toml", 1)


def test_workflow_beats_makefile(tmp_path):
    found = detect(tmp_path, {"Makefile": MAKEFILE, ".github/workflows/ci.yml": WORKFLOW})
    assert (found.command, found.source) == ("tox -e py312", ".github/workflows/ci.yml")


def test_makefile_beats_package_json_and_go(tmp_path):
    files = {"Makefile": MAKEFILE, "package.json": '{"scripts": {"test": "jest"}}', "go.mod": "module x\n"}
    assert detect(tmp_path, files).kind == "make"


def test_malformed_pyproject_is_skipped(tmp_path):
    found = detect(tmp_path, {"pyproject.toml": "[tool.pytest.ini_options\naddopts = \n", "Makefile": MAKEFILE})
    assert found == DetectedCommand("make test", "make", "Makefile", 3, "test:")


def test_malformed_package_json_is_skipped(tmp_path):
    found = detect(tmp_path, {"package.json": '{"scripts": {"test": "jest",}', "go.mod": "go 1.22\nmodule x\n"})
    assert found == DetectedCommand("go test ./...", "go", "go.mod", 2, "module x")


def test_unreadable_and_binary_files_never_raise(tmp_path):
    (tmp_path / "pyproject.toml").mkdir()  # a folder where a file is expected
    os.mkfifo(tmp_path / "package.json")  # reading a FIFO would block forever
    (tmp_path / "noxfile.py").write_bytes(b"\xff\xfe\x00def (")
    (tmp_path / "tox.ini").write_text("no section header\n")
    assert detect(tmp_path, {"Cargo.toml": "[package\n"}) is None


def test_empty_repo_and_missing_path(tmp_path):
    assert detect_test_command(tmp_path) is None
    assert detect_test_command(tmp_path / "missing") is None


def test_real_world_layout_prefers_pytest_config(tmp_path):
    pyproject = (
        '[build-system]\nrequires = ["setuptools>=68"]\n\n'
        '[project]\nname = "demo"\ndependencies = ["requests"]\n\n'
        "[tool.ruff]\nline-length = 120\n\n"
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
    )
    files = {
        "pyproject.toml": pyproject,
        "Makefile": "install:\n\tpip install -e .\n\ntest:\n\tpytest -x\n",
        ".github/workflows/ci.yml": WORKFLOW,
        "package.json": '{\n  "scripts": {\n    "test": "jest"\n  }\n}\n',
        "tests/test_demo.py": "import unittest\n",
    }
    found = detect(tmp_path, files)
    assert found == DetectedCommand(PYTEST, "pytest", "pyproject.toml", 11, "[tool.pytest.ini_options]")
    assert found.evidence() == "pyproject.toml:11: [tool.pytest.ini_options]"
