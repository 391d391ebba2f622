"""Model factory: `scripted:FILE`, `replay:TRAJ`, or any litellm model name.

The LLM call always happens here, in the host process; nothing in this module runs in a sandbox.
"""

import copy
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import yaml
from minisweagent.exceptions import InterruptAgentFlow
from minisweagent.models.test_models import DeterministicModel
from pydantic import BaseModel, ConfigDict, ValidationError

from arena.config import env_numbers
from arena.errors import SpecError
from arena.spec import ContestantSpec

V1_ACTION = re.compile(r"```(?:bash|mswea_bash_command)\s*\n(.*?)\n```", re.DOTALL)


class ScriptStep(BaseModel):
    """One scripted model turn: a thought and the commands it issues."""

    model_config = ConfigDict(extra="forbid")

    thought: str = ""
    commands: list[str]
    cost: float = 0.0
    """What this turn pretends to cost (default 0: no API is called)."""


def load_script(path: Path) -> list[ScriptStep]:
    """Steps of a scripted contestant; SpecError naming the file and the problem."""
    if not path.is_file():
        raise SpecError(f"scripted file {path} does not exist; write a YAML list of {{thought, commands}} steps there")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SpecError(f"scripted file {path} is not valid YAML: {e}") from None
    if isinstance(raw, dict) and "steps" in raw:
        raw = raw["steps"]
    if not isinstance(raw, list) or not raw:
        raise SpecError(
            f"scripted file {path} must be a non-empty YAML list of steps {{thought: str, commands: [str]}}"
        )
    try:
        return [ScriptStep.model_validate(s) for s in raw]
    except ValidationError as e:
        raise SpecError(f"scripted file {path}: {e}") from None


def load_replay(path: Path) -> list[ScriptStep]:
    """The actions of a mini-swe-agent trajectory (v1 text actions or v2 tool calls), as steps."""
    if not path.is_file():
        raise SpecError(f"replay file {path} does not exist; give a mini-swe-agent .traj.json")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SpecError(f"replay file {path} is not JSON: {e}") from None
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        raise SpecError(
            f"replay file {path} is not a mini-swe-agent trajectory (no 'messages' list); v1 and v2 are supported"
        )
    steps = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise SpecError(f"replay file {path}: messages[{i}] is not an object; is this a mini-swe-agent trajectory?")
        if m.get("role") != "assistant":
            continue
        actions = (m.get("extra") or {}).get("actions")
        if actions is not None:
            commands = [a["command"] for a in actions if isinstance(a, dict) and "command" in a]
        else:
            commands = V1_ACTION.findall(m.get("content") or "")
        text = m.get("content") if isinstance(m.get("content"), str) else ""
        steps.append(ScriptStep(thought=V1_ACTION.sub("", text or "").strip(), commands=commands))
    if not steps:
        raise SpecError(f"replay file {path} has no assistant steps to replay")
    return steps


class ScriptedModel(DeterministicModel):
    """DeterministicModel over scripted steps; ends the run cleanly when the script runs out."""

    def __init__(self, steps: list[ScriptStep], model_name: str, **kwargs: Any):
        outputs = [_output(s) for s in steps]
        super().__init__(outputs=outputs, model_name=model_name, cost_per_call=0.0, **kwargs)

    def query(self, messages: list[dict], **kwargs: Any) -> dict:
        if self.current_index + 1 >= len(self.config.outputs):
            raise InterruptAgentFlow(
                {
                    "role": "exit",
                    "content": "ScriptExhausted",
                    "extra": {"exit_status": "ScriptExhausted", "submission": ""},
                }
            )
        output = copy.deepcopy(super().query(messages, **kwargs))
        output["extra"]["timestamp"] = time.time()
        return output


def _output(step: ScriptStep) -> dict:
    commands = "".join(f"\n\n```bash\n{c}\n```" for c in step.commands)
    content = f"THOUGHT: {step.thought}{commands}" if step.thought else commands.strip()
    return {
        "role": "assistant",
        "content": content,
        "extra": {"actions": [{"command": c} for c in step.commands], "cost": step.cost},
    }


def make_model(contestant: ContestantSpec, observation: dict[str, Any], retry: "RetryPolicy") -> Any:
    """A mini-swe-agent Model for `contestant`."""
    if contestant.kind == "scripted":
        steps = load_script(contestant.model_file)
        return ScriptedModel(
            steps, model_name=contestant.model, observation_template=observation["observation_template"]
        )
    if contestant.kind == "replay":
        steps = load_replay(contestant.model_file)
        return ScriptedModel(
            steps, model_name=contestant.model, observation_template=observation["observation_template"]
        )
    from arena.agents.litellm import ArenaLitellmModel

    kwargs = dict(contestant.model_kwargs)
    api_base = contestant.api_base or os.environ.get("ARENA_API_BASE")
    api_key = None  # litellm then reads the provider's own variable (OPENAI_API_KEY, ...)
    if api_base:
        kwargs["api_base"] = api_base
        api_key = os.environ.get("ARENA_API_KEY")
        if not api_key and not os.environ.get(f"{contestant.model.split('/')[0].upper()}_API_KEY"):
            api_key = "sk-local-endpoint"  # local OpenAI-compatible servers want some key, any key
    return ArenaLitellmModel(
        model_name=contestant.model, model_kwargs=kwargs, api_key=api_key, retry=retry, **observation
    )


def check_litellm_model(model: str, api_base: str | None) -> None:
    """SpecError unless litellm knows the provider and (without an endpoint of our own) its key is set."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    try:
        litellm.get_llm_provider(model)
    except Exception:
        raise SpecError(
            f"litellm does not know the provider of '{model}'; write provider/model, e.g. openai/gpt-4.1-mini "
            "(or scripted:FILE / replay:TRAJ)"
        ) from None
    if api_base or os.environ.get("ARENA_API_BASE"):
        return
    missing = litellm.validate_environment(model).get("missing_keys") or []
    if missing:
        raise SpecError(
            f"{', '.join(missing)} is not set for '{model}'; export it, or give api_base for an OpenAI-compatible server"
        )


class RetryPolicy(BaseModel):
    """How the host retries a failed model call (rate limits, 5xx, timeouts)."""

    attempts: int = 5
    wait_min_s: float = 2.0
    wait_max_s: float = 30.0
    timeout_s: float = 120.0
    """Per HTTP request."""

    @classmethod
    def from_env(cls) -> "RetryPolicy":
        """ARENA_MODEL_RETRIES, ARENA_MODEL_RETRY_WAIT_S, ARENA_MODEL_TIMEOUT_S override the defaults."""
        values = env_numbers({"ARENA_MODEL_RETRIES": "attempts"}, int)
        values |= env_numbers({"ARENA_MODEL_RETRY_WAIT_S": "wait_min_s", "ARENA_MODEL_TIMEOUT_S": "timeout_s"})
        return cls(**values)
