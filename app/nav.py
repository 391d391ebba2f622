"""The app's pages, in one place: main.py routes them, pages link to each other through them; and who sees them
(app/auth.py: with sign-in configured, someone not signed in sees the sign-in screen at every address)."""

import streamlit as st

from app import auth

PAGES = {
    "launch": ("../pages/launch.py", "Launch", ":material/rocket_launch:"),
    "live": ("../pages/live.py", "Live", ":material/monitoring:"),
    "results": ("../pages/results.py", "Results", ":material/trophy:"),
    "arenas": ("../pages/arenas.py", "Arenas", ":material/stadium:"),
    "leaderboard": ("../pages/leaderboard.py", "Leaderboard", ":material/leaderboard:"),
    "costs": ("../pages/costs.py", "Costs", ":material/payments:"),
    "reputation": ("../pages/reputation.py", "Reputation", ":material/verified:"),
    "trajectories": ("../pages/trajectories.py", "Trajectories", ":material/timeline:"),
    "health": ("../pages/health.py", "Health", ":material/health_and_safety:"),
}
SECTIONS = {
    "Arena": ["launch", "live", "results", "arenas"],
    "Compare": ["leaderboard", "costs", "reputation"],
    "Explore": ["trajectories", "health"],
}
DEFAULT = "arenas"


def page(name: str) -> st.Page:
    path, title, icon = PAGES[name]
    return st.Page(path, title=title, icon=icon)


def _home() -> None:
    st.switch_page(page(DEFAULT))


def _only(screen, title: str):
    """One screen at every address of the app: a deep link shows it too, not "Page not found"."""
    home = st.Page(screen, title=title, url_path="home", default=True)
    return st.navigation([home, *(st.Page(screen, title=title, url_path=name) for name in PAGES)], position="hidden")


def navigation():
    session = auth.current()
    if not session.login and session.problem is not None:
        return _only(auth.problem_page, "Agent Arena")
    if session.login and not session.signed_in:
        return _only(auth.sign_in_page, "Sign in")
    if session.login and session.role is None:
        return _only(auth.no_access_page, "No access")
    auth.sidebar(session)
    # Streamlit serves its default page at "/" only, so a default Arenas page made /arenas "Page not found".
    # Instead a hidden default page sends "/" on to /arenas, and every page keeps its own address.
    home = st.Page(_home, title="Agent Arena", url_path="home", default=True, visibility="hidden")
    sections = {section: [page(n) for n in names] for section, names in SECTIONS.items()}
    sections[next(iter(SECTIONS))].insert(0, home)
    return st.navigation(sections)
