"""The verdict is a typed, versioned record: verdicts stored before versions existed still read, the stored JSON keeps
every field raw readers use, and a verdict from a newer version is refused instead of misread.

tests/data/verdicts/v1.json holds rows as the code before schema_version wrote them (see its README).
"""

import json
from pathlib import Path

import pytest

from arena.errors import UserError
from arena.judging.verdict import SCHEMA_VERSION, Candidate, Coverage, Verdict
from arena.report import verdict_json
from arena.settlement import read_verdict, record_verdict, verdict_rows
from arena.storage import ArenaRow, EvaluationRow, Store, VerdictRow

V1 = json.loads((Path(__file__).parent / "data" / "verdicts" / "v1.json").read_text())
COLUMNS = ("winner", "resolved", "candidates", "judge", "ranking", "error")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'arena.db'}")
    store.create_arena(ArenaRow(id="a1", repo="/r", base="HEAD", base_sha="0" * 40, spec={}), [])
    return store


def write_the_old_way(store: Store, old: dict) -> VerdictRow:
    """Store a row exactly as it was written before versions (VerdictRow columns and flat evaluations as they were)."""
    row = VerdictRow(arena_id="a1", **{k: old[k] for k in COLUMNS})
    store.add_verdict(row, [EvaluationRow(arena_id="a1", **e) for e in old["evaluations"]])
    return store.latest_verdict("a1")


def old_verdict_json(verdict: VerdictRow) -> dict:
    """arena/report.py's verdict_json before the typed read: the shape `--json` users and the app were given."""
    return {
        "winner": verdict.winner,
        "ranking": [
            {k: p[k] for k in ("name", "rank", "resolved", "passes_gates", "reasons", "evidence")}
            for p in verdict.ranking
        ],
        "coverage": (verdict.judge or {}).get(
            "coverage", {"resolved": verdict.resolved, "candidates": verdict.candidates}
        ),
        "judge": {k: v for k, v in (verdict.judge or {}).items() if k != "coverage"},
        "error": verdict.error,
        "created_at": verdict.created_at.isoformat() if verdict.created_at else None,
    }


def kept(old, new, where: str = "") -> list[str]:
    """Where `new` lost or changed something `old` had (fields may be added, never removed or changed)."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [where]
        return [p for k, v in old.items() for p in (kept(v, new[k], f"{where}.{k}") if k in new else [f"{where}.{k}"])]
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return [where]
        return [p for i, (a, b) in enumerate(zip(old, new, strict=True)) for p in kept(a, b, f"{where}[{i}]")]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


def test_a_verdict_stored_before_versions_reads_typed(store):
    old = V1["judged"]
    verdict = Verdict.model_validate(write_the_old_way(store, old))
    assert verdict.schema_version == SCHEMA_VERSION == 2
    assert (verdict.winner, verdict.arena_id, verdict.error) == ("other-fix", "a1", None)
    assert [p.name for p in verdict.ranking] == ["other-fix", "fix", "synthesis", "breaks-mul"]
    assert verdict.coverage == Coverage(resolved=3, candidates=4, picked_resolved=True)
    assert verdict.placement("breaks-mul").evidence.p2p_failed == ["tests/test_ops.py::TestOps::test_mul"]
    assert verdict.judge.reviewer == "openai/judge-model" and verdict.judge.fallback is None
    assert verdict.judge.baseline.failing == ["tests/test_ops.py::TestOps::test_add"]
    assert set(verdict.judge.cross_validation.matrix) == {"fix", "other-fix", "breaks-mul"}
    # The synthesis, once a loose string in the judge's notes, is a candidate of the verdict.
    assert verdict.synthesis == Candidate(
        name="synthesis",
        patch=old["judge"]["synthesis_patch"],
        model="openai/judge-model",
        strategy="synthesis",
    )


def test_the_json_readers_get_keeps_every_field_it_had(store):
    """`arena show --json`, `arena judge --json` and the Results page read verdict_json: old fields stay as they were."""
    row = write_the_old_way(store, V1["judged"])
    new = verdict_json(row)
    assert kept(old_verdict_json(row), new) == []
    assert new["schema_version"] == 2 and new["synthesis"]["patch"] == V1["judged"]["judge"]["synthesis_patch"]


def test_an_error_verdict_stored_before_versions_reads(store):
    """The engine wrote VerdictRow(arena_id=..., error=...): no coverage, no ranking, the judge's notes empty."""
    old = V1["error"]
    assert (old["judge"], old["ranking"]) == ({}, [])
    write_the_old_way(store, old)
    verdict = read_verdict(store, "a1")
    assert verdict.error == "JudgeError: the test_patch does not apply at base"
    assert (verdict.winner, verdict.ranking, verdict.synthesis) == (None, [], None)
    assert verdict.coverage == Coverage()
    assert read_verdict(store, "a1", successful=True) is None
    assert kept(old_verdict_json(store.latest_verdict("a1")), verdict_json(store.latest_verdict("a1"))) == []


def test_a_stored_verdict_reads_back_equal_and_raw_readers_find_what_they_did(store):
    """Written by settlement and read back, a verdict is the same; the raw JSON keeps the pre-version layout
    (arena/analytics/frames.py, arena/cli.py and arena/publish read the columns directly)."""
    verdict = Verdict.model_validate(write_the_old_way(store, V1["judged"]))
    verdict_id = record_verdict(store, "a1", verdict)
    row = store.latest_verdict("a1")
    assert row.id == verdict_id
    assert Verdict.model_validate(row).model_dump(exclude={"id", "created_at"}) == verdict.model_dump(
        exclude={"id", "created_at"}
    )
    old = V1["judged"]
    assert row.judge["schema_version"] == 2 and row.judge["synthesis_patch"] == old["judge"]["synthesis_patch"]
    assert kept({k: old[k] for k in COLUMNS}, {k: getattr(row, k) for k in COLUMNS}) == []


def test_evaluation_rows_are_what_they_were():
    """The flat rows analytics read moved out of judging (arena/settlement.py) without changing."""
    verdict = Verdict.model_validate(VerdictRow(arena_id="a1", **{k: V1["judged"][k] for k in COLUMNS}))
    _, evaluations = verdict_rows("a1", verdict)
    flat = [{k: getattr(e, k) for k in V1["judged"]["evaluations"][0]} for e in evaluations]
    assert flat == V1["judged"]["evaluations"]


@pytest.mark.parametrize("version", [3, "2"])
def test_a_verdict_of_an_unknown_version_is_refused_not_misread(store, version):
    store.add_verdict(VerdictRow(arena_id="a1", winner="x", judge={"schema_version": version}, ranking=[]), [])
    with pytest.raises(UserError, match=rf"schema_version {version!r}.*upgrade agent-arena"):
        read_verdict(store, "a1")
    with pytest.raises(UserError, match="upgrade agent-arena"):
        Verdict.model_validate({"schema_version": version, "winner": "x"})
