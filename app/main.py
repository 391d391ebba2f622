"""Entry point: routes only (`streamlit run app/main.py`)."""

import streamlit as st

from app.nav import navigation

st.set_page_config(page_title="Agent Arena", page_icon="⚔️", layout="wide")
navigation().run()
