"""The ledger and progressive staking. Every number is a sum over append-only events (EventRow).

    available balance = grants + refunds + rewards - escrows - penalties
    escrow held       = escrows - refunds(of escrow) - forfeits
    k                 = reverts - redemptions (a redemption whose own arena was later reverted no longer counts)
    stake to enter    = base_stake * multiplier ** k

Entering escrows the stake. When an arena ends, non-winners get theirs back; the winner's stays
escrowed until its patch is merged (returned, plus a reward, and one earlier revert redeemed),
abandoned (returned) or reverted (forfeited; k + 1). A revert that comes after the merge, when the
stake was already returned, costs a penalty of that stake, never more than the balance.
"""

import threading
from dataclasses import dataclass, field

from sqlalchemy import select

from arena.config import env_numbers
from arena.errors import UserError
from arena.storage import EventRow, Store

_lock = threading.Lock()  # check-then-escrow must not interleave within a process


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
        values = env_numbers({"ARENA_STARTING_GRANT": "starting_grant", "ARENA_BASE_STAKE": "base_stake",
                              "ARENA_STAKE_MULTIPLIER": "multiplier", "ARENA_MERGE_REWARD": "merge_reward"})  # fmt: skip
        return cls(**values)


def agent_name(model: str, strategy: str) -> str:
    """The agent behind a contestant: the model exactly as written in the spec, then its strategy."""
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

    def events(self, agent: str | None = None, arena_id: str | None = None) -> list[EventRow]:
        with self.store.session() as s:
            query = select(EventRow).order_by(EventRow.id)
            if agent is not None:
                query = query.where(EventRow.agent == agent)
            if arena_id is not None:
                query = query.where(EventRow.arena_id == arena_id)
            return list(s.scalars(query))

    def state(self, agent: str) -> AgentState:
        events = self.events(agent)
        st = AgentState(name=agent, base_stake=self.rules.base_stake)
        reverted_arenas = {e.arena_id for e in events if e.kind == "reverted"}
        st.balance = self.rules.starting_grant if not any(e.kind == "grant" for e in events) else 0.0
        for e in events:
            st.balance += e.amount
            st.escrow += e.escrow
        st.wins = sum(
            1 for e in events if e.kind == "place" and e.detail.get("winner") and e.arena_id not in reverted_arenas
        )
        st.merged = sum(1 for e in events if e.kind == "merged")
        st.reverted = len(reverted_arenas)
        redeemed = sum(1 for e in events if e.kind == "redeemed" and e.arena_id not in reverted_arenas)
        st.k = max(0, st.reverted - redeemed)
        st.stake = self.rules.base_stake * self.rules.multiplier**st.k
        st.balance, st.escrow = round(st.balance, 9), round(st.escrow, 9)
        st.history = [_event_dict(e) for e in events]
        return st

    # -- entering and settling an arena -------------------------------------------------------------------

    def check(self, agents: list[str]) -> dict[str, AgentState]:
        """StakeRefused unless every agent can cover its stake (an agent entering twice pays twice)."""
        states = {a: self.state(a) for a in set(agents)}
        refused = []
        for agent, state in states.items():
            need = state.stake * agents.count(agent)
            if need > state.balance + 1e-9:
                refused.append(f"agent {agent} cannot enter: balance {state.balance:g} < stake {need:g} "
                               f"({state.base_stake:g} x {self.rules.multiplier:g}^{state.k} after {state.k} "
                               f"unredeemed revert(s){', twice' if agents.count(agent) > 1 else ''})")  # fmt: skip
        if refused:
            raise StakeRefused("; ".join(refused) + "; a merged winning patch redeems a revert (README: Staking)")
        return states

    def enter(self, arena_id: str, contestants: list[tuple[str, str]]) -> None:
        """Escrow every (contestant, agent)'s stake; StakeRefused (nothing written) if one cannot pay."""
        with _lock:
            states = self.check([agent for _, agent in contestants])
            rows = [EventRow(agent=a, kind="grant", amount=self.rules.starting_grant)
                    for a, s in states.items() if not any(h["kind"] == "grant" for h in s.history)]  # fmt: skip
            for name, agent in contestants:
                stake = states[agent].stake
                rows.append(EventRow(agent=agent, kind="entered", arena_id=arena_id, contestant=name))
                rows.append(
                    EventRow(
                        agent=agent, kind="escrow", arena_id=arena_id, contestant=name, amount=-stake, escrow=stake
                    )
                )
            self._add(rows)

    def settle(self, arena_id: str, winner: str | None, ranking: list[dict]) -> bool:
        """Places, pairwise outcomes and refunds, once per arena; False if it was settled before.

        Stakes and ratings follow the first successful verdict of an arena; a later re-judge is shown on
        Results but moves nothing (a different winner would otherwise be paid for a patch nobody chose).
        Escrows already returned (an arena released after an errored verdict) are not returned twice.
        """
        with _lock:
            existing = self.events(arena_id=arena_id)
            if any(e.kind == "place" for e in existing):
                return False
            released = {e.contestant for e in existing if e.kind in ("refund", "forfeit")}
            agents = {e.contestant: e.agent for e in existing if e.kind == "entered"}
            rows = []
            for p in ranking:
                if p["name"] in agents:
                    rows.append(EventRow(agent=agents[p["name"]], kind="place", arena_id=arena_id, contestant=p["name"],
                                         outcome=p["rank"], detail={"resolved": p.get("resolved"), "winner": p["name"] == winner}))  # fmt: skip
            placed = [p for p in ranking if p["name"] in agents]
            for i, a in enumerate(placed):
                for b in placed[i + 1 :]:
                    if agents[a["name"]] == agents[b["name"]]:
                        continue
                    score = _score(a, b, winner)
                    rows.append(EventRow(agent=agents[a["name"]], kind="pairwise", arena_id=arena_id, contestant=a["name"],
                                         opponent=agents[b["name"]], outcome=score))  # fmt: skip
            for e in existing:
                if e.kind == "escrow" and e.contestant != winner and e.contestant not in released:
                    rows.append(_refund(e, "not the winner" if winner else "no winner"))
            self._add(rows)
            return True

    def release(self, arena_id: str, why: str) -> None:
        """Return every stake still escrowed in an arena that ended without a verdict (failed, cancelled)."""
        with _lock:
            existing = self.events(arena_id=arena_id)
            refunded = {e.contestant for e in existing if e.kind in ("refund", "forfeit")}
            self._add([_refund(e, why) for e in existing if e.kind == "escrow" and e.contestant not in refunded])

    # -- after the arena: merge, abandon, revert -----------------------------------------------------

    def settled_winner(self, arena_id: str) -> str | None:
        """The winner stakes were settled for (None before settlement, or when there was no winner)."""
        return next(
            (e.contestant for e in self.events(arena_id=arena_id) if e.kind == "place" and e.detail.get("winner")), None
        )

    def winner_escrow(self, arena_id: str) -> EventRow | None:
        """The settled winner's stake, if it is still escrowed (never a running arena's stakes)."""
        events = self.events(arena_id=arena_id)
        winner = next((e.contestant for e in events if e.kind == "place" and e.detail.get("winner")), None)
        released = {e.contestant for e in events if e.kind in ("refund", "forfeit")}
        return next(
            (e for e in events if e.kind == "escrow" and e.contestant == winner and winner not in released), None
        )

    def record(
        self, kind: str, arena_id: str, agent: str, contestant: str, commit: str | None = None, **detail
    ) -> None:
        """applied / merged / reverted / abandoned, with the stake movements each implies (see module docstring)."""
        with _lock:
            held = self.winner_escrow(arena_id)
            rows = []
            if kind != "abandoned":
                rows.append(EventRow(agent=agent, kind=kind, arena_id=arena_id, contestant=contestant, commit=commit,
                                     detail=detail))  # fmt: skip
            if kind == "merged":
                if held is not None:
                    rows.append(_refund(held, "merged"))
                rows.append(EventRow(agent=agent, kind="reward", arena_id=arena_id, amount=self.rules.merge_reward))
                if self.state(agent).k > 0:
                    rows.append(EventRow(agent=agent, kind="redeemed", arena_id=arena_id))
            elif kind == "abandoned" and held is not None:
                rows.append(_refund(held, "abandoned"))
            elif kind == "reverted" and held is not None:
                rows.append(EventRow(agent=agent, kind="forfeit", arena_id=arena_id, contestant=contestant,
                                     escrow=-held.escrow))  # fmt: skip
            elif kind == "reverted":  # merged before, stake returned then: a penalty of that stake
                stake = next((-e.amount for e in self.events(agent, arena_id) if e.kind == "escrow"), 0.0)
                penalty = min(stake, max(0.0, self.state(agent).balance))
                rows.append(EventRow(agent=agent, kind="penalty", arena_id=arena_id, amount=-penalty))
            self._add(rows)

    def _add(self, rows: list[EventRow]) -> None:
        if rows:
            with self.store.session() as s:
                s.add_all(rows)


def _score(a: dict, b: dict, winner: str | None) -> float:
    """1 when a beats b: the winner beats each loser, resolved beats unresolved; otherwise a tie."""
    if a["name"] == winner or b["name"] == winner:
        return 1.0 if a["name"] == winner else 0.0
    ra, rb = a.get("resolved") is True, b.get("resolved") is True
    return 0.5 if ra == rb else (1.0 if ra else 0.0)


def _refund(escrow: EventRow, why: str) -> EventRow:
    return EventRow(agent=escrow.agent, kind="refund", arena_id=escrow.arena_id, contestant=escrow.contestant,
                    amount=escrow.escrow, escrow=-escrow.escrow, detail={"why": why})  # fmt: skip


def _event_dict(e: EventRow) -> dict:
    return {"at": e.at.isoformat() if e.at else None, "kind": e.kind, "arena_id": e.arena_id, "contestant": e.contestant,
            "amount": e.amount, "escrow": e.escrow, "opponent": e.opponent, "outcome": e.outcome, "commit": e.commit,
            "detail": e.detail}  # fmt: skip
