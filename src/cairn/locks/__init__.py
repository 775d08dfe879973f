"""Locks: keep two runners from computing the same task at once.

A :class:`Lock` hands out a :class:`Lease` for a key (workspace and task id) without blocking,
or ``None`` while another runner holds it; the scheduling loop then runs other ready tasks
and comes back. After taking a lease the loop checks completeness again, so a task finished
elsewhere meanwhile is loaded, not recomputed.

- ``None``: no locking (one runner per workspace);
- ``"file"``: :class:`FileLock`, for several processes on one machine;
- ``"redis://[:password@]host:port/db"`` or ``"rediss://..."`` (TLS): :class:`RedisLock`,
  leases with a time-to-live renewed while the task runs, for many machines (extra
  ``redis``; imported only when asked for).

A lock implementation raises :class:`~cairn.LockError` when its service fails; the build then
stops cleanly with that error.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cairn._errors import LockError
from cairn.locks._file import FileLock

if TYPE_CHECKING:
    from cairn.locks._redis import RedisLock

__all__ = [
    "BaseLock",
    "FileLock",
    "Lease",
    "Lock",
    "NullLock",
    "RedisLock",
    "get_lock",
    "register_lock",
]


@runtime_checkable
class Lease(Protocol):
    """A held lock; released exactly once."""

    def release(self) -> None:
        """Give the lock back."""


@runtime_checkable
class Lock(Protocol):
    """Hands out leases by key."""

    def acquire(self, key: str) -> Lease | None:
        """Take the lock for ``key`` if free; ``None`` when another runner holds it."""

    def holder(self, key: str) -> str | None:
        """Describe who holds ``key`` (for error messages), if known."""

    def close(self) -> None:
        """Release resources (connections, threads)."""

    #: True when the lock really keeps other runners out; then ``cairn status`` looks for
    #: held leases (stale locks). False for a lock that lets everyone through.
    exclusive: bool


@runtime_checkable
class _Leases(Protocol):
    """The methods a lock object cannot do without (``exclusive`` has a default)."""

    def acquire(self, key: str) -> Lease | None: ...

    def holder(self, key: str) -> str | None: ...

    def close(self) -> None: ...


class BaseLock:
    """Defaults for the optional parts of :class:`Lock`: subclass it for your own."""

    #: A lock keeps other runners out unless it says otherwise.
    exclusive = True

    def holder(self, key: str) -> str | None:
        """Who holds ``key``: unknown by default."""
        return None

    def close(self) -> None:
        """Nothing to release by default."""


class _WithDefaults(BaseLock):
    """A lock object without ``exclusive``, taken as exclusive."""

    def __init__(self, inner: _Leases) -> None:
        self.inner = inner

    def acquire(self, key: str) -> Lease | None:
        return self.inner.acquire(key)

    def holder(self, key: str) -> str | None:
        return self.inner.holder(key)

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return repr(self.inner)


def lock_key(workspace: str, task_id: str) -> str:
    """The key a task's lock is taken under: its workspace and its id.

    A local workspace is named by its real path (symlinks resolved), so runners that reach the
    same folder through different paths take the same lock.
    """
    return lock_key_prefix(workspace) + task_id


def lock_key_prefix(workspace: str) -> str:
    """What every lock key of ``workspace`` starts with (resolve it once per build, not per
    task: resolving a path costs a system call per component)."""
    return f"{real_workspace(workspace)}::"


@functools.lru_cache(maxsize=64)
def real_workspace(workspace: str) -> str:
    """``workspace`` with symlinks resolved when it is a local path (a URL is kept).

    Resolved once per process and workspace: a build takes one lock key per task."""
    return workspace if "://" in workspace else os.path.realpath(workspace)


class _NullLease:
    def release(self) -> None:
        pass


_NULL_LEASE = _NullLease()


class NullLock(BaseLock):
    """No locking: every acquire succeeds."""

    exclusive = False

    def acquire(self, key: str) -> Lease | None:
        return _NULL_LEASE

    def holder(self, key: str) -> str | None:
        return None

    def close(self) -> None:
        pass


_registry: dict[str, str] = {
    "redis": "cairn.locks._redis:RedisLock",
    "rediss": "cairn.locks._redis:RedisLock",
}


def register_lock(scheme: str, dotted: str) -> None:
    """Register a lock class for URLs ``scheme://...``, as ``"module:Class"``."""
    _registry[scheme] = dotted


def get_lock(spec: Any, workspace: str) -> Lock:
    """Return the lock for ``None``, ``"file"``, a URL, or a :class:`Lock` object.

    Raises:
        LockError: for a spec that names no known lock.
    """
    if spec is None or spec is False:
        return NullLock()
    if isinstance(spec, str):
        if spec == "file":
            return FileLock(real_workspace(workspace))
        scheme = spec.partition("://")[0]
        dotted = _registry.get(scheme) if "://" in spec else None
        if dotted is None:
            raise LockError(
                f"unknown lock {spec!r}: use None, 'file', a redis://host:port/db URL, "
                "or a Lock object"
            )
        module_name, _, attr = dotted.partition(":")
        lock: Lock = getattr(importlib.import_module(module_name), attr)(spec, workspace=workspace)
        return lock
    if isinstance(spec, Lock):
        return spec
    if isinstance(spec, _Leases):
        return _WithDefaults(spec)
    raise LockError(f"lock must be None, 'file', a URL or a Lock object, not {spec!r}")


def __getattr__(name: str) -> Any:
    """``RedisLock`` is imported from :mod:`cairn.locks._redis` on first use."""
    if name == "RedisLock":
        from cairn.locks._redis import RedisLock

        return RedisLock
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
