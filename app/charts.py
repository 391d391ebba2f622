"""Plotly figures for the Leaderboard and Costs pages (theme colours from .streamlit/config.toml)."""

import plotly.graph_objects as go
import polars as pl

AMBER, CYAN, MUTED = "#f59e0b", "#22d3ee", "#71717a"
LAYOUT = dict(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", margin=dict(l=0, r=0, t=10, b=0))


def ratings(frame: pl.DataFrame) -> go.Figure:
    """Each player's rating with its 95 % interval; colour alternates by tier so tiers read as bands."""
    rows = frame.sort("rating").to_dicts()
    fig = go.Figure(go.Scatter(
        x=[r["rating"] for r in rows], y=[r["name"] for r in rows], mode="markers",
        marker=dict(size=10, color=[AMBER if r["tier"] % 2 else CYAN for r in rows]),
        error_x=dict(type="data", symmetric=False, array=[r["ci_high"] - r["rating"] for r in rows],
                     arrayminus=[r["rating"] - r["ci_low"] for r in rows], color=MUTED),
        hovertext=[f"tier {r['tier']} · {r['games']} games · [{r['ci_low']:.0f}, {r['ci_high']:.0f}]" for r in rows],
    ))  # fmt: skip
    fig.update_layout(height=80 + 32 * len(rows), xaxis_title="rating (1000 = average; +400 = 10:1 odds)", **LAYOUT)
    return fig


def pareto(frame: pl.DataFrame, label: str) -> go.Figure:
    """Mean cost against win rate; the Pareto frontier (cheapest for its win rate) highlighted and joined."""
    rows = [r for r in frame.to_dicts() if r.get("cost_mean") is not None and r.get("win_rate") is not None]
    fig = go.Figure(go.Scatter(
        x=[r["cost_mean"] for r in rows], y=[r["win_rate"] for r in rows], mode="markers+text",
        text=[r[label] or "" for r in rows], textposition="top center",
        marker=dict(size=12, color=[AMBER if r["pareto"] else MUTED for r in rows]),
    ))  # fmt: skip
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["cost_mean"])
    fig.add_scatter(x=[r["cost_mean"] for r in front], y=[r["win_rate"] for r in front], mode="lines",
                    line=dict(color=AMBER, dash="dot"), showlegend=False)  # fmt: skip
    fig.update_layout(
        height=380, xaxis_title="mean cost per run ($)", yaxis_title="win rate", showlegend=False, **LAYOUT
    )
    return fig


def bars(frame: pl.DataFrame, x: str, y: str, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=frame[x].to_list(), y=frame[y].to_list(), marker_color=AMBER))
    fig.update_layout(height=300, yaxis_title=title, **LAYOUT)
    return fig


def table(frame: pl.DataFrame):
    """A frame ready for st.dataframe: map columns (exit status -> count) become readable text for Arrow."""
    nested = [name for name, dtype in frame.schema.items() if not (dtype.is_numeric() or dtype.is_temporal()
              or dtype in (pl.String, pl.Boolean, pl.Null))]  # fmt: skip
    return frame.with_columns(
        pl.col(name).map_elements(_pairs, return_dtype=pl.String, skip_nulls=True) for name in nested
    ).to_pandas()


def _pairs(items) -> str:
    pairs = items.items() if isinstance(items, dict) else (
        (i["key"], i["value"]) if isinstance(i, dict) else tuple(i) for i in items)  # fmt: skip
    return ", ".join(f"{k}: {v}" for k, v in pairs)
