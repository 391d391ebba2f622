"""Where an arena launched from the app runs (the Launch page says it, and Health), and what Launch does: the spec
through app.resources.launcher, then Live, or, on the workers' queue, the word that a worker must be running."""

from pathlib import Path

import streamlit as st

from app import launch, queries
from app.nav import page
from app.resources import PROCESS, QUEUE, engine, launcher, runs_on
from arena.config import setting
from arena.errors import UserError

WHERE = {QUEUE: "runs on the workers (queue)", PROCESS: "runs in this app's process"}


def where() -> str | None:
    """Say where an arena launched here runs; returns it (QUEUE or PROCESS), or None when ARENA_APP_RUNS is wrong
    (said as an error: nothing launches until it is fixed)."""
    try:
        runs = runs_on()
    except UserError as e:
        st.error(str(e), icon=":material/settings_alert:")
        return None
    if runs == QUEUE:
        why = (
            "it waits in PostgreSQL until an `arena worker` on a machine sharing this database takes it "
            "(ARENA_APP_RUNS=process runs the app's arenas here instead)"
        )
    elif str(setting("ARENA_APP_RUNS")).strip().lower() == "process":
        why = "ARENA_APP_RUNS=process (arenas queued with `arena run --detach` still run on the workers)"
    else:
        why = "this database has no workers' queue (PostgreSQL has one: README, Workers and the queue)"
    st.caption(f"An arena launched here {WHERE[runs]}: {why}.")
    return runs


def submit(raw: dict, base_dir: Path | None, runs: str) -> None:
    """Launch the form's spec (app.launch.submit): its errors shown by their fields, or the arena followed on Live; an
    arena on the queue waits for a worker, so the page stays and says that one must be running."""
    arena_id, st.session_state["launch_errors"] = launch.submit(raw, base_dir, engine(), launcher())
    if arena_id is None:
        st.rerun()
    if runs != QUEUE:
        queries.show_arena(arena_id, "live")
    st.session_state["arena_id"] = arena_id  # Live and Results open on it
    queries.arenas.clear()
    st.success(
        f"Arena `{arena_id}` is queued. A worker must be running to run it: `arena worker` on a machine that shares "
        "this database (ARENA_DATABASE_URL); until one takes it, it stays `queued`.",
        icon=":material/schedule:",
    )
    st.page_link(page("live"), label="Follow it on Live", icon=":material/monitoring:")
