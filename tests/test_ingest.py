"""arena.ingest on the real trajectories in tests/data/trajectories.

Expected numbers are computed here from the raw JSON files (and MANIFEST.tsv, for the models two files do not
record and for which run folder each report belongs to), never copied by hand.
"""

import csv
import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from arena import analytics
from arena.ingest import ingest
from arena.storage import ImportedRunRow, Store

DATA = Path(__file__).parent / "data" / "trajectories"
RESULTS = DATA / "results"
V1 = DATA / "v1-gemini-3-pro-astropy-13033.traj.json"
V2 = DATA / "v2-gpt-5-mini-astropy-13033.traj.json"
DJANGO = DATA / "mini-swe-agent/gemini-3-pro-preview__mini-v1.15.0/django__django-15252.traj.json"
OPENHANDS_NON_STEPS = {None, "system", "change_agent_state", "recall", "null"}


def manifest() -> list[dict]:
    with open(DATA / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def raw_run(path: Path) -> dict | None:
    """What the file itself records (model falling back to MANIFEST.tsv), or None for JSON that is no trajectory."""
    raw = path.read_bytes()
    data = json.loads(raw)
    if isinstance(data, list):  # OpenHands: every agent action is a step
        actions = [e for e in data if e.get("source") == "agent" and e.get("action") not in OPENHANDS_NON_STEPS]
        responses = [(e.get("tool_call_metadata") or {}).get("model_response") or {} for e in data]
        states = [e["extras"]["agent_state"] for e in data if e.get("observation") == "agent_state_changed"]
        finished = "finished" if any(e.get("action") == "finish" for e in actions) else None
        run = {
            "model": next((r["model"] for r in responses if r.get("model")), None),
            "steps": len(actions),
            "cost": None,
            "exit_status": (states or [finished])[-1],
            "instance_id": None,
        }
    elif "messages" in data or "trajectory" in data:
        info = data.get("info") or {}
        steps = sum(m.get("role") == "assistant" for m in data["messages"]) if "messages" in data else None
        run = {
            "model": ((info.get("config") or {}).get("model") or {}).get("model_name"),
            "steps": steps if steps is not None else len(data["trajectory"]),
            "cost": info["model_stats"]["instance_cost"],
            "exit_status": info["exit_status"],
            "instance_id": data.get("instance_id", path.name.removesuffix(".traj")),
        }
    else:
        return None
    if run["model"] is None:
        sha = hashlib.sha256(raw).hexdigest()
        run["model"] = next(r["model"].split(" (")[0] for r in manifest() if r["sha256"] == sha)
    return run


def candidate_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".traj")]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'arena.db'}")


def rows(store: Store) -> list[dict]:
    with store.session() as s:
        found = s.scalars(select(ImportedRunRow).order_by(ImportedRunRow.sha256))
        return [
            {c.name: getattr(r, c.name) for c in ImportedRunRow.__table__.columns if c.name != "imported_at"}
            for r in found
        ]


def test_ingest_counts_and_per_model_totals_match_the_raw_files(store):
    files = candidate_files(DATA)
    runs = {p: raw_run(p) for p in files}
    expected = [r for r in runs.values() if r is not None]
    counts = ingest([DATA], store)
    assert counts["found"] == len(files) and counts["errors"] == []
    assert counts["imported"] == len(expected) and counts["skipped_duplicates"] == 0
    assert counts["not_trajectories"] == len(files) - len(expected) == len(list(RESULTS.rglob("*.json")))
    board = analytics.leaderboard(store, by="model", source="imported")
    assert board["runs"].sum() == len(expected)
    for row in board.to_dicts():
        mine = [r for r in expected if r["model"] == row["model"]]
        assert row["runs"] == len(mine), row["model"]
        assert row["steps_mean"] * row["runs"] == pytest.approx(sum(r["steps"] for r in mine))
        costs = [r["cost"] for r in mine if r["cost"] is not None]
        assert row["cost_total"] == (pytest.approx(sum(costs)) if costs else None)
        assert row["exit_statuses"] == dict(Counter(r["exit_status"] for r in mine))
    by_instance = Counter(r["instance_id"] for r in expected)
    assert by_instance["astropy__astropy-13033"] == 4  # the four agents on one instance


def test_reingesting_changes_nothing(store):
    first = ingest([DATA], store, reports=[RESULTS])
    before = rows(store)
    again = ingest([DATA], store, reports=[RESULTS])
    assert again["imported"] == 0 and again["skipped_duplicates"] == first["imported"]
    assert again["resolved_updated"] == 0 and rows(store) == before


def test_reports_mark_resolved_on_the_run_they_belong_to(store):
    """MANIFEST.tsv's shared_path says which run folder each trajectory came from, even for the loose top files."""
    trajectories = [r for r in manifest() if r["kind"] == "trajectory"]
    expected = {}
    for report in RESULTS.rglob("*.json"):
        data = json.loads(report.read_text())
        instance = report.name.removesuffix(".report.json")
        resolved = data[instance]["resolved"] if instance in data else data["resolved"]
        (owner,) = [
            r
            for r in trajectories
            if Path(r["shared_path"]).parent.name == report.parent.name and r["instance_id"] == instance
        ]
        expected[owner["local_path"]] = resolved
    counts = ingest([DATA], store, reports=[RESULTS])
    assert counts["reports"] == counts["reports_matched"] == len(expected) and counts["reports_unmatched"] == []
    got = {Path(r["path"]).relative_to(DATA.resolve()).as_posix(): r["resolved"] for r in rows(store)}
    assert {k: v for k, v in got.items() if v is not None} == expected


def test_report_matching_rules(tmp_path, store):
    runs = tmp_path / "runs"
    for src, folder in ((V2, "foo"), (V1, "bar"), (DJANGO, "baz")):
        (runs / folder).mkdir(parents=True)
        shutil.copy(src, runs / folder / src.name)
    reports = tmp_path / "results"

    def write(rel: str, data: dict) -> None:
        (reports / rel).parent.mkdir(parents=True, exist_ok=True)
        (reports / rel).write_text(json.dumps(data))

    write("gpt-5-mini__x/astropy__astropy-13033.report.json", {"astropy__astropy-13033": {"resolved": True}})
    write("someone/astropy__astropy-13033.report.json", {"resolved": True})  # which astropy run? unmatched
    write("summary.json", {"resolved_ids": ["django__django-15252"], "unresolved_ids": []})
    counts = ingest([runs], store, reports=[reports])
    assert counts["reports_unmatched"] == ["someone/astropy__astropy-13033"] and counts["reports_matched"] == 2
    resolved = {Path(r["path"]).parent.name: r["resolved"] for r in rows(store)}
    assert resolved == {"foo": True, "bar": None, "baz": True}
    write("gpt-5-mini__x/astropy__astropy-13033.report.json", {"astropy__astropy-13033": {"resolved": False}})
    (reports / "summary.json").unlink()
    later = ingest([], store, reports=[reports])  # reports alone apply to what is already stored
    assert later["imported"] == 0 and later["resolved_updated"] == 1
    assert {Path(r["path"]).parent.name: r["resolved"] for r in rows(store)}["foo"] is False


def test_bad_files_are_reported_and_the_batch_goes_on(tmp_path, store):
    (tmp_path / "garbage.traj.json").write_bytes(b"\x00\xffnot json at all")
    (tmp_path / "unknown.traj").write_text(json.dumps({"steps": []}))
    (tmp_path / "torn.traj.json").write_bytes(V2.read_bytes()[:5000])
    (tmp_path / "config.json").write_text(json.dumps({"hello": "world"}))
    (tmp_path / "notes.txt").write_text("not even looked at")
    shutil.copy(V2, tmp_path / "good.traj.json")
    counts = ingest([tmp_path], store)
    assert (counts["found"], counts["imported"], counts["not_trajectories"]) == (5, 1, 1)
    assert sorted(Path(e["path"]).name for e in counts["errors"]) == [
        "garbage.traj.json",
        "torn.traj.json",
        "unknown.traj",
    ]
    assert all(e["error"] for e in counts["errors"])
