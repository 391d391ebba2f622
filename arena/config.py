"""Settings: the one table of environment variables, and where data lives.

Every `ARENA_*` variable the product reads is declared once in SETTINGS (name, default, kind,
meaning); code reads it with `setting(NAME)`, and a test compares this table with the README's.

Data lives in one directory whatever the current directory: $ARENA_DATA_DIR, else the user's data
directory (platformdirs), so the CLI, the app and the notebooks all see the same arenas.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from arena.errors import UserError

APP_NAME = "agent-arena"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | int | float | bool | None
    kind: type
    meaning: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "ARENA_DATA_DIR",
            None,
            str,
            "runs, caches and the SQLite database; unset: the user data dir (~/.local/share/agent-arena on Linux)",
        ),
        Setting("ARENA_DATABASE_URL", None, str, "any SQLAlchemy URL; default sqlite:///$ARENA_DATA_DIR/arena.db"),
        Setting("ARENA_API_BASE", None, str, "default OpenAI-compatible endpoint for litellm contestants"),
        Setting("ARENA_API_KEY", None, str, "the key sent to ARENA_API_BASE only (never to an endpoint a spec names)"),
        Setting("ARENA_MODEL_RETRIES", 5, int, "attempts per model call (rate limits, 5xx, timeouts)"),
        Setting("ARENA_MODEL_RETRY_WAIT_S", 2.0, float, "first wait between attempts, doubling up to 30 s"),
        Setting("ARENA_MODEL_TIMEOUT_S", 120.0, float, "per model HTTP request"),
        Setting(
            "ARENA_GATEWAY_ARENA_BUDGET_USD",
            0.0,
            float,
            "an arena's spend through the LLM gateway, all its contestants; once reached, calls get 402 and no new "
            "contestant starts (0 = no limit)",
        ),
        Setting(
            "ARENA_GATEWAY_DAILY_BUDGET_USD",
            0.0,
            float,
            "spend through the LLM gateway per UTC day, all arenas; once reached, calls get 402 (0 = no limit)",
        ),
        Setting(
            "ARENA_GATEWAY_PRICES",
            None,
            str,
            "the gateway's price table, used before litellm's price map: a .toml or .json file, or inline JSON; "
            "model -> USD per million input, output, cache_read, cache_write tokens",
        ),
        Setting(
            "ARENA_GATEWAY_RETRIES",
            3,
            int,
            "upstream attempts per gateway request (429, 5xx, connect errors, timeouts) before its first byte",
        ),
        Setting(
            "ARENA_GATEWAY_RETRY_WAIT_S",
            1.0,
            float,
            "the gateway's first wait between attempts, doubling; an upstream Retry-After is honoured up to 30 s",
        ),
        Setting(
            "ARENA_GATEWAY_TIMEOUT_S",
            600.0,
            float,
            "the gateway's upstream timeout: the longest silence while it waits for a response (connecting: 30 s at most)",
        ),
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
        Setting(
            "ARENA_APP_RUNS",
            "auto",
            str,
            "where the app's launches run: auto (the workers' queue on PostgreSQL, else the app's own process), "
            "queue or process",
        ),
        Setting("ARENA_LOCAL_MODEL", "local-model", str, "model name the Launch page offers for ARENA_API_BASE"),
        Setting("ARENA_SHARED_TRAJECTORIES", "../shared/data/trajectories", str, "trajectories the notebooks read"),
        Setting("GITHUB_TOKEN", None, str, "a token for the GitHub loop (contents, pull requests, issues: write)"),
        Setting("GITHUB_API_URL", "https://api.github.com", str, "GitHub's API root (Enterprise: https://HOST/api/v3)"),
        Setting("ARENA_GITHUB_APP_ID", None, str, "a GitHub App instead of GITHUB_TOKEN: its id"),
        Setting("ARENA_GITHUB_APP_PRIVATE_KEY", None, str, "the App's private key: the .pem file's path or contents"),
        Setting("ARENA_GITHUB_MAX_WAIT_S", 900.0, float, "longest wait for a GitHub rate limit to reset"),
        Setting(
            "ARENA_GITHUB_SYNC_S",
            300.0,
            float,
            "seconds between the app's reads of its pull requests back from GitHub (merges, closes, reverts)",
        ),
        Setting(
            "ARENA_WEBHOOK_SECRET",
            None,
            str,
            "the secret of the GitHub webhook `arena webhooks` receives (pull_request and push events); required by it",
        ),
        Setting(
            "E2B_API_KEY",
            None,
            str,
            "E2B's key for `backend: e2b` (https://e2b.dev/dashboard?tab=keys); never sent into a sandbox",
        ),
        Setting(
            "ARENA_E2B_TEMPLATE", "base", str, "the E2B template of `backend: e2b` when the spec's sandbox names none"
        ),
        Setting(
            "ARENA_RUNNERS_DIR",
            None,
            str,
            "a directory of runner YAML files (CLI agents) added to the built-in ones; a same-named file replaces one",
        ),
        Setting(
            "ARENA_TOOLS_DIR",
            None,
            str,
            "where CLI runners are installed, once per machine and version (default: the user's cache dir, "
            "~/.cache/agent-arena/tools); every data dir on the machine shares it",
        ),
        Setting(
            "ARENA_LOG_FORMAT",
            "text",
            str,
            "text or json (one object a line: time, level, logger, message, arena_id, contestant, job_id, worker); "
            "secrets are redacted either way",
        ),
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


def default_data_dir() -> Path:
    """The user's data directory (platformdirs; on Linux $XDG_DATA_HOME/agent-arena, else ~/.local/share/agent-arena)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


ORIGINS = {
    "ARENA_DATA_DIR": "set by ARENA_DATA_DIR",
    "default": "the default, the user data directory; set ARENA_DATA_DIR to use another",
    "argument": "given by the caller",
}
"""Where the data directory came from -> how to say so (the CLI's help, the Health page, the notebooks)."""


@dataclass(frozen=True)
class Settings:
    """Process-wide settings. Build with `Settings.from_env()`."""

    data_dir: Path
    """Holds runs/, cache/ and (by default) the SQLite database arena.db."""
    database_url: str
    """SQLAlchemy URL; `ARENA_DATABASE_URL` overrides the SQLite default."""
    data_dir_origin: str = "argument"
    """Why data_dir is this one: a key of ORIGINS."""

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def describe_data_dir(self) -> str:
        """The data directory and where it came from, e.g. `/home/me/.local/share/agent-arena (the default, ...)`."""
        return f"{self.data_dir} ({ORIGINS[self.data_dir_origin]})"

    @classmethod
    def from_env(cls, data_dir: Path | str | None = None) -> "Settings":
        configured = (setting("ARENA_DATA_DIR") or "").strip()  # set but empty is unset, not the current directory
        if data_dir:
            root, origin = Path(data_dir), "argument"
        elif configured:
            root, origin = Path(configured).expanduser(), "ARENA_DATA_DIR"
        else:
            root, origin = default_data_dir(), "default"
        root = root.resolve()
        url = setting("ARENA_DATABASE_URL") or f"sqlite:///{root / 'arena.db'}"
        return cls(data_dir=root, database_url=url, data_dir_origin=origin)
