"""Commit locks: one runner at a time publishes a given task's outputs and run record.

Runners that share a local workspace without a task lock (``lock=None``) may compute the
same task at once. Each stages its outputs under temporary names; publishing them (renames)
and writing the run record happen while holding this lock, so the record left in the store
always describes the outputs beside it. The runner that gets the lock second finds the task
complete and keeps the first runner's result (see :mod:`cairn.running.runner`).

The lock is an ``flock`` on one of :data:`STRIPES` files in the workspace's
``.cairn/locks/`` (a task's stripe is chosen by the CRC-32 of its record path), so runners
that reach the workspace through different paths, symlinks included, lock the same file.
The operating system releases it when its process dies. Where ``fcntl`` is missing
(Windows) a lock within the process stands in: runners in one process still exclude each
other.
"""

from __future__ import annotations

import contextlib
import os
import threading
import zlib
from collections.abc import Iterator

from cairn._errors import StoreError

__all__ = ["STRIPES", "commit_lock", "lock_file"]

#: How many lock files a workspace has at most (tasks share them; a commit is short).
STRIPES = 64

_in_process = threading.Lock()


def lock_file(root: str, path: str) -> str:
    """The lock file that guards publishing the task whose run record is ``path``."""
    stripe = zlib.crc32(path.encode("utf-8", "surrogatepass")) % STRIPES
    return os.path.join(root, ".cairn", "locks", f"commit-{stripe:02d}.lock")


@contextlib.contextmanager
def commit_lock(root: str, path: str) -> Iterator[None]:
    """Hold the commit lock of the task whose run record is ``path`` in workspace ``root``.

    Raises:
        StoreError: when the lock file cannot be created (a read-only workspace).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        with _in_process:
            yield
        return
    file = lock_file(root, path)
    try:
        try:
            fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # the first commit in this workspace: make the folder
            os.makedirs(os.path.dirname(file), exist_ok=True)
            fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"cannot open the commit lock {file} in the workspace {root}: {exc}; check that "
            "the workspace is writable"
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
