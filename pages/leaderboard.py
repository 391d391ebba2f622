"""Leaderboard: ratings with intervals and tiers, and the table, by model, strategy, agent, repository or period."""

import streamlit as st

from app import charts
from app.resources import engine
from arena import analytics

st.title("Leaderboard")
cols = st.columns(3)
by = cols[0].selectbox("By", analytics.BY, index=analytics.BY.index("agent"))
source = cols[1].selectbox("Runs", analytics.SOURCES, help="arenas run here, imported trajectories, or both")
period = cols[2].selectbox("Period", analytics.PERIODS, index=1, disabled=by != "period")
board = analytics.leaderboard(engine().store, by=by, source=source, period=period)
if board.is_empty():
    st.info("Nothing to rank yet: run a few arenas (`arena demo`) or `arena ingest` trajectories.")
    st.stop()
if by in ("model", "strategy", "agent") and source != "imported":
    ratings = analytics.ratings_df(engine().store, by)
    if ratings.is_empty():
        st.caption("No pairwise outcomes yet: ratings need arenas with at least two agents.")
    else:
        st.subheader("Ratings (Bradley-Terry, 95 % bootstrap intervals)")
        st.caption("Players whose intervals overlap share a tier; colours alternate by tier.")
        st.plotly_chart(charts.ratings(ratings), width="stretch", key="ratings")
st.subheader("Table")
st.dataframe(charts.table(board), hide_index=True, width="stretch")
judges = analytics.judges(engine().store)
if not judges.is_empty():
    st.subheader("Judges: picked vs coverage")
    st.dataframe(charts.table(judges), hide_index=True, width="stretch")
