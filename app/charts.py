"""Plotly figures for the Leaderboard and Costs pages (theme colours from .streamlit/config.toml).

Boards reach hundreds of agents: charts show the top few (`top`) and name only what matters; tables list everyone.
"""

import plotly.graph_objects as go
import polars as pl

AMBER, CYAN, MUTED = "#f59e0b", "#22d3ee", "#71717a"
LAYOUT = dict(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", margin=dict(l=0, r=0, t=10, b=0))
TOP = 25
"""Players the ratings chart shows unless told otherwise; the table below it lists everyone."""
RATING_COLUMNS = ["rating", "ci_low", "ci_high", "games", "arenas", "tier", "provisional"]


def rated(board: pl.DataFrame, by: str) -> pl.DataFrame:
    """A leaderboard's rated arena rows as a ratings frame (name + RATING_COLUMNS), tiered first, in its order."""
    rows = board.filter(pl.col("source") == "arenas", pl.col("rating").is_not_null())
    return rows.select(pl.col(by).alias("name"), *RATING_COLUMNS)


def top(frame: pl.DataFrame, n: int = TOP, also: list[str] | tuple[str, ...] = (), name: str = "name") -> pl.DataFrame:
    """The first `n` rows of a frame (a ratings frame: players by `name`), plus those named in `also`, in its order."""
    return frame.with_row_index("_row").filter((pl.col("_row") < n) | pl.col(name).is_in(list(also))).drop("_row")


def ratings(frame: pl.DataFrame) -> go.Figure:
    """Each player's rating with its 95 % interval, top to bottom in the frame's order.

    Tiered players alternate colour by tier so tiers read as bands; provisional players (too few games to tier) are
    a separate grey trace of open markers, below every tiered one when the frame lists them last (as ratings do).
    """
    fig = go.Figure()
    for provisional in (False, True):
        rows = [r for r in frame.to_dicts() if bool(r["provisional"]) is provisional]
        if not rows:
            continue
        colour = [MUTED if provisional else AMBER if r["tier"] % 2 else CYAN for r in rows]
        fig.add_scatter(
            x=[r["rating"] for r in rows],
            y=[r["name"] for r in rows],
            mode="markers",
            name="provisional (not tiered)" if provisional else "tiered",
            marker=dict(size=10, color=colour, symbol="circle-open" if provisional else "circle"),
            error_x=dict(
                type="data",
                symmetric=False,
                array=[r["ci_high"] - r["rating"] for r in rows],
                arrayminus=[r["rating"] - r["ci_low"] for r in rows],
                color=MUTED,
            ),
            hovertext=[_hover(r) for r in rows],
            hoverinfo="text",
        )
    names = frame["name"].to_list()
    fig.update_layout(
        height=100 + 28 * len(names),
        xaxis_title="rating (1000 = average; +400 = 10:1 odds)",
        legend_orientation="h",
        yaxis=dict(categoryorder="array", categoryarray=names[::-1]),
        **LAYOUT,
    )
    return fig


def _hover(r: dict) -> str:
    place = "provisional" if r["provisional"] else f"tier {r['tier']}"
    arenas = f"{r['arenas']} arena" + ("s" if r["arenas"] != 1 else "")
    return (
        f"{r['name']}<br>{r['rating']:.0f} [{r['ci_low']:.0f}, {r['ci_high']:.0f}] · {place}"
        f"<br>{r['games']} games in {arenas}"
    )


def pareto(frame: pl.DataFrame, label: str) -> go.Figure:
    """Mean cost against win rate; the Pareto frontier (cheapest for its win rate) highlighted, joined and named.

    Only frontier points carry their name on the chart (every point has it on hover): with hundreds of agents, a
    name on each point is a blot.
    """
    rows = [r for r in frame.to_dicts() if r.get("cost_mean") is not None and r.get("win_rate") is not None]
    fig = go.Figure(
        go.Scatter(
            x=[r["cost_mean"] for r in rows],
            y=[r["win_rate"] for r in rows],
            mode="markers+text",
            text=[(r[label] or "") if r["pareto"] else "" for r in rows],
            hovertext=[
                f"{r[label] or ''}<br>{r['cost_mean']:.4g} $ per run, win rate {r['win_rate']:.0%}" for r in rows
            ],
            hoverinfo="text",
            textposition="top center",
            marker=dict(size=12 if len(rows) <= 50 else 7, color=[AMBER if r["pareto"] else MUTED for r in rows]),
        )
    )
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["cost_mean"])
    fig.add_scatter(
        x=[r["cost_mean"] for r in front],
        y=[r["win_rate"] for r in front],
        mode="lines",
        line=dict(color=AMBER, dash="dot"),
        showlegend=False,
    )
    fig.update_layout(
        height=380, xaxis_title="mean cost per run ($)", yaxis_title="win rate", showlegend=False, **LAYOUT
    )
    return fig


def bars(frame: pl.DataFrame, x: str, y: str, title: str) -> go.Figure:
    """Horizontal bars of `y` per `x`, top to bottom in the frame's order (pass the top few: see `top`)."""
    names = frame[x].to_list()
    fig = go.Figure(go.Bar(x=frame[y].to_list(), y=names, orientation="h", marker_color=AMBER))
    fig.update_layout(
        height=100 + 24 * len(names),
        xaxis_title=title,
        yaxis=dict(categoryorder="array", categoryarray=names[::-1]),
        **LAYOUT,
    )
    return fig


def table(frame: pl.DataFrame):
    """A frame ready for st.dataframe: map columns (exit status -> count) become readable text for Arrow."""
    nested = [
        name
        for name, dtype in frame.schema.items()
        if not (dtype.is_numeric() or dtype.is_temporal() or dtype in (pl.String, pl.Boolean, pl.Null))
    ]
    return frame.with_columns(
        pl.col(name).map_elements(_pairs, return_dtype=pl.String, skip_nulls=True) for name in nested
    ).to_pandas()


def _pairs(items) -> str:
    pairs = (
        items.items()
        if isinstance(items, dict)
        else ((i["key"], i["value"]) if isinstance(i, dict) else tuple(i) for i in items)
    )
    return ", ".join(f"{k}: {v}" for k, v in pairs)
