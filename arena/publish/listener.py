"""The engine's GitHub listener: an arena whose task is on GitHub keeps its branches and draft PR current by itself.

    candidate  (a contestant left a non-empty patch)  with `publish.pull_request` and no PR yet: an early draft PR
               from that candidate ("something to show"), its body saying judging is in progress
    verdict    (stored and settled)                   every candidate pushed; with `publish.pull_request` the PR
               updated to the winner with the evidence (or closed when there is none)

A failure never disturbs the arena: it is kept on the publication row (`arena show` prints it) and `arena pr ID`
retries. The engine calls this on its own threads; one lock per arena keeps two candidates from racing.
"""

import logging
import threading
from collections import defaultdict

from arena.config import Settings
from arena.engine import EngineEvent
from arena.errors import ArenaError
from arena.publish.pull_request import publish
from arena.storage import Store

log = logging.getLogger("arena.github")


class Publisher:
    def __init__(self, store: Store, settings: Settings):
        self.store, self.settings = store, settings
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    def __call__(self, event: EngineEvent) -> None:
        spec = self.store.arena(event.arena_id).spec or {}
        wants_pr = bool((spec.get("publish") or {}).get("pull_request"))
        on_github = bool((spec.get("task") or {}).get("github_issue")) or wants_pr
        if not on_github or (event.kind == "candidate" and not wants_pr):
            return
        with self._locks[event.arena_id]:
            if event.kind == "candidate":
                published = self.store.publication(event.arena_id)
                if published is not None and published.pr_number is not None:
                    return  # the early draft exists; the verdict updates it
            try:
                publish(self.store, self.settings, event.arena_id, pr=wants_pr)
            except ArenaError as e:
                log.warning("arena %s: publishing to GitHub failed: %s", event.arena_id, e)
