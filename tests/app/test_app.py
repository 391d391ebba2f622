"""The app: AppTest for the page, and a real `streamlit run` (AppTest hides sys.path problems)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_data(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("ARENA_DATA_DIR", str(data))
    result = subprocess.run([sys.executable, "-m", "arena.cli", "demo", "--json"], capture_output=True, text=True,
                            env={**os.environ, "ARENA_DATA_DIR": str(data)}, cwd=ROOT, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return data


def test_arenas_page_shows_the_demo_arena(demo_data):
    at = AppTest.from_file(str(ROOT / "pages" / "arenas.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Arenas"
    assert "median() is wrong" in at.expander[0].label and "completed" in at.expander[0].label
    names = list(at.dataframe[0].value["name"])
    assert names == ["correct-fix", "wrong-fix", "gives-up"]
    assert any("/ 2 if len(ordered)" in c.value for c in at.code)
    assert "Winner: **correct-fix**" in at.success[0].value


def test_streamlit_run_serves_the_app(demo_data):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ARENA_DATA_DIR": str(demo_data)}
    server = subprocess.Popen(
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
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "streamlit did not come up"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert b'<div id="root">' in r.read()
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert "Traceback" not in output and "ModuleNotFoundError" not in output, output
