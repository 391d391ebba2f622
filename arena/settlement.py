"""After the judge: its Verdict into the store, and back out typed.

The judge returns a Verdict and imports no storage (tests/test_architecture.py); the engine records it here as one
VerdictRow (the record, arena/judging/verdict.py) and one flat EvaluationRow per candidate (for analytics). Readers
get it back through `read_verdict`, or `Verdict.model_validate(row)` on a row they already hold. The stakes then
move by the stored verdict (arena/recovery.py: settle_arena).
"""

from arena.judging.verdict import Verdict
from arena.storage import EvaluationRow, Store, VerdictRow


def verdict_rows(arena_id: str, verdict: Verdict) -> tuple[VerdictRow, list[EvaluationRow]]:
    """The rows that store `verdict`: the record itself, and one flat evaluation per candidate."""
    evaluations = [
        EvaluationRow(
            arena_id=arena_id,
            candidate=p.name,
            rank=p.rank,
            passes_gates=p.passes_gates,
            applies=p.evidence.applies,
            resolved=p.resolved,
            f2p_passed=p.evidence.f2p_passed,
            f2p_total=p.evidence.f2p_total,
            p2p_passed=p.evidence.p2p_passed,
            p2p_total=p.evidence.p2p_total,
            regressions=len(p.evidence.regressions),
            # Edits existing tests, or tampers with the test framework (scan flags, misbehaving sentinels).
            tampered=bool(p.evidence.tampered or p.evidence.framework_flags or p.evidence.sentinel_failures),
            votes=p.evidence.votes,
            diff_lines=p.evidence.diff_lines,
            files_changed=len(p.evidence.files),
            cost=p.evidence.cost,
            duration_s=p.evidence.duration_s,
        )
        for p in verdict.ranking
    ]
    return VerdictRow(arena_id=arena_id, **verdict.columns()), evaluations


def record_verdict(store: Store, arena_id: str, verdict: Verdict) -> int:
    """Store a verdict (a judgement, or one that only says why the judge failed); its id."""
    return store.add_verdict(*verdict_rows(arena_id, verdict))


def read_verdict(store: Store, arena_id: str, successful: bool = False) -> Verdict | None:
    """The arena's newest verdict, or its newest that was reached (`successful`: what decides stakes); typed."""
    row = store.latest_verdict(arena_id, successful=successful)
    return None if row is None else Verdict.model_validate(row)
