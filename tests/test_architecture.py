"""House rules that keep the code base walkable."""

import ast
from pathlib import Path

import arena
from arena.sandboxes import BACKENDS

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_arena_never_imports_streamlit():
    offenders = [str(p) for p in (ROOT / "arena").rglob("*.py") if "streamlit" in imported_modules(p)]
    assert offenders == []


def test_pages_stay_thin_and_never_talk_sql():
    for page in (ROOT / "pages").glob("*.py"):
        assert len(page.read_text().splitlines()) < 120, page
        assert not imported_modules(page) & {"sqlalchemy", "sqlite3", "duckdb"}, page


def test_every_sandbox_backend_is_documented_and_importable():
    readme = (ROOT / "README.md").read_text()
    for name, path in BACKENDS.items():
        module, cls = path.rsplit(".", 1)
        assert hasattr(__import__(module, fromlist=[cls]), cls)
        assert f"backend: {name}" in readme


def test_public_api_is_small_and_resolvable():
    for name in arena.__all__:
        assert getattr(arena, name) is not None


def test_the_readme_settings_table_is_the_one_in_code():
    """One source per fact: arena/config.py SETTINGS; regenerate with `python -c 'from arena.config import settings_table; print(settings_table())'`."""
    from arena.config import settings_table

    assert settings_table() in (ROOT / "README.md").read_text()


def test_every_arena_variable_read_in_code_is_in_the_settings_table():
    import re

    from arena.config import SETTINGS

    read = set()
    for path in [*(ROOT / "arena").rglob("*.py"), *(ROOT / "app").rglob("*.py"), *(ROOT / "pages").glob("*.py")]:
        read |= set(re.findall(r"[\"'](ARENA_[A-Z0-9_]+)[\"']", path.read_text()))
    assert read - set(SETTINGS) == set()


def test_code_is_ruff_formatted_without_escapes():
    """`make format` is the only style: no formatter escapes (skip or off comments), and `ruff format --check` passes."""
    import subprocess
    import sys

    folders = ["arena", "app", "pages", "tests", "benchmarks"]
    escaped = [
        str(p.relative_to(ROOT))
        for folder in folders
        for p in (ROOT / folder).rglob("*.py")
        if "fmt: " + "skip" in p.read_text() or "fmt: " + "off" in p.read_text()
    ]
    assert escaped == [], f"remove the formatting escapes in {escaped}"
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run([ruff, "format", "--check", *folders], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
