"""Running one task and writing its run record.

:func:`execute` seeds the random generators, runs ``task.run()`` with its log captured,
checks every output was dumped, and writes the run record *last*: the record's presence is
what marks a task complete, so a process killed at any moment leaves nothing that reads as
complete. The record holds the task's parameters, requirement ids, code fingerprint (its
components are in the code manifest the record names, see :mod:`cairn._history`), content
fingerprints of its input files, versions of the imported packages, Python and platform,
host, timing, seed, log, and each output's size and checksum.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import logging
import platform
import random
import socket
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from contextvars import ContextVar
from functools import cache, lru_cache
from typing import Any

from cairn._errors import CairnError, StoreError
from cairn._files import FileParameter
from cairn._history import ensure_manifest
from cairn._store import Store
from cairn._targets import RunContext, reset_context, run_context
from cairn._task import Task, map_structure
from cairn._version import __version__

__all__ = ["RECORD_VERSION", "execute", "is_complete", "read_record", "record_for"]

RECORD_VERSION = 1

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
    global _installed
    with _install_lock:
        if _installed:
            return
        handler = _RouteToRecord()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        task_logger = logging.getLogger("cairn.task")
        task_logger.addHandler(handler)
        if task_logger.level == logging.NOTSET:
            task_logger.setLevel(logging.INFO)
        original = warnings.showwarning

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

        warnings.showwarning = showwarning
        _installed = True


@lru_cache(maxsize=1)
def _static_environment() -> dict[str, str]:
    return {
        "cairn": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
    }


_packages: dict[str, str] = {}
_packages_seen = -1
_packages_lock = threading.Lock()


@lru_cache(maxsize=1)
def _distributions() -> Mapping[str, list[str]]:
    import importlib.metadata

    return importlib.metadata.packages_distributions()


@cache
def _version(dist: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def imported_packages() -> dict[str, str]:
    """Versions of the installed distributions whose modules are imported now."""
    global _packages_seen
    with _packages_lock:
        if len(sys.modules) == _packages_seen:
            return _packages
        dists = _distributions()
        found: dict[str, str] = {}
        for top in {name.partition(".")[0] for name in list(sys.modules)}:
            for dist in dists.get(top, ()):
                version = _version(dist)
                if version is not None:
                    found[dist] = version
        _packages.clear()
        _packages.update(sorted(found.items()))
        _packages_seen = len(sys.modules)
        return _packages


_numpy_checked = False


def _seed_generators(seed: int) -> None:
    global _numpy_checked
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is None and not _numpy_checked:
        _numpy_checked = True
        if importlib.util.find_spec("numpy") is not None:
            import numpy
    if numpy is not None:
        numpy.random.seed(seed % 2**32)


def seed_for(task: Task[Any]) -> int:
    """The seed ``run()`` gets: the class's ``random_seed``, else one from the task id."""
    fixed = type(task).random_seed
    if isinstance(fixed, int) and not isinstance(fixed, bool):
        return fixed
    return int(task.task_id[:8], 16)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


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


def execute(task: Task[Any], store: Store, *, attempt: int = 1) -> dict[str, Any]:
    """Run ``task`` against ``store`` and write its run record; return the record.

    Raises whatever ``run()`` raises; then no record is written.
    """
    _install_capture()
    ctx = RunContext(store=store, written={})
    token = run_context(ctx)
    log: list[str] = []
    log_token = _log_sink.set(log)
    seed = seed_for(task)
    started = _now()
    t0 = time.perf_counter()
    try:
        _seed_generators(seed)
        result = task.run()
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
    finally:
        _log_sink.reset(log_token)
        reset_context(token)
    duration = time.perf_counter() - t0
    record = record_for(task, ctx, started=started, duration=duration, seed=seed, log=log)
    record["attempt"] = attempt
    try:
        store.write_bytes(task.record_path(), json.dumps(record, indent=1).encode("utf-8"))
    except OSError as exc:
        raise StoreError(f"could not write the run record of {task!r}: {exc}") from exc
    return record


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
    fingerprint = cls.code_fingerprint()
    outputs = {}
    for key, target in task._outputs().items():
        written = ctx.written[target.path]
        outputs["" if key is None else key] = {
            "path": target.path,
            "size": written.size,
            "checksum": written.checksum,
        }
    return {
        "cairn_record": RECORD_VERSION,
        "task_id": task.task_id,
        "family": cls.family,
        "params": {
            name: param.serialize(task._values[name]) for name, param in cls._params.items()
        },
        "insignificant": [n for n, p in cls._params.items() if not p.significant],
        "requires": map_structure(
            task._requirements(), lambda t: {"task": t.family, "task_id": t.task_id}
        ),
        "dependencies": [t.task_id for t in task._dependencies()],
        "code": {
            "fingerprint": fingerprint.digest,
            "code_version": cls.code_version,
            # the components (qualified name -> digest), once per fingerprint in the store
            "manifest": ensure_manifest(ctx.store, fingerprint),
        },
        "files": {
            name: param.content(task._values[name])
            for name, param in cls._params.items()
            if isinstance(param, FileParameter)
        },
        "outputs": outputs,
        "environment": {**_static_environment(), "packages": dict(imported_packages())},
        "start": started,
        "end": _now(),
        "duration_s": round(duration, 6),
        "seed": seed,
        "log": log,
    }


def is_complete(task: Task[Any], store: Store) -> bool:
    """True when ``task``'s run record is in ``store`` (for a task made outside cairn, such as
    ``ExternalFile``: when its outputs exist)."""
    if type(task)._external:
        return all(target.exists(store) for target in task._outputs().values())
    return store.exists(task.record_path())


def read_record(task: Task[Any], store: Store) -> dict[str, Any]:
    """Read ``task``'s run record from ``store``."""
    with store.open_read(task.record_path()) as file:
        data: dict[str, Any] = json.loads(file.read())
    return data
