"""The Reputation page's data: agents, and an agent's balance, escrow and stake multiplier over its history.

Both once per data version (app.queries): the ledger holds millions of events at scale, and a repeat visit reads none.
"""

import plotly.graph_objects as go
import streamlit as st

from app import queries
from app.resources import engine
from arena.reputation.ledger import AgentState

MARKERS = {"place": "win", "merged": "merged", "reverted": "reverted"}


@st.cache_data(max_entries=4, show_spinner=False)
def _agents(version: tuple) -> list[str]:
    return engine().ledger.agents()


def agents() -> list[str]:
    """Every agent in the ledger, sorted."""
    return _agents(queries.data_version())


@st.cache_data(max_entries=64, show_spinner=False)
def _state(agent: str, version: tuple) -> AgentState:
    return engine().ledger.state(agent)


def state(agent: str) -> AgentState:
    """The agent's balance, escrow, stake, wins, merges, reverts and full history (arena.reputation.ledger)."""
    return _state(agent, queries.data_version())


def timeline(history: list[dict], ledger) -> go.Figure:
    """Balance and escrow after every event, the stake to enter, and markers for wins, merges and reverts (the
    numbers are the ledger's own: Ledger.timeline)."""
    points = ledger.timeline(history)
    xs = [p["at"] for p in points]
    balances, escrows, stakes = ([p[key] for p in points] for key in ("balance", "escrow", "stake"))
    fig = go.Figure()
    fig.add_scatter(x=xs, y=balances, name="balance", line_shape="hv", line_color="#f59e0b")
    fig.add_scatter(x=xs, y=escrows, name="escrowed", line_shape="hv", line_color="#22d3ee")
    fig.add_scatter(x=xs, y=stakes, name="stake to enter", line_shape="hv", line_dash="dot", line_color="#ef4444")
    for kind, label in MARKERS.items():
        points = [
            (e["at"], b)
            for e, b in zip(history, balances, strict=True)
            if e["kind"] == kind and (kind != "place" or e["outcome"] == 1)
        ]
        if points:
            fig.add_scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                mode="markers",
                name=label,
                marker_size=11,
                marker_symbol={"win": "star", "merged": "circle", "reverted": "x"}[label],
            )
    fig.update_layout(
        height=360,
        margin=dict(l=0, r=0, t=10, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend_orientation="h",
    )
    return fig
