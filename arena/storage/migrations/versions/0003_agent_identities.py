"""Agents named by their identity instead of file paths; stored specs embed their files.

Revision ID: 0003
Revises: 0002

Before, an agent was `<model>+<strategy>` with a scripted/replay model or a strategy YAML written as its
absolute path, so moving a checkout made new agents. Every stored name becomes its identity
(arena.identity: `scripted:fix.yaml@1a2b3c4d+minimal-fix`), in every place that holds one:

    contestants.model, .strategy                      the identity's two halves
    reputation_events.agent, .opponent                the identity
    verdicts.ranking[*].evidence.model, .strategy     the two halves
    arenas.spec                                       each file whose content was found is embedded (steps:,
                                                      strategy_definition:, the problem statement), as a launch
                                                      now stores it; the SWE-bench file's fields are already there

A scripted/replay file's steps come, in this order, from:
    1. the file, if it is still there and valid;
    2. the trajectory of a contestant that played it to the end (exit status ScriptExhausted: every step was
       played), each step rebuilt exactly from its recorded turn;
    3. nowhere: the fallback name NAME@path-HASH, HASH of the old path, so that one path always gives one agent
       and two paths never merge by accident.
A strategy YAML's definition comes from the file, else the same fallback.

Names that become one (the same file in two checkouts) merge into one agent: it keeps its earliest grant (the
ledger grants once per agent: uq_events_grant) and the later grants are deleted, as 0002 did with duplicates;
pairwise outcomes between two contestants that are now the same agent are deleted (the ledger never records
an agent against itself). Balances are sums over events, so nothing else needs merging.

Downgrade keeps the new names: the paths cannot be rebuilt from hashes, and this revision changes no schema.
"""

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from pydantic import ValidationError

from arena.agentfiles import MODEL_SCHEMES, ScriptStep, Strategy, is_strategy_file, load_steps, load_strategy
from arena.errors import SpecError
from arena.identity import HASHED, content_hash, file_label, model_identity, strategy_identity

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CONTESTANTS = sa.table(
    "contestants",
    sa.column("id", sa.Integer),
    sa.column("arena_id", sa.String),
    sa.column("name", sa.String),
    sa.column("model", sa.Text),
    sa.column("strategy", sa.Text),
    sa.column("exit_status", sa.String),
    sa.column("trajectory_path", sa.Text),
)
ARENAS = sa.table("arenas", sa.column("id", sa.String), sa.column("spec", sa.JSON))
VERDICTS = sa.table(
    "verdicts", sa.column("id", sa.Integer), sa.column("arena_id", sa.String), sa.column("ranking", sa.JSON)
)
EVENTS = sa.table(
    "reputation_events",
    sa.column("id", sa.Integer),
    sa.column("agent", sa.String),
    sa.column("opponent", sa.String),
    sa.column("kind", sa.String),
)


class Names:
    """Old model and strategy strings -> identity halves, and the content embedded for each (found once per string)."""

    def __init__(self, contestants: list) -> None:
        self.contestants = contestants
        self.steps: dict[str, list[ScriptStep] | None] = {}
        self.definitions: dict[str, Strategy | None] = {}

    def model(self, old: str) -> str:
        scheme, sep, rest = old.partition(":")
        if not sep or scheme not in MODEL_SCHEMES or HASHED.match(rest):
            return old
        steps = self.found_steps(old)
        if steps is None:
            return f"{scheme}:{file_label(rest)}@path-{content_hash(rest)}"
        return model_identity(old, steps)

    def strategy(self, old: str) -> str:
        if not is_strategy_file(old):
            return old
        definition = self.found_definition(old)
        if definition is None:
            return f"{file_label(old)}@path-{content_hash(old)}"
        return strategy_identity(old, definition)

    def agent(self, old: str) -> str:
        """An event's agent name whose contestant row is gone: split on the last '+'."""
        model, sep, strategy = old.rpartition("+")
        return f"{self.model(model)}+{self.strategy(strategy)}" if sep else old

    def found_steps(self, old: str) -> list[ScriptStep] | None:
        if old not in self.steps:
            scheme, _, rest = old.partition(":")
            try:
                self.steps[old] = load_steps(scheme, Path(rest))
            except SpecError:
                played = [c for c in self.contestants if c.model == old and c.exit_status == "ScriptExhausted"]
                self.steps[old] = next(filter(None, (_replayed(c.trajectory_path) for c in played)), None)
        return self.steps[old]

    def found_definition(self, old: str) -> Strategy | None:
        if old not in self.definitions:
            try:
                self.definitions[old] = load_strategy(old)
            except SpecError:
                self.definitions[old] = None
        return self.definitions[old]


def _replayed(trajectory_path: str | None) -> list[ScriptStep] | None:
    """The steps a scripted model played, rebuilt from its trajectory (arena.agents.models._output, inverted)."""
    try:
        messages = json.loads(Path(trajectory_path or "").read_text())["messages"]
        steps = []
        for m in (m for m in messages if m.get("role") == "assistant"):
            extra = m.get("extra") or {}
            commands = [a["command"] for a in extra["actions"]]
            blocks = "".join(f"\n\n```bash\n{c}\n```" for c in commands)
            content = m["content"]
            if content == blocks.strip():
                thought = ""
            elif content.startswith("THOUGHT: ") and content.endswith(blocks):
                thought = content[len("THOUGHT: ") : len(content) - len(blocks)]
            else:
                return None  # not a turn our scripted model wrote
            steps.append(ScriptStep(thought=thought, commands=commands, cost=extra.get("cost", 0.0)))
        return steps or None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ValidationError):
        return None


def upgrade() -> None:
    conn = op.get_bind()
    contestants = conn.execute(sa.select(CONTESTANTS)).all()
    names = Names(contestants)
    renamed: dict[str, str] = {}
    for c in contestants:
        model, strategy = names.model(c.model), names.strategy(c.strategy)
        renamed[f"{c.model}+{c.strategy}"] = f"{model}+{strategy}"
        if (model, strategy) != (c.model, c.strategy):
            conn.execute(CONTESTANTS.update().where(CONTESTANTS.c.id == c.id).values(model=model, strategy=strategy))
    _rename_events(conn, lambda old: renamed.get(old) or names.agent(old))
    _rename_evidence(conn, names, {(c.arena_id, c.name): c for c in contestants})
    _embed_specs(conn, names)


def _rename_events(conn, new_name) -> None:
    agents = {a for (a,) in conn.execute(sa.select(EVENTS.c.agent).distinct())}
    opponents = {o for (o,) in conn.execute(sa.select(EVENTS.c.opponent).distinct()) if o is not None}
    mapping = {old: new_name(old) for old in agents | opponents}
    # One grant per agent (uq_events_grant): of agents that merge, the earliest grant stays, before any rename.
    kept: set[str] = set()
    grants = conn.execute(sa.select(EVENTS.c.id, EVENTS.c.agent).where(EVENTS.c.kind == "grant").order_by(EVENTS.c.id))
    for event_id, agent in grants.all():
        if mapping[agent] in kept:
            conn.execute(EVENTS.delete().where(EVENTS.c.id == event_id))
        kept.add(mapping[agent])
    for old, new in mapping.items():
        if new != old:
            conn.execute(EVENTS.update().where(EVENTS.c.agent == old).values(agent=new))
            conn.execute(EVENTS.update().where(EVENTS.c.opponent == old).values(opponent=new))
    conn.execute(EVENTS.delete().where(EVENTS.c.kind == "pairwise", EVENTS.c.agent == EVENTS.c.opponent))


def _rename_evidence(conn, names: Names, contestants: dict) -> None:
    for verdict_id, arena_id, ranking in conn.execute(sa.select(VERDICTS)).all():
        changed = False
        for place in ranking or []:
            evidence = place.get("evidence") if isinstance(place, dict) else None
            row = contestants.get((arena_id, place.get("name"))) if evidence else None
            if row is not None and (evidence.get("model"), evidence.get("strategy")) == (row.model, row.strategy):
                evidence |= {"model": names.model(row.model), "strategy": names.strategy(row.strategy)}
                changed = True
        if changed:
            conn.execute(VERDICTS.update().where(VERDICTS.c.id == verdict_id).values(ranking=ranking))


def _embed_specs(conn, names: Names) -> None:
    for arena_id, spec in conn.execute(sa.select(ARENAS)).all():
        if not isinstance(spec, dict):
            continue
        before = json.dumps(spec, sort_keys=True)
        task = spec.get("task") or {}
        if task.get("problem_statement_file"):
            try:
                text = Path(task["problem_statement_file"]).read_text(encoding="utf-8")
                task |= {"problem_statement": text, "problem_statement_file": None}
            except (OSError, UnicodeDecodeError):
                pass  # left as it was: the file is gone, and the arena cannot run again without it
        if task.get("swebench"):
            task["swebench"] = None  # its fields were merged into the task when the arena was launched
        for c in spec.get("contestants") or []:
            model, strategy = str(c.get("model") or ""), str(c.get("strategy") or "balanced")
            scheme, sep, rest = model.partition(":")
            if sep and scheme in MODEL_SCHEMES and not c.get("steps") and names.found_steps(model) is not None:
                c["model"] = f"{scheme}:{Path(rest).name}"
                c["steps"] = [s.model_dump(mode="json") for s in names.found_steps(model)]
            definition = names.found_definition(strategy) if is_strategy_file(strategy) else None
            if definition is not None and not c.get("strategy_definition"):
                c["strategy"] = Path(strategy).name
                c["strategy_definition"] = definition.model_dump(mode="json")
        if json.dumps(spec, sort_keys=True) != before:
            conn.execute(ARENAS.update().where(ARENAS.c.id == arena_id).values(spec=spec))


def downgrade() -> None:
    pass  # names stay (module docstring)
