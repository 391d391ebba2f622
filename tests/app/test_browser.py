"""A real `streamlit run` and a real headless Chromium on the Live page of a running scripted arena.

AppTest hides problems a user would hit (sys.path, static assets, websockets); this does not.
The screenshot is saved as a test artifact in test-artifacts/.
"""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from app.launch import REFUSAL
from arena.config import Settings
from arena.storage import Store
from tests.app.conftest import ARGS, ARTIFACTS, CHROMIUM
from tests.conftest import CALC_FILES, make_repo, write_steps

NAMES = ["alpha", "bravo", "charlie"]

ROOT = Path(__file__).resolve().parents[2]


def test_streamlit_run_serves_the_app(server):
    """The real server answers (AppTest hides sys.path and asset problems); the fixture checked /_stcore/health."""
    url, _ = server
    with urllib.request.urlopen(f"{url}/", timeout=5) as r:
        assert b'<div id="root">' in r.read()


def test_live_page_of_a_running_arena_in_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, data = server
    repo, arena_dir = tmp_path / "calc", tmp_path / "arena"
    make_repo(repo, CALC_FILES)
    for name in NAMES:  # slow enough that the arena is still running while the browser looks
        steps = [{"thought": f"{name} step {i}", "commands": [f"echo {name}-{i} && sleep 1"]} for i in range(12)]
        write_steps(
            arena_dir / f"{name}.yaml",
            [*steps, {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}],
        )
    spec = {
        "task": {"repo": str(repo), "title": "browser test", "problem_statement": "add() subtracts"},
        "contestants": [{"name": n, "model": f"scripted:{n}.yaml"} for n in NAMES],
    }
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    runner = subprocess.Popen(
        [sys.executable, "-m", "arena.cli", "run", str(arena_dir / "arena.yaml"), "--json"],
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            deadline = time.monotonic() + 30
            while runner.poll() is None and time.monotonic() < deadline:  # until the arena row exists
                page.goto(f"{url}/live")
                page.wait_for_selector("h1:has-text('Live')", timeout=30_000)
                if page.get_by_role("tab").count() == len(NAMES):
                    break
                time.sleep(0.5)
            tabs = page.get_by_role("tab")
            assert [tabs.nth(i).inner_text().strip() for i in range(tabs.count())] == NAMES
            page.wait_for_selector("text=alpha-1", timeout=30_000)  # a step's output, as it arrives
            assert runner.poll() is None, "the arena ended before the browser saw it running"
            tabs.nth(1).click()
            page.wait_for_selector("text=bravo-", timeout=30_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "live.png"), full_page=True)
            browser.close()
    finally:
        runner.terminate()
        runner.wait(timeout=30)
    assert (ARTIFACTS / "live.png").stat().st_size > 10_000


def test_launch_from_the_browser_and_watch_it_to_its_verdict(server, tmp_path):
    """Upload a spec on Launch, press Launch, and follow the Live page until the verdict shows."""
    from playwright.sync_api import sync_playwright

    url, _ = server
    repo, arena_dir = tmp_path / "calc", tmp_path / "arena"
    make_repo(repo, CALC_FILES)
    look = [{"thought": f"look {i}", "commands": [f"echo look-{i} && sleep 0.5"]} for i in range(4)]
    write_steps(
        arena_dir / "fix.yaml",
        [
            *look,
            {"thought": "fix", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]},
            {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]},
        ],
    )
    write_steps(
        arena_dir / "idle.yaml",
        [*look, {"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}],
    )
    spec = {
        "task": {
            "repo": str(repo),
            "title": "launched from the browser",
            "problem_statement": "add() subtracts",
            "test_command": "python3 -c 'from calc.ops import add; assert add(2, 3) == 5'",
        },
        "contestants": [
            {"name": "fixer", "model": f"scripted:{arena_dir / 'fix.yaml'}", "strategy": "minimal-fix"},
            {"name": "idler", "model": f"scripted:{arena_dir / 'idle.yaml'}", "strategy": "balanced"},
        ],
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/launch")
        page.wait_for_selector("h1:has-text('Launch an arena')", timeout=30_000)
        page.locator("input[type=file]").first.set_input_files(str(tmp_path / "spec.yaml"))
        page.wait_for_function(
            "document.body.innerText.includes('launched from the browser') || "
            "[...document.querySelectorAll('input')].some(i => i.value === 'launched from the browser')",
            timeout=30_000,
        )
        page.get_by_role("button", name="Launch", exact=True).click()
        page.wait_for_selector("h1:has-text('Live')", timeout=30_000)
        assert [t.strip() for t in page.get_by_role("tab").all_inner_texts()] == ["fixer", "idler"]
        page.wait_for_selector("text=Verdict: winner fixer", timeout=90_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "live-verdict.png"), full_page=True)
        page.get_by_role("link", name="Open the results").click()
        page.wait_for_selector("text=The losers, and why they lost", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "results.png"), full_page=True)
        browser.close()


def test_every_page_renders_in_chromium_without_a_server_traceback(server):
    """AppTest does not serialize every element the way the server does (Arrow tables, say): open each page for real."""
    from playwright.sync_api import sync_playwright

    url, data = server
    for _ in range(2):  # two demo arenas: ratings, costs and reputation have something to show
        subprocess.run(
            [sys.executable, "-m", "arena.cli", "demo", "--json"],
            env={**os.environ, "ARENA_DATA_DIR": str(data)},
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=120,
        )
    titles = {
        "arenas": "Arenas",
        "launch": "Launch an arena",
        "live": "Live",
        "results": "Results",
        "leaderboard": "Leaderboard",
        "costs": "Costs",
        "reputation": "Reputation",
        "trajectories": "Trajectories",
        "health": "Health",
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path, title in titles.items():
            page.goto(f"{url}/{path}")
            page.wait_for_selector(f"h1:has-text('{title}')", timeout=30_000)
            page.wait_for_timeout(800)  # let the script finish; the server fixture fails on any traceback it logged
            assert page.locator("[data-testid='stException']").count() == 0, path
        browser.close()


def test_the_arenas_address_opens_the_arenas_page_without_a_page_not_found(server):
    """/arenas used to be "Page not found": the default page is served at "/" only. "/" now leads to /arenas."""
    from playwright.sync_api import sync_playwright

    url, data = server
    subprocess.run(
        [sys.executable, "-m", "arena.cli", "demo", "--json"],
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=120,
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path in ("arenas", ""):
            page.goto(f"{url}/{path}")
            page.wait_for_selector("h1:has-text('Arenas')", timeout=30_000)
            page.wait_for_selector("text=median() is wrong", timeout=30_000)
            page.wait_for_timeout(1500)  # the toast comes after the page has rendered
            assert "Page not found" not in page.inner_text("body"), path
            assert page.url == f"{url}/arenas", path
        browser.close()


def test_an_uploaded_unsafe_local_spec_is_refused_and_runs_nothing(server, tmp_path):
    """The upload path (AppTest cannot upload): refused on the form and on Launch; its setup never runs on the host."""
    from playwright.sync_api import sync_playwright

    url, data = server
    repo, marker = tmp_path / "calc", tmp_path / "ran-on-the-host"
    make_repo(repo, CALC_FILES)
    write_steps(
        tmp_path / "done.yaml", [{"thought": "done", "commands": ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]}]
    )
    spec = {
        "task": {
            "repo": str(repo),
            "title": "uploaded unsafe spec",
            "problem_statement": "add() subtracts",
            "setup_command": f"touch {marker}",
        },
        "contestants": [{"name": "a", "model": f"scripted:{tmp_path / 'done.yaml'}"}],
        "sandbox": {"backend": "unsafe-local"},
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/launch")
        page.wait_for_selector("h1:has-text('Launch an arena')", timeout=30_000)
        page.locator("input[type=file]").first.set_input_files(str(tmp_path / "spec.yaml"))
        page.wait_for_selector(f"text={REFUSAL}", timeout=30_000)  # on the form, before any press
        page.get_by_role("button", name="Launch", exact=True).click()
        page.wait_for_timeout(3000)  # a launch would have started the setup command by now
        page.wait_for_selector(f"text={REFUSAL}", timeout=30_000)
        assert page.locator("h1:has-text('Launch an arena')").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "launch-unsafe-refused.png"), full_page=True)
        browser.close()
    assert not marker.exists()
    assert Store(Settings.from_env(data).database_url).arenas() == []
