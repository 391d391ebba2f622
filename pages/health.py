"""Health: is everything the arena needs here? Database, sandboxes, model providers, GitHub, data directory."""

import streamlit as st

from app import health
from app.components import launch_view

st.title("Health")
db = health.database()
st.subheader("Database")
(st.success if db["ok"] else st.error)(f"`{db['url']}` · {db['detail']}")
launch_view.where()  # where an arena launched from the app runs

st.subheader("Sandbox backends")
for row in health.sandboxes():
    (st.warning if row["warn"] else st.success)(f"**{row['backend']}** · {row['detail']}")

st.subheader("Queue")
q = health.queue()
if not q["ok"]:
    st.error(f"the queue cannot be read: {q['error']}")
elif q["note"]:
    st.info(q["note"])
if (depth := q["queue"]) is not None:
    cols = st.columns(4)
    cols[0].metric("waiting", depth["todo"])
    cols[1].metric("running", depth["doing"])
    cols[2].metric("oldest wait", health.seconds(q["oldest_queued_s"]))
    cols[3].metric("workers seen", len(q["workers"]))
    if depth["by_queue"]:
        st.dataframe(health.queue_rows(q), hide_index=True, width="stretch")
    if q["workers"]:
        st.dataframe(q["workers"], hide_index=True, width="stretch")
    if q["stalled_workers"]:
        st.warning(f"workers {q['stalled_workers']} sent no heartbeat for over ARENA_LEASE_S: their jobs are retried")
    elif depth["todo"] and not q["workers"]:
        st.warning("jobs are waiting and no worker is running: start `arena worker` (see README: Workers)")

st.subheader("Model providers")
st.caption("Only whether each variable is set; keys are never shown.")
st.dataframe(health.providers(), hide_index=True, width="stretch")

st.subheader("GitHub")
gh = health.github()
if gh["credentials_ok"]:
    st.success(f"credentials: {gh['credentials']} (never shown) · API `{gh['api_url']}`")
else:
    st.info(f"credentials: {gh['credentials']} · set GITHUB_TOKEN or a GitHub App to work on GitHub issues")
if gh["setting_error"]:
    st.error(gh["setting_error"])
every = f"pull requests are read back every {gh['interval_s']:g} s (ARENA_GITHUB_SYNC_S)"
if (last := gh["last"]) is None:
    st.caption(f"{every}; no sync yet ({gh['pull_requests']} pull requests recorded)")
else:
    (st.success if last.ok else st.error)(f"last sync {last.at:%Y-%m-%d %H:%M:%S} UTC: {last.summary}")
    if (found := gh["found"]) is not None and found is not last:
        st.info(f"last news {found.at:%Y-%m-%d %H:%M:%S} UTC: {found.summary}")
    st.caption(f"{every}; {gh['pull_requests']} pull requests recorded")

st.subheader("Data directory")
data = health.data_dir()
st.markdown(f"`{data['path']}` · {data['origin_text']}")
if old := health.old_data_dir():
    st.warning(
        f"`{old}` holds another database (the data directory was `./data` before): to see those arenas, "
        f"restart with `ARENA_DATA_DIR={old}`, or move its contents to `{data['path']}`."
    )
cols = st.columns(3)
cols[0].metric("used by the arena", health.human(data["used_by_arena"]))
cols[1].metric("disk free", health.human(data["disk_free"]))
cols[2].metric("disk total", health.human(data["disk_total"]))
st.caption("The CLI, the app and the notebooks all use this directory, whatever the current directory.")
