"""Every notebook runs headless with nbclient (a real Jupyter kernel): on the user's data, and on none.

With a real arena in the data dir (ARENA_DATA_DIR) the notebooks analyse that arena and write nothing into its store;
with an empty data dir they run the demo in process into a temp dir (TMPDIR points inside the test's tmp dir) and say
so. Either way the shared trajectories (ARENA_SHARED_TRAJECTORIES, else the tests' copy) go into a temp store of their
own. Exported with nbconvert, every plot is in the HTML with plotly.js embedded, and headless Chromium with the network
cut off draws each one.
"""

import os
import re
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from plotly.offline import get_plotlyjs

from arena import analytics
from arena.config import Settings
from arena.engine import Engine
from arena.spec import spec_from_dict
from arena.storage import Store
from tests.app.conftest import ARGS, CHROMIUM
from tests.conftest import CALC_FILES, make_repo, spec_dict, write_steps
from tests.test_analytics import add_arena

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PLOTLY = "application/vnd.plotly.v1+json"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def test_the_notebooks_are_there_with_outputs_cleared():
    assert [p.name for p in NOTEBOOKS] == ["01_trajectories.ipynb", "02_leaderboard.ipynb"]
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells if c.cell_type == "code")


@pytest.fixture(scope="module")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data dir holding one real arena, run by the engine: (data dir, arena id).

    Its contestants' names appear nowhere in the demo: `nb-fixer` submits a fix, `nb-quitter`'s script runs out.
    """
    root = tmp_path_factory.mktemp("user")
    repo, arena_dir, data = root / "calc", root / "arena", root / "data"
    make_repo(repo, CALC_FILES)
    fix = {"thought": "Add, do not subtract.", "commands": ["sed -i 's/a - b/a + b/' calc/ops.py"]}
    write_steps(arena_dir / "steps" / "nb-fixer.yaml", [fix, {"thought": "Done.", "commands": [SUBMIT]}])
    write_steps(arena_dir / "steps" / "nb-quitter.yaml", [{"thought": "Look around.", "commands": ["ls"]}])
    contestants = [
        {"name": name, "model": f"scripted:steps/{name}.yaml", "strategy": "minimal-fix"}
        for name in ("nb-fixer", "nb-quitter")
    ]
    engine = Engine(Settings(data_dir=data, database_url=f"sqlite:///{data / 'arena.db'}"))
    try:
        arena_id = engine.run(spec_from_dict(spec_dict(repo, contestants), base_dir=arena_dir))
    finally:
        engine.shutdown()
    exits = {c.name: (c.status, c.exit_status) for c in engine.store.arena(arena_id).contestants}
    assert exits == {"nb-fixer": ("completed", "Submitted"), "nb-quitter": ("completed", "ScriptExhausted")}
    return data, arena_id


def run_notebook(path: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """The notebook executed in a fresh kernel with ARENA_DATA_DIR=data_dir and TMPDIR=tmp_path/tmp."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("ARENA_DATA_DIR", str(data_dir))
    monkeypatch.delenv("ARENA_DATABASE_URL", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    if not os.environ.get("ARENA_SHARED_TRAJECTORIES") and not (ROOT.parent / "shared/data/trajectories").is_dir():
        monkeypatch.setenv("ARENA_SHARED_TRAJECTORIES", str(ROOT / "tests/data/trajectories"))
    repo_before = _repo_folders()
    notebook = nbformat.read(path, as_version=4)
    # A failing cell raises CellExecutionError naming the cell and its traceback.
    NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    assert not [o for o in _outputs(notebook) if o.output_type == "error"]
    assert _repo_folders() == repo_before, "the notebook wrote into the checkout"
    return notebook


def _repo_folders() -> dict[str, list[str]]:
    return {name: sorted(p.name for p in (ROOT / name).iterdir()) for name in ("notebooks", "data")}


def _outputs(notebook: nbformat.NotebookNode) -> list:
    return [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]


def _printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in _outputs(notebook) if o.output_type == "stream")


def _shown(notebook: nbformat.NotebookNode) -> str:
    """Everything the notebook shows as text: printed lines, tables and plot data."""
    texts = [o.get("text", "") for o in _outputs(notebook)]
    texts += [str(v) for o in _outputs(notebook) for k, v in o.get("data", {}).items() if k != "text/html"]
    return "\n".join(texts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_analyses_the_arenas_of_the_data_dir(
    path: Path, user_data: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    data, arena_id = user_data
    notebook = run_notebook(path, data, tmp_path, monkeypatch)

    assert f"Arenas from the data directory {data} (set by ARENA_DATA_DIR).\n" in _printed(notebook)
    shown = _shown(notebook)
    assert "nb-fixer" in shown and "nb-quitter" in shown
    assert "correct-fix" not in shown, "the demo ran although the data dir holds an arena"
    assert not list((tmp_path / "tmp").glob("arena-demo-*"))
    if path.stem == "01_trajectories":
        assert f"{arena_id}/nb-quitter" in shown
        assert "gave_up" in shown and "ScriptExhausted" in shown  # its exit, normalised beside the raw value
    runs = analytics.runs_df(Store(f"sqlite:///{data / 'arena.db'}"))
    assert runs["run"].to_list() == [f"{arena_id}/nb-fixer", f"{arena_id}/nb-quitter"], "the store was written to"
    assert_plots_survive_html_export(notebook, tmp_path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_with_no_data_shows_the_demo(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    notebook = run_notebook(path, tmp_path / "data", tmp_path, monkeypatch)

    printed = _printed(notebook)
    demo = re.search(
        rf"No arena in the data directory {re.escape(str(tmp_path / 'data'))} \(set by ARENA_DATA_DIR\), "
        rf"so this shows the demo arena (\w+), run just now into ({re.escape(str(tmp_path / 'tmp'))}/arena-demo-\w+)\.",
        printed,
    )
    assert demo, printed
    assert Store(f"sqlite:///{demo.group(2)}/arena.db").arena(demo.group(1)).status == "completed"
    assert "correct-fix" in _shown(notebook)
    assert not (tmp_path / "data").exists(), "finding the data dir empty created nothing in it"
    assert "Reference runs: " in printed


def assert_plots_survive_html_export(notebook: nbformat.NotebookNode, tmp_path: Path) -> None:
    """nbconvert's HTML holds every plot, with plotly.js embedded once; Chromium, offline, draws each of them."""
    from playwright.sync_api import sync_playwright

    figures = [o.data[PLOTLY] for o in _outputs(notebook) if PLOTLY in o.get("data", {})]
    assert figures, "the notebook draws plots"
    html, _ = HTMLExporter().from_notebook_node(notebook)
    assert html.count(get_plotlyjs()) == 1
    assert not re.search(r"<script[^>]*\bsrc=[^>]*plotly", html), "plotly.js from a CDN: no plots offline"
    assert html.count("Plotly.newPlot(") == len(figures)
    page_path = tmp_path / "export.html"
    page_path.write_text(html)
    with sync_playwright() as p:
        # Without the test's TMPDIR: its path is too long for Chromium's singleton socket.
        env = {k: v for k, v in os.environ.items() if k != "TMPDIR"}
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=env)
        page = browser.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(figures)}")
        drawn = page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')]"
            ".map(g => [g.layout.title.text, g.querySelectorAll('.trace').length])"
        )
        browser.close()
    assert drawn == [[f["layout"]["title"]["text"], len(f["data"])] for f in figures]


def test_open_store_reads_the_arenas_of_the_data_dir(settings, capsys):
    add_arena(
        Store(settings.database_url),
        "mine",
        "r1",
        "my arena",
        datetime(2024, 1, 1),
        [("a", "m", "s", 1.0, 3, "Submitted")],
    )
    store = analytics.open_store()
    assert store.url == settings.database_url and [a.id for a in store.arenas()] == ["mine"]
    assert capsys.readouterr().out == f"Arenas from the data directory {settings.data_dir} (set by ARENA_DATA_DIR).\n"
