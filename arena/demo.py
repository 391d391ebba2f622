"""The demo arena: a tiny repository with a real bug, and three scripted contestants.

`arena demo` (and `make run`) build it under <data dir>/sample/: a git repository whose
`median()` is wrong for even-length input (its test fails), and a spec with one correct fix,
one wrong fix and one contestant that gives up. Runs offline, with no API key.
"""

import subprocess
from pathlib import Path

import yaml

REPO_FILES = {
    "README.md": "# textstats\n\nSmall statistics helpers.\n",
    "textstats/__init__.py": "from textstats.stats import mean, median\n\n__all__ = ['mean', 'median']\n",
    "textstats/stats.py": '''"""Descriptive statistics for plain Python sequences."""


def mean(values):
    """Arithmetic mean of a non-empty sequence."""
    if not values:
        raise ValueError("mean() of an empty sequence")
    return sum(values) / len(values)


def median(values):
    """Middle value of a non-empty sequence."""
    if not values:
        raise ValueError("median() of an empty sequence")
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid]
''',
    "tests/__init__.py": "",
    "tests/test_stats.py": """import unittest

from textstats import mean, median


class StatsTest(unittest.TestCase):
    def test_mean(self):
        self.assertEqual(mean([1, 2, 3, 4]), 2.5)

    def test_median_odd(self):
        self.assertEqual(median([3, 1, 2]), 2)

    def test_median_even(self):
        self.assertEqual(median([4, 1, 3, 2]), 2.5)


if __name__ == "__main__":
    unittest.main()
""",
}

PROBLEM = """median() is wrong for sequences of even length

`textstats.median([4, 1, 3, 2])` returns 3, but the median of an even number of values is the mean
of the two middle values: 2.5. `python3 -m unittest discover -s tests` shows the failing test.
"""

TEST = "python3 -m unittest discover -s tests -t . 2>&1 | tail -5"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
FIXED_LINE = "return (ordered[mid - 1] + ordered[mid]) / 2 if len(ordered) % 2 == 0 else ordered[mid]"
WRONG_LINE = "return (ordered[mid - 1] + ordered[mid]) // 2 if len(ordered) % 2 == 0 else ordered[mid]"

SCRIPTS = {
    "correct-fix": [
        {"thought": "Find where median is defined.", "commands": ["grep -rn 'def median' --include=*.py ."]},
        {"thought": "Read the implementation.", "commands": ["nl -ba textstats/stats.py | sed -n '12,20p'"]},
        {"thought": "Reproduce the failure first.", "commands": [TEST]},
        {
            "thought": "For even length the median is the mean of the two middle values.",
            "commands": [f"sed -i 's|return ordered\\[mid\\]$|{FIXED_LINE}|' textstats/stats.py"],
        },
        {"thought": "Run the tests again.", "commands": [TEST]},
        {"thought": "All tests pass; submit.", "commands": [SUBMIT]},
    ],
    "wrong-fix": [
        {"thought": "Look at the statistics module.", "commands": ["cat textstats/stats.py"]},
        {
            "thought": "Average the two middle values (integer division keeps ints as ints).",
            "commands": [f"sed -i 's|return ordered\\[mid\\]$|{WRONG_LINE}|' textstats/stats.py"],
        },
        {"thought": "Submit.", "commands": [SUBMIT]},
    ],
    "gives-up": [
        {"thought": "List the repository.", "commands": ["ls -R textstats tests"]},
        {"thought": "Run the test suite to see what fails.", "commands": [TEST]},
        {"thought": "I cannot tell what the expected behaviour is; giving up without a change.", "commands": [SUBMIT]},
    ],
}
STRATEGIES = {"correct-fix": "minimal-fix", "wrong-fix": "balanced", "gives-up": "test-first"}


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Arena Demo", "-c", "user.email=demo@agent-arena.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def build_demo(sample_dir: Path) -> Path:
    """Create (or reuse) the demo repository and spec under `sample_dir`; returns the spec path."""
    repo = sample_dir / "demo-repo"
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        for name, text in REPO_FILES.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(text)
        _git("init", "--quiet", "--initial-branch=main", cwd=repo)
        _git("add", "-A", cwd=repo)
        _git("commit", "--quiet", "-m", "textstats: mean and median", cwd=repo)
    arena_dir = sample_dir / "demo-arena"
    (arena_dir / "steps").mkdir(parents=True, exist_ok=True)
    for name, steps in SCRIPTS.items():
        (arena_dir / "steps" / f"{name}.yaml").write_text(yaml.safe_dump(steps, sort_keys=False))
    spec = {
        "task": {
            "repo": "../demo-repo",
            "base": "HEAD",
            "title": "median() is wrong for sequences of even length",
            "problem_statement": PROBLEM,
            "test_command": "python3 -m unittest discover -s tests -t .",
            "fail_to_pass": ["tests/test_stats.py::StatsTest::test_median_even"],
            "pass_to_pass": [
                "tests/test_stats.py::StatsTest::test_mean",
                "tests/test_stats.py::StatsTest::test_median_odd",
            ],
        },
        "contestants": [
            {"name": name, "model": f"scripted:steps/{name}.yaml", "strategy": STRATEGIES[name]} for name in SCRIPTS
        ],
        "limits": {"max_parallel": 3, "time_budget_s": 300},
        "sandbox": {"backend": "local"},
    }
    path = arena_dir / "arena.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
