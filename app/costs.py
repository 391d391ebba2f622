"""The Costs page's step rollup (kept out of the page: pages stay thin)."""

import polars as pl

from arena.analytics.duck import sql


def per_step(steps: pl.DataFrame, runs: pl.DataFrame) -> pl.DataFrame:
    """Mean cost per step and steps per run, per agent (steps joined to their runs)."""
    return sql(
        """SELECT r.agent, count(*) AS steps, count(DISTINCT s.run) AS runs,
                  coalesce(avg(s.cost), 0) AS cost_per_step, count(*) / count(DISTINCT s.run) AS steps_per_run
           FROM s JOIN r ON s.run = r.run GROUP BY r.agent ORDER BY cost_per_step DESC""",
        s=steps.select("run", "cost"),
        r=runs.select("run", "agent"),
    )
