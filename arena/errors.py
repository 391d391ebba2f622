"""One exception hierarchy for Agent Arena.

    ArenaError                      base; `exit_code` is what the CLI returns
    ├── UserError                   bad input: the message names what was wrong and what to do (exit 2)
    │   ├── SpecError               an arena spec that does not validate
    │   ├── NotFound                an arena / contestant id that does not exist
    │   └── TrajectoryError         a trajectory file in no format the loader knows (arena.trajectory)
    ├── SandboxUnavailable          a sandbox backend cannot run here (e.g. bubblewrap missing) (exit 2)
    ├── SetupFailed                 the task's setup_command failed; carries the log
    ├── JudgeError                  the task cannot be judged as given (arena.judging.judge)
    └── SandboxError                a sandbox could not be provisioned or used (exit 1)

A failed *command* inside a sandbox is data (return code, output), never an exception.
"""


class ArenaError(Exception):
    """Base class; the CLI maps it to `exit_code`."""

    exit_code = 1


class UserError(ArenaError):
    """Bad input. The message says what was wrong and what to do."""

    exit_code = 2


class SpecError(UserError):
    """An arena spec that does not validate."""


class NotFound(UserError):
    """An id that does not exist."""


class SandboxUnavailable(UserError):
    """A sandbox backend cannot run on this machine; the message says how to fix it."""


class SandboxError(ArenaError):
    """A sandbox could not be provisioned or used."""


class SetupFailed(ArenaError):
    """The task's setup_command failed; `log` holds its output."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log
