"""Sandbox backends, chosen by name from a lazy map (the error lists the valid names)."""

import hashlib
import importlib

from arena.errors import UserError
from arena.protocols import SandboxBackend
from arena.sandboxes.repos import RepoCache
from arena.spec import SandboxSpec

BACKENDS = {
    "local": "arena.sandboxes.local.LocalBackend",
    "unsafe-local": "arena.sandboxes.unsafe.UnsafeLocalBackend",
    "e2b": "arena.sandboxes.e2b.E2BBackend",
}


SANDBOX_UID_BASE = 1_000_000
SANDBOX_UID_SPAN = 1_000_000_000


def sandbox_uid(arena_id: str, name: str) -> int:
    """A host uid of the contestant's own, so RLIMIT_NPROC counts only its processes.

    Derived from the (random) arena id, not a database id: processes with other databases
    run sandboxes on the same host at the same time.
    """
    digest = hashlib.sha256(f"{arena_id}/{name}".encode()).digest()
    return SANDBOX_UID_BASE + int.from_bytes(digest[:8], "big") % SANDBOX_UID_SPAN


def get_backend(spec: SandboxSpec, repos: RepoCache) -> SandboxBackend:
    """Build the backend named in `spec.backend`."""
    path = BACKENDS.get(spec.backend)
    if path is None:
        raise UserError(f"unknown sandbox backend '{spec.backend}'; valid: {', '.join(BACKENDS)}")
    module, cls = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), cls)(repos, spec)


__all__ = ["BACKENDS", "RepoCache", "get_backend", "sandbox_uid"]
