"""The file lock: lock files (``filelock``) for several runners on one machine.

The operating system releases a lock file when its process dies, so a killed runner never
leaves a task locked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from typing import TYPE_CHECKING, Any

from cairn._errors import LockError

if TYPE_CHECKING:
    from cairn.locks import Lease

__all__ = ["FileLock"]


def _private_dir() -> str:
    """This user's folder for lock files in the temp directory (``cairn-{uid}``, mode 0700)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    directory = os.path.join(tempfile.gettempdir(), f"cairn-{uid}")
    _make_private(directory)
    return directory


def _make_private(directory: str) -> None:
    """Create ``directory`` with mode 0700, or check that the existing one is a real folder
    of this user's that no one else can write to.

    Raises:
        LockError: when it is a symlink, not a folder, another user's, or writable by others.
    """
    with contextlib.suppress(FileExistsError):
        os.mkdir(directory, 0o700)
    info = os.lstat(directory)
    problem = None
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symlink"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "is not a folder"
    elif hasattr(os, "getuid") and info.st_uid != os.getuid():
        problem = f"belongs to another user (uid {info.st_uid})"
    elif info.st_mode & 0o022:
        problem = f"is writable by others (mode {stat.S_IMODE(info.st_mode):o})"
    if problem is not None:
        raise LockError(
            f"the lock folder {directory} {problem}, so lock files there cannot be trusted; "
            "remove it, or pass FileLock(workspace, directory=...) a folder of your own"
        )


class _FileLease:
    def __init__(self, lock: Any) -> None:
        self._lock = lock

    def release(self) -> None:
        self._lock.release()


class FileLock:
    """Lock files (``filelock``) for several processes on one machine.

    Lock files live in ``directory`` (default: a folder named after the workspace's real path
    in this user's ``cairn-{uid}`` folder of the system temp directory, mode 0700, refused
    when it is a symlink, another user's or writable by others), one per task; the operating
    system releases them when a process dies, so a killed runner never leaves a task locked.
    """

    exclusive = True

    def __init__(self, workspace: str, directory: str | None = None) -> None:
        if directory is None:
            tag = hashlib.sha256(workspace.encode()).hexdigest()[:16]
            directory = os.path.join(_private_dir(), f"cairn-locks-{tag}")
            _make_private(directory)
        else:
            os.makedirs(directory, exist_ok=True)
        self.directory = directory

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
