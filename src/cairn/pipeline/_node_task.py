"""The task every pipeline node compiles into: :class:`NodeTask`.

One task class for every node: the node travels as a parameter, so a compiled task pickles
by reference to this class (its function by cloudpickle, by value when it lives in
``__main__``), and its id is computed once, in the process that plans, never again in a
worker. A node task's id is made from its function's code fingerprint, the node's names, the
values of the config paths it reads (only those) and the ids of the nodes whose outputs it
reads. Runtime objects are not part of it: they ride along in the task (``runtime=``),
outside its parameters, so no id or record sees them. :class:`NodeKind` makes the node's
code, ``code_version`` and history the ones the planner and the run record use.

An output whose node names no extension is stored in a format chosen by the returned value
(:func:`extension_for`); the run record keeps the path written, which loading follows.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

from cairn._errors import CorruptRecordError, FormatError, ParameterError, PipelineError
from cairn.formats import extension_of
from cairn.formats._frames import frame_kind
from cairn.identity import fingerprint as _fingerprint
from cairn.model.kinds import TaskKind
from cairn.model.params import Parameter, TaskListParameter
from cairn.model.targets import Target
from cairn.model.task import Task
from cairn.pipeline._node import Node, encode_config, jsonable
from cairn.running.context import current_store
from cairn.running.outputs import load_one
from cairn.storage import layout
from cairn.storage.records import read_run_record
from cairn.storage.store import Store

__all__ = [
    "ByTypeTarget",
    "NodeKind",
    "NodeTask",
    "extension_for",
    "is_data_frame",
    "recorded_node",
]


class _NodeParameter(Parameter[Node]):
    type_name = "node"

    def _convert(self, value: Any) -> Node:
        if isinstance(value, Mapping) and "function" in value:  # from a run record
            raise ParameterError(
                f"node {value.get('name')!r} cannot be rebuilt from its run record alone: its "
                "function, config and runtime objects live in its pipeline. Use "
                "pipeline.tasks(...) or pipeline.run(...) instead."
            )
        if not isinstance(value, Node):
            self._fail(value, "a node made by cairn.node()")
        return value

    def encode(self, value: Node) -> str:
        return value.identity()

    def serialize(self, value: Node) -> Any:
        return value.describe()


class _ConfigParameter(Parameter[Mapping[str, Any]]):
    """Config values a node reads, ``{path: value}``, kept as given (not frozen)."""

    type_name = "config values"

    def _convert(self, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self._fail(value, "a dict of config paths to values")
        return value

    def encode(self, value: Mapping[str, Any]) -> str:
        return encode_config(value)

    def serialize(self, value: Mapping[str, Any]) -> Any:
        return jsonable(value)


def is_data_frame(value: Any) -> bool:
    """True for a pandas or polars DataFrame or LazyFrame, or an Arrow Table (imports
    nothing)."""
    return frame_kind(value) is not None


def extension_for(value: Any) -> str:
    """The extension a node output is stored with when the node names none: ``.parquet``
    for a data frame when a parquet format is registered, else ``.pkl``."""
    if is_data_frame(value):
        try:
            return extension_of("x.parquet")
        except FormatError:
            pass
    return ".pkl"


class ByTypeTarget(Target):
    """A node output whose format is chosen by the type of the value written.

    Until written, it stands at ``{stem}.pkl``; the run record keeps the path actually
    written, which :meth:`load` and :meth:`exists` follow.
    """

    __slots__ = ("key", "record", "stem")

    def __init__(self, stem: str, record: str, key: str) -> None:
        super().__init__(stem + ".pkl")
        self.stem, self.record, self.key = stem, record, key

    def __reduce__(self) -> tuple[Any, ...]:
        return (ByTypeTarget, (self.stem, self.record, self.key))

    def for_value(self, value: Any) -> Target:
        """The target ``value`` is written to."""
        return Target(self.stem + extension_for(value))

    def written(self, store: Store) -> Target:
        """The target the run record says was written."""
        path = read_run_record(store, self.record).output_path(self.key)
        if path is None:
            raise CorruptRecordError(
                f"the run record {self.record} lists no output {self.key!r}; delete it and "
                "build again to rerun its node"
            )
        return Target(path)

    def exists(self, store: Store) -> bool:
        return store.exists(self.record) and self.written(store).exists(store)

    def load(self, store: Store, as_type: Any = None, written: str | None = None) -> Any:
        return self.written(store).load(store, as_type, written)


class NodeKind(TaskKind):
    """The kind of pipeline node tasks: one class for every node, so the code fingerprint,
    the ``code_version`` and the history are the node's, not the class's."""

    def code(self, task: Task[Any]) -> _fingerprint.Fingerprint:
        return cast(NodeTask, task).node.fingerprint()

    def code_version(self, task: Task[Any]) -> Any:
        return cast(NodeTask, task).node.code_version

    def history_family(self, task: Task[Any]) -> str:
        return f"{type(task).family}:{cast(NodeTask, task).node.name}"  # one per node

    def label(self, task: Task[Any]) -> str:
        return cast(NodeTask, task).node.name


class NodeTask(Task[Any]):
    """The task a pipeline node compiles into (see the module docstring).

    ``runtime`` gives the runtime objects the node reads (by name), outside its parameters.
    """

    node = cast(Node, _NodeParameter())
    upstream = cast(tuple[Task[Any], ...], TaskListParameter())
    config = cast(Mapping[str, Any], _ConfigParameter())

    _kind = NodeKind()
    _instance_attributes = (*Task._instance_attributes, "_objects")

    def __init__(self, /, *, runtime: Mapping[str, Any] | None = None, **params: Any) -> None:
        super().__init__(**params)
        self._objects: dict[str, Any] = dict(runtime or {})

    def requires(self) -> dict[str, Task[Any]]:
        """The node tasks whose outputs this node reads, by output name."""
        wanted = set(self.node.inputs)
        return {
            out: task
            for task in self.upstream
            for out in cast(NodeTask, task).node.outputs
            if out in wanted
        }

    def _base(self) -> str:
        return layout.task_dir(self.node.module)

    def output(self) -> Target | Mapping[str, Target]:
        node = self.node
        base, tid = self._base(), self.task_id
        if not node.outputs:
            return Target(layout.tagged(f"{base}/{node.name}", tid, ".done.json"))
        extensions = dict(node.extensions)
        return {
            out: Target(layout.tagged(f"{base}/{out}", tid, extensions[out]))
            if out in extensions
            else ByTypeTarget(layout.tagged(f"{base}/{out}", tid), self.record_path(), out)
            for out in node.outputs
        }

    def record_path(self) -> str:
        return layout.record_path(self._base(), self.node.name, self.task_id)

    def label(self) -> str:
        return self.node.label()

    def __repr__(self) -> str:
        return f"node {self.node.label()}"

    def output_value(self, key: str, store: Store) -> Any:
        """Load output ``key`` of this node from ``store``."""
        return load_one(self, key, store)

    def run(self) -> None:
        node = self.node
        store = current_store()
        producers = self._requirements()
        runtime = self._objects
        values = []
        for source in node.inputs:
            if source in self.config:
                values.append(copy.deepcopy(self.config[source]))
            elif source in producers:
                values.append(producers[source].output_value(source, store))
            elif source in runtime:
                values.append(runtime[source])
            else:
                raise PipelineError(
                    f"{self!r} needs the runtime object {source!r}, which this run lacks; "
                    "give it in Pipeline(..., runtime={...})"
                )
        if node.params is None:
            result = node.func(*values)
        else:
            result = node.func(**dict(zip(node.params, values, strict=True)))
        if not node.outputs:
            self.dump(None)
            return
        if node.single:
            results = {node.outputs[0]: result}
        elif isinstance(result, tuple | list) and len(result) == len(node.outputs):
            results = dict(zip(node.outputs, result, strict=True))
        else:
            raise PipelineError(
                f"{self!r} returned {type(result).__qualname__}, but it has "
                f"{len(node.outputs)} outputs {list(node.outputs)}: return a tuple of "
                f"{len(node.outputs)} values in that order"
            )
        for key, value in results.items():
            self._dump_output(key, value)

    def _dump_output(self, key: str, value: Any) -> None:
        outputs = self._outputs()
        target = outputs[key]
        if not isinstance(target, ByTypeTarget):
            self.dump(value, key)
            return
        chosen = target.for_value(value)
        outputs[key] = chosen
        try:
            self.dump(value, key)
        except Exception as exc:
            if chosen.path.endswith(".pkl"):
                raise
            self.logger.warning(
                "%s: could not store %r as %s (%s: %s); stored it as a pickle instead",
                self.node.name,
                key,
                chosen.path.rsplit(".", 1)[-1],
                type(exc).__name__,
                exc,
            )
            outputs[key] = Target(target.stem + ".pkl")
            self.dump(value, key)


# The family enters every node id: keep it independent of where the class lives.
NodeTask.family = "cairn.node"


def recorded_node(family: str, params: Any) -> tuple[str, str] | None:
    """``(node name, function)`` of a pipeline node from its run record's family and
    parameters, or None for a record of any other task."""
    if family != NodeTask.family or not isinstance(params, Mapping):
        return None
    node = params.get("node")
    if not isinstance(node, Mapping):
        return None
    return str(node.get("name", "")), str(node.get("function", ""))
