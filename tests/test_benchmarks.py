"""The benchmark scripts still run (their numbers are read by people, not asserted here)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "script",
    [
        "provision.py",
        "orchestration.py",
        "evaluation.py",
        "live_refresh.py",
        "leaderboard.py",
        "workers.py",
        "gateway.py",
    ],
)
def test_benchmark_runs_quick(script):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "VERDICT:" in result.stdout and "Traceback" not in result.stderr
    if script == "leaderboard.py":  # it times the product's own calls: the function, the CLI and every page
        from app.nav import PAGES

        assert "1. analytics.leaderboard(by='agent')" in result.stdout and "2. `arena leaderboard`" in result.stdout
        assert all(f" {page} " in result.stdout for page in PAGES), result.stdout
        assert "identical: yes" in result.stdout, result.stdout  # the running totals equal the board of every run
