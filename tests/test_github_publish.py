"""publish() and sync() in process against the fake GitHub, on an arena the engine really ran (bubblewrap sandboxes,
scripted contestants): branches, one draft PR with the evidence, merge and revert read back into the ledger."""

import pytest

from arena.engine import Engine
from arena.publish.pull_request import publish, sync
from arena.reputation.ledger import Ledger
from arena.spec import spec_from_dict
from tests.conftest import GITHUB_REPO, spec_dict, write_steps

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


@pytest.fixture
def judged(fake_github, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_ALLOW_PRIVATE_NETWORK", "1")
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token())
    issue = fake_github.add_issue(GITHUB_REPO.full_name, "add() subtracts", "add(2, 3) returns -1")
    steps = tmp_path / "steps"
    write_steps(steps / "fix.yaml", [{"commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]}, {"commands": [SUBMIT]}])
    write_steps(steps / "wrong.yaml", [{"commands": ["sed -i 's/a - b/a * b/' calc/ops.py"]}, {"commands": [SUBMIT]}])
    write_steps(steps / "idle.yaml", [{"commands": [SUBMIT]}])
    raw = spec_dict(
        fake_github.clone_url(GITHUB_REPO.full_name),
        [
            {"name": "fixer", "model": f"scripted:{steps / 'fix.yaml'}", "strategy": "minimal-fix"},
            {"name": "breaker", "model": f"scripted:{steps / 'wrong.yaml'}", "strategy": "test-first"},
            {"name": "idler", "model": f"scripted:{steps / 'idle.yaml'}", "strategy": "balanced"},
        ],
        task={"test_command": "python3 -m pytest -q", "github_issue": f"{GITHUB_REPO.full_name}#{issue}"},
    )
    engine = Engine(settings)
    try:
        arena_id = engine.run(spec_from_dict(raw, base_dir=tmp_path))
    finally:
        engine.shutdown()
    return fake_github, engine.store, settings, arena_id, issue


def test_candidates_become_branches_and_the_winner_one_draft_pr_with_the_evidence(judged):
    gh, store, settings, arena_id, issue = judged
    done = publish(store, settings, arena_id)
    assert set(done["branches"]) == {"fixer", "breaker"}  # idler changed nothing: no branch
    pull = done["pull_request"]
    assert pull["draft"] and pull["state"] == "open" and pull["head_contestant"] == "fixer"
    pr = gh.repos[GITHUB_REPO.full_name].pulls[pull["number"]]
    assert pr["head"]["ref"] == f"arena/{arena_id}/pr" and pr["base"]["ref"] == "main"
    assert gh.branch_sha(GITHUB_REPO.full_name, f"arena/{arena_id}/pr") == done["branches"]["fixer"]["commit"]
    body = pr["body"]
    assert "**Winner: `fixer`** (1 of 3 candidates resolved the task)" in body
    assert "### Why the others lost" in body and "- `breaker`:" in body
    assert body.rstrip().endswith(f"Fixes #{issue}\nArena-Id: {arena_id}")
    assert gh.repos[GITHUB_REPO.full_name].statuses[-1]["state"] == "success"

    again = publish(store, settings, arena_id)  # idempotent: the same PR, the same commits
    assert again["pull_request"]["number"] == pull["number"] and again["branches"] == done["branches"]
    assert len(gh.repos[GITHUB_REPO.full_name].pulls) == 1

    other = publish(store, settings, arena_id, contestant="breaker")  # a hand pick moves the PR's head
    assert other["pull_request"]["number"] == pull["number"]
    assert gh.branch_sha(GITHUB_REPO.full_name, f"arena/{arena_id}/pr") == done["branches"]["breaker"]["commit"]
    assert "**Chosen by hand: `breaker`**" in gh.repos[GITHUB_REPO.full_name].pulls[pull["number"]]["body"]


def test_a_pr_created_but_not_recorded_is_adopted_not_duplicated(judged):
    gh, store, settings, arena_id, _ = judged
    first = publish(store, settings, arena_id)
    store.update_publication(arena_id, pr_number=None)  # as if the process died right after creating it
    second = publish(store, settings, arena_id)
    assert second["pull_request"]["number"] == first["pull_request"]["number"]
    assert len(gh.repos[GITHUB_REPO.full_name].pulls) == 1


def test_merge_then_revert_are_read_back_once(judged):
    gh, store, settings, arena_id, _ = judged
    number = publish(store, settings, arena_id)["pull_request"]["number"]
    ledger = Ledger(store)
    agent = next(f"{c.model}+{c.strategy}" for c in store.arena(arena_id).contestants if c.name == "fixer")
    assert sync(store, ledger) == []
    merge = gh.merge(GITHUB_REPO.full_name, number)
    assert [e["event"] for e in sync(store, ledger)] == ["merged"]
    assert sync(store, ledger) == []
    state = ledger.state(agent)
    assert state.merged == 1 and state.k == 0 and state.escrow == 0
    gh.revert(GITHUB_REPO.full_name, merge)
    assert [e["event"] for e in sync(store, ledger)] == ["reverted"]
    assert sync(store, ledger) == []
    state = ledger.state(agent)
    assert state.reverted == 1 and state.k == 1 and state.stake == pytest.approx(10 * state.base_stake)


def test_a_closed_unmerged_pr_returns_the_stake(judged):
    gh, store, settings, arena_id, _ = judged
    number = publish(store, settings, arena_id)["pull_request"]["number"]
    ledger = Ledger(store)
    assert ledger.winner_escrow(arena_id) is not None
    gh.close(GITHUB_REPO.full_name, number)
    assert [e["event"] for e in sync(store, ledger)] == ["abandoned"]
    assert ledger.winner_escrow(arena_id) is None
    assert sync(store, ledger) == []
