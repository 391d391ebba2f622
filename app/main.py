"""Entry point: routes only (`streamlit run app/main.py`)."""

import streamlit as st

st.set_page_config(page_title="Agent Arena", page_icon="⚔️", layout="wide")
st.navigation([st.Page("../pages/arenas.py", title="Arenas", icon=":material/stadium:", default=True)]).run()
