"""After the contestants: the judge runs, its Verdict goes into the store (and back out typed), the stakes move.

    judge_arena   the contestants' patches -> Judge -> Verdict -> stored (a failure is stored as the verdict's error)
    settle_arena  stakes move once the arena has ended, by its newest successful verdict (or all returned)

The judge returns a Verdict and imports no storage (tests/test_architecture.py); the engine records it here as one
VerdictRow (the record, arena/judging/verdict.py) and one flat EvaluationRow per candidate (for analytics). Readers
get it back through `read_verdict`, or `Verdict.model_validate(row)` on a row they already hold. The stakes then
move by the stored verdict (settle_arena), whether the owner or recovery (arena/recovery.py) gets there first.
"""

import logging
import secrets
import traceback
from pathlib import Path

from arena.artifacts import patch_text
from arena.judging.judge import Candidate, Judge
from arena.judging.verdict import Verdict
from arena.protocols import PreparedTask, SandboxBackend
from arena.reputation.ledger import Ledger
from arena.spec import ArenaSpec
from arena.storage import EvaluationRow, Store, VerdictRow

log = logging.getLogger("arena")


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


def judge_arena(
    store: Store, runs_dir: Path, arena_id: str, spec: ArenaSpec, backend: SandboxBackend, prepared: PreparedTask
) -> int:
    """Judge the contestants' patches and store the verdict (a failure is stored as the verdict's error); its id."""
    # From the shared store: the contestants may have run on other machines (arena/artifacts.py).
    patches = {c.name: patch_text(store, c) for c in store.arena(arena_id).contestants}
    rows = [c for c in store.arena(arena_id).contestants if patches[c.name] is not None]
    candidates = [
        Candidate(
            name=c.name,
            patch=patches[c.name],
            model=c.model,
            strategy=c.strategy,
            cost=c.cost,
            duration_s=(c.finished_at - c.started_at).total_seconds() if c.finished_at and c.started_at else 0.0,
        )
        for c in rows
    ]
    work_dir = runs_dir / arena_id / "judge" / secrets.token_hex(3)
    try:
        verdict = Judge(spec, backend, prepared, arena_id, work_dir).run(candidates)
    except Exception as e:  # a broken judgement is recorded, never lost
        log.exception("judging arena %s failed", arena_id)
        verdict = Verdict(error=f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    return record_verdict(store, arena_id, verdict)


def settle_arena(store: Store, ledger: Ledger, arena_id: str, status: str) -> None:
    """Stakes move once an arena has ended: by its newest successful verdict, or all returned without one.

    The owner calls this as it ends an arena; recovery calls it for an arena whose owner died in between.
    Both may run at once: the ledger's unique indexes let one of them write.
    """
    try:
        if (verdict := read_verdict(store, arena_id, successful=True)) is not None:
            ranking = [p.model_dump(mode="json") for p in verdict.ranking]
            ledger.settle(arena_id, verdict.winner, ranking, verdict.id)
        elif returned := ledger.release(arena_id, f"the arena ended {status} without a verdict"):
            log.info("returned %d stake(s) of arena %s (%s)", returned, arena_id, status)
    except Exception:  # never turn an ended arena into a crash: the stake stays escrowed, the next look retries
        log.exception("settling the stakes of arena %s failed", arena_id)
