"""Every notebook runs headless, start to finish, with nbclient (a real Jupyter kernel), in a temp data dir.

The data dir starts empty, so each notebook's first cell runs `arena demo` into a temp dir (TMPDIR is pointed inside
the test's tmp_path), says so, and ingests the shared trajectories (ARENA_SHARED_TRAJECTORIES, else the tests' copy).
With arenas in the data dir, the notebooks read those: the same data as the CLI and the app.
"""

import os
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from arena import analytics
from arena.storage import Store
from tests.test_analytics import add_arena

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_notebooks_are_there_with_outputs_cleared():
    assert [p.name for p in NOTEBOOKS] == ["01_trajectories.ipynb", "02_leaderboard.ipynb"]
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_headless(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ARENA_DATABASE_URL", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    if not os.environ.get("ARENA_SHARED_TRAJECTORIES") and not (ROOT.parent / "shared/data/trajectories").is_dir():
        monkeypatch.setenv("ARENA_SHARED_TRAJECTORIES", str(ROOT / "tests/data/trajectories"))
    notebook = nbformat.read(path, as_version=4)
    # A failing cell raises CellExecutionError naming the cell and its traceback.
    NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert list((tmp_path / "tmp").glob("arena-demo-*/arena.db")), "the first cell ran the demo into a temp data dir"
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert (
        f"No arena in the data directory {tmp_path / 'data'} (set by ARENA_DATA_DIR), so this shows the demo" in printed
    )
    assert not (tmp_path / "data" / "arena.db").exists(), "finding the data dir empty created nothing in it"


def test_the_notebooks_read_the_arenas_of_the_data_dir(settings, capsys):
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
