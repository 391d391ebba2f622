"""The app's periodic GitHub sync: a thread that reads every pull request back (merged, closed, reverted) into the
ledger every ARENA_GITHUB_SYNC_S seconds, as `arena sync` does, so a merge on GitHub pays its agent with no terminal.

It syncs only when some arena has a PR. A failure (GitHub unreachable, credentials gone) is logged and kept as the
last result for the Health page; the thread never stops for one, and never calls streamlit.
"""

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from arena.config import SETTINGS, setting
from arena.errors import UserError
from arena.publish.pull_request import sync
from arena.reputation.ledger import Ledger
from arena.storage import Store

log = logging.getLogger("arena.github")
MIN_INTERVAL_S = 1.0


@dataclass(frozen=True)
class SyncResult:
    at: datetime
    ok: bool
    summary: str
    """`arena sync`'s lines ("arena ID: merged in SHA"), "nothing new", or what failed"""
    events: list[dict] = field(default_factory=list)


def summary(found: list[dict]) -> str:
    lines = [
        f"arena {f['arena_id']}: {f['event']} "
        + (f"in {f['commit'][:12]}" if f.get("commit") else f"({f['why']})" if f.get("why") else "")
        for f in found
    ]
    return "; ".join(line.strip() for line in lines) or "nothing new"


class GitHubSync:
    """`GitHubSync(store, ledger).start()`; `last` is the latest round's result (None: no PR to sync yet), `found`
    the latest round's that found something (a later "nothing new" does not hide it)."""

    def __init__(self, store: Store, ledger: Ledger):
        self.store, self.ledger = store, ledger
        self.last: SyncResult | None = None
        self.found: SyncResult | None = None
        self.interval_s, self.setting_error = interval()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="github-sync")

    def start(self) -> "GitHubSync":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ends the thread after its current round (never waited for: a round can wait out a rate limit)."""
        self._stopping.set()

    def run_once(self) -> SyncResult | None:
        """One round: nothing when no arena has a PR; else what sync() found, or why it failed."""
        try:
            if not self.store.publications():
                return None
            found = sync(self.store, self.ledger)
            skipped = [f for f in found if f["event"] == "skipped"]
            result = SyncResult(datetime.now(UTC), not skipped, summary(found), found)
        except Exception as e:  # the unit of work is one round: the next one tries again
            # GitHub's refusals say what to do; anything else is a bug worth its traceback.
            log.warning(
                "syncing pull requests from GitHub failed: %s: %s",
                type(e).__name__,
                e,
                exc_info=not isinstance(e, UserError),
            )
            result = SyncResult(datetime.now(UTC), False, f"{type(e).__name__}: {e}")
        self.last = result
        if any(f["event"] != "skipped" for f in result.events):
            self.found = result
        return result

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.run_once()
            if self._stopping.wait(self.interval_s):
                return


def interval() -> tuple[float, str | None]:
    """(seconds between rounds, None), or (the default, what is wrong with ARENA_GITHUB_SYNC_S)."""
    default = float(SETTINGS["ARENA_GITHUB_SYNC_S"].default)
    try:
        return max(MIN_INTERVAL_S, float(setting("ARENA_GITHUB_SYNC_S"))), None
    except UserError as e:  # malformed: the Health page says so; the app keeps the default
        log.warning("%s; syncing every %g s", e, default)
        return default, f"{e}; syncing every {default:g} s"
