"""The `arena` command. Exit codes: 0 done, 1 internal error (or the arena failed), 2 bad input."""

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from arena.config import Settings
from arena.errors import ArenaError, UserError
from arena.identity import agent_identity
from arena.report import arena_json, model_calls, verdict_json
from arena.spec import is_git_url
from arena.storage import QUEUE_OWNER, ArenaRow, Status

EPILOG = {
    "run": "example:\n  arena run examples/arena.yaml --json",
    "list": "example:\n  arena list --status completed",
    "show": "example:\n  arena show 3f9c2a1b --json",
    "cancel": "examples:\n  arena cancel 3f9c2a1b\n  arena cancel 3f9c2a1b --contestant fix-a",
    "demo": "example:\n  arena demo --json",
    "judge": "example:\n  arena judge 3f9c2a1b --json",
    "export": "examples:\n  arena export 3f9c2a1b -o preds.jsonl            # SWE-bench predictions (any arena)\n"
    "  arena export 3f9c2a1b --format patch > fix.diff  # the plain diff\n"
    "  arena export 3f9c2a1b --format trajectory --contestant fix-a > fix-a.traj.json",
    "apply": "example:\n  arena apply 3f9c2a1b          # commits the winner on branch arena/3f9c2a1b-<name>",
    "sync": "example:\n  arena sync --json              # merges and reverts: applied patches and GitHub PRs",
    "pr": "examples:\n  arena pr 3f9c2a1b --json                  # push every candidate, open or update the draft PR\n"
    "  arena pr 3f9c2a1b --contestant fix-b      # point the PR at another candidate",
    "abandon": "example:\n  arena abandon 3f9c2a1b        # the winner's stake is returned, nothing merges",
    "agent": "examples:\n  arena agent openai/gpt-4.1-mini+minimal-fix --json\n"
    "  arena agent scripted:fix.yaml@1a2b3c4d+balanced     # as `arena show --json` names it\n"
    "  arena agent scripted:steps/fix.yaml+balanced        # as a spec names it: the file is hashed",
    "spec": "example:\n  arena spec 3f9c2a1b > again.yaml && arena run again.yaml   # runs wherever the repo is",
    "ingest": "example:\n  arena ingest ../shared/data/trajectories --json",
    "leaderboard": "example:\n  arena leaderboard --by model --source imported --json",
    "webhooks": "examples:\n  ARENA_WEBHOOK_SECRET=$(cat webhook-secret) arena webhooks --port 8090\n"
    "  arena webhooks --host 0.0.0.0   # behind TLS; GitHub posts to https://HOST/github/webhook",
    "worker": "examples (PostgreSQL: ARENA_DATABASE_URL=postgresql+psycopg://...):\n"
    "  arena worker --concurrency 8                      # every queue\n"
    "  arena worker --queue contestants --concurrency 16  # a machine for contestants only\n"
    '  arena run spec.yaml --detach --json               # prints {"arena_id": ...}; a worker runs it\n'
    "  arena worker --health-port 8091                   # GET :8091/health: 200 JSON, 503 when the database is down\n"
    "  ARENA_LOG_FORMAT=json arena worker                # one JSON object a line, secrets redacted",
    "health": "examples:\n  arena health          # database, jobs waiting and running, the oldest wait, workers seen\n"
    "  arena health --json   # exits 1 when the database does not answer",
    "db": "examples:\n  arena db upgrade     # bring the schema to the newest migration (also done on first use)\n"
    "  arena db current",
}
GITHUB_EXAMPLE = (
    "\nA GitHub issue (GITHUB_TOKEN or a GitHub App set):\n  arena run --issue acme/calc#12 --pr "
    "--contestant a=openai/gpt-4.1-mini:minimal-fix --contestant b=openai/gpt-4.1:test-first"
)
SWEBENCH_EXAMPLE = (
    "\nSWE-bench:\n  arena run --swebench inst.json --repo ./astropy-mirror --test-command 'python -m pytest -q' \\\n"
    "      --contestant a=openai/gpt-4.1-mini:minimal-fix --contestant b=scripted:steps/b.yaml"
)


def _print_verdict(verdict) -> None:
    if verdict is None:
        return
    if verdict.error:
        print(f"  judge failed: {verdict.error.strip().splitlines()[0]}")
        return
    coverage = f"{verdict.resolved}/{verdict.candidates} candidates resolved"
    print(f"  verdict: winner {verdict.winner or 'none (no candidate passes the gates)'}; {coverage}")
    judge = verdict.judge or {}
    print(f"  tests: {judge.get('test_command') or '-'} ({judge.get('test_command_source', '')})")
    for key in ("note", "sentinels"):  # what the judge could not check, and how it checked the framework
        if judge.get(key):
            print(f"  {key}: {judge[key]}")
    if judge.get("fallback"):
        print(f"  ranking: {judge['fallback']}")
    for p in verdict.ranking:
        print(f"   {p['rank']}. {p['name']:<18} {p['reasons'][0]}")
        for reason in p["reasons"][1:]:
            print(f"      - {reason}")


def _print_arena(row: ArenaRow, verdict=None, calls: dict | None = None) -> None:
    """`calls`: report.model_calls of the arena (each contestant's model calls through the gateway), if read."""
    calls = calls or {}
    print(f"arena {row.id}  {row.status}  {row.title}")
    print(f"  repo {row.repo} @ {row.base_sha[:12]}")
    if row.error:
        print(f"  error: {row.error.strip().splitlines()[0]}")
    if row.setup_log_path:
        print(f"  setup log: {row.setup_log_path}")
        if row.status == Status.FAILED:
            from arena.artifacts import setup_log

            tail = (setup_log(_store(), row.id, row.setup_log_path) or "").splitlines()[-15:]
            print("\n".join(f"    | {line}" for line in tail))
    print(f"  {'contestant':<20} {'status':<12} {'exit':<18} {'steps':>5} {'cost':>8}  agent")
    for c in row.contestants:
        agent = agent_identity(c.model, c.strategy)
        print(f"  {c.name:<20} {c.status:<12} {c.exit_status or '-':<18} {c.steps:>5} {c.cost:>8.4f}  {agent}")
        if c.patch_path:
            print(f"      patch {c.patch_path}")
        if c.error:  # a completed contestant can still carry one (its patch was refused, say)
            print("\n".join(f"      {line}" for line in c.error.strip().splitlines()[:3]))
        if calls.get(c.name):
            n = calls[c.name]
            print(
                f"      model calls {n['requests']} (retried {n['retries']}, failed {n['errors']}), "
                f"tokens {c.tokens_in} in ({n['cache_read']} cache read, {n['cache_write']} cache write) / "
                f"{c.tokens_out} out"
            )
    _print_verdict(verdict)


def _engine():
    from arena.engine import Engine
    from arena.publish.listener import Publisher

    engine = Engine(Settings.from_env())
    engine.listeners.append(Publisher(engine.store, engine.settings))  # arenas on GitHub publish themselves
    return engine


def _store():
    """The store, migrated, after recovering runs whose owner stopped renewing its lease (arena/recovery.py)."""
    from arena.recovery import open_store

    return open_store(Settings.from_env())


def _run_spec(
    spec_path: Path | None, as_json: bool, swebench_args: argparse.Namespace | None = None, detach: bool = False
) -> int:
    from arena.engine import validate
    from arena.sandboxes import RepoCache
    from arena.spec import load_spec, spec_from_dict

    if spec_path:
        spec = load_spec(spec_path)
    elif swebench_args.issue:
        spec = spec_from_dict(_issue_spec(swebench_args), Path.cwd(), "--issue")
    else:
        spec = spec_from_dict(_swebench_spec(swebench_args), Path.cwd(), "--swebench")
    base_sha = validate(spec, RepoCache(Settings.from_env().cache_dir))  # bad input exits 2 before anything is written
    if detach:
        return _detach(spec, base_sha, as_json)
    engine = _engine()
    arena_id = engine.launch(spec, base_sha)
    if not as_json:
        print(f"arena {arena_id}: {len(spec.contestants)} contestants; Ctrl-C cancels", file=sys.stderr)
    interrupted = False
    try:
        _follow(engine, arena_id, quiet=as_json)
    except KeyboardInterrupt:
        print("cancelling...", file=sys.stderr)
        interrupted = True
        engine.cancel(arena_id)
        engine.wait(arena_id)
    row, verdict = engine.store.arena(arena_id), engine.store.latest_verdict(arena_id)
    engine.shutdown()
    published = engine.store.publication(arena_id)
    if published is not None and published.error:
        print(f"GitHub: {published.error}", file=sys.stderr)
    code = _report(row, verdict, as_json, published, model_calls(engine.store, row))
    return 130 if interrupted else code  # the shell's convention for "stopped by Ctrl-C"


def _detach(spec, base_sha: str, as_json: bool) -> int:
    """Queue the arena for the workers (arena/queue) and return at once with its id."""
    from arena.queue.jobs import QueueLauncher

    arena_id = QueueLauncher(Settings.from_env()).launch(spec, base_sha)
    if as_json:
        print(json.dumps({"arena_id": arena_id}), file=sys.__stdout__)
    else:
        print(
            f"arena {arena_id} queued ({len(spec.contestants)} contestants): `arena worker` runs it; "
            f"`arena show {arena_id}` follows it"
        )
    return 0


def _follow(engine, arena_id: str, quiet: bool) -> None:
    """Block until the arena ends, printing each contestant's status change to stderr."""
    seen: dict[str, str] = {}
    while not engine.wait(arena_id, timeout=0.5):
        if quiet:
            continue
        for c in engine.store.arena(arena_id).contestants:
            state = f"{c.status} {c.exit_status or ''}".strip()
            if seen.get(c.name) != state:
                seen[c.name] = state
                print(f"  {c.name}: {state} (steps {c.steps})", file=sys.stderr)


def _report(row: ArenaRow, verdict, as_json: bool, published=None, calls: dict | None = None) -> int:
    if as_json:
        print(json.dumps(arena_json(row, verdict, published, calls)), file=sys.__stdout__)
    else:
        _print_arena(row, verdict, calls)
    return 1 if row.status == Status.FAILED else 0


def _issue_spec(args: argparse.Namespace) -> dict:
    """A spec dict from `--issue OWNER/REPO#N --contestant NAME=MODEL[:STRATEGY] ... [--pr]`."""
    from arena.tasks.github_issue import parse_issue_ref

    task = {"github_issue": str(parse_issue_ref(args.issue))}  # the URL form too
    task |= {k: v for k, v in (("setup_command", args.setup_command), ("test_command", args.test_command)) if v}
    contestants = _contestants(args, "--issue")
    return {"task": task, "contestants": contestants, "publish": {"pull_request": bool(args.pr)}}


def _swebench_spec(args: argparse.Namespace) -> dict:
    """A spec dict from `--swebench FILE --contestant NAME=MODEL[:STRATEGY] ...` and the task overrides."""
    contestants = _contestants(args, "--swebench")
    overrides = {
        "repo": args.repo,
        "base": args.base,
        "setup_command": args.setup_command,
        "test_command": args.test_command,
        "instance_id": args.instance_id,
    }
    task = {"swebench": args.swebench} | {k: v for k, v in overrides.items() if v is not None}
    for key in ("repo",):
        if key in task and not is_git_url(task[key]):
            task[key] = str(Path(task[key]).resolve())
    return {"task": task, "contestants": contestants}


def _contestants(args: argparse.Namespace, flag: str) -> list[dict]:
    """Contestants from repeated `--contestant NAME=MODEL[:STRATEGY]`."""
    from arena.spec import BUILTIN_STRATEGIES

    if not args.contestant:
        raise UserError(f"{flag} needs at least one --contestant NAME=MODEL[:STRATEGY], e.g. a=openai/gpt-4.1-mini")
    contestants = []
    for value in args.contestant:
        name, sep, model = value.partition("=")
        if not sep or not name or not model:
            raise UserError(
                f"--contestant {value!r}: write NAME=MODEL[:STRATEGY], e.g. a=openai/gpt-4.1-mini:test-first"
            )
        head, _, tail = model.rpartition(":")
        strategy = tail if head and tail in BUILTIN_STRATEGIES else "balanced"
        contestants.append({"name": name, "model": head if strategy == tail and head else model, "strategy": strategy})
    return contestants


def cmd_run(args: argparse.Namespace) -> int:
    if sum(map(bool, (args.spec, args.swebench, args.issue))) != 1:
        raise UserError(
            "give one of a spec file (arena run SPEC.yaml), --swebench INSTANCE.json or --issue OWNER/REPO#N"
        )
    if args.pr and not args.issue:
        raise UserError("--pr goes with --issue; in a spec, write `publish: {pull_request: true}`")
    return _run_spec(Path(args.spec) if args.spec else None, args.json, args, detach=args.detach)


def cmd_demo(args: argparse.Namespace) -> int:
    from arena.demo import build_demo

    settings = Settings.from_env()
    if args.if_missing:
        repo = str((settings.data_dir / "sample" / "demo-repo").resolve())
        store = _store()
        existing = [r for r in store.arenas(limit=500) if r.repo == repo]
        if existing:
            print(f"the demo arena is already there: {existing[0].id} ({existing[0].status})", file=sys.stderr)
            if args.json:
                print(json.dumps(arena_json(existing[0], store.latest_verdict(existing[0].id))), file=sys.__stdout__)
            return 0
    spec_path = build_demo(settings.data_dir / "sample")
    if not args.json:
        print(f"demo spec: {spec_path}", file=sys.stderr)
    return _run_spec(spec_path, args.json)


def cmd_list(args: argparse.Namespace) -> int:

    rows = _store().arenas(limit=args.limit, status=args.status)
    if args.json:
        print(json.dumps([arena_json(r) for r in rows]))
        return 0
    if not rows:
        print("no arenas yet; try `arena demo`")
    for r in rows:
        when = r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else ""
        print(f"{r.id}  {r.status:<11} {when}  {len(r.contestants)} contestants  {r.title}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:

    store = _store()
    row, verdict = store.arena(args.arena_id), store.latest_verdict(args.arena_id)
    published = store.publication(args.arena_id)
    calls = model_calls(store, row)
    if args.json:
        print(json.dumps(arena_json(row, verdict, published, calls)))
    else:
        _print_arena(row, verdict, calls)
        _print_publication(published)
    return 0


def _print_publication(published) -> None:
    from arena.report import publication_json

    shown = publication_json(published)
    if shown is None:
        return
    print(f"GitHub {shown['repo']}: {len(shown['branches'])} candidate branch(es) pushed")
    if pull := shown["pull_request"]:
        state = "merged" if pull["merged"] else pull["state"] + (" draft" if pull["draft"] else "")
        print(f"  pull request #{pull['number']} ({state}) -> {pull['head_contestant']}: {pull['url']}")
    if shown["error"]:
        print(f"  last attempt failed: {shown['error']}")


def cmd_pr(args: argparse.Namespace) -> int:
    from arena.publish.pull_request import publish

    store = _store()
    done = publish(store, Settings.from_env(), args.arena_id, contestant=args.contestant)
    if args.json:
        print(json.dumps(done))
    else:
        _print_publication(store.publication(args.arena_id))
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    engine = _engine()
    try:
        engine.judge(args.arena_id)
        row, verdict = engine.store.arena(args.arena_id), engine.store.latest_verdict(args.arena_id)
    finally:
        engine.shutdown()
    if args.json:
        print(json.dumps(verdict_json(verdict)), file=sys.__stdout__)
    else:
        _print_arena(row, verdict)
    return 1 if verdict.error else 0


def cmd_export(args: argparse.Namespace) -> int:
    from arena.export import export

    done = export(_store(), args.arena_id, args.contestant, args.format)
    if args.output:
        out = Path(args.output)
        if args.format == "swebench" and out.suffix != ".jsonl":
            raise UserError(f"{out}: the SWE-bench harness reads predictions only from *.jsonl; rename it")
        out.write_bytes(done.text.encode("utf-8", "surrogateescape"))
        print(f"wrote {out}: {done.instance_id} from {done.contestant}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(done.text.encode("utf-8", "surrogateescape"))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from arena.ops import configure_logging
    from arena.queue.health import serving_health
    from arena.queue.jobs import Worker, worker_name

    if args.concurrency < 1:
        raise UserError(f"--concurrency {args.concurrency}: give at least 1")
    configure_logging(worker=worker_name())  # ARENA_LOG_FORMAT; secrets redacted from every record
    worker = Worker(Settings.from_env(), concurrency=args.concurrency, queues=args.queue)
    logging.getLogger("arena.worker").info(
        "worker %s on %s (concurrency %d); Ctrl-C stops",
        worker.context.name,
        ", ".join(worker.queues),
        args.concurrency,
    )
    with (
        serving_health(worker.settings.database_url, args.health_host, args.health_port, worker=worker.context.name)
        if args.health_port is not None
        else contextlib.nullcontext()
    ):
        worker.run()
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from arena.queue.health import health, health_lines

    report = health(Settings.from_env().database_url)
    print(json.dumps(report) if args.json else "\n".join(health_lines(report)))
    return 0 if report["ok"] else 1


def cmd_cancel(args: argparse.Namespace) -> int:

    store = _store()
    row = store.arena(args.arena_id)
    if Status(row.status).ended:
        print(f"arena {row.id} has already ended ({row.status}); nothing to cancel")
        return 0
    if row.owner == QUEUE_OWNER:  # the workers' arena: contestants not started end now, running ones within 1 s
        from arena.queue.jobs import QueueLauncher

        QueueLauncher(Settings.from_env()).cancel(args.arena_id, args.contestant)
    else:
        store.request_cancel(args.arena_id, args.contestant)
    target = f"contestant {args.contestant} of arena {args.arena_id}" if args.contestant else f"arena {args.arena_id}"
    print(f"cancel requested for {target}; the process running it stops it within a few seconds")
    return 0


def _ledger():
    from arena.reputation.ledger import Ledger

    return Ledger(_store())


def cmd_apply(args: argparse.Namespace) -> int:
    from arena.reputation.tracking import apply_winner

    ledger = _ledger()
    done = apply_winner(ledger.store, ledger, args.arena_id, args.contestant, args.base_branch)
    print(
        json.dumps(done)
        if args.json
        else f"committed {done['contestant']} ({done['agent']}) as {done['commit'][:12]} "
        f"on branch {done['branch']}; merge it into your base branch, then run `arena sync`"
    )
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from arena.publish.pull_request import sync as sync_github
    from arena.reputation.tracking import sync

    ledger = _ledger()
    found = sync(ledger)
    if ledger.store.publications():
        found += sync_github(ledger.store, ledger)
    if args.json:
        print(json.dumps(found))
    else:
        lines = [
            f"arena {f['arena_id']}: {f['event']} "
            + (f"in {f['commit'][:12]}" if f["commit"] else f"({f.get('why', '')})")
            for f in found
        ]
        print("\n".join(lines) or "nothing new")
    return 0


def cmd_abandon(args: argparse.Namespace) -> int:
    from arena.reputation.tracking import abandon

    print(abandon(_ledger(), args.arena_id))
    return 0


def agent_of(text: str) -> str:
    """The agent `arena agent` is asked about: an identity as printed, or MODEL+STRATEGY as a spec writes them."""
    from arena.identity import split_identity

    try:
        return agent_identity(*split_identity(text)) if "+" in text else text
    except UserError as e:
        raise UserError(
            f"{e}; name the agent as `arena show ID --json` prints it (e.g. scripted:fix.yaml@1a2b3c4d+balanced), "
            "or give MODEL+STRATEGY with the path of a file that exists"
        ) from None


def cmd_agent(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    state = _ledger().state(agent_of(args.name))
    if args.json:
        print(json.dumps(asdict(state)))
        return 0
    print(
        f"{state.name}: balance {state.balance:g}, escrowed {state.escrow:g}, stake {state.stake:g} "
        f"(base {state.base_stake:g}, k = {state.k}), wins {state.wins}, merged {state.merged}, reverted {state.reverted}"
    )
    for e in state.history[-20:]:
        print(f"  {e['at'][:19]}  {e['kind']:<9} {e['arena_id'] or '':<9} {e['amount']:+g} {e['commit'] or ''}")
    return 0


def cmd_webhooks(args: argparse.Namespace) -> int:
    from arena.publish.webhooks import serve, webhook_secret

    secret = webhook_secret()  # refused before the database is opened or a port is bound
    serve(_ledger(), secret, args.host, args.port)
    return 0


def cmd_spec(args: argparse.Namespace) -> int:
    import yaml

    spec = _store().arena(args.arena_id).spec
    print(f"# arena {args.arena_id}: `arena run` this file to run it again", file=sys.stderr)
    sys.stdout.write(yaml.safe_dump(_without_nulls(spec), sort_keys=False, allow_unicode=True))
    return 0


def _without_nulls(value):
    """The spec as a person writes it: fields left at null (their default) are left out."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def cmd_ingest(args: argparse.Namespace) -> int:
    from arena.ingest import ingest

    missing = [p for p in [*args.paths, *args.reports] if not Path(p).exists()]
    if missing:
        raise UserError(f"{', '.join(missing)} does not exist; give trajectory files or folders (searched recursively)")
    counts = ingest([Path(p) for p in args.paths], _store(), reports=[Path(p) for p in args.reports])
    if args.json:
        print(json.dumps(counts, default=str))
    else:
        print(
            f"imported {counts['imported']} of {counts['found']} files ({counts['skipped_duplicates']} already there, "
            f"{counts['not_trajectories']} not trajectories, {len(counts['errors'])} errors)"
        )
        for error in counts["errors"]:
            print(f"  {error}")
    if counts["errors"] and not counts["imported"]:
        print("error: nothing was imported; every file above failed (fix them or leave them out)", file=sys.stderr)
        return 1
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from arena.storage import make_engine, migrate

    url = Settings.from_env().database_url
    engine = make_engine(url)
    if args.action == "current":
        print(f"{migrate.current(engine) or 'empty'} (newest: {migrate.head()})")
        return 0
    before, after = migrate.upgrade(engine)
    print(f"database at {after}" + (f" (was {before or 'empty'})" if before != after else " (already up to date)"))
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from arena.analytics import leaderboard_json, leaderboard_lines

    rows = leaderboard_json(_store(), by=args.by, source=args.source)
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("nothing to rank yet: run arenas (`arena demo`) or `arena ingest` trajectories")
        return 0
    print("\n".join(leaderboard_lines(rows)))  # names in full: two agents never read the same
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arena",
        description="Agent Arena: several coding agents on one issue, each in its own sandbox.",
        epilog=f"Data directory: {Settings.from_env().describe_data_dir()}. "
        "$ARENA_DATABASE_URL overrides its SQLite database.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EPILOG[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    p = add("run", cmd_run, "Run the arena described by a spec YAML (or a SWE-bench instance) and wait until it ends.")
    p.epilog += SWEBENCH_EXAMPLE + GITHUB_EXAMPLE
    p.add_argument("spec", nargs="?", help="path to the arena spec (YAML)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object with the result")
    p.add_argument("--swebench", metavar="INSTANCE.json", help="import the task from a SWE-bench instance file")
    p.add_argument("--instance-id", help="which instance, when the file holds several")
    p.add_argument("--issue", metavar="OWNER/REPO#N", help="the task is this GitHub issue (or paste its URL)")
    p.add_argument("--pr", action="store_true", help="with --issue: open a draft PR for the winner, with the evidence")
    p.add_argument(
        "--contestant", action="append", metavar="NAME=MODEL[:STRATEGY]", help="with --swebench or --issue; repeat"
    )
    p.add_argument("--repo", help="with --swebench: a local copy of the instance's repository")
    p.add_argument("--base", help="with --swebench: override the instance's base commit")
    p.add_argument("--setup-command", help="with --swebench/--issue: prepares the environment (once, with network)")
    p.add_argument("--test-command", help="with --swebench/--issue: how the repository runs its tests")
    p.add_argument(
        "--detach",
        action="store_true",
        help='queue it for `arena worker` (PostgreSQL) and return at once; with --json prints {"arena_id": ...}',
    )
    p = add("worker", cmd_worker, "Run queued arenas' jobs (PostgreSQL): prepare, contestants, judge, publish, sync.")
    p.add_argument("--concurrency", type=int, default=4, help="jobs at once (each contestant is one job)")
    p.add_argument(
        "--queue", action="append", choices=["arenas", "contestants", "github"], help="only these queues; repeat"
    )
    p.add_argument("--health-port", type=int, help="serve GET /health on this port (200, or 503: no database)")
    p.add_argument("--health-host", default="127.0.0.1", help="address for --health-port (default 127.0.0.1)")
    p = add("health", cmd_health, "Database, queue depth per queue, the oldest queued job's wait, workers seen.")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p = add("list", cmd_list, "List arenas, newest first.")
    p.add_argument("--status", choices=[s.value for s in Status], help="only arenas with this status")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p = add("show", cmd_show, "Show one arena and its contestants.")
    p.add_argument("arena_id")
    p.add_argument("--json", action="store_true")
    p = add(
        "spec", cmd_spec, "Print the spec an arena was launched with, as YAML (its files embedded: it runs anywhere)."
    )
    p.add_argument("arena_id")
    p = add("cancel", cmd_cancel, "Cancel a running arena, or one of its contestants.")
    p.add_argument("arena_id")
    p.add_argument("--contestant", help="cancel only this contestant")
    p = add("demo", cmd_demo, "Build the demo repository (a real bug) and run three scripted contestants on it.")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object with the result")
    p.add_argument(
        "--if-missing", action="store_true", help="do nothing if a demo arena already exists (used by make run)"
    )
    p = add("judge", cmd_judge, "Judge (again) an arena that has ended: evaluate every patch and store a new verdict.")
    p.add_argument("arena_id")
    p.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    p = add("export", cmd_export, "Export an arena's winning (or chosen) patch: SWE-bench predictions JSONL or a diff.")
    p.add_argument("arena_id")
    p.add_argument(
        "--format",
        choices=["swebench", "patch", "trajectory"],
        default="swebench",
        help="swebench: one predictions row (instance_id: the SWE-bench id, else the arena id); patch: the diff; "
        "trajectory: the candidate's trajectory file (mini-swe-agent format), from the shared store",
    )
    p.add_argument("--contestant", help="export this candidate instead of the winner")
    p.add_argument("-o", "--output", help="write to this file (.jsonl for swebench) instead of stdout")
    p = add(
        "apply", cmd_apply, "Commit an arena's winning patch on a new branch of its local repository (with trailers)."
    )
    p.add_argument("arena_id")
    p.add_argument("--contestant", help="apply this candidate instead of the winner")
    p.add_argument("--base-branch", help="the branch merges will land on (default: the branch checked out now)")
    p.add_argument("--json", action="store_true")
    p = add(
        "sync",
        cmd_sync,
        "Record merges and reverts: of patches applied locally (arena apply) and of the pull requests opened on GitHub.",
    )
    p.add_argument("--json", action="store_true")
    p = add("pr", cmd_pr, "Push an arena's candidates to GitHub and open (or update) its one draft PR.")
    p.add_argument("arena_id")
    p.add_argument("--contestant", help="point the PR at this candidate instead of the judge's winner")
    p.add_argument("--json", action="store_true")
    p = add("abandon", cmd_abandon, "Give up on an arena's winning patch: its stake is returned, nothing is merged.")
    p.add_argument("arena_id")
    p = add(
        "ingest", cmd_ingest, "Import trajectories from elsewhere (mini-swe-agent v1/v2, SWE-agent, OpenHands) as runs."
    )
    p.add_argument("paths", nargs="+", help="files or folders (searched recursively)")
    p.add_argument("--reports", nargs="*", default=[], help="SWE-bench report.json files that say which runs resolved")
    p.add_argument("--json", action="store_true")
    p = add("leaderboard", cmd_leaderboard, "Runs, wins, resolve rate, cost and ratings with intervals, grouped.")
    p.add_argument("--by", choices=["model", "strategy", "runner", "agent"], default="agent")
    p.add_argument("--source", choices=["arenas", "imported", "all"], default="arenas")
    p.add_argument("--json", action="store_true", help="one JSON array of rows")
    p = add("agent", cmd_agent, "An agent's balance, stake, wins, merges, reverts and history.")
    p.add_argument(
        "name",
        metavar="AGENT",
        help="its identity as `arena show --json` prints it, or MODEL+STRATEGY as a spec writes them",
    )
    p.add_argument("--json", action="store_true")
    p = add(
        "webhooks",
        cmd_webhooks,
        "Receive GitHub webhooks (pull_request, push) so merges and reverts of arena PRs reach the ledger in "
        "seconds. Needs ARENA_WEBHOOK_SECRET, the webhook's Secret on GitHub (deliveries not signed with it get "
        "401), and GitHub credentials: every PR is read back from GitHub, never taken from the payload. Without a "
        "public address, use `arena sync`.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8090, help="port to listen on (default 8090)")
    p = add("db", cmd_db, "Database schema migrations (Alembic); every command also upgrades on first use.")
    p.add_argument("action", choices=["upgrade", "current"])
    return parser


COMMANDS = [
    "run",
    "list",
    "show",
    "spec",
    "cancel",
    "demo",
    "judge",
    "export",
    "apply",
    "sync",
    "pr",
    "abandon",
    "agent",
    "ingest",
    "leaderboard",
    "webhooks",
    "worker",
    "health",
    "db",
]


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `arena list | head`: the reader left; end quietly, as other commands do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python would report the pipe again when it flushes at exit
        return 0


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    as_json = getattr(args, "json", False)
    started = time.monotonic()
    try:
        # Libraries print banners and logs to stdout; with --json stdout must hold only our object.
        with (
            contextlib.redirect_stdout(sys.stderr)
            if as_json and args.command in ("run", "demo")
            else contextlib.nullcontext()
        ):
            return args.func(args)
    except ArenaError as e:
        print(f"error: {e}", file=sys.stderr)
        if as_json:  # --json promises one object on stdout, failures included
            print(json.dumps({"error": str(e), "exit_code": e.exit_code}), file=sys.__stdout__)
        return e.exit_code
    except BrokenPipeError:
        raise  # handled in main(): not an error
    except Exception as e:  # an internal error: say so plainly, with what to report
        import traceback

        traceback.print_exc()
        print(f"internal error after {time.monotonic() - started:.1f}s: {type(e).__name__}: {e}", file=sys.stderr)
        if as_json:
            print(
                json.dumps({"error": f"internal error: {type(e).__name__}: {e}", "exit_code": 1}), file=sys.__stdout__
            )
        return 1


if __name__ == "__main__":
    sys.exit(main())
