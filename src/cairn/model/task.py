"""The task model: ``Task``, its declaration (parameters, requirements, outputs) and its id.

A task is an immutable value: its class and parameter values. Its id (``_make_id``) is a
digest of its family, its significant parameters (type-tagged canonical encoding), the ids
of the tasks its ``requires()`` returns, and its code fingerprint; :mod:`cairn.model.graph`
computes the ids of a graph without recursion. What a task does while it runs (``load``,
``dump``, ``require``, ``random``, ``logger``...) acts on the run in progress, which the
running layer owns: those methods delegate to :mod:`cairn.model.runtime`.
"""

from __future__ import annotations

import json
import logging
import random as _random
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, cast

if TYPE_CHECKING:
    from typing_extensions import TypeVar
else:  # typing_extensions costs import time; defaults of type variables only matter to checkers
    from typing import TypeVar as _TypeVar

    def TypeVar(name, *constraints, default=None, **kwargs):  # noqa: N802
        return _TypeVar(name, *constraints, **kwargs)


from cairn._config import active_values, default_workspace, using_values
from cairn._errors import CairnError
from cairn.formats import Format
from cairn.identity import fingerprint as _fingerprint
from cairn.identity.canonical import canonical, digest, is_task
from cairn.model import runtime as _runtime
from cairn.model.checks import check_dump
from cairn.model.graph import compute_ids, flatten, materialize
from cairn.model.meta import TaskMeta, parameter_values, shown
from cairn.model.params import Parameter, iter_tasks
from cairn.model.restore import Restorer
from cairn.model.targets import Target, as_outputs, model_format, unique_path
from cairn.storage import layout
from cairn.storage.store import open_store

if TYPE_CHECKING:
    from cairn.model.groups import ParameterGroup

__all__ = ["Task"]

T = TypeVar("T", default=Any)
TaskT = TypeVar("TaskT", bound="Task[Any]")

_UNSET: Any = object()


class Task(Generic[T], metaclass=TaskMeta):
    """Base class of every task.

    Subclasses declare parameters as class attributes and override ``run()``; they may
    override ``requires()`` (default: the tasks held by their task parameters) and
    ``output()`` (default: ``{module path}/{ClassName}_{task_id}.pkl``).

    Class attributes:
        code_version: a string that replaces the code fingerprint in the id.
        namespace: a prefix for the family, the output folder and the run record, which
            keeps two projects' same-named tasks apart.
        random_seed: the seed of ``random`` (and numpy) for ``run()``; by default derived
            from the task id.
        retries: how many times to run ``run()`` again after it fails (default: the
            build's ``retries``).
        retry_delay: seconds to wait before each retry (default: the build's
            ``retry_delay``).
        schema: column types every data frame dumped must have, ``{"user_id": "int64",
            ...}`` (or ``{output key: {...}}``, or a pandera schema); else ``SchemaError``.
        fail_on_empty_dump: when True, dumping a data frame with no rows raises
            ``EmptyDumpError``.

    ``Task[pl.DataFrame]`` (or ``pd.DataFrame``, ``pl.LazyFrame``) declares what the task
    dumps: its frames are read back as that type, whichever library wrote them.
    """

    __cairn_task__: ClassVar[bool] = True
    _params: ClassVar[dict[str, Parameter[Any]]]
    family: ClassVar[str]
    _path_prefix: ClassVar[str]
    _groups: ClassVar[tuple[tuple[type[ParameterGroup], dict[str, str]], ...]] = ()
    namespace: ClassVar[str | None] = None
    code_version: ClassVar[str | None] = None
    random_seed: ClassVar[int | None] = None
    retries: ClassVar[int | None] = None
    retry_delay: ClassVar[float | None] = None
    schema: ClassVar[Any] = None
    fail_on_empty_dump: ClassVar[bool] = False
    #: True for tasks made outside cairn (``ExternalFile``): they never run, and they are
    #: complete when their outputs exist.
    _external: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        source = active_values()  # the configuration's values, for parameters not given
        self._values: dict[str, Any] = parameter_values(cls, args, kwargs, source)
        self._param_source = source
        self._vkey: str = digest(cls.family, *self._vkey_parts())
        self._id: str | None = None

    # --- identity -------------------------------------------------------------------------
    def _vkey_parts(self) -> Iterator[str]:
        """Parameter text that identifies this value before ids exist (tasks by value key)."""
        for name, param in type(self)._params.items():
            if not param.significant:
                continue
            value = self._values[name]
            if is_task(value):
                yield f"{name}=V{value._vkey}"
            elif isinstance(value, tuple) and value and all(is_task(v) for v in value):
                yield f"{name}=V[" + ",".join(v._vkey for v in value) + "]"
            else:
                yield f"{name}={param.encode(value)}"

    @property
    def task_id(self) -> str:
        """The task's id: 32 hex digits."""
        if self._id is None:
            compute_ids(self)
        assert self._id is not None
        return self._id

    @classmethod
    def code_fingerprint(cls) -> _fingerprint.Fingerprint:
        """The fingerprint of this class's code (``code_version`` pins it)."""
        if cls.code_version is not None:
            return _fingerprint.Fingerprint(digest("code_version", str(cls.code_version)), {})
        return _fingerprint.class_fingerprint(cls, Task)

    def _code_fingerprint(self) -> _fingerprint.Fingerprint:
        """The code fingerprint this task's id is made from: its class's, unless a subclass
        whose code differs per instance (a pipeline node, which carries a function) says
        otherwise. The run record holds the same fingerprint."""
        return type(self).code_fingerprint()

    def _history_family(self) -> str:
        """Whose earlier runs a plan compares this task with to say why it will run: its
        family's, unless a subclass standing for many kinds of task (a pipeline node) says
        otherwise."""
        return type(self).family

    def _make_id(self) -> str:
        cls = type(self)
        parts = [cls.family, "code:" + self._code_fingerprint().digest]
        for name, param in cls._params.items():
            if param.significant:
                parts.append(f"{name}={param.fingerprint(self._values[name])}")
        parts.append("requires:" + canonical(self._requirements()))
        return digest(*parts)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not is_task(other) or type(other) is not type(self):
            return NotImplemented if not is_task(other) else False
        return self._vkey == other._vkey and self.task_id == other.task_id

    def __hash__(self) -> int:
        return hash(self.task_id)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self._values.items())
        return f"{type(self).__name__}({args})"

    def __str__(self) -> str:
        """Like ``repr``, dates and datetimes in ISO form (``at=2024-05-01T09:00:00+09:00``)."""
        args = ", ".join(f"{name}={shown(value)}" for name, value in self._values.items())
        return f"{type(self).__name__}({args})"

    def label(self) -> str:
        """A short one-line name: upstream tasks shown as ``Name#id8`` instead of in full."""

        def show(value: Any) -> str:
            if is_task(value):
                return f"{type(value).__name__}#{value.task_id[:8]}"
            if isinstance(value, tuple) and value and all(is_task(v) for v in value):
                return "[" + ", ".join(show(v) for v in value) + "]"
            return shown(value)

        args = ", ".join(f"{name}={show(value)}" for name, value in self._values.items())
        return f"{type(self).__name__}({args})"

    def clone(self, cls: type[TaskT] | None = None, **overrides: Any) -> TaskT:
        """Build a task of class ``cls`` (default: this one's) from this task's parameters.

        Parameters that ``cls`` also declares are copied; ``overrides`` replace or add values.
        """
        target: type[Any] = type(self) if cls is None else cls
        if not (isinstance(target, type) and issubclass(target, Task)):
            raise CairnError(f"clone() takes a task class, not {target!r}")
        values = {n: v for n, v in self._values.items() if n in target._params}
        values.update(overrides)
        return cast("TaskT", target(**values))

    @classmethod
    def from_id(
        cls,
        task_id: str,
        *,
        workspace: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> Task[Any]:
        """Rebuild a task from its run record: its class, parameters and upstream tasks.

        ``SomeTask.from_id(id)`` reads that class's record directly; ``cairn.Task.from_id(id)``
        searches the workspace for the record. Upstream tasks are rebuilt from their own
        records. If the code changed since the record was written, the rebuilt task gets a
        new id, and a warning says so.

        Raises:
            OutputNotFoundError: when no record with that id is in the workspace.
        """
        store = open_store(workspace or default_workspace(), storage_options)
        return Restorer(store).restore(task_id, cls if cls is not Task else None)

    # --- requirements ---------------------------------------------------------------------
    def requires(self) -> Any:
        """The tasks this task needs: a task, or a list/tuple/dict of them (nested); any
        other iterable of tasks (a generator, a set) is taken as a list.

        By default, the tasks held by task parameters, keyed by parameter name.
        """
        out: dict[str, Any] = {}
        for name, value in self._values.items():
            if is_task(value) or (isinstance(value, tuple) and any(iter_tasks(value))):
                out[name] = value
        return out

    def _requirements(self) -> Any:
        cached = self.__dict__.get("_req_cache", _UNSET)
        if cached is _UNSET:
            source = self.__dict__.get("_param_source")
            if source is active_values():
                cached = self.requires()
            else:  # tasks created by requires() take the values this task was built with
                with using_values(source):
                    cached = self.requires()
            cached = materialize(cached)
            deps = flatten(cached, self)
            self.__dict__["_req_cache"] = cached
            self.__dict__["_deps_cache"] = deps
        return cached

    def _dependencies(self) -> list[Task[Any]]:
        """The tasks ``requires()`` returns, flattened (computed once)."""
        deps = self.__dict__.get("_deps_cache")
        if deps is None:
            self._requirements()
            deps = self.__dict__["_deps_cache"]
        return deps  # type: ignore[no-any-return]

    # --- outputs --------------------------------------------------------------------------
    def output(self) -> Target | Mapping[str, Target]:
        """Where this task's output goes: one target or a dict of them."""
        cls = type(self)
        return self.make_target(layout.default_output(cls._path_prefix, cls.__name__))

    def make_target(
        self, path: str, use_unique_id: bool = True, format: Format | None = None
    ) -> Target:
        """A target at ``path`` in the workspace; ``use_unique_id`` adds ``_{task_id}``.

        ``make_target("data/clean.csv")`` is ``data/clean_{task_id}.csv``. The format is
        chosen by the extension unless ``format`` is given (e.g.
        ``cairn.formats.Parquet(compression="snappy")``).
        """
        return Target(unique_path(path, self.task_id, format) if use_unique_id else path, format)

    def make_model_target(
        self,
        path: str,
        save_function: Callable[[Any, str], Any],
        load_function: Callable[[str], Any],
        use_unique_id: bool = True,
    ) -> Target:
        """A target for an object saved as several files, stored as one ``.zip``.

        ``save_function(obj, path)`` writes the object at ``path`` inside a fresh private
        directory (a file, a directory, or files beside it); everything there is zipped.
        Loading unzips it and returns ``load_function(path)``. Works on every store.

        Raises:
            TargetError: when ``path`` does not end with ``.zip``.
        """
        format = model_format(path, save_function, load_function)
        return self.make_target(path, use_unique_id, format=format)

    def _outputs(self) -> dict[str | None, Target]:
        """``output()`` as a dict (``None`` key for a single target), computed once."""
        cached: dict[str | None, Target] | None = self.__dict__.get("_out_cache")
        if cached is None:
            cached = self.__dict__["_out_cache"] = as_outputs(self.output(), self)
        return cached

    def record_path(self) -> str:
        """Workspace-relative path of this task's run record."""
        cls = type(self)
        return layout.record_path(cls._path_prefix, cls.__name__, self.task_id)

    # --- running --------------------------------------------------------------------------
    def run(self) -> Any:
        """Compute the output and ``dump()`` it. A non-None return value is dumped for you."""
        raise NotImplementedError(f"{type(self).__name__} must define run()")

    @property
    def random(self) -> _random.Random:
        """A ``random.Random`` of this run, seeded like the global one (see ``random_seed``).

        Unlike the global ``random`` functions, it is the task's own, so its draws repeat
        even when tasks run at the same time on the threads executor.
        """
        return _runtime.runtime().random(self)

    @property
    def numpy_random(self) -> Any:
        """A ``numpy.random.Generator`` of this run (``default_rng`` of the run's seed)."""
        return _runtime.runtime().numpy_random(self)

    @property
    def logger(self) -> logging.Logger:
        """A logger whose records go into this task's run record."""
        return _runtime.runtime().logger(self)

    def load(self, key: Any = None, *, as_type: Any = None) -> Any:
        """Load the outputs of ``requires()``, in its shape; ``key`` selects a part: a key of
        the dict it returns, one of the tasks it requires, or a list of either (loaded as a
        list). A task it does not require raises ``KeyNotFoundError``.

        Data frames come back as the type their task wrote (or declared with
        ``Task[...]``); ``as_type`` (``pd.DataFrame``, ``pl.DataFrame``, ``pl.LazyFrame``,
        ``pa.Table``) asks for another.
        """
        return _runtime.runtime().load(self, key, as_type)

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
        return _runtime.runtime().require(self, tasks)

    def load_generator(self, key: Any = None) -> Iterator[Any]:
        """Yield the outputs of ``requires()`` (or its entry ``key``) one at a time.

        Only one input is in memory at once. Inputs come in the order of ``requires()``
        (dict values in insertion order, nested structures depth first); each item is the
        loaded output itself, not a key.
        """
        return _runtime.runtime().load_generator(self, key)

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
        return _runtime.runtime().load_data_frame(
            self, key, required_columns, drop_columns, as_type
        )

    def dump(
        self, obj: Any, key: str | None = None, *, custom_labels: Mapping[str, Any] | None = None
    ) -> None:
        """Write ``obj`` to this task's output (``key`` selects one of a dict output);
        ``custom_labels`` join the labels written on it where the store keeps them."""
        _runtime.runtime().dump(self, obj, key, custom_labels)

    def labels(self, custom: Mapping[str, Any] | None = None) -> dict[str, str]:
        """What is written as metadata on each output where the store supports it (S3, GCS):
        the family, the id, ``custom`` labels, the outputs of the tasks it requires and the
        significant parameters (JSON), in that order (the last are cut first to fit)."""
        cls = type(self)
        params = {n: p.serialize(self._values[n]) for n, p in cls._params.items() if p.significant}
        required = [t.path for dep in self._dependencies() for t in dep._outputs().values()]
        return {
            "cairn-family": cls.family,
            "cairn-task-id": self.task_id,
            **{str(k): str(v) for k, v in (custom or {}).items()},
            "cairn-required-outputs": json.dumps(required),
            "cairn-params": json.dumps(params, sort_keys=True, default=str),
        }

    def _check_dump(self, obj: Any, key: str | None) -> None:
        """Check an object before it is dumped: data frames against ``schema`` and
        ``fail_on_empty_dump``. Subclasses may extend it (call ``super()``).
        """
        check_dump(self, obj, key)
