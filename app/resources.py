"""Cached resources for the Streamlit app: one Engine (store + thread pool) per process, with the GitHub Publisher
listener and the periodic GitHub sync beside it; model choices."""

import os
from pathlib import Path

import streamlit as st

from app.github_sync import GitHubSync
from arena.config import Settings
from arena.engine import Engine
from arena.publish.listener import Publisher

# Suggested models per provider key; any litellm name can still be typed in a spec.
PROVIDER_MODELS = {
    "OPENAI_API_KEY": ["openai/gpt-4.1-mini", "openai/gpt-4.1", "openai/gpt-5-mini"],
    "ANTHROPIC_API_KEY": ["anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5"],
    "GEMINI_API_KEY": ["gemini/gemini-2.5-flash", "gemini/gemini-2.5-pro"],
    "OPENROUTER_API_KEY": ["openrouter/openai/gpt-4.1-mini"],
}


_SYNCS: dict[Engine, GitHubSync] = {}
"""Each cached engine's GitHub sync (one: the engine is cached once per process)."""


def _release(released: Engine) -> None:
    """The engine left the cache (a fresh data dir, in tests): its sync stops with it."""
    if job := _SYNCS.pop(released, None):
        job.stop()


@st.cache_resource(on_release=_release)
def engine() -> Engine:
    """The process-wide engine: its thread pool runs every arena launched from the app. As the CLI's, it publishes
    arenas whose task is on GitHub (arena.publish.listener); and its PRs are read back every ARENA_GITHUB_SYNC_S."""
    built = Engine(Settings.from_env())
    built.listeners.append(Publisher(built.store, built.settings))
    _SYNCS[built] = GitHubSync(built.store, built.ledger).start()
    return built


def github_sync() -> GitHubSync:
    """The background job reading this engine's pull requests back from GitHub (app/github_sync.py)."""
    return _SYNCS[engine()]


def settings() -> Settings:
    return engine().settings


def configured_models() -> list[str]:
    """Models the Launch page offers: providers whose key is set, a local endpoint, scripted and replay files."""
    models = [m for key, names in PROVIDER_MODELS.items() if os.environ.get(key) for m in names]
    if os.environ.get("ARENA_API_BASE"):
        models.append(f"openai/{os.environ.get('ARENA_LOCAL_MODEL', 'local-model')}")
    data = settings().data_dir
    models += [
        # Where steps files live (the demo, uploads): not a recursive walk through runs, sandboxes and caches,
        # which this page would repeat on every rerun.
        f"scripted:{p}"
        for p in sorted(data.glob("sample/*/steps/*.yaml")) + sorted((data / "uploads").glob("*.yaml"))
    ]
    models += [f"replay:{p}" for p in sorted(data.glob("runs/*/*/traj.json"))[-20:]]
    return models


def upload_dir() -> Path:
    path = settings().data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path
