"""Recording finished tasks in their families' histories, for later plans to compare with.

:class:`HistoryRecorder` is a build listener: it collects the entry of every task that
finishes and, in a background thread, makes its entry
(:func:`cairn.planning.entries.entry_for`) and writes them as new segments of their families'
histories (:func:`cairn.storage.history.write_history`) every :data:`FLUSH_SECONDS` and at
the end of the build, so the scheduling loop does no per-task work for it. Entries are made
and written :data:`~cairn.storage.history.SEGMENT_ENTRIES` at a time, so however large a
build, the writer holds a bounded number of them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from cairn._errors import StoreUnreachableError
from cairn.model.task import Task
from cairn.planning.entries import entry_for
from cairn.running.events import BaseListener
from cairn.storage.history import segment_parts, write_history
from cairn.storage.layout import history_dir
from cairn.storage.records import read_record_or_none
from cairn.storage.store import Store

__all__ = ["FLUSH_SECONDS", "HistoryRecorder"]

log = logging.getLogger("cairn")

#: Seconds between two writes of the collected entries during a build.
FLUSH_SECONDS = 5.0

#: What the recorder keeps of a run record until the next write: its end, code fingerprint,
#: ``code_version`` and dependency ids (a tuple, not a copy of the record's dicts).
Kept = tuple[Any, Any, Any, tuple[str, ...]]


class HistoryRecorder(BaseListener):
    """A build listener that records each finished task in its family's history.

    The scheduling thread only notes which task finished; the history entries are made and
    written by a background thread every :data:`FLUSH_SECONDS`, and on :meth:`flush` at the
    end of the build.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._done: list[tuple[Task[Any], Kept | None]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        kept = _what_history_needs(record) if isinstance(record, dict) else None
        with self._lock:
            self._done.append((task, kept))
            if self._worker is None:
                self._stop.clear()
                self._worker = threading.Thread(
                    target=self._every_while, name="cairn-history", daemon=True
                )
                self._worker.start()

    def _every_while(self) -> None:
        # A write costs what is new only; still, waiting four times as long as the last
        # write took keeps the writes to a fifth of the time at most on a slow store.
        wait = FLUSH_SECONDS
        while not self._stop.wait(wait):
            started = time.monotonic()
            self._write()
            wait = max(FLUSH_SECONDS, 4 * (time.monotonic() - started))

    def _write(self) -> None:
        """Make the entries of the tasks noted so far and write their families' histories.

        A history that cannot be written is only a lost hint for later plans: whatever goes
        wrong (the store, a record, an entry) is logged as a warning naming the file, and
        the other families are still written.
        """
        with self._write_lock:
            with self._lock:
                batch, self._done = self._done, []
            by_family: dict[str, list[tuple[Task[Any], Kept | None]]] = {}
            for task, given in batch:
                by_family.setdefault(type(task)._kind.history_family(task), []).append(
                    (task, given)
                )
            del batch
            for family_name, done in by_family.items():
                for part in segment_parts(len(done)):
                    try:
                        self._write_part(family_name, done[part])
                    except StoreUnreachableError as exc:  # the others would only wait to fail
                        _warn(self.store, family_name, exc)
                        return
                    except Exception as exc:  # reported, never raised
                        _warn(self.store, family_name, exc)

    def _write_part(self, family: str, done: list[tuple[Task[Any], Kept | None]]) -> None:
        """Make the entries of ``done`` (tasks of ``family``) and write them as a segment."""
        entries: dict[str, dict[str, Any]] = {}
        for task, given in done:
            try:
                if given is not None:
                    record = _as_record(given)
                else:
                    found = read_record_or_none(self.store, task.record_path())
                    if found is None:
                        continue
                    record = found.to_dict()
                entries[task._vkey] = entry_for(task, record)
            except Exception as exc:  # reported, never raised
                _warn(self.store, family, exc)
        write_history(self.store, family, entries)

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
        history_dir(family),
        family,
        store.url,
        type(exc).__name__,
        exc,
    )


def _what_history_needs(record: dict[str, Any]) -> Kept:
    """The part of a run record a history entry is made from (:func:`entry_for`): kept until
    the next write instead of the whole record."""
    code = record.get("code")
    code = code if isinstance(code, dict) else {}
    deps = record.get("dependencies")
    return (
        record.get("end"),
        code.get("fingerprint"),
        code.get("code_version"),
        tuple(deps) if isinstance(deps, list | tuple) else (),
    )


def _as_record(kept: Kept) -> dict[str, Any]:
    """What :func:`entry_for` reads of a run record, from what was kept of it."""
    end, fingerprint, code_version, deps = kept
    code = {"fingerprint": fingerprint, "code_version": code_version}
    return {"end": end, "code": code, "dependencies": list(deps)}
