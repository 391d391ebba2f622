"""One schema for every trajectory format: a Trajectory of Steps."""

from dataclasses import dataclass, field

from arena.errors import UserError


class TrajectoryError(UserError):
    """A trajectory that cannot be read: bad JSON or a format this loader does not know."""


@dataclass(slots=True)
class Step:
    """One agent turn: what the model said, the commands it issued and what they printed."""

    index: int
    thought: str = ""
    """The model's text without the action fences and THOUGHT: label (its reasoning when the text is empty)."""
    actions: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    """Same order as `actions`; shorter when a command was not executed (e.g. the submit)."""
    returncodes: list[int | None] = field(default_factory=list)
    cost: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    timestamp: float | None = None
    """Epoch seconds of the model response."""
    duration_s: float | None = None
    """Command time where recorded, else time to the next step."""
    notes: list[str] = field(default_factory=list)
    """Feedback that is not a command output: format errors, timeouts, truncation."""

    def text(self) -> str:
        """Everything searchable in this step, lower-cased."""
        return "\n".join([self.thought, *self.actions, *self.outputs, *self.notes]).lower()


@dataclass(slots=True)
class Trajectory:
    """A run of one agent, normalized across formats."""

    format: str
    steps: list[Step] = field(default_factory=list)
    model: str | None = None
    instance_id: str | None = None
    exit_status: str | None = None
    submission: str | None = None
    total_cost: float | None = None
    """As the file records it (info.model_stats.instance_cost etc.), not recomputed."""
    api_calls: int | None = None
    task: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    source: str | None = None
    """The file it came from, when loaded from a path."""
