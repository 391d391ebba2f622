"""Persistence: SQLAlchemy schema and the Store that wraps it."""

from arena.storage.models import ArenaRow, ContestantRow, Status, utcnow
from arena.storage.store import Store, make_engine

__all__ = ["ArenaRow", "ContestantRow", "Status", "Store", "make_engine", "utcnow"]
