"""Installing a runner's CLI once per machine per (runner, version), under the tools dir the sandboxes mount.

    <tools_dir>/<package>-<version>/          e.g. claude-code-2.1.332, aider-chat-0.86.2
        node_modules/.bin/...                 npm install --prefix (Node CLIs run with the host's /usr/bin/node)
        venv/                                 PyPI: a venv of /usr/bin/python3, the Python every sandbox has
        .arena-installed                      written last: its presence means the install is complete and checked
    <tools_dir>/.<package>-<version>.lock     flock: parallel contestants and workers install once, the rest wait
    <tools_dir>/<package>-<version>.log       the install's output (kept on failure)

A half-made directory (a crash mid-install) has no marker and is redone. The install is made readable by every
uid (the sandbox's is not root's) and checked with the runner's `install.check` before the marker is written.
"""

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from arena.errors import SetupFailed, SpecError
from arena.runners.invocation import _ENV
from arena.runners.registry import RunnerDef

INSTALL_TIMEOUT_S = 1200
MARKER = ".arena-installed"
PYTHON = "/usr/bin/python3"


def install_dir(runner: RunnerDef, tools_dir: Path) -> Path:
    """Where `runner`'s pinned version is (or will be) installed."""
    if runner.install is None:
        raise SpecError(f"runner {runner.name} runs in the arena's own process; there is nothing to install")
    return Path(tools_dir) / runner.install.key


def ensure_installed(runner: RunnerDef, tools_dir: Path, log: Callable[[str], None] | None = None) -> Path:
    """The runner's install dir under `tools_dir`, installing it first if no one has (waits for one who is).

    Raises:
        SetupFailed: the install or its check failed; the message has the log's tail, `log` the whole of it.
    """
    dest = install_dir(runner, tools_dir)
    if (dest / MARKER).exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (dest / MARKER).exists():  # someone else installed it while we waited
            return dest
        say = log or (lambda _: None)
        say(f"installing runner {runner.name} ({runner.install.package}) into {dest}")
        started = time.monotonic()
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        log_path = dest.parent / f"{dest.name}.log"
        home = dest.parent / f".{dest.name}.home"  # what the steps write to $HOME stays out of the mounted dir
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
        try:
            with open(log_path, "w") as out:
                for step in _steps(runner, dest):
                    out.write(f"$ {step}\n")
                    out.flush()
                    _run(runner, step, dest, home, out, log_path)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        subprocess.run(["chmod", "-R", "a+rX", str(dest)], check=True)
        (dest / MARKER).write_text(json.dumps({"runner": runner.name, "package": runner.install.package}) + "\n")
        say(f"installed runner {runner.name} in {time.monotonic() - started:.0f} s")
        return dest


def _steps(runner: RunnerDef, dest: Path) -> list[str]:
    install = runner.install
    assert install is not None
    if install.npm:
        steps = [f"npm install --prefix {shlex.quote(str(dest))} --no-audit --no-fund {shlex.quote(install.npm)}"]
    else:
        venv = shlex.quote(str(dest / "venv"))
        steps = [
            f"{PYTHON} -m venv {venv}",
            f"{venv}/bin/pip install --disable-pip-version-check --no-input -q {shlex.quote(install.pypi or '')}",
        ]
    tools = {"tools": shlex.quote(str(dest))}
    steps += [_ENV.from_string(cmd).render(**tools) for cmd in install.post_install]
    return steps + [_ENV.from_string(install.check).render(**tools)]


def _run(runner: RunnerDef, step: str, dest: Path, home: Path, out, log_path: Path) -> None:
    cache = {"npm_config_cache": str(Path.home() / ".npm")}  # npm's usual cache, though $HOME is elsewhere
    env = os.environ | cache | {"npm_config_update_notifier": "false", "PIP_PROGRESS_BAR": "off", "HOME": str(home)}
    try:
        result = subprocess.run(
            ["bash", "-c", step], cwd=dest, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT_S
        )
        code = result.returncode
    except subprocess.TimeoutExpired:
        code = None
    if code == 0:
        return
    out.flush()
    tail = log_path.read_text()[-3000:]
    what = f"timed out after {INSTALL_TIMEOUT_S} s" if code is None else f"exited {code}"
    raise SetupFailed(
        f"installing runner {runner.name} ({runner.install.package if runner.install else ''}) failed: `{step}` {what}. "
        f"Its log is {log_path}; the package registry must be reachable (npm for Node CLIs, PyPI for aider), "
        f"and the pinned version must exist. Log tail:\n{tail}",
        log_path.read_text(),
    )
