"""Cached resources for the Streamlit app: one Engine (store + thread pool) per process."""

import streamlit as st

from arena.config import Settings
from arena.orchestrator import Engine


@st.cache_resource
def engine() -> Engine:
    """The process-wide engine; marks arenas left running by a dead process as interrupted."""
    return Engine(Settings.from_env())
