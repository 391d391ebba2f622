"""The ledger and progressive staking. Every number is a sum over append-only events (EventRow).

    available balance = grants + refunds + rewards - escrows - penalties
    escrow held       = escrows - refunds(of escrow) - forfeits
    k                 = reverts - redemptions (a redemption whose own arena was later reverted no longer counts)
    stake to enter    = base_stake * multiplier ** k

Entering escrows the stake. When an arena ends, non-winners get theirs back; the winner's stays
escrowed until its patch is merged (returned, plus a reward, and one earlier revert redeemed),
abandoned (returned) or reverted (forfeited; k + 1). A revert that comes after the merge, when the
stake was already returned, costs a penalty of that stake, never more than the balance.

Exactly once, across processes and hosts, by the database: unique indexes allow one grant per
agent and one escrow, one release (refund or forfeit) and one place per contestant of an arena
(arena/storage/models.py). Check-and-escrow locks the agents' grant rows first, so two launches
cannot both spend the same balance.
"""

from contextlib import suppress
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arena.config import env_numbers
from arena.errors import SpecError, UserError
from arena.identity import agent_identity
from arena.storage import EventRow, Store


class StakeRefused(UserError):
    """An agent cannot cover its stake; the message says its balance and stake."""


@dataclass(frozen=True)
class StakeRules:
    starting_grant: float = 100.0
    base_stake: float = 1.0
    multiplier: float = 10.0
    merge_reward: float = 1.0

    @classmethod
    def from_env(cls) -> "StakeRules":
        """ARENA_STARTING_GRANT, ARENA_BASE_STAKE, ARENA_STAKE_MULTIPLIER, ARENA_MERGE_REWARD override the defaults."""
        values = env_numbers(
            {
                "ARENA_STARTING_GRANT": "starting_grant",
                "ARENA_BASE_STAKE": "base_stake",
                "ARENA_STAKE_MULTIPLIER": "multiplier",
                "ARENA_MERGE_REWARD": "merge_reward",
            }
        )
        return cls(**values)


def agent_name(model: str, strategy: str) -> str:
    """The agent behind a model and strategy as a form holds them (arena.identity.agent_identity names agents).

    For callers showing stakes before a spec is validated (the Launch page): a file that cannot be read yet is
    named as written; the launch itself refuses it. Everything else names agents with agent_identity or
    ContestantSpec.identity.
    """
    try:
        return agent_identity(model, strategy)
    except SpecError:
        return f"{model}+{strategy}"


@dataclass
class AgentState:
    name: str
    balance: float = 0.0
    escrow: float = 0.0
    k: int = 0
    base_stake: float = 1.0
    stake: float = 1.0
    wins: int = 0
    merged: int = 0
    reverted: int = 0
    history: list[dict] = field(default_factory=list)


class Ledger:
    def __init__(self, store: Store, rules: StakeRules | None = None):
        self.store = store
        self.rules = rules or StakeRules.from_env()

    # -- reading ----------------------------------------------------------------------------------

    def events(
        self, agent: str | None = None, arena_id: str | None = None, session: Session | None = None
    ) -> list[EventRow]:
        query = select(EventRow).order_by(EventRow.id)
        if agent is not None:
            query = query.where(EventRow.agent == agent)
        if arena_id is not None:
            query = query.where(EventRow.arena_id == arena_id)
        if session is not None:
            return list(session.scalars(query))
        with self.store.session() as s:
            return list(s.scalars(query))

    def state(self, agent: str, session: Session | None = None) -> AgentState:
        events = self.events(agent, session=session)
        st = AgentState(name=agent, base_stake=self.rules.base_stake)
        reverted_arenas = {e.arena_id for e in events if e.kind == "reverted"}
        st.balance = self.rules.starting_grant if not any(e.kind == "grant" for e in events) else 0.0
        for e in events:
            st.balance += e.amount
            st.escrow += e.escrow
        st.wins = sum(
            1
            for e in newest_outcomes(events)
            if e.kind == "place" and e.detail.get("winner") and e.arena_id not in reverted_arenas
        )
        st.merged = sum(1 for e in events if e.kind == "merged")
        st.reverted = len(reverted_arenas)
        redeemed = sum(1 for e in events if e.kind == "redeemed" and e.arena_id not in reverted_arenas)
        st.k = max(0, st.reverted - redeemed)
        st.stake = self.rules.base_stake * self.rules.multiplier**st.k
        st.balance, st.escrow = round(st.balance, 9), round(st.escrow, 9)
        st.history = [_event_dict(e) for e in events]
        return st

    def agents(self) -> list[str]:
        """Every agent the ledger knows, sorted."""
        with self.store.session() as s:
            return sorted(set(s.scalars(select(EventRow.agent).distinct())))

    def timeline(self, history: list[dict]) -> list[dict]:
        """After each event of an agent's `history` (AgentState.history): its balance, escrow and stake to enter,
        by the same rules as `state` (a redemption whose own arena was later reverted no longer counts)."""
        balance, escrow, reverted, redeemed, points = self.rules.starting_grant, 0.0, set(), [], []
        for e in history:
            if e["kind"] == "grant":
                balance -= self.rules.starting_grant  # the grant event carries what the virtual start counted
            balance, escrow = balance + e["amount"], escrow + e["escrow"]
            if e["kind"] == "reverted":
                reverted.add(e["arena_id"])
            elif e["kind"] == "redeemed":
                redeemed.append(e["arena_id"])
            k = max(0, len(reverted) - sum(1 for a in redeemed if a not in reverted))
            stake = self.rules.base_stake * self.rules.multiplier**k
            points.append({"at": e["at"], "balance": round(balance, 9), "escrow": round(escrow, 9), "stake": stake})
        return points

    # -- entering and settling an arena -------------------------------------------------------------------

    def check(self, agents: list[str], session: Session | None = None) -> dict[str, AgentState]:
        """StakeRefused unless every agent can cover its stake (an agent entering twice pays twice)."""
        states = {a: self.state(a, session) for a in set(agents)}
        refused = []
        for agent, state in states.items():
            need = state.stake * agents.count(agent)
            if need > state.balance + 1e-9:
                refused.append(
                    f"agent {agent} cannot enter: balance {state.balance:g} < stake {need:g} "
                    f"({state.base_stake:g} x {self.rules.multiplier:g}^{state.k} after {state.k} "
                    f"unredeemed revert(s){', twice' if agents.count(agent) > 1 else ''})"
                )
        if refused:
            raise StakeRefused("; ".join(refused) + "; a merged winning patch redeems a revert (README: Staking)")
        return states

    def enter(self, arena_id: str, contestants: list[tuple[str, str]]) -> None:
        """Escrow every (contestant, agent)'s stake; StakeRefused (nothing escrowed) if one cannot pay."""
        agents = sorted({agent for _, agent in contestants})
        for agent in agents:
            self._grant_once(agent)
        with self.store.session() as s:
            for agent in agents:  # in a fixed order, so two launches never wait on each other in a cycle
                _lock_agent(s, agent)
            states = self.check([agent for _, agent in contestants], s)
            for name, agent in contestants:
                stake = states[agent].stake
                s.add(EventRow(agent=agent, kind="entered", arena_id=arena_id, contestant=name))
                s.add(
                    EventRow(
                        agent=agent, kind="escrow", arena_id=arena_id, contestant=name, amount=-stake, escrow=stake
                    )
                )

    def _grant_once(self, agent: str) -> None:
        """The starting grant, written by whichever process gets there first (the unique index refuses the rest)."""
        with self.store.session() as s:
            if s.scalar(select(EventRow.id).where(EventRow.agent == agent, EventRow.kind == "grant")) is not None:
                return
        with suppress(IntegrityError):  # another process granted it a moment ago
            self._add([EventRow(agent=agent, kind="grant", amount=self.rules.starting_grant)])

    def settle(self, arena_id: str, winner: str | None, ranking: list[dict], verdict_id: int | None = None) -> bool:
        """Record a verdict's outcomes (places, pairwise); the first verdict recorded also moves the stakes.

        Returns True when this call settled the stakes. Wins and ratings follow each arena's newest recorded
        verdict, so every page agrees after "Judge again"; stakes move once, by the first: a different winner
        would otherwise be paid for a patch nobody chose. Escrows already returned (an arena released after
        an errored verdict) are not returned twice.
        """
        for _ in range(3):  # a concurrent release of one escrow makes the batch conflict: read again
            existing = self.events(arena_id=arena_id)
            places = [e for e in existing if e.kind == "place"]
            if any(e.verdict_id == verdict_id for e in places):
                return False
            rows = _outcomes(arena_id, winner, ranking, existing, verdict_id)
            if not places:
                rows += _refunds(winner, existing)
            try:
                self._add(rows)
                return not places
            except IntegrityError:
                continue
        return False

    def release(self, arena_id: str, why: str) -> int:
        """Return every stake still escrowed in an arena that ended unsettled; returns how many were returned."""
        existing = self.events(arena_id=arena_id)
        if any(e.kind == "place" for e in existing):
            return 0  # settled: the winner's stake waits for merge, abandon or revert
        refunded = {e.contestant for e in existing if e.kind in ("refund", "forfeit")}
        returned = 0
        for e in existing:
            if e.kind == "escrow" and e.contestant not in refunded:
                with suppress(IntegrityError):  # another process returned it first
                    self._add([_refund(e, why)])
                    returned += 1
        return returned

    # -- after the arena: merge, abandon, revert -----------------------------------------------------

    def settled_winner(self, arena_id: str) -> str | None:
        """The winner stakes were settled for (None before settlement, or when there was no winner)."""
        return next((e.contestant for e in _settled(self.events(arena_id=arena_id)) if e.detail.get("winner")), None)

    def winner_escrow(self, arena_id: str) -> EventRow | None:
        """The settled winner's stake, if it is still escrowed (never a running arena's stakes)."""
        events = self.events(arena_id=arena_id)
        winner = next((e.contestant for e in _settled(events) if e.detail.get("winner")), None)
        released = {e.contestant for e in events if e.kind in ("refund", "forfeit")}
        return next(
            (e for e in events if e.kind == "escrow" and e.contestant == winner and winner not in released), None
        )

    def record(
        self, kind: str, arena_id: str, agent: str, contestant: str, commit: str | None = None, **detail
    ) -> bool:
        """applied / merged / reverted / abandoned, with the stake movements each implies (see module docstring).

        Exactly once per arena: when another process recorded the same outcome first, nothing is written
        (the database refuses the duplicate) and False is returned.
        """
        held = self.winner_escrow(arena_id)
        rows = []
        if kind != "abandoned":
            rows.append(
                EventRow(agent=agent, kind=kind, arena_id=arena_id, contestant=contestant, commit=commit, detail=detail)
            )
        if kind == "merged":
            if held is not None:
                rows.append(_refund(held, "merged"))
            rows.append(EventRow(agent=agent, kind="reward", arena_id=arena_id, amount=self.rules.merge_reward))
            if self.state(agent).k > 0:
                rows.append(EventRow(agent=agent, kind="redeemed", arena_id=arena_id))
        elif kind == "abandoned" and held is not None:
            rows.append(_refund(held, "abandoned"))
        elif kind == "reverted" and held is not None:
            rows.append(
                EventRow(agent=agent, kind="forfeit", arena_id=arena_id, contestant=contestant, escrow=-held.escrow)
            )
        elif kind == "reverted":  # merged before, stake returned then: a penalty of that stake
            stake = next((-e.amount for e in self.events(agent, arena_id) if e.kind == "escrow"), 0.0)
            penalty = min(stake, max(0.0, self.state(agent).balance))
            rows.append(EventRow(agent=agent, kind="penalty", arena_id=arena_id, amount=-penalty))
        try:
            self._add(rows)
        except IntegrityError:
            return False
        return True

    def _add(self, rows: list[EventRow]) -> None:
        if rows:
            with self.store.session() as s:
                s.add_all(rows)


def _lock_agent(session: Session, agent: str) -> None:
    """Hold the agent's grant row until the transaction ends: a row lock on PostgreSQL, the write lock on SQLite.

    A no-op UPDATE rather than SELECT ... FOR UPDATE because SQLite has no row locks; both take the lock first,
    so the balance read after it includes every escrow committed before.
    """
    session.execute(
        update(EventRow).where(EventRow.agent == agent, EventRow.kind == "grant").values(amount=EventRow.amount)
    )


def _outcomes(
    arena_id: str, winner: str | None, ranking: list[dict], existing: list[EventRow], verdict_id: int | None
) -> list[EventRow]:
    """Place and pairwise events of one verdict."""
    agents = {e.contestant: e.agent for e in existing if e.kind == "entered"}
    rows = []
    for p in ranking:
        if p["name"] in agents:
            rows.append(
                EventRow(
                    agent=agents[p["name"]],
                    kind="place",
                    arena_id=arena_id,
                    contestant=p["name"],
                    outcome=p["rank"],
                    verdict_id=verdict_id,
                    detail={"resolved": p.get("resolved"), "winner": p["name"] == winner},
                )
            )
    placed = [p for p in ranking if p["name"] in agents]
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            if agents[a["name"]] == agents[b["name"]]:
                continue
            rows.append(
                EventRow(
                    agent=agents[a["name"]],
                    kind="pairwise",
                    arena_id=arena_id,
                    contestant=a["name"],
                    opponent=agents[b["name"]],
                    outcome=_score(a, b, winner),
                    verdict_id=verdict_id,
                )
            )
    return rows


def _refunds(winner: str | None, existing: list[EventRow]) -> list[EventRow]:
    """Every stake but the winner's goes back at settlement."""
    released = {e.contestant for e in existing if e.kind in ("refund", "forfeit")}
    return [
        _refund(e, "not the winner" if winner else "no winner")
        for e in existing
        if e.kind == "escrow" and e.contestant != winner and e.contestant not in released
    ]


def newest_outcomes(events: list[EventRow]) -> list[EventRow]:
    """The place and pairwise events of each arena's newest recorded verdict: what wins and ratings count."""
    newest: dict[str | None, int] = {}
    for e in events:
        if e.kind == "place":
            newest[e.arena_id] = max(newest.get(e.arena_id, -1), e.verdict_id or 0)
    return [e for e in events if e.kind in ("place", "pairwise") and (e.verdict_id or 0) == newest.get(e.arena_id)]


def _settled(events: list[EventRow]) -> list[EventRow]:
    """The place events of the verdict that settled the stakes (the first recorded)."""
    places = [e for e in events if e.kind == "place"]
    return [e for e in places if e.verdict_id == places[0].verdict_id] if places else []


def _score(a: dict, b: dict, winner: str | None) -> float:
    """1 when a beats b: the winner beats each loser, resolved beats unresolved; otherwise a tie."""
    if a["name"] == winner or b["name"] == winner:
        return 1.0 if a["name"] == winner else 0.0
    ra, rb = a.get("resolved") is True, b.get("resolved") is True
    return 0.5 if ra == rb else (1.0 if ra else 0.0)


def _refund(escrow: EventRow, why: str) -> EventRow:
    return EventRow(
        agent=escrow.agent,
        kind="refund",
        arena_id=escrow.arena_id,
        contestant=escrow.contestant,
        amount=escrow.escrow,
        escrow=-escrow.escrow,
        detail={"why": why},
    )


def _event_dict(e: EventRow) -> dict:
    return {
        "at": e.at.isoformat() if e.at else None,
        "kind": e.kind,
        "arena_id": e.arena_id,
        "contestant": e.contestant,
        "amount": e.amount,
        "escrow": e.escrow,
        "opponent": e.opponent,
        "outcome": e.outcome,
        "commit": e.commit,
        "detail": e.detail,
    }
