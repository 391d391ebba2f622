"""A mini-swe-agent Environment whose commands run in an arena Sandbox."""

import platform
from typing import Any

from minisweagent.exceptions import Submitted
from pydantic import BaseModel

from arena.protocols import Sandbox

SUBMIT_MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


class SandboxEnvironmentConfig(BaseModel):
    cwd: str
    backend: str
    timeout: int


class SandboxEnvironment:
    """execute() runs the command in the sandbox; the submit marker ends the run (mini-swe-agent's contract)."""

    def __init__(self, sandbox: Sandbox, backend: str, timeout: int):
        self.sandbox = sandbox
        self.config = SandboxEnvironmentConfig(cwd=sandbox.workdir, backend=backend, timeout=timeout)

    def execute(self, action: dict, cwd: str = "", *, timeout: int | None = None) -> dict[str, Any]:
        result = self.sandbox.execute(action.get("command", ""), timeout=timeout or self.config.timeout)
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
