"""Running one task and writing its run record.

:func:`execute` seeds the random generators, runs ``task.run()`` with its log captured,
checks every output was dumped, and writes the run record *last*: the record's presence is
what marks a task complete, so a process killed at any moment leaves nothing that reads as
complete. The record holds the task's parameters, requirement ids, code fingerprint (its
components are in the code manifest the record names, see :mod:`cairn.storage.history`), content
fingerprints of its input files, versions of the imported packages, Python and platform,
host, timing, seed, log, and each output's size and checksum.
"""

from __future__ import annotations

import datetime as _dt
import importlib.abc
import importlib.machinery
import logging
import random
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from cairn._errors import CairnError, CorruptRecordError, OutputNotFoundError, StoreError
from cairn.identity.environment import imported_packages, static_environment
from cairn.model.graph import map_structure
from cairn.model.options import option
from cairn.model.params import FileParameter
from cairn.model.task import Task
from cairn.planning.plan import is_complete
from cairn.running.context import (
    LOGGER_PREFIX,
    RequirementsPending,
    RunContext,
    reset_context,
    run_context,
)
from cairn.running.failures import clear_failure, failure_for, record_failure
from cairn.storage.history import ensure_manifest
from cairn.storage.integrity import stamp_outputs
from cairn.storage.records import RECORD_VERSION, read_record, write_run_record
from cairn.storage.store import Store

__all__ = ["Pending", "execute", "record_for", "seed_for"]

log = logging.getLogger(__name__)

_log_sink: ContextVar[list[str] | None] = ContextVar("cairn_log_sink", default=None)
_install_lock = threading.Lock()
_installed = False


class _RouteToRecord(logging.Handler):
    """Sends log records of ``cairn.task.*`` loggers to the running task's record."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _log_sink.get()
        if sink is not None:
            sink.append(self.format(record))


def _install_capture() -> None:
    """Route task loggers and warnings to the running task's record (idempotent)."""
    global _installed
    if not _installed:
        with _install_lock:
            if not _installed:
                handler = _RouteToRecord()
                handler.setFormatter(
                    logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
                )
                root = logging.getLogger(LOGGER_PREFIX)
                root.addHandler(handler)
                if root.level == logging.NOTSET:
                    root.setLevel(logging.INFO)
                _installed = True
    # Checked on every run: code such as warnings.catch_warnings() may have replaced it.
    if not getattr(warnings.showwarning, "_cairn_capture", False):
        warnings.showwarning = _wrap_showwarning(warnings.showwarning)


def _wrap_showwarning(original: Any) -> Any:
    def showwarning(  # noqa: PLR0917 - the signature warnings.showwarning has
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        sink = _log_sink.get()
        if sink is not None:
            sink.append(f"WARNING {category.__name__}: {message} ({filename}:{lineno})")
        original(message, category, filename, lineno, file, line)

    showwarning._cairn_capture = True  # type: ignore[attr-defined]
    return showwarning


#: the seed of the run in progress in this thread (or task), for a numpy imported during it
_seed: ContextVar[int | None] = ContextVar("cairn_seed", default=None)


class _SeedNumpyOnImport(importlib.abc.MetaPathFinder):
    """Seeds numpy's global generator when a running task first imports numpy.

    numpy is seeded before ``run()`` only when it is already imported: importing it for every
    task, used or not, costs a build half a second. A task that imports numpy itself gets the
    same draws as if it had been seeded before: nothing can have drawn from the generator
    before the import.
    """

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "numpy":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _uninstall()
            seed = _seed.get()
            if seed is not None:
                module.random.seed(seed % 2**32)

        loader.exec_module = exec_module
        return spec


_finder = _SeedNumpyOnImport()
_finder_lock = threading.Lock()


def _install() -> None:
    with _finder_lock:
        if "numpy" not in sys.modules and _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)


def _uninstall() -> None:
    with _finder_lock:
        if _finder in sys.meta_path:
            sys.meta_path.remove(_finder)


def _seed_generators(seed: int) -> None:
    """Seed ``random`` and numpy's global generator (numpy when it is imported, now or while
    the task runs)."""
    random.seed(seed)
    _seed.set(seed)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(seed % 2**32)
    else:
        _install()


def seed_for(task: Task[Any]) -> int:
    """The seed ``run()`` gets: the class's ``random_seed``, else one from the task id."""
    fixed = option(type(task), "random_seed")  # checked when the class was defined
    if fixed is not None:
        return int(fixed)
    return int(task.task_id[:8], 16)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _autodump(task: Task[Any], result: Any) -> None:
    outputs = task._outputs()
    if list(outputs) == [None]:
        task.dump(result)
    elif isinstance(result, Mapping) and set(result) == set(outputs):
        for key, value in result.items():
            task.dump(value, key)
    else:
        raise CairnError(
            f"{task!r}.run() returned a value but the task has outputs "
            f"{', '.join(map(repr, outputs))}; return a dict with exactly those keys, or dump "
            "each with self.dump(obj, key)"
        )


@dataclass(frozen=True)
class Pending:
    """What :func:`execute` returns when ``run()`` asked for tasks that must be built first."""

    tasks: tuple[Task[Any], ...]


def execute(
    task: Task[Any], store: Store, *, attempt: int = 1, since: str | None = None
) -> dict[str, Any] | Pending:
    """Run ``task`` against ``store`` and write its run record; return the record.

    Outputs are staged while ``run()`` runs and published with the record, under the
    store's commit lock for the task, so a record always describes the bytes beside it.
    When another runner finished the task after ``since`` (when the build planned; default:
    when this run started) and its outputs are intact, its record is kept and returned and
    this run's outputs are dropped: every runner then uses one result.

    When ``run()`` asks (``self.require``) for tasks that are not complete, nothing is
    written and :class:`Pending` names them: build them, then execute the task again.

    Raises whatever ``run()`` raises; then no record is written.
    """
    _install_capture()
    seed = seed_for(task)
    ctx = RunContext(store=store, written={}, complete=lambda t: is_complete(t, store), seed=seed)
    published = False
    try:
        done = _run(task, store, ctx, seed, attempt)
        if isinstance(done, Pending):
            return done
        staged = list(ctx.staged.values())
        record_path = task.record_path()
        with store.committing(record_path):
            theirs = _finished_elsewhere(task, store, since or done["start"])
            if theirs is not None:
                log.info(
                    "%r was finished by another runner while this one ran it; its result "
                    "is kept and this run's is dropped",
                    task,
                )
                return theirs
            store.publish(staged)
            published = True
            stamp_outputs(store, done["outputs"])  # large local files: known by stamp
            try:
                write_run_record(store, record_path, done)
            except StoreError as exc:
                raise type(exc)(f"could not write the run record of {task!r}: {exc}") from exc
    finally:
        if not published:  # failed, pending, kept another runner's result, or killed
            store.discard(ctx.staged.values())
    clear_failure(store, task)
    return done


def _run(
    task: Task[Any], store: Store, ctx: RunContext, seed: int, attempt: int
) -> dict[str, Any] | Pending:
    """Run ``task`` with ``ctx`` current; return its record (not yet written) or Pending."""
    token = run_context(ctx)
    log_lines: list[str] = []
    log_token = _log_sink.set(log_lines)
    started = _now()
    t0 = time.perf_counter()
    try:
        _seed_generators(seed)
        try:
            result = task.run()
        except RequirementsPending as pending:
            return Pending(tuple(pending.tasks))
        except SystemExit as exc:  # fails this task only, not the build or its process
            raise CairnError(
                f"{task!r}.run() called sys.exit({exc.code!r}); this fails the task, not the "
                "build: raise an exception that says what went wrong instead"
            ) from exc
        if result is not None and not ctx.written:
            _autodump(task, result)
        outputs = task._outputs()
        missing = [key for key, target in outputs.items() if target.path not in ctx.written]
        if missing:
            which = "its output" if missing == [None] else f"output(s) {missing}"
            raise CairnError(
                f"{task!r}.run() finished without writing {which}; call self.dump(obj"
                f"{', key' if missing != [None] else ''}) in run(), or return the value"
            )
    except Exception as error:
        failed = failure_for(
            task,
            error,
            attempt=attempt,
            duration=time.perf_counter() - t0,
            log_lines=log_lines,
            metrics=ctx.metrics,
        )
        record_failure(store, task, failed)
        raise
    finally:
        _log_sink.reset(log_token)
        reset_context(token)
    duration = time.perf_counter() - t0
    record = record_for(task, ctx, started=started, duration=duration, seed=seed, log=log_lines)
    record["attempt"] = attempt
    return record


def _finished_elsewhere(task: Task[Any], store: Store, since: str) -> dict[str, Any] | None:
    """The run record another runner wrote for ``task`` after ``since``, when its outputs
    are intact; else None (no record, or an older one this run replaces)."""
    path = task.record_path()
    try:
        if not store.exists(path):  # the usual answer, and cheaper to get than a failed read
            return None
        theirs = read_record(store, path)
    except (OutputNotFoundError, CorruptRecordError, StoreError):
        return None
    end = theirs.get("end")
    if not isinstance(end, str) or end < since:
        return None  # from before this run: a forced or corrupt rerun replaces it
    if not type(task)._kind.is_complete(task, store, deep=True):
        return None
    return theirs


def record_for(
    task: Task[Any],
    ctx: RunContext,
    *,
    started: str,
    duration: float,
    seed: int,
    log: list[str],
) -> dict[str, Any]:
    """Build the run record of a task that has just run."""
    cls = type(task)
    kind = cls._kind
    fingerprint = kind.code(task)
    outputs = {}
    for key, target in task._outputs().items():
        written = ctx.written[target.path]
        outputs["" if key is None else key] = {
            "path": target.path,
            "size": written.size,
            "checksum": written.checksum,
            "type": ctx.types.get(target.path),
        }
    return {
        "cairn_record": RECORD_VERSION,
        "task_id": task.task_id,
        "family": cls.family,
        "module": cls.__module__,
        "qualname": cls.__qualname__,
        "params": dict(task._serialized()),
        "insignificant": [n for n, p in cls._params.items() if not p.significant],
        "requires": map_structure(
            task._requirements(), lambda t: {"task": t.family, "task_id": t.task_id}
        ),
        "dependencies": [t.task_id for t in task._dependencies()],
        "dynamic_requirements": [{"task": t.family, "task_id": t.task_id} for t in ctx.dynamic],
        "code": {
            "fingerprint": fingerprint.digest,
            "code_version": kind.code_version(task),
            # the components (qualified name -> digest), once per fingerprint in the store
            "manifest": ensure_manifest(ctx.store, fingerprint),
        },
        "files": {
            name: task._content(name)
            for name, param in cls._params.items()
            if isinstance(param, FileParameter)
        },
        "outputs": outputs,
        "environment": {**static_environment(), "packages": dict(imported_packages())},
        "start": started,
        "end": _now(),
        "duration_s": round(duration, 6),
        "seed": seed,
        "metrics": dict(ctx.metrics),
        "log": log,
    }
