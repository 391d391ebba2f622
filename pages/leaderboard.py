"""Leaderboard: ratings with intervals and tiers, and the table, by model, strategy, runner, agent, repository or period."""

import streamlit as st

from app import charts, queries
from arena import analytics
from arena.reputation.ratings import MIN_GAMES

st.title("Leaderboard")
cols = st.columns(3)
by = cols[0].selectbox("By", analytics.BY, index=analytics.BY.index("agent"))
source = cols[1].selectbox("Runs", analytics.SOURCES, help="arenas run here, imported trajectories, or both")
period = cols[2].selectbox("Period", analytics.PERIODS, index=1, disabled=by != "period")
board = queries.leaderboard(by, source, period)  # once per data version: a repeat visit recomputes nothing
if board.is_empty():
    st.info("Nothing to rank yet: run a few arenas (`arena demo`) or `arena ingest` trajectories.")
    st.stop()
if analytics.rates(by, source):
    ratings = charts.rated(board, by)  # the board's own ratings: one Bradley-Terry fit per visit, not two
    if ratings.is_empty():
        st.caption("No pairwise outcomes yet: ratings need arenas with at least two agents.")
    else:
        st.subheader("Ratings (Bradley-Terry, 95 % bootstrap intervals)")
        names = ratings["name"].to_list()
        cols = st.columns([1, 3])
        shown = cols[0].number_input(
            "Top", min_value=1, max_value=len(names), value=min(charts.TOP, len(names)), help="players on the chart"
        )
        also = cols[1].multiselect("Also chart", names, help="players below the top, by name; the table lists all")
        chart = charts.top(ratings, int(shown), also)
        st.caption(
            f"{len(chart)} of {len(names)} players charted; the table lists everyone. Players whose intervals "
            f"overlap share a tier; colours alternate by tier. Fewer than {MIN_GAMES} games: provisional, drawn "
            "grey below the tiered players, never tiered."
        )
        st.plotly_chart(charts.ratings(chart), width="stretch", key="ratings")
st.subheader("Table")
st.dataframe(charts.table(board), hide_index=True, width="stretch")
judges = queries.judges()
if not judges.is_empty():
    st.subheader("Judges: picked vs coverage")
    st.dataframe(charts.table(judges), hide_index=True, width="stretch")
