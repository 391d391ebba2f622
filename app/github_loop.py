"""The app's side of the GitHub loop: the issue shown before launch, each arena's branches and pull request, the
Open/Update PR action (arena.publish.pull_request.publish, as `arena pr`), and PR links in an agent's history."""

import streamlit as st

from app.auth import require
from app.resources import engine
from arena.config import setting
from arena.credentials import GitHubError, configured, credentials, repo_of_url
from arena.errors import UserError
from arena.publish.pull_request import publish
from arena.report import publication_json
from arena.tasks.github_issue import Issue, fetch_issue, parse_issue_ref

JUDGE = "the judge's winner"
"""What `arena pr` takes without --contestant."""
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


# -- an arena's branches and pull request ---------------------------------------------------------------------------


def publication(arena_id: str) -> dict | None:
    """The arena's life on GitHub, fresh (arena.report.publication_json: repo, branches, pull_request, error)."""
    return publication_json(engine().store.publication(arena_id))


@st.cache_data(ttl=2, show_spinner=False)
def _publications(database_url: str) -> dict[str, dict]:
    return {row.arena_id: publication_json(row) for row in engine().store.publications(with_pull_request=False)}


def publications() -> dict[str, dict]:
    """Every published arena's publication_json, by arena id (the Arenas page's PR column)."""
    return _publications(engine().settings.database_url)


def on_github(arena: dict, published: dict | None) -> bool:
    """Whether the arena can have a PR: it was published, or its repository is on the configured GitHub."""
    try:
        return published is not None or repo_of_url(arena["repo"]) is not None
    except UserError:  # a malformed GITHUB_API_URL: nothing is on GitHub
        return False


def state(pull: dict) -> str:
    """merged | closed | open · draft | open"""
    if pull["merged"]:
        return "merged"
    return f"{pull['state']} · draft" if pull["draft"] and pull["state"] == "open" else str(pull["state"])


def pr_line(published: dict) -> str:
    """Markdown: the PR's number (a link), state and the candidate it shows; or that none is open yet."""
    pull = published["pull_request"]
    if pull is None:
        return f"GitHub `{published['repo']}`: {len(published['branches'])} branch(es) pushed, no pull request"
    return f"[PR #{pull['number']}]({pull['url']}) · {state(pull)} · shows `{pull['head_contestant']}`"


def branches(published: dict) -> list[dict]:
    return [
        {"candidate": name, "branch": b["branch"], "commit": b["commit"][:12], "agent": b.get("agent", "")}
        for name, b in published["branches"].items()
    ]


def open_or_update(arena_id: str, contestant: str | None) -> str:
    """`arena pr ID [--contestant NAME]`: push every candidate and open or update the one draft PR; what was
    done, or UserError with the CLI's message (or why this user may not: its button is app/components/github_view's)."""
    require("pull_request")
    done = publish(engine().store, engine().settings, arena_id, contestant=contestant or None)
    pull = done["pull_request"]
    pushed = f"{len(done['branches'])} candidate branch(es) pushed to {done['repo']}"
    if pull is None:
        return f"{pushed}; no pull request: the verdict has no winner (choose a candidate to open one)"
    return f"{pushed}; pull request #{pull['number']} ({state(pull)}) shows {pull['head_contestant']}: {pull['url']}"


# -- an agent's history ----------------------------------------------------------------------------------------------

HISTORY_COLUMNS = ("at", "kind", "arena_id", "contestant", "amount", "escrow", "outcome", "commit")


def history(events: list[dict]) -> list[dict]:
    """An agent's ledger events, newest first, each with its `pull request` URL where the event names one (`pr` in
    its detail: merged or reverted through GitHub)."""
    links = {a: p["pull_request"]["url"] for a, p in publications().items() if p["pull_request"]}
    return [
        {k: e[k] for k in HISTORY_COLUMNS}
        | {"pull request": links.get(e["arena_id"]) if (e.get("detail") or {}).get("pr") else None}
        for e in events[::-1]
    ]
