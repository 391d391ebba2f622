"""exit_kind over the exit statuses real trajectories record, the ones our runner writes, and SWE-agent's tags."""

import litellm.exceptions
import minisweagent.exceptions
import openai
import pytest

from arena.agents.runner import STOP_EXIT_STATUS
from arena.analytics import shared_trajectories
from arena.analytics.steps import trajectory_files
from arena.trajectory import FORMATS, TrajectoryError, load_trajectory
from arena.trajectory import exit_status as module
from arena.trajectory.exit_status import MEANINGS, PROVIDER_ERRORS, RAW_KINDS, ExitKind, exit_kind


def test_every_raw_value_in_the_shared_trajectories_has_its_kind():
    """The shared data (else the tests' copy) holds every format; "Submitted", "submitted" and "finished" are one."""
    seen: dict[str, set[str]] = {}
    for path in trajectory_files([shared_trajectories()]):
        try:
            traj = load_trajectory(path)
        except TrajectoryError:
            continue  # results/*.report.json: SWE-bench reports, not trajectories
        seen.setdefault(traj.format, set()).add(traj.exit_status)
    assert set(seen) == set(FORMATS)
    assert {raw: exit_kind(raw) for raws in seen.values() for raw in raws} == {
        "Submitted": ExitKind.SUBMITTED,  # mini-swe-agent v1, v2 and the mini-like custom agent
        "RateLimitError": ExitKind.API_ERROR,  # the v2 run that died on a rate limit
        "submitted": ExitKind.SUBMITTED,  # SWE-agent
        "finished": ExitKind.SUBMITTED,  # OpenHands
    }


def test_mini_swe_agent_exceptions_each_have_a_kind():
    """A new exception in mini-swe-agent (a new exit status) fails here until it is given a kind."""
    names = {
        cls.__name__
        for cls in vars(minisweagent.exceptions).values()
        if isinstance(cls, type) and issubclass(cls, minisweagent.exceptions.InterruptAgentFlow)
    } - {"InterruptAgentFlow"}
    assert {name: exit_kind(name) for name in names} == {
        "Submitted": ExitKind.SUBMITTED,
        "LimitsExceeded": ExitKind.LIMITS_EXCEEDED,
        "TimeExceeded": ExitKind.TIMEOUT,
        "UserInterruption": ExitKind.CANCELLED,
        "FormatError": ExitKind.FORMAT_ERROR,
    }


def test_our_runner_statuses():
    assert {raw: exit_kind(raw) for raw in STOP_EXIT_STATUS.values()} == {
        "Cancelled": ExitKind.CANCELLED,
        "TimedOut": ExitKind.TIMEOUT,
    }
    assert exit_kind("ScriptExhausted") == ExitKind.GAVE_UP  # a scripted contestant whose steps ran out
    assert exit_kind("Stopped") == ExitKind.CANCELLED
    assert exit_kind("Unknown") == ExitKind.UNKNOWN
    assert exit_kind("SandboxError") == ExitKind.ERROR  # a crash: the orchestrator records type(e).__name__


def test_provider_errors_are_real_exception_names():
    """Names copied from openai and litellm, not guessed: each is a class of one of them."""
    assert [n for n in PROVIDER_ERRORS if not hasattr(litellm.exceptions, n) and not hasattr(openai, n)] == []
    assert {exit_kind(n) for n in PROVIDER_ERRORS} == {ExitKind.API_ERROR}
    assert exit_kind("ContextWindowExceededError") == ExitKind.LIMITS_EXCEEDED  # a BadRequestError, but a budget


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("exit_cost", ExitKind.LIMITS_EXCEEDED),
        ("exit_context", ExitKind.LIMITS_EXCEEDED),
        ("submitted (exit_cost)", ExitKind.LIMITS_EXCEEDED),  # autosubmitted after the limit: not the agent's choice
        ("submitted (exit_format)", ExitKind.FORMAT_ERROR),
        ("submitted (exit_total_execution_time)", ExitKind.TIMEOUT),
        ("submitted (exit_api)", ExitKind.API_ERROR),
        ("submitted (exit_environment_error)", ExitKind.ERROR),
        ("exit_forfeit", ExitKind.GAVE_UP),
        ("exit_command", ExitKind.GAVE_UP),
        ("early_exit", ExitKind.ERROR),
        ("submitted (something new)", ExitKind.UNKNOWN),
    ],
)
def test_swe_agent_tags(raw: str, kind: ExitKind):
    assert exit_kind(raw) == kind


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("finished", ExitKind.SUBMITTED),
        ("rejected", ExitKind.GAVE_UP),
        ("awaiting_user_input", ExitKind.GAVE_UP),
        ("error", ExitKind.ERROR),
        ("rate_limited", ExitKind.API_ERROR),
        ("stopped", ExitKind.CANCELLED),
        ("running", ExitKind.UNKNOWN),  # not an ending: a trajectory read while the agent works
    ],
)
def test_openhands_states(raw: str, kind: ExitKind):
    assert exit_kind(raw) == kind


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (None, ExitKind.UNKNOWN),
        ("", ExitKind.UNKNOWN),
        ("  ", ExitKind.UNKNOWN),
        (" SUBMITTED ", ExitKind.SUBMITTED),
        ("OpenRouterRateLimitError", ExitKind.API_ERROR),  # mini-swe-agent's own provider classes
        ("RequestyAPIError", ExitKind.API_ERROR),
        ("FileNotFoundError", ExitKind.ERROR),  # ends in NotFoundError, but Python's own
        ("ValueError", ExitKind.ERROR),
        ("SomeNewException", ExitKind.ERROR),
        ("whatever", ExitKind.UNKNOWN),
    ],
)
def test_anything_else(raw: str | None, kind: ExitKind):
    assert exit_kind(raw) == kind


def test_the_vocabulary_is_documented():
    assert set(MEANINGS) == set(ExitKind)
    table = module.__doc__.split("    kind ", 1)[1].split("\n\n", 1)[0]  # the table in the module docstring
    assert [line.split()[0] for line in table.splitlines()[1:] if line[4:5].strip()] == list(ExitKind)
    assert set(RAW_KINDS.values()) == set(ExitKind)
    assert [raw for raw, kind in RAW_KINDS.items() if exit_kind(raw) != kind] == []  # no two differ only in case
