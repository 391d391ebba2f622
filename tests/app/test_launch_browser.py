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


def upload(page, url: str, spec: dict, folder) -> None:
    """Upload `spec` on a fresh Launch page and wait for the form to show it."""
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


def download(page, folder) -> dict:
    """Press Download spec YAML; the YAML downloaded, loaded."""
    settle(page)
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
            upload(page, url, spec, tmp_path)
            assert download(page, tmp_path) == spec
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise


def edit_cell(page, row: int, text: str | None) -> None:
    """Type `text` into the contestants table's name cell of `row` (None: click there only, e.g. to add a row).

    The table is a canvas: cells are found by position (rows and header 35 px high, a 33 px row-marker column)."""
    box = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    where = (box["x"] + 83, box["y"] + 35 + 35 * row + 17)
    if text is None:
        page.mouse.click(*where)
    else:
        page.mouse.dblclick(*where)
        editor = page.locator("textarea.gdg-input")
        editor.wait_for(timeout=10_000)
        editor.fill(text)
        page.keyboard.press("Enter")
        editor.wait_for(state="detached", timeout=10_000)
    settle(page)


def test_rows_edited_deleted_and_added_keep_their_own_fields(server, tmp_path, chromium_page, request):
    """The hidden row index follows each row through the real data editor: a renamed contestant keeps its
    model_kwargs (and steps, agent, ...); deleting a row shifts none onto another; a new row gets none."""
    url, _ = server
    page = chromium_page
    full = every_field_spec(tmp_path / "sample", tmp_path, cli_runner=False)
    try:
        upload(page, url, full, tmp_path)
        page.locator("[data-testid='stDataFrame']").first.scroll_into_view_if_needed()
        edit_cell(page, 1, "renamed")
        edit_cell(page, 0, None)
        box = page.locator("[data-testid='stDataFrame']").first.bounding_box()
        page.mouse.click(box["x"] + 16, box["y"] + 35 + 17)  # row 0's marker: selects the row
        page.keyboard.press("Delete")
        settle(page)
        edit_cell(page, 2, None)  # the empty row at the end: adds a row
        edit_cell(page, 2, "newbie")
        got = download(page, tmp_path)
        assert got["contestants"] == [
            full["contestants"][1] | {"name": "renamed"},
            full["contestants"][2],
            {"name": "newbie", "strategy": "balanced", "step_limit": 50, "cost_limit": 3.0},
        ]
        assert {k: v for k, v in got.items() if k != "contestants"} == {
            k: v for k, v in full.items() if k != "contestants"
        }
        # The new row has no model: Launch says so beside the table (it is not silently left out).
        page.get_by_role("button", name="Launch", exact=True).click()
        page.wait_for_selector("text=contestants[2].model: required; add it", timeout=30_000)
        assert page.locator("h1:has-text('Launch an arena')").count() == 1
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
