"""Launch: a task, its contestants and limits -> an arena running in the background pool, or on the workers' queue."""

import streamlit as st

from app import auth, launch
from app.components import github_view, launch_view
from app.resources import configured_models, engine, upload_dir

st.title("Launch an arena")
errors: dict = st.session_state.get("launch_errors", {})
shown: set[str] = set()


def show_errors(*fields: str) -> None:
    for field in fields:
        shown.add(field)
        for message in errors.get(field, []):
            st.error(message, icon=":material/error:")


uploaded_spec = st.file_uploader("Start from a spec YAML (optional)", type=["yaml", "yml"], key="spec_upload")
preset = launch.preset(uploaded_spec.getvalue() if uploaded_spec else None, st.session_state.get("launch_preset"))
if "error" in preset:
    st.error(preset.pop("error"), icon=":material/error:")
preset_key = launch.apply_preset(preset, st.session_state)
base_dir, folder_errors = launch.folder(st.text_input(launch.FOLDER, key="spec_dir", **launch.FOLDER_HINTS))
for message in folder_errors:
    st.error(message, icon=":material/error:")
if base_dir is None and (relative := launch.relative_paths(preset)):
    st.warning(launch.relative_note(relative), icon=":material/folder_open:")

source = st.radio("Task from", launch.SOURCES, horizontal=True, key="source")
task, publish, hints = {}, {}, launch.ISSUE_HINTS if source == launch.GITHUB else {}
if source == launch.GITHUB:
    task["github_issue"], publish["pull_request"] = github_view.issue_field(errors, shown)
    task["repo"] = st.text_input("Repository (optional)", key="repo", placeholder=hints["repo"])
elif source == "SWE-bench instance":
    if instance := st.file_uploader("SWE-bench instance (.json / .jsonl)", type=["json", "jsonl"], key="swebench"):
        (path := upload_dir() / instance.name).write_bytes(instance.getvalue())
        task["swebench"] = str(path)
    elif swebench := (preset.get("task") or {}).get("swebench"):
        st.caption(f"The spec's instance: `{swebench}` (upload one to replace it)")
    task["repo"] = st.text_input(
        "Local copy of its repository (optional; else cloned from GitHub)", key="repo_override"
    )
else:
    task["repo"] = st.text_input("Repository path" if source == "Local path" else "Git URL (https)", key="repo")
show_errors("task.repo", "task.swebench", "task")
st.session_state.setdefault("base", "HEAD")
task["base"] = st.text_input("Base commit", key="base")
show_errors("task.base")
task["title"] = st.text_input("Title", key="title", placeholder=hints.get("title"))
task["problem_statement"] = st.text_area(
    "Problem statement", height=140, key="problem_statement", placeholder=hints.get("problem_statement")
)
show_errors("task.problem_statement", "task.problem_statement_file")
# Open when a preset brings a setup command (it runs once with network, so it should not hide) or on an error.
commands = ("task.setup_command", "task.test_command")
with st.expander(
    "Setup and tests", expanded=bool(st.session_state.get("setup_command")) or any(map(errors.get, commands))
):
    task["setup_command"] = st.text_area("Setup command (runs once, with network)", key="setup_command", height=68)
    task["test_command"] = st.text_input("Test command (detected if empty)", key="test_command")
    show_errors(*commands)

st.subheader("Contestants")
models = configured_models()
st.caption(f"{len(models)} configured models (provider keys, local endpoint, scripted steps, recent runs to replay)")
table = launch.table(preset.get("contestants"), models[0] if models else "")
edited = st.data_editor(
    table,
    num_rows="dynamic",
    width="stretch",
    key=f"contestants-{preset_key}",
    column_config=launch.columns(table, models),
)
contestants = edited.to_dict("records")
if stakes := launch.stakes(
    {"contestants": launch.contestant_rows(contestants, preset.get("contestants"))}, engine().ledger
):
    st.caption("Stakes: escrowed at launch; returned at the end to all but the winner (README: Staking)")
    st.dataframe(stakes, hide_index=True, width="stretch")
show_errors("contestants")

col1, col2, col3, col4 = st.columns(4)
old_limits = preset.get("limits") or {}
limits = {
    field: col.number_input(label, **launch.number_args(old_limits, field))
    for col, (field, label) in zip((col1, col2), launch.LIMIT_INPUTS.items(), strict=True)
}
judge_model = col3.text_input("Reviewer model (optional)", value=launch.text((preset.get("judge") or {}).get("model")))
# Always shown, never silently kept from a preset: the backend decides whether commands run on the host.
backend = col4.selectbox(
    "Sandbox backend",
    launch.backends(st.session_state.get("backend")),
    key="backend",
    help="local: bubblewrap, no network, an overlay per contestant",
)
for message in launch.backend_notes(backend, errors.get("sandbox.backend", [])):
    st.error(message, icon=":material/gpp_bad:")
shown.add("sandbox.backend")
show_errors("limits", "limits.max_parallel", "limits.time_budget_s", "judge.model")
form = {"task": task, "limits": launch.numbers(old_limits, limits), "sandbox": {"backend": backend}}
form["judge"] = {"model": judge_model}
form |= {"publish": launch.flags(preset.get("publish"), publish)} if publish else {}
raw = launch.spec_dict(form, contestants, preset)
if kept := launch.kept(raw, form):
    with st.expander(launch.kept_label(kept)):
        st.code(launch.to_yaml(kept), language="yaml")
show_errors(*(field for field in errors if field not in shown))  # the fields kept as is, and the form as a whole

auth.explain("launch")
runs = launch_view.where()  # where the arena will run; None: ARENA_APP_RUNS is wrong (said), and Launch is off
left, right = st.columns([1, 4])
go = auth.button("Launch", "launch", where=left, type="primary", icon=":material/rocket_launch:", disabled=not runs)
if go and not folder_errors:
    launch_view.submit(raw, base_dir, runs)
right.download_button("Download spec YAML", launch.to_yaml(raw), file_name="arena.yaml", mime="text/yaml")
