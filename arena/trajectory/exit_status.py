"""Why a run ended, in one small vocabulary, from the exit status any agent format records.

Each tool records its own raw value: mini-swe-agent and our runner the name of the exception that ended the run
(`Submitted`, `LimitsExceeded`, `RateLimitError`), SWE-agent a lower-case tag (`submitted`, `exit_cost`, and
`submitted (exit_cost)` when it handed in the work after hitting the limit), OpenHands the agent's last state
(`finished`, `error`, `stopped`). `exit_kind` maps each to an ExitKind, so "Submitted", "submitted" and "finished"
are one bar in a plot. It never replaces the raw value: keep both (the raw one says which tool and exception).

    kind             raw values (case does not matter)
    submitted        Submitted (mini-swe-agent, ours), submitted (SWE-agent), finished (OpenHands)
    gave_up          ScriptExhausted (ours), exit_forfeit, exit_command (SWE-agent), rejected, awaiting_user_input
    limits_exceeded  LimitsExceeded, ContextWindowExceededError, BudgetExceededError, exit_cost, exit_context
    timeout          TimeExceeded, ExecutionTimeoutError, TimedOut (ours), exit_total_execution_time,
                     exit_command_timeout
    format_error     FormatError, RepeatedFormatError, exit_format
    api_error        RateLimitError, APIError, APIConnectionError, Timeout, ... (PROVIDER_ERRORS), a name ending in
                     RateLimitError, APIError or AuthenticationError (OpenRouterRateLimitError), exit_api, rate_limited
    error            exit_error, exit_environment_error, early_exit, error (OpenHands), any other name ending in
                     Error or Exception (SandboxError, RuntimeError)
    cancelled        Cancelled, Stopped (ours), UserInterruption, KeyboardInterrupt, stopped, user_rejected
    unknown          nothing recorded (a run still going), Unknown (ours), anything else (OpenHands' running, paused)

SWE-agent's `submitted (REASON)` is the kind of REASON: the agent did not finish, the harness handed in its work.
"""

import re
from enum import StrEnum


class ExitKind(StrEnum):
    """Why a run ended; MEANINGS says what each kind covers."""

    SUBMITTED = "submitted"
    GAVE_UP = "gave_up"
    LIMITS_EXCEEDED = "limits_exceeded"
    TIMEOUT = "timeout"
    FORMAT_ERROR = "format_error"
    API_ERROR = "api_error"
    ERROR = "error"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


MEANINGS: dict[ExitKind, str] = {
    ExitKind.SUBMITTED: "the agent said it was done and handed in its work",
    ExitKind.GAVE_UP: "the agent ended by itself without submitting: it forfeited, refused, or its script ran out",
    ExitKind.LIMITS_EXCEEDED: "a step, cost or context-window budget ran out",
    ExitKind.TIMEOUT: "a wall-clock limit ran out: the agent's, the arena's time budget, or commands that kept hanging",
    ExitKind.FORMAT_ERROR: "the model kept answering in a form the agent could not parse",
    ExitKind.API_ERROR: "the model provider failed: rate limit, connection, authentication, server error",
    ExitKind.ERROR: "something else crashed: the sandbox, the agent or the harness",
    ExitKind.CANCELLED: "stopped from outside: a person or the harness cancelled it",
    ExitKind.UNKNOWN: "no exit status recorded (a run still going), or one this module does not know",
}

# openai's and litellm's exception names: what mini-swe-agent's batch runners and our runner record when a model call
# fails for good (`type(e).__name__`).
PROVIDER_ERRORS = (
    "RateLimitError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "APIStatusError",
    "APIResponseValidationError",
    "Timeout",
    "ServiceUnavailableError",
    "BadGatewayError",
    "InternalServerError",
    "AuthenticationError",
    "PermissionDeniedError",
    "PaymentRequiredError",
    "NotFoundError",
    "BadRequestError",
    "UnprocessableEntityError",
    "ContentPolicyViolationError",
    "RejectedRequestError",
    "OpenAIError",
)

RAW_KINDS: dict[str, ExitKind] = {
    # mini-swe-agent v1 and v2 (exception names in info.exit_status) and our runner (arena/agents, orchestrator).
    "Submitted": ExitKind.SUBMITTED,
    "LimitsExceeded": ExitKind.LIMITS_EXCEEDED,
    "TimeExceeded": ExitKind.TIMEOUT,
    "ExecutionTimeoutError": ExitKind.TIMEOUT,
    "FormatError": ExitKind.FORMAT_ERROR,
    "RepeatedFormatError": ExitKind.FORMAT_ERROR,
    "UserInterruption": ExitKind.CANCELLED,
    "KeyboardInterrupt": ExitKind.CANCELLED,
    "ContextWindowExceededError": ExitKind.LIMITS_EXCEEDED,
    "BudgetExceededError": ExitKind.LIMITS_EXCEEDED,
    "CostLimitExceededError": ExitKind.LIMITS_EXCEEDED,
    "ScriptExhausted": ExitKind.GAVE_UP,
    "Cancelled": ExitKind.CANCELLED,
    "TimedOut": ExitKind.TIMEOUT,
    "Stopped": ExitKind.CANCELLED,
    "Unknown": ExitKind.UNKNOWN,
    **dict.fromkeys(PROVIDER_ERRORS, ExitKind.API_ERROR),
    # SWE-agent (sweagent/agent/agents.py; early_exit from 0.x).
    "exit_cost": ExitKind.LIMITS_EXCEEDED,
    "exit_context": ExitKind.LIMITS_EXCEEDED,
    "exit_total_execution_time": ExitKind.TIMEOUT,
    "exit_command_timeout": ExitKind.TIMEOUT,
    "exit_format": ExitKind.FORMAT_ERROR,
    "exit_api": ExitKind.API_ERROR,
    "exit_error": ExitKind.ERROR,
    "exit_environment_error": ExitKind.ERROR,
    "early_exit": ExitKind.ERROR,
    "exit_forfeit": ExitKind.GAVE_UP,
    "exit_command": ExitKind.GAVE_UP,
    # OpenHands agent states (the last agent_state_changed); `finished` also when the run ends on a finish action.
    "finished": ExitKind.SUBMITTED,
    "rejected": ExitKind.GAVE_UP,
    "awaiting_user_input": ExitKind.GAVE_UP,  # ended its turn asking the user instead of finishing
    "error": ExitKind.ERROR,
    "rate_limited": ExitKind.API_ERROR,
    "stopped": ExitKind.CANCELLED,
    "user_rejected": ExitKind.CANCELLED,
}
"""Raw exit status -> kind; looked up case-insensitively (`Submitted` and `submitted` are one)."""

_BY_LOWER = {raw.lower(): kind for raw, kind in RAW_KINDS.items()}
_AUTOSUBMITTED = re.compile(r"submitted \((.+)\)")
# mini-swe-agent's own provider models name theirs OpenRouterRateLimitError, RequestyAPIError, ...; a wider suffix rule
# would catch Python's own (FileNotFoundError ends in NotFoundError).
_PROVIDER_SUFFIXES = ("ratelimiterror", "apierror", "authenticationerror")


def exit_kind(raw: str | None) -> ExitKind:
    """The kind of a raw exit status from any trajectory format or our own rows (table: module docstring).

    Args:
        raw: the exit status as recorded (`Trajectory.exit_status`, a contestant's or imported run's `exit_status`).

    Returns:
        Its ExitKind; ExitKind.UNKNOWN for None, blank or a value no rule knows.
    """
    key = (raw or "").strip().lower()
    if key in _BY_LOWER:
        return _BY_LOWER[key]
    if match := _AUTOSUBMITTED.fullmatch(key):
        return exit_kind(match.group(1))
    if key.endswith(_PROVIDER_SUFFIXES):
        return ExitKind.API_ERROR
    if key.endswith(("error", "exception")):
        return ExitKind.ERROR
    return ExitKind.UNKNOWN
