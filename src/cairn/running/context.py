"""The run context: what a task's ``load``, ``dump``, ``require`` and generators act on.

While the runner runs a task (:func:`cairn.running.runner.execute`) a :class:`RunContext`
is current in that thread (a context variable, so tasks running at once on threads each see
their own): the store, what was written, the dynamic requirements asked for, the seed and
the generators made from it. ``Task``'s run-time methods delegate here, through the
:class:`~cairn.model.runtime.Runtime` this module installs as it is imported.

Outside a run, ``load()`` and ``load_generator()`` read from the default workspace;
``dump()``, ``require()``, ``random`` and ``numpy_random`` exist only inside ``run()``.
"""

from __future__ import annotations

import contextvars
import logging
import math
import numbers
import random as _random
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn._errors import CairnError, FormatError, KeyNotFoundError, StoreError, suggest
from cairn._settings import resolve
from cairn.formats._frames import concat, frame_kind, kind_of_request
from cairn.identity.canonical import is_task
from cairn.model.checks import require_columns, type_name
from cairn.model.graph import compute_ids, flatten, map_structure
from cairn.model.params import iter_tasks
from cairn.model.runtime import delegated_requirements, set_runtime
from cairn.model.targets import Target
from cairn.model.task import Task
from cairn.running.outputs import load_output
from cairn.storage.store import Staged, Store, Written, open_store

__all__ = [
    "LOGGER_PREFIX",
    "RequirementsPending",
    "RunContext",
    "current_context",
    "current_store",
    "with_requirements",
    "reset_context",
    "run_context",
]


#: The loggers whose records go into the running task's record (``self.logger`` is
#: ``cairn.task.{family}``).
LOGGER_PREFIX = "cairn.task"


@dataclass
class RunContext:
    """What a running task's load() and dump() use: the store, and what was written.

    ``types`` maps each written path to the qualified type name of the object dumped there.
    """

    store: Store
    written: dict[str, Written]
    #: each dumped output, staged (not visible) until the runner publishes it with the
    #: run record
    staged: dict[str, Staged] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    #: tells whether a task is complete in ``store`` (set by whoever runs the task)
    complete: Callable[[Any], bool] | None = None
    #: tasks ``run()`` asked for with ``self.require(...)``, in order
    dynamic: list[Any] = field(default_factory=list)
    #: the run's seed, and the generators made from it on first use (``self.random``)
    seed: int = 0
    generators: dict[str, Any] = field(default_factory=dict)
    #: numbers ``run()`` logged with ``self.log_metric(...)``, by name, in order
    metrics: dict[str, float] = field(default_factory=dict)


_current: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "cairn_run_context", default=None
)


def current_context() -> RunContext | None:
    """The context of the task running in this thread, if any."""
    return _current.get()


def run_context(ctx: RunContext | None) -> contextvars.Token[RunContext | None]:
    """Make ``ctx`` current; returns the token to reset it with."""
    return _current.set(ctx)


def reset_context(token: contextvars.Token[RunContext | None]) -> None:
    """Restore the context from before :func:`run_context`."""
    _current.reset(token)


def current_store() -> Store:
    """The store of the task running in this thread; outside a run, the workspace the
    settings resolve to (``$CAIRN_WORKSPACE``, the configuration's, else ``./workspace``)."""
    ctx = _current.get()
    if ctx is not None:
        return ctx.store
    settings = resolve()
    return open_store(settings.workspace, settings.storage_options)


#: What a task caches that its id decides (dropped before the client makes the ids).
_ID_CACHES = ("_req_cache", "_deps_cache", "_out_cache", "_serial")


def _forget_ids(tasks: list[Task[Any]]) -> None:
    """Drop ids (and what depends on them) of ``tasks`` and the tasks their parameters hold,
    so none made with this process's fingerprints travels back to the client."""
    stack = list(tasks)
    seen: set[int] = set()
    while stack:
        task = stack.pop()
        if id(task) in seen:
            continue
        seen.add(id(task))
        task._id = None
        for name in _ID_CACHES:
            setattr(task, name, None)
        for value in task._values.values():
            stack.extend(iter_tasks(value))


def with_requirements(
    job: Callable[..., Any], known: tuple[Task[Any], ...], task: Task[Any], store: Store
) -> Any:
    """Run ``job(task, store)`` with ``known`` as the dynamic requirements whose ids the
    client decided (used only on a worker of another process, see
    :data:`~cairn.model.runtime.delegated_requirements`)."""
    if delegated_requirements.get() is None:
        return job(task, store)
    token = delegated_requirements.set({t._vkey: t for t in known})
    try:
        return job(task, store)
    finally:
        delegated_requirements.reset(token)


class RequirementsPending(BaseException):
    """Raised by ``require()`` inside ``run()`` while some dynamic requirements are not built.

    A ``BaseException``, so a user's ``except Exception`` around the call does not swallow it.
    """

    def __init__(self, tasks: list[Task[Any]]) -> None:
        super().__init__(f"{len(tasks)} dynamic requirement(s) to build first")
        self.tasks = tasks


def _running(task: Task[Any], what: str) -> RunContext:
    ctx = _current.get()
    if ctx is None:
        raise CairnError(f"{task!r}.{what} exists only while the task runs (inside run())")
    return ctx


def _requirement(task: Task[Any], key: Any) -> Any:
    """What ``task.requires()`` returns, or the part of it ``key`` selects.

    ``key`` is a key of the dict ``requires()`` returns, a task that ``requires()`` holds
    (anywhere in it, as gokart allows), or a list or tuple of such keys or tasks (then the
    parts come back as a list).
    """
    req = task._requirements()
    if key is None:
        return req
    if isinstance(key, list | tuple):
        return [_requirement(task, part) for part in key]
    if is_task(key):
        if key in task._dependencies():
            return key
        required = ", ".join(repr(t) for t in task._dependencies()[:10]) or "nothing"
        raise KeyNotFoundError(
            f"{task!r} does not require {key!r}, so it cannot load it; add it to requires() "
            f"(it requires: {required})"
        )
    if isinstance(req, Mapping):
        if key in req:
            return req[key]
        keys = [str(k) for k in req]
        raise KeyNotFoundError(
            f"{task!r} has no requirement {key!r}.{suggest(str(key), keys)} requires() has: "
            f"{', '.join(map(repr, keys)) or 'nothing'}"
        )
    raise KeyNotFoundError(
        f"{task!r}.requires() returns {type(req).__qualname__}, not a dict, so it has no "
        f"key {key!r}; call load() without a key, or with one of the tasks it requires"
    )


def _output(task: Task[Any], key: str | None) -> Target:
    """``task``'s output ``key`` (None: its single output)."""
    outputs = task._outputs()
    if key in outputs:
        return outputs[key]
    keys = [k for k in outputs if k is not None]
    if key is None:
        raise KeyNotFoundError(
            f"{task!r} has several outputs; name one: dump(obj, key) with key one of "
            f"{', '.join(map(repr, keys))}"
        )
    if not keys:
        raise KeyNotFoundError(
            f"{task!r} has a single output; call dump(obj) without a key (got {key!r})"
        )
    raise KeyNotFoundError(
        f"{task!r} has no output {key!r}.{suggest(key, keys)} "
        f"Its outputs are: {', '.join(map(repr, keys))}"
    )


def _check_labels(task: Task[Any], labels: Any) -> None:
    """Refuse custom labels that are not a dict of text, or that take a name cairn writes."""
    if labels is None:
        return
    if not isinstance(labels, Mapping) or not all(isinstance(k, str) for k in labels):
        raise CairnError(
            f"{task!r}.dump(custom_labels=...) takes a dict of name -> value, like "
            f"{{'team': 'ml'}}; got {labels!r:.200}"
        )
    reserved = sorted(k for k in labels if k.lower().startswith("cairn-"))
    if reserved:
        raise CairnError(
            f"{task!r}.dump(custom_labels=...): the names {reserved} are cairn's own "
            "(cairn-*); choose names without that prefix"
        )


class _Runtime:
    """The run-time API behind ``Task``'s methods (see :class:`cairn.model.runtime.Runtime`)."""

    def load(self, task: Task[Any], key: Any, as_type: Any) -> Any:
        store = current_store()
        kind = kind_of_request(as_type)
        return map_structure(_requirement(task, key), lambda t: load_output(t, store, kind))

    def load_generator(self, task: Task[Any], key: Any) -> Iterator[Any]:
        store = current_store()
        for dep in flatten(_requirement(task, key), task):
            yield load_output(dep, store)

    def load_data_frame(
        self,
        task: Task[Any],
        key: Any,
        required_columns: Collection[Any] | None,
        drop_columns: bool,
        as_type: Any,
    ) -> Any:
        data = task.load(key, as_type=as_type)
        where = repr(key) if key is not None else "of requires()"
        if isinstance(data, list | tuple) and data and all(frame_kind(f) for f in data):
            data = concat(list(data))
        if frame_kind(data) is None:
            hint = (
                f"; name one with load_data_frame(key), key one of {', '.join(map(repr, data))}"
                if isinstance(data, Mapping)
                else "; use load() for other objects"
            )
            raise CairnError(
                f"{task!r}.load_data_frame({key!r}) loaded {type(data).__qualname__}, not a "
                f"data frame{hint}"
            )
        return require_columns(task, data, where, required_columns, drop_columns)

    def require(self, task: Task[Any], tasks: Any) -> Any:
        ctx = _current.get()
        if ctx is None or ctx.complete is None:
            raise CairnError(
                f"{task!r}.require() was called outside run(); it is for requirements found "
                "while running. Return static ones from requires()."
            )
        wanted = flatten(tasks, task)
        known = delegated_requirements.get()
        chosen: dict[int, Task[Any]] = {}
        if known is not None:  # on a worker: the client decides every id
            unknown = []
            for each in wanted:
                found = known.get(each._vkey)
                if found is None:
                    unknown.append(each)
                else:
                    chosen[id(each)] = found
            if unknown:
                _forget_ids(unknown)
                raise RequirementsPending(unknown)
            wanted = [chosen[id(t)] for t in wanted]
        else:
            for each in wanted:
                compute_ids(each)
        ctx.dynamic.extend(t for t in wanted if t not in ctx.dynamic)
        missing = [t for t in wanted if not ctx.complete(t)]
        if missing:
            raise RequirementsPending(missing)
        return map_structure(tasks, lambda t: load_output(chosen.get(id(t)) or t, ctx.store))

    def dump(
        self, task: Task[Any], obj: Any, key: str | None, custom_labels: Mapping[str, Any] | None
    ) -> None:
        ctx = _current.get()
        if ctx is None:
            raise CairnError(
                f"{task!r}.dump() was called outside a build; dump() belongs in run(), "
                "which cairn.build(...) calls"
            )
        target = _output(task, key)
        if target.path in ctx.written:
            which = "its output" if key is None else f"its output {key!r}"
            raise CairnError(
                f"{task!r} dumped {which} ({target.path}) twice in one run; dump each output "
                "once, with its final value (collect the pieces first, then dump them together)"
            )
        _check_labels(task, custom_labels)
        task._check_dump(obj, key)
        keeps = ctx.store.keeps_labels
        labels = task.labels(custom_labels) if keeps else None
        try:
            staged = target.stage(ctx.store, obj, labels)
        except FormatError as exc:
            raise FormatError(f"{task!r} could not write {target.path}: {exc}") from exc
        except StoreError as exc:
            raise type(exc)(f"{task!r} could not write {target.path}: {exc}") from exc
        except CairnError:
            raise
        except Exception as exc:
            raise FormatError(
                f"{task!r} could not write {type(obj).__qualname__} to {target.path} "
                f"({type(exc).__name__}: {exc}); make the object serialisable for this "
                "format (for a .pkl target: drop locks, open files, connections and "
                "generators from it), or dump it to another format"
            ) from exc
        ctx.staged[target.path] = staged
        ctx.written[target.path] = staged.written
        ctx.types[target.path] = type_name(obj)

    def random(self, task: Task[Any]) -> _random.Random:
        ctx = _running(task, "random")
        rng = ctx.generators.get("random")
        if rng is None:
            rng = ctx.generators["random"] = _random.Random(ctx.seed)
        return rng

    def numpy_random(self, task: Task[Any]) -> Any:
        ctx = _running(task, "numpy_random")
        rng = ctx.generators.get("numpy")
        if rng is None:
            import numpy

            rng = ctx.generators["numpy"] = numpy.random.default_rng(ctx.seed)
        return rng

    def logger(self, task: Task[Any]) -> logging.Logger:
        return logging.getLogger(f"{LOGGER_PREFIX}.{type(task).family}")

    def log_metrics(self, task: Task[Any], metrics: Mapping[str, Any]) -> None:
        ctx = _running(task, "log_metric()")
        if not isinstance(metrics, Mapping):
            raise CairnError(
                f"{task!r}.log_metrics() takes a dict of name -> number, like "
                f"{{'auc': 0.93}}; got {type(metrics).__qualname__} {metrics!r:.100}"
            )
        checked = {name: _metric_value(task, name, value) for name, value in metrics.items()}
        ctx.metrics.update(checked)


def _metric_value(task: Task[Any], name: Any, value: Any) -> float:
    """``value`` as a metric's number, or a CairnError saying what a metric is."""
    if not isinstance(name, str) or not name.strip():
        raise CairnError(
            f"{task!r}.log_metric(): a metric's name is a non-empty string, like 'auc'; "
            f"got {name!r:.100}"
        )
    # numbers.Real takes numpy's scalars too; they are stored as Python numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise CairnError(
            f"{task!r}.log_metric({name!r}, ...): a metric is a finite number (int or "
            f"float); got {type(value).__qualname__} {value!r:.100}. Log text with "
            "self.logger instead"
        )
    return int(value) if isinstance(value, numbers.Integral) else float(value)


set_runtime(_Runtime())
