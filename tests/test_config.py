"""Where data lives: $ARENA_DATA_DIR, else the user's data directory, whatever the current directory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arena.cli import build_parser
from arena.config import Settings


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with no ARENA_DATA_DIR whose home (and so default data dir) is `home`."""
    unset = {"ARENA_DATA_DIR", "ARENA_DATABASE_URL", "XDG_DATA_HOME"}
    return {k: v for k, v in os.environ.items() if k not in unset} | {"HOME": str(home), "COLUMNS": "400", **extra}


def arena(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "arena.cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def default_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ARENA_DATA_DIR: the data dir is the user data dir of a home inside tmp_path."""
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    monkeypatch.delenv("ARENA_DATABASE_URL", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home" / ".local" / "share" / "agent-arena"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the default path asserted is Linux's")
def test_arena_list_sees_the_same_arenas_from_any_directory(tmp_path: Path):
    env = user_env(tmp_path / "home")
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    demo = arena("demo", "--json", cwd=here, env=env)
    assert demo.returncode == 0, demo.stderr
    made = json.loads(demo.stdout)["arena_id"]

    listed = {cwd: arena("list", "--json", cwd=cwd, env=env) for cwd in (here, there)}
    assert all(r.returncode == 0 for r in listed.values()), [r.stderr for r in listed.values()]
    assert [a["arena_id"] for a in json.loads(listed[there].stdout)] == [made]
    assert json.loads(listed[here].stdout) == json.loads(listed[there].stdout)
    data = tmp_path / "home" / ".local" / "share" / "agent-arena"
    assert (data / "arena.db").is_file() and (data / "runs" / made).is_dir()
    assert list(here.iterdir()) == [] and list(there.iterdir()) == []  # no ./data anywhere


def test_help_names_the_default_data_directory(tmp_path: Path):
    xdg = tmp_path / "xdg"
    result = arena("--help", cwd=tmp_path, env=user_env(tmp_path / "home", XDG_DATA_HOME=str(xdg)))
    assert result.returncode == 0, result.stderr
    assert f"Data directory: {xdg / 'agent-arena'} (the default, the user data directory;" in result.stdout
    assert "set ARENA_DATA_DIR to use another" in result.stdout


def test_help_names_arena_data_dir_when_it_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("COLUMNS", "400")
    assert f"Data directory: {tmp_path / 'mine'} (set by ARENA_DATA_DIR)." in build_parser().format_help()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the default path asserted is Linux's")
def test_the_default_is_the_user_data_dir_whatever_the_current_directory(default_data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env()
    assert (settings.data_dir, settings.data_dir_origin) == (default_data_dir, "default")
    assert settings.database_url == f"sqlite:///{default_data_dir / 'arena.db'}"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings.from_env().data_dir == tmp_path / "xdg" / "agent-arena"


def test_arena_data_dir_wins(default_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "mine"))
    settings = Settings.from_env()
    assert (settings.data_dir, settings.data_dir_origin) == (tmp_path / "mine", "ARENA_DATA_DIR")
    assert settings.describe_data_dir() == f"{tmp_path / 'mine'} (set by ARENA_DATA_DIR)"


def test_arena_data_dir_set_but_empty_is_the_default_not_the_current_directory(default_data_dir, monkeypatch):
    monkeypatch.setenv("ARENA_DATA_DIR", "  ")
    settings = Settings.from_env()
    assert (settings.data_dir, settings.data_dir_origin) == (default_data_dir, "default")


def test_arena_data_dir_expands_the_home(default_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_DATA_DIR", "~/arenas")
    assert Settings.from_env().data_dir == tmp_path / "home" / "arenas"


def test_a_relative_arena_data_dir_is_taken_from_where_it_is_set(default_data_dir, tmp_path, monkeypatch):
    """An explicit choice, like any relative path on a command line; only the default no longer depends on it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARENA_DATA_DIR", "data")
    assert Settings.from_env().data_dir == tmp_path / "data"
