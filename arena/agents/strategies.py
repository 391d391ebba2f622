"""Strategies: named prompt personas layered on mini-swe-agent's own templates (config/mini.yaml).

A strategy YAML has `name`, `description`, `persona` (added to the system message) and
`instructions` (added to the task message); optional `agent:` / `model:` mappings override
mini-swe-agent's config keys directly (e.g. a whole `instance_template`).
"""

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from minisweagent.config import builtin_config_dir
from pydantic import BaseModel, ConfigDict, ValidationError

from arena.errors import SpecError
from arena.spec import BUILTIN_STRATEGIES

STRATEGY_DIR = Path(__file__).parent / "strategies"


class Strategy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    persona: str = ""
    instructions: str = ""
    agent: dict[str, Any] = {}
    model: dict[str, Any] = {}


@cache
def _mini_config() -> dict[str, Any]:
    return yaml.safe_load((builtin_config_dir / "mini.yaml").read_text())


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


def agent_config(strategy: Strategy) -> dict[str, Any]:
    """mini-swe-agent AgentConfig kwargs: mini.yaml's templates with the persona and instructions added."""
    base = _mini_config()["agent"]
    config = {
        "system_template": base["system_template"].rstrip() + ("\n\n" + strategy.persona if strategy.persona else ""),
        "instance_template": base["instance_template"].rstrip()
        + ("\n\n" + strategy.instructions if strategy.instructions else "")
        + "\n",
    }
    return config | strategy.agent


def model_config(strategy: Strategy) -> dict[str, Any]:
    """Observation / format-error templates from mini.yaml, with the strategy's overrides."""
    base = _mini_config()["model"]
    keys = ("observation_template", "format_error_template")
    return {k: base[k] for k in keys if k in base} | strategy.model
