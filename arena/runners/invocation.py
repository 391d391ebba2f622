"""The one bash command a CLI runner is inside the sandbox.

    write the runner's config files (under $HOME or the run dir, <tmp>/arena-runner)
    start the forwarder (/usr/bin/python3 forwarder.py) on 127.0.0.1:<port of base_url> -> the gateway socket
    wait until it listens (exit FORWARDER_FAILED with its log if it does not within 10 s)
    run the CLI with the runner's environment, stdin from /dev/null, in the workspace;
        its transcript goes to <run dir>/transcript (its stdout, or a file it is told to write)
    stop the forwarder; exit with the CLI's exit code

The CLI sees a base URL on its own loopback and a virtual key; the real key never enters the sandbox. Templates
are Jinja with StrictUndefined; values reach the shell only through shlex quoting (the `q` filter, `export`).
"""

import shlex
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from arena.errors import SpecError
from arena.runners.registry import RunnerDef

RUN_DIR_NAME = "arena-runner"
"""The run dir, in the sandbox's private /tmp: forwarder files, config files, the transcript."""
TRANSCRIPT_NAME = f"{RUN_DIR_NAME}/transcript"
"""What to pass to `sandbox.download` for the transcript (a path relative to the sandbox's /tmp)."""
FORWARDER_FAILED = 97
"""Exit code when the gateway forwarder could not start (an infrastructure failure, not the agent's)."""
TOOLS_MOUNT = "/arena/tools"
"""Where a runner's install dir is mounted: TOOLS_MOUNT/<runner name>."""
GATEWAY_MOUNT = "/arena/gateway"
"""Where the gateway socket's directory is mounted."""

FORWARDER = Path(__file__).with_name("forwarder.py")
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
_ENV.filters["q"] = lambda value: shlex.quote(str(value))


def _render(runner: RunnerDef, what: str, template: str, values: dict) -> str:
    try:
        return _ENV.from_string(template).render(**values)
    except jinja2.TemplateError as e:
        raise SpecError(
            f"runner {runner.name} ({runner.source}): {what} does not render: {e}; "
            "templates may use model, prompt, base_url, key, tools, transcript, run_dir, port, extra (value in options)"
        ) from None


def _option_args(runner: RunnerDef, options: dict, values: dict) -> list[str]:
    args = []
    for name, value in options.items():
        if name == "flags":
            if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
                raise SpecError(f"runner {runner.name}: option `flags` must be a list of arguments, got {value!r}")
            args += [shlex.quote(str(v)) for v in value]
        elif name in runner.options:
            args.append(_render(runner, f"option {name}", runner.options[name], values | {"value": value}))
        else:
            known = ", ".join(["flags", *runner.options])
            raise SpecError(f"runner {runner.name} has no option {name!r}; its options: {known}")
    return args


def _file_path(path: str) -> str:
    """`~/x` is under $HOME, anything else under the run dir."""
    return f'"$HOME"/{shlex.quote(path[2:])}' if path.startswith("~/") else f'"$RUN"/{shlex.quote(path)}'


def invocation(
    runner: RunnerDef,
    *,
    model: str,
    prompt_path: str,
    base_url: str,
    key: str,
    options: dict,
    tools_path: str,
    gateway_socket: str,
    tmp: str = "/tmp",
) -> str:
    """The bash command that runs `runner` on the task in `prompt_path` (a file in the sandbox) and exits with its code.

    Args:
        model: the model name as the CLI should send it (the gateway maps it).
        prompt_path: the prompt file inside the sandbox (upload it with sandbox.upload).
        base_url: `http://127.0.0.1:<port>`, the forwarder's address; templates add `/v1` where the CLI wants it.
        key: the contestant's virtual key for the gateway.
        options: the spec's runner options (`flags: [...]` and the runner's own, e.g. `effort`).
        tools_path: the runner's install dir as commands see it (TOOLS_MOUNT/<name>, or sandbox.path_of of it).
        gateway_socket: the gateway's unix socket as commands see it.
        tmp: the sandbox's private /tmp as commands see it (unsafe-local: sandbox.path_of("/tmp")).
    """
    if runner.in_process or runner.command is None:
        raise SpecError(f"runner {runner.name} runs in the arena's own process; it has no command line")
    port = urlsplit(base_url).port
    if urlsplit(base_url).hostname != "127.0.0.1" or port is None:
        raise SpecError(f"base_url {base_url!r} must be http://127.0.0.1:<port> (the forwarder in the sandbox)")
    run_dir = f"{tmp.rstrip('/')}/{RUN_DIR_NAME}"
    transcript = f"{run_dir}/transcript"
    values = {
        "model": model,
        "prompt": prompt_path,
        "base_url": base_url.rstrip("/"),
        "key": key,
        "tools": tools_path,
        "transcript": transcript,
        "run_dir": run_dir,
        "port": port,
    }
    extra = " ".join(_option_args(runner, options, values))
    command = _render(runner, "command", runner.command, values | {"extra": extra}).strip()
    if "extra" not in runner.command:  # a template that does not place them gets them at the end
        command = f"{command} {extra}".strip()
    forwarder = FORWARDER.read_text()
    lines = [
        "set -u",
        "arena_workdir=$PWD",
        f"RUN={shlex.quote(run_dir)}",
        'mkdir -p "$RUN" && rm -f "$RUN/forwarder.ready" "$RUN/transcript"',
    ]
    for path, template in runner.files.items():
        target = _file_path(path)
        content = _render(runner, f"file {path}", template, values)
        lines.append(f'mkdir -p "$(dirname {target})" && printf %s {shlex.quote(content)} > {target}')
    lines += [
        f"/usr/bin/python3 -I -c {shlex.quote(forwarder)} {shlex.quote(gateway_socket)} {port} "
        '"$RUN/forwarder.ready" 2> "$RUN/forwarder.log" &',
        "arena_forwarder=$!",
        'for _ in $(seq 100); do [ -s "$RUN/forwarder.ready" ] && break; sleep 0.1; done',
        'if [ ! -s "$RUN/forwarder.ready" ]; then',
        f'  echo "arena: the gateway forwarder did not start on 127.0.0.1:{port}:" >&2',
        f'  cat "$RUN/forwarder.log" >&2; kill $arena_forwarder 2>/dev/null; exit {FORWARDER_FAILED}',
        "fi",
    ]
    lines += [
        f"export {name}={shlex.quote(_render(runner, f'env {name}', v, values))}" for name, v in runner.env.items()
    ]
    redirect = '> "$RUN/transcript"' if runner.transcript.source == "stdout" else ""
    lines += [
        f"{{\n{command}\n}} < /dev/null {redirect}",
        "arena_code=$?",
        "kill $arena_forwarder 2>/dev/null",
        *([f'(cd "$arena_workdir" && rm -rf -- {" ".join(map(shlex.quote, runner.leaves))})'] if runner.leaves else []),
        "exit $arena_code",
    ]
    return "\n".join(lines) + "\n"
