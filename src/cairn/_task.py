"""The task model: ``Task``, its identity, requirements, outputs, and load/dump.

A task is an immutable value: its class and parameter values. Its id is a digest of its
family, its significant parameters (type-tagged canonical encoding), the ids of the tasks its
``requires()`` returns, and its code fingerprint. Ids are computed without recursion, so a
``requires()`` chain 100,000 deep works, and a cycle is reported by name.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import random as _random
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, cast, dataclass_transform

if TYPE_CHECKING:
    from typing_extensions import TypeVar
else:  # typing_extensions costs import time; defaults of type variables only matter to checkers
    from typing import TypeVar as _TypeVar

    def TypeVar(name, *constraints, default=None, **kwargs):  # noqa: N802
        return _TypeVar(name, *constraints, **kwargs)


from cairn import _fingerprint
from cairn._checks import check_dump, declared_kind, require_columns, type_name
from cairn._config import active_values, using_values
from cairn._errors import (
    CairnError,
    DependencyCycleError,
    KeyNotFoundError,
    OutputNotFoundError,
    ParameterError,
    RequirementError,
    TargetError,
    suggest,
)
from cairn._identity import TASK_MARKER, canonical, digest
from cairn._params import Parameter, TaskListParameter, TaskParameter, iter_tasks
from cairn._store import LocalStore, Store, open_store
from cairn._targets import Target, current_context
from cairn.formats import Format, extension_of
from cairn.formats._frames import concat, frame_kind, kind_of_request

__all__ = [
    "Task",
    "compute_ids",
    "default_workspace",
    "flatten",
    "load_one",
    "load_output",
    "map_structure",
]

T = TypeVar("T", default=Any)
TaskT = TypeVar("TaskT", bound="Task[Any]")


def default_workspace() -> str:
    """The workspace when none is given: ``$CAIRN_WORKSPACE``, else ``./workspace``."""
    return os.environ.get("CAIRN_WORKSPACE") or "workspace"


def _is_task(value: Any) -> bool:
    return bool(getattr(type(value), TASK_MARKER, False))


def flatten(structure: Any, owner: Any = None) -> list[Task[Any]]:
    """Return the tasks in a nesting of tasks, lists, tuples and dicts, in order.

    Raises:
        RequirementError: for a leaf that is not a task (``None`` leaves are skipped).
    """
    if _is_task(structure):
        return [structure]
    out: list[Task[Any]] = []
    stack: list[Any] = [structure]
    while stack:
        item = stack.pop()
        if _is_task(item):
            out.append(item)
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
        elif item is not None:
            where = f"{owner!r}.requires()" if owner is not None else "requires()"
            raise RequirementError(
                f"{where} returned {type(item).__qualname__} {item!r}, which is not a task. "
                "requires() may return a task, or a list, tuple or dict of tasks (nested)."
            )
    return out


def map_structure(structure: Any, func: Any) -> Any:
    """Apply ``func`` to every task in ``structure``, keeping its shape."""
    if _is_task(structure):
        return func(structure)
    if isinstance(structure, Mapping):
        return {k: map_structure(v, func) for k, v in structure.items()}
    if isinstance(structure, list | tuple):
        return type(structure)(map_structure(v, func) for v in structure)
    return structure


if TYPE_CHECKING:
    from cairn import _param_specs as _spec
else:
    from cairn import _params as _spec


@dataclass_transform(
    kw_only_default=True,
    field_specifiers=(
        _spec.Parameter,
        _spec.IntParameter,
        _spec.FloatParameter,
        _spec.BoolParameter,
        _spec.DateParameter,
        _spec.DateTimeParameter,
        _spec.EnumParameter,
        _spec.ListParameter,
        _spec.DictParameter,
        _spec.TaskParameter,
        _spec.TaskListParameter,
        _spec.SerializableParameter,
        _spec.FileParameter,
    ),
)
class TaskMeta(type):
    """Collects a task class's parameters and computes its family name."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> Any:
        cls = super().__new__(mcls, name, bases, ns, **kw)
        params: dict[str, Parameter[Any]] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Parameter):
                    params[key] = value
                elif key in params:
                    del params[key]  # a subclass replaced the parameter with something else
        cls._params = params  # type: ignore[attr-defined]
        namespace = getattr(cls, "namespace", None)
        if namespace is not None and not isinstance(namespace, str):
            namespace = None  # e.g. a parameter that happens to be called "namespace"
        prefix = f"{namespace}." if namespace else ""
        cls.family = f"{prefix}{cls.__module__}.{cls.__qualname__}"  # type: ignore[attr-defined]
        cls._path_prefix = (  # type: ignore[attr-defined]
            (f"{namespace}/" if namespace else "") + cls.__module__.replace(".", "/")
        )
        return cls


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
        if args:
            raise ParameterError(
                f"{cls.__name__} takes parameters by name only, "
                f"like {cls.__name__}({', '.join(f'{n}=...' for n in cls._params)})"
            )
        params = cls._params
        values: dict[str, Any] = {}
        for name, value in kwargs.items():
            param = params.get(name)
            if param is None:
                valid = ", ".join(params) or "none"
                raise ParameterError(
                    f"{cls.__name__} has no parameter {name!r}.{suggest(name, params)} "
                    f"Its parameters are: {valid}."
                )
            values[name] = param.normalize(value)
        # Parameter values of the active configuration, for parameters not given here.
        source = active_values()
        configured = source.for_class(cls) if source is not None else None
        inherited = _group_values(cls) if cls._groups else None
        missing = []
        for name, param in params.items():
            if name not in values:
                if configured and name in configured:
                    values[name] = configured[name]
                elif inherited and name in inherited:
                    values[name] = param.normalize(inherited[name])
                elif param.has_default:
                    values[name] = param.default
                else:
                    missing.append(name)
        if missing:
            raise ParameterError(
                f"{cls.__name__} needs a value for {', '.join(repr(m) for m in missing)} "
                f"(no default): pass it as {cls.__name__}({missing[0]}=...)"
            )
        self._values: dict[str, Any] = {name: values[name] for name in params}
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
            if _is_task(value):
                yield f"{name}=V{value._vkey}"
            elif isinstance(value, tuple) and value and all(_is_task(v) for v in value):
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

    def _children(self) -> list[Task[Any]]:
        """Tasks whose ids this task's id needs: requirements and task-valued parameters."""
        children = list(self._dependencies())
        for value in self._values.values():
            children.extend(iter_tasks(value))
        return children

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not _is_task(other) or type(other) is not type(self):
            return NotImplemented if not _is_task(other) else False
        return self._vkey == other._vkey and self.task_id == other.task_id

    def __hash__(self) -> int:
        return hash(self.task_id)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self._values.items())
        return f"{type(self).__name__}({args})"

    def label(self) -> str:
        """A short one-line name: upstream tasks shown as ``Name#id8`` instead of in full."""

        def show(value: Any) -> str:
            if _is_task(value):
                return f"{type(value).__name__}#{value.task_id[:8]}"
            if isinstance(value, tuple) and value and all(_is_task(v) for v in value):
                return "[" + ", ".join(show(v) for v in value) + "]"
            return repr(value)

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
        return _Restorer(store).restore(task_id, cls if cls is not Task else None)

    # --- requirements ---------------------------------------------------------------------
    def requires(self) -> Any:
        """The tasks this task needs: a task, or a list/tuple/dict of them (nested).

        By default, the tasks held by task parameters, keyed by parameter name.
        """
        out: dict[str, Any] = {}
        for name, value in self._values.items():
            if _is_task(value) or (isinstance(value, tuple) and any(iter_tasks(value))):
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
        return self.make_target(f"{cls._path_prefix}/{cls.__name__}.pkl")

    def make_target(
        self, path: str, use_unique_id: bool = True, format: Format | None = None
    ) -> Target:
        """A target at ``path`` in the workspace; ``use_unique_id`` adds ``_{task_id}``.

        ``make_target("data/clean.csv")`` is ``data/clean_{task_id}.csv``. The format is
        chosen by the extension unless ``format`` is given (e.g.
        ``cairn.formats.Parquet(compression="snappy")``).
        """
        if use_unique_id:
            ext = extension_of(path) if format is None else _extension(path)
            path = f"{path[: len(path) - len(ext)]}_{self.task_id}{path[len(path) - len(ext) :]}"
        return Target(path, format)

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
        if not path.lower().endswith(".zip"):
            raise TargetError(
                f"a model target is stored as a zip archive, so its path must end with .zip; "
                f"got {path!r}"
            )
        from cairn.formats._model import ModelFormat

        stem = path.rsplit("/", 1)[-1][: -len(".zip")] or "model"
        return self.make_target(
            path, use_unique_id, format=ModelFormat(save_function, load_function, stem)
        )

    def _outputs(self) -> dict[str | None, Target]:
        """``output()`` as a dict (``None`` key for a single target), computed once."""
        cached: dict[str | None, Target] | None = self.__dict__.get("_out_cache")
        if cached is None:
            out = self.output()
            if isinstance(out, Target):
                cached = {None: out}
            elif (
                isinstance(out, Mapping)
                and out
                and all(isinstance(t, Target) for t in out.values())
            ):
                cached = {str(k): t for k, t in out.items()}
            else:
                raise CairnError(
                    f"{self!r}.output() returned {out!r}; it must return a target from "
                    "self.make_target(...) or a non-empty dict of them"
                )
            self.__dict__["_out_cache"] = cached
        return cached

    def record_path(self) -> str:
        """Workspace-relative path of this task's run record."""
        cls = type(self)
        return f"{cls._path_prefix}/{cls.__name__}_{self.task_id}.run.json"

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
        ctx = self._running("random")
        rng = ctx.generators.get("random")
        if rng is None:
            rng = ctx.generators["random"] = _random.Random(ctx.seed)
        return rng  # type: ignore[no-any-return]

    @property
    def numpy_random(self) -> Any:
        """A ``numpy.random.Generator`` of this run (``default_rng`` of the run's seed)."""
        ctx = self._running("numpy_random")
        rng = ctx.generators.get("numpy")
        if rng is None:
            import numpy

            rng = ctx.generators["numpy"] = numpy.random.default_rng(ctx.seed)
        return rng

    def _running(self, what: str) -> Any:
        ctx = current_context()
        if ctx is None:
            raise CairnError(f"{self!r}.{what} exists only while the task runs (inside run())")
        return ctx

    @property
    def logger(self) -> logging.Logger:
        """A logger whose records go into this task's run record."""
        return logging.getLogger(f"cairn.task.{type(self).family}")

    def _store(self) -> Store:
        ctx = current_context()
        return ctx.store if ctx is not None else LocalStore(default_workspace())

    def dump(self, obj: Any, key: str | None = None) -> None:
        """Write ``obj`` to this task's output (``key`` selects one of a dict output)."""
        ctx = current_context()
        if ctx is None:
            raise CairnError(
                f"{self!r}.dump() was called outside a build; dump() belongs in run(), "
                "which cairn.build(...) calls"
            )
        target = self._target(key)
        self._check_dump(obj, key)
        labels = self.labels() if getattr(ctx.store, "keeps_labels", False) else None
        ctx.written[target.path] = target.dump(ctx.store, obj, labels)
        ctx.types[target.path] = type_name(obj)

    def labels(self) -> dict[str, str]:
        """What is written as metadata on each output where the store supports it (S3, GCS):
        the family, the id and the significant parameters (as JSON).
        """
        cls = type(self)
        params = {n: p.serialize(self._values[n]) for n, p in cls._params.items() if p.significant}
        return {
            "cairn-family": cls.family,
            "cairn-task-id": self.task_id,
            "cairn-params": json.dumps(params, sort_keys=True, default=str),
        }

    def _check_dump(self, obj: Any, key: str | None) -> None:
        """Check an object before it is dumped: data frames against ``schema`` and
        ``fail_on_empty_dump``. Subclasses may extend it (call ``super()``).
        """
        check_dump(self, obj, key)

    def _target(self, key: str | None) -> Target:
        outputs = self._outputs()
        if key in outputs:
            return outputs[key]
        keys = [k for k in outputs if k is not None]
        if key is None:
            raise KeyNotFoundError(
                f"{self!r} has several outputs; name one: dump(obj, key) with key one of "
                f"{', '.join(map(repr, keys))}"
            )
        if not keys:
            raise KeyNotFoundError(
                f"{self!r} has a single output; call dump(obj) without a key (got {key!r})"
            )
        raise KeyNotFoundError(
            f"{self!r} has no output {key!r}.{suggest(key, keys)} "
            f"Its outputs are: {', '.join(map(repr, keys))}"
        )

    def load(self, key: str | None = None, *, as_type: Any = None) -> Any:
        """Load the outputs of ``requires()``, in its shape; ``key`` selects one entry.

        Data frames come back as the type their task wrote (or declared with
        ``Task[...]``); ``as_type`` (``pd.DataFrame``, ``pl.DataFrame``, ``pl.LazyFrame``,
        ``pa.Table``) asks for another.
        """
        store = self._store()
        kind = kind_of_request(as_type)
        return map_structure(self._select_requirement(key), lambda t: load_output(t, store, kind))

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
        ctx = current_context()
        if ctx is None or ctx.complete is None:
            raise CairnError(
                f"{self!r}.require() was called outside run(); it is for requirements found "
                "while running. Return static ones from requires()."
            )
        wanted = flatten(tasks, self)
        for task in wanted:
            compute_ids(task)
        ctx.dynamic.extend(t for t in wanted if t not in ctx.dynamic)
        missing = [t for t in wanted if not ctx.complete(t)]
        if missing:
            raise RequirementsPending(missing)
        return map_structure(tasks, lambda t: load_output(t, ctx.store))

    def load_generator(self, key: str | None = None) -> Iterator[Any]:
        """Yield the outputs of ``requires()`` (or its entry ``key``) one at a time.

        Only one input is in memory at once. Inputs come in the order of ``requires()``
        (dict values in insertion order, nested structures depth first); each item is the
        loaded output itself, not a key.
        """
        store = self._store()
        for task in flatten(self._select_requirement(key), self):
            yield load_output(task, store)

    def _select_requirement(self, key: str | None) -> Any:
        req = self._requirements()
        if key is None:
            return req
        if isinstance(req, Mapping):
            if key in req:
                return req[key]
            keys = [str(k) for k in req]
            raise KeyNotFoundError(
                f"{self!r} has no requirement {key!r}.{suggest(key, keys)} requires() has: "
                f"{', '.join(map(repr, keys)) or 'nothing'}"
            )
        raise KeyNotFoundError(
            f"{self!r}.requires() returns {type(req).__qualname__}, not a dict, so it has no "
            f"key {key!r}; call load() without a key"
        )

    def load_data_frame(
        self,
        key: str | None = None,
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
        data = self.load(key, as_type=as_type)
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
                f"{self!r}.load_data_frame({key!r}) loaded {type(data).__qualname__}, not a "
                f"data frame{hint}"
            )
        return require_columns(self, data, where, required_columns, drop_columns)


def _extension(path: str) -> str:
    """The registered extension of ``path``, else whatever follows its last dot."""
    try:
        return extension_of(path)
    except CairnError:
        name = path.rsplit("/", 1)[-1]
        return name[name.rindex(".") :] if "." in name.lstrip(".") else ""


_UNSET: Any = object()


class RequirementsPending(BaseException):
    """Raised by ``require()`` inside ``run()`` while some dynamic requirements are not built.

    A ``BaseException``, so a user's ``except Exception`` around the call does not swallow it.
    """

    def __init__(self, tasks: list[Task[Any]]) -> None:
        super().__init__(f"{len(tasks)} dynamic requirement(s) to build first")
        self.tasks = tasks


def load_output(task: Task[Any], store: Store, kind: str | None = None) -> Any:
    """Load ``task``'s output from ``store``: one object, or a dict for a dict output.

    Data frames are read as ``kind`` if given, else as the task declares (``Task[...]``),
    else as the library that wrote them: formats with metadata keep that in the file, for
    the others (csv, tsv) the run record's ``type`` says.
    """
    outputs = task._outputs()
    if list(outputs) == [None]:
        return load_one(task, None, store, kind)
    record: dict[str, Any] = {}
    return {key: load_one(task, key, store, kind, record) for key in outputs}


def load_one(
    task: Task[Any],
    key: str | None,
    store: Store,
    kind: str | None = None,
    record: dict[str, Any] | None = None,
) -> Any:
    """Load ``task``'s output ``key`` (None: its single output), as :func:`load_output` does.

    ``record``, when given, caches the task's run record across calls.
    """
    target = task._outputs()[key]
    kind = kind or declared_kind(type(task))
    written = None
    if kind is None and getattr(target.format, "records_kind", False):
        if record is None:
            record = {}
        if not record:
            record.update(_read_record(task, store))
        entry = record.get("outputs", {}).get("" if key is None else key, {})
        written = entry.get("type") if isinstance(entry, dict) else None
    return target.load(store, kind, written if isinstance(written, str) else None)


def _read_record(task: Task[Any], store: Store) -> dict[str, Any]:
    try:
        with store.open_read(task.record_path()) as file:
            data: dict[str, Any] = json.loads(file.read())
    except (OutputNotFoundError, ValueError):
        return {}
    return data


def compute_ids(root: Task[Any]) -> None:
    """Compute the ids of ``root`` and everything it needs, children first, iteratively.

    Raises:
        DependencyCycleError: when requirements form a cycle, naming the tasks in it.
    """
    if root._id is not None:
        return
    on_path: dict[str, Task[Any]] = {}
    parent: dict[str, Task[Any] | None] = {root._vkey: None}
    stack: list[tuple[Task[Any], bool]] = [(root, False)]
    while stack:
        task, expanded = stack.pop()
        if task._id is not None:
            continue
        key = task._vkey
        if expanded:
            task._id = task._make_id()
            del on_path[key]
            continue
        if key in on_path:  # reached again below itself: a cycle
            continue
        on_path[key] = task
        stack.append((task, True))
        for child in task._children():
            if child._id is not None:
                continue
            ckey = child._vkey
            if ckey in on_path:
                _raise_cycle(task, child, parent)
            parent[ckey] = task
            stack.append((child, False))


def _raise_cycle(task: Task[Any], child: Task[Any], parent: dict[str, Task[Any] | None]) -> None:
    cycle = [task]
    node = parent.get(task._vkey)
    while node is not None and node._vkey != child._vkey:
        cycle.append(node)
        node = parent.get(node._vkey)
    cycle.append(child)
    cycle.reverse()
    names = " -> ".join(repr(t) for t in [*cycle, cycle[0]])
    raise DependencyCycleError(
        f"requirements form a cycle: {names}. Break it by changing one of these requires().",
        cycle,
    )


class _Restorer:
    """Rebuilds tasks from run records (``Task.from_id``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index: dict[str, str] | None = None
        self._done: dict[str, Task[Any]] = {}

    def _find(self, task_id: str, cls: type[Task[Any]] | None) -> str:
        if cls is not None:
            path = f"{cls._path_prefix}/{cls.__name__}_{task_id}.run.json"
            if self.store.exists(path):
                return path
        if self._index is None:
            suffix = ".run.json"
            self._index = {
                p[-len(suffix) - 32 : -len(suffix)]: p
                for p in self.store.list()
                if p.endswith(suffix)
            }
        found = self._index.get(task_id)
        if found is None:
            where = f" of {cls.__name__}" if cls is not None else ""
            raise OutputNotFoundError(
                f"no run record{where} with id {task_id!r} in the workspace "
                f"{self.store.url}; check the id and the workspace"
            )
        return found

    def restore(self, task_id: str, cls: type[Task[Any]] | None = None) -> Task[Any]:
        if task_id in self._done:
            return self._done[task_id]
        with self.store.open_read(self._find(task_id, cls)) as file:
            record = json.loads(file.read())
        klass = _import_class(record)
        values: dict[str, Any] = {}
        for name, raw in record["params"].items():
            param = klass._params.get(name)
            if param is None:
                continue  # a parameter removed since: the class's current default applies
            if isinstance(param, TaskParameter):
                values[name] = self.restore(raw["task_id"])
            elif isinstance(param, TaskListParameter):
                values[name] = [self.restore(ref["task_id"]) for ref in raw]
            else:
                values[name] = raw
        task: Task[Any] = klass(**values)
        if task.task_id != task_id:
            warnings.warn(
                f"{task!r} was restored from record {task_id} but now has id {task.task_id}: "
                "its code or parameter definitions changed since that run",
                stacklevel=3,
            )
        self._done[task_id] = task
        return task


def _import_class(record: Mapping[str, Any]) -> type[Task[Any]]:
    module_name, qualname = record.get("module"), record.get("qualname")
    if not module_name or not qualname or "<locals>" in qualname:
        raise CairnError(
            f"cannot rebuild {record.get('family')!r} from its record: the class must be "
            "defined at module level of an importable module"
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise CairnError(
            f"cannot rebuild {record['family']!r}: {exc}. Is its module importable "
            "(on sys.path) and the class still there?"
        ) from None
    if not (isinstance(obj, type) and issubclass(obj, Task)):
        raise CairnError(f"{module_name}.{qualname} is not a task class")
    return obj


class ParameterGroup(Task[None]):
    """Values shared by many tasks: its parameters' defaults, or its config file section.

    A task class decorated with :func:`inherits` takes, for every parameter it shares with
    the group (by name, or by an alias), the group's value when it is not given explicitly or
    set for the task's own family in the configuration. A group never runs.
    """

    def run(self) -> None:
        raise CairnError(f"{type(self).__name__} is a parameter group; it holds values, not work")


def _group_values(cls: type[Task[Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for group, aliases in cls._groups:
        instance = group()
        for task_name, group_name in aliases.items():
            values.setdefault(task_name, instance._values[group_name])
    return values


def inherits(*groups: type[ParameterGroup], aliases: Mapping[str, str] | None = None) -> Any:
    """Class decorator: take parameter values from ``groups`` (gokart's inherits_config_params).

    Parameters with the same name in the task and a group are shared; ``aliases`` maps a task
    parameter to a group parameter of another name: ``aliases={"day": "date"}``.

    Raises:
        ParameterError: when an alias names a parameter the task or the groups lack.
    """
    extra = dict(aliases or {})

    def decorate(cls: type[TaskT]) -> type[TaskT]:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise CairnError(f"@cairn.inherits decorates task classes, not {cls!r}")
        links: list[tuple[type[ParameterGroup], dict[str, str]]] = []
        for group in groups:
            if not (isinstance(group, type) and issubclass(group, ParameterGroup)):
                raise CairnError(f"@cairn.inherits takes ParameterGroup classes, not {group!r}")
            shared = {n: n for n in group._params if n in cls._params}
            shared.update({t: g for t, g in extra.items() if g in group._params})
            links.append((group, shared))
        known = {t for _, shared in links for t in shared}
        for task_name, group_name in extra.items():
            if task_name not in cls._params or task_name not in known:
                raise ParameterError(
                    f"@cairn.inherits alias {task_name!r} -> {group_name!r}: "
                    f"{cls.__name__} needs a parameter {task_name!r} and a group a parameter "
                    f"{group_name!r}"
                )
        cls._groups = (*cls._groups, *links)
        return cls

    return decorate
