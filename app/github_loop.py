"""The app's side of the GitHub loop: the issue shown before launch."""

import streamlit as st

from arena.config import setting
from arena.credentials import GitHubError, configured, credentials
from arena.errors import UserError
from arena.tasks.github_issue import Issue, fetch_issue, parse_issue_ref

RESTART = "the app reads them from its environment when it starts: set one there and restart the app"


@st.cache_data(ttl=60, max_entries=64, show_spinner="Reading the issue on GitHub…")
def _issue(ref: str, api_url: str, credentials_id: int) -> Issue:
    return fetch_issue(parse_issue_ref(ref))  # a failure raises: nothing cached, the next rerun asks again


def issue(text: str) -> tuple[Issue | None, str | None]:
    """The issue `text` names (OWNER/REPO#N or its URL) as GitHub has it now, or (None, why not): a malformed
    reference, no credentials (which settings to set), or GitHub's answer (404, 401, ...) with what to do."""
    if not text.strip():
        return None, None
    try:
        ref = parse_issue_ref(text)
        creds = configured()
        if creds is None:
            try:
                credentials()  # raises, naming the settings
            except GitHubError as e:
                return None, f"{e}; {RESTART}"
        # Keyed by the credentials object too (one per configuration): a new token asks again.
        return _issue(str(ref), str(setting("GITHUB_API_URL")), id(creds)), None
    except UserError as e:
        return None, str(e)


def issue_summary(found: Issue) -> str:
    """One line for the Launch page: the issue's title and link, its repository and the base it will use."""
    title = found.title.replace("$", "\\$")
    return (
        f"**{title}** · [{found.ref}]({found.url}) · repository `{found.ref.repo.full_name}` · base: "
        f"`{found.default_branch}` at `{found.base_sha[:12]}` (the default branch's head now; recorded at launch "
        "unless Base commit names another)"
    )
