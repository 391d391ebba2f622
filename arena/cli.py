"""The `arena` command. Exit codes: 0 done, 1 internal error (or the arena failed), 2 bad input."""

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from arena.config import Settings
from arena.errors import ArenaError
from arena.report import arena_json
from arena.storage import ArenaRow, Status

EPILOG = {
    "run": "example:\n  arena run examples/arena.yaml --json",
    "list": "example:\n  arena list --status completed",
    "show": "example:\n  arena show 3f9c2a1b --json",
    "cancel": "examples:\n  arena cancel 3f9c2a1b\n  arena cancel 3f9c2a1b --contestant fix-a",
    "demo": "example:\n  arena demo --json",
}


def _print_arena(row: ArenaRow) -> None:
    print(f"arena {row.id}  {row.status}  {row.title}")
    print(f"  repo {row.repo} @ {row.base_sha[:12]}")
    if row.error:
        print(f"  error: {row.error.strip().splitlines()[0]}")
    if row.setup_log_path:
        print(f"  setup log: {row.setup_log_path}")
        if row.status == Status.FAILED:
            tail = Path(row.setup_log_path).read_text().splitlines()[-15:] if Path(row.setup_log_path).exists() else []
            print("\n".join(f"    | {line}" for line in tail))
    print(f"  {'contestant':<20} {'status':<12} {'exit':<18} {'steps':>5} {'cost':>8}  patch")
    for c in row.contestants:
        patch = c.patch_path or "-"
        print(f"  {c.name:<20} {c.status:<12} {c.exit_status or '-':<18} {c.steps:>5} {c.cost:>8.4f}  {patch}")
        if c.error and c.status != Status.COMPLETED:
            print(f"      {c.error.strip().splitlines()[0]}")


def _engine():
    from arena.orchestrator import Engine

    return Engine(Settings.from_env())


def _run_spec(spec_path: Path, as_json: bool) -> int:
    from arena.orchestrator import validate
    from arena.sandboxes import RepoCache
    from arena.spec import load_spec

    spec = load_spec(spec_path)
    validate(spec, RepoCache(Settings.from_env().cache_dir))  # bad input exits 2 before anything is written
    engine = _engine()
    arena_id = engine.launch(spec)
    if not as_json:
        print(f"arena {arena_id}: {len(spec.contestants)} contestants; Ctrl-C cancels", file=sys.stderr)
    try:
        _follow(engine, arena_id, quiet=as_json)
    except KeyboardInterrupt:
        print("cancelling...", file=sys.stderr)
        engine.cancel(arena_id)
        engine.wait(arena_id)
    row = engine.store.arena(arena_id)
    engine.shutdown()
    return _report(row, as_json)


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


def _report(row: ArenaRow, as_json: bool) -> int:
    if as_json:
        print(json.dumps(arena_json(row)), file=sys.__stdout__)
    else:
        _print_arena(row)
    return 1 if row.status == Status.FAILED else 0


def cmd_run(args: argparse.Namespace) -> int:
    return _run_spec(Path(args.spec), args.json)


def cmd_demo(args: argparse.Namespace) -> int:
    from arena.demo import build_demo

    settings = Settings.from_env()
    if args.if_missing:
        from arena.storage import Store

        repo = str((settings.data_dir / "sample" / "demo-repo").resolve())
        existing = [r for r in Store(settings.database_url).arenas(limit=500) if r.repo == repo]
        if existing:
            print(f"the demo arena is already there: {existing[0].id} ({existing[0].status})", file=sys.stderr)
            return 0
    spec_path = build_demo(settings.data_dir / "sample")
    if not args.json:
        print(f"demo spec: {spec_path}", file=sys.stderr)
    return _run_spec(spec_path, args.json)


def cmd_list(args: argparse.Namespace) -> int:
    from arena.storage import Store

    rows = Store(Settings.from_env().database_url).arenas(limit=args.limit, status=args.status)
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
    from arena.storage import Store

    row = Store(Settings.from_env().database_url).arena(args.arena_id)
    if args.json:
        print(json.dumps(arena_json(row)))
    else:
        _print_arena(row)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from arena.storage import Store

    store = Store(Settings.from_env().database_url)
    row = store.arena(args.arena_id)
    if Status(row.status).ended:
        print(f"arena {row.id} has already ended ({row.status}); nothing to cancel")
        return 0
    store.request_cancel(args.arena_id, args.contestant)
    target = f"contestant {args.contestant} of arena {args.arena_id}" if args.contestant else f"arena {args.arena_id}"
    print(f"cancel requested for {target}; the process running it stops it within a few seconds")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arena",
        description="Agent Arena: several coding agents on one issue, each in its own sandbox.",
        epilog="Data lives in $ARENA_DATA_DIR (default ./data); $ARENA_DATABASE_URL overrides the SQLite database.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EPILOG[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        p.set_defaults(func=func)
        return p

    p = add("run", cmd_run, "Run the arena described by a spec YAML and wait until it ends.")
    p.add_argument("spec", help="path to the arena spec (YAML)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object with the result")
    p = add("list", cmd_list, "List arenas, newest first.")
    p.add_argument("--status", choices=[s.value for s in Status], help="only arenas with this status")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p = add("show", cmd_show, "Show one arena and its contestants.")
    p.add_argument("arena_id")
    p.add_argument("--json", action="store_true")
    p = add("cancel", cmd_cancel, "Cancel a running arena, or one of its contestants.")
    p.add_argument("arena_id")
    p.add_argument("--contestant", help="cancel only this contestant")
    p = add("demo", cmd_demo, "Build the demo repository (a real bug) and run three scripted contestants on it.")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object with the result")
    p.add_argument(
        "--if-missing", action="store_true", help="do nothing if a demo arena already exists (used by make run)"
    )
    return parser


COMMANDS = ["run", "list", "show", "cancel", "demo"]


def main(argv: list[str] | None = None) -> int:
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
        return e.exit_code
    except Exception as e:  # an internal error: say so plainly, with what to report
        import traceback

        traceback.print_exc()
        print(f"internal error after {time.monotonic() - started:.1f}s: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
