"""issue_quality: per task, how many runs resolved it, and whether the judge's evidence leaves it ambiguous.

Ambiguity rule: an arena is ambiguous when, in its latest verdict, two or more candidates pass every gate and they
do not all touch the same set of files, or do not all break the same set of tests. "Tests broken" are a candidate's
failing F2P/P2P tests, its regressions, and the other candidates' valid reproduction tests it fails in
cross-validation (`broken` in verdicts_df). Gate-passing patches break no F2P/P2P/base test by definition, so in
practice the second half asks: do the patches disagree on each other's reproduction tests? A task (arena repo +
title) is ambiguous when any of its judged arenas is; null while none is judged, and for imported runs (no gates).
"""

import polars as pl

from arena.analytics.duck import sql
from arena.analytics.frames import runs_df, verdicts_df
from arena.storage import Store

QUALITY_SQL = """
WITH pa AS (
  SELECT arena_id, count(*) FILTER (WHERE passes_gates) AS passing,
         count(DISTINCT files) FILTER (WHERE passes_gates) > 1
         OR count(DISTINCT broken) FILTER (WHERE passes_gates) > 1 AS ambiguous
  FROM v GROUP BY arena_id
),
tq AS (
  SELECT t.repo, t.task, count(*) AS arenas, sum(pa.passing)::BIGINT AS passing, bool_or(pa.ambiguous) AS ambiguous
  FROM (SELECT DISTINCT arena_id, repo, task FROM r WHERE source = 'arenas') t LEFT JOIN pa USING (arena_id)
  GROUP BY ALL
),
rq AS (
  SELECT source, repo, task, count(*) AS runs, count_if(resolved)::BIGINT AS resolved, count(resolved) AS known,
         count(DISTINCT agent) AS agents
  FROM r GROUP BY ALL
)
SELECT rq.source, rq.repo, rq.task, tq.arenas, rq.runs, rq.agents, rq.resolved,
       rq.resolved / nullif(rq.known, 0) AS resolve_rate, tq.passing, tq.ambiguous
FROM rq LEFT JOIN tq ON rq.source = 'arenas' AND rq.repo IS NOT DISTINCT FROM tq.repo
                     AND rq.task IS NOT DISTINCT FROM tq.task
ORDER BY rq.source, tq.ambiguous DESC NULLS LAST, resolve_rate NULLS LAST, rq.repo, rq.task
"""


def issue_quality(store: Store) -> pl.DataFrame:
    """One row per (source, repo, task): arenas, runs, agents, resolved, resolve_rate, passing, ambiguous.

    `task` is the arena title (with `repo`) or the imported run's instance id. `resolved` counts runs that resolved
    it; `passing` counts candidates that passed every gate in the latest verdicts; `ambiguous` follows the module
    docstring's rule (null for imported tasks and unjudged arenas).
    """
    runs = runs_df(store).select("source", "arena_id", "repo", "task", "agent", "resolved")
    return sql(QUALITY_SQL, r=runs, v=verdicts_df(store).select("arena_id", "passes_gates", "files", "broken"))
