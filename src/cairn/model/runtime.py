"""The run-time API of a task as the model sees it: the methods, a protocol, and the slot
that fills it.

``Task.load()``, ``dump()``, ``require()``, ``load_generator()``, ``load_data_frame()``,
``log_metric()``, ``random``, ``numpy_random`` and ``logger`` (:class:`RunMethods`, a base of
``Task``) act on the run in progress (its store, what it wrote, its seed, its log, its
metrics), which the layer that runs tasks owns (:mod:`cairn.running.context`). That layer
implements :class:`Runtime` and installs it with :func:`set_runtime` as it is imported
(``import cairn`` imports it), so the model imports nothing from the layers above it and
``Task`` keeps its methods.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Collection, Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, cast

from cairn._errors import CairnError

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["RunMethods", "Runtime", "delegated_requirements", "runtime", "set_runtime"]

#: Set while a task runs on a worker of another process (the processes and Dask executors):
#: the dynamic requirements whose ids the build's client decided, by value key. ``require()``
#: there uses these tasks and sends any other back to the client, unnamed: the worker's code
#: fingerprints may differ from the client's, and only the client makes ids. None while a
#: task runs in the build's own process.
delegated_requirements: ContextVar[dict[str, Task[Any]] | None] = ContextVar(
    "cairn_delegated_requirements", default=None
)


class Runtime(Protocol):
    """What ``Task``'s run-time methods delegate to; each takes the task first."""

    def load(self, task: Task[Any], key: Any, as_type: Any) -> Any: ...

    def load_generator(self, task: Task[Any], key: Any) -> Iterator[Any]: ...

    def load_data_frame(
        self,
        task: Task[Any],
        key: Any,
        required_columns: Collection[Any] | None,
        drop_columns: bool,
        as_type: Any,
    ) -> Any: ...

    def require(self, task: Task[Any], tasks: Any) -> Any: ...

    def dump(
        self, task: Task[Any], obj: Any, key: str | None, custom_labels: Mapping[str, Any] | None
    ) -> None: ...

    def random(self, task: Task[Any]) -> random.Random: ...

    def numpy_random(self, task: Task[Any]) -> Any: ...

    def logger(self, task: Task[Any]) -> logging.Logger: ...

    def log_metrics(self, task: Task[Any], metrics: Mapping[str, Any]) -> None: ...


_installed: Runtime | None = None


def set_runtime(implementation: Runtime) -> None:
    """Install the run-time API (the running layer calls this as it is imported)."""
    global _installed
    _installed = implementation


def runtime() -> Runtime:
    """The installed run-time API.

    Raises:
        CairnError: when none is installed (``cairn.running`` was never imported).
    """
    if _installed is None:
        raise CairnError(
            "cairn's run-time API is not installed; import cairn (it imports cairn.running)"
        )
    return _installed


def _task(obj: RunMethods) -> Task[Any]:
    return cast("Task[Any]", obj)


class RunMethods:
    """The methods a task calls while it runs (``Task`` derives from this class); each acts
    on the run in progress through the installed :class:`Runtime`."""

    @property
    def random(self) -> random.Random:
        """A ``random.Random`` of this run, seeded like the global one (see ``random_seed``).

        Unlike the global ``random`` functions, it is the task's own, so its draws repeat
        even when tasks run at the same time on the threads executor.
        """
        return runtime().random(_task(self))

    @property
    def numpy_random(self) -> Any:
        """A ``numpy.random.Generator`` of this run (``default_rng`` of the run's seed)."""
        return runtime().numpy_random(_task(self))

    @property
    def logger(self) -> logging.Logger:
        """A logger whose records go into this task's run record."""
        return runtime().logger(_task(self))

    def load(self, key: Any = None, *, as_type: Any = None) -> Any:
        """Load the outputs of ``requires()``, in its shape; ``key`` selects a part: a key of
        the dict it returns, one of the tasks it requires, or a list of either (loaded as a
        list). A task it does not require raises ``KeyNotFoundError``.

        Data frames come back as the type their task wrote (or declared with
        ``Task[...]``); ``as_type`` (``pd.DataFrame``, ``pl.DataFrame``, ``pl.LazyFrame``,
        ``pa.Table``) asks for another.
        """
        return runtime().load(_task(self), key, as_type)

    def require(self, tasks: Any) -> Any:
        """Ask, from inside ``run()``, for tasks found only while running; return their outputs.

        ``tasks`` is a task, or a list/tuple/dict of tasks (nested), and the outputs come back
        in that shape. Tasks that are complete are loaded at once. Otherwise ``run()`` stops
        here, the build runs them (on the same executor, reusing what is complete), and then
        calls ``run()`` again from the start, when this call returns their outputs. So call
        ``require()`` before doing expensive work, and keep ``run()`` free of side effects
        before it. The tasks enter the run record (``dynamic_requirements``); the task is not
        complete until they are.
        """
        return runtime().require(_task(self), tasks)

    def load_generator(self, key: Any = None) -> Iterator[Any]:
        """Yield the outputs of ``requires()`` (or its entry ``key``) one at a time.

        Only one input is in memory at once. Inputs come in the order of ``requires()``
        (dict values in insertion order, nested structures depth first); each item is the
        loaded output itself, not a key.
        """
        return runtime().load_generator(_task(self), key)

    def load_data_frame(
        self,
        key: Any = None,
        required_columns: Collection[Any] | None = None,
        drop_columns: bool = False,
        *,
        as_type: Any = None,
    ) -> Any:
        """Load a data frame input and check that it has ``required_columns``.

        A list of frames (``requires()`` returning a list) is stacked into one.
        ``drop_columns=True`` keeps only the required columns (in the order given, for a
        list). ``as_type`` asks for a frame type, as in :meth:`load`. Works for pandas and
        polars (``LazyFrame`` columns are checked without computing it).

        Raises:
            MissingColumnsError: naming the task, the missing columns and those present.
        """
        return runtime().load_data_frame(_task(self), key, required_columns, drop_columns, as_type)

    def dump(
        self, obj: Any, key: str | None = None, *, custom_labels: Mapping[str, Any] | None = None
    ) -> None:
        """Write ``obj`` to this task's output (``key`` selects one of a dict output);
        ``custom_labels`` join the labels written on it where the store keeps them."""
        runtime().dump(_task(self), obj, key, custom_labels)

    def log_metric(self, name: str, value: float) -> None:
        """Store the number ``value`` as metric ``name`` of this run (in its run record).

        Metrics show in ``cairn show`` and are columns of ``cairn.results()``. Logging a name
        again replaces its value. Exists only inside ``run()``.

        Raises:
            CairnError: when ``name`` is not a non-empty string or ``value`` not a finite
                number, or outside ``run()``.
        """
        runtime().log_metrics(_task(self), {name: value})

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Store several metrics at once: ``self.log_metrics({"auc": 0.93, "f1": 0.8})``
        (see :meth:`log_metric`)."""
        runtime().log_metrics(_task(self), metrics)
