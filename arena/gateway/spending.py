"""Spend: request rows written in batches by one thread, and the sums the caps compare with their limits.

Keeping both off the request's path is what keeps the gateway's added latency to a millisecond or two: a row is
queued, not committed, before the response completes (one writer thread commits whatever has queued up, in one
transaction: many rows a commit under load), and a cap is checked against numbers in memory. A contestant's spend
is its key's own running total (every request of a contestant passes through the gateway that issued its key),
seeded from the database when the key is issued. The arena's and the day's spend are read from the database (other
processes spend too) at most every BUDGET_REFRESH_S and counted up locally in between, so processes sharing a
budget overshoot it by at most that long's spending, plus the requests in flight when it ran out.
"""

import logging
import queue
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

from arena.gateway.config import GatewayConfig
from arena.gateway.ledger import GatewayLedger
from arena.storage.models import GatewayRequestRow

log = logging.getLogger(__name__)

BUDGET_REFRESH_S = 1.0
BATCH = 256
_STOP = object()


def utc_midnight() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)


class Spending:
    def __init__(self, ledger: GatewayLedger, config: GatewayConfig):
        self.ledger, self.config = ledger, config
        self._queue: queue.Queue = queue.Queue()
        self._pending: dict[tuple[str, str], int] = defaultdict(int)
        self._settled = threading.Condition()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._arenas: dict[str, tuple[float, float]] = {}
        """arena_id -> (USD spent, monotonic time read from the database)."""
        self._day: tuple[datetime, float, float] | None = None
        """(the UTC day, USD spent that day, monotonic time read)."""

    # --- rows ----------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._writer = threading.Thread(target=self._write, name="arena-gateway-rows", daemon=True)
        self._writer.start()

    def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join(30)
            self._writer = None

    def submit(self, row: GatewayRequestRow, contestant_id: int) -> None:
        """Queue the row, and count its cost in the arena's and the day's spend now."""
        with self._settled:
            self._pending[(row.arena_id, row.contestant)] += 1
        if row.cost:
            with self._lock:
                if row.arena_id in self._arenas:
                    spent, read = self._arenas[row.arena_id]
                    self._arenas[row.arena_id] = (spent + row.cost, read)
                if self._day is not None:
                    day, spent, read = self._day
                    self._day = (day, spent + row.cost, read)
        self._queue.put((row, contestant_id))

    def wait_settled(self, arena_id: str, contestant: str | None = None, timeout_s: float = 10.0) -> None:
        """Wait until the queued rows of this arena (or contestant) are written."""

        def settled() -> bool:
            return not any(n for (a, c), n in self._pending.items() if a == arena_id and contestant in (None, c))

        with self._settled:
            self._settled.wait_for(settled, timeout_s)

    def _write(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if _STOP in batch:
                stopping = True
                batch = [item for item in batch if item is not _STOP]
            if not batch:
                continue
            try:
                self.ledger.record(batch)
            except Exception:
                log.exception(
                    "gateway: could not write %d request rows (their spend still counts in memory)", len(batch)
                )
            finally:
                with self._settled:
                    for row, _ in batch:
                        self._pending[(row.arena_id, row.contestant)] -= 1
                    self._settled.notify_all()

    # --- caps ----------------------------------------------------------------------------------------------------

    @staticmethod
    def contestant_reason(contestant: str, spent: float, cost_limit: float) -> str | None:
        if cost_limit > 0 and spent >= cost_limit:
            return (
                f"contestant {contestant}'s cost_limit is reached: ${spent:.4f} spent of ${cost_limit:g}; "
                "raise cost_limit: in the arena spec to let it spend more"
            )
        return None

    def budgets_stale(self, arena_id: str) -> bool:
        """Whether budget_reason needs a database read first (refresh) for this arena."""
        now = time.monotonic()
        with self._lock:
            if self.config.arena_budget > 0:
                arena = self._arenas.get(arena_id)
                if arena is None or now - arena[1] > BUDGET_REFRESH_S:
                    return True
            if self.config.daily_budget > 0:
                day = self._day
                if day is None or day[0] != utc_midnight() or now - day[2] > BUDGET_REFRESH_S:
                    return True
        return False

    def refresh(self, arena_id: str) -> None:
        """Read the arena's and the day's spend from the database (rows still queued are added in)."""
        self.wait_settled(arena_id, timeout_s=2.0)
        now = time.monotonic()
        if self.config.arena_budget > 0:
            spent = self.ledger.spent(arena_id)
            with self._lock:
                self._arenas[arena_id] = (spent, now)
        if self.config.daily_budget > 0:
            midnight = utc_midnight()
            spent = self.ledger.spent("", since=midnight)
            with self._lock:
                self._day = (midnight, spent, now)

    def budget_reason(self, arena_id: str) -> str | None:
        """Why no more of this arena's requests (or anyone's today) may go upstream, if a budget is spent; call
        refresh first when budgets_stale."""
        with self._lock:
            arena, day = self._arenas.get(arena_id), self._day
        if self.config.arena_budget > 0 and arena and arena[0] >= self.config.arena_budget:
            return (
                f"arena {arena_id}'s budget is reached: ${arena[0]:.4f} spent of ${self.config.arena_budget:g}; "
                "raise ARENA_GATEWAY_ARENA_BUDGET_USD (0 = no limit) to let it spend more"
            )
        if self.config.daily_budget > 0 and day and day[1] >= self.config.daily_budget:
            return (
                f"today's budget (UTC) is reached: ${day[1]:.4f} spent of ${self.config.daily_budget:g} across all "
                "arenas; raise ARENA_GATEWAY_DAILY_BUDGET_USD (0 = no limit), or wait for 00:00 UTC"
            )
        return None
