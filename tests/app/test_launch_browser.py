"""Launch in Chromium, on a real `streamlit run`: an uploaded spec downloads unchanged, every field of it.

AppTest cannot upload or download; this drives the file input and the download button as a user does.
"""

import pytest
import yaml

from tests.app.conftest import ARGS, ARTIFACTS, CHROMIUM, every_field_spec

UNKNOWN = {"x_future": {"kept": [1, "two"]}}


def settle(page) -> None:
    """Wait until the script run the last action started has finished (the status widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)


def upload_and_download(page, url: str, spec: dict, folder) -> dict:
    """Upload `spec` on a fresh Launch page, wait for the form to show it, download; the YAML downloaded, loaded."""
    source = folder / "uploaded.yaml"
    source.write_text(yaml.safe_dump(spec, sort_keys=False))
    page.goto(f"{url}/launch")
    page.wait_for_selector("h1:has-text('Launch an arena')", timeout=30_000)
    page.locator("input[type=file]").first.set_input_files(str(source))
    title = spec["task"]["title"]
    page.wait_for_function(
        "t => [...document.querySelectorAll('input')].some(i => i.value === t)", arg=title, timeout=30_000
    )
    page.wait_for_selector("text=Kept as is", timeout=30_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Download spec YAML").click()
    path = folder / "downloaded.yaml"
    info.value.save_as(path)
    return yaml.safe_load(path.read_text())


@pytest.fixture
def chromium_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        yield page
        browser.close()


def test_an_uploaded_spec_with_every_field_downloads_unchanged(server, tmp_path, chromium_page, request):
    url, _ = server
    page = chromium_page
    full = every_field_spec(tmp_path / "sample", tmp_path)
    full |= UNKNOWN
    full["task"] |= UNKNOWN
    full["judge"] |= UNKNOWN
    full["contestants"][1] |= UNKNOWN  # a field the form has never heard of (say, inline steps) stays on its row
    full["limits"]["time_budget_s"] = 600.5  # a float the time budget input shows as a float
    with_file = {  # the other way to give a problem statement, and relative paths: kept as written
        "task": {"repo": "../demo-repo", "title": "from a file", "problem_statement_file": "issue.md"},
        "contestants": [{"name": "a", "model": "scripted:steps/a.yaml", "strategy": "strategies/mine.yaml"}],
        "limits": {"max_parallel": 2.0, "time_budget_s": 1800.0},  # as a stored spec holds them
        "sandbox": {"backend": "local", "memory_mb": 1024},
        "judge": {"cross_validate": False},
    }
    try:
        for spec in (full, with_file):
            assert upload_and_download(page, url, spec, tmp_path) == spec
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
