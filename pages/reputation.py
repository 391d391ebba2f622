"""Reputation: an agent's wins, merges and reverts, its stake multiplier and its balance, from the ledger."""

import streamlit as st

from app import github_loop, reputation
from app.resources import engine

st.title("Reputation")
agents = reputation.agents()
if not agents:
    st.info("No agent has entered an arena yet. Every contestant is an agent: its model + strategy.")
    st.stop()
agent = st.selectbox("Agent (model+strategy)", agents, key="reputation-agent")
ledger = engine().ledger
state = reputation.state(agent)
cols = st.columns(6)
cols[0].metric("balance", f"{state.balance:g}")
cols[1].metric("escrowed", f"{state.escrow:g}")
cols[2].metric("stake to enter", f"{state.stake:g}", help=f"{state.base_stake:g} x {ledger.rules.multiplier:g}^k")
cols[3].metric("wins", state.wins)
cols[4].metric("merged", state.merged)
cols[5].metric("reverted", state.reverted, help=f"k = {state.k} unredeemed")
if state.balance < state.stake:
    st.warning(f"{agent} cannot enter an arena: balance {state.balance:g} < stake {state.stake:g}.")
st.plotly_chart(reputation.timeline(state.history, ledger), width="stretch", key="reputation-timeline")
st.subheader("History")
st.dataframe(
    github_loop.history(state.history),  # newest first, with a link to the pull request where there is one
    hide_index=True,
    width="stretch",
    column_config={"pull request": st.column_config.LinkColumn(display_text=r".*/pull/(\d+)$")},
)
