"""Costs: per contestant, per win, per merged patch, the cost-versus-win-rate frontier, and cost per step."""

import streamlit as st

from app import charts, costs, queries
from arena import analytics

st.title("Costs")
by = st.selectbox("Group by", ["model", "strategy", "agent"], index=2)
board = queries.leaderboard(by, "arenas")  # the Leaderboard page's own board: computed once per data version
if board.is_empty():
    st.info("No runs yet: cost appears once arenas have run (`arena demo` costs nothing: scripted).")
    st.stop()
st.subheader("Cost per run, per win and per merged patch")
st.dataframe(
    board.select(by, "runs", "cost_total", "cost_mean", "cost_per_win", "cost_per_merged", "wins", "win_rate"),
    hide_index=True,
    width="stretch",
)
st.subheader("Cost versus win rate (Pareto frontier highlighted)")
st.caption("Frontier points are named; hover over any point for its name.")
st.plotly_chart(charts.pareto(analytics.pareto(board), by), width="stretch", key="pareto")
total, recent = costs.recent()
st.subheader("Cost per contestant")
st.caption(f"The newest {len(recent):,} of {total:,} runs.")
st.dataframe(recent.to_pandas(), hide_index=True, width="stretch")
st.subheader("Cost per step")
per_step = costs.per_step()
if per_step.is_empty():
    st.caption("No runs with steps yet.")
else:
    cols = st.columns([1, 3])
    names = per_step["agent"].to_list()
    shown = cols[0].number_input("Top", min_value=1, max_value=len(names), value=min(charts.TOP, len(names)))
    also = cols[1].multiselect("Also chart", names, key="costs-also", help="agents below the top, by name")
    st.caption(
        f"Mean cost per step (model call) from each agent's runs, dearest first: {min(int(shown), len(names))} of "
        f"{len(names)} agents charted, plus any chosen; the table lists all."
    )
    chart = charts.top(per_step, int(shown), also, name="agent")
    st.plotly_chart(charts.bars(chart, "agent", "cost_per_step", "mean cost per step ($)"), width="stretch")
    st.dataframe(per_step.to_pandas(), hide_index=True, width="stretch")
