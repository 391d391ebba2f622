"""GitHub on the pages: Launch's issue field (what the issue is, before launch)."""

import streamlit as st

from app import github_loop, launch


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
