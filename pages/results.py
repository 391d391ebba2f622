"""Results: the verdict, every candidate's evidence and reasons, side-by-side diffs, the losers and why."""

import streamlit as st

from app import auth, queries, results
from app.components import github_view, results_view
from app.resources import engine, runner_of
from arena.errors import UserError

st.title("Results")
arena_id = queries.selected_arena()
if arena_id is None:
    st.info("No arenas yet: launch one from the Launch page, or run `arena demo`.")
    st.stop()
arena = queries.arena(arena_id)
verdict = arena["verdict"]
with st.container(horizontal=True):
    judge_again = auth.button(
        "Judge again", "judge", icon=":material/gavel:", disabled=arena["status"] in ("queued", "running")
    )
    if st.button("Run again", icon=":material/replay:", help="Open Launch with this arena's spec, every field of it"):
        queries.run_again(arena_id)
if judge_again:
    try:
        job = results.judge_again(runner_of(arena_id), arena_id)
        if job is None:
            st.info("Judging again on a worker; rerun this page to see the new verdict when it is stored.")
        else:
            st.session_state[f"judging-{arena_id}"] = job
    except UserError as e:
        st.error(str(e), icon=":material/gpp_bad:")
if (job := st.session_state.get(f"judging-{arena_id}")) is not None:
    if not job.done():
        st.info("Judging again in the background; rerun this page to see the new verdict when it is stored.")
    elif job.exception() is not None:
        st.error(f"Judging again failed: {job.exception()}")
if verdict is None or verdict["error"]:
    if verdict is None:
        st.info(f"No verdict yet (the arena is {arena['status']}).")
    else:
        st.error(f"The judge failed: {verdict['error']}")
    github_view.pull_request(
        arena, list(results.patches(engine().store, arena, None))
    )  # an early draft, a retry, a hand pick
    st.stop()

coverage, judge = verdict["coverage"], verdict["judge"]
cols = st.columns(3)
cols[0].metric("winner", verdict["winner"] or "none")
cols[1].metric("coverage (resolved)", f"{coverage['resolved']}/{coverage['candidates']}")
cols[2].metric("picked resolved", "yes" if coverage.get("picked_resolved") else "no")
if not verdict["winner"]:
    st.warning("No candidate passes the gates: there is no winner.")
st.caption(
    f"tests: `{judge.get('test_command')}` ({judge.get('test_command_source')}) · F2P from {judge.get('f2p_source')}"
)
if judge.get("fallback"):
    st.caption(f"ranking: {judge['fallback']}")
if judge.get("rationale"):
    st.info(f"**Reviewer ({judge.get('reviewer')}):** {judge['rationale']}")

errors = results.errors(arena)
st.dataframe(results.ranking_table(verdict, errors), hide_index=True, width="stretch")
st.subheader("Why each candidate placed where it did")
results_view.why(verdict, errors)

losers = [p for p in verdict["ranking"] if p["name"] != verdict["winner"]]
if losers:
    st.subheader("The losers, and why they lost")
    for p in losers:
        failures = p["evidence"]["gate_failures"] or [p["reasons"][0]]
        failures += [f"error: {errors[p['name']]}"] if p["name"] in errors else []
        st.markdown(f"**{p['name']}**: " + "; ".join(failures))

if (matrix := results.vote_matrix(judge)) is not None:
    st.subheader("Cross-validation votes")
    st.dataframe(matrix, width="stretch")

patches = results.patches(engine().store, arena, verdict)
names = [p["name"] for p in verdict["ranking"] if p["name"] in patches]
st.subheader("Diffs side by side")
results_view.side_by_side(arena_id, names, patches)
st.subheader("Candidate against candidate")
results_view.pairwise(arena, names, patches)
st.subheader("Hand it on: apply, abandon, export")
auth.explain("apply")
results_view.actions(arena, names)
github_view.pull_request(arena, names)
