"""Live: every contestant of an arena, refreshed every 2 s (only this fragment reruns)."""

import streamlit as st

from app import auth, live, nav, queries
from app.components.trajectory_view import render_steps
from app.resources import engine, runner_of
from arena import artifacts

st.title("Live")
arena_id = queries.selected_arena()
if arena_id is None:
    st.info("No arenas yet: launch one from the Launch page, or run `arena demo`.")
    st.stop()


@st.fragment(run_every=2)
def watch() -> None:
    arena = queries.arena(arena_id)
    running = arena["status"] in ("queued", "running")
    done = sum(c["status"] not in ("queued", "running") for c in arena["contestants"])
    # The button takes the width of its label, the line the rest (a 1/6 column cut it to "Cancel are…").
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(
            f"**{arena['title']}** · `{arena['status']}` · {done}/{len(arena['contestants'])} ended · "
            f"{live.elapsed(arena['started_at'], arena['finished_at'])}"
        )
        if running and auth.button("Cancel arena", "cancel", key=f"cancel-{arena_id}", icon=":material/stop_circle:"):
            runner_of(arena_id).cancel(arena_id)  # the workers' queue for an arena they run
    if arena["verdict"]:
        winner = arena["verdict"]["winner"]
        st.success(f"Verdict: winner **{winner}**" if winner else "Verdict: no candidate passes the gates")
        st.page_link(nav.page("results"), label="Open the results", icon=":material/trophy:")
    st.plotly_chart(live.timeline(arena["contestants"]), width="stretch", key=f"timeline-{arena_id}")
    # Labels are the names only: a label that changes (with the status, say) resets the selected tab.
    # on_change="rerun" makes `.open` tell the selected tab: only its steps are read and rendered.
    tabs = st.tabs([c["name"] for c in arena["contestants"]], key=f"tabs-{arena_id}", on_change="rerun")
    for tab, c in zip(tabs, arena["contestants"], strict=True):
        with tab:
            st.markdown(
                f"`{c['status']}`"
                + (f" · exit **{c['exit_status']}**" if c["exit_status"] else "")
                + f" · {c['runner']} · {c['model']} · {c['strategy']}"
            )
            if c["error"]:  # whatever the status: a completed contestant can have one (its patch not collected)
                st.error(c["error"], icon=":material/error:")
            cols = st.columns(4)
            cols[0].metric("steps", c["steps"])
            cols[1].metric("cost", f"${c['cost']:.4f}")
            cols[2].metric("tokens", f"{c['tokens']:,}")
            cols[3].metric("elapsed", live.elapsed(c["started_at"], c["finished_at"]))
            if c.get("model_calls"):  # metered by the gateway as the calls happen (arena/gateway)
                st.caption(live.model_calls(c))
            if c["status"] == "running" and auth.button("Cancel", "cancel", key=f"cancel-{arena_id}-{c['name']}"):
                runner_of(arena_id).cancel(arena_id, c["name"])
            if not tab.open:
                continue
            # From the shared store (arena/artifacts.py): the contestant may run on another machine.
            traj = artifacts.trajectory_of(engine().store, arena_id, c["name"], c["trajectory_path"])
            if traj is None:
                st.caption("waiting for the first step…")
            else:
                render_steps(traj, key=f"live-{arena_id}-{c['name']}", window=20)


watch()
