"""Strategies: named prompt personas layered on mini-swe-agent's own templates (config/mini.yaml).

A strategy YAML has `name`, `description`, `persona` (added to the system message) and
`instructions` (added to the task message); optional `agent:` / `model:` mappings override
mini-swe-agent's config keys directly (e.g. a whole `instance_template`).
"""

from functools import cache
from typing import Any

import yaml
from minisweagent.config import builtin_config_dir

from arena.agentfiles import STRATEGY_DIR as STRATEGY_DIR  # strategy files are read low (arena/agentfiles.py)
from arena.agentfiles import Strategy
from arena.agentfiles import load_strategy as load_strategy


@cache
def _mini_config() -> dict[str, Any]:
    return yaml.safe_load((builtin_config_dir / "mini.yaml").read_text())


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
