"""Persistence: SQLAlchemy schema and the Store that wraps it."""

from arena.storage.models import (
    QUEUE_OWNER,
    ArenaRow,
    ContestantRow,
    EvaluationRow,
    EventRow,
    ImportedRunRow,
    PublicationRow,
    Status,
    StepRow,
    VerdictRow,
    utcnow,
)
from arena.storage.store import Store, make_engine

__all__ = [
    "ArenaRow",
    "ArtifactRow",
    "ContestantRow",
    "EvaluationRow",
    "EventRow",
    "ImportedRunRow",
    "PublicationRow",
    "QUEUE_OWNER",
    "Status",
    "StepRow",
    "Store",
    "VerdictRow",
    "make_engine",
    "utcnow",
]
