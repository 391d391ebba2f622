"""The app's pages, in one place: main.py routes them, pages link to each other through them."""

import streamlit as st

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


def navigation():
    # Streamlit serves its default page at "/" only, so a default Arenas page made /arenas "Page not found".
    # Instead a hidden default page sends "/" on to /arenas, and every page keeps its own address.
    home = st.Page(_home, title="Agent Arena", url_path="home", default=True, visibility="hidden")
    sections = {section: [page(n) for n in names] for section, names in SECTIONS.items()}
    sections[next(iter(SECTIONS))].insert(0, home)
    return st.navigation(sections)
