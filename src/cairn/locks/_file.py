"""The file lock: lock files (``filelock``) for several runners on one machine.

The operating system releases a lock file when its process dies, so a killed runner never
leaves a task locked.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cairn.locks import Lease

__all__ = ["FileLock"]


class _FileLease:
    def __init__(self, lock: Any) -> None:
        self._lock = lock

    def release(self) -> None:
        self._lock.release()


class FileLock:
    """Lock files (``filelock``) for several processes on one machine.

    Lock files live in ``directory`` (default: a folder in the system temp directory named
    after the workspace), one per task; the operating system releases them when a process
    dies, so a killed runner never leaves a task locked.
    """

    exclusive = True

    def __init__(self, workspace: str, directory: str | None = None) -> None:
        if directory is None:
            tag = hashlib.sha256(workspace.encode()).hexdigest()[:16]
            directory = os.path.join(tempfile.gettempdir(), f"cairn-locks-{tag}")
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock")

    def acquire(self, key: str) -> Lease | None:
        import filelock

        lock = filelock.FileLock(self._path(key), thread_local=False, is_singleton=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return None
        return _FileLease(lock)

    def holder(self, key: str) -> str | None:
        return f"another process on this machine (lock file {self._path(key)})"

    def close(self) -> None:
        pass
