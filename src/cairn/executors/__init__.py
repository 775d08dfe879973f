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
``"dask"`` (a ``dask.distributed`` cluster; extra ``dask``). A URL names an executor and
where it runs: ``"dask://host:8786"`` (or ``dask+tls://host:8786``) is ``"dask"`` on the
scheduler at that address, whichever setting (argument, ``--executor``, ``CAIRN_EXECUTOR``,
``cairn.toml``) it comes from.
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
    name, options = _parse_url(spec, options)
    dotted = _registry.get(name)
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


def _parse_url(spec: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split an executor URL (``dask://host:8786``) into a name and its ``address`` option.

    Raises:
        ConfigError: for a URL without a host, or an address given twice.
    """
    scheme, sep, rest = spec.partition("://")
    if not sep:
        return spec, options
    name, _, transport = scheme.partition("+")
    if name != "dask":
        raise CairnError(
            f"unknown executor URL {spec!r}: only dask://HOST:PORT (or dask+tls://HOST:PORT) "
            f"names a place to run. Known executors: {', '.join(sorted(_registry))}."
        )
    host = rest.strip("/")
    if not host or "/" in host:
        raise ConfigError(
            f"executor {spec!r} has no scheduler address; write dask://HOST:PORT, e.g. "
            "dask://scheduler.example.org:8786"
        )
    if options.get("address") is not None:
        raise ConfigError(
            f"executor {spec!r} names a scheduler and an address was given too "
            f"({options['address']!r}); give one of them"
        )
    return "dask", {**options, "address": f"{transport or 'tcp'}://{host}"}
