"""Runners: the agents a contestant can be. mini-swe-agent (the default) runs in the arena's process; the others
are CLI coding agents (Claude Code, Codex, aider, ...) that run inside the contestant's sandbox as one command.

How a CLI runner runs (the engine's side, in order):

    get_runner(name)                     a RunnerDef from builtin/<name>.yaml or $ARENA_RUNNERS_DIR/<name>.yaml
    check_limits(runner, memory_mb)      the spec's sandbox memory_mb covers the CLI (min_memory_mb)
    check_model_shape(runner, shape, m)  the model's upstream API is the one the CLI speaks
    ensure_installed(runner, tools_dir)  the pinned package, once per machine, under <data dir>/tools
    backend.create(..., mounts=[(install dir, TOOLS_MOUNT/<name>), (gateway socket dir, GATEWAY_MOUNT)])
    sandbox.upload("arena-prompt.md", prompt)
    sandbox.execute(invocation(runner, ...), timeout=...)   forwarder + CLI; exits with the CLI's exit code
    sandbox.download(TRANSCRIPT_NAME) -> read_transcript(runner, data) -> trajectory messages
    sandbox.diff()                        the patch, as for every runner

The sandbox has no network: the CLI's base URL is a forwarder on the sandbox's own loopback that relays to the
host gateway's unix socket (mounted read-only), and its key is a per-contestant virtual key. Adding a runner is
one YAML file (see registry.py and builtin/).
"""

from arena.runners.install import ensure_installed, install_dir
from arena.runners.invocation import (
    FORWARDER_FAILED,
    GATEWAY_MOUNT,
    RUN_DIR_NAME,
    TOOLS_MOUNT,
    TRANSCRIPT_NAME,
    invocation,
)
from arena.runners.registry import (
    DEFAULT_RUNNER,
    RunnerDef,
    check_limits,
    check_model_shape,
    get_runner,
    load_runner_file,
    runner_names,
    runners,
    split_runner,
)
from arena.runners.transcripts import read_transcript

__all__ = [
    "DEFAULT_RUNNER",
    "FORWARDER_FAILED",
    "GATEWAY_MOUNT",
    "RUN_DIR_NAME",
    "TOOLS_MOUNT",
    "TRANSCRIPT_NAME",
    "RunnerDef",
    "check_limits",
    "check_model_shape",
    "ensure_installed",
    "get_runner",
    "install_dir",
    "invocation",
    "load_runner_file",
    "read_transcript",
    "runner_names",
    "runners",
    "split_runner",
]
