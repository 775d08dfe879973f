"""When a task is complete: its run record is in the store.

The runner writes a task's record last, after every output, so a record's presence means
the whole task finished. A task made outside cairn (``ExternalFile``) has no record: it is
complete when its outputs exist.
"""

from __future__ import annotations

from typing import Any

from cairn.model.task import Task
from cairn.storage import records
from cairn.storage.store import Store

__all__ = ["is_complete", "read_record"]


def is_complete(task: Task[Any], store: Store) -> bool:
    """True when ``task``'s run record is in ``store`` (for a task made outside cairn, such as
    ``ExternalFile``: when its outputs exist)."""
    if type(task)._external:
        return all(target.exists(store) for target in task._outputs().values())
    return store.exists(task.record_path())


def read_record(task: Task[Any], store: Store) -> dict[str, Any]:
    """Read ``task``'s run record from ``store``."""
    return records.read_record(store, task.record_path())
