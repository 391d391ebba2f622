"""A mini-swe-agent Environment whose commands run in an arena Sandbox."""

import platform
import time
from typing import Any

from minisweagent.exceptions import Submitted, TimeExceeded
from pydantic import BaseModel

from arena.protocols import Sandbox

SUBMIT_MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


class SandboxEnvironmentConfig(BaseModel):
    cwd: str
    backend: str
    timeout: int


class SandboxEnvironment:
    """execute() runs the command in the sandbox; the submit marker ends the run (mini-swe-agent's contract)."""

    def __init__(self, sandbox: Sandbox, backend: str, timeout: int, deadline: float | None = None):
        self.sandbox = sandbox
        self.config = SandboxEnvironmentConfig(cwd=sandbox.workdir, backend=backend, timeout=timeout)
        self.deadline = deadline
        """time.monotonic() at which the contestant's wall time runs out (ContestantAgent sets it); None: no limit."""

    def execute(self, action: dict, cwd: str = "", *, timeout: int | None = None) -> dict[str, Any]:
        limit: float = timeout or self.config.timeout
        if self.deadline is not None:
            # DefaultAgent checks its wall time only between steps; a command must not outlive it either.
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise _time_exceeded("the wall time ran out before this command could start")
            limit = min(limit, remaining)
        result = self.sandbox.execute(action.get("command", ""), timeout=limit)
        if result.timed_out and self.deadline is not None and time.monotonic() >= self.deadline - 0.05:
            raise _time_exceeded(
                f"the wall time ran out while this command ran; it was killed after {result.duration_s:g} s",
                result.output,
            )
        output = {
            "output": result.output,
            "returncode": result.returncode,
            "exception_info": result.exception_info,
            "extra": {"duration_s": result.duration_s, "truncated_bytes": result.truncated_bytes},
        }
        if result.timed_out:
            output["extra"]["exception_type"] = "CommandTimeout"
        lines = result.output.lstrip().splitlines(keepends=True)
        if lines and lines[0].strip() == SUBMIT_MARKER and result.returncode == 0:
            submission = "".join(lines[1:])
            raise Submitted(
                {"role": "exit", "content": submission, "extra": {"exit_status": "Submitted", "submission": submission}}
            )
        return output

    def get_template_vars(self, **kwargs: Any) -> dict[str, Any]:
        # Not os.environ (LocalEnvironment merges it): host secrets must never reach a prompt.
        return self.config.model_dump() | platform.uname()._asdict() | kwargs

    def serialize(self) -> dict:
        return {
            "info": {
                "config": {
                    "environment": self.config.model_dump(mode="json"),
                    "environment_type": f"{self.__class__.__module__}.{self.__class__.__name__}",
                }
            }
        }


def _time_exceeded(why: str, output: str = "") -> TimeExceeded:
    """mini-swe-agent's own wall-time exit (the status DefaultAgent gives when it notices between steps)."""
    extra = {"exit_status": "TimeExceeded", "submission": "", "reason": why, "output": output[-10_000:]}
    return TimeExceeded({"role": "exit", "content": "TimeExceeded", "extra": extra})
