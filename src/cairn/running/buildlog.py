"""The build log: a listener that records a build's plan and events in the store.

:class:`BuildLog` writes the plan once when the build starts and, from a background thread,
the event log every :data:`FLUSH_SECONDS` while there is something new, and at the end
(:mod:`cairn.storage.builds` owns the files). The scheduling thread only appends a small
dict per event, so a build pays nothing per task for being watched; a viewer in another
process (``cairn ui``) reads the one event file to follow it live.

Each event is encoded once; a flush writes the lines encoded so far in one atomic write.
The file grows with the build, so the writer waits at least :data:`BACKOFF` times as long
as its last write took: the log costs a bounded share of a build of any size, and a build of
a million tasks stays linear.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

from cairn._errors import CairnError
from cairn.model.task import Task
from cairn.planning.plan import Plan
from cairn.storage.builds import encode_event, prune_builds, write_build_lines, write_build_plan
from cairn.storage.store import Store

__all__ = ["ENV", "FLUSH_SECONDS", "BuildLog", "build_log_wanted", "new_build_id", "plan_graph"]

log = logging.getLogger("cairn")

#: Seconds between two writes of the event log while a build runs.
FLUSH_SECONDS = 0.25
#: The writer waits at least this many times as long as its last write took.
BACKOFF = 10
#: The environment variable that turns build logs on (``1``) or off (``0``) for every store.
ENV = "CAIRN_BUILD_LOG"


def build_log_wanted(store: Store) -> bool:
    """Whether a build against ``store`` logs its events: ``$CAIRN_BUILD_LOG`` when set
    (``1`` / ``0``), else yes for stores whose writes stay in this machine (a directory,
    memory) and no for object stores, where every write of the log is a request."""
    text = os.environ.get(ENV, "").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    return store.writes_are_local


def new_build_id() -> str:
    """A build id that sorts by start time: ``20240501T120000.123456Z-4242-a1b2``."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{stamp}-{os.getpid()}-{secrets.token_hex(2)}"


def plan_graph(the_plan: Plan) -> Iterator[dict[str, Any]]:
    """Every task of ``the_plan`` as a graph node, one at a time: id, name, label, family,
    state, reason, dependencies and parameters (as the run record stores them)."""
    return (
        {
            "id": e.task.task_id,
            "name": type(e.task).__name__,
            "label": e.task.label(),
            "family": type(e.task).family,
            "state": e.state,
            "reason": e.reason,
            "dependencies": list(e.dependencies),
            "params": e.task._serialized(),
        }
        for e in the_plan
    )


class BuildLog:
    """A build listener that logs the plan and each task's events under ``.cairn/builds``."""

    def __init__(self, store: Store, build_id: str | None = None, *, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled
        self.build_id = build_id or new_build_id()
        self._events: list[dict[str, Any]] = []
        self._lines = bytearray()  # the events encoded so far, in order
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._broken = False

    def _add(self, event: str, task: Task[Any] | None = None, **extra: Any) -> None:
        if not self.enabled:
            return
        entry: dict[str, Any] = {"t": round(time.time(), 3), "event": event}
        if task is not None:
            entry["id"] = task.task_id
        entry.update(extra)
        with self._lock:
            self._events.append(entry)

    def build_started(self, plan: Plan) -> None:
        if not self.enabled:
            return
        self._add("build_started", roots=[t.task_id for t in plan.roots])
        self._plan = plan
        self._worker = threading.Thread(target=self._run, name="cairn-build-log", daemon=True)
        self._worker.start()

    def task_started(self, task: Task[Any]) -> None:
        self._add("started", task)

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        duration = record.get("duration_s") if isinstance(record, dict) else None
        self._add("succeeded", task, duration_s=duration)

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        self._add("failed", task, error=f"{type(error).__name__}: {error}"[:500])

    def task_reused(self, task: Task[Any]) -> None:
        self._add("reused", task)

    def task_retrying(
        self, task: Task[Any], error: BaseException, attempt: int, delay: float
    ) -> None:
        self._add("retrying", task, attempt=attempt, error=f"{type(error).__name__}: {error}")

    def finish(self, outcome: Any = None) -> None:
        """Log the end of the build, stop the writer and write what is left."""
        interrupted = bool(getattr(outcome, "interrupted", False)) if outcome else None
        self._add("build_finished", interrupted=interrupted)
        worker, self._worker = self._worker, None
        if worker is not None:
            self._stop.set()
            worker.join()
            self._flush()

    def _run(self) -> None:
        plan = self._plan
        try:
            write_build_plan(
                self.store,
                self.build_id,
                {
                    "build": self.build_id,
                    "started": _dt.datetime.now(_dt.UTC).isoformat(),
                    "workspace": self.store.url,
                    "roots": [t.task_id for t in plan.roots],
                },
                plan_graph(plan),
            )
            prune_builds(self.store)
        except (OSError, CairnError) as exc:
            self._give_up(exc)
            return
        wait = FLUSH_SECONDS
        while True:
            stopped = self._stop.wait(wait)
            started = time.monotonic()
            self._flush()
            if stopped or self._broken:
                return
            wait = max(FLUSH_SECONDS, BACKOFF * (time.monotonic() - started))

    def _flush(self) -> None:
        if self._broken:
            return
        with self._lock:
            if not self._events:
                return
            new, self._events = self._events, []
        for event in new:
            self._lines += encode_event(event)
        try:
            write_build_lines(self.store, self.build_id, self._lines)
        except (OSError, CairnError) as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        self._broken = True
        log.warning("could not write the build log (%s); cairn ui will not show this build", exc)
