"""The gateway's settings (arena/config.py's table: ARENA_GATEWAY_*), as one typed object."""

from pydantic import BaseModel, ConfigDict

from arena.config import setting


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: int
    """Upstream attempts per request (ARENA_GATEWAY_RETRIES)."""
    wait_s: float
    """First wait between attempts, doubling (ARENA_GATEWAY_RETRY_WAIT_S)."""
    timeout_s: float
    """Upstream connect and read timeout (ARENA_GATEWAY_TIMEOUT_S)."""
    arena_budget: float
    """USD per arena, 0 = no limit (ARENA_GATEWAY_ARENA_BUDGET_USD)."""
    daily_budget: float
    """USD per UTC day, all arenas, 0 = no limit (ARENA_GATEWAY_DAILY_BUDGET_USD)."""

    @classmethod
    def from_env(cls, **overrides: float) -> "GatewayConfig":
        values = {
            "attempts": max(1, setting("ARENA_GATEWAY_RETRIES")),
            "wait_s": setting("ARENA_GATEWAY_RETRY_WAIT_S"),
            "timeout_s": setting("ARENA_GATEWAY_TIMEOUT_S"),
            "arena_budget": setting("ARENA_GATEWAY_ARENA_BUDGET_USD"),
            "daily_budget": setting("ARENA_GATEWAY_DAILY_BUDGET_USD"),
        }
        return cls(**values | overrides)
