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

from arena.config import env_numbers, setting
from arena.errors import SpecError
from arena.spec import ContestantSpec

# Providers whose only credential litellm sends is the api_key argument, which we always pass for a
# custom endpoint. Others (bedrock, vertex_ai, azure, ...) would sign with cloud credentials from the
# environment, so they never go to a custom endpoint.
CUSTOM_ENDPOINT_PROVIDERS = (
    "openai",
    "text-completion-openai",
    "custom_openai",
    "hosted_vllm",
    "lm_studio",
    "llamafile",
    "ollama",
    "ollama_chat",
    "litellm_proxy",
    "anthropic",
)
# The OpenAI SDK adds the operator's organization and project (OPENAI_ORG_ID, OPENAI_PROJECT_ID, ...) from
# the environment to every request; a custom endpoint gets them blank.
ENDPOINT_KWARGS = {"extra_headers": {"OpenAI-Organization": "", "OpenAI-Project": ""}}
NO_KEY = "sk-local-endpoint"
"""Sent to a custom endpoint when no key is configured: local servers ignore it; it is no one's secret."""
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

    api_base, api_key = endpoint_and_key(contestant.model, contestant.api_base, contestant.api_key_env)
    kwargs = dict(contestant.model_kwargs) | ({"api_base": api_base, **ENDPOINT_KWARGS} if api_base else {})
    return ArenaLitellmModel(
        model_name=contestant.model, model_kwargs=kwargs, api_key=api_key, retry=retry, **observation
    )


def endpoint_and_key(model: str, api_base: str | None, api_key_env: str | None) -> tuple[str | None, str | None]:
    """(api_base, api_key) for a litellm call; SpecError if the spec's key variable is unset.

    Without a custom endpoint both are None: litellm sends the provider's own key (OPENAI_API_KEY, ...)
    to that provider's endpoint. A custom endpoint gets the variable the spec names; ARENA_API_KEY goes
    only to the operator's own ARENA_API_BASE (a spec naming another endpoint must not collect it);
    else a placeholder (the OpenAI SDK wants some key), never a provider key: passing api_key
    explicitly is what stops litellm from falling back to the provider's variable.
    """
    base = api_base or setting("ARENA_API_BASE")
    if not base:
        if api_key_env:
            raise SpecError(
                f"api_key_env: {api_key_env} names the key for a custom endpoint, but there is none; "
                "give api_base: (or set ARENA_API_BASE), or remove api_key_env"
            )
        return None, None
    provider = _provider(model)
    if provider not in CUSTOM_ENDPOINT_PROVIDERS:
        raise SpecError(
            f"'{model}' cannot use a custom api_base ({base}): litellm would authenticate to it with "
            f"{provider} credentials from this host's environment; write openai/<model> for an OpenAI-compatible "
            f"endpoint (custom endpoints work with {', '.join(CUSTOM_ENDPOINT_PROVIDERS)})"
        )
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise SpecError(
                f"api_key_env: {api_key_env} is not set; export {api_key_env}=<the key for {base}>, "
                "or remove api_key_env to call it without a key"
            )
        return base, key
    operators = setting("ARENA_API_BASE")
    if operators and base.rstrip("/") == operators.rstrip("/"):
        return base, setting("ARENA_API_KEY") or NO_KEY
    return base, NO_KEY


def check_litellm_model(model: str, api_base: str | None, api_key_env: str | None = None) -> None:
    """SpecError unless litellm knows the provider and its key is there (the spec's, or the provider's own)."""
    _provider(model)
    if endpoint_and_key(model, api_base, api_key_env)[0]:
        return
    import litellm

    missing = litellm.validate_environment(model).get("missing_keys") or []
    if missing:
        raise SpecError(
            f"{', '.join(missing)} is not set for '{model}'; export it, or give api_base for an OpenAI-compatible server"
        )


def _provider(model: str) -> str:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    try:
        return litellm.get_llm_provider(model)[1]
    except Exception:
        raise SpecError(
            f"litellm does not know the provider of '{model}'; write provider/model, e.g. openai/gpt-4.1-mini "
            "(or scripted:FILE / replay:TRAJ)"
        ) from None


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
