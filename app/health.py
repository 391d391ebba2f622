"""What the Health page checks: database, the workers' queue, sandbox backends, model providers (never a key), GitHub
(credentials by name only, the periodic sync's last result), data dir, disk."""

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import streamlit as st

from app.launch import UNSAFE, unsafe_allowed
from app.resources import PROVIDER_MODELS, engine, github_sync
from arena.config import ORIGINS, setting
from arena.credentials import configured
from arena.errors import SandboxUnavailable, UserError
from arena.queue.health import health as queue_health
from arena.sandboxes import BACKENDS, get_backend
from arena.spec import SandboxSpec


def database() -> dict:
    store = engine().store
    try:
        ok, detail = True, f"{store.count_arenas()} arenas"  # a query: the database answers
    except Exception as e:  # the page reports it; it must not crash
        ok, detail = False, f"{type(e).__name__}: {e}"
    return {"url": store.shown_url(), "ok": ok, "detail": detail}


def queue() -> dict:
    """The workers' queue as `arena health` reports it (arena.queue.health): depth per queue, the oldest wait, the
    workers seen; on SQLite a note that arenas run where they are launched."""
    return _queue(engine().settings.database_url)


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _queue(database_url: str) -> dict:
    return queue_health(database_url)


def queue_rows(report: dict) -> list[dict]:
    """One row per queue: jobs waiting and running."""
    return [
        {"queue": name, "waiting": q["todo"], "running": q["doing"]} for name, q in report["queue"]["by_queue"].items()
    ]


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.0f} min"


def sandboxes() -> list[dict]:
    out = []
    for name in BACKENDS:
        try:
            get_backend(SandboxSpec(backend=name), engine().repos).check_available()
            ok, detail = True, "available"
        except SandboxUnavailable as e:
            ok, detail = False, str(e)
        if name == "local" and ok:
            version = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
            detail = f"{version} at {shutil.which('bwrap')}"
        warn = not ok or name == UNSAFE  # present is not healthy: it isolates nothing
        if name == UNSAFE and ok:
            allowed = "allowed for the app (ARENA_ALLOW_UNSAFE_LOCAL=1)" if unsafe_allowed() else "refused by the app"
            detail = f"no isolation: commands run as host processes; {allowed}"
        out.append({"backend": name, "ok": ok, "warn": warn, "detail": detail})
    return out


def providers() -> list[dict]:
    """Which provider keys are set: names only, never values."""
    rows = [
        {"provider": key.removesuffix("_API_KEY").lower(), "variable": key, "set": bool(os.environ.get(key))}
        for key in PROVIDER_MODELS
    ]
    rows.append(
        {"provider": "local endpoint", "variable": "ARENA_API_BASE", "set": bool(os.environ.get("ARENA_API_BASE"))}
    )
    return rows


def github() -> dict:
    """Which GitHub credentials are configured (their kind, never a value), the API, and the periodic sync."""
    try:
        creds = configured()
        ok, detail = creds is not None, creds.describe() if creds else "none"
    except UserError as e:  # a half-configured App, an unreadable key: say what to fix
        ok, detail = False, str(e)
    job = github_sync()
    return {
        "credentials_ok": ok,
        "credentials": detail,
        "api_url": str(setting("GITHUB_API_URL")),
        "interval_s": job.interval_s,
        "setting_error": job.setting_error,
        "pull_requests": len(engine().store.publications()),
        "last": job.last,
        "found": job.found,
    }


def data_dir() -> dict:
    """Where data lives, why there (ARENA_DATA_DIR or the default), its size and its disk's."""
    settings = engine().settings
    root = settings.data_dir
    usage = shutil.disk_usage(root)
    return {
        "path": str(root),
        "origin": settings.data_dir_origin,
        "origin_text": ORIGINS[settings.data_dir_origin],
        "used_by_arena": _size(root),
        "disk_free": usage.free,
        "disk_total": usage.total,
    }


def old_data_dir() -> Path | None:
    """./data when it holds a database the app does not use: where arenas lived before the default moved."""
    old = Path("data").resolve()
    return old if (old / "arena.db").is_file() and old != engine().settings.data_dir else None


def _size(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.0f} PB"
