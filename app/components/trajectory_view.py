"""Trajectory view: a summary, and a window of steps as compact blocks (fast enough for a 2 s refresh).

Only the steps inside the window are rendered; a selector pages back through older ones. Every widget
key starts with the caller's `key`, so several views can share a page (columns, tabs, the Live page).
"""

from collections import Counter
from datetime import datetime
from pathlib import Path

import streamlit as st

from arena.trajectory import Step, Trajectory, TrajectoryCache, load_trajectory
from arena.trajectory.discover import recent_trajectories

COLLAPSE_LINES = 15
"""Outputs longer than this go into an expander."""
KEEP_LINES = 200
"""Long outputs are cut to their last lines: the end of a test run or a traceback is what matters."""
KEEP_CHARS = 40_000
THOUGHT_PREVIEW = 700
COMMAND_LINES = 30
"""Longer commands (heredocs writing whole files) scroll inside a box of COMMAND_HEIGHT pixels."""
COMMAND_HEIGHT = 420
# Agent-written files (sandbox layers, judge checkouts) and repository mirrors are never trajectories we list.
MAX_PROBE_BYTES = 50_000_000


@st.cache_resource
def trajectory_cache() -> TrajectoryCache:
    """One cache per process: a file is parsed again only when it changes."""
    return TrajectoryCache()


def open_path(path: Path | str) -> Trajectory:
    """The trajectory at `path` (cached); TrajectoryError with the loader's message if it cannot be read."""
    traj = trajectory_cache().get(Path(path))
    return traj if traj is not None else load_trajectory(Path(path))  # raises with the reason


@st.cache_data(ttl=5, show_spinner=False)
def find_trajectories(data_dir: str, limit: int = 500) -> list[str]:
    """Trajectory files under `data_dir`, newest first (arena.trajectory.discover: the one finder)."""
    return recent_trajectories(data_dir, _loads, limit)


def _loads(path: Path) -> bool:
    try:
        small = path.suffix == ".json" and path.stat().st_size <= MAX_PROBE_BYTES
    except OSError:
        return False
    return small and trajectory_cache().get(path) is not None


def _money(value: float | None) -> str:
    return "–" if value is None else f"${value:.4f}" if value < 10 else f"${value:,.2f}"


def _md(text: str) -> str:
    """Markdown-safe model text: `$` would start LaTeX."""
    return text.replace("$", "\\$")


def render_summary(traj: Trajectory, *, compact: bool = False) -> None:
    """Steps, cost, API calls and exit status; task and submission in expanders. `compact`: a 2×2 grid (columns)."""
    rows = [st.columns(2), st.columns(2)] if compact else [st.columns([1, 1, 1, 2])]  # exit statuses are long
    cells = [cell for row in rows for cell in row]
    cells[0].metric("Steps", len(traj.steps))
    cells[1].metric("Cost", _money(traj.total_cost))
    cells[2].metric("API calls", "–" if traj.api_calls is None else traj.api_calls)
    cells[3].metric("Exit status", traj.exit_status or "–")
    tokens = "" if traj.tokens_in is None else f" · tokens {traj.tokens_in:,} in / {traj.tokens_out or 0:,} out"
    where = f" · {traj.instance_id}" if traj.instance_id else ""
    st.caption(f"{traj.format} · model {traj.model or 'unknown'}{where}{tokens}")
    if traj.task:
        with st.expander("Task"):
            st.text(traj.task[:20_000])
    if traj.submission:
        with st.expander("Submission"):
            st.code(traj.submission, language="diff")


def step_pages(count: int, window: int) -> list[tuple[int, int]]:
    """(start, end) of each page over `count` steps; fixed boundaries so labels stay put while a run grows."""
    return [(start, min(start + window, count)) for start in range(0, count, window)]


def matching(steps: list[Step], search: str) -> list[Step]:
    needle = search.strip().lower()
    return [s for s in steps if needle in s.text()] if needle else steps


def render_steps(traj: Trajectory, key: str, *, window: int = 20, search: str = "", page: int | None = None) -> None:
    """Render a window of steps: the latest `window` by default, older ones through a page selector.

    Args:
        traj: the trajectory.
        key: prefix of every widget key; unique per view on a page.
        window: steps per page.
        search: show only steps whose thought, commands or outputs contain this (case-insensitive).
        page: 1-based page to show without a selector (None: a selector, defaulting to the latest steps).
    """
    window = max(1, window)
    steps = matching(traj.steps, search)
    if search.strip():
        st.caption(f"{len(steps)} of {len(traj.steps)} steps match “{search.strip()}”")
    if not steps:
        st.info("No step matches the search." if search.strip() else "No steps yet.")
        return
    pages = step_pages(len(steps), window)
    if page is not None:
        start, end = pages[min(max(page, 1), len(pages)) - 1]
    elif len(pages) > 1:
        label = {-1: f"latest {window}"} | {
            i: f"steps {steps[a].index + 1}–{steps[b - 1].index + 1}" for i, (a, b) in enumerate(pages)
        }
        chosen = st.selectbox("Steps", list(label), format_func=label.get, key=f"{key}-page")
        start, end = (max(0, len(steps) - window), len(steps)) if chosen == -1 else pages[chosen]
    else:
        start, end = 0, len(steps)
    for step in steps[start:end]:
        _render_step(step, f"{key}-s{step.index}")


def _render_step(step: Step, key: str) -> None:
    with st.container(border=True):
        facts = [f"**Step {step.index + 1}**"]
        if step.cost is not None:
            facts.append(_md(_money(step.cost)))
        if step.tokens_in is not None or step.tokens_out is not None:
            facts.append(f"{step.tokens_in or 0:,} in / {step.tokens_out or 0:,} out tokens")
        if step.duration_s is not None:
            facts.append(f"{step.duration_s:.2f} s" if step.duration_s < 10 else f"{step.duration_s:,.0f} s")
        if step.timestamp is not None:
            facts.append(datetime.fromtimestamp(step.timestamp).strftime("%H:%M:%S"))
        st.markdown(" · ".join(facts))
        _render_thought(step.thought, key)
        for j, action in enumerate(step.actions):
            long = action.count("\n") > COMMAND_LINES or len(action) > 80 * COMMAND_LINES
            st.code(action, language="bash", wrap_lines=True, height=COMMAND_HEIGHT if long else "content")
            if j < len(step.outputs):
                _render_output(step.outputs[j], step.returncodes[j], f"{key}-o{j}")
            else:
                st.caption("no output recorded")
        # A model stuck in a loop repeats the same format error a hundred times: say it once, with a count.
        for note, count in Counter(step.notes).items():
            st.caption(f":orange[{_md(note[:300])}]" + (f" (×{count})" if count > 1 else ""))


def _render_thought(thought: str, key: str) -> None:
    if not thought:
        return
    if len(thought) <= THOUGHT_PREVIEW:
        st.markdown(_md(thought))
        return
    cut = thought.rfind("\n", 0, THOUGHT_PREVIEW)
    st.markdown(_md(thought[: cut if cut > THOUGHT_PREVIEW // 2 else THOUGHT_PREVIEW]) + " …")
    with st.expander(f"full thought · {len(thought):,} characters", key=f"{key}-thought"):
        st.markdown(_md(thought))


def _render_output(output: str, returncode: int | None, key: str) -> None:
    lines = output.splitlines()
    shown, note = output, ""
    if len(lines) > KEEP_LINES:
        shown, note = "\n".join(lines[-KEEP_LINES:]), f"showing the last {KEEP_LINES} of {len(lines):,} lines"
    if len(shown) > KEEP_CHARS:
        shown, note = shown[-KEEP_CHARS:], f"showing the last {KEEP_CHARS:,} of {len(output):,} characters"
    code = "" if returncode is None else f"exit {returncode}" if returncode == 0 else f":red[exit {returncode}]"
    if len(lines) > COLLAPSE_LINES:
        with st.expander(f"output · {len(lines):,} lines" + (f" · {code}" if code else ""), key=key):
            if note:
                st.caption(note)
            st.code(shown, language="text")
    else:
        st.code(shown or "(no output)", language="text")
        if code:
            st.caption(code)
