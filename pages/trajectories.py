"""Trajectories: open any trajectory (an arena's contestant, a file in the data dir, an upload), search it, page
through its steps, compare two. Arena contestants' trajectories come from the shared store (arena/artifacts.py): the
workers that ran them may be other machines."""

from pathlib import Path

import streamlit as st

from app import queries
from app.components import trajectory_view as view
from app.resources import engine
from arena import artifacts
from arena.config import Settings
from arena.trajectory import TrajectoryError, load_trajectory

st.title("Trajectories")
data_dir = Settings.from_env().data_dir
upload = st.file_uploader("Upload a trajectory", type=["json", "traj"], help="mini-swe-agent, SWE-agent or OpenHands")
sources: dict[str, object] = {f"uploaded: {upload.name}": upload} if upload else {}
if upload and st.session_state.get("traj-upload-id") != upload.file_id:
    # A new upload is what the user wants to see: a selector keeps its choice while that choice is still an option.
    st.session_state["traj-upload-id"] = upload.file_id
    for key in ("traj-main-file", "traj-0-file"):
        st.session_state[key] = f"uploaded: {upload.name}"
stored = {
    f"arena {a['arena_id']} / {c['name']} ({c['status']})": (a["arena_id"], c["name"], c["trajectory_path"])
    for a in queries.arenas()
    for c in a["contestants"]
    if c["status"] != "queued"
}
sources |= stored
runs, listed = Settings.from_env().runs_dir, {arena_id for arena_id, _, _ in stored.values()}


def listed_above(path: Path) -> bool:
    """A file of an arena listed above (runs/<arena id>/...): shown once, from the store."""
    return path.is_relative_to(runs) and path.relative_to(runs).parts[0] in listed


files = [Path(p) for p in view.find_trajectories(str(data_dir))]
sources |= {str(p.relative_to(data_dir)): p for p in files if not listed_above(p)}
if not sources:
    st.info(f"No trajectories under {data_dir} yet: run `arena demo`, launch an arena, or upload a file above.")
    st.stop()

top = st.columns([3, 1])
search = top[0].text_input("Search steps", key="traj-search", placeholder="text in thoughts, commands or outputs")
compare = top[1].toggle("Compare two", key="traj-compare", help="Two trajectories side by side")


def show(key: str, default: int) -> None:
    """A selector, the summary and the steps of one trajectory; the loader's message if it cannot be read."""
    names = list(sources)
    name = st.selectbox("Trajectory", names, index=min(default, len(names) - 1), key=f"{key}-file")
    source = sources[name]
    try:
        if isinstance(source, tuple):
            traj = artifacts.trajectory_of(engine().store, *source)
            if traj is None:
                st.caption("no step kept yet")
                return
        else:
            traj = view.open_path(source) if isinstance(source, Path) else load_trajectory(source.getvalue())
    except TrajectoryError as e:
        st.error(str(e) if isinstance(source, Path) else f"{upload.name}: {e}")
        return
    view.render_summary(traj, compact=compare)
    view.render_steps(traj, key, search=search)


if compare:
    for i, column in enumerate(st.columns(2)):
        with column:
            show(f"traj-{i}", default=i)
else:
    show("traj-main", default=0)
