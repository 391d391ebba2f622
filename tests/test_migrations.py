"""Alembic migrations: the models and the migrations agree; old databases are brought forward."""

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
import yaml
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from arena.identity import agent_identity
from arena.reputation.ledger import Ledger
from arena.storage import Store, migrate
from arena.storage.models import Base
from tests.conftest import write_steps

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARENA_DATA_DIR": str(data)}
    env.pop("ARENA_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT)


def test_migrations_build_exactly_the_schema_of_the_models(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == migrate.head()
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_database_from_before_migrations_is_stamped_upgraded_and_cleaned(tmp_path):
    """What stop 6 wrote (create_all, no alembic_version), including the grants its race minted twice."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        config = migrate._config(conn)
        command.upgrade(config, "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        for _ in range(3):
            conn.execute(
                text(
                    "INSERT INTO reputation_events (at, agent, kind, amount, escrow, detail) "
                    "VALUES ('2026-11-01 00:00:00', 'm+s', 'grant', 100, 0, '{}')"
                )
            )
    engine.dispose()
    store = Store(url)
    assert migrate.current(store.engine) == migrate.head()
    assert Ledger(store).state("m+s").balance == 100  # the minted copies are gone


def test_db_upgrade_and_current_from_the_cli(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    fresh = cli("db", "upgrade", data=data)
    assert fresh.returncode == 0 and f"database at {migrate.head()} (was empty)" in fresh.stdout
    again = cli("db", "upgrade", data=data)
    assert again.returncode == 0 and "already up to date" in again.stdout
    current = cli("db", "current", data=data)
    assert current.stdout.strip() == f"{migrate.head()} (newest: {migrate.head()})"


# -- 0003: agents named by identity, not path ---------------------------------------------------------------------

FIX_STEPS = [
    {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
    {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
]
CAREFUL = {"name": "careful", "persona": "Change as little as you can."}
PLAYED = [{"thought": "look", "commands": ["ls"]}, {"commands": ["true", "git status --short"], "cost": 0.01}]


def played_trajectory(tmp_path: Path, repo: Path) -> Path:
    """A real trajectory of a scripted contestant that played its whole script (exit status ScriptExhausted)."""
    folder = tmp_path / "earlier"
    write_steps(folder / "played.yaml", PLAYED)
    spec = {
        "task": {"repo": str(repo), "problem_statement": "x"},
        "contestants": [{"name": "p", "model": "scripted:played.yaml"}],
    }
    (folder / "arena.yaml").write_text(yaml.safe_dump(spec))
    run = cli("run", str(folder / "arena.yaml"), "--json", data=tmp_path / "earlier-data")
    contestant = json.loads(run.stdout)["contestants"][0]
    assert contestant["exit_status"] == "ScriptExhausted", run.stderr
    return Path(contestant["trajectory_path"])


def old_database(url: str, tmp_path: Path, repo: Path) -> dict[str, str]:
    """A database at revision 0002 as arenas launched before 0003 left it: agents named by absolute paths.

    Arena a1: `fix` (one/fix.yaml, one/careful.yaml) beat `idle`. Arena a2: the same fix and strategy from two
    other checkouts (two/, three/), `gone` (its file deleted since; its trajectory shows it played to the end)
    and `lost` (file and trajectory gone). Returns the identities a launch names them by today.
    """
    one, two, three, gone, lost = (tmp_path / d for d in ("one", "two", "three", "gone", "lost"))
    for folder in (one, two, three):
        write_steps(folder / "fix.yaml", FIX_STEPS)
        (folder / "careful.yaml").write_text(yaml.safe_dump(CAREFUL))
    write_steps(one / "idle.yaml", FIX_STEPS[1:])
    write_steps(gone / "played.yaml", PLAYED)
    trajectory = played_trajectory(tmp_path, repo)
    expected = {
        "fix": agent_identity(f"scripted:{one}/fix.yaml", f"{one}/careful.yaml"),
        "idle": agent_identity(f"scripted:{one}/idle.yaml", "balanced"),
        "gone": agent_identity(f"scripted:{gone}/played.yaml", "minimal-fix"),
        "refused": agent_identity(f"scripted:{one}/idle.yaml", "test-first"),
    }
    (gone / "played.yaml").unlink()
    old = {  # contestant -> (model, strategy) as the spec held them, and so as the rows and the ledger did
        "fix": (f"scripted:{one}/fix.yaml", f"{one}/careful.yaml"),
        "idle": (f"scripted:{one}/idle.yaml", "balanced"),
        "fix-two": (f"scripted:{two}/fix.yaml", f"{two}/careful.yaml"),
        "fix-three": (f"scripted:{three}/fix.yaml", f"{three}/careful.yaml"),
        "gone": (f"scripted:{gone}/played.yaml", "minimal-fix"),
        "lost": (f"scripted:{lost}/x.yaml", "test-first"),
    }
    name = {c: f"{m}+{s}" for c, (m, s) in old.items()}
    arenas = {"a1": ["fix", "idle"], "a2": ["fix-two", "fix-three", "gone", "lost"]}
    t = datetime(2026, 11, 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0002")
        md = sa.MetaData()
        md.reflect(conn)
        table = md.tables
        for arena_id, names in arenas.items():
            spec = {
                "task": {"repo": str(repo), "base": "HEAD", "problem_statement": "add() subtracts"},
                "contestants": [{"name": c, "model": old[c][0], "strategy": old[c][1]} for c in names],
            }
            conn.execute(
                table["arenas"].insert(),
                {"id": arena_id, "title": "t", "repo": str(repo), "base": "HEAD", "base_sha": "0" * 40, "spec": spec}
                | {"status": "completed", "cancel_requested": False, "created_at": t},
            )
            for c in names:
                conn.execute(
                    table["contestants"].insert(),
                    {"arena_id": arena_id, "name": c, "model": old[c][0], "strategy": old[c][1], "status": "completed"}
                    | {"steps": 2, "cost": 0.0, "tokens_in": 0, "tokens_out": 0, "cancel_requested": False}
                    | {"exit_status": "ScriptExhausted" if c == "gone" else "Submitted"}
                    | {"trajectory_path": str(trajectory) if c == "gone" else str(tmp_path / "no" / c / "traj.json")},
                )
        conn.execute(
            table["verdicts"].insert(),
            {"arena_id": "a1", "created_at": t, "winner": "fix", "resolved": 1, "candidates": 2, "judge": {}}
            | {
                "ranking": [
                    {"name": c, "rank": i + 1, "resolved": i == 0, "passes_gates": i == 0, "reasons": ["as judged"]}
                    | {"evidence": {"name": c, "model": old[c][0], "strategy": old[c][1]}}
                    for i, c in enumerate(arenas["a1"])
                ]
            },
        )

        def event(agent: str, kind: str, **fields) -> None:
            conn.execute(
                table["reputation_events"].insert(),
                {"at": t, "agent": agent, "kind": kind, "amount": 0.0, "escrow": 0.0, "detail": {}} | fields,
            )

        event(old["idle"][0] + "+test-first", "grant", amount=100.0)  # a launch refused: no contestant row left
        for arena_id, names in arenas.items():
            for c in names:
                event(name[c], "grant", amount=100.0)
                event(name[c], "entered", arena_id=arena_id, contestant=c)
                event(name[c], "escrow", arena_id=arena_id, contestant=c, amount=-1.0, escrow=1.0)
            for i, a in enumerate(names):
                event(name[a], "place", arena_id=arena_id, contestant=a, outcome=i + 1, verdict_id=1)
                for b in names[i + 1 :]:
                    event(
                        name[a],
                        "pairwise",
                        arena_id=arena_id,
                        contestant=a,
                        opponent=name[b],
                        outcome=1.0,
                        verdict_id=1,
                    )
    engine.dispose()
    return expected


def check_migrated(expected: dict[str, str], tmp_path: Path, data: Path, url: str | None = None) -> None:
    """`arena db upgrade` names every agent by identity, merges what became one, and embeds the files it found."""

    def arena(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "ARENA_DATA_DIR": str(data)} | ({"ARENA_DATABASE_URL": url} if url else {})
        if not url:
            env.pop("ARENA_DATABASE_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, cwd=tmp_path
        )

    upgraded = arena("db", "upgrade")
    assert upgraded.returncode == 0 and f"database at {migrate.head()} (was 0002)" in upgraded.stdout, upgraded.stderr
    fix, idle, gone = expected["fix"], expected["idle"], expected["gone"]
    a1, a2 = (json.loads(arena("show", a, "--json").stdout) for a in ("a1", "a2"))
    assert [c["agent"] for c in a1["contestants"]] == [fix, idle]
    agents = [c["agent"] for c in a2["contestants"]]
    assert agents[:3] == [fix, fix, gone]  # the same files in other checkouts; a file known from its trajectory
    assert re.fullmatch(r"scripted:x\.yaml@path-[0-9a-f]{8}\+test-first", agents[3]), agents[3]
    names = [(c["agent"], c["model"], c["strategy"]) for c in a1["contestants"] + a2["contestants"]]
    assert str(tmp_path) not in json.dumps(names)
    evidence = [p["evidence"] for p in a1["verdict"]["ranking"]]
    assert [f"{e['model']}+{e['strategy']}" for e in evidence] == [fix, idle]

    state = json.loads(arena("agent", fix, "--json").stdout)
    kinds = [e["kind"] for e in state["history"]]
    assert (kinds.count("grant"), kinds.count("entered"), state["balance"] + state["escrow"]) == (1, 3, 100)
    self_games = [e for e in state["history"] if e["kind"] == "pairwise" and e["opponent"] == fix]
    opponents = [e["opponent"] for e in state["history"] if e["kind"] == "pairwise"]
    assert self_games == [] and opponents == [idle, gone, agents[3], gone, agents[3]]  # fix-two vs three is gone
    refused = json.loads(arena("agent", expected["refused"], "--json").stdout)
    assert [e["kind"] for e in refused["history"]] == ["grant"]

    # a1's files were found, so its stored spec now runs anywhere, as the same agents.
    shutil.rmtree(tmp_path / "one")
    printed = arena("spec", "a1")
    assert "steps:" in printed.stdout and "strategy_definition:" in printed.stdout
    (tmp_path / "a1-again.yaml").write_text(printed.stdout)
    again = arena("run", str(tmp_path / "a1-again.yaml"), "--json")
    assert again.returncode == 0, again.stderr
    assert [c["agent"] for c in json.loads(again.stdout)["contestants"]] == [fix, idle]


def test_0003_names_old_agents_by_identity_on_sqlite(tmp_path, calc_repo):
    data = tmp_path / "data"
    data.mkdir()
    expected = old_database(f"sqlite:///{data / 'arena.db'}", tmp_path, calc_repo)
    check_migrated(expected, tmp_path, data)


def test_the_totals_triggers_exist_at_head(tmp_path):
    """SQLite's batch mode drops a table's triggers when it recreates it: a later migration that batch-alters a
    watched table must create them again (0005's create_triggers), or the running totals silently go stale."""
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    with store.engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    watched = ("contestants", "verdicts", "evaluations", "reputation_events")
    assert names == {f"totals_dirty_{t}_{e}" for t in watched for e in ("insert", "update", "delete")}
