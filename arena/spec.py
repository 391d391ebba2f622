"""ArenaSpec: what one arena runs. Loaded from YAML; every model forbids unknown keys.

Relative paths (a local repo, problem_statement_file, scripted:/replay: files, strategy files)
resolve against the folder of the spec file, so a spec and its files can be moved together.
A launched arena stores its spec `self_contained`: the problem statement, steps and strategy
definitions are embedded, so it runs and is judged again where none of those files exist.
"""

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arena.agentfiles import BUILTIN_STRATEGIES as BUILTIN_STRATEGIES  # where callers have always found it
from arena.agentfiles import (
    MODEL_SCHEMES,
    ScriptStep,
    Strategy,
    is_strategy_file,
    load_steps,
    load_strategy,
)
from arena.config import SETTINGS
from arena.errors import SpecError
from arena.identity import ALIAS_PATTERN, DEFAULT_RUNNER, agent_identity

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# model_kwargs that would route a model call or carry credentials around api_base:.
ROUTING_WORDS = (
    "base",
    "url",
    "endpoint",
    "host",
    "proxy",
    "header",
    "provider",
    "region",
    "location",
    "credential",
    "auth",
    "aws_",
    "vertex",
    "azure",
    "deployment",
    "organization",
    "project",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskSpec(_Strict):
    """The issue every contestant attacks."""

    repo: str
    """Local path to a git repository, or an https git URL."""
    base: str = "HEAD"
    """Any commit-ish of `repo`; resolved to a full sha when the arena is launched."""
    title: str = ""
    problem_statement: str | None = None
    """The issue text given to every contestant (or use problem_statement_file)."""
    problem_statement_file: str | None = None
    setup_command: str | None = None
    """Runs once per (repo, base) before contestants start, with network access to registries."""
    test_command: str | None = None
    fail_to_pass: list[str] = []
    pass_to_pass: list[str] = []
    swebench: str | None = None
    """A SWE-bench instance file; its fields fill every task field not given here."""
    instance_id: str | None = None
    """Which instance of a multi-instance swebench file; set from the instance."""
    test_patch: str = ""
    """Applied only when judging (SWE-bench's test_patch); contestants never see it."""
    github_issue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+#[0-9]+$")] | None = None
    """OWNER/REPO#N (or the issue's URL, normalised): its repository, default branch head, title and text fill every
    task field not given here (arena/tasks/github_issue.py); kept so the arena records where its task came from."""

    @field_validator("test_command")
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is blank; leave it out to have the judge detect the tests, or give the command")
        return value

    @model_validator(mode="after")
    def _one_problem_statement(self) -> "TaskSpec":
        if (self.problem_statement is None) == (self.problem_statement_file is None):
            raise ValueError("give exactly one of problem_statement or problem_statement_file")
        return self

    @property
    def is_remote(self) -> bool:
        return is_git_url(self.repo)


class ContestantSpec(_Strict):
    """One contestant: a model under a strategy, with its own limits."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    """Unique in the arena; letters, digits, '.', '_' and '-' (it names a folder)."""
    model: str
    """`scripted:FILE`, `replay:TRAJ` or a litellm model name such as `openai/gpt-4.1-mini`."""
    strategy: str = "balanced"
    """minimal-fix | test-first | balanced | path to a strategy YAML."""
    step_limit: Annotated[int, Field(ge=0)] = 50
    """Maximum model calls; 0 means no limit."""
    cost_limit: Annotated[float, Field(ge=0)] = 3.0
    """Stop after spending this much (USD); 0 means no limit."""
    wall_time_limit_s: Annotated[int, Field(ge=0)] = 0
    """Stop this contestant after so many seconds; 0 leaves it to the arena's time budget."""
    api_base: str | None = None
    """OpenAI-compatible endpoint for a litellm model (else ARENA_API_BASE or the provider's default)."""
    api_key_env: str | None = None
    """Name of the variable holding the key for `api_base` (ARENA_<...>); default ARENA_API_KEY, else no key."""
    model_kwargs: dict[str, Any] = {}
    """Extra arguments passed to litellm.completion (temperature, ...)."""
    agent: str | None = None
    """Your own name for this agent, in place of its model (NAME) or of its whole identity (NAME+LABEL)."""
    steps: Annotated[list[ScriptStep], Field(min_length=1)] | None = None
    """The scripted/replay steps, embedded (a launched arena's stored spec has them); `model` then names the file only."""
    strategy_definition: Strategy | None = None
    """The strategy YAML's content, embedded; `strategy` then names the file only."""
    runner: str = DEFAULT_RUNNER
    """The agent program that plays: mini-swe-agent (the default), or a CLI agent from the runner registry
    (claude-code, codex, gemini-cli, aider, opencode, or one of your own; README: Racing CLI agents)."""
    runner_options: dict[str, Any] = {}
    """Passed through to a CLI runner (e.g. `effort: high`, `flags: [...]`); the runner's YAML says which it takes."""

    @field_validator("api_key_env")
    def _key_variable(cls, value: str | None) -> str | None:
        return _check_key_variable(value)

    @field_validator("agent")
    def _readable_alias(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(ALIAS_PATTERN, value) or any(p.endswith((".yaml", ".yml")) for p in value.split("+")):
            raise ValueError(
                f"'{value}' is not an agent name: write NAME or NAME+LABEL, each up to 64 letters, digits, '.', '_' "
                "or '-' (no '/', ':' or '@', not ending in .yaml), e.g. acme-fixer or acme-fixer+careful"
            )
        return value

    @model_validator(mode="after")
    def _embedded_names_a_file(self) -> "ContestantSpec":
        if self.steps is not None:
            if self.kind == "litellm":
                raise ValueError(f"steps: are for scripted: and replay: models, not '{self.model}'; remove them")
            if "/" in str(self.model_file):
                raise ValueError(
                    f"with steps: embedded, model names the file only (e.g. {self.kind}:{self.model_file.name}); "
                    "remove the folder, or remove steps: to read the file"
                )
        if self.strategy_definition is not None and ("/" in self.strategy or self.strategy in BUILTIN_STRATEGIES):
            raise ValueError(
                f"with strategy_definition: embedded, strategy names its YAML file only (e.g. careful.yaml), "
                f"not '{self.strategy}'"
            )
        return self

    @field_validator("model")
    def _known_scheme(cls, value: str) -> str:
        scheme, sep, rest = value.partition(":")
        if sep and "/" not in scheme and re.fullmatch(r"[A-Za-z][\w-]*", scheme):
            if scheme not in MODEL_SCHEMES:
                raise ValueError(
                    f"unknown model scheme '{scheme}:'; use scripted:FILE, replay:TRAJ or a litellm name like openai/gpt-4.1-mini"
                )
            if not rest:
                raise ValueError(f"'{scheme}:' needs a file after the colon, e.g. {scheme}:steps/a.yaml")
        return value

    @field_validator("model_kwargs")
    def _no_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _reject_secrets(value)

    @field_validator("runner_options")
    def _no_secret_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        secret = [k for k in value if any(word in k.lower() for word in ("key", "token", "secret", "password"))]
        if secret:
            raise ValueError(
                f"runner_options: {', '.join(secret)} looks like a secret; specs are stored and shown, and a CLI "
                "runner gets its key from the gateway (README: Racing CLI agents), never from the spec"
            )
        return value

    @field_validator("runner")
    def _known_runner(cls, value: str) -> str:
        if value != DEFAULT_RUNNER:
            from arena.runners import get_runner  # the registry reads YAML files: only for a CLI runner

            try:
                get_runner(value)
            except SpecError as e:
                raise ValueError(str(e)) from None
        return value

    @model_validator(mode="after")
    def _cli_runner_needs_a_model(self) -> "ContestantSpec":
        if self.runner != DEFAULT_RUNNER and self.kind != "litellm":
            raise ValueError(
                f"runner: {self.runner} calls a model itself; '{self.model}' is a {self.kind} file of "
                "mini-swe-agent steps. Give a model name (e.g. anthropic/claude-sonnet-4-5), or remove runner:"
            )
        if self.runner == DEFAULT_RUNNER and self.runner_options:
            raise ValueError("runner_options: are for CLI runners; mini-swe-agent takes model_kwargs: instead")
        return self

    @property
    def kind(self) -> str:
        """'scripted', 'replay' or 'litellm'."""
        scheme = self.model.partition(":")[0]
        return scheme if scheme in MODEL_SCHEMES and ":" in self.model else "litellm"

    @property
    def model_file(self) -> Path | None:
        return Path(self.model.partition(":")[2]) if self.kind != "litellm" else None

    def read_steps(self) -> list[ScriptStep]:
        """The steps a scripted/replay contestant plays: embedded, else read from its file (SpecError if unreadable)."""
        return self.steps if self.steps is not None else load_steps(self.kind, self.model_file)

    def read_strategy(self) -> Strategy:
        """The strategy's definition: embedded, else built in or read from its YAML (SpecError if unusable)."""
        return self.strategy_definition or load_strategy(self.strategy)

    @property
    def identity(self) -> str:
        """The agent this contestant is (arena.identity); reads its files unless the spec embeds them."""
        return agent_identity(
            self.model,
            self.strategy,
            agent=self.agent,
            steps=self.steps,
            strategy_definition=self.strategy_definition,
            runner=self.runner,
        )

    @property
    def underlying(self) -> str:
        """The identity without the `agent:` alias: what the contestant runs."""
        return self.model_copy(update={"agent": None}).identity


class LimitsSpec(_Strict):
    max_parallel: Annotated[int, Field(ge=1, le=64)] = 4
    """Contestants running at the same time."""
    time_budget_s: Annotated[float, Field(gt=0)] = 1800
    """Wall time for the whole arena; contestants still running then end as timed_out."""


class SandboxSpec(_Strict):
    backend: Literal["local", "unsafe-local", "e2b"] = "local"
    """local: bubblewrap, no network, per-contestant overlay. unsafe-local: plain processes (no isolation).
    e2b: an E2B cloud sandbox per contestant, started from a snapshot prepared once (needs E2B_API_KEY)."""
    command_timeout_s: Annotated[int, Field(ge=1)] = 120
    """Per command; the whole process group is killed when it passes."""
    output_limit_bytes: Annotated[int, Field(ge=1024)] = 100_000
    """Output kept per command; the rest is dropped and the truncation stated."""
    memory_mb: Annotated[int, Field(ge=64)] = 4096
    cpu_time_s: Annotated[int, Field(ge=1)] = 600
    max_processes: Annotated[int, Field(ge=8)] = 256
    max_file_size_mb: Annotated[int, Field(ge=1)] = 1024
    setup_timeout_s: Annotated[int, Field(ge=1)] = 1800
    template: str | None = None
    """e2b: the E2B template sandboxes start from; default ARENA_E2B_TEMPLATE."""
    lifetime_s: Annotated[int, Field(ge=60, le=86_400)] = 3600
    """e2b: how long each sandbox may live (E2B's `timeout`; Hobby accounts allow at most 3600)."""


class JudgeSpec(_Strict):
    """How candidates are judged (README: How the judge decides)."""

    model: str | None = None
    """litellm model for the reviewer; without one a documented heuristic ranks."""
    api_base: str | None = None
    api_key_env: str | None = None
    """As for a contestant: the variable holding the key for `api_base`."""
    model_kwargs: dict[str, Any] = {}
    synthesize: bool = False
    """Let the reviewer write a combined patch that competes as the contestant `synthesis`."""
    cross_validate: bool = True
    """Run every candidate against the reproduction tests the others wrote."""
    test_timeout_s: Annotated[int, Field(ge=1)] = 900
    max_parallel: Annotated[int, Field(ge=1)] | None = None
    """Evaluations at once; default: the number of cores."""

    @field_validator("model_kwargs")
    def _no_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _reject_secrets(value)

    @field_validator("api_key_env")
    def _key_variable(cls, value: str | None) -> str | None:
        return _check_key_variable(value)


class PublishSpec(_Strict):
    """What reaches GitHub (arena/publish): candidates' branches always when the task is on GitHub; a PR if asked."""

    pull_request: bool = False
    """A draft PR from the first candidate with a patch, updated to the judge's winner with the evidence."""


class ArenaSpec(_Strict):
    """Task + contestants + limits + sandbox + judge: everything one arena needs."""

    task: TaskSpec
    contestants: Annotated[list[ContestantSpec], Field(min_length=1)]
    limits: LimitsSpec = LimitsSpec()
    sandbox: SandboxSpec = SandboxSpec()
    judge: JudgeSpec = JudgeSpec()
    publish: PublishSpec = PublishSpec()

    @model_validator(mode="after")
    def _unique_names(self) -> "ArenaSpec":
        seen: set[str] = set()
        for c in self.contestants:
            if c.name in seen:
                raise ValueError(f"contestant name '{c.name}' is used twice; give every contestant its own name")
            seen.add(c.name)
        return self

    @property
    def problem_statement(self) -> str:
        if self.task.problem_statement is not None:
            return self.task.problem_statement
        return Path(self.task.problem_statement_file or "").read_text()

    def agents(self) -> list[str]:
        """Each contestant's agent identity, in order (reads the files the spec does not embed).

        Contestants may share an agent only when they are the same agent underneath (the same model, steps and
        strategy, entered twice: it pays two stakes); an alias that would merge two different agents in one arena
        is refused, since their outcomes against each other could not be recorded.
        """
        names = [c.identity for c in self.contestants]
        first: dict[str, ContestantSpec] = {}
        for c, name in zip(self.contestants, names, strict=True):
            other = first.setdefault(name, c)
            if other is not c and other.underlying != c.underlying:
                raise SpecError(
                    f"contestants {other.name} and {c.name} would both be agent {name}, but {other.name} is "
                    f"{other.underlying} and {c.name} is {c.underlying}; give them different agent: names "
                    "(contestants share an agent only when they run the same model, steps and strategy)"
                )
        return names


# What model_kwargs may hold: sampling and output controls only. An allowlist, because litellm takes
# routing in many shapes (api_base, base_url, model_list, fallbacks, ...) and any of them would carry a
# provider key to an address the spec chose (README: Trust model).
MODEL_KWARGS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "stop",
        "n",
        "presence_penalty",
        "frequency_penalty",
        "repetition_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "reasoning_effort",
        "thinking",
        "parallel_tool_calls",
        "tool_choice",
        "response_format",
        "drop_params",
        "num_retries",
        "timeout",
        "user",
        "metadata",
    }
)


def _reject_secrets(kwargs: dict[str, Any]) -> dict[str, Any]:
    secret = [k for k in kwargs if any(word in k.lower() for word in ("key", "token", "secret", "password"))]
    if secret:
        raise ValueError(
            f"{', '.join(secret)} looks like a secret; specs are stored and shown, so put keys in the environment "
            "(the provider's variable such as OPENAI_API_KEY, or ARENA_API_KEY / api_key_env for api_base endpoints)"
        )
    # Where the call goes decides which key it may carry, so only `api_base:` may say it (README: Trust model).
    refused = [k for k in kwargs if k not in MODEL_KWARGS or any(word in k.lower() for word in ROUTING_WORDS)]
    if refused:
        raise ValueError(
            f"{', '.join(refused)} is not a sampling option model_kwargs may set (allowed: "
            f"{', '.join(sorted(MODEL_KWARGS))}); give an endpoint as api_base: and its key's variable as api_key_env:"
        )
    return kwargs


def _check_key_variable(name: str | None) -> str | None:
    """api_key_env names an ARENA_ variable that is not one of the arena's own settings (or ARENA_API_KEY).

    A spec may be uploaded by anyone and chooses its own api_base, so it must not be able to name a
    provider's key (OPENAI_API_KEY) or any other secret of the host (ARENA_DATABASE_URL) to be sent there.
    """
    if name is None:
        return None
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
        raise ValueError(f"'{name}' is not an environment variable name; give a NAME like ARENA_KEY_FOR_GATEWAY")
    if not name.startswith("ARENA_") or (name in SETTINGS and name != "ARENA_API_KEY"):
        raise ValueError(
            f"'{name}' may not be sent to a spec's api_base: api_key_env must name a variable of your own "
            "starting with ARENA_ (e.g. ARENA_KEY_FOR_GATEWAY) that is not one of the arena's settings; "
            "provider keys such as OPENAI_API_KEY go only to their provider's endpoint"
        )
    return name


def is_git_url(value: str) -> bool:
    """A URL (any scheme, so file:// and git:// are refused by name rather than taken for paths) or git@host:path."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^@/:\s]+@[^/:\s]+:", value))


def load_spec(path: Path | str) -> ArenaSpec:
    """Read, validate and resolve a spec file; raises SpecError naming the field and the fix."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file {path} does not exist; pass the path of an arena YAML (see README: Arena spec)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise SpecError(f"{path} is not UTF-8 text ({e}); save the spec as UTF-8") from None
    except yaml.YAMLError as e:
        raise SpecError(f"{path} is not valid YAML: {e}") from e
    return spec_from_dict(raw, base_dir=path.parent, source=str(path))


def spec_from_dict(raw: Any, base_dir: Path | str = ".", source: str = "spec") -> ArenaSpec:
    """Validate a dict (from YAML or the app) and resolve relative paths against `base_dir`."""
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: expected a mapping with task:, contestants:, limits:, sandbox:")
    if isinstance(raw.get("task"), dict) and raw["task"].get("swebench"):
        raw = {**raw, "task": with_swebench(raw["task"], Path(base_dir))}
    if isinstance(raw.get("task"), dict) and raw["task"].get("github_issue"):
        from arena.tasks.github_issue import fill_task

        raw = {**raw, "task": fill_task(raw["task"])}
    try:
        spec = ArenaSpec.model_validate(raw)
    except ValidationError as e:
        raise SpecError(format_validation_error(e, source)) from None
    return resolve_paths(spec, Path(base_dir).resolve())


def with_swebench(task: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Task fields from a SWE-bench instance, under the fields the spec gives itself (those win)."""
    from arena.tasks.swebench import load_instance

    path = (base_dir / Path(str(task["swebench"])).expanduser()).resolve()
    instance = load_instance(path, task.get("instance_id"))
    fields = instance.task_fields() | {"test_patch": instance.test_patch, "instance_id": instance.instance_id}
    if "problem_statement_file" in task:
        fields.pop("problem_statement", None)
    return fields | {k: v for k, v in task.items() if v is not None} | {"swebench": str(path)}


def resolve_paths(spec: ArenaSpec, base_dir: Path) -> ArenaSpec:
    """Return a copy with every relative path made absolute against base_dir."""

    def absolute(p: str) -> str:
        return str((base_dir / Path(p).expanduser()).resolve())

    task = spec.task
    updates: dict[str, Any] = {}
    if not task.is_remote:
        updates["repo"] = absolute(task.repo)
    if task.problem_statement_file:
        updates["problem_statement_file"] = absolute(task.problem_statement_file)
    contestants = []
    for c in spec.contestants:
        changes: dict[str, Any] = {}
        if c.kind != "litellm" and c.steps is None:
            changes["model"] = f"{c.kind}:{absolute(str(c.model_file))}"
        if is_strategy_file(c.strategy) and c.strategy_definition is None:
            changes["strategy"] = absolute(c.strategy)
        contestants.append(c.model_copy(update=changes))
    return spec.model_copy(update={"task": task.model_copy(update=updates), "contestants": contestants})


def self_contained(spec: ArenaSpec) -> ArenaSpec:
    """The spec with every file it names, but the repository, embedded: what a launched arena stores.

    The problem statement file becomes `problem_statement`; a scripted/replay file becomes `steps` under
    `model: scripted:NAME`; a strategy YAML becomes `strategy_definition` under `strategy: NAME`; the SWE-bench
    file, whose fields the task already holds, is dropped. Each contestant's identity stays what it was.
    Raises SpecError when a file cannot be read.
    """
    task = spec.task
    if task.problem_statement_file or task.swebench:
        task = task.model_copy(
            update={"problem_statement": spec.problem_statement, "problem_statement_file": None, "swebench": None}
        )
    contestants = []
    for c in spec.contestants:
        changes: dict[str, Any] = {}
        if c.kind != "litellm" and c.steps is None:
            changes |= {"model": f"{c.kind}:{c.model_file.name}", "steps": c.read_steps()}
        if is_strategy_file(c.strategy) and c.strategy_definition is None:
            changes |= {"strategy": Path(c.strategy).name, "strategy_definition": c.read_strategy()}
        contestants.append(c.model_copy(update=changes))
    return spec.model_copy(update={"task": task, "contestants": contestants})


def format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source} is not a valid arena spec:"]
    for item in error.errors():
        where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in item["loc"]).replace(".[", "[")
        if item["type"] == "extra_forbidden":
            msg = "unknown key; remove it or fix its spelling (see README: Arena spec for the valid keys)"
        elif item["type"] == "missing":
            msg = "required; add it"
        else:
            msg = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {where or '(top level)'}: {msg}")
    return "\n".join(lines)
