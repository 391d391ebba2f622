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
