"""Plain-data views of stored arenas, shared by the CLI, the app and notebooks."""

from arena.storage import ArenaRow


def arena_json(row: ArenaRow) -> dict:
    """The stable JSON shape of `arena run --json` / `arena show --json` (fields are added, never removed)."""
    return {
        "arena_id": row.id,
        "status": row.status,
        "title": row.title,
        "repo": row.repo,
        "base_sha": row.base_sha,
        "error": row.error,
        "setup_log_path": row.setup_log_path,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "contestants": [
            {
                "name": c.name,
                "model": c.model,
                "strategy": c.strategy,
                "status": c.status,
                "exit_status": c.exit_status,
                "steps": c.steps,
                "cost": c.cost,
                "tokens": c.tokens,
                "error": c.error,
                "patch_path": c.patch_path,
                "trajectory_path": c.trajectory_path,
            }
            for c in row.contestants
        ],
    }
