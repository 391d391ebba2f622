"""Every notebook runs headless, start to finish, with nbclient (a real Jupyter kernel), in a temp data dir.

The data dir starts empty, so each notebook's first cell runs `arena demo` into a temp dir (TMPDIR is pointed inside
the test's tmp_path) and ingests the shared trajectories (ARENA_SHARED_TRAJECTORIES, else the tests' copy).
"""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

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
