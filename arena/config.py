"""Settings: the one table of environment variables, and where data lives.

Every `ARENA_*` variable the product reads is declared once in SETTINGS (name, default, kind,
meaning); code reads it with `setting(NAME)`, and a test compares this table with the README's.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from arena.errors import UserError


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | int | float | bool | None
    kind: type
    meaning: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("ARENA_DATA_DIR", "./data", str, "runs, caches and the SQLite database"),
        Setting("ARENA_DATABASE_URL", None, str, "any SQLAlchemy URL; default sqlite:///$ARENA_DATA_DIR/arena.db"),
        Setting("ARENA_API_BASE", None, str, "default OpenAI-compatible endpoint for litellm contestants"),
        Setting("ARENA_API_KEY", None, str, "the key sent to ARENA_API_BASE only (never to an endpoint a spec names)"),
        Setting("ARENA_MODEL_RETRIES", 5, int, "attempts per model call (rate limits, 5xx, timeouts)"),
        Setting("ARENA_MODEL_RETRY_WAIT_S", 2.0, float, "first wait between attempts, doubling up to 30 s"),
        Setting("ARENA_MODEL_TIMEOUT_S", 120.0, float, "per model HTTP request"),
        Setting("ARENA_STARTING_GRANT", 100.0, float, "credits every new agent starts with, once"),
        Setting("ARENA_BASE_STAKE", 1.0, float, "stake to enter an arena with no unredeemed revert"),
        Setting("ARENA_STAKE_MULTIPLIER", 10.0, float, "the stake grows by this factor per unredeemed revert"),
        Setting("ARENA_MERGE_REWARD", 1.0, float, "credits for a merged winning patch"),
        Setting(
            "ARENA_LEASE_S", 60.0, float, "a run's lease: renewed every third of it; unrenewed this long, recovered"
        ),
        Setting("ARENA_MAX_PATCH_MB", 50.0, float, "a larger patch is refused, with that reason on the contestant"),
        Setting("ARENA_GIT_TIMEOUT_S", 300.0, float, "bound on every clone and fetch, stalls included"),
        Setting("ARENA_ALLOW_PRIVATE_NETWORK", False, bool, "accept http:// and private/loopback git URLs"),
        Setting("ARENA_ALLOW_SSH_GIT", False, bool, "accept ssh:// and git@ git URLs"),
        Setting("ARENA_ALLOW_UNSAFE_LOCAL", False, bool, "let the app launch arenas on the unsafe-local backend"),
        Setting("ARENA_LOCAL_MODEL", "local-model", str, "model name the Launch page offers for ARENA_API_BASE"),
        Setting("ARENA_SHARED_TRAJECTORIES", "../shared/data/trajectories", str, "trajectories the notebooks read"),
    ]
}


def settings_table() -> str:
    """The README's Configuration table, generated from SETTINGS (a test keeps the two equal)."""

    def shown(value) -> str:
        if value is None:
            return "unset"
        if isinstance(value, bool):
            return "1" if value else "0"
        return f"{value:g}" if isinstance(value, float) else str(value)

    rows = [f"| `{s.name}` | {shown(s.default)} | {s.meaning} |" for s in SETTINGS.values()]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows])


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def setting(name: str):
    """The value of `name` from the environment, or its default; UserError if it is malformed."""
    spec = SETTINGS[name]
    raw = os.environ.get(name)
    if raw is None:
        return spec.default
    if spec.kind is bool:
        if raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise UserError(f"{name}={raw!r} is not 1 or 0; fix or unset it")
    if spec.kind in (int, float):
        try:
            return spec.kind(raw)
        except ValueError:
            whole = "whole " if spec.kind is int else ""
            raise UserError(f"{name}={raw!r} is not a {whole}number; fix or unset it") from None
    return raw


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
        root = Path(data_dir or setting("ARENA_DATA_DIR")).resolve()
        url = setting("ARENA_DATABASE_URL") or f"sqlite:///{root / 'arena.db'}"
        return cls(data_dir=root, database_url=url)
