"""Fixtures and helpers of the app tests: a data dir of the test's own with a fresh app engine, the app under AppTest."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A fresh data dir, and a fresh app engine bound to it."""
    from app import queries, resources

    path = tmp_path / "data"
    monkeypatch.setenv("ARENA_DATA_DIR", str(path))
    monkeypatch.delenv("ARENA_ALLOW_UNSAFE_LOCAL", raising=False)  # the app's default, whatever this shell has
    resources.engine.clear()
    queries.arenas.clear()
    yield path
    resources.engine().shutdown()
    resources.engine.clear()


@pytest.fixture
def demo(data):
    result = subprocess.run([sys.executable, "-m", "arena.cli", "demo", "--json"], capture_output=True, text=True,
                            env={**os.environ, "ARENA_DATA_DIR": str(data)}, cwd=ROOT, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return data


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"../pages/{page}.py").run()
        assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("markdown", "caption", "success", "info", "warning", "error", "code")
                     for e in getattr(at, kind))  # fmt: skip
