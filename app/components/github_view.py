"""GitHub on the pages: Launch's issue field (what the issue is, before launch) and Results' pull request panel."""

import streamlit as st

from app import auth, github_loop, launch
from arena.errors import UserError


def issue_field(errors: dict[str, list[str]], shown: set[str]) -> tuple[str, bool]:
    """The GitHub issue input, then the issue's title, repository and base or why it cannot be read (and the
    last Launch's errors of the field: `shown` gets it), then "Open a draft pull request". Returns (the text as
    typed: the spec holds it and the launch fills the task from it, the checkbox)."""
    shown.add("task.github_issue")
    text = st.text_input(
        "GitHub issue",
        key="github_issue",
        placeholder="OWNER/REPO#N or the issue's URL",
        help="Its repository, default branch and text fill every task field left empty below",
        on_change=launch.follow_issue,
        args=(st.session_state,),
    )
    found, why = github_loop.issue(text)
    if found is not None:
        st.success(github_loop.issue_summary(found), icon=":material/task_alt:")
        with st.expander("The problem statement from the issue"):
            st.text(found.problem_statement())
    # What GitHub says now stands for what it said at the last Launch; that is shown when it said nothing now.
    for message in [why] if why else errors.get("task.github_issue", []):
        st.error(message, icon=":material/error:")
    return text, st.checkbox(
        "Open a draft pull request",
        key="publish_pr",
        help="publish.pull_request: a draft PR from the first candidate with a patch, updated to the judge's winner "
        "with the evidence. Every candidate is pushed as a branch either way.",
    )


def pull_request(arena: dict, names: list[str]) -> None:
    """The arena's PR (number, state, link) and pushed branches, and Open PR / Update PR (`arena pr`) for the
    judge's winner or a chosen candidate (disabled, with the reason, for someone who may not: app.auth). Nothing for
    an arena whose repository is not on GitHub."""
    arena_id = arena["arena_id"]
    published = github_loop.publication(arena_id)
    if not github_loop.on_github(arena, published):
        return
    st.subheader("Pull request on GitHub")
    panel = st.container()
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    choice = left.selectbox(
        "Candidate for the pull request",
        [github_loop.JUDGE, *names],
        key=f"pr-who-{arena_id}",
        help="The PR's head branch points at this candidate's commit; every candidate is pushed as a branch.",
    )
    opened = published is not None and published["pull_request"] is not None
    if auth.button(
        "Update PR" if opened else "Open PR",
        "pull_request",
        where=right,
        icon=":material/call_merge:",
        key=f"pr-{arena_id}",
        help="Push every candidate and open or update the arena's one draft pull request (`arena pr`)",
    ):
        with st.spinner("Pushing the candidates to GitHub…"):
            try:
                st.success(github_loop.open_or_update(arena_id, None if choice == github_loop.JUDGE else choice))
            except UserError as e:
                st.error(str(e), icon=":material/gpp_bad:")
        published = github_loop.publication(arena_id)
    with panel:
        if published is None:
            st.caption("Nothing pushed yet.")
            return
        st.markdown(github_loop.pr_line(published))
        if published["branches"]:
            st.dataframe(github_loop.branches(published), hide_index=True, width="stretch")
        if published["error"]:
            st.warning(f"The last push failed: {published['error']}", icon=":material/sync_problem:")
