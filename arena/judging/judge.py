"""The judge: from N candidate patches to a verdict with evidence and a reason for every place.

test command (spec, or detected with file:line evidence)
baseline run at base ── which tests already fail (inferred F2P) and which pass (regression check)
every candidate, in parallel, in a fresh sandbox: apply ── restore task tests ── run ── gates
cross-validation: each candidate against the reproduction tests the others wrote
sentinel tests in every suite run, a scan of every diff (arena/judging/integrity.py)
reviewer (LLM, optional) ── synthesis (optional) ── rank (arena/judging/ranking.py)
── a Verdict (arena/judging/verdict.py), which the engine stores: judging imports no storage
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from arena.errors import ArenaError
from arena.judging.detect import detect_test_command
from arena.judging.evaluate import (
    Applied,
    Workbench,
    apply_candidate,
    apply_test_patch,
    evaluate,
    new_test_files,
    run_suite,
)
from arena.judging.integrity import behaving_roles, scan_patch, sentinel_dir
from arena.judging.patches import is_test_file
from arena.judging.ranking import Expectations, assess, can_win, rank
from arena.judging.reviewer import ReviewerError, prompt, review, synthesize
from arena.judging.testrun import Runner, TestRun, run_tests, runner_for
from arena.judging.verdict import (
    SYNTHESIS,
    Baseline,
    Candidate,
    Coverage,
    CrossValidation,
    Evidence,
    JudgeInfo,
    Placement,
    ReproTests,
    Verdict,
)
from arena.llm import RetryPolicy
from arena.protocols import PreparedTask, SandboxBackend
from arena.sandboxes import sandbox_uid
from arena.sandboxes.repos import git
from arena.spec import ArenaSpec


class JudgeError(ArenaError):
    """The task cannot be judged as given (e.g. its test_patch does not apply at base)."""


class Judge:
    def __init__(self, spec: ArenaSpec, backend: SandboxBackend, prepared: PreparedTask, arena_id: str, work_dir: Path):
        self.spec, self.backend, self.prepared, self.arena_id = spec, backend, prepared, arena_id
        self.work_dir = work_dir
        self.retry = RetryPolicy.from_env()
        self.pool = ThreadPoolExecutor(spec.judge.max_parallel or os.cpu_count() or 2, thread_name_prefix="judge")
        self.info = JudgeInfo(reviewer=spec.judge.model)
        self.synthesis: Candidate | None = None

    def _sandbox(self, label: str):
        return self.backend.create(self.prepared, self.work_dir / label, sandbox_uid(self.arena_id, f"judge/{label}"))

    def run(self, candidates: list[Candidate]) -> Verdict:
        try:
            return self._run(candidates)
        finally:
            self.pool.shutdown(wait=True)

    def _run(self, candidates: list[Candidate]) -> Verdict:
        self._patches = {c.name: c.patch for c in candidates}
        runner = self._runner()
        existing = self._existing_tests()
        self.bench = bench = Workbench(
            base_sha=self.prepared.base_sha,
            runner=runner or Runner("true", "opaque"),
            timeout_s=self.spec.judge.test_timeout_s,
            existing_tests=existing,
            test_patch=self.spec.task.test_patch,
            sentinel_dir=sentinel_dir(existing),
        )
        self.with_tests = runner is not None
        # The baseline runs beside the candidates' test runs: only their scoring needs it, not the runs.
        baseline = self.pool.submit(self._baseline, bench) if runner else None
        tested = list(self.pool.map(lambda c: self._test(bench, c), candidates))
        self.expect = expect = baseline.result() if baseline else Expectations()
        evidence = [self._score(c, applied, run, expect) for c, (applied, run) in zip(candidates, tested, strict=True)]
        if runner and self.spec.judge.cross_validate:
            self._cross_validate(bench, candidates, evidence)
        self._review(candidates, evidence)
        ranked = rank(evidence)
        placements = [
            Placement(name=e.name, rank=i + 1, resolved=e.resolved, passes_gates=e.passes_gates, reasons=r, evidence=e)
            for i, (e, r) in enumerate(ranked)
        ]
        winner = placements[0].name if placements and can_win(placements[0].evidence) else None
        if winner is None:
            flagged = placements and placements[0].passes_gates
            self.info.no_winner = (
                f"the only candidates that pass the gates are flagged for test-framework tampering "
                f"({placements[0].name}: {placements[0].evidence.framework_flags[0]}); review them by hand"
                if flagged
                else "no candidate passes the gates"
            )
        resolved = sum(1 for p in placements if p.resolved)
        coverage = Coverage(
            resolved=resolved,
            candidates=len(placements),
            picked_resolved=bool(winner) and placements[0].resolved is True,
        )
        return Verdict(winner=winner, ranking=placements, coverage=coverage, judge=self.info, synthesis=self.synthesis)

    # -- steps -------------------------------------------------------------------------------------

    def _runner(self) -> Runner | None:
        if self.spec.task.test_command:
            self.info.test_command, self.info.test_command_source = self.spec.task.test_command, "spec"
            return runner_for(self.spec.task.test_command, self.prepared.checkout)
        detected = detect_test_command(self.prepared.checkout)
        if detected is None:
            self.info.test_command = None
            self.info.test_command_source = "none found: candidates are judged without tests (set task.test_command)"
            return None
        self.info.test_command, self.info.test_command_source = (
            detected.command,
            f"detected: {detected.evidence()}",
        )
        return runner_for(detected.command, self.prepared.checkout)

    def _existing_tests(self) -> set[str]:
        listed = git("ls-tree", "-r", "--name-only", self.prepared.base_sha, cwd=self.prepared.checkout).splitlines()
        named = {t.split("::")[0] for t in self.spec.task.fail_to_pass + self.spec.task.pass_to_pass if ".py" in t}
        return {f for f in listed if is_test_file(f)} | (named & set(listed))

    def _baseline(self, bench: Workbench) -> Expectations:
        sandbox = self._sandbox("baseline")
        try:
            if error := apply_test_patch(sandbox, bench):
                raise JudgeError(f"{error}; check the SWE-bench instance's test_patch against task.base")
            run = run_suite(sandbox, bench)
            probe = run
            if run.start_error and run.parsed and bench.runner.kind == "pytest":
                # A collection error at base (say, a test importing what the fix adds) stops pytest before the
                # sentinels run; without it they can still show whether this command collects the files we add.
                runner = replace(bench.runner, command=f"{bench.runner.command} --continue-on-collection-errors")
                probe = run_suite(sandbox, replace(bench, runner=runner))
        finally:
            sandbox.close()
        task = self.spec.task
        self.info.baseline = _summary(run)
        self.info.runner = bench.runner.kind
        expect = Expectations(p2p=task.pass_to_pass, baseline_passing=sorted(run.passing()), baseline_ok=run.ok)
        expect.sentinel_roles = self._sentinels_at_base(probe)
        if run.start_error and not run.parsed:
            self.info.note = (
                f"at base, {run.start_error}; every candidate's tests will fail the same way:"
                " fix task.test_command or install what it needs in task.setup_command"
            )
        elif run.start_error:  # e.g. a collection error the fix is meant to remove: judging goes on
            self.info.note = f"at base, {run.start_error}"
        if not run.parsed:
            if task.fail_to_pass and not run.start_error:
                self.info.note = "this test command writes no per-test report; F2P/P2P are judged by its exit code"
            expect.p2p = []
        elif task.fail_to_pass:
            expect.f2p, expect.f2p_source = task.fail_to_pass, "spec"
        elif run.failing():
            expect.f2p, expect.f2p_source = sorted(run.failing()), "baseline"
        self.info.f2p_source = expect.f2p_source
        self.info.f2p = expect.f2p
        return expect

    def _sentinels_at_base(self, run: TestRun) -> list[str]:
        """The sentinel roles candidates are held to: those that behaved at base (say why if any did not)."""
        if self.bench.runner.kind == "opaque":
            self.info.sentinels = "none: this test command writes no per-test report to check them in"
            return []
        if run.sentinels is None or (run.start_error and not any(o != "missing" for o in run.sentinels.values())):
            self.info.sentinels = "not used: the test command did not start at base (see the note)"
            return []
        roles = behaving_roles(run.sentinels)
        misbehaved = {r: o for r, o in run.sentinels.items() if r not in roles}
        if not roles:
            self.info.sentinels = (
                f"not used: at base they were {run.sentinels}, so this test command does not run the test files the"
                " judge adds; framework tampering is then only looked for in the diffs"
            )
            return []
        self.info.sentinels = f"required: {roles}" + (
            f"; not required, as at base they were {misbehaved}" if misbehaved else ""
        )
        return roles

    def _test(self, bench: Workbench, c: Candidate) -> tuple[Applied, TestRun | None]:
        """Apply and run the tests in a fresh sandbox (no test run when the task has no test command)."""
        sandbox = self._sandbox(f"eval-{c.name}")
        try:
            if self.with_tests:
                return evaluate(sandbox, bench, c.patch)
            return apply_candidate(sandbox, bench, c.patch), None
        finally:
            sandbox.close()

    def _score(self, c: Candidate, applied: Applied, run: TestRun | None, expect: Expectations) -> Evidence:
        ev = Evidence(name=c.name, model=c.model, strategy=c.strategy, cost=c.cost, duration_s=c.duration_s)
        ev.new_tests = new_test_files(applied.info)
        assess(ev, applied, run, expect, self.spec.judge.test_timeout_s)
        ev.framework_flags = scan_patch(c.patch, self._base_text, frozenset(applied.tampered))
        if not self.with_tests and applied.applies and not applied.info.empty:
            ev.gate_failures, ev.resolved = (
                [],
                None,
            )  # without tests only applying and changing something can be checked
        return ev

    def _base_text(self, path: str) -> str | None:
        """A file's text at base (to tell which config section a hunk edits); None if it is not there."""
        try:
            file = (self.prepared.checkout / path).resolve()
            if file.is_relative_to(self.prepared.checkout.resolve()) and file.is_file():
                return file.read_text(errors="replace")
        except OSError:
            pass
        return None

    def _cross_validate(self, bench: Workbench, candidates: list[Candidate], evidence: list[Evidence]) -> None:
        """Every candidate against every candidate's reproduction tests, its own included (valid = they fail at base).

        Counting its own keeps the vote fair: otherwise writing a reproduction test would cost a candidate a vote.
        """
        if bench.runner.files(["x.py"], "/tmp/x") is None:
            self.info.cross_validation = CrossValidation(
                skipped=f"a {bench.runner.kind} test command cannot run single files"
            )
            return
        by_name = {c.name: c for c in candidates}
        writers = [e for e in evidence if e.new_tests and e.applies]
        at_base = dict(
            zip(
                [w.name for w in writers],
                self.pool.map(lambda w: self._run_repro(bench, None, w), writers),
                strict=True,
            )
        )
        valid = [w for w in writers if at_base[w.name] == "fail"]
        targets = [e for e in evidence if e.applies and not e.empty]
        pairs = [(t, w) for t in targets for w in valid]
        outcomes = list(self.pool.map(lambda p: self._run_repro(bench, by_name[p[0].name], p[1]), pairs))
        matrix: dict[str, dict[str, str]] = {t.name: {} for t in targets}
        for (t, w), outcome in zip(pairs, outcomes, strict=True):
            matrix[t.name][w.name] = outcome
        for e in evidence:
            row = matrix.get(e.name, {})
            e.voters = len(row)
            e.votes = sum(1 for o in row.values() if o == "pass")
        self.info.cross_validation = CrossValidation(
            tests={w.name: ReproTests(files=w.new_tests, at_base=at_base[w.name]) for w in writers},
            valid=[w.name for w in valid],
            matrix=matrix,
        )

    def _run_repro(self, bench: Workbench, target: Candidate | None, writer: Evidence) -> str:
        """pass | fail | n/a: `writer`'s new test files on `target`'s patch (None: on the base commit)."""
        label = f"xv-{target.name if target else 'base'}-{writer.name}"
        sandbox = self._sandbox(label)
        try:
            if target is not None and not apply_candidate(sandbox, bench, target.patch).applies:
                return "n/a"
            own = target is not None and target.name == writer.name  # its own tests are already in place
            if (
                not own
                and not apply_candidate(sandbox, bench, self._patches[writer.name], include=writer.new_tests).applies
            ):
                return "n/a"  # e.g. the target added a file of the same name
            run: TestRun = run_tests(sandbox, bench.runner, bench.timeout_s, files=writer.new_tests)
        finally:
            sandbox.close()
        return "pass" if run.ok and run.parsed else "fail"

    def _review(self, candidates: list[Candidate], evidence: list[Evidence]) -> None:
        judge = self.spec.judge
        passing = [e for e in evidence if e.passes_gates]
        if not judge.model:
            self.info.fallback = "no reviewer model set (judge.model): ranked by the heuristic"
            return
        if len(passing) < 2 and not judge.synthesize:
            self.info.fallback = f"reviewer not needed: {len(passing)} candidate(s) pass the gates"
            return
        shown = passing or [e for e in evidence if e.applies and not e.empty]
        messages = prompt(
            self.spec.problem_statement,
            [{"name": e.name, "diff": self._patches[e.name], "evidence": _brief(e)} for e in shown],
        )
        try:
            answer, cost = review(judge, messages, [e.name for e in shown], self.retry)
        except ReviewerError as e:
            self.info.fallback = f"{e}; ranked by the heuristic"
            return
        self.info.rationale, self.info.reviewer_cost = answer.rationale, cost
        for e in shown:
            e.reviewer_rank, e.reviewer_note = answer.ranking.index(e.name), answer.notes.get(e.name, "")
        if judge.synthesize:
            self._synthesize(messages, answer.model_dump_json(), candidates, evidence)

    def _synthesize(
        self, messages: list[dict], reply: str, candidates: list[Candidate], evidence: list[Evidence]
    ) -> None:
        try:
            patch, cost = synthesize(self.spec.judge, messages, reply, self.retry)
        except ReviewerError as e:
            self.info.synthesis = f"not produced: {e}"
            return
        self.info.synthesis = f"evaluated as the contestant `{SYNTHESIS}`"
        self.synthesis = synthesis = Candidate(
            name=SYNTHESIS, patch=patch, model=self.spec.judge.model or "", strategy=SYNTHESIS, cost=cost
        )
        self._patches[SYNTHESIS] = patch
        evidence.append(self._score(synthesis, *self._test(self.bench, synthesis), self.expect))
        candidates.append(synthesis)


def _summary(run: TestRun) -> Baseline:
    return Baseline(
        command=run.command,
        returncode=run.returncode,
        timed_out=run.timed_out,
        parsed=run.parsed,
        passed=len(run.passing()),
        failing=sorted(run.failing())[:50],
        start_error=run.start_error,
        sentinels=run.sentinels,
        output_tail=run.output_tail[-1500:],
    )


def _brief(e: Evidence) -> str:
    parts = [
        f"F2P {e.f2p_passed}/{e.f2p_total}" if e.f2p_total else "no F2P tests",
        f"regressions {len(e.regressions)}",
        f"{e.diff_lines} lines in {len(e.files)} files",
    ]
    if e.tampered:
        parts.append(f"edits existing tests {e.tampered}")
    if e.framework_flags:
        parts.append(f"test-framework tampering suspected: {e.framework_flags[:3]}")
    if e.voters:
        parts.append(f"passes {e.votes}/{e.voters} others' reproduction tests")
    return "; ".join(parts)


__all__ = ["Candidate", "Judge", "JudgeError", "Verdict"]
