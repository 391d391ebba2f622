"""Model factory: `scripted:FILE`, `replay:TRAJ`, or any litellm model name.

The LLM call always happens here, in the host process; nothing in this module runs in a sandbox. Where a litellm
call goes, with which key, and how it is retried is arena/llm.py, shared with the judge's reviewer.
"""

import copy
import time
from typing import Any

from minisweagent.exceptions import InterruptAgentFlow
from minisweagent.models.test_models import DeterministicModel

from arena.agentfiles import V1_ACTION as V1_ACTION  # the readers live low (arena/agentfiles.py); found here too
from arena.agentfiles import ScriptStep
from arena.agentfiles import load_replay as load_replay
from arena.agentfiles import load_script as load_script
from arena.identity import model_identity
from arena.llm import ENDPOINT_KWARGS, RetryPolicy, endpoint_and_key, provider_of
from arena.spec import ContestantSpec


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


def make_model(
    contestant: ContestantSpec, observation: dict[str, Any], retry: RetryPolicy, gateway: tuple[Any, str] | None = None
) -> Any:
    """A mini-swe-agent Model for `contestant`.

    `gateway`: (the host's Gateway, this contestant's virtual key): the model's calls go through the gateway,
    which holds the real key and meters them (arena/gateway); without it litellm calls the endpoint directly.
    """
    if contestant.kind in ("scripted", "replay"):
        steps = contestant.read_steps()  # embedded in a launched arena's spec; read from the file otherwise
        return ScriptedModel(
            steps,
            model_name=model_identity(contestant.model, steps),
            observation_template=observation["observation_template"],
        )
    from arena.agents.litellm import ArenaLitellmModel

    if gateway is not None:
        server, key = gateway
        anthropic = provider_of(contestant.model) == "anthropic"  # litellm adds /v1/messages itself
        api_base, api_key = (server.url if anthropic else f"{server.url}/v1"), key
    else:
        api_base, api_key = endpoint_and_key(contestant.model, contestant.api_base, contestant.api_key_env)
    kwargs = dict(contestant.model_kwargs) | ({"api_base": api_base, **ENDPOINT_KWARGS} if api_base else {})
    return ArenaLitellmModel(
        model_name=contestant.model,
        model_kwargs=kwargs,
        api_key=api_key,
        retry=retry,
        gateway=gateway is not None,
        **observation,
    )
