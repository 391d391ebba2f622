"""Gates, order and reasons: how the judge turns evidence into a ranking (README: How the judge decides).

1. Gates: the patch applies, changes something, its tests started, ran and can be trusted (report
   and exit code agree, no timeout, the sentinel tests still fail and pass as they must), it
   resolves the task (every F2P and P2P test passes) and breaks no test that passed at base.
   Candidates that pass every gate rank above all that do not.
2. Among those: no test-framework tampering found by the scan of its diff before any found, then
   verified resolution before unverified (no F2P tests known), clean before tampered (edits
   existing tests), more cross-validation votes, the reviewer's order, then a smaller diff, fewer
   files, lower cost, less time.
3. The winner is the first candidate only if it passes every gate; otherwise there is none.
"""

from pydantic import BaseModel

from arena.judging.evaluate import Applied
from arena.judging.integrity import sentinel_failures
from arena.judging.testrun import TestRun, normalize_test_id
from arena.judging.verdict import Evidence


class Expectations(BaseModel):
    """Which tests decide: F2P/P2P from the spec, or inferred from the baseline run."""

    f2p: list[str] = []
    p2p: list[str] = []
    f2p_source: str = "none"
    """spec | baseline (tests failing at base) | none"""
    baseline_passing: list[str] = []
    baseline_ok: bool | None = None
    """Opaque runners: did the whole suite pass at base?"""
    sentinel_roles: list[str] = []
    """Sentinel roles that behaved at base: the ones every candidate's run must show behaving too."""


def assess(ev: Evidence, applied: Applied, run: TestRun | None, expect: Expectations, timeout_s: float) -> Evidence:
    """Fill the test evidence and the gate failures of `ev`."""
    ev.applies, ev.apply_error, ev.empty = applied.applies, applied.apply_error, applied.info.empty
    ev.files = [f.path for f in applied.info.files]
    ev.diff_lines, ev.tampered, ev.dropped = applied.info.diff_lines, applied.tampered, applied.dropped
    gates = []
    if not ev.applies:
        gates.append(f"does not apply: {ev.apply_error.splitlines()[-1] if ev.apply_error else 'git apply failed'}")
    elif ev.empty:
        gates.append("empty patch: it changes nothing")
    if run is None:
        ev.gate_failures, ev.resolved = gates, False
        return ev
    ev.tests_ran, ev.timed_out, ev.test_returncode = True, run.timed_out, run.returncode
    ev.test_output_tail = run.output_tail
    ev.sentinels = run.sentinels
    if run.sentinels is not None and not run.timed_out and not run.start_error:
        ev.sentinel_failures = sentinel_failures(run.sentinels, expect.sentinel_roles)
    ev.trusted = not run.timed_out and run.consistent and not run.start_error and not ev.sentinel_failures
    if run.timed_out:
        gates.append(f"tests timed out after {timeout_s:g} s")
    elif run.start_error:
        gates.append(run.start_error)
    elif ev.sentinel_failures:
        gates += [f"{f}; results not trusted" for f in ev.sentinel_failures]
    elif not run.consistent:
        gates.append(
            f"test report and exit code disagree (exit {run.returncode}, report: {len(run.failing())} failing"
            f" of {len(run.results)}): results not trusted"
        )
    if run.parsed and not run.timed_out and not ev.sentinel_failures:
        ev.f2p_failed = [t for t in expect.f2p if run.outcome(t) != "passed"]
        ev.p2p_failed = [t for t in expect.p2p if run.outcome(t) != "passed"]
        ev.f2p_total, ev.p2p_total = len(expect.f2p), len(expect.p2p)
        ev.f2p_passed, ev.p2p_passed = ev.f2p_total - len(ev.f2p_failed), ev.p2p_total - len(ev.p2p_failed)
        fails = {normalize_test_id(t) for t in run.failing()} | {
            normalize_test_id(t) for t in expect.baseline_passing if run.outcome(t) == "missing"
        }
        ev.regressions = sorted(t for t in expect.baseline_passing if normalize_test_id(t) in fails)
    if ev.f2p_failed:
        gates.append(f"F2P {ev.f2p_passed}/{ev.f2p_total} passed; failing: {_names(ev.f2p_failed)}")
    if ev.p2p_failed:
        gates.append(f"P2P {ev.p2p_passed}/{ev.p2p_total} passed; failing: {_names(ev.p2p_failed)}")
    regressions = [t for t in ev.regressions if t not in ev.p2p_failed]
    if regressions:
        gates.append(f"regression: {_names(regressions)} passed at base and fail with this patch")
    opaque = not run.parsed and run.consistent and not run.timed_out  # only its exit code speaks
    if opaque and not run.ok and not run.start_error:
        gates.append(f"the test command fails (exit {run.returncode})")
    ev.gate_failures = gates
    if gates:
        ev.resolved = False
    elif expect.f2p:
        ev.resolved = True
    elif not run.parsed and expect.baseline_ok is False:
        ev.resolved = run.ok  # the suite failed at base and passes now
    else:
        ev.resolved = None
    return ev


def _names(tests: list[str], limit: int = 3) -> str:
    shown = ", ".join(tests[:limit])
    return shown + (f" and {len(tests) - limit} more" if len(tests) > limit else "")


CRITERIA = [
    ("passes every gate", lambda e: not e.passes_gates),
    ("applies and changes something", lambda e: not e.applies or e.empty),
    ("has no test-framework tampering in its diff", lambda e: bool(e.framework_flags)),
    ("verified by failing-then-passing tests", lambda e: e.resolved is not True),
    ("leaves existing tests alone", lambda e: bool(e.tampered)),
    ("more F2P tests pass", lambda e: -(e.f2p_passed / e.f2p_total) if e.f2p_total else 0),
    ("fewer regressions", lambda e: len(e.regressions)),
    ("more cross-validation votes", lambda e: -e.votes),
    ("ranked higher by the reviewer", lambda e: e.reviewer_rank if e.reviewer_rank is not None else 10**6),
    ("smaller diff", lambda e: e.diff_lines),
    ("fewer files", lambda e: len(e.files)),
    ("lower cost", lambda e: round(e.cost, 6)),
    ("less time", lambda e: round(e.duration_s, 1)),
]


def can_win(ev: Evidence) -> bool:
    """Passing the gates is not enough when the diff is flagged: sentinels can be told apart by a hijack aimed at
    this judge, so a flagged candidate ranks below every clean one and never wins on its own (no winner instead)."""
    return ev.passes_gates and not ev.framework_flags


def rank(evidence: list[Evidence]) -> list[tuple[Evidence, list[str]]]:
    """Candidates in order, each with the reasons for its place."""
    ordered = sorted(evidence, key=lambda e: ([f(e) for _, f in CRITERIA], e.name))
    out = []
    for i, ev in enumerate(ordered):
        reasons = _facts(ev)
        if i == 0:
            first = "winner: passes every gate" if ev.passes_gates else "first, but fails a gate: no winner"
            if ev.passes_gates and not can_win(ev):
                first = "first, but flagged for test-framework tampering: no winner (a flagged diff never wins alone)"
            reasons.insert(0, first)
        else:
            prev = ordered[i - 1]
            why = next((label for label, f in CRITERIA if f(prev) != f(ev)), "tie; by name")
            tied = why == "tie; by name"
            reasons.insert(
                0, f"tied with {prev.name}; ordered by name" if tied else f"behind {prev.name}: {prev.name} {why}"
            )
        out.append((ev, reasons))
    return out


def _facts(ev: Evidence) -> list[str]:
    if ev.gate_failures:
        facts = list(ev.gate_failures)
    else:
        facts = [f"applies; {len(ev.files)} file(s), {ev.diff_lines} changed line(s)"]
        if ev.f2p_total:
            facts.append(f"F2P {ev.f2p_passed}/{ev.f2p_total} passed")
        elif ev.resolved is None:
            facts.append("no failing test identifies the bug: resolution not verified by tests")
        if ev.p2p_total:
            facts.append(f"P2P {ev.p2p_passed}/{ev.p2p_total} passed")
        facts.append("no regressions")
    if ev.tampered:
        facts.append(f"edits existing tests ({_names(ev.tampered)}); they ran from their base versions")
    if ev.framework_flags:
        facts.append(f"test-framework tampering suspected: {_names(ev.framework_flags)}")
    if ev.dropped:
        facts.append(f"adds {_names(ev.dropped)}; removed while judging (it could rewrite test results)")
    if ev.voters:
        facts.append(f"cross-validation: passes {ev.votes} of {ev.voters} valid reproduction tests (its own included)")
    if ev.reviewer_rank is not None:
        facts.append(f"reviewer: #{ev.reviewer_rank + 1}" + (f": {ev.reviewer_note}" if ev.reviewer_note else ""))
    return facts
