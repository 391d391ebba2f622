"""Model factory: `scripted:FILE`, `replay:TRAJ`, or any litellm model name.

The LLM call always happens here, in the host process; nothing in this module runs in a sandbox. Where a litellm
call goes, with which key, and how it is retried is arena/llm.py, shared with the judge's reviewer.
"""

import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import yaml
from minisweagent.exceptions import InterruptAgentFlow
from minisweagent.models.test_models import DeterministicModel
from pydantic import BaseModel, ConfigDict, ValidationError

from arena.errors import SpecError
from arena.llm import ENDPOINT_KWARGS, RetryPolicy, endpoint_and_key
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


def make_model(contestant: ContestantSpec, observation: dict[str, Any], retry: RetryPolicy) -> Any:
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

    api_base, api_key = endpoint_and_key(contestant.model, contestant.api_base, contestant.api_key_env)
    kwargs = dict(contestant.model_kwargs) | ({"api_base": api_base, **ENDPOINT_KWARGS} if api_base else {})
    return ArenaLitellmModel(
        model_name=contestant.model, model_kwargs=kwargs, api_key=api_key, retry=retry, **observation
    )
