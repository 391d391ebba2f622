"""Before anything is written: check a spec (validate), and prepare its task once (prepare_task)."""

from pathlib import Path

from arena.errors import SpecError
from arena.gateway.upstream import resolve as resolve_upstream
from arena.identity import DEFAULT_RUNNER
from arena.judging.detect import detect_test_command
from arena.llm import RetryPolicy, check_litellm_model
from arena.protocols import PreparedTask, SandboxBackend
from arena.runners import check_limits, check_model_shape, get_runner
from arena.sandboxes import RepoCache, get_backend
from arena.sandboxes.repos import git
from arena.spec import ArenaSpec


def validate(spec: ArenaSpec, repos: RepoCache) -> str:
    """Check everything a launch needs and return the base commit's sha. Raises UserError; writes no rows."""
    get_backend(spec.sandbox, repos).check_available()
    task = spec.task
    if not task.is_remote:
        if not Path(task.repo).is_dir():
            raise SpecError(f"task.repo: {task.repo} does not exist; give a local git repository or an https git URL")
        top = git("rev-parse", "--show-toplevel", cwd=task.repo, check=False).strip()
        if not top:
            raise SpecError(f"task.repo: {task.repo} is not a git repository; run `git init` there or point to one")
        if Path(top).resolve() != Path(task.repo).resolve():
            raise SpecError(f"task.repo: {task.repo} is a folder inside the repository {top}; point task.repo at {top}")
    if task.problem_statement_file:
        try:
            Path(task.problem_statement_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError(
                f"task.problem_statement_file: cannot read {task.problem_statement_file} as UTF-8 text ({e})"
            ) from None
    if any(c.kind == "litellm" for c in spec.contestants) or spec.judge.model:
        RetryPolicy.from_env()  # a malformed ARENA_MODEL_* variable fails here, not mid-run
    for i, c in enumerate(spec.contestants):
        try:
            c.read_strategy()
            if c.kind == "litellm":
                check_litellm_model(c.model, c.api_base, c.api_key_env)
                # Its calls go through the gateway (arena/gateway): a model it cannot forward fails here, not mid-run.
                upstream = resolve_upstream(c.model, c.api_base, c.api_key_env)
                if c.runner != DEFAULT_RUNNER:
                    _check_cli_runner(spec, c.runner, upstream.shape, c.model)
            else:
                c.read_steps()
        except SpecError as e:
            raise SpecError(f"contestants[{i}] ({c.name}): {e}") from None
    spec.agents()  # two contestants that would be one agent but are not the same underneath are refused
    if spec.judge.model:
        try:
            check_litellm_model(spec.judge.model, spec.judge.api_base, spec.judge.api_key_env)
        except SpecError as e:
            raise SpecError(f"judge.model: {e}") from None
    return repos.resolve(task.repo, task.base)


def _check_cli_runner(spec: ArenaSpec, name: str, shape: str, model: str) -> None:
    """A CLI runner runs in a local sandbox big enough for it, on a model served in the API it speaks."""
    runner = get_runner(name)
    if spec.sandbox.backend == "e2b":
        raise SpecError(
            f"runner: {name} runs in the local sandbox only: the gateway that holds the model key is on this host, "
            "and E2B's sandboxes cannot reach it; use sandbox: {backend: local} for CLI runners"
        )
    check_limits(runner, spec.sandbox.memory_mb)
    check_model_shape(runner, shape, model)


def prepare_task(backend: SandboxBackend, spec: ArenaSpec, base_sha: str, log_path: Path) -> PreparedTask:
    """The prepared checkout, its Python environment ready for the test command the judge will run.

    Without a test command in the spec the judge detects one in the checkout; the backend detects the same
    one as it creates the checkout, so it can add pytest before the checkout is shared.
    """
    task = spec.task
    return backend.prepare(
        task.repo, base_sha, task.setup_command, log_path, test_command=task.test_command or _detected
    )


def _detected(checkout: Path) -> str | None:
    found = detect_test_command(checkout)
    return found.command if found else None
