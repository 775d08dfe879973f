"""``build()`` and ``plan()``: the public entry points that tie the layers together.

Nothing here prints. What a build shows a person (the live progress display and the
one-line summary) is a face, a layer above this one: the package's ``__init__``, which
assembles the public API from every layer, hands this module the face's reporter factory
with :func:`set_reporter`. This layer only knows the factory's signature and the listener
protocol it returns, so no import runs back up (import-linter checks the layers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cairn._errors import BuildError, ConfigError
from cairn._graph import Plan, Rerun, as_roots, make_plan
from cairn._store import Store, open_store
from cairn._task import default_workspace, load_output
from cairn.executors import Executor, get_executor
from cairn.executors._loop import Broadcast, Interrupted, Listener, Outcome, run_plan
from cairn.locks import Lock, get_lock

__all__ = ["Reporter", "build", "plan", "set_reporter"]

log = logging.getLogger("cairn")

#: Makes the listener that shows a build to a person: ``factory(progress=...)``, where
#: ``progress`` is True, False or None (decide from the terminal).
Reporter = Callable[..., Any]
_reporter: Reporter | None = None


def set_reporter(factory: Reporter | None) -> None:
    """Install the factory of the build display (the faces layer calls this at import)."""
    global _reporter
    _reporter = factory


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

    The plan lists every task reached, in dependency order, with ``will_run`` and a
    ``reason`` for each that will run.
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
    progress: bool | None = None,
    storage_options: dict[str, Any] | None = None,
    lock_wait: float | None = None,
    listener: Listener | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    dask_address: Any = None,
) -> Any:
    """Build ``tasks`` (a task or a list of tasks) and return the roots' loaded outputs.

    Runs every task that is not complete, in dependency order, on ``executor``
    (``"inline"``, ``"threads"``, ``"processes"``, ``"dask"``, an ``Executor`` object or a
    ``distributed.Client``) with ``workers`` at once. Complete tasks are reused.
    ``rerun=True`` reruns the roots; ``rerun="all"`` every task. The workspace is
    ``workspace``, else ``$CAIRN_WORKSPACE``, else ``./workspace``.

    A failed task runs again up to ``retries`` times, ``retry_delay`` seconds apart (a task
    class's own ``retries`` / ``retry_delay`` attributes win). ``dask_address`` is the
    scheduler (``"tcp://host:8786"``) or ``distributed.Client`` for ``executor="dask"``.
    ``progress`` shows a live display: ``None`` on a terminal outside CI, ``True`` always,
    ``False`` never; a one-line summary is printed at the end either way. ``listener``
    receives the scheduling events.

    Returns:
        The root's output, or a list of outputs for a list of roots.

    Raises:
        BuildError: when tasks failed, after every task not downstream of a failure ran.
        KeyboardInterrupt: on Ctrl-C, once running tasks finished or were cancelled and what
            finished was reported.
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
        progress=progress,
        retries=retries,
        retry_delay=retry_delay,
        dask_address=dask_address,
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
    progress: bool | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    dask_address: Any = None,
) -> Outcome:
    """Run what ``the_plan`` says will run; return the outcome (no exception on failure).

    Raises:
        KeyboardInterrupt: (:class:`~cairn.executors._loop.Interrupted`) on Ctrl-C, after
            reporting what finished.
    """
    options: dict[str, Any] = {}
    if dask_address is not None:
        if executor != "dask":
            raise ConfigError(
                f"dask_address is for executor='dask' (executor is {executor!r}); "
                "pass executor='dask' too"
            )
        options["address"] = dask_address
    listeners: list[Any] = []
    if _reporter is not None:
        listeners.append(_reporter(progress=progress))
    if listener is not None:
        listeners.append(listener)
    events = Broadcast(listeners)
    exe = get_executor(executor, workers, **options)
    the_lock = get_lock(lock, store.url)
    events.build_started(the_plan)
    try:
        outcome = run_plan(
            the_plan,
            store,
            exe,
            the_lock,
            workspace=store.url,
            listener=events,
            lock_wait=lock_wait,
            retries=retries,
            retry_delay=retry_delay,
        )
    except Interrupted as stop:
        outcome = stop.outcome
        _close(exe, executor, the_lock, lock, cancel=True)
        _log(the_plan, outcome)
        events.build_finished(the_plan, outcome)
        raise
    except BaseException:
        _close(exe, executor, the_lock, lock, cancel=True)
        raise
    _close(exe, executor, the_lock, lock, cancel=False)
    _log(the_plan, outcome)
    events.build_finished(the_plan, outcome)
    return outcome


def _close(exe: Executor, given: Any, the_lock: Lock, given_lock: Any, *, cancel: bool) -> None:
    """Release the executor and lock this build made (not ones the caller passed in)."""
    try:
        if exe is not given:
            exe.close(cancel=cancel)
    finally:
        if the_lock is not given_lock:
            the_lock.close()


def _log(the_plan: Plan, outcome: Outcome) -> None:
    if outcome.interrupted:
        log.info(
            "build interrupted after %.2fs: %d ran, %d cancelled while running, %d not started",
            outcome.seconds,
            len(outcome.ran),
            len(outcome.cancelled),
            len(outcome.not_started),
        )
        return
    log.info(
        "built %d task(s): %d ran, %d reused, %d failed, %d skipped in %.2fs",
        len(the_plan),
        len(outcome.ran),
        len(the_plan) - len(the_plan.to_run) + len(outcome.reused),
        len(outcome.failed),
        len(outcome.skipped),
        outcome.seconds,
    )
