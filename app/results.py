"""Pieces of the Results page: the ranking table, the vote matrix, patches."""

import difflib
import os
import re
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

import pandas as pd

from app.auth import require
from app.launch import refusal
from arena import artifacts
from arena.errors import UserError
from arena.export import FORMATS, Export, export
from arena.reputation.ledger import Ledger
from arena.reputation.tracking import abandon as abandon_winner
from arena.reputation.tracking import apply_winner


def errors(arena: dict) -> dict[str, str]:
    """Each contestant's error, all of it (a completed contestant can still have one: its patch was not collected)."""
    return {c["name"]: " · ".join(c["error"].splitlines()) for c in arena["contestants"] if c["error"]}


def ranking_table(verdict: dict, errors: dict[str, str] | None = None) -> pd.DataFrame:
    errors = errors or {}
    rows = []
    for p in verdict["ranking"]:
        e = p["evidence"]
        rows.append(
            {
                "rank": p["rank"],
                "candidate": p["name"],
                "gates": "pass" if p["passes_gates"] else "fail",
                "resolved": {True: "yes", False: "no", None: "unverified"}[p["resolved"]],
                "F2P": f"{e['f2p_passed']}/{e['f2p_total']}" if e["f2p_total"] else "-",
                "P2P": f"{e['p2p_passed']}/{e['p2p_total']}" if e["p2p_total"] else "-",
                "regressions": len(e["regressions"]),
                "tampered": "yes" if e["tampered"] else "",
                "votes": f"{e['votes']}/{e['voters']}" if e["voters"] else "-",
                "lines": e["diff_lines"],
                "files": len(e["files"]),
                "cost": round(e["cost"], 4),
                "time s": round(e["duration_s"], 1),
                "error": errors.get(p["name"], ""),
            }
        )  # the why, often long, is written out in full below the table (errors too)
    return pd.DataFrame(rows)


def vote_matrix(judge: dict) -> pd.DataFrame | None:
    """Rows: candidates; columns: whose reproduction tests; cells: pass / fail / n/a."""
    xv = judge.get("cross_validation") or {}
    if not xv.get("valid"):  # nobody wrote a reproduction test that fails at base: no votes to show
        return None
    return pd.DataFrame(xv["matrix"]).T.fillna("").rename_axis("candidate \\ tests of")


def patches(store, arena: dict, verdict: dict | None) -> dict[str, str]:
    """Every candidate's patch text by name (the synthesis too, when there is one), from the shared store."""
    out = {}
    for c in store.arena(arena["arena_id"]).contestants:  # from the shared store: workers ran them elsewhere
        if (patch := artifacts.patch_of(store, c)) is not None:
            out[c.name] = patch.decode("utf-8", "replace")
    if verdict and verdict["judge"].get("synthesis_patch"):
        out["synthesis"] = verdict["judge"]["synthesis_patch"]
    return out


def judge_again(runner, arena_id: str):
    """Re-judge: on this app's pool (a Future) for an arena it ran, or on a worker (None: the verdict appears when the
    worker stores it) for one the queue runs (app.resources.runner_of). Judging re-runs the setup and test commands
    on the arena's own backend, so an unsafe-local arena (say, run from the CLI) is refused here as at launch."""
    backend = (runner.store.arena(arena_id).spec.get("sandbox") or {}).get("backend", "local")
    if why := refusal(backend):
        raise UserError(f"cannot judge again: {why}")
    if hasattr(runner, "pool"):  # the in-process engine
        return runner.pool.submit(runner.judge, arena_id)
    runner.judge(arena_id)
    return None


# -- candidate against candidate -------------------------------------------------------------------------------------

DIFF_PATH = re.compile(r"^(?:---|\+\+\+) (?:[ab]/)?(.+?)\s*$", re.M)


def touched(patch: str) -> list[str]:
    """Repository paths a patch names (old and new sides); /dev/null and paths that leave the tree are left out."""
    paths = {m for m in DIFF_PATH.findall(patch) if m != "/dev/null"}
    return sorted(p for p in paths if not PurePosixPath(p).is_absolute() and ".." not in PurePosixPath(p).parts)


def pairwise(repo: str, base_sha: str, a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
    """(diff, how): a unified diff from candidate A's files to candidate B's, each being the base commit with that
    candidate's patch applied, over every file either patch touches. `a` and `b` are (name, patch).

    Comparing the files as each candidate leaves them shows the code a reviewer would choose between; a diff of
    the two patch texts (the fallback, when the repository or base commit is not at hand, or a patch does not
    apply) is a diff of diffs, harder to read but still shows every difference."""
    try:
        return _result_diff(repo, base_sha, a, b), "files"
    except (OSError, subprocess.SubprocessError, ValueError):
        lines = difflib.unified_diff(
            a[1].splitlines(), b[1].splitlines(), f"{a[0]} (patch)", f"{b[0]} (patch)", lineterm="", n=3
        )
        return "\n".join(lines), "patches"


def _result_diff(repo: str, base_sha: str, a: tuple[str, str], b: tuple[str, str]) -> str:
    if not Path(repo).is_dir():
        raise ValueError(f"{repo} is not a local repository")
    paths = sorted(set(touched(a[1])) | set(touched(b[1])))
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for side, (_, patch) in (("a", a), ("b", b)):
            root = roots[side] = Path(tmp) / side
            root.mkdir()
            for path in paths:
                base = subprocess.run(["git", "cat-file", "blob", f"{base_sha}:{path}"], cwd=repo, capture_output=True)
                if base.returncode == 0:
                    (root / path).parent.mkdir(parents=True, exist_ok=True)
                    (root / path).write_bytes(base.stdout)
            if patch.strip():  # git apply outside any repository: plain files, it refuses paths outside the root
                done = subprocess.run(
                    ["git", "apply", "--binary", "-"],
                    cwd=root,
                    capture_output=True,
                    input=patch.encode("utf-8", "surrogateescape"),
                    env={**os.environ, "GIT_CEILING_DIRECTORIES": tmp},
                )
                if done.returncode != 0:
                    raise ValueError(done.stderr.decode(errors="replace"))
        out = []
        for path in paths:
            old, new = _read(roots["a"], path), _read(roots["b"], path)
            out += difflib.unified_diff(old, new, f"{a[0]}/{path}", f"{b[0]}/{path}", lineterm="")
        return "\n".join(out)


def _read(root: Path, path: str) -> list[str]:
    """A file's lines as the patch left it; a symlink shows its target (never the file it points at)."""
    file = root / path
    if file.is_symlink():
        return [f"-> {os.readlink(file)}"]
    if not file.is_file() or not file.resolve().is_relative_to(root.resolve()):
        return []
    return file.read_bytes().decode("utf-8", "replace").splitlines()


# -- handing the result on: the same functions and checks as `arena apply`, `arena abandon`, `arena export` ----------


def apply(store, arena_id: str, contestant: str | None, base_branch: str | None) -> str:
    """Commit the settled winner (or `contestant`) on a new branch; the CLI's message, or UserError with its reason."""
    require("apply")  # its button is drawn by app/components/results_view.py
    done = apply_winner(store, Ledger(store), arena_id, contestant or None, base_branch or None)
    return (
        f"committed {done['contestant']} ({done['agent']}) as {done['commit'][:12]} on branch {done['branch']}; "
        "merge it into your base branch, then run `arena sync`"
    )


def abandon(store, arena_id: str) -> str:
    """Give up on the winning patch: its stake is returned (arena.reputation.tracking.abandon, as `arena abandon`)."""
    require("abandon")
    return abandon_winner(Ledger(store), arena_id)


def exports(store, arena_id: str, contestant: str | None) -> dict[str, Export | str]:
    """Per format, the export or the reason there is none."""
    out: dict[str, Export | str] = {}
    for fmt in FORMATS:
        try:
            out[fmt] = export(store, arena_id, contestant or None, fmt)
        except UserError as e:
            out[fmt] = str(e)
    return out
