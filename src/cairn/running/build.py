"""``build()`` and ``plan()``: the public entry points that tie the layers together, and
:func:`run_build`, the one way a build runs (``cairn.build``, ``Pipeline.run`` and so the
command line go through it).

Settings come from the one resolver (:func:`cairn._settings.resolve`). Every listener hears
``build_finished`` once at the end of every build, whatever ended it: success, failed tasks
(before ``BuildError`` is raised), Ctrl-C, or an error of the store or the lock service.

Nothing here prints. What a build shows a person (the live progress display and the
one-line summary) is a face, a layer above this one: the package's ``__init__``, which
assembles the public API from every layer, hands this module the face's reporter factory
with :func:`set_reporter`. This layer only knows the factory's signature and the listener
protocol it returns, so no import runs back up (import-linter checks the layers).
"""

from __future__ import annotations

import logging
import math
import posixpath
from collections.abc import Callable, Sequence
from typing import Any

from cairn._errors import BuildError, CairnError, ConfigError
from cairn._settings import ConfigArg, Settings, resolve
from cairn.executors import Executor, get_executor
from cairn.locks import Lock, get_lock
from cairn.model.task import Task
from cairn.planning.plan import Plan, Rerun, as_roots, make_plan
from cairn.running.buildlog import BuildLog, build_log_wanted
from cairn.running.events import Broadcast, Listener, Outcome
from cairn.running.loop import Interrupted, run_plan
from cairn.running.outputs import load_output
from cairn.running.recorder import HistoryRecorder
from cairn.storage.records import RunRecord
from cairn.storage.store import Store, check_writable, open_store
from cairn.storage.verified import Verified

__all__ = [
    "ConfigArg",
    "Reporter",
    "build",
    "execute_plan",
    "open_workspace",
    "plan",
    "run_build",
    "set_reporter",
]

log = logging.getLogger("cairn")

#: Makes the listener that shows a build to a person: ``factory(progress=..., summary=...)``,
#: where ``progress`` is True, False or None (decide from the terminal) and ``summary`` says
#: whether to print the summary line at the end. What it returns has the listener methods
#: and ``close()``, called however the build ends (it erases a live display still shown).
Reporter = Callable[..., Any]
_reporter: Reporter | None = None


def set_reporter(factory: Reporter | None) -> None:
    """Install the factory of the build display (the faces layer calls this at import)."""
    global _reporter
    _reporter = factory


def check_numbers(*, lock_wait: Any, retry_delay: Any) -> None:
    """Refuse negative, non-finite or wrongly typed numeric build settings, before any run.

    Raises:
        ConfigError: naming the setting.
    """
    checks = (("lock_wait", lock_wait, True), ("retry_delay", retry_delay, False))
    for name, value, optional in checks:
        if optional and value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(
                f"{name} must be a number of seconds, zero or more, not {value!r:.100}"
            )


def open_workspace(
    workspace: str | None = None,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
) -> Store:
    """Open the store of the resolved workspace (see :func:`cairn._settings.resolve`)."""
    settings = resolve(config, workspace=workspace, storage_options=storage_options)
    return open_store(settings.workspace, settings.storage_options)


def plan(
    tasks: Any,
    *,
    workspace: str | None = None,
    rerun: Rerun = False,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
    strict_check: bool = False,
    modification_time_check: bool = False,
) -> Plan:
    """Return what :func:`build` would do for ``tasks``, without running anything.

    The plan lists every task reached, in dependency order, with ``will_run`` and, for each
    that will run, a ``reason`` found by comparing it with the latest earlier run of its
    family in the store: no earlier output, a parameter changed (old -> new), code changed
    (naming the functions, methods or constants), an upstream task will run or changed, an
    input file changed, or forced by ``rerun``. ``str(plan)`` is a table. ``config`` gives
    the workspace and storage options when they are not passed (see :func:`build`).
    ``strict_check`` and ``modification_time_check`` are as for :func:`build`.

    Raises:
        MissingInputError: when an input file a task needs (``ExternalFile``,
            ``FileParameter``) does not exist, naming the task.
    """
    roots, _ = as_roots(tasks)
    return make_plan(
        roots,
        open_workspace(workspace, storage_options, config),
        rerun=rerun,
        strict_check=strict_check,
        modification_time_check=modification_time_check,
    )


def build(
    tasks: Any,
    *,
    workspace: str | None = None,
    executor: str | Executor | None = None,
    workers: int | None = None,
    lock: str | Lock | bool | None = None,
    rerun: Rerun = False,
    storage_options: dict[str, Any] | None = None,
    lock_wait: float | None = None,
    listener: Listener | None = None,
    hooks: Sequence[Listener] = (),
    config: ConfigArg = None,
    strict_check: bool = False,
    modification_time_check: bool = False,
    progress: bool | None = None,
    summary: bool = True,
    retries: int = 0,
    retry_delay: float = 0.0,
    dask_address: Any = None,
) -> Any:
    """Build ``tasks`` (a task or a list of tasks) and return the roots' loaded outputs.

    Runs every task that is not complete, in dependency order, on ``executor``. Complete
    tasks are reused. ``rerun=True`` reruns the roots; ``rerun="all"`` every task.

    Each setting left at None (``workspace``, ``executor``, ``workers``, ``lock``,
    ``storage_options``) comes from the environment (``CAIRN_WORKSPACE``,
    ``CAIRN_EXECUTOR``, ``CAIRN_WORKERS``, ``CAIRN_LOCK``), else from the configuration
    (``config``: a :class:`Config` or a file path; by default the file found in the working
    directory: ``$CAIRN_CONFIG``, ``cairn.toml``, else ``[tool.cairn]`` in
    ``pyproject.toml``), else the default (``./workspace``, ``"inline"``, one worker per
    core, no lock; ``lock=False`` asks for no lock explicitly). ``hooks`` are build hooks
    (:class:`cairn.hooks.BuildHook`): told when each task starts, succeeds or fails, and
    when the build ends, whatever ended it.

    Checks on reuse (both off by default, as they read the whole graph below the roots):
    ``strict_check=True`` counts a task complete only when everything it needs is complete
    too, so a deleted upstream output is rebuilt along with what depends on it;
    ``modification_time_check=True`` also reruns a task whose inputs finished after it did.

    ``executor`` is ``"inline"``, ``"threads"``, ``"processes"``, ``"dask"``, an
    ``Executor`` object or a ``distributed.Client``; ``dask_address`` is the scheduler
    (``"tcp://host:8786"``) or ``distributed.Client`` for ``executor="dask"``. A failed task
    runs again up to ``retries`` times, ``retry_delay`` seconds apart (a task class's own
    ``retries`` / ``retry_delay`` attributes win). ``progress`` shows a live display:
    ``None`` on a terminal outside CI, ``True`` always, ``False`` never; a one-line summary
    is printed at the end either way, unless ``summary=False`` (for a caller that prints its
    own, like the command line). ``listener`` receives the build events
    (:class:`cairn.running.events.Listener`).

    Returns:
        The root's output, or a list of outputs for a list of roots.

    Raises:
        BuildError: when tasks failed, after every task not downstream of a failure ran.
        KeyboardInterrupt: on Ctrl-C, once running tasks finished or were cancelled and what
            finished was reported.
    """
    check_numbers(lock_wait=lock_wait, retry_delay=retry_delay)
    roots, single = as_roots(tasks)
    settings = resolve(
        config,
        workspace=workspace,
        executor=executor,
        workers=workers,
        lock=lock,
        storage_options=storage_options,
    )

    def make(store: Store) -> Plan:
        return make_plan(
            roots,
            store,
            rerun=rerun,
            strict_check=strict_check,
            modification_time_check=modification_time_check,
        )

    def collect(store: Store) -> Any:
        results = [load_output(root, store) for root in roots]
        return results[0] if single else results

    return run_build(
        roots,
        make,
        collect,
        settings,
        listeners=[listener, *hooks],
        lock_wait=lock_wait,
        progress=progress,
        summary=summary,
        retries=retries,
        retry_delay=retry_delay,
        dask_address=dask_address,
    )


def run_build(
    roots: Sequence[Task[Any]],
    make: Callable[[Store], Plan],
    collect: Callable[[Store], Any],
    settings: Settings,
    *,
    listeners: Sequence[Any] = (),
    lock_wait: float | None = None,
    progress: bool | None = None,
    summary: bool = True,
    retries: int = 0,
    retry_delay: float = 0.0,
    dask_address: Any = None,
) -> Any:
    """Open the store, plan with ``make(store)``, run the plan, return ``collect(store)``.

    Every listener (the display first, then ``listeners`` in order) hears the build's
    events, and ``build_finished(plan=, outcome=, workspace=, error=)`` once at the end,
    whatever ended it; ``error`` is the exception about to be raised, None on success.

    Raises:
        BuildError: when tasks failed, after every task not downstream of a failure ran.
        KeyboardInterrupt: (:class:`~cairn.running.loop.Interrupted`) on Ctrl-C, after
            reporting what finished.
    """
    reporter = None
    if _reporter is not None and (summary or progress is not False):
        reporter = _reporter(progress=progress, summary=summary)
    events = Broadcast([reporter, *listeners])
    the_plan = Plan([], list(roots))  # what the end reports when planning itself failed
    outcome = Outcome()
    workspace = settings.workspace
    error: BaseException | None = None
    try:
        store = open_store(settings.workspace, settings.storage_options)
        workspace = store.url
        the_plan = make(store)
        outcome = execute_plan(
            the_plan,
            store,
            executor=settings.executor,
            workers=settings.workers,
            lock=settings.lock,
            lock_wait=lock_wait,
            listener=events,
            retries=retries,
            retry_delay=retry_delay,
            dask_address=dask_address,
            outcome=outcome,
        )
        if outcome.failed:
            first = next(iter(outcome.failed.values()))
            raise BuildError(outcome.failed, outcome.skipped, outcome.ran) from first
        return collect(store)
    except Interrupted as stop:
        outcome = stop.outcome
        error = stop
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        _log_end(the_plan, outcome, error)
        try:
            events.build_finished(plan=the_plan, outcome=outcome, workspace=workspace, error=error)
        finally:
            if reporter is not None:
                reporter.close()  # the live display leaves no stale lines, whatever ended it


def execute_plan(
    the_plan: Plan,
    store: Store,
    *,
    executor: str | Executor = "inline",
    workers: int | None = None,
    lock: str | Lock | None = None,
    lock_wait: float | None = None,
    listener: Listener | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    dask_address: Any = None,
    outcome: Outcome | None = None,
) -> Outcome:
    """Run what ``the_plan`` says will run; return the outcome (no exception on failure).

    ``listener`` hears ``build_started`` and the events of the scheduling loop (not
    ``build_finished``: :func:`run_build` sends that). The executor and lock made here are
    closed before returning or raising; ones the caller passed are the caller's. ``outcome``
    is filled in place when given (see :func:`~cairn.running.loop.run_plan`).

    Raises:
        KeyboardInterrupt: (:class:`~cairn.running.loop.Interrupted`) on Ctrl-C, after
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
    events = listener if listener is not None else Broadcast()
    if the_plan.to_run:
        check_writable(store)  # a read-only, full or missing store fails before any run()
    # for viewers (cairn ui): a build that runs something logs its plan and events
    build_log = BuildLog(store, enabled=bool(the_plan.to_run) and build_log_wanted(store))
    events = Broadcast([events, build_log])
    the_lock = get_lock(lock, store.url)
    try:
        exe = get_executor(executor, workers, **options)
    except BaseException:
        if the_lock is not lock:
            the_lock.close()
        raise
    history = HistoryRecorder(store)  # what later plans compare against
    try:
        events.build_started(the_plan)
        outcome = run_plan(
            the_plan,
            store,
            exe,
            the_lock,
            workspace=store.url,
            listener=Broadcast([events, history]),
            lock_wait=lock_wait,
            retries=retries,
            retry_delay=retry_delay,
            outcome=outcome,
        )
    except Interrupted as stop:
        _close(history, exe, executor, the_lock, lock, cancel=True)
        build_log.finish(stop.outcome)
        raise
    except BaseException:
        _close(history, exe, executor, the_lock, lock, cancel=True)
        build_log.finish()
        raise
    _close(history, exe, executor, the_lock, lock, cancel=False)
    _remember_written(store, outcome)
    build_log.finish(outcome)
    return outcome


def _remember_written(store: Store, outcome: Outcome) -> None:
    """Note the records this build wrote, with their outputs, as checked whole (their
    checksums were computed as they were written), so the next plan on an object store
    reads none of them (see :mod:`cairn.storage.verified`)."""
    if store.writes_are_local or not outcome.records:  # the index serves object stores
        return
    verified = Verified(store)
    try:
        verified.prefetch(
            (t.record_path() for t in outcome.ran),
            (
                str(entry.get("path"))
                for record in outcome.records.values()
                for entry in (record.get("outputs") or {}).values()
            ),
        )
        for task in outcome.ran:
            record = outcome.records.get(task.task_id)
            if record is None or verified.listing(posixpath.dirname(task.record_path())) is None:
                continue
            verified.remember(task.record_path(), RunRecord.from_dict(record))
        verified.save()
    except CairnError as exc:  # only a cache: the next plan checks them whole instead
        log.debug("could not note the records written: %s", exc)


def _close(
    history: HistoryRecorder,
    exe: Executor,
    given: Any,
    the_lock: Lock,
    given_lock: Any,
    *,
    cancel: bool,
) -> None:
    """Write the history; release the executor and lock this build made (not the caller's)."""
    try:
        history.flush()
    finally:
        try:
            if exe is not given:
                exe.close(cancel=cancel)
        finally:
            if the_lock is not given_lock:
                the_lock.close()


def _log_end(the_plan: Plan, outcome: Outcome, error: BaseException | None) -> None:
    """Log how the build ended."""
    if outcome.interrupted:
        log.info(
            "build interrupted after %.2fs: %d ran, %d cancelled while running, %d not started",
            outcome.seconds,
            len(outcome.ran),
            len(outcome.cancelled),
            len(outcome.not_started),
        )
    elif error is not None and not isinstance(error, BuildError):
        log.info("build stopped by %s: %s", type(error).__name__, error)
    else:
        log.info(
            "built %d task(s): %d ran, %d reused, %d failed, %d skipped in %.2fs",
            len(the_plan),
            len(outcome.ran),
            len(the_plan) - len(the_plan.to_run) + len(outcome.reused),
            len(outcome.failed),
            len(outcome.skipped),
            outcome.seconds,
        )
