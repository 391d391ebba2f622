"""Pieces of the Live page: elapsed times and the arena timeline."""

from datetime import UTC, datetime

import plotly.graph_objects as go

STATUS_COLOURS = {
    "queued": "#71717a",
    "running": "#f59e0b",
    "completed": "#22d3ee",
    "failed": "#ef4444",
    "cancelled": "#a1a1aa",
    "timed_out": "#f97316",
    "interrupted": "#a855f7",
}


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def elapsed(start: str | None, end: str | None) -> str:
    if not start:
        return "-"
    seconds = ((datetime.fromisoformat(end) if end else now()) - datetime.fromisoformat(start)).total_seconds()
    return f"{int(seconds // 60)}m {seconds % 60:04.1f}s" if seconds >= 60 else f"{seconds:.1f}s"


def status(c: dict, limit: int = 200) -> str:
    """A contestant's status with its error, if any: `completed` alone would hide e.g. a patch that was not collected.

    Cut at `limit` characters for lists and hovers; the Live tab shows the whole error.
    """
    error = " · ".join((c["error"] or "").splitlines())
    error = error if len(error) <= limit else error[: limit - 1] + "…"
    return f"{c['status']} · {error}" if error else c["status"]


def model_calls(c: dict) -> str:
    """One line of a contestant's model calls through the gateway: how many, its tokens with the cached ones, the
    upstream's failures the gateway retried, the calls that failed, and the cap that refused one (if any)."""
    n = c["model_calls"]
    line = (
        f"model calls {n['requests']} · tokens in {c['tokens_in']:,} (cache read {n['cache_read']:,}, "
        f"cache write {n['cache_write']:,}) · out {c['tokens_out']:,} · retried {n['retries']} · failed {n['errors']}"
    )
    return line + (f" · refused: {n['limit_hit']}" if n["limit_hit"] else "")


def timeline(contestants: list[dict]) -> go.Figure:
    """One bar per contestant, from its start to its end (or now), coloured by status."""
    fig = go.Figure()
    for c in contestants:
        if not c["started_at"]:
            continue
        start = datetime.fromisoformat(c["started_at"])
        end = datetime.fromisoformat(c["finished_at"]) if c["finished_at"] else now()
        fig.add_bar(
            y=[c["name"]],
            x=[(end - start).total_seconds() * 1000],
            base=[start],
            orientation="h",
            marker_color=STATUS_COLOURS.get(c["status"], "#71717a"),
            name=c["status"],
            hovertext=f"{status(c)} · {c['steps']} steps",
            showlegend=False,
        )
    fig.update_layout(
        height=60 + 28 * len(contestants),
        margin=dict(l=0, r=0, t=10, b=0),
        xaxis_type="date",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        barmode="overlay",
    )
    return fig
