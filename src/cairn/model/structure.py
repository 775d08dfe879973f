"""Nestings of tasks: what ``requires()`` returns and ``load()`` gives back in the same shape.

A structure is a task, or a list, tuple or dict of structures; ``None`` leaves are allowed.
Walks are iterative, so a structure of any depth works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cairn._errors import RequirementError
from cairn.identity.canonical import is_task

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["flatten", "map_structure"]


def flatten(structure: Any, owner: Any = None) -> list[Task[Any]]:
    """Return the tasks in a nesting of tasks, lists, tuples and dicts, in order.

    Raises:
        RequirementError: for a leaf that is not a task (``None`` leaves are skipped).
    """
    if is_task(structure):
        return [structure]
    out: list[Task[Any]] = []
    stack: list[Any] = [structure]
    while stack:
        item = stack.pop()
        if is_task(item):
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
    if is_task(structure):
        return func(structure)
    if isinstance(structure, Mapping):
        return {k: map_structure(v, func) for k, v in structure.items()}
    if isinstance(structure, list | tuple):
        return type(structure)(map_structure(v, func) for v in structure)
    return structure
