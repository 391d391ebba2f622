"""Reusable Streamlit components: trajectory view (and, later, diff view and tables)."""
