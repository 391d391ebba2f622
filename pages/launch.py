"""Launch: a task, its contestants and limits -> an arena running in the background pool."""

import pandas as pd
import streamlit as st

from app import launch, queries
from app.resources import configured_models, engine, upload_dir
from arena.spec import BUILTIN_STRATEGIES

st.title("Launch an arena")
errors: dict = st.session_state.get("launch_errors", {})


def show_errors(field: str) -> None:
    for message in errors.get(field, []):
        st.error(message, icon=":material/error:")


uploaded_spec = st.file_uploader("Start from a spec YAML (optional)", type=["yaml", "yml"], key="spec_upload")
preset = launch.preset(uploaded_spec.getvalue() if uploaded_spec else None, st.session_state.get("launch_preset"))
if "error" in preset:
    st.error(preset.pop("error"), icon=":material/error:")
preset_key = launch.apply_preset(preset, st.session_state)

source = st.radio("Task from", ["Local path", "Git URL", "SWE-bench instance"], horizontal=True, key="source")
task: dict = {}
if source == "SWE-bench instance":
    instance = st.file_uploader("SWE-bench instance (.json / .jsonl)", type=["json", "jsonl"], key="swebench")
    if instance:
        path = upload_dir() / instance.name
        path.write_bytes(instance.getvalue())
        task["swebench"] = str(path)
    task["repo"] = st.text_input(
        "Local copy of its repository (optional; else cloned from GitHub)", key="repo_override"
    )
else:
    label = "Repository path" if source == "Local path" else "Git URL (https)"
    task["repo"] = st.text_input(label, key="repo")
show_errors("task.repo")
show_errors("task")
st.session_state.setdefault("base", "HEAD")
task["base"] = st.text_input("Base commit", key="base")
show_errors("task.base")
task["title"] = st.text_input("Title", key="title")
task["problem_statement"] = st.text_area("Problem statement", height=140, key="problem_statement")
show_errors("task.problem_statement")
# Open when a preset brings a setup command (it runs once with network, so it should not hide) or on an error.
with st.expander(
    "Setup and tests (optional)",
    expanded=bool(st.session_state.get("setup_command"))
    or any(f in errors for f in ("task.setup_command", "task.test_command")),
):
    task["setup_command"] = st.text_input("Setup command (runs once, with network)", key="setup_command")
    show_errors("task.setup_command")
    task["test_command"] = st.text_input("Test command (detected if empty)", key="test_command")
    show_errors("task.test_command")

st.subheader("Contestants")
models = configured_models()
st.caption(
    f"{len(models)} configured models (provider keys, local endpoint, scripted steps in data/sample/*/steps and data/uploads, recent runs to replay)"
)
rows = preset.get("contestants") or [{"name": "a", "model": models[0] if models else "", "strategy": "minimal-fix"}]
table = pd.DataFrame(rows, columns=launch.CONTESTANT_COLUMNS)
edited = st.data_editor(
    table,
    num_rows="dynamic",
    width="stretch",
    key=f"contestants-{preset_key}",
    column_config={
        "model": st.column_config.SelectboxColumn(
            "model", options=sorted(set(models) | set(table["model"].dropna())), required=True
        ),
        "strategy": st.column_config.SelectboxColumn("strategy", options=list(BUILTIN_STRATEGIES), default="balanced"),
        "step_limit": st.column_config.NumberColumn("step limit", min_value=0, default=50),
        "cost_limit": st.column_config.NumberColumn("cost limit ($)", min_value=0.0, default=3.0),
    },
)
if stakes := launch.stakes(
    launch.spec_dict({"task": {}, "limits": {}, "sandbox": {}}, edited.to_dict("records")), engine().ledger
):
    st.caption("Stakes: escrowed at launch; returned at the end to all but the winner (README: Staking)")
    st.dataframe(stakes, hide_index=True, width="stretch")
show_errors("contestants")

col1, col2, col3, col4 = st.columns(4)
limits = preset.get("limits", {})
limits = {  # int(): a stored spec (Run again) holds the time budget as a float, which these int inputs refuse
    "max_parallel": col1.number_input("Max parallel", 1, 64, int(limits.get("max_parallel", 4))),
    "time_budget_s": col2.number_input("Time budget (s)", 10, 86_400, int(limits.get("time_budget_s", 1800))),
}
judge_model = col3.text_input("Reviewer model (optional)", value=preset.get("judge", {}).get("model") or "")
# Always shown, never silently kept from a preset: the backend decides whether commands run on the host.
backend = col4.selectbox(
    "Sandbox backend",
    launch.backends(st.session_state.get("backend")),
    key="backend",
    help="local: bubblewrap, no network, an overlay per contestant",
)
for message in launch.backend_notes(backend, errors.get("sandbox.backend", [])):
    st.error(message, icon=":material/gpp_bad:")
show_errors("limits")
show_errors("sandbox")
form = {
    "task": task,
    "limits": limits,
    "sandbox": {**preset.get("sandbox", {}), "backend": backend},
    "judge": {"model": judge_model},
}
raw = launch.spec_dict(form, edited.to_dict("records"))
show_errors("form")

left, right = st.columns([1, 4])
if left.button("Launch", type="primary", icon=":material/rocket_launch:"):
    arena_id, st.session_state["launch_errors"] = launch.submit(raw, upload_dir(), engine())
    if arena_id is None:
        st.rerun()
    queries.show_arena(arena_id, "live")
right.download_button("Download spec YAML", launch.to_yaml(raw), file_name="arena.yaml", mime="text/yaml")
