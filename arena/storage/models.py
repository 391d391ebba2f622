"""SQLAlchemy 2 typed schema. Times are naive UTC (SQLite keeps no zone)."""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"

    @property
    def ended(self) -> bool:
        return self not in (Status.QUEUED, Status.RUNNING)


QUEUE_OWNER = "queue"
"""The `owner` of an arena run by the queue's workers (arena/queue): no one process holds it, so no process lease
expires it; each contestant holds its own lease (its heartbeat) on the worker that runs it."""


class Base(DeclarativeBase):
    pass


class ArenaRow(Base):
    __tablename__ = "arenas"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    repo: Mapped[str] = mapped_column(Text)
    base: Mapped[str] = mapped_column(Text)
    """The commit-ish as written in the spec."""
    base_sha: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict] = mapped_column(JSON)
    """The spec as launched, self-contained (arena.spec.self_contained: files embedded), as JSON."""
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED, index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    setup_log_path: Mapped[str | None] = mapped_column(Text, default=None)
    owner: Mapped[str | None] = mapped_column(String(128), default=None)
    """host:pid of the process running it (shown to people; recovery goes by the lease)."""
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, default=None, index=True)
    """The owner renews this while the arena is queued or running; once it passes, anyone may recover it."""
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    """When recovery last found the ended arena with no stake left to settle (Store.unsettled_arenas): it is not
    looked at again. Null for every arena that is live, or ended with a stake still escrowed."""

    __table_args__ = (
        Index(
            "ix_arenas_unsettled",
            "status",
            sqlite_where=text("settled_at IS NULL"),
            postgresql_where=text("settled_at IS NULL"),
        ),
    )

    contestants: Mapped[list["ContestantRow"]] = relationship(
        back_populates="arena", order_by="ContestantRow.id", cascade="all, delete-orphan"
    )


class ContestantRow(Base):
    __tablename__ = "contestants"
    __table_args__ = (UniqueConstraint("arena_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    arena_id: Mapped[str] = mapped_column(ForeignKey("arenas.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(Text)
    """The MODEL half of the contestant's agent identity (arena/identity.py); the spec has what it ran."""
    strategy: Mapped[str] = mapped_column(Text)
    """The STRATEGY half: `model + '+' + strategy` is the agent the ledger knows."""
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED, index=True)
    exit_status: Mapped[str | None] = mapped_column(String(64), default=None)
    """Why the agent stopped: Submitted, LimitsExceeded, TimeExceeded, Cancelled, an exception name..."""
    steps: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    traceback: Mapped[str | None] = mapped_column(Text, default=None)
    trajectory_path: Mapped[str | None] = mapped_column(Text, default=None)
    patch_path: Mapped[str | None] = mapped_column(Text, default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    """When the queue (arena/queue) handed it to the workers; null for an in-process arena's contestants."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """How many times a worker started it: more than one when a worker died and another ran it again from scratch."""
    history: Mapped[list] = mapped_column(JSON, default=list)
    """What happened to it on the queue, oldest first: {"at", "event", "worker", "note"} (arena/queue/state.py)."""

    arena: Mapped[ArenaRow] = relationship(back_populates="contestants")

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class VerdictRow(Base):
    """One judgement of an arena; re-judging adds another (the newest is the arena's verdict)."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    arena_id: Mapped[str] = mapped_column(ForeignKey("arenas.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    winner: Mapped[str | None] = mapped_column(String(64), default=None)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    """Coverage: how many candidates resolved the task."""
    candidates: Mapped[int] = mapped_column(Integer, default=0)
    judge: Mapped[dict] = mapped_column(JSON, default=dict)
    """Reviewer, fallback, rationale, test command and its evidence, cross-validation matrix, baseline."""
    ranking: Mapped[list] = mapped_column(JSON, default=list)
    """Every candidate's place, reasons and evidence (the judge's full output)."""
    error: Mapped[str | None] = mapped_column(Text, default=None)

    evaluations: Mapped[list["EvaluationRow"]] = relationship(
        back_populates="verdict", order_by="EvaluationRow.rank", cascade="all, delete-orphan"
    )


class EvaluationRow(Base):
    """One candidate's evidence within a verdict, flat for analytics."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    verdict_id: Mapped[int] = mapped_column(ForeignKey("verdicts.id"), index=True)
    arena_id: Mapped[str] = mapped_column(String(32), index=True)
    candidate: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)
    passes_gates: Mapped[bool] = mapped_column(Boolean)
    applies: Mapped[bool] = mapped_column(Boolean)
    resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    f2p_passed: Mapped[int] = mapped_column(Integer, default=0)
    f2p_total: Mapped[int] = mapped_column(Integer, default=0)
    p2p_passed: Mapped[int] = mapped_column(Integer, default=0)
    p2p_total: Mapped[int] = mapped_column(Integer, default=0)
    regressions: Mapped[int] = mapped_column(Integer, default=0)
    tampered: Mapped[bool] = mapped_column(Boolean, default=False)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    diff_lines: Mapped[int] = mapped_column(Integer, default=0)
    files_changed: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)

    verdict: Mapped[VerdictRow] = relationship(back_populates="evaluations")


ONCE_PER_ARENA = "kind IN ('merged', 'reverted', 'reward', 'redeemed', 'penalty')"
"""What happens to an arena's winning patch happens once: two `arena sync` at once cannot pay twice."""


class EventRow(Base):
    """The reputation ledger: append-only; every number on a reputation page is a sum over these.

    kind (amount/escrow in credits; positive adds to the agent's available balance / its escrow):
      grant        +amount              the starting grant, once per agent
      entered      arena_id             the agent entered an arena (as `contestant`)
      escrow       -amount, +escrow     its stake, held while the arena runs
      refund       +amount, -escrow     stake returned (non-winner at the end; winner on merge or abandon)
      reward       +amount              a merged winning patch
      forfeit      -escrow              a reverted winning patch loses its stake
      penalty      -amount              a revert after the stake was already returned (never below zero)
      place        rank in `outcome`    where the agent placed (1 = winner) in verdict `verdict_id`
      pairwise     outcome 1/0.5/0      against `opponent` in that verdict: winner beats each loser, resolved beats unresolved
      applied      commit               the winning patch committed on a branch (`arena apply`)
      merged       commit               that commit reached the base branch (`arena sync`)
      reverted     commit               a later commit reverted it (`This reverts commit ...`)
      redeemed                          a merged win cancels one earlier revert (k - 1)
    """

    __tablename__ = "reputation_events"
    # Exactly-once by the database, whichever process (or host) writes: one grant per agent, one
    # escrow / one release (refund or forfeit) / one place per contestant of an arena and verdict; one merge,
    # revert, reward, redemption and penalty per arena.
    __table_args__ = (
        Index(
            "uq_events_grant",
            "agent",
            unique=True,
            sqlite_where=text("kind = 'grant'"),
            postgresql_where=text("kind = 'grant'"),
        ),
        Index(
            "uq_events_escrow",
            "arena_id",
            "contestant",
            unique=True,
            sqlite_where=text("kind = 'escrow'"),
            postgresql_where=text("kind = 'escrow'"),
        ),
        Index(
            "uq_events_release",
            "arena_id",
            "contestant",
            unique=True,
            sqlite_where=text("kind IN ('refund', 'forfeit') AND contestant IS NOT NULL"),
            postgresql_where=text("kind IN ('refund', 'forfeit') AND contestant IS NOT NULL"),
        ),
        Index(
            "uq_events_place",
            "arena_id",
            "contestant",
            "verdict_id",
            unique=True,
            sqlite_where=text("kind = 'place'"),
            postgresql_where=text("kind = 'place'"),
        ),
        # An arena's events of a kind (the running totals read one arena's pairwise events): without it SQLite
        # walks every event of that kind in the kind index, millions of them.
        Index("ix_events_arena_kind", "arena_id", "kind"),
        Index(
            "uq_events_outcome",
            "arena_id",
            "kind",
            unique=True,
            sqlite_where=text(ONCE_PER_ARENA),
            postgresql_where=text(ONCE_PER_ARENA),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    agent: Mapped[str] = mapped_column(String(256), index=True)
    """The agent's identity, `MODEL+STRATEGY` (arena/identity.py)."""
    kind: Mapped[str] = mapped_column(String(16), index=True)
    arena_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    contestant: Mapped[str | None] = mapped_column(String(64), default=None)
    amount: Mapped[float] = mapped_column(Float, default=0.0)
    escrow: Mapped[float] = mapped_column(Float, default=0.0)
    opponent: Mapped[str | None] = mapped_column(String(256), default=None)
    outcome: Mapped[float | None] = mapped_column(Float, default=None)
    commit: Mapped[str | None] = mapped_column(String(64), default=None)
    verdict_id: Mapped[int | None] = mapped_column(Integer, default=None)
    """For place and pairwise: the verdict they record. Wins and ratings read each arena's newest one."""
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ImportedRunRow(Base):
    """A trajectory from elsewhere (`arena ingest`), keyed by its content hash so ingesting twice changes nothing."""

    __tablename__ = "imported_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(Text, default=None)
    instance_id: Mapped[str | None] = mapped_column(String(256), default=None, index=True)
    steps: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int | None] = mapped_column(Integer, default=None)
    cost: Mapped[float | None] = mapped_column(Float, default=None)
    exit_status: Mapped[str | None] = mapped_column(String(64), default=None)
    submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    """A submission (patch) exists."""
    resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=None)
    """From a SWE-bench report when one was given; None when unknown."""
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PublicationRow(Base):
    """An arena's life on GitHub (arena/publish): its pushed candidate branches and its one pull request.

    One row per arena (the primary key), claimed before a PR is created, so two processes can never open two PRs
    for the same arena. `pr_*` mirror GitHub's answer at the last push or sync.
    """

    __tablename__ = "publications"

    arena_id: Mapped[str] = mapped_column(ForeignKey("arenas.id"), primary_key=True)
    repo: Mapped[str] = mapped_column(String(256))
    """owner/name on the configured GitHub"""
    issue: Mapped[int | None] = mapped_column(Integer, default=None)
    branches: Mapped[dict] = mapped_column(JSON, default=dict)
    """contestant -> {"branch": ..., "commit": ...} for every candidate pushed"""
    head_contestant: Mapped[str | None] = mapped_column(String(64), default=None)
    """the candidate the PR's head branch points at"""
    pr_number: Mapped[int | None] = mapped_column(Integer, default=None)
    pr_url: Mapped[str | None] = mapped_column(Text, default=None)
    pr_state: Mapped[str | None] = mapped_column(String(16), default=None)
    """open | closed"""
    pr_draft: Mapped[bool] = mapped_column(Boolean, default=True)
    pr_merged: Mapped[bool] = mapped_column(Boolean, default=False)
    merge_commit: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    """the last push or PR failure (cleared by the next success): `arena pr` retries"""
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# -- the shared store: what a worker's disk held, readable from any machine (arena/artifacts.py) ------------------------


class ArtifactRow(Base):
    """A file an arena produced, kept in the database so the app, other workers, the judge and `arena export` can
    read it from any machine: a contestant's `patch` and `trajectory_info` (the trajectory without its messages,
    which are StepRows), an arena's `setup.log` (contestant "")."""

    __tablename__ = "artifacts"

    arena_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contestant: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StepRow(Base):
    """One message of a contestant's trajectory, appended as the agent goes (never rewritten): Live reads the new
    ones, and the trajectory file is rebuilt from them for export. `attempt`: a contestant run again after its
    worker died starts a new sequence."""

    __tablename__ = "trajectory_steps"
    __table_args__ = (UniqueConstraint("arena_id", "contestant", "attempt", "seq", name="uq_trajectory_steps"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    arena_id: Mapped[str] = mapped_column(String(32))
    contestant: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    message: Mapped[dict] = mapped_column(JSON)


# -- running totals (arena/analytics/totals.py) -----------------------------------------------------------------------
# What the rated leaderboards read instead of a million rows: per-arena contributions and their sums. Triggers on
# the tables of facts (migration 0005) mark an arena dirty in the same transaction as any write that could change
# what it contributes; the next reader folds the dirty arenas in.


class TotalsDirtyRow(Base):
    """An arena whose contribution to the totals may be stale; `seq` grows with every marking write."""

    __tablename__ = "totals_dirty"

    arena_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=1)


class TotalsStateRow(Base):
    """One row (id 1): the lock a refresh takes first, and a version that grows with every refresh that changed the
    counted outcomes (what a kept fit of the ratings is labelled with)."""

    __tablename__ = "totals_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Counters:
    """The additive counters of a group of runs; sums add up across arenas (arena/analytics/totals.py COUNTERS_SQL
    says how each is counted). A sum is null when no run of the group had the value, as SQL's sum is."""

    runs: Mapped[int] = mapped_column(Integer)
    cost_sum: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost_n: Mapped[int] = mapped_column(Integer)
    api_sum: Mapped[int | None] = mapped_column(Integer, nullable=True)
    api_n: Mapped[int] = mapped_column(Integer)
    steps_sum: Mapped[int | None] = mapped_column(Integer, nullable=True)
    steps_n: Mapped[int] = mapped_column(Integer)
    resolved_true: Mapped[int] = mapped_column(Integer)
    resolved_n: Mapped[int] = mapped_column(Integer)
    won_n: Mapped[int] = mapped_column(Integer)
    won_true: Mapped[int] = mapped_column(Integer)
    won_reverted: Mapped[int] = mapped_column(Integer)
    won_merged: Mapped[int] = mapped_column(Integer)


COUNTER_COLUMNS = tuple(Counters.__annotations__)


class TotalsArenaAgentRow(Counters, Base):
    """One arena's runs of one agent, counted (its contribution to TotalsAgentRow)."""

    __tablename__ = "totals_arena_agents"

    arena_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent: Mapped[str] = mapped_column(String(256), primary_key=True)
    model: Mapped[str] = mapped_column(Text)
    strategy: Mapped[str] = mapped_column(Text)
    exits: Mapped[dict] = mapped_column(JSON, default=dict)
    """exit status -> runs (statuses that are null are not counted, as in a histogram)"""


class TotalsAgentRow(Counters, Base):
    """Every arena's runs of one agent, counted: the sum of its TotalsArenaAgentRow."""

    __tablename__ = "totals_agents"

    agent: Mapped[str] = mapped_column(String(256), primary_key=True)
    model: Mapped[str] = mapped_column(Text)
    strategy: Mapped[str] = mapped_column(Text)


class TotalsExitRow(Base):
    """Runs of an agent that ended with an exit status (the leaderboard's exit histograms)."""

    __tablename__ = "totals_exits"

    agent: Mapped[str] = mapped_column(String(256), primary_key=True)
    exit_status: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class TotalsArenaPairRow(Base):
    """One arena's counted pairwise outcomes between two agents (a < b; `outcome` is a's score), folded."""

    __tablename__ = "totals_arena_pairs"

    arena_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    a: Mapped[str] = mapped_column(String(256), primary_key=True)
    b: Mapped[str] = mapped_column(String(256), primary_key=True)
    outcome: Mapped[float] = mapped_column(Float, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class TotalsPairRow(Base):
    """Counted pairwise outcomes between two players (agents, models or strategies per `by`; a < b), over every
    arena: what the ratings fit."""

    __tablename__ = "totals_pairs"

    by: Mapped[str] = mapped_column(String(16), primary_key=True)
    a: Mapped[str] = mapped_column(String(256), primary_key=True)
    b: Mapped[str] = mapped_column(String(256), primary_key=True)
    outcome: Mapped[float] = mapped_column(Float, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class TotalsFitRow(Base):
    """The newest ratings fitted from the totals, per fit (`by`, bootstrap, seed, min games): every process reads
    them until the totals change (a new `version`) instead of fitting a thousand players again."""

    __tablename__ = "totals_fits"

    fit: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    ratings: Mapped[list] = mapped_column(JSON)
    """ratings_frame's rows (arena.analytics.ratings.RATING_SCHEMA), best first"""


class TotalsPlayerRow(Base):
    """Arenas in which a player (per `by`) has a counted outcome."""

    __tablename__ = "totals_players"

    by: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    arenas: Mapped[int] = mapped_column(Integer)


class GatewayKeyRow(Base):
    """A virtual key the LLM gateway (arena/gateway) issued to one contestant: only its sha256 is kept, never the key
    itself nor the provider key it stands for (that stays in the issuing process's memory)."""

    __tablename__ = "gateway_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 hex of the virtual key `arena-vk-...`."""
    arena_id: Mapped[str] = mapped_column(String(32), index=True)
    contestant: Mapped[str] = mapped_column(String(64))
    contestant_id: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(Text)
    """The litellm model name the key is for; requests for any other model are refused (403)."""
    shape: Mapped[str] = mapped_column(String(16))
    """The upstream's API: `openai` (chat completions, responses) or `anthropic` (messages)."""
    api_base: Mapped[str] = mapped_column(Text)
    """Where requests go (no credentials in it)."""
    cost_limit: Mapped[float] = mapped_column(Float, default=0.0)
    """USD; 0 = no limit."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class GatewayRequestRow(Base):
    """One request a contestant made through the gateway: what it cost and what was said (part of its trajectory)."""

    __tablename__ = "gateway_requests"
    __table_args__ = (Index("ix_gateway_requests_contestant", "arena_id", "contestant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    arena_id: Mapped[str] = mapped_column(String(32))
    contestant: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(64))
    """`/v1/chat/completions`, `/v1/responses`, `/v1/messages`, `/v1/messages/count_tokens`."""
    model: Mapped[str] = mapped_column(Text)
    """As the client asked for it."""
    status: Mapped[int] = mapped_column(Integer)
    """The HTTP status the client got (402 when a cap refused it; the upstream's when it was forwarded)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Upstream attempts: 0 when refused before forwarding, more than 1 when the gateway retried."""
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    """All input tokens, cached ones included (OpenAI prompt_tokens; Anthropic input + cache read + cache write)."""
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cache_read: Mapped[int] = mapped_column(Integer, default=0)
    cache_write: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    """USD, from the gateway's price table (ARENA_GATEWAY_PRICES) or litellm's price map."""
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    first_byte_ms: Mapped[float | None] = mapped_column(Float, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    """Why it failed or was refused, or which attempts failed before a retry succeeded, in words (never a key)."""
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    request: Mapped[dict] = mapped_column(JSON, default=dict)
    """{"v": 1, "from": i, "messages": [...]}: the messages new since the contestant's previous request (from index
    i), else the last one."""
    response: Mapped[dict | None] = mapped_column(JSON, default=None)
    """{"v": 1, "content": text, "tool_calls": [{"id", "name", "arguments"}], "stop_reason": ...}: the assistant's
    output assembled from the stream, not the raw chunks."""
