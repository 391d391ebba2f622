"""Fixtures and helpers of the app tests: a data dir of the test's own with a fresh app engine, the app under AppTest."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`streamlit run app/main.py` on 127.0.0.1 with its own data dir; yields (url, data dir)."""
    data, port = tmp_path / "data", free_port()
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    env.pop("ARENA_ALLOW_UNSAFE_LOCAL", None)  # the app's default, whatever this shell has
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                assert r.read() == b"ok"
                break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "streamlit did not come up"
            time.sleep(0.3)
    yield url, data
    proc.terminate()
    output = proc.communicate(timeout=10)[0]
    assert "Traceback" not in output, output


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
    result = subprocess.run(
        [sys.executable, "-m", "arena.cli", "demo", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        timeout=120,
    )
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
    return "\n".join(
        e.value
        for kind in ("markdown", "caption", "success", "info", "warning", "error", "code")
        for e in getattr(at, kind)
    )
