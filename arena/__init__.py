"""Agent Arena: several coding agents attack one issue, each in its own sandbox.

Public API (small and flat): load a spec, build an Engine, launch or run arenas.
"""

import os

# Before mini-swe-agent / litellm are imported anywhere: no banner, no network fetch of the cost map.
os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from arena.config import Settings  # noqa: E402
from arena.errors import ArenaError, SpecError, UserError  # noqa: E402
from arena.spec import ArenaSpec, load_spec, spec_from_dict  # noqa: E402

__all__ = ["ArenaError", "ArenaSpec", "Settings", "SpecError", "UserError", "load_spec", "spec_from_dict", "Engine"]


def __getattr__(name: str):
    if name == "Engine":  # lazy: pulls in mini-swe-agent
        from arena.engine import Engine

        return Engine
    raise AttributeError(name)
