"""The scheduling loop: hands each task to the executor once all its inputs are complete.

Shared by every executor. A task whose inputs are done is submitted at once (up to the
executor's capacity), so a wide graph keeps every worker busy. Before submitting, the task's
lock is taken; with an exclusive lock, completeness is checked again and a task finished by
another runner meanwhile is taken as done. A task whose lock is held elsewhere waits while
other ready tasks run. A failed task is tried again after a delay while it has retries left
(its class's ``retries``, else the build's); then its downstream is skipped; everything else
still runs.

Ctrl-C (SIGINT) stops the scheduling of new tasks. The executor's ``on_interrupt`` says what
happens to running ones: ``"finish"`` waits for them (a second Ctrl-C cancels them),
``"cancel"`` stops them now. Either way nothing partial is written (outputs are atomic and
the run record comes last), and :class:`Interrupted`, a ``KeyboardInterrupt``, is raised with
the outcome so far. While the loop updates its books, SIGINT is held back and raised at the
next point where the loop waits, so the outcome always says exactly what finished.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

from cairn._errors import (
    CairnError,
    ConfigError,
    DependencyCycleError,
    LockError,
    StoreUnreachableError,
    WorkerLostError,
)
from cairn.executors import Executor
from cairn.locks import Lease, Lock, lock_key_prefix
from cairn.model.graph import compute_ids
from cairn.model.options import OPTIONS, option
from cairn.model.task import Task
from cairn.planning.plan import Plan, is_complete, make_plan
from cairn.running.context import with_requirements
from cairn.running.events import Broadcast, Listener, Outcome
from cairn.running.failures import failure_for, record_failure
from cairn.running.runner import Pending, execute
from cairn.running.sigint import SigintGuard
from cairn.storage.records import read_record
from cairn.storage.store import Store

__all__ = [
    "Broadcast",
    "Interrupted",
    "Listener",
    "Outcome",
    "retry_policy",
    "run_plan",
]

log = logging.getLogger("cairn")


class StoredRecords(Mapping[str, dict[str, Any]]):
    """The run records of the tasks a build ran, by task id, read from the store when
    asked for: a build keeps none in memory (at a million tasks they would take gigabytes).
    """

    def __init__(self, store: Store, ran: list[Task[Any]], *, keep: bool = False) -> None:
        self._store = store
        self._ran = ran
        #: Records kept in memory as they come (``keep``: on object stores, where reading one
        #: back is a request; a build there is far from a million tasks).
        self._kept: dict[str, dict[str, Any]] | None = {} if keep else None

    def remember(self, task_id: str, record: dict[str, Any]) -> None:
        """Keep ``record`` in memory, when this mapping keeps records."""
        if self._kept is not None:
            self._kept[task_id] = record

    def _tasks(self) -> dict[str, Task[Any]]:
        return {t.task_id: t for t in self._ran}

    def __getitem__(self, task_id: str) -> dict[str, Any]:
        if self._kept is not None and task_id in self._kept:
            return self._kept[task_id]
        task = self._tasks().get(task_id)
        if task is None:
            raise KeyError(task_id)
        return read_record(self._store, task.record_path())

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks())

    def __len__(self) -> int:
        return len(self._ran)

    def __repr__(self) -> str:
        return f"<run records of {len(self)} task(s) in {self._store!r}>"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a build; ``outcome`` says what finished before it did."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        super().__init__(
            f"build interrupted: {len(outcome.ran)} task(s) finished, "
            f"{len(outcome.cancelled)} cancelled while running, "
            f"{len(outcome.not_started)} not started"
        )


def _valid(name: str, value: Any) -> Any:
    """A build-wide ``retries`` or ``retry_delay``, checked as the class option is.

    Raises:
        ConfigError: for a value that is not a whole number / seconds >= 0.
    """
    if value is None:
        raise ConfigError(f"{name} must be a number >= 0 for the whole build, not None")
    return OPTIONS[name].check(value, name)


def retry_policy(task: Task[Any], retries: int, delay: float) -> tuple[int, float]:
    """``(retries, delay)`` for ``task``: its class's options (checked when the class was
    defined), else the build's."""
    cls = type(task)
    own, own_delay = option(cls, "retries"), option(cls, "retry_delay")
    return (retries if own is None else own), float(delay if own_delay is None else own_delay)


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
    retries: int = 0,
    retry_delay: float = 0.0,
    outcome: Outcome | None = None,
) -> Outcome:
    """Run every task of ``plan`` that will run; return what happened.

    ``job(task, store, attempt=n, since=plan.made)`` runs one task (by default
    :func:`cairn.running.runner.execute`).
    ``outcome``, when given, is filled in place, so a caller knows what finished also when
    an error (the store, the lock service) ends the loop.

    Raises:
        Interrupted: on Ctrl-C, after running tasks finished or were cancelled.
        ConfigError: for an invalid ``retries`` or ``retry_delay`` (build-wide or per class).
    """
    started = time.perf_counter()
    retries = _valid("retries", retries)
    retry_delay = float(_valid("retry_delay", retry_delay))
    if isinstance(listener, Broadcast):
        events = listener
    else:
        events = Broadcast([listener] if listener is not None else [])
    outcome = Outcome() if outcome is None else outcome
    stored = StoredRecords(store, outcome.ran, keep=not store.writes_are_local)
    outcome.records = stored
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
    # A forced rerun drops the records it replaces before anything runs, downstream first:
    # killed at any moment, it leaves complete only tasks whose upstream tasks are complete
    # and of the same (old) generation, so the next build reruns exactly what was dropped
    # and never mixes old and new results.
    for entry in reversed(plan.entries):
        if entry.will_run and entry.forced:
            store.delete(entry.task.record_path())
    exclusive = lock.exclusive
    key_prefix = lock_key_prefix(workspace)
    running: dict[Any, str] = {}  # future -> task id
    leases: dict[str, Lease] = {}  # task id -> lease held while it runs
    waiting: dict[str, float] = {}  # task id -> when it first found its lock held
    delayed: list[tuple[float, str]] = []  # (when, task id): failed, to be tried again
    attempts = outcome.attempts
    skipped: set[str] = set()  # task ids not to run because an upstream task failed
    completed: set[str] = set()  # task ids that succeeded or were found complete
    starting: str | None = None  # the task being submitted (inline: running) right now
    dynamic: dict[str, dict[str, Task[Any]]] = {}  # task id -> what its run() asked for
    guard = SigintGuard()
    unreachable: StoreUnreachableError | None = None  # the store stopped answering

    def defer(tid: str, wanted: tuple[Task[Any], ...]) -> None:
        """``tid`` asked for tasks while running: plan and schedule them, then run it again."""
        task = entries[tid].task
        if any(w.task_id == tid for w in wanted):
            fail(tid, DependencyCycleError(f"{task!r}.require() asked for itself", [task]))
            return
        known = dynamic.setdefault(tid, {})
        for want in wanted:
            compute_ids(want)  # here: a worker sends requirements back without ids
            known[want.task_id] = want
        for entry in make_plan(list(wanted), store).entries:
            new = entry.task.task_id
            if not entry.will_run or new in entries:
                continue
            entries[new] = entry
            upstream = {d for d in entry.dependencies if d in entries and d not in completed}
            pending[new] = len(upstream)
            for dep in upstream:
                dependents.setdefault(dep, []).append(new)
            if not upstream:
                ready.append(new)
        failed_ids = {t.task_id: t for t in outcome.failed}
        for want in wanted:
            if want.task_id in failed_ids or want.task_id in skipped:
                fail(tid, CairnError(f"{task!r} required {want!r}, which failed"))
                return
        waits = {w.task_id for w in wanted if w.task_id in entries and w.task_id not in completed}
        pending[tid] = len(waits)
        for dep in waits:
            dependents.setdefault(dep, []).append(tid)
        if not waits:
            ready.append(tid)

    def finish(tid: str) -> None:
        completed.add(tid)
        for child in dependents.get(tid, ()):
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)

    def release(tid: str) -> None:
        lease = leases.pop(tid, None)
        if lease is not None:
            _release_quietly(lease)

    def fail(tid: str, error: BaseException) -> None:
        nonlocal unreachable
        task = entries[tid].task
        if unreachable is None and isinstance(error, StoreUnreachableError):
            unreachable = error  # no new task starts: each would only wait for it to fail
        if attempts.get(tid, 1) > 1 and isinstance(error, Exception):
            error.add_note(f"(failed on all {attempts[tid]} attempts)")
        outcome.failed[task] = error
        if isinstance(error, WorkerLostError):  # the task's process could not say so itself
            failed = failure_for(task, error, attempt=max(attempts.get(tid, 1), 1))
            record_failure(store, task, failed)
        events.task_failed(task, error)
        stack = list(dependents.get(tid, ()))
        while stack:
            child = stack.pop()
            if child in skipped:
                continue
            skipped.add(child)
            outcome.skipped.append(entries[child].task)
            stack.extend(dependents.get(child, ()))

    def settle(future: Any, may_retry: bool) -> None:
        tid = running.pop(future)
        release(tid)
        task = entries[tid].task
        error = future.exception()
        if error is not None:
            allowed, delay = retry_policy(task, retries, retry_delay)  # asked on failure only
            if isinstance(error, StoreUnreachableError):
                may_retry = False
            if may_retry and attempts[tid] <= allowed:
                log.info(
                    "%r failed on attempt %d (%s: %s); retrying in %gs",
                    task,
                    attempts[tid],
                    type(error).__name__,
                    error,
                    delay,
                )
                events.task_retrying(task, error, attempts[tid], delay)
                heapq.heappush(delayed, (time.monotonic() + delay, tid))
            else:
                fail(tid, error)
            return
        record = future.result()
        if isinstance(record, Pending):
            attempts[tid] -= 1  # not an attempt: run() stopped to ask for more
            defer(tid, record.tasks)
            return
        outcome.ran.append(task)
        if isinstance(record, dict):
            stored.remember(tid, record)
        events.task_succeeded(task, record)
        finish(tid)

    def start(tid: str) -> None:
        nonlocal starting
        entry = entries[tid]
        task = entry.task
        key = key_prefix + tid
        lease = lock.acquire(key)
        if lease is None:
            first = waiting.setdefault(tid, time.monotonic())
            if lock_wait is not None and time.monotonic() - first > lock_wait:
                del waiting[tid]
                holder = lock.holder(key) or "another runner"
                fail(
                    tid,
                    LockError(
                        f"{task!r} stayed locked for more than {lock_wait:g}s; held by "
                        f"{holder}. Build again later, raise lock_wait, or stop that runner "
                        "if it is stuck"
                    ),
                )
            return
        waiting.pop(tid, None)
        leases[tid] = lease
        if exclusive and not entry.forced and is_complete(task, store):
            release(tid)
            outcome.reused.append(task)
            events.task_reused(task)
            finish(tid)
            return
        attempt = attempts[tid] = attempts.get(tid, 0) + 1
        events.task_started(task)
        starting = tid
        call = partial(job, attempt=attempt, since=plan.made)
        if tid in dynamic:  # the ids of what run() asked for, decided here, travel along
            call = partial(with_requirements, call, tuple(dynamic[tid].values()))
        with guard.interruptible():  # an inline executor runs the task right here
            future = executor.submit(call, task, store)
        running[future] = tid
        starting = None

    def wind_down() -> None:
        """After Ctrl-C: wait for or cancel what runs; account for every task."""
        if starting is not None and starting not in running.values():
            outcome.cancelled.append(entries[starting].task)
            release(starting)
        if running and executor.on_interrupt == "finish":
            events.build_interrupted([entries[t].task for t in running.values()], True)
            try:
                while running:
                    with guard.interruptible():
                        done = executor.wait(list(running), None)
                    for future in done:
                        settle(future, may_retry=False)
            except KeyboardInterrupt:
                pass  # a second Ctrl-C: cancel what still runs
        if running:
            events.build_interrupted([entries[t].task for t in running.values()], False)
            executor.cancel(list(running))
            for future, tid in running.items():
                outcome.cancelled.append(entries[tid].task)
                lease = leases.pop(tid, None)
                if lease is None:
                    continue
                if future.done() or not hasattr(future, "add_done_callback"):
                    _release_quietly(lease)
                else:  # still running (a thread cannot be stopped): locked until it ends
                    future.add_done_callback(lambda _f, lease=lease: _release_quietly(lease))
            running.clear()
        accounted = {t.task_id for t in outcome.ran}
        accounted.update(t.task_id for t in outcome.reused)
        accounted.update(t.task_id for t in outcome.failed)
        accounted.update(t.task_id for t in outcome.skipped)
        accounted.update(t.task_id for t in outcome.cancelled)
        outcome.not_started = [e.task for tid, e in entries.items() if tid not in accounted]

    with guard:
        try:
            try:
                while ready or running or waiting or delayed:
                    if unreachable is not None:  # let what runs end; start nothing more
                        ready.clear()
                        waiting.clear()
                        delayed.clear()
                        if not running:
                            break
                    now = time.monotonic()
                    while delayed and delayed[0][0] <= now:
                        ready.append(heapq.heappop(delayed)[1])
                    if waiting and not ready:  # nothing else to start: try held locks again
                        ready.extend(waiting)
                    while ready and len(running) < executor.capacity:
                        start(ready.popleft())
                        guard.check()
                    timeout = poll if waiting else None
                    if delayed:
                        until = max(0.0, delayed[0][0] - time.monotonic())
                        timeout = until if timeout is None else min(timeout, until)
                    if not running:
                        if timeout:
                            with guard.interruptible():
                                time.sleep(timeout)
                        continue
                    with guard.interruptible():
                        done = executor.wait(list(running), timeout=timeout)
                    for future in done:
                        settle(future, may_retry=True)
                    guard.check()
            except KeyboardInterrupt:
                outcome.interrupted = True
                wind_down()
        finally:
            # Leaving on an error (the store or the lock service failed): running tasks keep
            # their locks until they end, so no other runner starts them meanwhile.
            try:
                unfinished = list(running)
                while unfinished:
                    done = executor.wait(unfinished, timeout=None)
                    unfinished = [f for f in unfinished if f not in done]
            finally:
                for tid in list(leases):
                    release(tid)
                outcome.seconds = time.perf_counter() - started
    if outcome.interrupted:
        raise Interrupted(outcome)
    if unreachable is not None:
        raise _stopped(unreachable, outcome, entries) from unreachable
    return outcome


def _stopped(
    error: StoreUnreachableError, outcome: Outcome, entries: dict[str, Any]
) -> StoreUnreachableError:
    """The error a build stopped by an unreachable store raises: what finished, what not."""
    accounted = {t.task_id for t in (*outcome.ran, *outcome.failed, *outcome.skipped)}
    accounted.update(t.task_id for t in outcome.reused)
    outcome.not_started = [e.task for tid, e in entries.items() if tid not in accounted]
    return StoreUnreachableError(
        f"the build stopped because the store stopped answering: {error}. "
        f"{len(outcome.ran)} task(s) finished and are stored, {len(outcome.failed)} failed, "
        f"{len(outcome.not_started) + len(outcome.skipped)} were not started. Nothing stored "
        "is corrupted; when the store answers again, build again to resume"
    )


def _release_quietly(lease: Lease) -> None:
    """Give a lock back while already handling an error; a failure here is only logged."""
    try:
        lease.release()
    except Exception as exc:
        log.warning("could not release a lock: %s", exc)
