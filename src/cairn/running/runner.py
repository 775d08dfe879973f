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

import contextlib
import datetime as _dt
import importlib.util
import json
import logging
import os
import platform
import random
import socket
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cairn._errors import CairnError, StoreError
from cairn._version import __version__
from cairn.model.params import FileParameter
from cairn.model.targets import RunContext, reset_context, run_context
from cairn.model.task import RequirementsPending, Task, map_structure
from cairn.storage.history import ensure_manifest
from cairn.storage.store import Store

__all__ = [
    "RECORD_VERSION",
    "Pending",
    "execute",
    "is_complete",
    "read_record",
    "record_for",
    "warm_up",
]

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
    """Route task loggers and warnings to the running task's record (idempotent)."""
    global _installed
    if not _installed:
        with _install_lock:
            if not _installed:
                handler = _RouteToRecord()
                handler.setFormatter(
                    logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
                )
                task_logger = logging.getLogger("cairn.task")
                task_logger.addHandler(handler)
                if task_logger.level == logging.NOTSET:
                    task_logger.setLevel(logging.INFO)
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
def _installed_distributions() -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    """What is installed: top-level module -> (distribution, version), and the
    ``(record file, distribution, version)`` of distributions that do not list their modules.

    Reads ``*.dist-info`` folder names and their small ``top_level.txt`` files only;
    ``importlib.metadata.packages_distributions()`` parses every RECORD and takes hundreds
    of milliseconds in a large environment.
    """
    mapping: dict[str, tuple[str, str]] = {}
    unlisted: list[tuple[str, str, str]] = []
    for directory in sys.path:
        try:
            entries = os.listdir(directory or ".")
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".dist-info"):
                continue
            name, _, version = entry[: -len(".dist-info")].partition("-")
            folder = os.path.join(directory, entry)
            tops: list[str] = []
            with contextlib.suppress(OSError), open(os.path.join(folder, "top_level.txt")) as f:
                tops = f.read().split()
            if not tops:
                unlisted.append((os.path.join(folder, "RECORD"), name, version))
            for top in tops or [name.lower()]:
                mapping.setdefault(top.replace("/", "."), (name, version))
    return mapping, unlisted


_unresolved: dict[str, tuple[str, str] | None] = {}


def _find_in_records(top: str, unlisted: list[tuple[str, str, str]]) -> tuple[str, str] | None:
    """Find the distribution that installs module ``top`` by reading RECORD files (cached)."""
    if top in _unresolved:
        return _unresolved[top]
    prefixes = (f"{top}/", f"{top}.py,")
    found = None
    for record, name, version in unlisted:
        with contextlib.suppress(OSError), open(record) as file:
            if any(line.startswith(prefixes) for line in file):
                found = (name, version)
                break
    _unresolved[top] = found
    return found


def imported_packages() -> dict[str, str]:
    """Versions of the installed distributions whose modules are imported now."""
    global _packages_seen
    with _packages_lock:
        if len(sys.modules) == _packages_seen:
            return _packages
        installed, unlisted = _installed_distributions()
        found: dict[str, str] = {}
        for top in {name.partition(".")[0] for name in list(sys.modules)}:
            dist = installed.get(top)
            if dist is None and not top.startswith("_") and top not in sys.stdlib_module_names:
                path = getattr(sys.modules.get(top), "__file__", None) or ""
                if "-packages" in path:
                    dist = _find_in_records(top, unlisted)
            if dist is not None:
                found[dist[0]] = dist[1]
        _packages.clear()
        _packages.update(sorted(found.items()))
        _packages_seen = len(sys.modules)
        return _packages


_numpy_checked = False
_numpy_lock = threading.Lock()


def _seed_generators(seed: int) -> None:
    global _numpy_checked
    random.seed(seed)
    if not _numpy_checked:
        # One thread imports numpy; tasks starting on other threads meanwhile wait for the
        # whole module instead of finding it half initialised in sys.modules.
        with _numpy_lock:
            if not _numpy_checked:
                if "numpy" not in sys.modules and importlib.util.find_spec("numpy") is not None:
                    import numpy  # noqa: F401 - imported for seeding, below
                _numpy_checked = True
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(seed % 2**32)


def warm_up(numpy: bool = True) -> None:
    """Do now what the first task run in this process would do once: read the installed
    packages' metadata (for run records) and, with ``numpy``, import numpy (for seeding).

    Worker processes call it as they start, before their first task. A process that will
    fork (a forkserver) passes ``numpy=False``: numpy starts threads, and forking a process
    with threads can deadlock the child.
    """
    imported_packages()
    if numpy and "numpy" not in sys.modules and importlib.util.find_spec("numpy") is not None:
        import numpy as _  # noqa: F401


def seed_for(task: Task[Any]) -> int:
    """The seed ``run()`` gets: the class's ``random_seed``, else one from the task id."""
    fixed = type(task).random_seed
    if isinstance(fixed, int) and not isinstance(fixed, bool):
        return fixed
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


def execute(task: Task[Any], store: Store, *, attempt: int = 1) -> dict[str, Any] | Pending:
    """Run ``task`` against ``store`` and write its run record; return the record.

    When ``run()`` asks (``self.require``) for tasks that are not complete, nothing is
    written and :class:`Pending` names them: build them, then execute the task again.

    Raises whatever ``run()`` raises; then no record is written.
    """
    _install_capture()
    seed = seed_for(task)
    ctx = RunContext(store=store, written={}, complete=lambda t: is_complete(t, store), seed=seed)
    token = run_context(ctx)
    log: list[str] = []
    log_token = _log_sink.set(log)
    started = _now()
    t0 = time.perf_counter()
    try:
        _seed_generators(seed)
        try:
            result = task.run()
        except RequirementsPending as pending:
            return Pending(tuple(pending.tasks))
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
        store.write_bytes(task.record_path(), json.dumps(record, separators=(",", ":")).encode())
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
    fingerprint = task._code_fingerprint()
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
        "params": {
            name: param.serialize(task._values[name]) for name, param in cls._params.items()
        },
        "insignificant": [n for n, p in cls._params.items() if not p.significant],
        "requires": map_structure(
            task._requirements(), lambda t: {"task": t.family, "task_id": t.task_id}
        ),
        "dependencies": [t.task_id for t in task._dependencies()],
        "dynamic_requirements": [{"task": t.family, "task_id": t.task_id} for t in ctx.dynamic],
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
