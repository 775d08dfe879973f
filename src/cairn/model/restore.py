"""Rebuilding a task from its run record (``Task.from_id``): its class, parameters and
upstream tasks.

A record names the task's module and qualified class name, and holds its parameter values
as the parameters serialised them; task-valued parameters hold the ids of upstream tasks,
rebuilt from their own records in turn.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cairn._errors import CairnError, OutputNotFoundError
from cairn.identity.canonical import TASK_MARKER
from cairn.model.params import TaskListParameter, TaskParameter
from cairn.storage import layout
from cairn.storage.records import read_record
from cairn.storage.store import Store

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["Restorer"]


class Restorer:
    """Rebuilds tasks from the run records in ``store``, each id once (``Task.from_id``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index: dict[str, str] | None = None
        self._done: dict[str, Task[Any]] = {}

    def _find(self, task_id: str, cls: type[Task[Any]] | None) -> str:
        if cls is not None:
            path = layout.record_path(cls._path_prefix, cls.__name__, task_id)
            if self.store.exists(path):
                return path
        if self._index is None:
            self._index = {
                tid: p for p in layout.records_in(self.store) if (tid := layout.record_id(p))
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
        """The task of the record with id ``task_id`` (of class ``cls``, when given).

        Raises:
            OutputNotFoundError: when the workspace has no such record.
        """
        if task_id in self._done:
            return self._done[task_id]
        record = read_record(self.store, self._find(task_id, cls))
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
    if not (isinstance(obj, type) and getattr(obj, TASK_MARKER, False)):
        raise CairnError(f"{module_name}.{qualname} is not a task class")
    return obj
