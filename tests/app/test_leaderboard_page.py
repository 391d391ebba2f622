"""The Leaderboard and Costs pages at scale: many agents, charts of the top few, every agent in the table, provisional
apart, and frames computed once per data version.

63 agents: 60 in 30 four-agent arenas (two arenas, 6 games each; the lower number always wins) and 3 newcomers
who met once in a three-agent arena (2 games each: provisional).
"""

import json
from datetime import datetime

import pandas as pd
from streamlit.testing.v1 import AppTest

from app import charts
from arena.reputation.ratings import MIN_GAMES
from tests.app.conftest import ROOT, app, texts
from tests.test_analytics import add_arena, add_events, pairwise

T0 = datetime(2024, 1, 1, 12)
REGULARS = [f"m{i:02d}" for i in range(60)]
NEWCOMERS = ["new0", "new1", "new2"]


def play(store, arena_id: str, models: list[str]) -> None:
    """An arena of `models` (strategy "s") and its pairwise events: the earlier model in the list wins."""
    add_arena(
        store, arena_id, "r1", arena_id, T0, [(f"c{i}", m, "s", 1.0, 3, "Submitted") for i, m in enumerate(models)]
    )
    events = [pairwise(arena_id, f"{a}+s", f"{b}+s", 1.0) for i, a in enumerate(models) for b in models[i + 1 :]]
    add_events(store, *events)


def many_agents(store) -> None:
    for k in range(15):  # each regular plays in two arenas: once among neighbours, once among strangers
        play(store, f"near-{k}", REGULARS[4 * k : 4 * k + 4])
        play(store, f"far-{k}", REGULARS[k::15])
    play(store, "newcomers", NEWCOMERS)


def charted(at) -> list[str]:
    """The players on the ratings chart (every trace's y values)."""
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "ratings" in c.proto.id)
    return [y for trace in json.loads(chart.proto.spec)["data"] for y in trace["y"]]


def table(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "win_rate" in d.value.columns)


def test_the_chart_shows_the_top_n_and_the_table_everyone(data):
    from app.resources import engine

    many_agents(engine().store)
    at = app("leaderboard")
    assert not at.exception, at.exception
    board = table(at)
    assert len(board) == 63 and set(board["agent"]) == {f"{m}+s" for m in REGULARS + NEWCOMERS}
    on_chart = charted(at)
    assert len(on_chart) == 25 == charts.TOP
    assert on_chart == list(board["agent"])[:25] and on_chart[0] == "m00+s"  # the best 25, best first
    assert list(board["rating"])[:25] == sorted(board["rating"][~board["provisional"]], reverse=True)[:25]
    assert "25 of 63 players charted" in texts(at)

    next(n for n in at.number_input if n.label == "Top").set_value(30).run()
    assert len(charted(at)) == 30
    next(m for m in at.multiselect if m.label == "Also chart").select("m59+s").run()
    assert not at.exception, at.exception
    assert len(charted(at)) == 31 and charted(at)[-1] == "m59+s"


def test_games_arenas_and_provisional_beside_every_rating(data):
    from app.resources import engine

    many_agents(engine().store)
    at = app("leaderboard")
    rows = table(at).set_index("agent")
    assert (rows.loc["m00+s", "games"], rows.loc["m00+s", "arenas"]) == (6, 2)
    assert not rows.loc["m00+s", "provisional"] and rows.loc["m00+s", "tier"] == 1
    for newcomer in NEWCOMERS:  # 2 games: rated, but not tiered
        assert rows.loc[f"{newcomer}+s", "games"] == 2 < MIN_GAMES
        assert rows.loc[f"{newcomer}+s", "provisional"] and pd.isna(rows.loc[f"{newcomer}+s", "tier"])
    assert list(table(at)["agent"])[-3:] == [f"{m}+s" for m in NEWCOMERS]  # listed after every tiered agent

    next(m for m in at.multiselect if m.label == "Also chart").select("new0+s").run()
    chart = next(c for c in at.get("plotly_chart") if "ratings" in c.proto.id)
    traces = {t["name"]: t for t in json.loads(chart.proto.spec)["data"]}
    assert traces["provisional (not tiered)"]["y"] == ["new0+s"]
    assert "new0+s" not in traces["tiered"]["y"]
    assert "provisional" in traces["provisional (not tiered)"]["hovertext"][0]
    assert "6 games in 2 arenas" in traces["tiered"]["hovertext"][0]


def test_ratings_and_runs_are_computed_once_per_data_version(data, monkeypatch):
    """The Leaderboard and Costs read the running totals, never every run; a repeat visit rates nothing again; new
    data is rated again, once."""
    from app.resources import engine
    from arena import analytics
    from arena.analytics import ratings as analytics_ratings

    calls = {"rate": 0, "runs_df": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(analytics_ratings, "rate", counted("rate", analytics_ratings.rate))
    monkeypatch.setattr(analytics, "runs_df", counted("runs_df", analytics.runs_df))
    many_agents(engine().store)
    at = app("leaderboard")
    assert calls == {"rate": 1, "runs_df": 0} and len(charted(at)) == 25
    at.run()
    assert calls == {"rate": 1, "runs_df": 0}  # the same data: nothing recomputed
    at.switch_page("../pages/costs.py").run()
    assert not at.exception, at.exception
    assert calls == {"rate": 1, "runs_df": 0}  # Costs shows the same board; cost per step from the totals too
    add_events(engine().store, pairwise("late", "m59+s", "m00+s", 1.0))
    at.switch_page("../pages/leaderboard.py").run()
    assert calls == {"rate": 2, "runs_df": 0}  # new data: rated again, once
    assert table(at).set_index("agent").loc["m59+s", "games"] == 7


def test_costs_charts_stay_readable_with_many_agents(data):
    from app.resources import engine

    store = engine().store
    for k in range(15):  # judged arenas: the earlier model wins; agents differ in cost
        models = REGULARS[4 * k : 4 * k + 4]
        contestants = [(f"c{i}", m, "s", 1.0 + REGULARS.index(m) % 7, 3, "Submitted") for i, m in enumerate(models)]
        verdict = {f"c{i}": (True, True, ["x.py"]) for i in range(4)}
        add_arena(store, f"judged-{k}", "r1", f"t{k}", T0, contestants, winner="c0", verdict=verdict)
    at = AppTest.from_file(str(ROOT / "pages" / "costs.py"), default_timeout=60).run()  # Arenas needs full verdicts
    assert not at.exception, at.exception
    charts_ = {c.proto.id: json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")}
    pareto = next(data for key, data in charts_.items() if "pareto" in key)[0]
    named = [t for t in pareto["text"] if t]
    assert len(pareto["x"]) == 60 and 0 < len(named) < 60  # every agent a point, only the frontier named
    assert all(h.split("<br>")[0] for h in pareto["hovertext"])  # every point named on hover
    bars = next(data for key, data in charts_.items() if "pareto" not in key)[0]
    assert len(bars["y"]) == charts.TOP  # the 25 dearest per step; the table below lists all 60
    assert "25 of 60 agents charted" in texts(at) and "The newest 60 of 60 runs." in texts(at)
