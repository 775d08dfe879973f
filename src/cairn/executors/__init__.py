"""Executors: where tasks run. Chosen by name, imported only when asked for.

An executor hands out futures (``concurrent.futures.Future`` or anything with ``done()``,
``result()`` and ``exception()``) and can wait for the first of several to finish. The
scheduling loop (:mod:`cairn.running.loop`) is the same for every executor; it never
imports a concrete backend.

Besides running and waiting, the protocol declares what an executor does on Ctrl-C:

- ``on_interrupt``: ``"finish"`` (on Ctrl-C, wait for running tasks; the choice of
  in-process threads, which cannot be stopped) or ``"cancel"`` (stop them at once);
- ``cancel(futures)``: stop the given running futures now (used on Ctrl-C).

:class:`BaseExecutor` gives the defaults (``"cancel"``, and a ``cancel`` that stops nothing);
an executor object without them is taken with those defaults.

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

__all__ = ["BaseExecutor", "Executor", "get_executor", "register_executor"]


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

    #: On Ctrl-C: ``"finish"`` waits for running tasks, ``"cancel"`` stops them.
    on_interrupt: str

    def cancel(self, futures: Collection[Any]) -> None:
        """Stop the given running futures now (on Ctrl-C)."""


@runtime_checkable
class _Runs(Protocol):
    """The methods an executor object cannot do without (the rest have defaults)."""

    capacity: int

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any: ...

    def wait(self, futures: Collection[Any], timeout: float | None) -> set[Any]: ...

    def close(self, cancel: bool = False) -> None: ...


class BaseExecutor:
    """Defaults for the optional parts of :class:`Executor`: subclass it for your own."""

    #: On Ctrl-C running tasks are cancelled (see :meth:`cancel`).
    on_interrupt = "cancel"

    def cancel(self, futures: Collection[Any]) -> None:
        """Stop nothing: running futures end on their own."""


class _WithDefaults(BaseExecutor):
    """An executor object without ``on_interrupt``/``cancel``, given the defaults."""

    def __init__(self, inner: _Runs) -> None:
        self.inner = inner

    @property
    def capacity(self) -> int:
        return self.inner.capacity

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        return self.inner.submit(fn, *args)

    def wait(self, futures: Collection[Any], timeout: float | None) -> set[Any]:
        return self.inner.wait(futures, timeout)

    def close(self, cancel: bool = False) -> None:
        self.inner.close(cancel)

    def __repr__(self) -> str:
        return repr(self.inner)


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
        if isinstance(spec, _Runs):
            return _WithDefaults(spec)
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
