"""Cached queries: plain rows for pages (pages never talk to SQL directly)."""

import streamlit as st

from app.resources import engine
from arena.report import arena_json


@st.cache_data(ttl=2)
def arenas(limit: int = 200) -> list[dict]:
    store = engine().store
    return [arena_json(row, store.latest_verdict(row.id)) for row in store.arenas(limit=limit)]
