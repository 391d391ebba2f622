"""The first hour, as a user lives it (issue 10's acceptance), in Chromium against a real `streamlit run`:

demo -> Arenas, Run again -> Launch -> upload a spec with every field -> download it (identical) -> Launch ->
Live (the arena appears and runs to its verdict) -> Results (wrapped diffs with the changed words marked, one
candidate against another) -> Apply (the winner committed on a branch of the repository, the working tree
untouched). Every step checks what the user sees, and that no page shows a Streamlit exception.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

from arena.config import Settings
from arena.demo import FIXED_LINE
from arena.storage import Store
from tests.app.conftest import ARGS, ARTIFACTS, CHROMIUM, GATEWAY_KEY, ROOT, every_field_spec


@pytest.fixture
def server_env() -> dict[str, str]:
    """The spec's reviewer endpoint names its key's variable; launching checks the variable is set."""
    return {GATEWAY_KEY: "not-a-real-key"}


def git(repo, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def test_the_first_hour(server, tmp_path, request):
    from playwright.sync_api import expect, sync_playwright

    url, data = server
    demo = subprocess.run(
        [sys.executable, "-m", "arena.cli", "demo", "--json"],
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    demo_id = json.loads(demo.stdout)["arena_id"]
    repo = data / "sample" / "demo-repo"
    spec = every_field_spec(
        data / "sample", tmp_path, github=False, cli_runner=False
    )  # the demo's repository and steps
    (tmp_path / "arena.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    head = git(repo, "rev-parse", "HEAD")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)

        def no_exception(where: str) -> None:
            page.wait_for_timeout(300)
            page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)
            assert page.locator("[data-testid='stException']").count() == 0, where

        try:
            # The demo on Arenas, and Run again: Launch opens prefilled with its spec.
            page.goto(f"{url}/arenas")
            demo_title = "median() is wrong for sequences of even length"
            page.wait_for_selector(f"text={demo_title}", timeout=30_000)
            page.wait_for_selector(f"text={demo_id}", timeout=30_000)
            no_exception("arenas")
            page.get_by_role("button", name="Run again").first.click()
            page.wait_for_selector("h1:has-text('Launch an arena')", timeout=30_000)
            page.wait_for_selector("text=Kept as is", timeout=30_000)  # fail_to_pass, pass_to_pass, ...
            no_exception("launch after Run again")
            expect(page.get_by_label("Title")).to_have_value(demo_title, timeout=10_000)  # the input fills a beat late

            # Upload the spec with every field; the form shows it; Download gives it back unchanged.
            page.locator("input[type=file]").first.set_input_files(str(tmp_path / "arena.yaml"))
            page.wait_for_function(
                "t => [...document.querySelectorAll('input')].some(i => i.value === t)",
                arg=spec["task"]["title"],
                timeout=30_000,
            )
            page.wait_for_selector("text=judge.synthesize", timeout=30_000)  # in the kept-as-is expander's label
            no_exception("launch after the upload")
            expect(page.get_by_label("Time budget (s)")).to_have_value("600", timeout=10_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "first-hour-launch.png"))
            with page.expect_download(timeout=30_000) as info:
                page.get_by_role("button", name="Download spec YAML").click()
            info.value.save_as(tmp_path / "downloaded.yaml")
            assert yaml.safe_load((tmp_path / "downloaded.yaml").read_text()) == spec

            # Launch: Live shows the new arena, its contestants, their steps, then the verdict.
            page.get_by_role("button", name="Launch", exact=True).click()
            page.wait_for_selector("h1:has-text('Live')", timeout=30_000)
            page.wait_for_selector(f"text={spec['task']['title']}", timeout=30_000)
            assert [t.strip() for t in page.get_by_role("tab").all_inner_texts()] == [
                c["name"] for c in spec["contestants"]
            ]
            page.wait_for_selector("text=Find where median is defined.", timeout=90_000)  # correct-fix's first step
            page.wait_for_selector("text=Verdict: winner correct-fix", timeout=120_000)
            no_exception("live")
            store = Store(Settings.from_env(data).database_url)
            arena = next(a for a in store.arenas() if a.id != demo_id)
            assert arena.status == "completed" and arena.spec["judge"]["test_timeout_s"] == 300
            assert arena.spec["sandbox"]["memory_mb"] == 2048 and arena.spec["task"]["test_patch"]

            # Results: the winner, diffs that wrap with the changed words marked, one candidate against another.
            page.get_by_role("link", name="Open the results").click()
            page.wait_for_selector("text=Hand it on", timeout=30_000)
            no_exception("results")
            assert page.locator("[data-testid='stMetricValue']").first.inner_text() == "correct-fix"
            side = page.locator(".arena-diff").first
            assert side.evaluate("e => getComputedStyle(e.querySelector('.l')).whiteSpace") == "pre-wrap"
            assert page.locator(".arena-diff ins.w").first.is_visible()  # a changed word, highlighted
            page.wait_for_selector("text=How wrong-fix's files differ from correct-fix's", timeout=30_000)
            pairwise = page.locator(".arena-diff").last
            assert pairwise.locator("del.w").first.inner_text() == "/"  # correct-fix divides with `/`,
            assert pairwise.locator("ins.w").first.inner_text() == "//"  # wrong-fix with `//`
            ARTIFACTS.mkdir(exist_ok=True)
            side.screenshot(path=str(ARTIFACTS / "first-hour-diff.png"))
            pairwise.screenshot(path=str(ARTIFACTS / "first-hour-pairwise.png"))

            # Apply: the winner is committed on a new branch; the user's checkout is not touched.
            page.get_by_role("button", name="Apply").click()
            branch = f"arena/{arena.id}-correct-fix"
            page.wait_for_selector(f"text=on branch {branch}", timeout=30_000)
            no_exception("apply")
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            raise
        finally:
            browser.close()

    assert git(repo, "rev-parse", f"{branch}~1") == head
    assert FIXED_LINE in git(repo, "show", f"{branch}:textstats/stats.py")
    assert f"Arena-Id: {arena.id}" in git(repo, "log", "-1", "--format=%B", branch)
    assert git(repo, "status", "--porcelain") == "" and git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
