"""What a contestant's files hold: scripted steps, a replay trajectory's steps, a strategy's definition.

Floor 1, beside spec.py and identity.py: a launched arena's spec embeds these (so it runs where the files do
not exist) and an agent's identity hashes them, so reading them cannot depend on the agents package.
"""

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from arena.errors import SpecError

BUILTIN_STRATEGIES = ("minimal-fix", "test-first", "balanced")
MODEL_SCHEMES = ("scripted", "replay")
STRATEGY_DIR = Path(__file__).parent / "agents" / "strategies"
V1_ACTION = re.compile(r"```(?:bash|mswea_bash_command)\s*\n(.*?)\n```", re.DOTALL)


class ScriptStep(BaseModel):
    """One scripted model turn: a thought and the commands it issues."""

    model_config = ConfigDict(extra="forbid")

    thought: str = ""
    commands: list[str]
    cost: float = 0.0
    """What this turn pretends to cost (default 0: no API is called)."""


class Strategy(BaseModel):
    """A strategy YAML: a persona and instructions on top of mini-swe-agent's templates (README: Strategies)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    persona: str = ""
    instructions: str = ""
    agent: dict[str, Any] = {}
    model: dict[str, Any] = {}


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


def load_steps(kind: str, path: Path) -> list[ScriptStep]:
    """The steps a `scripted:` or `replay:` file plays."""
    return load_script(path) if kind == "scripted" else load_replay(path)


def is_strategy_file(strategy: str) -> bool:
    """A strategy that is not built in and looks like a path names a strategy YAML."""
    return strategy not in BUILTIN_STRATEGIES and (strategy.endswith((".yaml", ".yml")) or "/" in strategy)


def load_strategy(name_or_path: str) -> Strategy:
    """A built-in strategy by name, or a strategy YAML by path; SpecError if it cannot be used."""
    path = STRATEGY_DIR / f"{name_or_path}.yaml" if name_or_path in BUILTIN_STRATEGIES else Path(name_or_path)
    if not path.is_file():
        raise SpecError(
            f"strategy '{name_or_path}' is neither built in ({', '.join(BUILTIN_STRATEGIES)}) nor an existing YAML file; "
            "use a built-in name or the path of a strategy YAML (see README: Strategies)"
        )
    try:
        return Strategy.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as e:
        raise SpecError(f"strategy file {path} is not valid: {e}") from None
