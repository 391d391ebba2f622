"""One definition of a win: after "Judge again" the ledger, the leaderboard frames and the ratings agree."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from arena.storage import Store
from tests.conftest import spec_dict, write_steps

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
ADDS = "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'"
ADDS_AND_SUBTRACTS = "python3 -c 'from calc.ops import add, sub; assert add(2, 3) == 5 and sub(3, 2) == 1'"


def cli(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    env.pop("ARENA_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )


def test_after_a_rejudge_every_view_counts_the_new_winner(calc_repo, arena_dir, tmp_path):
    write_steps(
        arena_dir / "small.yaml",
        [
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": [SUBMIT]},
        ],
    )
    write_steps(
        arena_dir / "wide.yaml",
        [
            {
                "thought": "fix and add sub",
                "commands": [
                    "sed -i 's/a - b/a + b/' calc/ops.py && printf '\\n\\ndef sub(a, b):\\n    return a - b\\n' >> calc/ops.py"
                ],
            },
            {"thought": "done", "commands": [SUBMIT]},
        ],
    )
    spec = spec_dict(
        calc_repo,
        [
            {"name": "small", "model": "scripted:small.yaml", "strategy": "minimal-fix"},
            {"name": "wide", "model": "scripted:wide.yaml", "strategy": "balanced"},
        ],
    )
    spec["task"]["test_command"] = ADDS
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    data = tmp_path / "data"
    first = cli("run", str(arena_dir / "arena.yaml"), "--json", data=data)
    assert first.returncode == 0, first.stderr
    arena = json.loads(first.stdout)
    assert arena["verdict"]["winner"] == "small"  # both pass; the smaller diff wins
    small, wide = (f"{c['model']}+{c['strategy']}" for c in arena["contestants"])

    # The task's tests were incomplete; the operator fixes the test command and judges again.
    store = Store(f"sqlite:///{data / 'arena.db'}")
    stored = store.arena(arena["arena_id"]).spec
    store.update_arena(
        arena["arena_id"], spec={**stored, "task": {**stored["task"], "test_command": ADDS_AND_SUBTRACTS}}
    )
    again = cli("judge", arena["arena_id"], "--json", data=data)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["winner"] == "wide"

    ledger = {name: json.loads(cli("agent", name, "--json", data=data).stdout) for name in (small, wide)}
    board = {r["agent"]: r for r in json.loads(cli("leaderboard", "--json", data=data).stdout)}
    assert (ledger[small]["wins"], ledger[wide]["wins"]) == (0, 1)
    assert (board[small]["wins"], board[wide]["wins"]) == (0, 1)
    assert board[wide]["rating"] > board[small]["rating"]
    # Stakes moved once, by the first verdict: small's stake still waits for its merge or abandonment.
    assert (ledger[small]["escrow"], ledger[wide]["escrow"]) == (1, 0)
