"""The contestant's agent: mini-swe-agent's DefaultAgent, saving atomically after every step and stoppable."""

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minisweagent.agents.default import DefaultAgent
from minisweagent.exceptions import InterruptAgentFlow

from arena.trajectory import write_json_atomic

STOP_EXIT_STATUS = {"cancelled": "Cancelled", "timed_out": "TimedOut"}


class StopSignal:
    """Set from another thread (cancel, arena time budget); the agent stops at its next step boundary."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._event = threading.Event()

    def stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self._event.set()

    def sleep(self, seconds: float) -> None:
        """Sleep that a stop cuts short (retry back-offs)."""
        self._event.wait(seconds)


class ContestantAgent(DefaultAgent):
    """DefaultAgent plus: our own atomic trajectory file, per-step callback, token counts, stop checks."""

    def __init__(
        self,
        model: Any,
        env: Any,
        *,
        trajectory_path: Path,
        stop: StopSignal,
        on_step: Callable[["ContestantAgent"], None],
        arena_info: dict[str, Any],
        keep: Callable[[int, list[dict], dict], None] | None = None,
        meter: Callable[[], Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(model, env, **kwargs)
        if self.config.wall_time_limit_seconds > 0 and hasattr(env, "deadline"):
            # The environment ends a running command at the deadline too (DefaultAgent checks between steps).
            env.deadline = time.monotonic() + self.config.wall_time_limit_seconds
        if hasattr(model, "stop_signal"):  # lets a cancel or the time budget end the model's retries
            model.stop_signal = stop
        self.trajectory_path = trajectory_path
        self.stop = stop
        self.on_step = on_step
        self.keep = keep
        """Called after every step with (index of the first new message, the new messages, the rest of the file):
        the shared store keeps the trajectory for machines that do not have this file (arena/artifacts.py)."""
        self._kept = 0
        self.meter = meter
        """The gateway's usage of this contestant (arena/gateway), when its calls go through it: cost and tokens are
        then the gateway's meter, the same for every runner, and the cost limit applies to that."""
        self.arena_info = arena_info
        self.tokens_in = 0
        self.tokens_out = 0

    def query(self) -> dict:
        self._check_stop()
        try:
            message = super().query()
        except InterruptAgentFlow:
            raise  # limits (checked before counting), format errors, a finished script: counted as DefaultAgent does
        except Exception:
            self.n_calls -= 1  # DefaultAgent counts a call before making it: one that got no reply is no step
            raise
        extra = message.get("extra", {})
        if self.meter is not None:
            usage = self.meter()
            extra["cost"] = usage.cost - (self.cost - extra.get("cost", 0.0))  # this call's, as the gateway metered it
            self.cost, self.tokens_in, self.tokens_out = usage.cost, usage.tokens_in, usage.tokens_out
            return message
        self.tokens_in += int(extra.get("prompt_tokens", 0))
        self.tokens_out += int(extra.get("completion_tokens", 0))
        return message

    def execute_actions(self, message: dict) -> list[dict]:
        observations = super().execute_actions(message)
        self._check_stop()
        return observations

    def _check_stop(self) -> None:
        if self.stop.reason:
            status = STOP_EXIT_STATUS[self.stop.reason]
            raise InterruptAgentFlow(
                {"role": "exit", "content": status, "extra": {"exit_status": status, "submission": ""}}
            )

    def save(self, path: Path | None, *extra_dicts: dict) -> dict:
        """Called by DefaultAgent after every step: write the trajectory (temp + rename), then report."""
        stats = {
            "info": {
                "arena": self.arena_info,
                "model_stats": {"tokens_in": self.tokens_in, "tokens_out": self.tokens_out},
            }
        }
        data = self.serialize(stats, *extra_dicts)
        write_json_atomic(self.trajectory_path, data)
        if self.keep is not None:
            messages = data.get("messages", [])
            self.keep(self._kept, messages[self._kept :], {k: v for k, v in data.items() if k != "messages"})
            self._kept = len(messages)
        self.on_step(self)
        return data
