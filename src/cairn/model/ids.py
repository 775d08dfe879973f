"""Computing task ids: every task of a graph, children first, without recursion.

A task's id needs the ids of the tasks its ``requires()`` returns and of the tasks its
parameters hold (``Task._make_id``), so they are computed bottom up with an explicit stack:
a ``requires()`` chain 100,000 deep works, and a cycle is reported by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cairn._errors import DependencyCycleError

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["compute_ids"]


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
