"""Frames of stored rows: runs_df (arena contestants and imported runs), verdicts_df, events_df.

Each reads only the columns it needs and builds its columns with polars expressions: at a million runs, a Python
step per row (a JSON parse, a name split) costs seconds. Files are never read here (arena.analytics.steps reads
trajectories, and imports this module, never the other way round).
"""

import polars as pl
from sqlalchemy import String, cast, func, select

from arena.analytics.duck import rows_frame, runner_column, split_agent_columns, sql
from arena.storage import ArenaRow, ContestantRow, EvaluationRow, EventRow, ImportedRunRow, Store, VerdictRow
from arena.trajectory.exit_status import exit_kind

EVENT_COLUMNS = {
    "id": pl.Int64,
    "at": pl.Datetime("us"),
    "agent": pl.String,
    "kind": pl.String,
    "arena_id": pl.String,
    "contestant": pl.String,
    "amount": pl.Float64,
    "escrow": pl.Float64,
    "opponent": pl.String,
    "outcome": pl.Float64,
    "commit": pl.String,
    "verdict_id": pl.Int64,
    "detail": pl.String,
}

EVALUATION_COLUMNS = [
    "candidate",
    "rank",
    "passes_gates",
    "applies",
    "resolved",
    "f2p_passed",
    "f2p_total",
    "p2p_passed",
    "p2p_total",
    "regressions",
    "tampered",
    "votes",
    "diff_lines",
    "files_changed",
    "cost",
    "duration_s",
]


OUTCOME_COLUMNS = {
    "arena_id": pl.String,
    "agent": pl.String,
    "opponent": pl.String,
    "kind": pl.String,
    "outcome": pl.Float64,
    "verdict_id": pl.Int64,
}
OUTCOME_KINDS = ("pairwise", "place", "reverted")


def events_df(store: Store) -> pl.DataFrame:
    """The reputation ledger, one row per event (EVENT_COLUMNS plus model/strategy split from `agent`).

    `detail` is the stored JSON text ("{}" when there is none).
    """
    detail = func.coalesce(cast(EventRow.detail, String), "{}")
    columns = [*(getattr(EventRow, name) for name in list(EVENT_COLUMNS)[:-1]), detail]
    frame = rows_frame(store, select(*columns).order_by(EventRow.id), EVENT_COLUMNS)
    model, strategy = split_agent_columns(pl.col("agent"))
    return frame.with_columns(model=model, strategy=strategy)


def outcome_events(store: Store, arena_ids: list[str] | None = None) -> pl.DataFrame:
    """What ratings read of the ledger (OUTCOME_COLUMNS): every `pairwise` and `reverted` event, and per arena one
    `place` row holding its newest verdict id (arena.analytics.ratings.counted reads no more of the places).

    Places are a third of the rows wins and ratings touch; reduced in SQL, they are not read one by one.
    `arena_ids`: only these arenas' events (the running totals fold a few arenas at a time).
    """
    kind = EventRow.kind
    mine = EventRow.arena_id.in_(arena_ids) if arena_ids is not None else True
    pairwise = select(EventRow.arena_id, EventRow.agent, EventRow.opponent, EventRow.outcome, EventRow.verdict_id)
    newest = select(EventRow.arena_id, func.max(func.coalesce(EventRow.verdict_id, 0))).where(mine)
    schema = {c: OUTCOME_COLUMNS[c] for c in ("arena_id", "agent", "opponent", "outcome", "verdict_id")}
    parts = [
        rows_frame(store, pairwise.where(kind == "pairwise", mine), schema).with_columns(kind=pl.lit("pairwise")),
        rows_frame(
            store,
            select(EventRow.arena_id, EventRow.agent).where(kind == "reverted", mine),
            {"arena_id": pl.String, "agent": pl.String},
        ).with_columns(kind=pl.lit("reverted")),
        rows_frame(
            store,
            newest.where(kind == "place").group_by(EventRow.arena_id),
            {"arena_id": pl.String, "verdict_id": pl.Int64},
        ).with_columns(kind=pl.lit("place")),
    ]
    return pl.concat(parts, how="diagonal_relaxed").select(pl.col(c).cast(t) for c, t in OUTCOME_COLUMNS.items())


LATEST_COLUMNS = {
    "arena_id": pl.String,
    "verdict_id": pl.Int64,
    "winner": pl.String,
    "candidate": pl.String,
    "resolved": pl.Boolean,
}


def latest_candidates(store: Store, arena_ids: list[str] | None = None) -> pl.DataFrame:
    """One row per candidate of each arena's latest successful verdict (LATEST_COLUMNS): what runs_df needs.

    `arena_ids`: only these arenas."""
    reached = VerdictRow.error.is_(None)
    evaluated = select(EvaluationRow.verdict_id, EvaluationRow.candidate, EvaluationRow.resolved)
    if arena_ids is not None:
        reached = reached & VerdictRow.arena_id.in_(arena_ids)
        evaluated = evaluated.where(EvaluationRow.arena_id.in_(arena_ids))
    verdicts = rows_frame(
        store,
        select(VerdictRow.id, VerdictRow.arena_id, VerdictRow.winner).where(reached),
        {"verdict_id": pl.Int64, "arena_id": pl.String, "winner": pl.String},
    )
    latest = verdicts.filter(pl.col("verdict_id") == pl.col("verdict_id").max().over("arena_id"))
    evaluations = rows_frame(store, evaluated, {"verdict_id": pl.Int64, "candidate": pl.String, "resolved": pl.Boolean})
    return evaluations.join(latest, on="verdict_id").select(*LATEST_COLUMNS)


def verdicts_df(store: Store) -> pl.DataFrame:
    """One row per candidate of each arena's latest successful verdict: evaluation plus judge, picked, files and broken.

    A judge run that failed (an error verdict) decides nothing: wins, ratings and the ledger all follow the newest
    verdict that was reached.

    `judge` is the reviewer model, or "heuristic" without one. `files` are the paths the patch touches; `broken` the
    tests it breaks: failing F2P/P2P tests, regressions, and `repro:<writer>` for each valid reproduction test of
    another candidate it fails in cross-validation (a sorted list each).
    """
    latest = select(func.max(VerdictRow.id)).where(VerdictRow.error.is_(None)).group_by(VerdictRow.arena_id)
    with store.session() as s:
        verdicts = s.execute(
            select(
                VerdictRow.id,
                VerdictRow.arena_id,
                VerdictRow.created_at,
                VerdictRow.winner,
                VerdictRow.judge,
                VerdictRow.ranking,
            ).where(VerdictRow.id.in_(latest))
        ).all()
        evaluations = s.execute(
            select(EvaluationRow.verdict_id, *[getattr(EvaluationRow, c) for c in EVALUATION_COLUMNS])
            .where(EvaluationRow.verdict_id.in_(latest))
            .order_by(EvaluationRow.verdict_id, EvaluationRow.rank)
        ).all()
        names = select(ContestantRow.arena_id, ContestantRow.name, ContestantRow.model, ContestantRow.strategy)
        agents = {(a, n): (m, st) for a, n, m, st in s.execute(names)}
    by_id = {v.id: v for v in verdicts}
    rows = []
    for e in evaluations:
        v = by_id[e.verdict_id]
        judge = v.judge or {}
        evidence = next((p.get("evidence") or {} for p in v.ranking or [] if p.get("name") == e.candidate), {})
        xv = ((judge.get("cross_validation") or {}).get("matrix") or {}).get(e.candidate) or {}
        broken = {*evidence.get("f2p_failed", []), *evidence.get("p2p_failed", []), *evidence.get("regressions", [])}
        broken |= {f"repro:{writer}" for writer, outcome in xv.items() if outcome == "fail" and writer != e.candidate}
        model, strategy = agents.get((v.arena_id, e.candidate), (evidence.get("model"), evidence.get("strategy")))
        rows.append(
            {
                "arena_id": v.arena_id,
                "verdict_id": v.id,
                "judged_at": v.created_at,
                "judge": judge.get("reviewer") or "heuristic",
                "winner": v.winner,
                **{c: getattr(e, c) for c in EVALUATION_COLUMNS},
                "picked": e.candidate == v.winner,
                "files": sorted(evidence.get("files", [])),
                "broken": sorted(broken),
                "model": model or None,
                "strategy": strategy or None,
            }
        )
    schema = {
        "arena_id": pl.String,
        "verdict_id": pl.Int64,
        "judged_at": pl.Datetime("us"),
        "judge": pl.String,
        "winner": pl.String,
        "candidate": pl.String,
        "rank": pl.Int64,
        "passes_gates": pl.Boolean,
        "applies": pl.Boolean,
        "resolved": pl.Boolean,
        **dict.fromkeys(EVALUATION_COLUMNS[5:10], pl.Int64),
        "tampered": pl.Boolean,
        "votes": pl.Int64,
        "diff_lines": pl.Int64,
        "files_changed": pl.Int64,
        "cost": pl.Float64,
        "duration_s": pl.Float64,
        "picked": pl.Boolean,
        "files": pl.List(pl.String),
        "broken": pl.List(pl.String),
        "model": pl.String,
        "strategy": pl.String,
    }
    frame = pl.DataFrame(rows, schema=schema)
    return frame.with_columns(agent=pl.concat_str("model", pl.lit("+"), "strategy"))


_CONTESTANTS = {
    "arena_id": pl.String,
    "contestant": pl.String,
    "model": pl.String,
    "strategy": pl.String,
    "status": pl.String,
    "exit_status": pl.String,
    "steps": pl.Int64,
    "cost": pl.Float64,
    "tokens_in": pl.Int64,
    "tokens_out": pl.Int64,
    "started_at": pl.Datetime("us"),
    "finished_at": pl.Datetime("us"),
    "trajectory_path": pl.String,
    "patch_path": pl.String,
}
_ARENAS = {"arena_id": pl.String, "repo": pl.String, "title": pl.String, "created_at": pl.Datetime("us")}
_IMPORTED = {
    "sha256": pl.String,
    "path": pl.String,
    "format": pl.String,
    "model": pl.String,
    "instance_id": pl.String,
    "steps": pl.Int64,
    "api_calls": pl.Int64,
    "cost": pl.Float64,
    "exit_status": pl.String,
    "submitted": pl.Boolean,
    "resolved": pl.Boolean,
    "imported_at": pl.Datetime("us"),
}
_CONTESTANT_SELECT = [getattr(ContestantRow, "name" if c == "contestant" else c) for c in _CONTESTANTS]

CONTESTANT_RUNS_SQL = r"""
WITH judged AS (SELECT DISTINCT arena_id, winner FROM v),
flags AS (
  SELECT c.arena_id, c.contestant,
         bool_or(e.kind = 'reverted') AS reverted, bool_or(e.kind = 'merged') AS merged
  FROM c JOIN e ON e.arena_id = c.arena_id AND e.kind IN ('reverted', 'merged')
   AND (e.contestant = c.contestant OR (e.contestant IS NULL AND e.agent = c.model || '+' || c.strategy))
  GROUP BY ALL
)
SELECT c.arena_id || '/' || c.contestant AS run, 'arenas' AS source, c.arena_id, c.contestant, a.title AS task,
       a.repo, NULL::VARCHAR AS instance_id, c.model, c.strategy, c.model || '+' || c.strategy AS agent, c.status,
       c.exit_status, c.steps, c.steps AS api_calls, c.cost, c.tokens_in + c.tokens_out AS tokens,
       epoch(c.finished_at - c.started_at) AS duration_s, v.resolved,
       CASE WHEN j.arena_id IS NOT NULL THEN coalesce(j.winner = c.contestant, false) END AS won,
       coalesce(f.reverted, false) AS reverted, coalesce(f.merged, false) AS merged,
       a.created_at, c.trajectory_path, c.patch_path
FROM c
JOIN a USING (arena_id)
LEFT JOIN v ON v.arena_id = c.arena_id AND v.candidate = c.contestant
LEFT JOIN judged j ON j.arena_id = c.arena_id
LEFT JOIN flags f ON f.arena_id = c.arena_id AND f.contestant = c.contestant
"""

IMPORTED_RUNS_SQL = r"""
SELECT 'imported/' || left(sha256, 12) AS run, 'imported' AS source, instance_id AS task,
       CASE WHEN regexp_full_match(instance_id, '(.+?)__(.+)-\d+')
            THEN regexp_replace(instance_id, '^(.+?)__(.+)-\d+$', '\1/\2') END AS repo,
       instance_id, model, model AS agent, exit_status, steps, api_calls, cost, resolved,
       imported_at AS created_at, path AS trajectory_path
FROM i
"""


def runs_df(store: Store, *, arenas: bool = True, imported: bool = True) -> pl.DataFrame:
    """One row per arena contestant and per imported run.

    Columns: run (`<arena>/<contestant>` or `imported/<sha256[:12]>`), source ('arenas' | 'imported'), arena_id,
    contestant, task (arena title or instance id), repo, instance_id, model, strategy, agent (`model+strategy`; the
    model alone for imported runs), runner (mini-swe-agent, claude-code, ...; null for imported runs), status, exit_status, exit_kind (the same in one vocabulary), steps, api_calls (an
    arena run's steps: our runner counts both from the same model calls, so its trajectory file is not opened), cost,
    tokens, duration_s, resolved (latest verdict, or the SWE-bench report), won (null until judged), reverted and
    merged (that win was later reverted / merged), created_at, trajectory_path, patch_path. Null where a source does
    not record a value. An exit status "" counts as none.

    `arenas` / `imported` False: without that source's rows (the columns stay).
    """
    runs = sql(
        "SELECT * FROM ar UNION ALL BY NAME SELECT * FROM im ORDER BY created_at, run",
        ar=arena_runs(store, None if arenas else []),
        im=imported_runs(store, imported),
    )
    return with_runner(with_exit_kind(runs))


def arena_runs(store: Store, arena_ids: list[str] | None = None) -> pl.DataFrame:
    """runs_df's arena rows (without exit_kind), of every arena or only of `arena_ids`."""
    contestants, arenas, flags = select(*_CONTESTANT_SELECT), select(*_ARENAS_COLUMNS), FLAG_EVENTS
    if arena_ids is not None:
        contestants = contestants.where(ContestantRow.arena_id.in_(arena_ids))
        arenas = arenas.where(ArenaRow.id.in_(arena_ids))
        flags = flags.where(EventRow.arena_id.in_(arena_ids))
    # Arenas apart from their contestants: joined in SQL, each title would be read once per contestant.
    return sql(
        CONTESTANT_RUNS_SQL,
        c=rows_frame(store, contestants, _CONTESTANTS),
        a=rows_frame(store, arenas, _ARENAS),
        v=latest_candidates(store, arena_ids).select("arena_id", "winner", "candidate", "resolved"),
        e=rows_frame(
            store, flags, {"arena_id": pl.String, "contestant": pl.String, "agent": pl.String, "kind": pl.String}
        ),
    )


def recent_runs(store: Store, limit: int) -> tuple[int, pl.DataFrame]:
    """(arena runs in all, the newest `limit` of them as runs_df rows, newest first): the newest `limit` arenas hold
    them all (an arena has a contestant at least), so a page listing recent runs never reads a million."""
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(ContestantRow)) or 0
        newest = list(s.scalars(select(ArenaRow.id).order_by(ArenaRow.created_at.desc()).limit(limit)))
    runs = with_runner(with_exit_kind(arena_runs(store, newest if newest else [])))
    return total, runs.sort("created_at", "run", descending=True).head(limit)


def with_runner(runs: pl.DataFrame) -> pl.DataFrame:
    """runs_df's `runner` column: an arena run's runner is in its agent's name (arena.identity); an imported file
    says nothing of ours (null)."""
    return runs.with_columns(runner=pl.when(pl.col("source") == "arenas").then(runner_column(pl.col("model"))))


def imported_runs(store: Store, read: bool = True) -> pl.DataFrame:
    """runs_df's imported rows (without exit_kind); none, with the same columns, when not `read`."""
    query = select(*[getattr(ImportedRunRow, c) for c in _IMPORTED])
    return sql(IMPORTED_RUNS_SQL, i=rows_frame(store, query if read else query.where(False), _IMPORTED))


_ARENAS_COLUMNS = [ArenaRow.id, ArenaRow.repo, ArenaRow.title, ArenaRow.created_at]
FLAG_EVENTS = select(EventRow.arena_id, EventRow.contestant, EventRow.agent, EventRow.kind).where(
    EventRow.kind.in_(("reverted", "merged"))
)


def with_exit_kind(runs: pl.DataFrame) -> pl.DataFrame:
    """`runs` with `exit_kind` beside `exit_status`: why each run ended in one vocabulary (arena.trajectory.exit_kind:
    "Submitted", "submitted" and "finished" are all `submitted`)."""
    kinds = {v: str(exit_kind(v)) for v in runs["exit_status"].unique().drop_nulls().to_list()}
    kind = pl.col("exit_status").replace_strict(kinds, default=str(exit_kind(None)), return_dtype=pl.String)
    at = runs.columns.index("exit_status") + 1
    return runs.with_columns(kind.alias("exit_kind")).select([*runs.columns[:at], "exit_kind", *runs.columns[at:]])


def with_exit_kinds(exits: pl.DataFrame) -> pl.DataFrame:
    """`exits` (..., exit_status, n: runs counted per status) with `exit_kind`, the status in one vocabulary; a null
    status is the kind of none (`unknown`), as with_exit_kind gives it."""
    kinds = {v: str(exit_kind(v)) for v in exits["exit_status"].unique().drop_nulls().to_list()}
    kind = pl.col("exit_status").replace_strict(kinds, default=str(exit_kind(None)), return_dtype=pl.String)
    return exits.with_columns(exit_kind=kind)
