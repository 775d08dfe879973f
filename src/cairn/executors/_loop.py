"""The scheduling loop: hands each task to the executor once all its inputs are complete.

Shared by every executor. A task whose inputs are done is submitted at once (up to the
executor's capacity), so a wide graph keeps every worker busy. Before submitting, the task's
lock is taken; with an exclusive lock, completeness is checked again and a task finished by
another runner meanwhile is taken as done. A task whose lock is held elsewhere waits while
other ready tasks run. A failed task's downstream is skipped; everything else still runs.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cairn._errors import LockError
from cairn._graph import FORCED, Plan
from cairn._records import execute, is_complete
from cairn._store import Store
from cairn._task import Task
from cairn.executors import Executor
from cairn.locks import Lease, Lock

__all__ = ["Listener", "Outcome", "run_plan"]

log = logging.getLogger("cairn")


class Listener(Protocol):
    """Receives scheduling events (hooks and progress displays implement this)."""

    def task_started(self, task: Task[Any]) -> None: ...

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None: ...

    def task_failed(self, task: Task[Any], error: BaseException) -> None: ...


@dataclass
class Outcome:
    """What a run of the loop did."""

    ran: list[Task[Any]] = field(default_factory=list)
    reused: list[Task[Any]] = field(default_factory=list)
    failed: dict[Task[Any], BaseException] = field(default_factory=dict)
    skipped: list[Task[Any]] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0


def run_plan(
    plan: Plan,
    store: Store,
    executor: Executor,
    lock: Lock,
    *,
    workspace: str,
    listener: Listener | None = None,
    lock_wait: float | None = None,
    poll: float = 0.05,
    job: Callable[..., Any] = execute,
) -> Outcome:
    """Run every task of ``plan`` that will run; return what happened."""
    started = time.perf_counter()
    outcome = Outcome()
    entries = {e.task.task_id: e for e in plan.entries if e.will_run}
    pending: dict[str, int] = {}
    dependents: dict[str, list[str]] = {}
    ready: deque[str] = deque()
    for tid, entry in entries.items():
        upstream = {d for d in entry.dependencies if d in entries}
        pending[tid] = len(upstream)
        for dep in upstream:
            dependents.setdefault(dep, []).append(tid)
        if not upstream:
            ready.append(tid)
    exclusive = bool(getattr(lock, "exclusive", True))
    running: dict[Any, tuple[str, Lease]] = {}
    waiting: dict[str, float] = {}  # task id -> when it first found its lock held
    skipped: set[str] = set()  # downstream of a failure (once, however many inputs failed)

    def finish(tid: str) -> None:
        for child in dependents.get(tid, ()):
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)

    def fail(tid: str, error: BaseException) -> None:
        task = entries[tid].task
        outcome.failed[task] = error
        if listener is not None:
            listener.task_failed(task, error)
        stack = list(dependents.get(tid, ()))
        while stack:
            child = stack.pop()
            if child in skipped:
                continue
            skipped.add(child)
            outcome.skipped.append(entries[child].task)
            stack.extend(dependents.get(child, ()))

    try:
        while ready or running or waiting:
            if waiting and not ready:  # nothing else to start: try the held locks again
                ready.extend(waiting)
            while ready and len(running) < executor.capacity:
                tid = ready.popleft()
                entry = entries[tid]
                task = entry.task
                key = f"{workspace}::{tid}"
                lease = lock.acquire(key)
                if lease is None:
                    first = waiting.setdefault(tid, time.monotonic())
                    if lock_wait is not None and time.monotonic() - first > lock_wait:
                        del waiting[tid]
                        holder = lock.holder(key) or "another runner"
                        fail(
                            tid,
                            LockError(
                                f"{task!r} stayed locked for more than {lock_wait:g}s; "
                                f"held by {holder}. Build again later, raise lock_wait, or "
                                "stop that runner if it is stuck"
                            ),
                        )
                    continue
                waiting.pop(tid, None)
                try:
                    if exclusive and entry.reason != FORCED and is_complete(task, store):
                        lease.release()
                        outcome.reused.append(task)
                        finish(tid)
                        continue
                    if listener is not None:
                        listener.task_started(task)
                    future = executor.submit(job, task, store)
                except BaseException:  # interrupted, or the store failed: give the lock back
                    _release_quietly(lease)
                    raise
                running[future] = (tid, lease)
            if not running:
                if waiting:
                    time.sleep(poll)
                continue
            for future in executor.wait(list(running), timeout=poll if waiting else None):
                tid, lease = running.pop(future)
                lease.release()
                task = entries[tid].task
                error = future.exception()
                if error is not None:
                    fail(tid, error)
                    continue
                record = future.result()
                outcome.ran.append(task)
                if isinstance(record, dict):
                    outcome.records[tid] = record
                if listener is not None:
                    listener.task_succeeded(task, record)
                finish(tid)
    finally:
        # Leaving early (interrupted, or the lock service failed): the running tasks keep
        # their locks until they end, so no other runner starts them meanwhile.
        try:
            unfinished = list(running)
            while unfinished:
                done = executor.wait(unfinished, timeout=None)
                unfinished = [f for f in unfinished if f not in done]
        finally:
            for _tid, lease in running.values():
                _release_quietly(lease)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _release_quietly(lease: Lease) -> None:
    """Give a lock back while already handling an error; a failure here is only logged."""
    try:
        lease.release()
    except Exception as exc:
        log.warning("could not release a lock: %s", exc)
