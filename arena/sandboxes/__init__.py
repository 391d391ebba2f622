"""Sandbox backends, chosen by name from a lazy map (the error lists the valid names)."""

import importlib

from arena.errors import UserError
from arena.protocols import SandboxBackend
from arena.sandboxes.repos import RepoCache
from arena.spec import SandboxSpec

BACKENDS = {
    "local": "arena.sandboxes.local.LocalBackend",
    "unsafe-local": "arena.sandboxes.unsafe.UnsafeLocalBackend",
}


def get_backend(spec: SandboxSpec, repos: RepoCache) -> SandboxBackend:
    """Build the backend named in `spec.backend`."""
    path = BACKENDS.get(spec.backend)
    if path is None:
        raise UserError(f"unknown sandbox backend '{spec.backend}'; valid: {', '.join(BACKENDS)}")
    module, cls = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), cls)(repos, spec)


__all__ = ["BACKENDS", "RepoCache", "get_backend"]
