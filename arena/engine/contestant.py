"""One contestant's run: a sandbox from the prepared task, the agent until it submits or is stopped, its patch.

    sandbox ── ContestantAgent.run ── patch.diff ── row (always, in `finally`)

One contestant's crash is data on its row; it never disturbs the others.
"""

import traceback
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from arena.agents.environment import SandboxEnvironment
from arena.agents.models import make_model
from arena.agents.runner import ContestantAgent, StopSignal
from arena.agents.strategies import agent_config, model_config
from arena.artifacts import PATCH, TRAJECTORY_INFO
from arena.engine.cli_contestant import contestant_key, run_cli_contestant
from arena.errors import ArenaError
from arena.gateway import gateway_for
from arena.identity import DEFAULT_RUNNER, split_identity
from arena.llm import RetryPolicy
from arena.protocols import PreparedTask, Sandbox, SandboxBackend
from arena.sandboxes import sandbox_uid
from arena.spec import ArenaSpec, ContestantSpec
from arena.storage import Status, Store, utcnow


@dataclass
class ContestantRun:
    row_id: int
    spec: ContestantSpec
    run_dir: Path
    agent: str = ""
    """Its agent identity (arena.identity)."""
    stop: StopSignal = field(default_factory=StopSignal)
    sandbox: Sandbox | None = None
    lost: bool = False
    """Its arena was recovered by another process: its row keeps the status recovery gave it."""
    attempt: int = 1
    """Which run of it this is (the queue runs a contestant again when its worker died); its trajectory's messages
    are kept per attempt."""

    @property
    def patch_path(self) -> Path:
        return self.run_dir / "patch.diff"

    def halt(self, reason: str) -> None:
        self.stop.stop(reason)
        if self.sandbox is not None:
            self.sandbox.cancel()


def run_contestant(
    store: Store, arena_id: str, spec: ArenaSpec, c: ContestantRun, backend: SandboxBackend, prepared: PreparedTask
) -> None:
    """Run one contestant to its end in a fresh sandbox; its row is written whatever happens (in `finally`)."""
    traj_path, patch_path = c.run_dir / "traj.json", c.patch_path
    store.update_contestant(
        c.row_id, status=Status.RUNNING, started_at=utcnow(), heartbeat_at=utcnow(), trajectory_path=str(traj_path)
    )
    fields: dict = {}
    agent: ContestantAgent | None = None
    gateway = None
    try:
        if c.stop.reason:  # stopped between being scheduled and starting
            raise _Stopped()
        strategy = c.spec.read_strategy()
        if c.spec.kind == "litellm":  # every model call goes through the host's gateway (arena/gateway)
            gateway = gateway_for(store)
            if why := gateway.budget_exhausted(arena_id):
                raise _OverBudget(why)
        if c.spec.runner != DEFAULT_RUNNER:
            outcome = run_cli_contestant(
                store, arena_id, c, backend, prepared, gateway, spec.problem_statement, spec.limits.time_budget_s
            )
            fields |= outcome.fields
            fields["status"] = Status(c.stop.reason) if c.stop.reason else Status.COMPLETED
            return
        c.sandbox = backend.create(prepared, c.run_dir / "sandbox", sandbox_uid(arena_id, c.spec.name))
        if c.stop.reason:
            c.sandbox.cancel()
        metered = None
        if gateway is not None:
            metered = (gateway, contestant_key(gateway, arena_id, c))
        model = make_model(c.spec, model_config(strategy), RetryPolicy.from_env(), gateway=metered)
        env = SandboxEnvironment(c.sandbox, backend.name, spec.sandbox.command_timeout_s)
        agent = ContestantAgent(
            model,
            env,
            trajectory_path=traj_path,
            stop=c.stop,
            on_step=lambda a: store.update_contestant(c.row_id, **_progress(a)),
            keep=lambda start, messages, info: _keep(store, arena_id, c, start, messages, info),
            meter=(lambda: gateway.usage(arena_id, c.spec.name)) if gateway is not None else None,
            arena_info={
                "arena_id": arena_id,
                "contestant": c.spec.name,
                "model": split_identity(c.agent)[0],
                "strategy": split_identity(c.agent)[1],
                "agent": c.agent,
            },
            step_limit=c.spec.step_limit,
            cost_limit=c.spec.cost_limit,
            wall_time_limit_seconds=c.spec.wall_time_limit_s,
            **agent_config(strategy),
        )
        result = agent.run(spec.problem_statement)
        fields["exit_status"] = result.get("exit_status") or "Unknown"
        fields["status"] = Status(c.stop.reason) if c.stop.reason else Status.COMPLETED
    except _Stopped:
        fields |= {"status": Status(c.stop.reason), "exit_status": _exit_name(c.stop.reason)}
    except _OverBudget as e:  # the arena's or the day's budget is spent: this contestant does not start
        fields |= {"status": Status.COMPLETED, "exit_status": "LimitsExceeded", "error": str(e)}
    except Exception as e:  # one contestant's crash is data; it never disturbs the others
        fields |= {
            "status": Status(c.stop.reason) if c.stop.reason else Status.FAILED,
            "exit_status": type(e).__name__,
            "error": f"{type(e).__name__}: {e}"[:4000],
            "traceback": traceback.format_exc(),
        }
    finally:
        if c.sandbox is not None:
            try:
                patch_path.parent.mkdir(parents=True, exist_ok=True)
                patch = c.sandbox.diff()
                patch_path.write_bytes(patch)
                fields["patch_path"] = str(patch_path)
                store.put_artifact(arena_id, c.spec.name, PATCH, patch)  # for machines without this file
            except ArenaError as e:
                fields["error"] = ((fields.get("error") or "") + f"\npatch not collected: {e}").strip()
            c.sandbox.close()
        if agent is not None:
            fields |= _progress(agent)
        if gateway is not None:
            gateway.revoke(arena_id, c.spec.name)  # its key is refused from now on, wherever it leaked to
            if agent is not None:  # costs come from the gateway's meter, the same for every runner
                usage = gateway.usage(arena_id, c.spec.name)
                fields |= {"cost": usage.cost, "tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out}
                if usage.limit_hit and fields.get("exit_status") not in ("Submitted",):
                    fields |= {"exit_status": "LimitsExceeded", "error": usage.limit_hit}
        if c.lost:  # recovered elsewhere as interrupted: keep that status, add what we learned
            fields.pop("status", None)
        store.update_contestant(c.row_id, finished_at=utcnow(), **fields)


def _keep(store: Store, arena_id: str, c: ContestantRun, start: int, messages: list[dict], info: dict) -> None:
    """The shared store's copy of the trajectory (arena/artifacts.py): the new messages, and the rest of the file."""
    store.append_steps(arena_id, c.spec.name, c.attempt, start, messages)
    store.put_artifact(arena_id, c.spec.name, TRAJECTORY_INFO, orjson.dumps(info, default=str))


class _Stopped(Exception):
    """A contestant stopped before its agent started."""


class _OverBudget(Exception):
    """The arena's or the day's model budget was spent before this contestant started."""


def _exit_name(reason: str | None) -> str:
    return {"cancelled": "Cancelled", "timed_out": "TimedOut"}.get(reason or "", "Stopped")


def _progress(agent: ContestantAgent) -> dict:
    return {
        "steps": agent.n_calls,
        "cost": agent.cost,
        "tokens_in": agent.tokens_in,
        "tokens_out": agent.tokens_out,
        "heartbeat_at": utcnow(),
    }
