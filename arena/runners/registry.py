"""Runner definitions: one YAML file per CLI agent, built in (builtin/*.yaml) or dropped in ARENA_RUNNERS_DIR.

A definition says everything the arena needs to race a CLI without code of its own: what to install (one pinned
npm or PyPI package), how to check the install, the API shape it speaks (so the gateway knows which routes it
needs), the command line for a task as a Jinja template (StrictUndefined: a misspelt variable fails loudly),
its environment, the config files it reads, the options a spec may pass (`effort`, `flags`, ...), and where its
own transcript is and which parser reads it. `mini-swe-agent` is an entry without install or command: it is the
arena's own in-process agent (arena.agents), listed here so every runner name resolves in one place.

A user YAML with a built-in's name replaces the built-in (to pin another version, say).
"""

import functools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arena.config import setting
from arena.errors import SpecError
from arena.identity import DEFAULT_RUNNER

TRANSCRIPT_FORMATS = (
    "claude-code-stream-json",
    "codex-json",
    "aider-chat-history",
    "opencode-json",
    "gemini-cli-stream-json",
    "text",
)
"""The parsers of runners/transcripts.py, by name (kept here so a YAML is checked without importing them)."""
BUILTIN = Path(__file__).with_name("builtin")
"""The built-in runners' YAML files (package data: pyproject's package-data must list runners/builtin/*.yaml)."""
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Install(_Strict):
    """One pinned package; exactly one of `npm` and `pypi`."""

    npm: str | None = None
    """`package@version`, installed with `npm install --prefix <tools>`; binaries in node_modules/.bin."""
    pypi: str | None = None
    """`package==version`, installed into <tools>/venv made with /usr/bin/python3 (which every sandbox has)."""
    check: str
    """Shell command (Jinja: `tools` = the install dir) that must exit 0 after the install, e.g. `... --version`."""
    post_install: list[str] = []
    """Shell commands run in the install dir after the package (e.g. a postinstall npm refused to run)."""

    @model_validator(mode="after")
    def _one_pinned_package(self) -> "Install":
        if (self.npm is None) == (self.pypi is None):
            raise ValueError("give exactly one of `npm: package@version` and `pypi: package==version`")
        if self.npm is not None and not re.fullmatch(r"(@[^/@\s]+/)?[^/@\s]+@\d[^\s]*", self.npm):
            raise ValueError(f"npm: {self.npm!r} must be pinned as package@version, e.g. opencode-ai@1.18.33")
        if self.pypi is not None and not re.fullmatch(r"[A-Za-z0-9._\[\],-]+==\d[^\s]*", self.pypi):
            raise ValueError(f"pypi: {self.pypi!r} must be pinned as package==version, e.g. aider-chat==0.86.2")
        return self

    @property
    def package(self) -> str:
        return self.npm or self.pypi or ""

    @property
    def key(self) -> str:
        """A directory name for this exact version: `claude-code-2.1.332` style, without the scope."""
        if self.npm:
            name, _, version = self.npm.rpartition("@")
        else:
            name, _, version = self.package.partition("==")
        return f"{name.rsplit('/', 1)[-1]}-{version}"


class Transcript(_Strict):
    """Where the CLI's own record of the run goes, and which parser reads it (runners/transcripts.py)."""

    source: Literal["stdout", "file"] = "stdout"
    """stdout: the CLI's standard output is the transcript; file: the CLI writes it to `{{ transcript }}`."""
    format: str = "text"


class RunnerDef(_Strict):
    """One runner, as its YAML file says.

    Templates (command, env, files, options) see: model, prompt (the prompt file), base_url, key, tools (the install
    dir as commands see it), transcript (the file a `source: file` CLI writes), run_dir, port (the forwarder's),
    extra (the options' arguments; appended when the command does not place them) and, in `options`, value.
    The command runs in the workspace.
    """

    name: str
    description: str = ""
    api: Literal["in-process", "anthropic", "openai-chat", "openai-responses", "gemini"]
    """What the CLI speaks to its base URL; the gateway serves that route."""
    install: Install | None = None
    command: str | None = None
    """Bash, as a Jinja template; quote values with the `q` filter: `--model {{ model | q }}`."""
    env: dict[str, str] = {}
    """Variables for the CLI (templates): base URL and key variables, telemetry and update switches."""
    files: dict[str, str] = {}
    """Config files to write before the run: path (`~/...`: under the sandbox's $HOME; else relative to the run
    dir, `{{ run_dir }}` in templates) -> template."""
    options: dict[str, str] = {}
    """Spec options -> extra arguments (template of `value`); `flags: [...]` is always accepted, appended as is."""
    transcript: Transcript = Transcript()
    min_memory_mb: int = Field(default=0, ge=0)
    """The address space (sandbox memory_mb) the CLI needs; the spec must give at least this much."""
    leaves: list[str] = []
    """What the CLI writes into the workspace for itself (caches, its history), relative to the workspace: removed
    when it exits, so none of it is part of its patch. Its edits to tracked files are never listed here."""
    source: str = ""
    """The YAML file it came from (set by the loader)."""

    @model_validator(mode="after")
    def _consistent(self) -> "RunnerDef":
        if not NAME.match(self.name):
            raise ValueError(f"name {self.name!r}: use lower-case letters, digits, '.', '_' and '-'")
        if self.api != "in-process" and (self.install is None or self.command is None):
            raise ValueError("a CLI runner needs `install` and `command` (only api: in-process has neither)")
        if self.transcript.format not in TRANSCRIPT_FORMATS:
            raise ValueError(
                f"transcript.format {self.transcript.format!r} is not a known parser; use one of "
                f"{', '.join(TRANSCRIPT_FORMATS)} (`text` keeps the raw output as one message)"
            )
        if "flags" in self.options:
            raise ValueError("options: `flags` is built in (extra arguments appended as given); do not redefine it")
        for path in self.leaves:
            if not path or path.startswith(("/", "~")) or ".." in path.split("/") or path.strip("./") == "":
                raise ValueError(
                    f"leaves: {path!r} must be a path inside the workspace, relative to it (e.g. .cache/x)"
                )
        for path in self.files:
            if path.startswith("/") or ".." in path.split("/") or path in ("", "~/"):
                raise ValueError(
                    f"files: {path!r} must be ~/<path> (the sandbox's $HOME) or a path relative to the run dir"
                )
        return self

    @property
    def in_process(self) -> bool:
        return self.api == "in-process"


def check_limits(runner: RunnerDef, memory_mb: int) -> None:
    """SpecError when the sandbox's memory_mb (its address-space rlimit) is below what the runner needs."""
    if memory_mb < runner.min_memory_mb:
        raise SpecError(
            f"runner {runner.name} needs sandbox memory_mb >= {runner.min_memory_mb} (its address space; below it "
            f"the CLI dies or silently does nothing), the spec gives {memory_mb}; raise sandbox.memory_mb"
        )


SHAPE_OF_API = {"anthropic": "anthropic", "openai-chat": "openai", "openai-responses": "openai", "gemini": "gemini"}
"""A runner's API -> the gateway's upstream shape it needs (arena.gateway.upstream: "openai", "anthropic", "gemini")."""


def check_model_shape(runner: RunnerDef, shape: str, model: str) -> None:
    """SpecError when the model's upstream speaks another API than the CLI (the gateway relays, never translates)."""
    if runner.in_process:
        return
    needed = SHAPE_OF_API.get(runner.api)
    if needed is None:
        raise SpecError(f"runner {runner.name} speaks the {runner.api} API, which the gateway does not serve")
    if needed != shape:
        example = {
            "anthropic": "anthropic/claude-sonnet-4-5",
            "gemini": "gemini/gemini-2.5-pro",
        }.get(needed, "openai/<model> (with api_base: for an OpenAI-compatible server)")
        raise SpecError(
            f"runner {runner.name} speaks the {runner.api} API, but {model} is served in the {shape} API and the "
            f"gateway relays requests as they are; give {runner.name} a model like {example}"
        )


def load_runner_file(path: Path) -> RunnerDef:
    """One YAML file -> RunnerDef; SpecError naming the file and the field that is wrong."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise SpecError(f"runner file {path}: cannot be read as YAML ({e}); fix the file") from None
    if not isinstance(data, dict):
        raise SpecError(f"runner file {path}: expected a mapping (name:, api:, install:, command:, ...)")
    data.setdefault("name", path.stem)
    try:
        return RunnerDef(**data, source=str(path))
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors())
        raise SpecError(
            f"runner file {path}: {problems}; fix the file (see arena/runners/builtin/ for examples)"
        ) from None


def _builtin_files() -> list[Path]:
    return sorted(BUILTIN.glob("*.yaml"))


@functools.cache
def _load(user_dir: str | None) -> dict[str, RunnerDef]:
    runners = {r.name: r for r in map(load_runner_file, _builtin_files())}
    if user_dir:
        directory = Path(user_dir).expanduser()
        if not directory.is_dir():
            raise SpecError(f"ARENA_RUNNERS_DIR={user_dir} is not a directory; create it or unset the variable")
        for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
            runner = load_runner_file(path)
            runners[runner.name] = runner
    return runners


def runners() -> dict[str, RunnerDef]:
    """Every runner by name: the built-ins, then ARENA_RUNNERS_DIR's (read once per process and directory)."""
    return _load(setting("ARENA_RUNNERS_DIR"))


def runner_names() -> list[str]:
    """The default runner first, then the others by name."""
    return sorted(runners(), key=lambda n: (n != DEFAULT_RUNNER, n))


def get_runner(name: str) -> RunnerDef:
    """The runner called `name`; SpecError listing the known ones otherwise."""
    found = runners().get(name)
    if found is None:
        raise SpecError(
            f"unknown runner {name!r}; known runners: {', '.join(runner_names())} "
            "(add one with a YAML file in ARENA_RUNNERS_DIR)"
        )
    return found


def split_runner(model_half: str) -> tuple[str, str]:
    """(RUNNER, model) of an identity's MODEL half (arena.identity): `claude-code/anthropic/x` -> ('claude-code',
    'anthropic/x'); a half that names no runner first is mini-swe-agent's."""
    head, sep, rest = model_half.partition("/")
    if sep and rest and head != DEFAULT_RUNNER and head in runners():
        return head, rest
    return DEFAULT_RUNNER, model_half
