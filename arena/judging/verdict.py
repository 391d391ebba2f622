"""The verdict: a typed, versioned record of one judgement, which outlives the process that judged.

The judge builds a `Verdict` (arena/judging/judge.py), arena/settlement.py stores it, and every reader gets it back
with `Verdict.model_validate(row)` from a stored row (any object with a VerdictRow's columns). How the judge ranks
is in arena/judging/ranking.py; this module is only the record, so reading a verdict needs nothing but pydantic.

Stored in a VerdictRow: `winner`, `resolved` and `candidates` (coverage, for SQL), `ranking` (the placements),
`error`, and `judge`: the JudgeInfo fields plus `coverage`, `schema_version` and, when the reviewer wrote one, the
synthesis patch as `synthesis_patch` (readers of the raw JSON find it where they always did).

Versions (`schema_version`):
  1  before versions were stored: no `schema_version`; an error verdict has no `coverage` (it is then read from
     the row's `resolved` and `candidates` columns).
  2  the same layout, typed: every JudgeInfo field stored (None when unknown), coverage always stored.
Reading upgrades an older version; a newer one is refused with a message (never misread). A change to the stored
layout raises SCHEMA_VERSION and teaches `_from_columns` to read the previous one.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from arena.errors import UserError

SCHEMA_VERSION = 2
SYNTHESIS = "synthesis"
"""The name the reviewer's combined patch competes under."""


class Candidate(BaseModel):
    """A patch to judge: a contestant's, or the reviewer's combined patch (named `synthesis`)."""

    name: str
    patch: str
    model: str = ""
    strategy: str = ""
    cost: float = 0.0
    duration_s: float = 0.0


class Evidence(BaseModel):
    """Everything the judge knows about one candidate."""

    name: str
    model: str = ""
    strategy: str = ""
    applies: bool = True
    apply_error: str = ""
    empty: bool = False
    files: list[str] = []
    diff_lines: int = 0
    tampered: list[str] = []
    dropped: list[str] = []
    framework_flags: list[str] = []
    """What the scan of the diff found (`file:line: text (why)`): test-framework tampering suspected."""
    sentinels: dict[str, str] | None = None
    """Sentinel role -> outcome in its test run (None: no sentinel ran)."""
    sentinel_failures: list[str] = []
    """Sentinels that misbehaved: the framework was tampered with and the results are not trusted."""
    new_tests: list[str] = []
    tests_ran: bool = False
    trusted: bool = False
    """The test run started, finished in time, its report agrees with its exit code and its sentinels behaved."""
    timed_out: bool = False
    test_returncode: int | None = None
    f2p_passed: int = 0
    f2p_total: int = 0
    f2p_failed: list[str] = []
    p2p_passed: int = 0
    p2p_total: int = 0
    p2p_failed: list[str] = []
    regressions: list[str] = []
    resolved: bool | None = None
    """True/False by the tests; None when no test identifies the bug."""
    votes: int = 0
    voters: int = 0
    reviewer_rank: int | None = None
    reviewer_note: str = ""
    cost: float = 0.0
    duration_s: float = 0.0
    test_output_tail: str = ""
    gate_failures: list[str] = []

    @property
    def passes_gates(self) -> bool:
        return not self.gate_failures


class Placement(BaseModel):
    """One candidate's place (1 = first), why it is there, and the evidence."""

    name: str
    rank: int
    resolved: bool | None
    passes_gates: bool
    reasons: list[str]
    evidence: Evidence


class Coverage(BaseModel):
    """How many candidates resolved the task, beside whether the pick did."""

    resolved: int = 0
    candidates: int = 0
    picked_resolved: bool = False


class Baseline(BaseModel):
    """The test run at the base commit, in brief."""

    command: str = ""
    returncode: int | None = None
    timed_out: bool = False
    parsed: bool = False
    passed: int = 0
    failing: list[str] = []
    """The first 50."""
    start_error: str = ""
    sentinels: dict[str, str] | None = None
    output_tail: str = ""


class ReproTests(BaseModel):
    """The reproduction tests one candidate wrote, and how they did at base (pass | fail | n/a)."""

    files: list[str] = []
    at_base: str = ""


class CrossValidation(BaseModel):
    """Every candidate against the reproduction tests the others wrote (valid ones fail at base)."""

    skipped: str | None = None
    """Why it did not run (the test command cannot run single files)."""
    tests: dict[str, ReproTests] = {}
    valid: list[str] = []
    matrix: dict[str, dict[str, str]] = {}
    """candidate -> writer of the tests -> pass | fail | n/a."""


class JudgeInfo(BaseModel):
    """How the judge decided: tests and their source, baseline, sentinels, cross-validation, reviewer."""

    model_config = ConfigDict(validate_assignment=True)

    reviewer: str | None = None
    """The reviewer model (None: ranked by the heuristic alone)."""
    fallback: str | None = None
    """Why the reviewer did not rank (not set, not needed, or its failure): the heuristic did."""
    rationale: str = ""
    reviewer_cost: float | None = None
    test_command: str | None = None
    test_command_source: str = ""
    """spec, `detected: file:line: text`, or why there is none."""
    runner: str | None = None
    baseline: Baseline | None = None
    f2p_source: str | None = None
    """spec | baseline (tests failing at base) | none"""
    f2p: list[str] = []
    sentinels: str | None = None
    note: str | None = None
    """What the judge could not check, in words."""
    cross_validation: CrossValidation | None = None
    synthesis: str | None = None
    """What became of the synthesis (the candidate itself is Verdict.synthesis)."""
    no_winner: str | None = None


class Verdict(BaseModel):
    """One judgement of an arena: the winner (or none), every candidate's place, coverage and how it was decided."""

    schema_version: int = SCHEMA_VERSION
    winner: str | None = None
    ranking: list[Placement] = []
    coverage: Coverage = Coverage()
    judge: JudgeInfo = JudgeInfo()
    synthesis: Candidate | None = None
    """The reviewer's combined patch: judged like any contestant, its place is in `ranking` as `synthesis`."""
    error: str | None = None
    """Why the judge could not decide (then nothing else is known)."""
    id: int | None = None
    """Where it is stored: set when read back."""
    arena_id: str | None = None
    created_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any) -> Any:
        """A stored row (an object with a VerdictRow's columns) is read by its schema version; dicts are ours."""
        if isinstance(data, BaseModel):
            return data
        if isinstance(data, Mapping):
            _check_version(data.get("schema_version", SCHEMA_VERSION), data.get("id"), data.get("arena_id"))
            return data
        return _from_columns(data)

    def placement(self, name: str) -> Placement | None:
        return next((p for p in self.ranking if p.name == name), None)

    def columns(self) -> dict[str, Any]:
        """The VerdictRow columns that store this verdict (see the module docstring)."""
        judge = self.judge.model_dump(mode="json")
        judge |= {"coverage": self.coverage.model_dump(), "schema_version": self.schema_version}
        if self.synthesis is not None:
            judge["synthesis_patch"] = self.synthesis.patch
        return {
            "winner": self.winner,
            "resolved": self.coverage.resolved,
            "candidates": self.coverage.candidates,
            "judge": judge,
            "ranking": [p.model_dump(mode="json") for p in self.ranking],
            "error": self.error,
        }

    def to_json(self) -> dict[str, Any]:
        """The stable JSON of `--json` output and the app (fields are added, never removed)."""
        judge = self.judge.model_dump(mode="json")
        if self.synthesis is not None:
            judge["synthesis_patch"] = self.synthesis.patch
        return {
            "schema_version": self.schema_version,
            "winner": self.winner,
            "ranking": [p.model_dump(mode="json") for p in self.ranking],
            "coverage": self.coverage.model_dump(),
            "judge": judge,
            "synthesis": self.synthesis.model_dump() if self.synthesis else None,
            "error": self.error,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def _check_version(version: Any, verdict_id: Any, arena_id: Any) -> None:
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UserError(
            f"verdict {verdict_id} of arena {arena_id} has schema_version {version!r}, and this Agent Arena reads"
            f" versions 1 to {SCHEMA_VERSION}: upgrade agent-arena to read it (or judge the arena again here)"
        )


def _from_columns(row: Any) -> dict[str, Any]:
    """A stored verdict of any known version, as this version's fields."""
    judge = dict(getattr(row, "judge", None) or {})
    _check_version(judge.pop("schema_version", 1), getattr(row, "id", None), getattr(row, "arena_id", None))
    ranking = list(getattr(row, "ranking", None) or [])
    winner = getattr(row, "winner", None)
    coverage = judge.pop("coverage", None)
    if coverage is None:  # only version 1 error verdicts: every judgement stored its coverage
        coverage = {"resolved": getattr(row, "resolved", 0) or 0, "candidates": getattr(row, "candidates", 0) or 0}
    synthesis = None
    if (patch := judge.pop("synthesis_patch", None)) is not None:
        # Who wrote it and what it cost are the synthesis placement's evidence, as for any candidate.
        evidence = next((p.get("evidence") or {} for p in ranking if p.get("name") == SYNTHESIS), {})
        synthesis = {"name": SYNTHESIS, "patch": patch} | {
            k: evidence[k] for k in ("model", "strategy", "cost", "duration_s") if k in evidence
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "winner": winner,
        "ranking": ranking,
        "coverage": coverage,
        "judge": judge,
        "synthesis": synthesis,
        "error": getattr(row, "error", None),
        "id": getattr(row, "id", None),
        "arena_id": getattr(row, "arena_id", None),
        "created_at": getattr(row, "created_at", None),
    }
