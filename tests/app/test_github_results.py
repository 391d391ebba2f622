"""An arena's pull request in the app, under AppTest against the fake GitHub: Results opens and updates it (`arena
pr`'s checks and messages), Arenas lists its state with a link, and the app's periodic sync reads a merge back so
Health, Arenas and an agent's history (PR links) show it without a terminal."""

import time

import pytest

from app import github_loop
from app.github_sync import GitHubSync, summary
from tests.app.conftest import SUBMIT, app, texts
from tests.conftest import GITHUB_REPO, spec_dict, write_steps


@pytest.fixture
def judged(fake_github, data, tmp_path, monkeypatch):
    """An arena on acme/calc#1 launched through the app's engine and judged (fixer wins, breaker loses); its spec
    asks for no PR, so the engine's Publisher pushed both candidates' branches and opened nothing."""
    from app.resources import engine

    monkeypatch.setenv("ARENA_ALLOW_PRIVATE_NETWORK", "1")
    monkeypatch.setenv("ARENA_GITHUB_SYNC_S", "1")
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.add_token())
    issue = fake_github.add_issue(GITHUB_REPO.full_name, "add() subtracts", "add(2, 3) returns -1")
    steps = tmp_path / "steps"
    write_steps(steps / "fix.yaml", [{"commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]}, {"commands": [SUBMIT]}])
    write_steps(steps / "wrong.yaml", [{"commands": ["sed -i 's/a - b/a * b/' calc/ops.py"]}, {"commands": [SUBMIT]}])
    raw = spec_dict(
        fake_github.clone_url(GITHUB_REPO.full_name),
        [
            {"name": "fixer", "model": f"scripted:{steps / 'fix.yaml'}", "strategy": "minimal-fix"},
            {"name": "breaker", "model": f"scripted:{steps / 'wrong.yaml'}", "strategy": "test-first"},
        ],
        task={"test_command": "python3 -m pytest -q", "github_issue": f"{GITHUB_REPO.full_name}#{issue}"},
    )
    from arena.spec import spec_from_dict

    arena_id = engine().launch(spec_from_dict(raw, base_dir=tmp_path))
    assert engine().wait(arena_id, timeout=180)
    assert engine().store.latest_verdict(arena_id).winner == "fixer"
    return fake_github, arena_id


def results(arena_id: str):
    at = app()
    at.session_state["arena_id"] = arena_id
    at.switch_page("../pages/results.py").run()
    assert not at.exception, at.exception
    return at


def pr_button(at, arena_id: str):
    return at.button(key=f"pr-{arena_id}")


def test_results_opens_the_pr_then_moves_it_to_another_candidate(judged, monkeypatch):
    gh, arena_id = judged
    at = results(arena_id)
    assert "Pull request on GitHub" in [h.value for h in at.subheader]
    assert "GitHub `acme/calc`: 2 branch(es) pushed, no pull request" in texts(at)
    branches = next(d.value for d in at.dataframe if "branch" in d.value.columns)
    assert set(branches["candidate"]) == {"fixer", "breaker"}
    assert at.selectbox(key=f"pr-who-{arena_id}").value == github_loop.JUDGE
    assert pr_button(at, arena_id).label == "Open PR"

    pr_button(at, arena_id).click().run()
    assert not at.exception, at.exception
    published = github_loop.publication(arena_id)
    pull = published["pull_request"]
    assert [s.value for s in at.success] == [
        f"2 candidate branch(es) pushed to acme/calc; pull request #{pull['number']} (open · draft) shows fixer: "
        f"{pull['url']}"
    ]
    assert f"[PR #{pull['number']}]({pull['url']}) · open · draft · shows `fixer`" in texts(at)
    pr_ref = f"arena/{arena_id}/pr"
    assert gh.branch_sha(GITHUB_REPO.full_name, pr_ref) == published["branches"]["fixer"]["commit"]

    at.selectbox(key=f"pr-who-{arena_id}").set_value("breaker").run()
    assert pr_button(at, arena_id).label == "Update PR"
    pr_button(at, arena_id).click().run()
    assert "· open · draft · shows `breaker`" in texts(at)
    assert gh.branch_sha(GITHUB_REPO.full_name, pr_ref) == published["branches"]["breaker"]["commit"]
    assert len(gh.repos[GITHUB_REPO.full_name].pulls) == 1  # one PR per arena, moved

    at = app("arenas")
    assert f"[PR #{pull['number']}]({pull['url']}) · open · draft · shows `breaker`" in texts(at)

    monkeypatch.delenv("GITHUB_TOKEN")  # what `arena pr` says without credentials; nothing changes
    at = results(arena_id)
    pr_button(at, arena_id).click().run()
    [error] = [e.value for e in at.error]
    assert error.startswith("no GitHub credentials: set GITHUB_TOKEN"), error
    assert gh.branch_sha(GITHUB_REPO.full_name, pr_ref) == published["branches"]["breaker"]["commit"]


def test_the_periodic_sync_reads_a_merge_back_for_health_arenas_and_the_agents_history(judged):
    from app.resources import engine, github_sync

    gh, arena_id = judged
    at = results(arena_id)
    pr_button(at, arena_id).click().run()
    number = github_loop.publication(arena_id)["pull_request"]["number"]
    assert github_sync().interval_s == 1.0  # ARENA_GITHUB_SYNC_S, read when the engine was built
    gh.merge(GITHUB_REPO.full_name, number)
    deadline = time.monotonic() + 20
    while github_sync().found is None:  # the latest round that found something
        assert time.monotonic() < deadline, github_sync().last
        time.sleep(0.3)
    merge = gh.repos[GITHUB_REPO.full_name].pulls[number]["merge_commit_sha"]
    found = github_sync().found
    assert found.summary == f"arena {arena_id}: merged in {merge[:12]}" and found.ok
    assert [e["event"] for e in found.events] == ["merged"]

    at = app("health")
    # The round that found the merge, as the last sync or, once a later round found nothing new, as the last news.
    assert f"UTC: arena {arena_id}: merged in {merge[:12]}" in texts(at)
    assert "credentials: GITHUB_TOKEN (never shown)" in texts(at)
    assert "pull requests are read back every 1 s (ARENA_GITHUB_SYNC_S); 1 pull requests recorded" in texts(at)
    at = app("arenas")
    url = gh.repos[GITHUB_REPO.full_name].pulls[number]["html_url"]
    assert f"[PR #{number}]({url}) · merged · shows `fixer`" in texts(at)

    agent = next(c for c in engine().store.arena(arena_id).contestants if c.name == "fixer")
    history = github_loop.history(engine().ledger.state(f"{agent.model}+{agent.strategy}").history)
    assert [(e["kind"], e["pull request"]) for e in history if e["pull request"]] == [("merged", url)]
    assert all(e["pull request"] is None for e in history if e["kind"] != "merged")


def test_a_failed_sync_is_kept_for_health_and_the_thread_goes_on(judged, monkeypatch):
    from app.resources import engine

    _, arena_id = judged
    results(arena_id)  # nothing opened: no PR, so nothing to sync
    job = GitHubSync(engine().store, engine().ledger)
    assert job.run_once() is None and job.last is None
    github_loop.open_or_update(arena_id, None)
    monkeypatch.delenv("GITHUB_TOKEN")
    failed = job.run_once()
    assert not failed.ok and failed.summary.startswith("GitHubError: no GitHub credentials: set GITHUB_TOKEN")
    monkeypatch.setenv("ARENA_GITHUB_SYNC_S", "soon")
    job = GitHubSync(engine().store, engine().ledger).start()
    try:
        assert job.interval_s == 300.0 and job.setting_error.startswith("ARENA_GITHUB_SYNC_S='soon' is not a number")
        deadline = time.monotonic() + 10
        while job.last is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert not job.last.ok and job._thread.is_alive()
    finally:
        job.stop()


def test_sync_lines_read_as_arena_syncs_do():
    assert summary([]) == "nothing new"
    found = [
        {"arena_id": "a1", "event": "merged", "commit": "0123456789abcdef"},
        {"arena_id": "a2", "event": "abandoned", "commit": ""},  # closed unmerged: no commit, no why
        {"arena_id": "a3", "event": "skipped", "commit": "", "why": "GitHub answered 404"},
    ]
    assert (
        summary(found)
        == "arena a1: merged in 0123456789ab; arena a2: abandoned; arena a3: skipped (GitHub answered 404)"
    )
