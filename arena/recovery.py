"""Recovery, in one place: runs whose owner stopped renewing its lease end `interrupted`, and every
arena that ended interrupted, cancelled or failed without settlement gets its stakes back.

Ownership is a lease, not a pid: the owner (an Engine, in the CLI, the app or later a worker)
renews `arenas.lease_until` every third of ARENA_LEASE_S; any process on any host that sees a lease
older than that recovers the run. A live run on another host keeps renewing, so it is never taken
early; a run whose host died (or whose container was recreated under a new hostname) is taken
within one lease. Every entry point opens the store through `open_store`, so whoever looks first
recovers, and the unique indexes of the ledger make a second recovery a no-op.
"""

import logging
import os
import socket
from datetime import datetime, timedelta

from arena.config import Settings, setting
from arena.reputation.ledger import Ledger
from arena.settlement import settle_arena
from arena.storage import Store

log = logging.getLogger("arena")


def process_owner() -> str:
    """host:pid, for people to read; recovery goes by the lease alone."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_s() -> float:
    return float(setting("ARENA_LEASE_S"))


def lease_until(store: Store) -> datetime:
    """The database's now + ARENA_LEASE_S (naive UTC, like every time in the store)."""
    return store.now() + timedelta(seconds=lease_s())


def recover(store: Store, ledger: Ledger | None = None) -> list[str]:
    """Interrupt arenas with expired leases and settle every ended arena whose stakes nobody settled; returns the
    interrupted ids."""
    ledger = ledger or Ledger(store)
    interrupted = store.expire_leases(store.now(), by=process_owner())
    for arena_id in store.unsettled_arenas():
        settle_arena(store, ledger, arena_id, store.arena(arena_id).status)
    return interrupted


def open_store(settings: Settings | None = None) -> Store:
    """The store (migrated to the newest schema), after recovering what dead owners left behind."""
    store = Store((settings or Settings.from_env()).database_url)
    recover(store)
    return store
