"""Plain-data views of stored arenas, shared by the CLI, the app and notebooks."""

from arena.judging.verdict import Verdict
from arena.runners import split_runner
from arena.storage import ArenaRow, PublicationRow, Store, VerdictRow


def arena_json(
    row: ArenaRow,
    verdict: VerdictRow | None = None,
    publication: PublicationRow | None = None,
    calls: dict[str, dict] | None = None,
) -> dict:
    """The stable JSON shape of `arena run --json` / `arena show --json` (fields are added, never removed).

    `calls`: model_calls(store, arena_id), each contestant's use of the gateway (`model_calls` in its entry).
    """
    published = publication_json(publication)
    calls = calls or {}
    return {
        "arena_id": row.id,
        "status": row.status,
        "title": row.title,
        "repo": row.repo,
        "base_sha": row.base_sha,
        "error": row.error,
        "setup_log_path": row.setup_log_path,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "verdict": verdict_json(verdict),
        "contestants": [
            {
                "name": c.name,
                "agent": f"{c.model}+{c.strategy}",  # a row holds its agent identity's two halves (never re-read)
                "model": c.model,
                "strategy": c.strategy,
                "runner": split_runner(c.model)[0],
                "status": c.status,
                "exit_status": c.exit_status,
                "steps": c.steps,
                "cost": c.cost,
                "tokens": c.tokens,
                "tokens_in": c.tokens_in,
                "tokens_out": c.tokens_out,
                "started_at": c.started_at.isoformat() if c.started_at else None,
                "finished_at": c.finished_at.isoformat() if c.finished_at else None,
                "heartbeat_at": c.heartbeat_at.isoformat() if c.heartbeat_at else None,
                "error": c.error,
                "patch_path": c.patch_path,
                "trajectory_path": c.trajectory_path,
                "attempts": c.attempts,
                "history": c.history or [],  # on the queue: dispatched, claimed, run again after a worker died
                "model_calls": calls.get(c.name),
            }
            for c in row.contestants
        ],
        "pull_request": published["pull_request"] if published else None,
        "branches": published["branches"] if published else {},
        "publish_error": published["error"] if published else None,
    }


def model_calls(store: Store, arena: ArenaRow) -> dict[str, dict]:
    """Each contestant's model calls through the gateway: requests, cache tokens, upstream retries, errors (refusals
    included) and the cap that refused it, if one did. Contestants that made none (scripted ones) are left out."""
    from arena.gateway.ledger import GatewayLedger  # the gateway's web stack loads only when an arena is shown

    ledger = GatewayLedger(store)
    out = {}
    for name in (c.name for c in arena.contestants):
        usage = ledger.usage(arena.id, name)
        if usage.requests:
            out[name] = {
                k: getattr(usage, k)
                for k in ("requests", "cache_read", "cache_write", "retries", "errors", "limit_hit")
            }
    return out


def publication_json(row: PublicationRow | None) -> dict | None:
    """An arena's life on GitHub: repo, issue, pushed branches (contestant -> branch, commit, agent), the PR."""
    if row is None:
        return None
    pull = None
    if row.pr_number is not None:
        pull = {
            "number": row.pr_number,
            "url": row.pr_url,
            "state": row.pr_state,
            "draft": row.pr_draft,
            "merged": row.pr_merged,
            "merge_commit": row.merge_commit,
            "head": f"arena/{row.arena_id}/pr",  # arena/publish/branches.py: pr_branch (arena ids are valid refs)
            "head_contestant": row.head_contestant,
        }
    return {"repo": row.repo, "issue": row.issue, "branches": row.branches, "pull_request": pull, "error": row.error}


def verdict_json(verdict: VerdictRow | None) -> dict | None:
    """The stable JSON of a verdict, read through its versioned record (arena/judging/verdict.py: Verdict.to_json)."""
    return None if verdict is None else Verdict.model_validate(verdict).to_json()
