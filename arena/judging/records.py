"""A JudgeResult as database rows: the verdict (full JSON) and one flat evaluation row per candidate."""

from arena.judging.judge import JudgeResult
from arena.storage import EvaluationRow, VerdictRow


def verdict_rows(arena_id: str, result: JudgeResult) -> tuple[VerdictRow, list[EvaluationRow]]:
    verdict = VerdictRow(
        arena_id=arena_id,
        winner=result.winner,
        resolved=result.coverage["resolved"],
        candidates=result.coverage["candidates"],
        judge=result.judge | {"coverage": result.coverage},
        ranking=[p.model_dump(mode="json") for p in result.ranking],
    )
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
        for p in result.ranking
    ]
    return verdict, evaluations
