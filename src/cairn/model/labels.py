"""Short labels that tell tasks apart: the family's class name plus only the parameters whose
values differ among the tasks of that family in one graph (or one listing).

Two ``TrainModel`` tasks that differ only in ``lr`` read ``TrainModel(lr=0.1)`` and
``TrainModel(lr=0.01)``, not two long lines cut before the part that matters. A task with no
sibling of its family shows its :meth:`~cairn.model.task.Task.label` when that is short, else
its class name alone. A task-valued parameter that differs is shown by the short label of
the task it holds (one level; deeper, as ``Name#id8``). The live display, the graph and
``ls`` use these labels; the run record keeps every parameter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cairn.identity.canonical import is_task
from cairn.model.meta import shown
from cairn.model.task import Task

__all__ = [
    "LONGEST_FULL_LABEL",
    "SiblingLabels",
    "record_labels",
    "short_labels",
    "varying_names",
]

#: A task with no sibling shows its full label up to this many characters, else its name.
LONGEST_FULL_LABEL = 40


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def varying_names(params: Iterable[Mapping[str, Any]]) -> list[str]:
    """The names whose values differ among ``params`` (JSON-compatible dicts), in the
    order they first appear."""
    rows = list(params)
    if len(rows) < 2:
        return []
    names = list(dict.fromkeys(name for row in rows for name in row))
    return [name for name in names if len({_key(row.get(name)) for row in rows}) > 1]


class SiblingLabels:
    """Short labels for the tasks of one graph, each family's varying parameters found the
    first time one of its tasks is labelled (a display labels only the tasks it shows)."""

    def __init__(self, tasks: Iterable[Task[Any]]) -> None:
        self._groups: dict[type, dict[str, Task[Any]]] = {}
        for task in tasks:
            self._groups.setdefault(type(task), {}).setdefault(task.task_id, task)
        self._varying: dict[type, list[str]] = {}

    def _names(self, task: Task[Any]) -> list[str]:
        cls = type(task)
        names = self._varying.get(cls)
        if names is None:
            members = self._groups.get(cls, {}).values()
            names = self._varying[cls] = varying_names(t._serialized() for t in members)
        return names

    def has_siblings(self, task: Task[Any]) -> bool:
        """Whether other tasks of ``task``'s class are in the graph."""
        return len(self._groups.get(type(task), ())) > 1

    def label(self, task: Task[Any]) -> str:
        """``task``'s short label; a differing task-valued parameter shows the short label
        of the task it holds (one level deep)."""
        flat: dict[str, str] = {}
        for value in task._values.values():
            if is_task(value):
                flat[value.task_id] = _label(value, self._names(value), {})
        return _label(task, self._names(task), flat)


def short_labels(tasks: Iterable[Task[Any]]) -> dict[str, str]:
    """``{task_id: short label}`` for ``tasks`` (each once), siblings told apart by the
    parameters that differ among the tasks of their class."""
    unique = {task.task_id: task for task in tasks}
    labels = SiblingLabels(unique.values())
    return {tid: labels.label(task) for tid, task in unique.items()}


def _label(task: Task[Any], names: list[str], nested: Mapping[str, str]) -> str:
    own = type(task)._kind.label(task)
    if own is not None:
        return own
    if not names:
        full = task.label()
        return full if len(full) <= LONGEST_FULL_LABEL else type(task).__name__
    values = task._values

    def show(value: Any) -> str:
        if is_task(value):
            return nested.get(value.task_id) or f"{type(value).__name__}#{value.task_id[:8]}"
        if isinstance(value, tuple) and value and all(is_task(v) for v in value):
            return f"[{len(value)} task(s)]"
        return shown(value)

    args = ", ".join(f"{name}={show(values[name])}" for name in names if name in values)
    return f"{type(task).__name__}({args})"


def record_labels(records: Iterable[tuple[str, str, Mapping[str, Any]]]) -> dict[str, str]:
    """``{task_id: short label}`` from stored runs given as ``(task_id, family, params)``
    (the run record's JSON parameters): the family's last part plus the parameters that
    differ among the runs of that family."""
    rows = list(records)
    by_family: dict[str, list[Mapping[str, Any]]] = {}
    for _, family, params in rows:
        by_family.setdefault(family, []).append(params)
    varying = {family: varying_names(params) for family, params in by_family.items()}
    out = {}
    for task_id, family, params in rows:
        name = family.rsplit(".", 1)[-1]
        names = varying[family]
        if not names:
            out[task_id] = name
            continue
        out[task_id] = f"{name}({', '.join(f'{n}={_record_value(params.get(n))}' for n in names)})"
    return out


def _record_value(value: Any) -> str:
    if isinstance(value, Mapping) and "task_id" in value:  # a task, as a record stores it
        return f"{str(value.get('task', '')).rsplit('.', 1)[-1]}#{str(value['task_id'])[:8]}"
    return repr(value)
