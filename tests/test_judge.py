"""The judge against adversarial candidates: the real fix wins every time, and every loser's reason is right.

Candidates are scripted contestants through the real engine (bubblewrap sandboxes, real git, real test
runs); `arena judge` re-judges after one patch is replaced by one that cannot apply.
"""

import json
from pathlib import Path

import pytest

from arena.engine import Engine
from arena.judging.judge import Candidate, Judge
from arena.sandboxes import get_backend
from arena.spec import spec_from_dict
from tests.conftest import make_repo, spec_dict, write_steps
from tests.fakes.openai_server import FakeOpenAI, Fault, Text

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
UNITTEST_FILES = {
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
    "tests/__init__.py": "",
    "tests/test_ops.py": (
        "import unittest\n\nfrom calc.ops import add, mul\n\n\nclass TestOps(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n"
        "    def test_mul(self):\n        self.assertEqual(mul(2, 3), 6)\n"
    ),
}
F2P = ["tests/test_ops.py::TestOps::test_add"]
P2P = ["tests/test_ops.py::TestOps::test_mul"]
FIX = "sed -i 's/a - b/a + b/' calc/ops.py"
ADVERSARIES = {
    # name: (commands, the reason it must lose for)
    "a-fake-pass": (
        [
            "printf 'import atexit, os\\nprint(\"test_add ... ok\\\\nRan 2 tests\\\\nOK\")\\natexit.register(lambda: os._exit(0))\\n' >> calc/ops.py"
        ],
        "test report and exit code disagree",
    ),
    "b-edits-f2p-test": (["sed -i 's/add(2, 3), 5/add(2, 3), -1/' tests/test_ops.py"], "F2P 0/1 passed"),
    "c-deletes-tests": (["rm tests/test_ops.py"], "F2P 0/1 passed"),
    "d-empty": (["true"], "empty patch"),
    "e-hangs": (
        ["sed -i 's/    return a - b/    while True:\\n        pass/' calc/ops.py"],
        "tests timed out after 5 s",
    ),
    "f-breaks-mul": ([FIX, "sed -i 's/a \\* b/a ** b/' calc/ops.py"], "P2P 0/1 passed"),
}


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """One arena: the real fix beside every adversary; then one patch replaced by a broken one and re-judged."""
    root = tmp_path_factory.mktemp("judge")
    repo, arena_dir = root / "calc", root / "arena"
    make_repo(repo, UNITTEST_FILES)
    contestants = []
    for name, (commands, _) in {**ADVERSARIES, "the-fix": ([FIX], ""), "g-no-apply": ([FIX], "")}.items():
        write_steps(
            arena_dir / f"{name}.yaml",
            [{"thought": name, "commands": commands}, {"thought": "done", "commands": [SUBMIT]}],
        )
        contestants.append({"name": name, "model": f"scripted:{name}.yaml"})
    raw = spec_dict(repo, contestants, limits={"max_parallel": 8}, judge={"test_timeout_s": 5})
    raw["task"] |= {
        "test_command": "python3 -m unittest discover -s tests -t .",
        "fail_to_pass": F2P,
        "pass_to_pass": P2P,
    }
    import os

    os.environ["ARENA_DATA_DIR"] = str(root / "data")
    from arena.config import Settings

    engine = Engine(Settings.from_env())
    try:
        arena_id = engine.run(spec_from_dict(raw, base_dir=arena_dir))
        first = engine.store.latest_verdict(arena_id)
        broken = next(c for c in engine.store.arena(arena_id).contestants if c.name == "g-no-apply")
        patch = Path(broken.patch_path).read_text().replace("-    return a - b", "-    return a - c")
        Path(broken.patch_path).write_text(patch)
        # The judge reads patches from the shared store (arena/artifacts.py): the stored copy is what it judges.
        engine.store.put_artifact(arena_id, broken.name, "patch", patch.encode())
        engine.judge(arena_id)
        second = engine.store.latest_verdict(arena_id)
    finally:
        engine.shutdown()
        os.environ.pop("ARENA_DATA_DIR")
    return first, second


def by_name(verdict) -> dict[str, dict]:
    return {p["name"]: p for p in verdict.ranking}


def test_the_real_fix_wins_and_every_loser_says_why(judged):
    _, verdict = judged
    assert verdict.error is None
    assert verdict.winner == "the-fix"
    ranking = by_name(verdict)
    fix = ranking["the-fix"]
    assert fix["rank"] == 1 and fix["resolved"] is True and fix["passes_gates"]
    assert fix["reasons"][:5] == [
        "winner: passes every gate",
        "applies; 1 file(s), 2 changed line(s)",
        "F2P 1/1 passed",
        "P2P 1/1 passed",
        "no regressions",
    ]
    for name, (_, reason) in ADVERSARIES.items():
        place = ranking[name]
        assert place["rank"] > 1 and not place["passes_gates"] and place["resolved"] is False
        assert place["reasons"][0].startswith(("behind ", "tied with "))
        assert any(r.startswith(reason) for r in place["reasons"]), (name, place["reasons"])
    assert any(r.startswith("does not apply") for r in ranking["g-no-apply"]["reasons"])
    assert verdict.resolved == 1 and verdict.candidates == 8
    assert verdict.judge["coverage"] == {"resolved": 1, "candidates": 8, "picked_resolved": True}


def test_tampering_is_flagged_and_tests_ran_from_base(judged):
    _, verdict = judged
    ranking = by_name(verdict)
    for name in ("b-edits-f2p-test", "c-deletes-tests"):
        assert ranking[name]["evidence"]["tampered"] == ["tests/test_ops.py"]
        assert any("ran from their base versions" in r for r in ranking[name]["reasons"])
    assert ranking["the-fix"]["evidence"]["tampered"] == []
    assert ranking["f-breaks-mul"]["evidence"]["regressions"] == ["tests/test_ops.py::TestOps::test_mul"]
    assert ranking["e-hangs"]["evidence"]["timed_out"] is True
    assert ranking["a-fake-pass"]["evidence"]["test_returncode"] == 0  # it forced exit 0; the report said otherwise


def test_the_first_judgement_agrees_and_rejudging_adds_a_verdict(judged):
    first, second = judged
    assert first.id != second.id
    # Before its patch was broken, g-no-apply was an identical second fix: only time (or the name) tells them apart.
    assert {first.winner, second.winner} <= {"g-no-apply", "the-fix"} and second.winner == "the-fix"
    runner_up = by_name(first)["the-fix" if first.winner == "g-no-apply" else "g-no-apply"]
    assert runner_up["passes_gates"] and runner_up["reasons"][0].endswith(("less time", "ordered by name"))
    assert first.resolved == 2
    assert first.judge["test_command_source"] == "spec" and first.judge["f2p_source"] == "spec"
    assert first.judge["baseline"]["failing"] == F2P  # the sentinels' failures are not the task's
    assert first.judge["sentinels"] == "required: ['assertEqual-fails', 'assertEqual-passes']"


@pytest.mark.parametrize("adversary", sorted(ADVERSARIES))
def test_the_real_fix_beats_each_adversary_alone(adversary, judged, tmp_path):
    """Pairwise, through the Judge directly on the stored patches: never the adversary."""
    _, verdict = judged
    ranking = by_name(verdict)
    assert ranking["the-fix"]["rank"] < ranking[adversary]["rank"]


def pytest_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "pyrepo"
    make_repo(
        repo,
        {
            "calc/__init__.py": "",
            "calc/ops.py": "def add(a, b):\n    return a - b\n",
            "tests/test_ops.py": "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n",
            "pyproject.toml": "[project]\nname = 'calc'\nversion = '0'\n\n[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
        },
    )
    return repo


@pytest.fixture(scope="module")
def pytest_arena(tmp_path_factory):
    """A pytest repository set up with a venv (once); cross-validation and conftest tampering need pytest."""
    root = tmp_path_factory.mktemp("pyjudge")
    repo, arena_dir = pytest_repo(root), root / "arena"
    repro = "printf 'from calc.ops import add\\n\\n\\ndef test_repro():\\n    assert add(1, 1) == 2\\n' > tests/test_repro_add.py"
    conftest = (
        "printf 'import pytest\\n\\n@pytest.hookimpl(hookwrapper=True)\\ndef pytest_runtest_makereport(item, call):\\n"
        '    outcome = yield\\n    outcome.get_result().outcome = "passed"\\n\' > tests/conftest.py'
    )
    steps = {
        "test-first-fix": [repro, FIX],
        "plain-fix": [FIX],
        "wrong-fix": ["sed -i 's/a - b/a + b + 0 * (a - 1) if a else 5/' calc/ops.py"],
        "conftest-cheat": [conftest],
        "repro-only": [repro.replace("test_repro_add", "test_repro_other")],
    }
    contestants = []
    for name, commands in steps.items():
        write_steps(
            arena_dir / f"{name}.yaml",
            [{"thought": name, "commands": commands}, {"thought": "ok", "commands": [SUBMIT]}],
        )
        contestants.append({"name": name, "model": f"scripted:{name}.yaml"})
    raw = spec_dict(repo, contestants, limits={"max_parallel": 5}, sandbox={"command_timeout_s": 300})
    raw["task"]["setup_command"] = "python3 -m venv .venv && .venv/bin/pip install -q pytest"
    raw["task"]["test_command"] = ".venv/bin/python -m pytest -q"
    import os

    from arena.config import Settings

    os.environ["ARENA_DATA_DIR"] = str(root / "data")
    engine = Engine(Settings.from_env())
    try:
        arena_id = engine.run(spec_from_dict(raw, base_dir=arena_dir))
        yield engine, arena_id, raw, arena_dir
    finally:
        engine.shutdown()
        os.environ.pop("ARENA_DATA_DIR")


def test_pytest_results_cross_validation_and_conftest_cheats(pytest_arena):
    engine, arena_id, _, _ = pytest_arena
    verdict = engine.store.latest_verdict(arena_id)
    assert verdict.error is None, verdict.error
    ranking = by_name(verdict)
    info = verdict.judge
    # No F2P in the spec: the baseline's failing test is the inferred F2P.
    assert info["f2p_source"] == "baseline" and info["f2p"] == ["tests/test_ops.py::test_add"]
    assert info["runner"] == "pytest"
    # The repro tests: test-first-fix's fails at base (valid); repro-only's too. Both vote.
    xv = info["cross_validation"]
    assert sorted(xv["valid"]) == ["repro-only", "test-first-fix"]
    assert xv["matrix"]["plain-fix"] == {"repro-only": "pass", "test-first-fix": "pass"}
    # wrong-fix satisfies the reproduction tests (add(1, 1) == 2) but breaks add(0, 0): the regression gate catches it.
    assert xv["matrix"]["wrong-fix"] == {"repro-only": "pass", "test-first-fix": "pass"}
    assert any(r.startswith("regression: tests/test_ops.py::test_zero") for r in ranking["wrong-fix"]["reasons"])
    assert ranking["plain-fix"]["evidence"]["votes"] == 2
    # The conftest that marks every test passed is removed while judging, and flagged.
    cheat = ranking["conftest-cheat"]
    assert cheat["evidence"]["dropped"] == ["tests/conftest.py"] and not cheat["passes_gates"]
    assert any(r.startswith("F2P 0/1 passed") for r in cheat["reasons"])
    assert cheat["evidence"]["framework_flags"] == [
        "tests/conftest.py: adds or edits a conftest.py (pytest loads it as a plugin)",
        "tests/conftest.py:4: def pytest_runtest_makereport(item, call): (defines a pytest hook or plugin)",
    ]
    # Sentinels ran in the task's own pytest and behaved at base, so every candidate is held to them.
    assert info["sentinels"] == "required: ['assert-fails', 'assert-passes', 'assertEqual-fails', 'assertEqual-passes']"
    assert set(ranking["plain-fix"]["evidence"]["sentinels"].values()) == {"passed", "failed"}
    # Both real fixes pass the gates; the one with fewer votes or more lines ranks behind.
    assert verdict.winner in ("plain-fix", "test-first-fix")
    assert {ranking["plain-fix"]["rank"], ranking["test-first-fix"]["rank"]} == {1, 2}
    assert ranking["wrong-fix"]["rank"] > 2 and verdict.resolved == 2


def rejudge(pytest_arena, names: list[str] | None = None, **judge_fields):
    """The stored candidates of the pytest arena, and a function judging them again under other judge settings."""
    engine, arena_id, raw, arena_dir = pytest_arena
    row = engine.store.arena(arena_id)
    spec = spec_from_dict(raw, base_dir=arena_dir)
    patches = {c.name: Path(c.patch_path).read_text() for c in row.contestants}
    candidates = [Candidate(name=n, patch=patches[n]) for n in (names or patches)]
    backend = get_backend(spec.sandbox, engine.repos)
    prepared = backend.prepare(spec.task.repo, row.base_sha, spec.task.setup_command, Path("/nonexistent/setup.log"))

    def run(label: str, **fields):
        judged = spec.model_copy(update={"judge": spec.judge.model_copy(update=judge_fields | fields)})
        return Judge(judged, backend, prepared, arena_id, engine.settings.runs_dir / arena_id / label).run(
            list(candidates)
        )

    return patches, run


def test_reviewer_ranks_and_a_malformed_answer_falls_back(pytest_arena):
    answer = {
        "ranking": ["test-first-fix", "plain-fix"],
        "rationale": "The test-first fix also adds a regression test.",
        "notes": {"test-first-fix": "fix plus test", "plain-fix": "fix only"},
    }
    with FakeOpenAI() as server:
        server.script(
            "openai/judge-model", Text("```json\n" + json.dumps(answer) + "\n```"), Text("I think plain-fix is best.")
        )
        _, judge = rejudge(pytest_arena, model="openai/judge-model", api_base=server.api_base)
        good, bad = judge("rv1"), judge("rv2")
        prompt = server.requests_for("openai/judge-model")[0].body["messages"][1]["content"]
    assert good.winner == "test-first-fix" and good.judge.fallback is None
    assert good.judge.rationale == answer["rationale"]
    assert "reviewer: #1: fix plus test" in good.ranking[0].reasons
    assert "Candidate `plain-fix`" in prompt and "+    return a + b" in prompt and "add(2, 3) returns -1" in prompt
    assert "not JSON" in bad.judge.fallback and "heuristic" in bad.judge.fallback
    assert bad.winner in ("plain-fix", "test-first-fix") and all(p.evidence.reviewer_rank is None for p in bad.ranking)


def test_synthesis_competes_as_a_contestant(pytest_arena):
    answer = {"ranking": ["test-first-fix", "plain-fix"], "rationale": "both fix it"}
    with FakeOpenAI() as server:
        patches, judge = rejudge(
            pytest_arena,
            ["plain-fix", "test-first-fix", "wrong-fix"],
            model="openai/judge-model",
            api_base=server.api_base,
            synthesize=True,
        )
        server.script(
            "openai/judge-model", Text(json.dumps(answer)), Text(json.dumps({"patch": patches["test-first-fix"]}))
        )
        result = judge("syn")
    synthesis = result.placement("synthesis")
    assert synthesis.passes_gates and synthesis.resolved is True
    assert result.judge.synthesis == "evaluated as the contestant `synthesis`"
    # The synthesis is a candidate of the verdict like any other: its patch, who wrote it, what it cost.
    assert result.synthesis.patch == patches["test-first-fix"] and result.synthesis.model == "openai/judge-model"
    assert (synthesis.evidence.model, synthesis.evidence.strategy) == ("openai/judge-model", "synthesis")


def test_reviewer_errors_fall_back_and_say_so(pytest_arena, monkeypatch):
    monkeypatch.setenv("ARENA_MODEL_RETRIES", "1")  # the permanent 500 would otherwise be retried for ~30 s
    wrong_names = {"ranking": ["plain-fix", "nobody"], "rationale": "?"}
    with FakeOpenAI() as server:
        server.script("openai/judge-model", Text(json.dumps(wrong_names)), Fault("500", permanent=True))
        _, judge = rejudge(pytest_arena, model="openai/judge-model", api_base=server.api_base)
        first, second = judge("e1"), judge("e2")
    assert "not exactly the candidates" in first.judge.fallback
    assert "the reviewer model call failed: InternalServerError" in second.judge.fallback
    assert first.winner == second.winner and first.winner in ("plain-fix", "test-first-fix")


def test_the_reviewer_retries_by_the_contestants_policy():
    """arena/llm.py: a 429 or 5xx is retried as often as RetryPolicy says (as for contestants), and no more."""
    from arena.judging.reviewer import ReviewerError, review
    from arena.llm import RetryPolicy
    from arena.spec import JudgeSpec

    retry = RetryPolicy(attempts=3, wait_min_s=0.01, wait_max_s=0.01)
    messages = [{"role": "user", "content": "rank a and b"}]
    with FakeOpenAI() as server:
        server.script("openai/judge-model", Fault("429"), Fault("500"), Text(json.dumps({"ranking": ["b", "a"]})))
        answer, _ = review(JudgeSpec(model="openai/judge-model", api_base=server.api_base), messages, ["a", "b"], retry)
        server.script("openai/down", Fault("500", permanent=True))
        with pytest.raises(ReviewerError, match="the reviewer model call failed: InternalServerError"):
            review(JudgeSpec(model="openai/down", api_base=server.api_base), messages, ["a", "b"], retry)
        tries = len(server.requests_for("openai/judge-model")), len(server.requests_for("openai/down"))
    assert answer.ranking == ["b", "a"] and tries == (3, 3)


def test_without_a_test_command_the_judge_detects_one_and_shows_where(tmp_path, settings):
    repo, arena_dir = tmp_path / "calc", tmp_path / "arena"
    make_repo(repo, UNITTEST_FILES)
    write_steps(
        arena_dir / "fix.yaml", [{"thought": "fix", "commands": [FIX]}, {"thought": "done", "commands": [SUBMIT]}]
    )
    engine = Engine(settings)
    try:
        arena_id = engine.run(
            spec_from_dict(spec_dict(repo, [{"name": "fix", "model": "scripted:fix.yaml"}]), base_dir=arena_dir)
        )
        verdict = engine.store.latest_verdict(arena_id)
    finally:
        engine.shutdown()
    assert verdict.judge["test_command"] == "python3 -m unittest discover -v -s tests -t ."
    assert verdict.judge["test_command_source"] == "detected: tests/test_ops.py:1: import unittest"
    assert verdict.judge["f2p_source"] == "baseline" and verdict.judge["f2p"] == [
        "tests/test_ops.py::TestOps::test_add"
    ]
    assert verdict.winner == "fix" and verdict.ranking[0]["resolved"] is True


def test_unittest_adapter_reports_failing_subtests(tmp_path):
    """A test whose subTest fails is a failed test in the report, and the exit code agrees."""
    import subprocess
    import sys

    from arena.judging.testrun import ADAPTER, parse_junit

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_sub.py").write_text(
        "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_sub(self):\n        for i in range(3):\n"
        "            with self.subTest(i=i):\n                self.assertLess(i, 2)\n\n    def test_ok(self):\n        pass\n"
    )
    junit = tmp_path / "junit.xml"
    result = subprocess.run(
        [sys.executable, str(ADAPTER), "--junit", str(junit), "discover", "-s", "tests", "-t", "."],
        cwd=tmp_path,
        capture_output=True,
    )
    assert result.returncode == 1
    assert parse_junit(junit.read_bytes()) == {
        "tests/test_sub.py::T::test_sub": "failed",
        "tests/test_sub.py::T::test_ok": "passed",
    }


def test_a_patch_that_applies_ranks_above_one_that_does_not():
    from arena.judging.ranking import rank
    from arena.judging.verdict import Evidence

    broken = Evidence(name="a-broken", applies=False, gate_failures=["does not apply"], resolved=False)
    partial = Evidence(name="z-partial", regressions=["t"], files=["x.py"], diff_lines=2, gate_failures=["regression"])
    assert [e.name for e, _ in rank([broken, partial])] == ["z-partial", "a-broken"]
