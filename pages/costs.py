"""Costs: per contestant, per win, per merged patch, the cost-versus-win-rate frontier, and cost per step."""

import streamlit as st

from app import charts, costs
from app.resources import engine
from arena import analytics

st.title("Costs")
store = engine().store
by = st.selectbox("Group by", ["model", "strategy", "agent"], index=2)
board = analytics.leaderboard(store, by=by, source="arenas")
if board.is_empty():
    st.info("No runs yet: cost appears once arenas have run (`arena demo` costs nothing: scripted).")
    st.stop()
label = "agent" if by == "agent" else by
st.subheader("Cost per run, per win and per merged patch")
st.dataframe(
    board.select(label, "runs", "cost_total", "cost_mean", "cost_per_win", "cost_per_merged", "wins", "win_rate"),
    hide_index=True,
    width="stretch",
)
st.subheader("Cost versus win rate (Pareto frontier highlighted)")
st.plotly_chart(charts.pareto(analytics.pareto(board), label), width="stretch", key="pareto")
runs = analytics.runs_df(store).filter(source="arenas")
st.subheader("Cost per contestant")
st.dataframe(
    runs.select("run", "agent", "status", "steps", "cost", "tokens", "won").to_pandas(),
    hide_index=True,
    width="stretch",
)
st.subheader("Cost per step")
steps = analytics.steps_df(store)
if steps.is_empty():
    st.caption("No trajectories with steps yet.")
else:
    per_step = costs.per_step(steps, runs)
    st.plotly_chart(charts.bars(per_step, "agent", "cost_per_step", "mean cost per step ($)"), width="stretch")
