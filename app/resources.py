"""Cached resources for the Streamlit app: one Engine (store + thread pool) per process, with the GitHub Publisher
listener and the periodic GitHub sync beside it; on PostgreSQL the launcher on the workers' queue (`launcher`,
`runner_of`: the app launches and cancels through whichever runs its arenas); model choices."""

import os
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from app.github_sync import GitHubSync
from arena.config import Settings, setting
from arena.engine import Engine
from arena.errors import UserError
from arena.publish.listener import Publisher
from arena.storage import QUEUE_OWNER

if TYPE_CHECKING:  # procrastinate is imported only where the queue is used
    from arena.queue.jobs import QueueLauncher

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
    from arena.ops import configure_logging

    configure_logging()  # ARENA_LOG_FORMAT; secrets redacted from every record of this process
    built = Engine(Settings.from_env())
    built.listeners.append(Publisher(built.store, built.settings))
    _SYNCS[built] = GitHubSync(built.store, built.ledger).start()
    return built


def github_sync() -> GitHubSync:
    """The background job reading this engine's pull requests back from GitHub (app/github_sync.py)."""
    return _SYNCS[engine()]


def settings() -> Settings:
    return engine().settings


QUEUE, PROCESS = "queue", "process"
RUNS = ("auto", QUEUE, PROCESS)
"""ARENA_APP_RUNS's values: auto picks the queue on PostgreSQL and this process on any other database."""


def runs_on() -> str:
    """Where an arena launched from the app runs: QUEUE (the workers, on PostgreSQL) or PROCESS (this app's pool).

    ARENA_APP_RUNS=process keeps a single machine on PostgreSQL on the app's pool, with no `arena worker` to run.
    Raises UserError for a value it does not know, or `queue` on a database the workers cannot share."""
    choice = str(setting("ARENA_APP_RUNS")).strip().lower() or "auto"
    if choice not in RUNS:
        raise UserError(
            f"ARENA_APP_RUNS={choice!r} is not one of {', '.join(RUNS)}; fix or unset it, then restart the app"
        )
    database = engine().store.engine.dialect.name  # the store's, as the workers' queue sees it
    if choice == QUEUE and database != "postgresql":
        raise UserError(
            f"ARENA_APP_RUNS=queue needs PostgreSQL (the workers share it) and the database is {database}: set "
            "ARENA_DATABASE_URL=postgresql+psycopg://USER@HOST/DB, or unset ARENA_APP_RUNS to run arenas in the app"
        )
    return QUEUE if choice == QUEUE or (choice == "auto" and database == "postgresql") else PROCESS


@st.cache_resource
def _queue(database_url: str, _settings: Settings) -> "QueueLauncher":
    from arena.queue.jobs import QueueLauncher

    return QueueLauncher(_settings)


def queue_launcher() -> "QueueLauncher":
    """The launcher on the workers' queue (PostgreSQL), one per database: nothing it launches runs in this process."""
    return _queue(settings().database_url, settings())


def launcher() -> "Engine | QueueLauncher":
    """What the app launches through (runs_on): the queue or this process's engine, the same three methods: launch(spec,
    base_sha), cancel(arena_id, contestant), judge(arena_id)."""
    return queue_launcher() if runs_on() == QUEUE else engine()


def runner_of(arena_id: str) -> "Engine | QueueLauncher":
    """Whoever can cancel this arena: the queue for one the workers run (from the app or `arena run --detach`, whatever
    ARENA_APP_RUNS says now), else the engine (its flag reaches whichever process runs the arena)."""
    return queue_launcher() if engine().store.arena(arena_id).owner == QUEUE_OWNER else engine()


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
