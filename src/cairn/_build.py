"""``build()`` and ``plan()``: the public entry points that tie the layers together."""

from __future__ import annotations

import logging
from typing import Any

from cairn._errors import BuildError
from cairn._graph import Plan, Rerun, as_roots, make_plan
from cairn._history import HistoryRecorder
from cairn._store import Store, open_store
from cairn._task import default_workspace, load_output
from cairn.executors import Executor, get_executor
from cairn.executors._loop import Listener, Outcome, run_plan
from cairn.locks import Lock, get_lock

__all__ = ["build", "plan"]

log = logging.getLogger("cairn")


def _open(workspace: str | None, storage_options: dict[str, Any] | None) -> Store:
    return open_store(workspace or default_workspace(), storage_options)


def plan(
    tasks: Any,
    *,
    workspace: str | None = None,
    rerun: Rerun = False,
    storage_options: dict[str, Any] | None = None,
) -> Plan:
    """Return what :func:`build` would do for ``tasks``, without running anything.

    The plan lists every task reached, in dependency order, with ``will_run`` and, for each
    that will run, a ``reason`` found by comparing it with the latest earlier run of its
    family in the store: no earlier output, a parameter changed (old -> new), code changed
    (naming the functions, methods or constants), an upstream task will run or changed, an
    input file changed, or forced by ``rerun``. ``str(plan)`` is a table.

    Raises:
        MissingInputError: when an input file a task needs (``ExternalFile``,
            ``FileParameter``) does not exist, naming the task.
    """
    roots, _ = as_roots(tasks)
    return make_plan(roots, _open(workspace, storage_options), rerun=rerun)


def build(
    tasks: Any,
    *,
    workspace: str | None = None,
    executor: str | Executor = "inline",
    workers: int | None = None,
    lock: str | Lock | None = None,
    rerun: Rerun = False,
    storage_options: dict[str, Any] | None = None,
    lock_wait: float | None = None,
    listener: Listener | None = None,
) -> Any:
    """Build ``tasks`` (a task or a list of tasks) and return the roots' loaded outputs.

    Runs every task that is not complete, in dependency order, on ``executor``. Complete
    tasks are reused. ``rerun=True`` reruns the roots; ``rerun="all"`` every task.
    The workspace is ``workspace``, else ``$CAIRN_WORKSPACE``, else ``./workspace``.

    Returns:
        The root's output, or a list of outputs for a list of roots.

    Raises:
        BuildError: when tasks failed, after every task not downstream of a failure ran.
    """
    roots, single = as_roots(tasks)
    store = _open(workspace, storage_options)
    the_plan = make_plan(roots, store, rerun=rerun)
    outcome = execute_plan(
        the_plan,
        store,
        executor=executor,
        workers=workers,
        lock=lock,
        lock_wait=lock_wait,
        listener=listener,
    )
    if outcome.failed:
        first = next(iter(outcome.failed.values()))
        raise BuildError(outcome.failed, outcome.skipped, outcome.ran) from first
    results = [load_output(root, store) for root in roots]
    return results[0] if single else results


def execute_plan(
    the_plan: Plan,
    store: Store,
    *,
    executor: str | Executor = "inline",
    workers: int | None = None,
    lock: str | Lock | None = None,
    lock_wait: float | None = None,
    listener: Listener | None = None,
) -> Outcome:
    """Run what ``the_plan`` says will run; return the outcome (no exception on failure)."""
    exe = get_executor(executor, workers)
    the_lock = get_lock(lock, store.url)
    history = HistoryRecorder(store, listener)  # what later plans compare against
    try:
        outcome = run_plan(
            the_plan,
            store,
            exe,
            the_lock,
            workspace=store.url,
            listener=history,
            lock_wait=lock_wait,
        )
    finally:
        history.flush()
        if exe is not executor:
            exe.close()
        if the_lock is not lock:
            the_lock.close()
    log.info(
        "built %d task(s): %d ran, %d reused, %d failed, %d skipped in %.2fs",
        len(the_plan),
        len(outcome.ran),
        len(the_plan) - len(the_plan.to_run) + len(outcome.reused),
        len(outcome.failed),
        len(outcome.skipped),
        outcome.seconds,
    )
    return outcome
