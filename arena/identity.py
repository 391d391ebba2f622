"""An agent's identity: the one name the ledger, leaderboards, the CLI, the app and branches give a contestant.

    [RUNNER/]MODEL+STRATEGY
      RUNNER    a CLI runner, when not mini-swe-agent         claude-code/anthropic/claude-sonnet-4-5+balanced
                (mini-swe-agent, the default, writes no prefix: identities from before runners keep their name)
      MODEL     a litellm model exactly as written            openai/gpt-4.1-mini
                a scripted or replay file                     scripted:correct-fix.yaml@1a2b3c4d
                  the file's name (never its path) @ a hash of the steps it plays
      STRATEGY  a built-in strategy                           minimal-fix
                a strategy YAML                               careful.yaml@5e6f7a8b
                  the file's name @ a hash of its definition
    with `agent: NAME` on the contestant                      NAME+minimal-fix
    with `agent: NAME+LABEL`                                  NAME+LABEL

A hash is the first 8 hex digits of the sha256 of the content as canonical JSON (fields at their defaults left
out), so a file moved to another checkout keeps its agent, the same steps embedded in a stored spec give the
same name, and any change to what the agent does (a step, a persona) makes a new one. A database migrated from
paths may also hold NAME@path-HASH: the file was gone, HASH is that of its old path (storage migration 0003).

STRATEGY never holds a '+', so a name splits into MODEL and STRATEGY on its last '+'. The MODEL half splits into
RUNNER and the model on its first '/' when that names a runner (arena.runners.split_runner, which knows the names).
"""

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from arena.agentfiles import (
    MODEL_SCHEMES,
    ScriptStep,
    Strategy,
    is_strategy_file,
    load_steps,
    load_strategy,
)

DEFAULT_RUNNER = "mini-swe-agent"
"""The runner of a contestant that names none; its identities carry no RUNNER/ prefix."""
HASH_DIGITS = 8
LABEL = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
"""An alias, or either half of one: letters, digits, '.', '_', '-' (no '/', ':' or '@': no model or file looks so)."""
ALIAS_PATTERN = rf"^{LABEL}(\+{LABEL})?$"
HASHED = re.compile(r"^[A-Za-z0-9._-]+@(?:path-)?[0-9a-f]{8}$")
"""The NAME@HASH half of an identity (it is not a path, so it is never read)."""


def content_hash(value: Any) -> str:
    """The first 8 hex digits of the sha256 of `value` as canonical JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_DIGITS]


def steps_hash(steps: list[ScriptStep]) -> str:
    return content_hash([s.model_dump(mode="json", exclude_defaults=True) for s in steps])


def strategy_hash(strategy: Strategy) -> str:
    return content_hash(strategy.model_dump(mode="json", exclude_defaults=True))


def file_label(path: str) -> str:
    """A file's name as it appears in an identity: characters other than letters, digits, '.', '_', '-' become '-'."""
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", Path(path).name).strip("-") or "file")[:64]


def model_identity(model: str, steps: list[ScriptStep] | None = None) -> str:
    """The MODEL half: a litellm name as written; a scripted/replay file as NAME@HASH of its steps (read if not given).

    Raises SpecError when the file must be read and cannot be.
    """
    scheme, sep, rest = model.partition(":")
    if not sep or scheme not in MODEL_SCHEMES:
        return model
    if steps is None:
        if HASHED.match(rest):
            return model
        steps = load_steps(scheme, Path(rest).expanduser())
    return f"{scheme}:{file_label(rest)}@{steps_hash(steps)}"


def strategy_identity(strategy: str, definition: Strategy | None = None) -> str:
    """The STRATEGY half: a built-in name as is; a strategy YAML as NAME@HASH of its definition (read if not given)."""
    if definition is None:
        if not is_strategy_file(strategy):
            return strategy
        definition = load_strategy(strategy)
    return f"{file_label(strategy)}@{strategy_hash(definition)}"


def agent_identity(
    model: str,
    strategy: str,
    *,
    agent: str | None = None,
    steps: list[ScriptStep] | None = None,
    strategy_definition: Strategy | None = None,
    runner: str = DEFAULT_RUNNER,
) -> str:
    """The agent a contestant is (module docstring): from a spec's fields, or from a stored row's (then unchanged).

    Args:
        model: as in a spec (`scripted:/abs/a.yaml`, `openai/gpt-4.1-mini`) or an identity's MODEL half.
        strategy: as in a spec (a built-in name, a strategy YAML's path) or an identity's STRATEGY half.
        agent: the contestant's `agent:` alias, if any.
        steps: the scripted/replay steps when the spec embeds them (the file is then not read).
        strategy_definition: the strategy's definition when the spec embeds it.
        runner: the contestant's runner; any but mini-swe-agent prefixes the MODEL half (an alias too).
    """
    if agent and "+" in agent:
        return agent if runner == DEFAULT_RUNNER or agent.startswith(f"{runner}/") else f"{runner}/{agent}"
    prefix = "" if runner == DEFAULT_RUNNER else f"{runner}/"
    return f"{prefix}{agent or model_identity(model, steps)}+{strategy_identity(strategy, strategy_definition)}"


def split_identity(identity: str) -> tuple[str, str]:
    """(MODEL, STRATEGY) of an identity, split on the last '+'."""
    model, _, strategy = identity.rpartition("+")
    return model, strategy
