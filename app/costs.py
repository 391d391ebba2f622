"""The Costs page's data, once per data version (kept out of the page: pages stay thin)."""

import polars as pl
import streamlit as st

from app import queries
from app.resources import engine
from arena.analytics import cost_per_step, recent_runs

RECENT = 1_000
"""Runs the per-contestant table lists, newest first (a browser table of a million rows helps nobody)."""


@st.cache_data(max_entries=8, show_spinner=False)
def _recent(limit: int, version: tuple) -> tuple[int, pl.DataFrame]:
    total, newest = recent_runs(engine().store, limit)  # the newest arenas' rows only, not every run
    return total, newest.select("run", "agent", "status", "steps", "cost", "tokens", "won", "created_at")


def recent(limit: int = RECENT) -> tuple[int, pl.DataFrame]:
    """(arena runs in all, the newest `limit` of them: run, agent, status, steps, cost, tokens, won, created_at)."""
    return _recent(limit, queries.data_version())


@st.cache_data(max_entries=8, show_spinner=False)
def _per_step(version: tuple) -> pl.DataFrame:
    return cost_per_step(engine().store)  # from the running totals: no run is read


def per_step() -> pl.DataFrame:
    """Per agent, from its arena runs' totals: steps (model calls), runs, cost per step, steps per run; dearest first.

    A run records its cost and its model calls, so no trajectory file is read (a million runs would be a million).
    """
    return _per_step(queries.data_version())
