"""The GitHub loop through the `arena` CLI against the fake GitHub: issue -> arena -> branches -> draft PR -> merge
-> sync -> revert -> sync -> the next stake is 10x. Real bubblewrap sandboxes, scripted contestants, real git over
HTTP, real PyGithub; the token is a canary that must appear nowhere but in requests' Authorization headers."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import GITHUB_REPO, write_steps

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
# A contestant that prints everything it can see of its environment and git configuration.
SNOOP = "env; git config --list --show-origin; cat .git/config 2>/dev/null; ls -la ~ 2>/dev/null"


def arena(*args: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arena.cli", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


def ok_json(done: subprocess.CompletedProcess):
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def loop(fake_github, tmp_path):
    """Environment for the CLI: the fake GitHub, a data dir, private network allowed (the fake is on 127.0.0.1)."""
    number = fake_github.add_issue(
        GITHUB_REPO.full_name, "add() subtracts", "add(2, 3) returns -1; it must return 5.", ["Seen on 1.2 too."]
    )
    steps = tmp_path / "steps"
    write_steps(
        steps / "fix.yaml",
        [
            {"thought": "look around", "commands": [SNOOP]},
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": [SUBMIT]},
        ],
    )
    write_steps(
        steps / "wrong.yaml",
        [
            {"thought": "break", "commands": ["sed -i 's/a - b/a * b/' calc/ops.py"]},
            {"thought": "done", "commands": [SUBMIT]},
        ],
    )
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data"), "ARENA_ALLOW_PRIVATE_NETWORK": "1"}
    env["GITHUB_API_URL"] = fake_github.api_url
    env.pop("ARENA_DATABASE_URL", None)
    for name in ("GITHUB_TOKEN", "ARENA_GITHUB_APP_ID", "ARENA_GITHUB_APP_PRIVATE_KEY"):
        env.pop(name, None)
    return {"gh": fake_github, "issue": number, "steps": steps, "env": env, "tmp": tmp_path}


def spec_file(loop, name: str = "arena.yaml") -> Path:
    spec = {
        "task": {"github_issue": f"{GITHUB_REPO.full_name}#{loop['issue']}", "test_command": "python3 -m pytest -q"},
        "contestants": [
            {"name": "fixer", "model": f"scripted:{loop['steps'] / 'fix.yaml'}", "strategy": "minimal-fix"},
            {"name": "breaker", "model": f"scripted:{loop['steps'] / 'wrong.yaml'}", "strategy": "test-first"},
        ],
        "limits": {"max_parallel": 2, "time_budget_s": 180},
        "sandbox": {"backend": "local", "command_timeout_s": 60},
        "publish": {"pull_request": True},
    }
    path = loop["tmp"] / name
    path.write_text(yaml.safe_dump(spec))
    return path


def searched_everywhere(loop, secret: str) -> list[str]:
    """Where `secret` (plain or base64) shows up: files in the data dir (database included), and everything sent to
    GitHub except the Authorization headers whose job it is to carry it."""
    needles = [
        secret.encode(),
        base64.b64encode(secret.encode()),
        base64.b64encode(f"x-access-token:{secret}".encode()),
    ]
    found = []
    for path in Path(loop["env"]["ARENA_DATA_DIR"]).rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [str(path) for n in needles if n in data]
    for request in loop["gh"].requests:
        headers = {k: v for k, v in request.headers.items() if k != "authorization"}
        blob = json.dumps(headers).encode() + request.body
        found += [f"{request.method} {request.path}" for n in needles if n in blob]
    return found


def test_issue_to_draft_pr_to_merge_to_revert_to_a_tenfold_stake_with_a_token(loop):
    gh, env = loop["gh"], dict(loop["env"])
    token = gh.add_token()
    env["GITHUB_TOKEN"] = token

    run = ok_json(arena("run", str(spec_file(loop)), "--json", env=env))
    arena_id = run["arena_id"]
    assert run["verdict"]["winner"] == "fixer", run
    shown = ok_json(arena("show", arena_id, "--json", env=env))
    pull = shown["pull_request"]
    assert pull["draft"] is True and pull["state"] == "open" and pull["merged"] is False
    assert pull["head"] == f"arena/{arena_id}/pr"
    assert set(shown["branches"]) == {"fixer", "breaker"}  # both changed something
    assert gh.branch_sha(GITHUB_REPO.full_name, f"arena/{arena_id}/c/fixer") == shown["branches"]["fixer"]["commit"]
    pr = gh.repos[GITHUB_REPO.full_name].pulls[pull["number"]]
    assert pr["head"]["ref"] == f"arena/{arena_id}/pr" and pr["draft"] is True
    assert f"Fixes #{loop['issue']}" in pr["body"] and f"Arena-Id: {arena_id}" in pr["body"]
    assert "| place | contestant |" in pr["body"] and "breaker" in pr["body"]
    assert "add() subtracts" in pr["title"]
    created = [json.loads(r.body) for r in gh.requests if r.method == "POST" and r.path.endswith("/pulls")]
    assert len(created) == 1 and "Judging in progress" in created[0]["body"]  # the early draft, then updated

    # Publishing again (after a re-judge, say) updates the one PR.
    again = ok_json(arena("pr", arena_id, "--json", env=env))
    assert again["pull_request"]["number"] == pull["number"]
    assert len(gh.repos[GITHUB_REPO.full_name].pulls) == 1

    winner_agent = next(c["agent"] for c in shown["contestants"] if c["name"] == "fixer")
    gh.merge(GITHUB_REPO.full_name, pull["number"])
    synced = ok_json(arena("sync", "--json", env=env))
    assert [e["event"] for e in synced if e["arena_id"] == arena_id] == ["merged"]
    assert ok_json(arena("sync", "--json", env=env)) == [] or all(
        e["event"] == "skipped" for e in ok_json(arena("sync", "--json", env=env))
    )
    agent = ok_json(arena("agent", winner_agent, "--json", env=env))
    assert agent["merged"] == 1 and agent["k"] == 0

    merge = gh.repos[GITHUB_REPO.full_name].pulls[pull["number"]]["merge_commit_sha"]
    gh.revert(GITHUB_REPO.full_name, merge)
    synced = ok_json(arena("sync", "--json", env=env))
    assert [e["event"] for e in synced if e["arena_id"] == arena_id] == ["reverted"]
    agent = ok_json(arena("agent", winner_agent, "--json", env=env))
    assert agent["reverted"] == 1 and agent["k"] == 1
    assert agent["stake"] == pytest.approx(10 * agent["base_stake"])
    shown = ok_json(arena("show", arena_id, "--json", env=env))
    assert shown["pull_request"]["merged"] is True

    assert searched_everywhere(loop, token) == []
    planted = Path(env["ARENA_DATA_DIR"]) / "planted.txt"  # the search itself can find what it looks for
    planted.write_text(f"x {base64.b64encode(token.encode()).decode()} x")
    assert searched_everywhere(loop, token) == [str(planted)]


def test_the_loop_with_a_github_app_and_a_revert_pr(loop):
    gh, env = loop["gh"], dict(loop["env"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    gh.add_app(77, public, {5: {GITHUB_REPO.full_name}})
    (loop["tmp"] / "app.pem").write_text(pem)
    env |= {"ARENA_GITHUB_APP_ID": "77", "ARENA_GITHUB_APP_PRIVATE_KEY": str(loop["tmp"] / "app.pem")}

    arena_id = ok_json(arena("run", str(spec_file(loop)), "--json", env=env))["arena_id"]
    number = ok_json(arena("show", arena_id, "--json", env=env))["pull_request"]["number"]
    assert gh.minted and all(m["repositories"] == [GITHUB_REPO.full_name] for m in gh.minted)
    gh.merge(GITHUB_REPO.full_name, number)
    gh.revert_pr(GITHUB_REPO.full_name, number)
    events = [e["event"] for e in ok_json(arena("sync", "--json", env=env)) if e["arena_id"] == arena_id]
    assert events == ["merged", "reverted"]
    for minted in gh.minted:
        assert searched_everywhere(loop, minted["token"]) == []
    assert searched_everywhere(loop, pem.splitlines()[1]) == []


def test_no_token_or_a_missing_issue_fails_before_any_sandbox_starts(loop):
    env = dict(loop["env"])
    done = arena("run", str(spec_file(loop)), "--json", env=env)
    assert done.returncode == 2 and "GITHUB_TOKEN" in done.stderr
    env["GITHUB_TOKEN"] = loop["gh"].add_token()
    spec = yaml.safe_load(spec_file(loop).read_text())
    spec["task"]["github_issue"] = f"{GITHUB_REPO.full_name}#404"
    (loop["tmp"] / "missing.yaml").write_text(yaml.safe_dump(spec))
    done = arena("run", str(loop["tmp"] / "missing.yaml"), "--json", env=env)
    assert done.returncode == 2 and "404" in done.stderr
    assert ok_json(arena("list", "--json", env=env)) == []


def test_a_push_that_fails_keeps_the_verdict_and_arena_pr_retries(loop):
    gh, env = loop["gh"], dict(loop["env"])
    env["GITHUB_TOKEN"] = gh.add_token()
    gh.fail_pushes(10)
    done = arena("run", str(spec_file(loop)), "--json", env=env)
    run = json.loads(done.stdout)
    assert run["verdict"]["winner"] == "fixer"
    assert "arena pr" in done.stderr
    assert gh.repos[GITHUB_REPO.full_name].pulls == {}
    gh._push_failures = 0
    retried = ok_json(arena("pr", run["arena_id"], "--json", env=env))
    assert retried["pull_request"]["draft"] is True and retried["error"] is None


def test_the_issue_command_line_form(loop):
    gh, env = loop["gh"], dict(loop["env"])
    env["GITHUB_TOKEN"] = gh.add_token()
    done = arena(
        "run",
        "--issue",
        f"{GITHUB_REPO.full_name}#{loop['issue']}",
        "--contestant",
        f"fixer=scripted:{loop['steps'] / 'fix.yaml'}:minimal-fix",
        "--test-command",
        "python3 -m pytest -q",
        "--pr",
        "--json",
        env=env,
    )
    run = ok_json(done)
    shown = ok_json(arena("show", run["arena_id"], "--json", env=env))
    assert shown["pull_request"]["number"] >= 1
    assert shown["title"] == "add() subtracts"
