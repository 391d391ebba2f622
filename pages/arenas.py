"""Arenas: history, filtered by status, repository, model and date, each with its pull request on GitHub (state and
link), with links to Live and Results."""

from datetime import date

import streamlit as st

from app import github_loop, live, queries

st.title("Arenas")
rows = queries.arenas()
if not rows:
    st.info("No arenas yet. Launch one, run `arena demo`, or `arena run SPEC.yaml`: they appear here.")
    st.stop()
cols = st.columns(4)
statuses = cols[0].multiselect("Status", sorted({r["status"] for r in rows}))
repos = cols[1].multiselect("Repository", sorted({r["repo"] for r in rows}))
models = cols[2].multiselect("Model", sorted({c["model"] for r in rows for c in r["contestants"]}))
since = cols[3].date_input("Since", value=min(date.fromisoformat(r["created_at"][:10]) for r in rows))
shown = [
    r
    for r in rows
    if (not statuses or r["status"] in statuses)
    and (not repos or r["repo"] in repos)
    and (not models or any(c["model"] in models for c in r["contestants"]))
    and date.fromisoformat(r["created_at"][:10]) >= since
]
st.caption(f"{len(shown)} of {len(rows)} arenas")
published = github_loop.publications()
for arena in shown:
    verdict = arena["verdict"]
    winner = "" if not verdict else f" · winner {verdict['winner']}" if verdict["winner"] else " · no winner"
    with st.container(border=True):
        st.markdown(f"**{arena['title']}** · `{arena['arena_id']}` · {arena['status']}{winner}")
        st.caption(
            f"{arena['repo']} @ {arena['base_sha'][:12]} · {arena['created_at'][:16]} · "
            + ", ".join(f"{c['name']} ({live.status(c)})" for c in arena["contestants"])
        )
        if arena["arena_id"] in published:
            st.markdown(github_loop.pr_line(published[arena["arena_id"]]))
        # A row as wide as the labels: in fixed narrow columns they read "Resul…".
        with st.container(horizontal=True):
            if st.button("Live", key=f"live-{arena['arena_id']}", icon=":material/monitoring:"):
                queries.show_arena(arena["arena_id"], "live")
            if st.button("Results", key=f"results-{arena['arena_id']}", icon=":material/trophy:"):
                queries.show_arena(arena["arena_id"], "results")
            if st.button("Run again", key=f"again-{arena['arena_id']}", icon=":material/replay:"):
                queries.run_again(arena["arena_id"])
