"""The Health page names the data directory and where it came from: ARENA_DATA_DIR or the default."""

import sys
from pathlib import Path

import pytest

from arena.storage import Store
from tests.app.conftest import app, texts


def test_health_names_the_data_dir_set_by_arena_data_dir(data: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # ./data is the data dir itself here: no "another database" warning
    at = app("health")
    assert f"`{data}` · set by ARENA_DATA_DIR" in texts(at)
    assert not any("holds another database" in w.value for w in at.warning)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the default path asserted is Linux's")
def test_health_names_the_default_data_dir_and_an_old_one_in_the_current_directory(data, tmp_path, monkeypatch):
    from app import resources

    monkeypatch.delenv("ARENA_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    resources.engine.clear()
    old = tmp_path / "checkout" / "data"
    old.mkdir(parents=True)
    Store(f"sqlite:///{old / 'arena.db'}")  # arenas kept in ./data before the default moved
    monkeypatch.chdir(old.parent)

    at = app("health")
    default = tmp_path / "xdg" / "agent-arena"
    assert f"`{default}` · the default, the user data directory; set ARENA_DATA_DIR to use another" in texts(at)
    assert any(f"`{old}` holds another database" in w.value and f"ARENA_DATA_DIR={old}" in w.value for w in at.warning)
