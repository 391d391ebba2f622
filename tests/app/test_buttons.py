"""Every button on Arenas and Live shows its whole label at 1280x800 (issue 10: "Resul…", "Cancel are…").

A label is cut when an element of the button is wider inside than out (scrollWidth > clientWidth), or shows "…".
"""

import os
import subprocess
import sys
import time

import yaml

from tests.app.conftest import ARGS, ARTIFACTS, CHROMIUM, ROOT, SUBMIT
from tests.conftest import CALC_FILES, make_repo, write_steps

VIEWPORT = {"width": 1280, "height": 800}
BUTTONS = "[data-testid='stMain'] [data-testid='stButton'] button, [data-testid='stMain'] [data-testid='stPageLink'] a"
CUT = """sel => [...document.querySelectorAll(sel)].map(b => ({
    label: (b.querySelector("[data-testid='stMarkdownContainer']") ?? b).innerText.trim(),
    cut: [b, ...b.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1 || e.innerText?.includes('…')),
}))"""


def labels(page) -> dict[str, bool]:
    """Each button's label, and whether it is cut."""
    return {b["label"]: b["cut"] for b in page.evaluate(CUT, BUTTONS)}


def start_a_slow_arena(tmp_path, data) -> subprocess.Popen:
    """A scripted arena that runs for ~30 s, so Live shows its Cancel buttons."""
    repo, arena_dir = tmp_path / "calc", tmp_path / "arena"
    make_repo(repo, CALC_FILES)
    steps = [{"thought": f"step {i}", "commands": [f"echo slow-{i} && sleep 1"]} for i in range(30)]
    write_steps(arena_dir / "slow.yaml", [*steps, {"thought": "done", "commands": [SUBMIT]}])
    spec = {
        "task": {"repo": str(repo), "title": "slow arena", "problem_statement": "add() subtracts"},
        "contestants": [{"name": n, "model": "scripted:slow.yaml"} for n in ("first", "second")],
    }
    (arena_dir / "arena.yaml").write_text(yaml.safe_dump(spec))
    return subprocess.Popen(
        [sys.executable, "-m", "arena.cli", "run", str(arena_dir / "arena.yaml"), "--json"],
        env={**os.environ, "ARENA_DATA_DIR": str(data)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_no_button_label_is_cut_on_arenas_and_live_in_chromium(server, tmp_path):
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
    runner = start_a_slow_arena(tmp_path, data)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport=VIEWPORT)
            deadline = time.monotonic() + 60
            while "Cancel arena" not in page.content():  # until the slow arena is running and selected
                assert runner.poll() is None and time.monotonic() < deadline, "the slow arena never showed as running"
                page.goto(f"{url}/live")
                page.wait_for_selector("h1:has-text('Live')", timeout=30_000)
                page.wait_for_timeout(1500)
            page.wait_for_selector("text=slow-", timeout=30_000)  # the selected tab's steps, with its Cancel button
            live = labels(page)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "buttons-live.png"), full_page=True)
            page.goto(f"{url}/arenas")
            page.wait_for_selector("text=median() is wrong", timeout=30_000)
            page.wait_for_selector("text=slow arena", timeout=30_000)
            page.wait_for_timeout(1000)
            arenas = labels(page)
            page.screenshot(path=str(ARTIFACTS / "buttons-arenas.png"), full_page=True)
            browser.close()
    finally:
        runner.terminate()
        runner.wait(timeout=30)
    cut = {
        f"{where}: {label}" for where, found in (("Live", live), ("Arenas", arenas)) for label, c in found.items() if c
    }
    assert cut == set(), (live, arenas)
    assert any("Cancel" in label for label in live), live
    assert any("Results" in label for label in arenas) and any("Live" in label for label in arenas), arenas
