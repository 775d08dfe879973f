"""Executors: where tasks run. Chosen by name, imported only when asked for.

An executor hands out futures (``concurrent.futures.Future`` or anything with ``done()``,
``result()`` and ``exception()``) and can wait for the first of several to finish. The
scheduling loop (:mod:`cairn.running.loop`) is the same for every executor; it never
imports a concrete backend.

Besides the protocol's methods, an executor may have:

- ``on_interrupt``: ``"finish"`` (on Ctrl-C, wait for running tasks; the default for
  in-process threads, which cannot be stopped) or ``"cancel"`` (stop them at once);
- ``cancel(futures)``: stop the given running futures now (used on Ctrl-C).

Built in: ``"inline"``, ``"threads"``, ``"processes"`` (a pool of worker processes) and
``"dask"`` (a ``dask.distributed`` cluster; extra ``dask``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection
from typing import Any, Protocol, runtime_checkable

from cairn._errors import CairnError, ConfigError, suggest

__all__ = ["Executor", "get_executor", "register_executor"]


@runtime_checkable
class Executor(Protocol):
    """Runs functions somewhere and reports when they finish."""

    #: How many tasks may run at once.
    capacity: int

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Start ``fn(*args)``; return a future."""

    def wait(self, futures: Collection[Any], timeout: float | None) -> set[Any]:
        """Block until at least one of ``futures`` is done (or ``timeout``); return the done."""

    def close(self, cancel: bool = False) -> None:
        """Release workers; ``cancel`` drops work not yet started."""


_registry: dict[str, str] = {
    "inline": "cairn.executors._local:InlineExecutor",
    "threads": "cairn.executors._local:ThreadExecutor",
    "processes": "cairn.executors._processes:ProcessExecutor",
    "dask": "cairn.executors._dask:DaskExecutor",
}


def register_executor(name: str, dotted: str) -> None:
    """Register an executor class by ``"module:Class"``, imported on first use."""
    _registry[name] = dotted


def get_executor(spec: str | Executor, workers: int | None = None, **options: Any) -> Executor:
    """Return an executor for a name (``"inline"``, ``"threads"``, ...) or pass one through.

    A ``distributed.Client`` is taken as ``"dask"`` on that client. ``options`` go to the
    executor's constructor (``address=`` for Dask, ``start_method=`` for processes).

    Raises:
        CairnError: for an unknown name (listing the known ones).
        ConfigError: for options the executor does not take.
    """
    if not isinstance(spec, str):
        if isinstance(spec, Executor):
            return spec
        if type(spec).__name__ == "Client" and type(spec).__module__.startswith("distributed"):
            return get_executor("dask", workers, client=spec, **options)
        raise CairnError(
            f"executor must be a name ({', '.join(sorted(_registry))}) or an Executor object, "
            f"not {spec!r}"
        )
    dotted = _registry.get(spec)
    if dotted is None:
        raise CairnError(
            f"unknown executor {spec!r}.{suggest(spec, _registry)} "
            f"Known executors: {', '.join(sorted(_registry))}."
        )
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise CairnError(f"workers must be a positive integer, not {workers!r}")
    module_name, _, attr = dotted.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    try:
        executor: Executor = cls(workers=workers, **options)
    except TypeError as exc:
        if not options:
            raise
        raise ConfigError(
            f"executor {spec!r} does not take the option(s) {', '.join(map(repr, options))} ({exc})"
        ) from exc
    return executor
