"""Cached queries: plain dicts for pages (pages never talk to SQL directly)."""

import streamlit as st

from app.resources import engine
from arena.report import arena_json


@st.cache_data(ttl=2)
def arenas(limit: int = 200) -> list[dict]:
    store = engine().store
    return [arena_json(row, store.latest_verdict(row.id)) for row in store.arenas(limit=limit)]


def arena(arena_id: str) -> dict:
    """One arena, fresh (the Live page polls it)."""
    store = engine().store
    return arena_json(store.arena(arena_id), store.latest_verdict(arena_id))


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
