"""The GitHub loop in the app, in Chromium against a real `streamlit run` whose GitHub is the fake (started in this
process; the server reaches it on 127.0.0.1): type the issue on Launch and see it, launch scripted contestants,
Live to the verdict, Results shows the draft PR and its link, pick another candidate and Update PR (the PR's head
branch moves to its commit), then merge on "GitHub" and watch the app's periodic sync show it merged.

AppTest covers the same pieces one by one (test_github_launch.py, test_github_results.py); this is what a user
sees: the widgets as the browser draws them, the link, the background sync in a real server process.
"""

import time

import pytest
import yaml

from arena.config import Settings
from arena.reputation.ledger import Ledger
from arena.storage import Store
from tests.app.conftest import ARGS, ARTIFACTS, CHROMIUM, SUBMIT
from tests.conftest import GITHUB_REPO, write_steps

SYNC_S = 2


@pytest.fixture
def gh(fake_github):
    fake_github.add_issue(GITHUB_REPO.full_name, "add() subtracts", "add(2, 3) returns -1; it must return 5.")
    fake_github.token = fake_github.add_token()
    return fake_github


@pytest.fixture
def server_env(gh) -> dict[str, str]:
    return {
        "GITHUB_API_URL": gh.api_url,
        "GITHUB_TOKEN": gh.token,
        "ARENA_ALLOW_PRIVATE_NETWORK": "1",  # the fake listens on 127.0.0.1
        "ARENA_GITHUB_SYNC_S": str(SYNC_S),
    }


def test_issue_to_draft_pr_to_another_candidate_to_merged(gh, server, tmp_path, request):
    from playwright.sync_api import expect, sync_playwright

    url, data = server
    steps = tmp_path / "steps"
    write_steps(steps / "fix.yaml", [{"commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]}, {"commands": [SUBMIT]}])
    write_steps(steps / "wrong.yaml", [{"commands": ["sed -i 's/a - b/a * b/' calc/ops.py"]}, {"commands": [SUBMIT]}])
    spec = {  # contestants and limits; the task comes from the issue typed below
        "task": {"test_command": "python3 -m pytest -q"},
        "contestants": [
            {"name": "fixer", "model": f"scripted:{steps / 'fix.yaml'}", "strategy": "minimal-fix"},
            {"name": "breaker", "model": f"scripted:{steps / 'wrong.yaml'}", "strategy": "test-first"},
        ],
        "limits": {"max_parallel": 2, "time_budget_s": 180},
    }
    (tmp_path / "arena.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        def settled(where: str) -> None:
            page.wait_for_timeout(300)
            page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)
            assert page.locator("[data-testid='stException']").count() == 0, where

        def reload_until(text: str, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while True:
                settled(f"waiting for {text}")
                if page.get_by_text(text).count():
                    return
                assert time.monotonic() < deadline, f"{text!r} not shown within {seconds} s"
                page.wait_for_timeout(500)
                page.reload()

        try:
            # Launch: the contestants from a spec, the task from the issue, shown before launching.
            page.goto(f"{url}/launch")
            page.wait_for_selector("h1:has-text('Launch an arena')", timeout=30_000)
            page.locator("input[type=file]").first.set_input_files(str(tmp_path / "arena.yaml"))
            page.wait_for_function(
                "t => [...document.querySelectorAll('input')].some(i => i.value === t)",
                arg=spec["task"]["test_command"],
                timeout=30_000,
            )
            settled("launch after the upload")
            page.get_by_role("radio", name="GitHub issue").check(force=True)
            settled("GitHub issue chosen")
            page.get_by_role("textbox", name="GitHub issue").fill(f"{GITHUB_REPO.full_name}#1")
            page.get_by_role("textbox", name="GitHub issue").press("Enter")
            preview = page.locator("[data-testid='stAlertContentSuccess']").first
            expect(preview).to_contain_text("add() subtracts", timeout=30_000)
            expect(preview).to_contain_text(f"repository {GITHUB_REPO.full_name}")
            expect(preview).to_contain_text("base: main at")
            expect(page.get_by_label("Repository (optional)")).to_have_attribute(
                "placeholder", "empty: the issue's repository"
            )
            page.get_by_text("Open a draft pull request").click()
            settled("pull request ticked")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "github-launch.png"))
            page.get_by_role("button", name="Launch", exact=True).click()

            # Live, to the verdict.
            page.wait_for_selector("h1:has-text('Live')", timeout=60_000)
            page.wait_for_selector("text=Verdict: winner fixer", timeout=180_000)
            store = Store(Settings.from_env(data).database_url)
            [arena] = store.arenas()

            # Results: the draft PR, its link, the pushed branches (the verdict moved the early draft to the winner).
            page.get_by_role("link", name="Open the results").click()
            page.wait_for_selector("text=Pull request on GitHub", timeout=30_000)
            reload_until("shows fixer", 60)
            published = store.publication(arena.id)
            pull = gh.repos[GITHUB_REPO.full_name].pulls[published.pr_number]
            assert pull["draft"] and pull["head"]["ref"] == f"arena/{arena.id}/pr"
            link = page.get_by_role("link", name=f"PR #{published.pr_number}")
            assert link.get_attribute("href") == published.pr_url == pull["html_url"]
            expect(page.get_by_text(f"PR #{published.pr_number} · open · draft · shows fixer")).to_be_visible()
            branches = page.locator("[data-testid='stDataFrame']").last
            expect(branches).to_contain_text(f"arena/{arena.id}/c/breaker")  # a canvas grid: its aria text

            # Another candidate: Update PR moves the PR's head branch to its commit.
            picker = page.get_by_role("combobox", name="Candidate for the pull request")
            picker.click()
            picker.fill("breaker")
            picker.press("Enter")
            expect(picker).to_have_value("breaker", timeout=10_000)
            settled("breaker chosen")
            page.get_by_role("button", name="Update PR").click()
            expect(page.get_by_text("shows breaker").first).to_be_visible(timeout=60_000)
            settled("updated")
            page.screenshot(path=str(ARTIFACTS / "github-results.png"), full_page=True)
            published = store.publication(arena.id)
            assert published.head_contestant == "breaker"
            head = gh.branch_sha(GITHUB_REPO.full_name, f"arena/{arena.id}/pr")
            assert head == published.branches["breaker"]["commit"] != published.branches["fixer"]["commit"]
            assert len(gh.repos[GITHUB_REPO.full_name].pulls) == 1

            # Merged on GitHub: the app's periodic sync reads it back within its interval (plus a page load).
            gh.merge(GITHUB_REPO.full_name, published.pr_number)
            merged_at = time.monotonic()
            reload_until(f"PR #{published.pr_number} · merged", 4 * SYNC_S + 10)
            assert time.monotonic() - merged_at < 4 * SYNC_S + 10
            page.goto(f"{url}/arenas")
            page.wait_for_selector(f"text={arena.id}", timeout=30_000)
            expect(page.get_by_text(f"PR #{published.pr_number} · merged · shows breaker")).to_be_visible()
            settled("arenas")
            page.goto(f"{url}/health")
            page.wait_for_selector(f"text=arena {arena.id}: merged in", timeout=30_000)
            settled("health")
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            raise
        finally:
            browser.close()
    merged = [e for e in Ledger(store).events(arena_id=arena.id) if e.kind == "merged"]
    assert [(e.contestant, e.detail["pr"]) for e in merged] == [("breaker", published.pr_number)]
