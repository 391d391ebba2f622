"""Settings: where data lives and which database to use, from the environment."""

import os
from dataclasses import dataclass
from pathlib import Path

from arena.errors import UserError


def env_numbers(names: dict[str, str], kind: type = float) -> dict[str, float]:
    """{field: value} for each environment variable of `names` ({variable: field}) that is set; UserError if malformed."""
    values = {}
    for variable, field in names.items():
        raw = os.environ.get(variable)
        if raw is None:
            continue
        try:
            values[field] = kind(raw)
        except ValueError:
            raise UserError(
                f"{variable}={raw!r} is not a {'whole ' if kind is int else ''}number; fix or unset it"
            ) from None
    return values


@dataclass(frozen=True)
class Settings:
    """Process-wide settings. Build with `Settings.from_env()`."""

    data_dir: Path
    """Holds runs/, cache/ and (by default) the SQLite database arena.db."""
    database_url: str
    """SQLAlchemy URL; `ARENA_DATABASE_URL` overrides the SQLite default."""

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @classmethod
    def from_env(cls, data_dir: Path | str | None = None) -> "Settings":
        root = Path(data_dir or os.environ.get("ARENA_DATA_DIR") or "data").resolve()
        url = os.environ.get("ARENA_DATABASE_URL") or f"sqlite:///{root / 'arena.db'}"
        return cls(data_dir=root, database_url=url)
