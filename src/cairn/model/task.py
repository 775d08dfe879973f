"""The task model: ``Task``, its declaration (parameters, requirements, outputs) and its id.

A task is an immutable value: its class and parameter values. Its id (``_make_id``) is a
digest of its family, its significant parameters (type-tagged canonical encoding), the ids
of the tasks its ``requires()`` returns, and its code fingerprint; :mod:`cairn.model.graph`
computes the ids of a graph without recursion. Each value is encoded once per task (when
the task is made; task values once ids exist), and each input file named by a
``FileParameter`` is fingerprinted once per task; the id, the run record, the history entry
and the labels reuse them. What a task does while it runs (``load``, ``dump``, ``require``,
``random``, ``logger``...) acts on the run in progress, which the running layer owns: those
methods delegate to :mod:`cairn.model.runtime`. What differs per kind of task (external
inputs, pipeline nodes) is the class's :class:`~cairn.model.kinds.TaskKind`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, cast

if TYPE_CHECKING:
    from typing_extensions import TypeVar
else:  # typing_extensions costs import time; defaults of type variables only matter to checkers
    from typing import TypeVar as _TypeVar

    def TypeVar(name, *constraints, default=None, **kwargs):  # noqa: N802
        return _TypeVar(name, *constraints, **kwargs)


from cairn._config import active_values, using_values
from cairn._errors import CairnError, RequirementError
from cairn._settings import ConfigArg, resolve
from cairn.formats import Format
from cairn.identity import fingerprint as _fingerprint
from cairn.identity.canonical import canonical, digest, is_task
from cairn.model import runtime as _runtime
from cairn.model.checks import check_dump
from cairn.model.graph import compute_ids, flatten, materialize
from cairn.model.kinds import TaskKind
from cairn.model.meta import TaskMeta, parameter_values, shown
from cairn.model.options import option
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


def _holds_tasks(value: Any) -> bool:
    """True for a task, or a non-empty tuple of tasks: values that enter ids by id."""
    if is_task(value):
        return True
    return isinstance(value, tuple) and bool(value) and all(is_task(v) for v in value)


#: What every task that needs nothing shares (never changed): ``requires()``'s empty dict,
#: and the empty list of its dependencies.
_NO_REQUIREMENTS: dict[str, Any] = {}
_NO_TASKS: list[Task[Any]] = []


class Task(_runtime.RunMethods, Generic[T], metaclass=TaskMeta):
    """Base class of every task.

    Subclasses declare parameters as class attributes and override ``run()``; they may
    override ``requires()`` (default: the tasks held by their task parameters) and
    ``output()`` (default: ``{module path}/{ClassName}_{task_id}.pkl``).

    Class options (``namespace``, ``code_version``, ``random_seed``, ``retries``,
    ``retry_delay``, ``schema``, ``fail_on_empty_dump``) are class attributes, listed and
    checked in :mod:`cairn.model.options`. A parameter may not take a name this class uses
    (``label``, ``logger``, ``load``...): see :mod:`cairn.model.meta`.

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
    #: What the planner, the runner and the explanations do with tasks of this class.
    _kind: ClassVar[TaskKind] = TaskKind()

    #: What every task keeps in its ``__dict__`` (so no parameter may take these names).
    _instance_attributes: ClassVar[tuple[str, ...]] = (
        *("_values", "_param_source", "_texts", "_vkey", "_id"),
        *("_req_cache", "_deps_cache", "_out_cache", "_contents", "_serial"),
    )

    def __init__(self, /, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        source = active_values()  # the configuration's values, for parameters not given
        self._values: dict[str, Any] = parameter_values(cls, args, kwargs, source)
        values = self._values
        self._param_source = source
        # Each significant value's canonical text, made once (task values: by id, later).
        self._texts: dict[str, str] = {
            name: param.encode(values[name])
            for name, param in cls._params.items()
            if param.significant and not _holds_tasks(values[name])
        }
        self._vkey: str = digest(cls.family, *self._vkey_parts())
        self._id: str | None = None
        # Every attribute a task keeps is set here, always in this order, and never through
        # __dict__: Python then keeps them inline in the object (about 170 bytes a task)
        # rather than in a dict of its own (about 530), which counts at a million tasks.
        self._req_cache: Any = None  # requires(), materialized; valid once _deps_cache is set
        self._deps_cache: list[Task[Any]] | None = None
        self._out_cache: Target | dict[str | None, Target] | None = None  # one: not in a dict
        self._contents: dict[str, str] | None = None
        self._serial: dict[str, Any] | None = None

    # --- identity -------------------------------------------------------------------------
    def _vkey_parts(self) -> Iterator[str]:
        """Parameter text that identifies this value before ids exist (tasks by value key)."""
        texts = self._texts
        for name, param in type(self)._params.items():
            if not param.significant:
                continue
            text = texts.get(name)
            if text is not None:
                yield f"{name}={text}"
                continue
            value = self._values[name]
            if is_task(value):
                yield f"{name}=V{value._vkey}"
            else:
                yield f"{name}=V[" + ",".join(v._vkey for v in value) + "]"

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
        version = option(cls, "code_version")
        if version is not None:
            return _fingerprint.Fingerprint(digest("code_version", str(version)), {})
        return _fingerprint.class_fingerprint(cls, Task)

    def _make_id(self) -> str:
        cls = type(self)
        parts = [cls.family, "code:" + cls._kind.code(self).digest]
        texts, values = self._texts, self._values
        for name, param in cls._params.items():
            if param.significant:
                value = values[name]
                text = texts.get(name)
                if text is None:  # tasks, encoded by id now that their ids exist
                    text = param.encode(value)
                parts.append(f"{name}={param.identify(value, text, partial(self._content, name))}")
        parts.append("requires:" + canonical(self._requirements()))
        return digest(*parts)

    def _content(self, name: str) -> str | None:
        """The content fingerprint of the file parameter ``name`` names: looked up once per
        task (a missing file, None, is looked up again), shared by the id, the plan's check,
        the run record and the history entry."""
        cache = self._contents
        if cache is None:
            cache = self._contents = {}
        found: str | None = cache.get(name)
        if found is None:
            found = type(self)._params[name].content(self._values[name])
            if found is not None:
                cache[name] = found
        return found

    def _serialized(self) -> dict[str, Any]:
        """Every parameter's JSON-compatible form (run record, history, labels), made once.

        Shared: copy it before changing it.
        """
        found = self._serial
        if found is None:
            values = self._values
            found = {n: p.serialize(values[n]) for n, p in type(self)._params.items()}
            self._serial = found
        return found

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

    def clone(self, cls: type[TaskT] | None = None, /, **overrides: Any) -> TaskT:
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
        config: ConfigArg = None,
    ) -> Task[Any]:
        """Rebuild a task from its run record: its class, parameters and upstream tasks.

        ``SomeTask.from_id(id)`` reads that class's record directly; ``cairn.Task.from_id(id)``
        searches the workspace for the record. Upstream tasks are rebuilt from their own
        records. If the code changed since the record was written, the rebuilt task gets a
        new id, and a warning says so. The workspace resolves as for :func:`cairn.build`
        (``workspace``, else ``$CAIRN_WORKSPACE``, else the configuration's, else
        ``./workspace``).

        Raises:
            OutputNotFoundError: when no record with that id is in the workspace.
        """
        settings = resolve(config, workspace=workspace, storage_options=storage_options)
        store = open_store(settings.workspace, settings.storage_options)
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
        if self._deps_cache is None:
            source = self._param_source
            try:
                if source is active_values():
                    cached = self.requires()
                else:  # tasks created by requires() take the values this task was built with
                    with using_values(source):
                        cached = self.requires()
            except CairnError as exc:
                exc.add_note(f"raised by {self!r}.requires()")
                raise
            except Exception as exc:
                raise RequirementError(
                    f"{self!r}.requires() raised {type(exc).__name__}: {exc}; fix requires() "
                    "of this task (its traceback is in the cause above)"
                ) from exc
            cached = materialize(cached)
            deps = flatten(cached, self)
            if not deps:  # a task needing nothing (most leaves) shares one empty list and dict
                deps = _NO_TASKS
                cached = _NO_REQUIREMENTS if type(cached) is dict and not cached else cached
            self._deps_cache = deps
            self._req_cache = cached
        return self._req_cache

    def _dependencies(self) -> list[Task[Any]]:
        """The tasks ``requires()`` returns, flattened (computed once)."""
        deps = self._deps_cache
        if deps is None:
            self._requirements()
            deps = self._deps_cache
            assert deps is not None
        return deps

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
        cached = self._out_cache
        if cached is None:
            outputs = as_outputs(self.output(), self)
            # a single target is kept as it is: a dict of one costs 184 bytes a task
            cached = self._out_cache = outputs.get(None, outputs)
        if isinstance(cached, Target):
            return {None: cached}
        return cached

    def record_path(self) -> str:
        """Workspace-relative path of this task's run record."""
        cls = type(self)
        return layout.record_path(cls._path_prefix, cls.__name__, self.task_id)

    # --- running --------------------------------------------------------------------------
    def run(self) -> Any:
        """Compute the output and ``dump()`` it. A non-None return value is dumped for you."""
        raise NotImplementedError(f"{type(self).__name__} must define run()")

    def labels(self, custom: Mapping[str, Any] | None = None) -> dict[str, str]:
        """What is written as metadata on each output where the store supports it (S3, GCS):
        the family, the id, ``custom`` labels, the outputs of the tasks it requires and the
        significant parameters (JSON), in that order (the last are cut first to fit)."""
        cls = type(self)
        serial = self._serialized()
        params = {n: serial[n] for n, p in cls._params.items() if p.significant}
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
