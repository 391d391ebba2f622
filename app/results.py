"""Pieces of the Results page: the ranking table, the vote matrix, patches."""

from pathlib import Path

import pandas as pd

from app.launch import refusal
from arena.errors import UserError


def errors(arena: dict) -> dict[str, str]:
    """Each contestant's error, all of it (a completed contestant can still have one: its patch was not collected)."""
    return {c["name"]: " · ".join(c["error"].splitlines()) for c in arena["contestants"] if c["error"]}


def ranking_table(verdict: dict, errors: dict[str, str] | None = None) -> pd.DataFrame:
    errors = errors or {}
    rows = []
    for p in verdict["ranking"]:
        e = p["evidence"]
        rows.append({
            "rank": p["rank"], "candidate": p["name"], "gates": "pass" if p["passes_gates"] else "fail",
            "resolved": {True: "yes", False: "no", None: "unverified"}[p["resolved"]],
            "F2P": f"{e['f2p_passed']}/{e['f2p_total']}" if e["f2p_total"] else "-",
            "P2P": f"{e['p2p_passed']}/{e['p2p_total']}" if e["p2p_total"] else "-",
            "regressions": len(e["regressions"]), "tampered": "yes" if e["tampered"] else "",
            "votes": f"{e['votes']}/{e['voters']}" if e["voters"] else "-", "lines": e["diff_lines"],
            "files": len(e["files"]), "cost": round(e["cost"], 4), "time s": round(e["duration_s"], 1),
            "why": p["reasons"][0], "error": errors.get(p["name"], ""),
        })  # fmt: skip
    return pd.DataFrame(rows)


def vote_matrix(judge: dict) -> pd.DataFrame | None:
    """Rows: candidates; columns: whose reproduction tests; cells: pass / fail / n/a."""
    xv = judge.get("cross_validation") or {}
    if not xv.get("valid"):  # nobody wrote a reproduction test that fails at base: no votes to show
        return None
    return pd.DataFrame(xv["matrix"]).T.fillna("").rename_axis("candidate \\ tests of")


def patches(arena: dict, verdict: dict | None) -> dict[str, str]:
    """Every candidate's patch text by name (the synthesis too, when there is one)."""
    out = {}
    for c in arena["contestants"]:
        if c["patch_path"] and Path(c["patch_path"]).is_file():
            out[c["name"]] = Path(c["patch_path"]).read_bytes().decode("utf-8", "replace")
    if verdict and verdict["judge"].get("synthesis_patch"):
        out["synthesis"] = verdict["judge"]["synthesis_patch"]
    return out


def judge_again(engine, arena_id: str):
    """Re-judge in the background (a Future). Judging re-runs the setup and test commands on the arena's own backend,
    so an unsafe-local arena (say, run from the CLI) is refused here as it would be at launch."""
    backend = (engine.store.arena(arena_id).spec.get("sandbox") or {}).get("backend", "local")
    if why := refusal(backend):
        raise UserError(f"cannot judge again: {why}")
    return engine.pool.submit(engine.judge, arena_id)
