"""Cached queries: plain dicts and frames for pages (pages never talk to SQL directly).

Analytics frames are computed once per data version (arena.analytics.data_version: a few index lookups asked on
every run): a repeat visit with no new data reads nothing, and every page shares one runs frame and one board per
grouping. A million runs take seconds to read; the version changes only when what they show could have. The runs
frame (hundreds of MB at a million runs) is kept for the newest version only. Rated leaderboards come from the running
totals (arena.analytics.totals) and read no run at all.
"""

import polars as pl
import streamlit as st

from app.resources import engine
from arena import analytics
from arena.report import arena_json, model_calls


@st.cache_data(ttl=2)
def arenas(limit: int = 200) -> list[dict]:
    store = engine().store
    return [arena_json(row, store.latest_verdict(row.id)) for row in store.arenas(limit=limit)]


def arena(arena_id: str) -> dict:
    """One arena, fresh (the Live page polls it)."""
    store = engine().store
    row = store.arena(arena_id)
    return arena_json(row, store.latest_verdict(arena_id), calls=model_calls(store, row))


def selected_arena(key: str = "arena_id") -> str | None:
    """The arena the user chose (shared by Live and Results); defaults to the newest."""
    rows = arenas()
    if not rows:
        return None
    ids = [r["arena_id"] for r in rows]
    labels = {r["arena_id"]: f"{r['arena_id']} · {r['status']} · {r['title'][:60]}" for r in rows}
    widget = f"{key}-select"
    current = st.session_state.get(key)
    if current not in ids:
        current = ids[0]
    if st.session_state.get(widget) not in ids or st.session_state.get(widget) != current:
        st.session_state[widget] = current  # another page (Launch, Arenas) chose the arena
    chosen = st.selectbox(
        "Arena",
        ids,
        format_func=labels.get,
        key=widget,
        on_change=lambda: st.session_state.update({key: st.session_state[widget]}),
    )
    st.session_state[key] = chosen
    return chosen


def show_arena(arena_id: str, page: str) -> None:
    """Open `page` ("live" or "results") on this arena."""
    from app.nav import page as nav_page

    st.session_state["arena_id"] = arena_id
    arenas.clear()
    st.switch_page(nav_page(page))


def run_again(arena_id: str) -> None:
    """Open Launch prefilled with this arena's spec."""
    from app.nav import page as nav_page

    spec = engine().store.arena(arena_id).spec
    st.session_state["launch_preset"] = {k: v for k, v in spec.items() if v}
    st.switch_page(nav_page("launch"))


def data_version() -> tuple:
    """The store's data version now (cached frames are keyed by it, so they never outlive a write)."""
    return analytics.data_version(engine().store)


@st.cache_resource(max_entries=1, show_spinner="Reading every run…")
def runs(version: tuple) -> pl.DataFrame:
    """analytics.runs_df, shared (not copied) by every session: nobody changes a frame in place."""
    return analytics.runs_df(engine().store)


@st.cache_data(max_entries=64, show_spinner="Rating the players…")
def _leaderboard(by: str, source: str, period: str, version: tuple) -> pl.DataFrame:
    if analytics.rates(by, source):  # from the running totals (arena.analytics.totals): no run is read
        return analytics.leaderboard(engine().store, by, source, period)
    return analytics.board(runs(version), None, by, source, period)


def leaderboard(by: str = "agent", source: str = "arenas", period: str = "week") -> pl.DataFrame:
    """analytics.leaderboard of the app's store, computed once per data version and arguments."""
    return _leaderboard(by, source, period, data_version())


@st.cache_data(max_entries=8, show_spinner=False)
def _judges(version: tuple) -> pl.DataFrame:
    return analytics.judges(engine().store)


def judges() -> pl.DataFrame:
    """analytics.judges of the app's store, once per data version."""
    return _judges(data_version())
