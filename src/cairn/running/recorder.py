"""Recording finished tasks in their families' histories, for later plans to compare with.

:class:`HistoryRecorder` is a build listener: it collects the entry of every task that
finishes and, in a background thread, makes its entry
(:func:`cairn.planning.entries.entry_for`) and writes each family's history file
(:func:`cairn.storage.history.write_history`) every :data:`FLUSH_SECONDS` and at the end of
the build, so the scheduling loop does no per-task work for it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from cairn._errors import StoreUnreachableError
from cairn.model.task import Task
from cairn.planning.entries import entry_for
from cairn.storage.history import write_history
from cairn.storage.layout import history_path
from cairn.storage.records import read_record_or_none
from cairn.storage.store import Store

__all__ = ["FLUSH_SECONDS", "HistoryRecorder"]

log = logging.getLogger("cairn")

#: Seconds between two writes of the collected entries during a build.
FLUSH_SECONDS = 5.0


class HistoryRecorder:
    """A build listener that records each finished task in its family's history.

    Passes every event on to ``inner`` (the caller's listener). The scheduling thread only
    notes which task finished; the history entries are made and written by a background
    thread every :data:`FLUSH_SECONDS`, and on :meth:`flush` at the end of the build.
    """

    def __init__(self, store: Store, inner: Any = None) -> None:
        self.store = store
        self.inner = inner
        self._done: list[tuple[Task[Any], dict[str, Any] | None]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    def task_started(self, task: Task[Any]) -> None:
        if self.inner is not None:
            self.inner.task_started(task)

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        if self.inner is not None:
            self.inner.task_succeeded(task, record)
        with self._lock:
            self._done.append((task, record if isinstance(record, dict) else None))
            if self._worker is None:
                self._stop.clear()
                self._worker = threading.Thread(
                    target=self._every_while, name="cairn-history", daemon=True
                )
                self._worker.start()

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        if self.inner is not None:
            self.inner.task_failed(task, error)

    def __getattr__(self, name: str) -> Any:
        """Any other hook of the caller's listener, passed through."""
        if name.startswith("__") or self.__dict__.get("inner") is None:
            raise AttributeError(name)
        return getattr(self.__dict__["inner"], name)

    def _every_while(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self._write()

    def _write(self) -> None:
        """Make the entries of the tasks noted so far and write their families' histories.

        A history that cannot be written is only a lost hint for later plans: whatever goes
        wrong (the store, a record, an entry) is logged as a warning naming the file, and
        the other families are still written.
        """
        with self._write_lock:
            with self._lock:
                batch, self._done = self._done, []
            pending: dict[str, dict[str, dict[str, Any]]] = {}
            for task, given in batch:
                family_name = type(task)._kind.history_family(task)
                try:
                    record = given
                    if record is None:
                        found = read_record_or_none(self.store, task.record_path())
                        if found is None:
                            continue
                        record = found.to_dict()
                    pending.setdefault(family_name, {})[task._vkey] = entry_for(task, record)
                except Exception as exc:  # reported, never raised
                    _warn(self.store, family_name, exc)
            for family_name, entries in pending.items():
                try:
                    write_history(self.store, family_name, entries)
                except StoreUnreachableError as exc:  # the others would only wait to fail
                    _warn(self.store, family_name, exc)
                    return
                except Exception as exc:  # reported, never raised
                    _warn(self.store, family_name, exc)

    def flush(self) -> None:
        """Stop the background writer and write everything noted so far."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._stop.set()
            worker.join()
        self._write()


def _warn(store: Store, family: str, exc: BaseException) -> None:
    log.warning(
        "could not write the run history %s of %s in the workspace %s (%s: %s); later plans "
        "will say less about why its tasks rerun. Check that the workspace is writable",
        history_path(family),
        family,
        store.url,
        type(exc).__name__,
        exc,
    )
