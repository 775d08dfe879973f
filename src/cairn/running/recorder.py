"""Recording finished tasks in their families' histories, for later plans to compare with.

:class:`HistoryRecorder` is a build listener: it collects the entry of every task that
finishes (:func:`cairn.planning.entries.entry_for`) and writes each family's history file
(:func:`cairn.storage.history.write_history`) every :data:`FLUSH_SECONDS` and at the end of
the build.
"""

from __future__ import annotations

import time
from typing import Any

from cairn._errors import CairnError
from cairn.model.task import Task
from cairn.planning.entries import entry_for
from cairn.storage.history import write_history
from cairn.storage.records import read_json
from cairn.storage.store import Store

__all__ = ["FLUSH_SECONDS", "HistoryRecorder"]

#: Seconds between two writes of the collected entries during a build.
FLUSH_SECONDS = 5.0


class HistoryRecorder:
    """A build listener that records each finished task in its family's history.

    Passes every event on to ``inner`` (the caller's listener), and writes the collected
    entries every :data:`FLUSH_SECONDS` and on :meth:`flush`.
    """

    def __init__(self, store: Store, inner: Any = None) -> None:
        self.store = store
        self.inner = inner
        self._pending: dict[str, dict[str, dict[str, Any]]] = {}
        self._last_flush = time.monotonic()

    def task_started(self, task: Task[Any]) -> None:
        if self.inner is not None:
            self.inner.task_started(task)

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        if self.inner is not None:
            self.inner.task_succeeded(task, record)
        if not isinstance(record, dict):
            record = read_json(self.store, task.record_path())
            if record is None:
                return
        family = type(task)._kind.history_family(task)
        self._pending.setdefault(family, {})[task._vkey] = entry_for(task, record)
        if time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        if self.inner is not None:
            self.inner.task_failed(task, error)

    def __getattr__(self, name: str) -> Any:
        """Any other hook of the caller's listener, passed through."""
        if name.startswith("__") or self.__dict__.get("inner") is None:
            raise AttributeError(name)
        return getattr(self.__dict__["inner"], name)

    def flush(self) -> None:
        """Write what was collected; a history that cannot be written is only a lost hint."""
        pending, self._pending = self._pending, {}
        self._last_flush = time.monotonic()
        for family, entries in pending.items():
            try:
                write_history(self.store, family, entries)
            except (OSError, CairnError):
                continue
