"""The Results page's lower half: why each candidate placed, diffs side by side and pairwise, and the actions that
hand the result on (Apply, Abandon, Export) with the CLI's checks and messages."""

import streamlit as st

from app import auth, results
from app.components import diff_view
from app.resources import engine
from arena.errors import UserError

SETTLED = "the settled winner"
"""What `arena apply` / `arena export` take without --contestant."""


def why(verdict: dict, errors: dict[str, str]) -> None:
    """Every candidate's place and its reason in full (wrapped text, not a cut table cell), details on demand."""
    for p in verdict["ranking"]:
        error = f" · :orange[error: {_md(errors[p['name']])}]" if p["name"] in errors else ""
        st.markdown(f"**#{p['rank']} {p['name']}** · {_md(p['reasons'][0])}{error}")
        with st.expander(f"evidence of {p['name']}", expanded=False, key=f"why-{p['name']}"):
            st.markdown("\n".join(f"- {_md(r)}" for r in p["reasons"]))
            if p["evidence"]["test_output_tail"]:
                st.code(p["evidence"]["test_output_tail"], language="text")


def _md(text: str) -> str:
    """Markdown-safe reason text: `$` would start LaTeX."""
    return text.replace("$", "\\$")


def side_by_side(arena_id: str, names: list[str], patches: dict[str, str]) -> None:
    chosen = st.multiselect("Candidates", names, default=names[:3], key=f"diffs-{arena_id}")
    for col, name in zip(st.columns(max(len(chosen), 1)), chosen, strict=False):
        with col:
            st.markdown(f"**{name}**")
            diff_view.show(patches[name], key=f"diff-{arena_id}-{name}")


def pairwise(arena: dict, names: list[str], patches: dict[str, str]) -> None:
    """Two candidates against each other: how B's files differ from A's (see app.results.pairwise)."""
    if len(names) < 2:
        st.caption("One candidate has a patch: nothing to compare it with.")
        return
    left, right = st.columns(2)
    a = left.selectbox("A", names, index=0, key=f"pair-a-{arena['arena_id']}")
    b = right.selectbox("B", names, index=1, key=f"pair-b-{arena['arena_id']}")
    if a == b:
        st.caption("Choose two different candidates.")
        return
    diff, how = cached_pairwise(arena["repo"], arena["base_sha"], (a, patches[a]), (b, patches[b]))
    if how == "files":
        st.caption(
            f"How {b}'s files differ from {a}'s: the base commit with each patch applied, every file "
            "either patch touches (removed: only in A; added: only in B)."
        )
    else:
        st.caption(
            f"The repository or a patch could not be applied here, so this compares the patch texts: "
            f"lines starting `-` are {a}'s, `+` are {b}'s."
        )
    if diff:
        diff_view.show(diff, key=f"pair-{arena['arena_id']}", plain=False)
    else:
        st.info(f"{a} and {b} leave the files identical.")


@st.cache_data(ttl=300, show_spinner=False, max_entries=64)
def cached_pairwise(repo: str, base_sha: str, a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
    return results.pairwise(repo, base_sha, a, b)


def actions(arena: dict, names: list[str]) -> None:
    """Apply, Abandon, Export: each shows its result or the CLI's error; nothing changes on failure. Apply and Abandon
    are drawn disabled, with the reason as their help, for someone who may not do them (app.auth)."""
    arena_id, store = arena["arena_id"], engine().store
    left, right = st.columns(2)
    choice = left.selectbox(
        "Candidate",
        [SETTLED, *names],
        key=f"act-who-{arena_id}",
        help="Apply and Export take the settled winner unless you choose a candidate.",
    )
    contestant = None if choice == SETTLED else choice
    base = right.text_input(
        "Base branch (optional)",
        key=f"act-base-{arena_id}",
        help="The branch merges will land on; default: the repository's current branch.",
    )
    apply_col, abandon_col = st.columns(2)
    if auth.button(
        "Apply",
        "apply",
        where=apply_col,
        icon=":material/merge:",
        key=f"apply-{arena_id}",
        help="Commit the patch on a new branch arena/<arena>-<candidate> of the task's repository "
        "(`arena apply`); your working tree is not touched.",
    ):
        _report(lambda: results.apply(store, arena_id, contestant, base.strip()))
    if auth.button(
        "Abandon",
        "abandon",
        where=abandon_col,
        icon=":material/block:",
        key=f"abandon-{arena_id}",
        help="Give up on the winning patch: its stake is returned and nothing is merged "
        "(`arena abandon`). This is final.",
    ):
        _report(lambda: results.abandon(store, arena_id))
    st.markdown("**Export**")
    made = results.exports(store, arena_id, contestant)
    for col, (fmt, (label, ext, mime)) in zip(st.columns(2), EXPORTS.items(), strict=True):
        done = made[fmt]
        if isinstance(done, str):
            col.caption(f"{label}: {done}")
            continue
        col.download_button(
            label,
            done.text,
            file_name=f"arena-{arena_id}-{done.contestant}.{ext}",
            mime=mime,
            icon=":material/download:",
            key=f"export-{fmt}-{arena_id}",
            on_click="ignore",
        )


EXPORTS = {
    "swebench": ("SWE-bench predictions (JSONL)", "jsonl", "application/jsonl"),
    "patch": ("Plain patch (diff)", "diff", "text/x-diff"),
}


def _report(action) -> None:
    try:
        st.success(action(), icon=":material/check:")
    except UserError as e:
        st.error(str(e), icon=":material/gpp_bad:")
