"""Arenas: every arena with its contestants' status, steps, cost and files."""

import streamlit as st

from app import queries

st.title("Arenas")
rows = queries.arenas()
if not rows:
    st.info("No arenas yet. Run `arena demo` or `arena run SPEC.yaml` and they appear here.")
for arena in rows:
    with st.expander(f"{arena['arena_id']} · {arena['status']} · {arena['title']}", expanded=arena is rows[0]):
        st.caption(f"{arena['repo']} @ {arena['base_sha'][:12]} · created {arena['created_at']}")
        if arena["error"]:
            st.error(arena["error"])
        if verdict := arena["verdict"]:
            coverage = verdict["coverage"]
            resolved = f"{coverage.get('resolved', 0)}/{coverage.get('candidates', 0)} candidates resolved"
            if verdict["error"]:
                st.warning(f"The judge failed: {verdict['error'].splitlines()[0]}")
            elif verdict["winner"]:
                st.success(f"Winner: **{verdict['winner']}** · {resolved}")
            else:
                st.warning(f"No winner: no candidate passes the gates · {resolved}")
        st.dataframe(
            [
                {k: c[k] for k in ("name", "model", "strategy", "status", "exit_status", "steps", "cost", "tokens")}
                for c in arena["contestants"]
            ],
            hide_index=True,
            width="stretch",
        )
        for c in arena["contestants"]:
            if c["patch_path"]:
                with open(c["patch_path"]) as f:
                    patch = f.read()
                st.markdown(f"**{c['name']}** patch" + ("" if patch else " (empty)"))
                if patch:
                    st.code(patch, language="diff")
