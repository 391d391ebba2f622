"""What a request cost: the price table (ARENA_GATEWAY_PRICES) first, then litellm's price map.

Tokens are counted the same way for every API so costs compare across runners: `tokens_in` is every input token,
cached ones included (OpenAI's prompt_tokens already are; Anthropic's input_tokens are not, so its cache reads and
writes are added), and the cached ones are priced at their own rates. A model with no cache rates pays the input
rate for them. A model with no price at all costs 0 (and the gateway warns when its key is issued: caps cannot bite).
"""

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from arena.config import setting
from arena.errors import UserError
from arena.llm import import_litellm

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Tokens:
    tokens_in: int = 0
    """All input tokens, cache reads and writes included."""
    tokens_out: int = 0
    cache_read: int = 0
    cache_write: int = 0


class Price(BaseModel):
    """USD per million tokens, as a price table row gives them."""

    model_config = ConfigDict(extra="forbid")
    input: float
    output: float
    cache_read: float | None = None
    """Default: the input price."""
    cache_write: float | None = None
    """Default: the input price."""

    def cost(self, tokens: Tokens) -> float:
        uncached = max(0, tokens.tokens_in - tokens.cache_read - tokens.cache_write)
        read = self.input if self.cache_read is None else self.cache_read
        write = self.input if self.cache_write is None else self.cache_write
        usd = uncached * self.input + tokens.cache_read * read + tokens.cache_write * write
        return (usd + tokens.tokens_out * self.output) / PER_MILLION


class Prices:
    """model -> Price: the table's rows, else litellm's map (per-token prices there, converted)."""

    def __init__(self, table: dict[str, dict | Price] | None = None):
        self.table: dict[str, Price] = {}
        for model, row in (table or {}).items():
            try:
                self.table[model] = row if isinstance(row, Price) else Price(**row)
            except (ValidationError, TypeError) as e:
                problems = (
                    "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg'].lower()}" for x in e.errors())
                    if isinstance(e, ValidationError)
                    else "not a table"
                )
                raise UserError(f"the gateway's price table is malformed at {model!r} ({problems}); {FORMAT}") from None

    @classmethod
    def from_setting(cls) -> "Prices":
        """The table ARENA_GATEWAY_PRICES gives (a file's path or inline JSON), or an empty one."""
        raw = (setting("ARENA_GATEWAY_PRICES") or "").strip()
        if not raw:
            return cls()
        try:
            if raw.startswith("{"):
                table = json.loads(raw)
            elif raw.endswith(".toml"):
                table = tomllib.loads(Path(raw).expanduser().read_text())
            else:
                table = json.loads(Path(raw).expanduser().read_text())
        except (OSError, ValueError) as e:
            raise UserError(f"ARENA_GATEWAY_PRICES={raw!r} cannot be read ({e}); {FORMAT}") from None
        if not isinstance(table, dict):
            raise UserError(f"ARENA_GATEWAY_PRICES={raw!r} is not a table of models; {FORMAT}")
        return cls(table)

    def price(self, *names: str) -> Price | None:
        """The first of `names` (e.g. the litellm name, then the upstream's) with a price."""
        for name in names:
            if name in self.table:
                return self.table[name]
        known = import_litellm().model_cost
        for name in names:
            row = known.get(name)
            if row and row.get("input_cost_per_token") is not None:
                per_million = {
                    "input": row.get("input_cost_per_token"),
                    "output": row.get("output_cost_per_token") or 0.0,
                    "cache_read": row.get("cache_read_input_token_cost"),
                    "cache_write": row.get("cache_creation_input_token_cost"),
                }
                return Price(**{k: v * PER_MILLION for k, v in per_million.items() if v is not None})
        return None


FORMAT = (
    'expected {"<model>": {"input": USD, "output": USD, "cache_read": USD, "cache_write": USD}} per million tokens '
    "(cache prices optional), as a .toml or .json file or inline JSON"
)
